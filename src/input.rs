//! Reading raw records for `engine map`: NDJSON (streamed line by line), a JSON array, one
//! JSON object, or an API page (alone or one per NDJSON line) whose records are at a stream's
//! `records` path (`{paging, results}` by default); from files
//! in order, or standard input. Input is read as bytes: a line that is not JSON (invalid
//! UTF-8, binary garbage, a broken line) or a record the parser refuses is an
//! [`Input::Unreadable`] with its line number and bytes, and the records around it go on.

use crate::json::doc::Doc;
use crate::json::record::{Parsed, parse_scanned};
use crate::json::{Records as List, envelope, scan};
use serde_json::Value;
use std::io::BufRead;

/// One input record, something unreadable in the input, or an input that cannot be read.
#[derive(Debug)]
pub enum Input {
    Record(Value),
    /// A record parsed over its text (only with [`Records::with_docs`], and only for a plain
    /// record: see [`Doc`]).
    Doc(Doc),
    /// A line or document that is not JSON, or a record the parser refuses: where, its
    /// bytes, and why.
    Unreadable {
        line: usize,
        bytes: Vec<u8>,
        error: String,
    },
    /// Reading the input failed (a directory, an I/O error); nothing follows.
    ReadError(std::io::Error),
}

/// Records of one input, streamed: NDJSON is read a line at a time, so memory stays bounded
/// by a line whatever the size of the file. A document that is not NDJSON (a pretty-printed
/// object, a JSON array) is read whole.
pub struct Records<R: BufRead> {
    reader: R,
    /// Where an API page holds its records (each a dotted path split), tried in order.
    pages: Vec<Vec<String>>,
    line: usize,
    pending: std::vec::IntoIter<Input>,
    started: bool,
    /// The whole input was read (a document), or reading failed.
    done: bool,
    /// The NDJSON line being read, its allocation reused from line to line.
    buf: Vec<u8>,
    /// Give records of one line as [`Input::Doc`] where they are plain enough.
    docs: bool,
    /// A doc given back by [`Records::recycle`], parsed into next.
    spare: Option<Doc>,
}

impl<R: BufRead> Records<R> {
    /// Records of `reader`; an API page holds them at `results`.
    pub fn new(reader: R) -> Self {
        Self::with_pages(reader, vec![vec!["results".to_string()]])
    }

    /// Records of `reader`, where an API page holds them at one of `pages` (the `records`
    /// paths of a spec's streams), tried in order.
    pub fn with_pages(reader: R, pages: Vec<Vec<String>>) -> Self {
        Self {
            reader,
            pages,
            line: 0,
            pending: Vec::new().into_iter(),
            started: false,
            done: false,
            buf: Vec::new(),
            docs: false,
            spare: None,
        }
    }

    /// Gives a doc back when done with it, so that the next line is parsed into its room.
    pub fn recycle(&mut self, doc: Doc) {
        self.spare = Some(doc);
    }

    /// Gives a line that holds one plain record (an object that is not an API page) as an
    /// [`Input::Doc`], parsed once over its text, instead of a `Value`.
    pub fn with_docs(mut self) -> Self {
        self.docs = true;
        self
    }

    /// The next line's bytes; `Err` with the read error (then nothing more is read).
    fn read_line(&mut self) -> Result<Option<Vec<u8>>, std::io::Error> {
        let mut buf = Vec::new();
        Ok(self.read_line_into(&mut buf)?.then_some(buf))
    }

    /// The next line's bytes in `buf` (cleared first): `false` at the end of the input.
    fn read_line_into(&mut self, buf: &mut Vec<u8>) -> Result<bool, std::io::Error> {
        buf.clear();
        match self.reader.read_until(b'\n', buf) {
            Ok(0) => Ok(false),
            Ok(_) => {
                self.line += 1;
                if self.line == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
                    // A byte order mark before the first record is not part of it.
                    buf.drain(..3);
                }
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    fn fail(&mut self, e: std::io::Error) {
        self.done = true;
        self.pending = vec![Input::ReadError(e)].into_iter();
    }

    /// Decides between NDJSON and a whole document from the first non-empty line.
    fn start(&mut self) {
        self.started = true;
        let first = loop {
            match self.read_line() {
                Ok(Some(line)) if line.trim_ascii().is_empty() => continue,
                Ok(Some(line)) => break line,
                Ok(None) => return,
                Err(e) => return self.fail(e),
            }
        };
        let first_line = self.line;
        let trimmed = first.trim_ascii();
        if let Some(doc) = self.doc(trimmed) {
            self.pending = vec![Input::Doc(doc)].into_iter();
            return;
        }
        if !trimmed.starts_with(b"[")
            && let Ok(shape) = scan::whole(trimmed)
        {
            self.pending = expand(trimmed, &shape, first_line, &self.pages).into_iter();
            return;
        }
        // Not one JSON value per line: the whole input is one document.
        self.done = true;
        let mut doc = first;
        if let Err(e) = self.reader.read_to_end(&mut doc) {
            return self.fail(e);
        }
        self.pending = document(&doc, first_line, &self.pages).into_iter();
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Input;

    fn next(&mut self) -> Option<Input> {
        if !self.started {
            self.start();
        }
        loop {
            if let Some(item) = self.pending.next() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            let mut line = std::mem::take(&mut self.buf);
            match self.read_line_into(&mut line) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    self.fail(e);
                    continue;
                }
            }
            self.pending = match self.doc(line.trim_ascii()) {
                Some(doc) => vec![Input::Doc(doc)].into_iter(),
                None => ndjson_line(&line, self.line, &self.pages).into_iter(),
            };
            self.buf = line;
        }
    }
}

impl<R: BufRead> Records<R> {
    /// The line as a [`Doc`], when docs are asked for and it is one plain record: an object
    /// with no member where a page holds its records (a page is read as before).
    fn doc(&mut self, line: &[u8]) -> Option<Doc> {
        if !self.docs || line.first() != Some(&b'{') {
            return None;
        }
        let mut doc = self.spare.take().unwrap_or_default();
        let page =
            |doc: &Doc| self.pages.iter().any(|path| path.first().is_none_or(|key| doc.root().get(key).is_some()));
        if doc.parse_into(line) && !page(&doc) {
            return Some(doc);
        }
        self.spare = Some(doc);
        None
    }
}

/// One line of NDJSON: its records, or the line as unreadable.
fn ndjson_line(line: &[u8], number: usize, pages: &[Vec<String>]) -> Vec<Input> {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return Vec::new();
    }
    match scan::whole(trimmed) {
        Ok(shape) => expand(trimmed, &shape, number, pages),
        Err(e) => vec![Input::Unreadable { line: number, bytes: trimmed.to_vec(), error: format!("not JSON: {e}") }],
    }
}

/// A document that is not NDJSON, starting at line `first`: its records; when it is not JSON
/// as a whole, its lines one by one (NDJSON with a bad line), or, when no line is JSON either
/// and it looks like one JSON document (`{`, `[`), the document as one unreadable input.
fn document(doc: &[u8], first: usize, pages: &[Vec<String>]) -> Vec<Input> {
    let e = match scan::whole(doc) {
        Ok(shape) => return expand(doc, &shape, first, pages),
        Err(e) => e,
    };
    let lines: Vec<Vec<Input>> =
        doc.split(|&b| b == b'\n').enumerate().map(|(i, line)| ndjson_line(line, first + i, pages)).collect();
    let some_json =
        lines.iter().flatten().any(|i| !matches!(i, Input::Unreadable { error, .. } if error.starts_with("not JSON")));
    let looks_like_one = matches!(doc.trim_ascii_start().first(), Some(b'{' | b'['));
    if some_json || !looks_like_one {
        return lines.into_iter().flatten().collect();
    }
    vec![Input::Unreadable { line: line_at(doc, e.at, first), bytes: doc.to_vec(), error: format!("not JSON: {e}") }]
}

/// Line number of byte `at` of a text whose first line is `first`.
fn line_at(text: &[u8], at: usize, first: usize) -> usize {
    first + text[..at.min(text.len())].iter().filter(|&&b| b == b'\n').count()
}

/// A JSON value (checked by the scanner, `shape` its [`scan::whole`]) starting at line
/// `first`: a JSON array or an API page (an object with a list at one of `pages`) becomes its
/// records, each parsed on its own; anything else is one record.
fn expand(doc: &[u8], shape: &scan::Shape, first: usize, pages: &[Vec<String>]) -> Vec<Input> {
    let start = scan::ws(doc, 0);
    // The value ends where the whitespace after it starts (the scanner checked it is all
    // there is): no second scan.
    let end = doc.len() - doc.iter().rev().take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')).count();
    let single = || vec![(parse_scanned(&doc[start..end], shape), start)];
    let parsed: Vec<(Parsed, usize)> = match doc.get(start) {
        Some(b'[') => {
            elements(doc, start).into_iter().map(|(a, b, shape)| (parse_scanned(&doc[a..b], &shape), a)).collect()
        }
        Some(b'{') => {
            // A page needs its list's key in the text (escaped keys are decoded by the walk).
            let page = pages.iter().filter(|path| may_hold_key(doc, path)).find_map(|path| {
                match envelope::parse(doc, path, None) {
                    Ok(envelope::Envelope { records: List::List(items), .. }) => Some(items),
                    _ => None,
                }
            });
            match page {
                Some(items) => items.into_iter().map(|p| (p, start)).collect(),
                None => single(),
            }
        }
        _ => single(),
    };
    parsed
        .into_iter()
        .map(|(p, at)| match p {
            Parsed::Record(v) => Input::Record(v),
            Parsed::Poison(p) => Input::Unreadable {
                line: line_at(doc, at, first),
                bytes: p.raw,
                error: format!("cannot be read as JSON without loss: {}", p.problem),
            },
        })
        .collect()
}

/// Whether `doc` may have a member named as the first key of `path`: the key appears in it
/// quoted, or some text is escaped. A plain record fails this and is not walked as a page.
fn may_hold_key(doc: &[u8], path: &[String]) -> bool {
    let Some(key) = path.first().map(String::as_bytes) else { return true };
    doc.contains(&b'\\')
        || doc
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'"' && doc[i + 1..].starts_with(key) && doc.get(i + 1 + key.len()) == Some(&b'"'))
}

/// The byte ranges and shapes of the elements of the (checked) array at `start`.
fn elements(doc: &[u8], start: usize) -> Vec<(usize, usize, scan::Shape)> {
    let mut out = Vec::new();
    let mut at = scan::ws(doc, start + 1);
    if doc.get(at) == Some(&b']') {
        return out;
    }
    loop {
        let a = scan::ws(doc, at);
        let Ok((end, shape)) = scan::skip_value(doc, a) else { break };
        out.push((a, end, shape));
        at = scan::ws(doc, end);
        if doc.get(at) != Some(&b',') {
            break;
        }
        at += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `text` reads as, the same with and without docs.
    fn values(text: &[u8]) -> Vec<String> {
        let read = |records: Records<&[u8]>| -> Vec<String> {
            records
                .map(|r| match r {
                    Input::Record(v) => v.to_string(),
                    Input::Doc(d) => d.to_value().to_string(),
                    Input::Unreadable { line, .. } => format!("bad line {line}"),
                    Input::ReadError(e) => format!("read error: {e}"),
                })
                .collect()
        };
        let plain = read(Records::new(text));
        assert_eq!(read(Records::new(text).with_docs()), plain, "{}", String::from_utf8_lossy(text));
        plain
    }

    #[test]
    fn docs_are_plain_records_on_a_line_of_their_own() {
        let kinds = |text: &[u8]| -> Vec<&'static str> {
            Records::new(text)
                .with_docs()
                .map(|r| match r {
                    Input::Record(_) => "value",
                    Input::Doc(_) => "doc",
                    _ => "other",
                })
                .collect()
        };
        let text =
            b"{\"a\":1}\n{\"a\":\"\\n\"}\n{\"results\":[{\"a\":1}]}\n[{\"a\":2}]\n{\"a\":1.5}\n{\"x\":\"results\"}";
        assert_eq!(kinds(text), ["doc", "value", "value", "value", "value", "doc"]);
        assert_eq!(kinds(b"{\"a\":1}"), ["doc"], "the first line too");
        assert!(Records::new(&text[..]).all(|r| !matches!(r, Input::Doc(_))), "no docs unless asked");
        // A doc given back is parsed into, also after a line that was not plain.
        let mut records = Records::new(&text[..]).with_docs();
        let mut read = Vec::new();
        while let Some(input) = records.next() {
            read.push(match input {
                Input::Doc(doc) => {
                    let v = doc.to_value().to_string();
                    records.recycle(doc);
                    v
                }
                Input::Record(v) => v.to_string(),
                _ => "other".to_string(),
            });
        }
        let plain: Vec<String> = Records::new(&text[..])
            .map(|r| match r {
                Input::Record(v) => v.to_string(),
                _ => "other".to_string(),
            })
            .collect();
        assert_eq!(read, plain);
    }

    #[test]
    fn a_page_holds_its_records_where_the_stream_says() {
        let page = b"{\"next\":\"c2\",\"data\":{\"items\":[{\"a\":1},{\"a\":2}]}}";
        let read = |pages: Vec<Vec<String>>| -> Vec<String> {
            Records::with_pages(&page[..], pages)
                .map(|r| match r {
                    Input::Record(v) => v.to_string(),
                    other => format!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(read(vec![vec!["data".into(), "items".into()]]), ["{\"a\":1}", "{\"a\":2}"]);
        // Elsewhere the page is one record, as it is without the stream's path.
        assert_eq!(read(vec![vec!["results".into()]]).len(), 1);
        // A key written with escapes is still the page's key; a value that names it is not.
        let escaped = b"{\"d\\u0061ta\":{\"items\":[{\"a\":1}]}}";
        let pages = vec![vec!["data".to_string(), "items".to_string()]];
        assert_eq!(Records::with_pages(&escaped[..], pages.clone()).count(), 1);
        assert!(
            matches!(Records::with_pages(&escaped[..], pages.clone()).next(), Some(Input::Record(v)) if v == serde_json::json!({"a": 1}))
        );
        let named = b"{\"x\":\"data\",\"data\":[1]}";
        assert!(matches!(Records::with_pages(&named[..], pages).next(), Some(Input::Record(v)) if v["x"] == "data"));
    }

    #[test]
    fn every_input_shape() {
        assert_eq!(values(b"{\"a\":1}\n{\"a\":2}\n"), ["{\"a\":1}", "{\"a\":2}"]);
        assert_eq!(values(b"[{\"a\":1},{\"a\":2}]"), ["{\"a\":1}", "{\"a\":2}"]);
        assert_eq!(values(b"[\n  {\"a\": 1}\n]\n"), ["{\"a\":1}"]);
        assert_eq!(values(b"[ ]"), Vec::<String>::new());
        assert_eq!(values(b"{\n \"a\": 1\n}"), ["{\"a\":1}"]);
        assert_eq!(values(b"{\"paging\":{\"limit\":2},\"results\":[{\"a\":1}]}"), ["{\"a\":1}"]);
        assert_eq!(
            values(b"{\"results\":[{\"a\":1}]}\n{\"results\":[{\"a\":2},{\"a\":3}]}"),
            ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"]
        );
        assert_eq!(values(b"{\"a\":1}\nnot json\n\n{\"a\":2}"), ["{\"a\":1}", "bad line 2", "{\"a\":2}"]);
        assert!(values(b"  \n").is_empty());
    }

    #[test]
    fn nesting_deeper_than_the_parser_allows_is_a_bad_line_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let out = values(format!("{{\"a\":1}}\n{deep}\n{{\"a\":2}}\n").as_bytes());
        assert_eq!(out, ["{\"a\":1}", "bad line 2", "{\"a\":2}"]);
    }

    #[test]
    fn a_broken_document_is_one_bad_input() {
        assert_eq!(values(b"{\n \"a\": \n"), ["bad line 3"]);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_bad_line_with_its_bytes_and_the_rest_goes_on() {
        let text = b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\":\"\xff\"}\r\n{\"a\":5}\n";
        assert_eq!(values(text), ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}", "bad line 4", "{\"a\":5}"]);
        let bad = Records::new(&text[..]).find_map(|i| match i {
            Input::Unreadable { line, bytes, error } => Some((line, bytes, error)),
            _ => None,
        });
        let (line, bytes, error) = bad.unwrap();
        assert_eq!((line, bytes.as_slice()), (4, &b"{\"a\":\"\xff\"}"[..]));
        assert!(error.contains("invalid unicode code point"), "{error}");
    }

    #[test]
    fn binary_garbage_is_bad_lines_never_nothing() {
        assert_eq!(values(b"\x00\xff\xfe\n\x89PNG\r\n\x1a\n"), ["bad line 1", "bad line 2", "bad line 3"]);
        assert_eq!(values(b"\xff\xfe\n{\"a\":1}\n"), ["bad line 1", "{\"a\":1}"]);
        assert_eq!(values(b"\x7fELF\x02\x01"), ["bad line 1"]);
    }

    #[test]
    fn a_poison_record_in_a_page_or_an_array_is_bad_alone() {
        assert_eq!(
            values(b"{\"results\":[{\"a\":1},{\"n\":1e400},{\"a\":2}]}"),
            ["{\"a\":1}", "bad line 1", "{\"a\":2}"]
        );
        assert_eq!(values(b"[\n {\"a\":1},\n {\"n\":123456789012345678901234567890}\n]"), ["{\"a\":1}", "bad line 3"]);
    }

    #[test]
    fn a_read_error_ends_the_input() {
        struct Failing;
        impl std::io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("boom"))
            }
        }
        let out: Vec<Input> = Records::new(std::io::BufReader::new(Failing)).collect();
        assert!(matches!(out.as_slice(), [Input::ReadError(e)] if e.to_string() == "boom"), "{out:?}");
    }
}
