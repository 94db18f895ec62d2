//! Dispatch: which mapping a record belongs to. Matchers are equality tests on record fields
//! (`eventType: X` or one of a list), indexed by hash so that finding the mapping is a few key
//! lookups whatever the number of mappings. Overlapping matchers are a load error; a
//! `fallback: true` mapping applies only where no other matches, and one without `match` (the
//! catch-all, at most one) takes every record that nothing else takes.

use super::decl::FileDecl;
use super::path::{Seg, dotted_segs, lookup};
use super::program::Mapping;
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind};
use crate::json::access::Json;
use crate::ocsf::catalog::FxHashMap;
use serde_json::Value;

const SEP: char = '\u{1f}';

/// Finds the mapping of a record.
#[derive(Debug, Default)]
pub struct Dispatch {
    /// Non-fallback groups first, then fallback groups.
    groups: Vec<Group>,
    /// Every field any matcher reads, to describe records that match nothing.
    fields: Vec<String>,
    /// The fallback mapping without matchers, if any.
    catch_all: Option<usize>,
}

/// The mappings that match on the same set of fields.
#[derive(Debug)]
struct Group {
    fields: Vec<Vec<Seg>>,
    /// Keyed by the mappings' own values (no flooding to fear), looked up by the record's.
    index: FxHashMap<String, usize>,
}

impl Dispatch {
    /// Indexes the mappings and reports every pair of overlapping matchers.
    pub fn build(mappings: &[Mapping], decls: &[&FileDecl], diags: &mut Diagnostics) -> Dispatch {
        for fallback in [false, true] {
            // A mapping without matchers is reported on its own (E304).
            let members: Vec<usize> = (0..mappings.len())
                .filter(|&i| mappings[i].fallback == fallback && !mappings[i].matchers.is_empty())
                .collect();
            for (n, &a) in members.iter().enumerate() {
                for &b in &members[n + 1..] {
                    if overlaps(&mappings[a], &mappings[b]) {
                        diags.push(overlap_error(decls[a], decls[b]));
                    }
                }
            }
        }
        let catch_alls: Vec<usize> =
            (0..mappings.len()).filter(|&i| mappings[i].fallback && mappings[i].matchers.is_empty()).collect();
        if let [first, second, ..] = catch_alls[..] {
            let (a, b) = (decls[first], decls[second]);
            let start = |d: &FileDecl| crate::diagnostic::Span::new(&d.file, 1, 1, 1);
            diags.push(
                Diagnostic::new(ErrorKind::OverlappingMatchers { first: a.name.clone(), second: b.name.clone() })
                    .at(start(b))
                    .note(start(a), format!("`{}` is a catch-all too", a.name))
                    .help("keep one catch-all (a fallback mapping without `match`), or give one of them a `match`"),
            );
        }
        let mut groups: Vec<(bool, Vec<String>, Group)> = Vec::new();
        for (i, m) in mappings.iter().enumerate() {
            if m.matchers.is_empty() {
                continue;
            }
            let mut names: Vec<&(String, Vec<String>)> = m.matchers.iter().collect();
            names.sort_by(|x, y| x.0.cmp(&y.0));
            let field_names: Vec<String> = names.iter().map(|(f, _)| f.clone()).collect();
            let pos = match groups.iter().position(|(fb, f, _)| *fb == m.fallback && *f == field_names) {
                Some(pos) => pos,
                None => {
                    let fields = field_names.iter().map(|f| dotted_segs(f)).collect();
                    groups.push((m.fallback, field_names, Group { fields, index: FxHashMap::default() }));
                    groups.len() - 1
                }
            };
            for key in product(&names) {
                groups[pos].2.index.entry(key).or_insert(i);
            }
        }
        groups.sort_by_key(|(fallback, _, _)| *fallback);
        let mut fields: Vec<String> = groups.iter().flat_map(|(_, f, _)| f.clone()).collect();
        fields.sort();
        fields.dedup();
        Dispatch {
            groups: groups.into_iter().map(|(_, _, g)| g).collect(),
            fields,
            catch_all: catch_alls.first().copied(),
        }
    }

    /// The index of the mapping for `record`, if any.
    pub fn find<'a, J: Json<'a>>(&self, record: J) -> Option<usize> {
        let mut key = String::new();
        'groups: for group in &self.groups {
            key.clear();
            for (n, field) in group.fields.iter().enumerate() {
                if n > 0 {
                    key.push(SEP);
                }
                let Some(v) = lookup(record, field) else { continue 'groups };
                if let Some(s) = v.as_str() {
                    key.push_str(s);
                } else if let Some(n) = v.number_text() {
                    key.push_str(&n);
                } else if let Some(b) = v.as_bool() {
                    key.push_str(if b { "true" } else { "false" });
                } else {
                    continue 'groups;
                }
            }
            if let Some(&i) = group.index.get(&key) {
                return Some(i);
            }
        }
        self.catch_all
    }

    /// `field=value` for the matched-on fields the record has.
    pub fn describe_present<'a, J: Json<'a>>(&self, record: J) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .filter_map(|f| {
                let v = lookup(record, &dotted_segs(f)).filter(|v| !v.is_null())?;
                Some(match v.as_str() {
                    Some(s) if !s.is_empty() => format!("{f}={s}"),
                    _ => format!("{f}={}", v.to_value()),
                })
            })
            .collect();
        parts.join(", ")
    }

    /// `field=value` for every matched-on field of the record, for dead-letter messages.
    pub fn describe(&self, record: &Value) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|f| match lookup(record, &dotted_segs(f)) {
                Some(Value::String(s)) => format!("{f}={s}"),
                Some(Value::Null) | None => format!("{f} absent"),
                Some(other) => format!("{f}={other}"),
            })
            .collect();
        parts.join(", ")
    }
}

/// All keys a matcher accepts: the cartesian product of its value lists.
fn product(matchers: &[&(String, Vec<String>)]) -> Vec<String> {
    let mut keys = vec![String::new()];
    for (n, (_, values)) in matchers.iter().enumerate() {
        keys = keys
            .iter()
            .flat_map(|k| values.iter().map(move |v| if n == 0 { v.clone() } else { format!("{k}{SEP}{v}") }))
            .collect();
    }
    keys
}

/// Two matchers overlap when every field both constrain accepts a common value.
fn overlaps(a: &Mapping, b: &Mapping) -> bool {
    a.matchers.iter().all(|(field, va)| match b.matchers.iter().find(|(f, _)| f == field) {
        Some((_, vb)) => va.iter().any(|v| vb.contains(v)),
        None => true,
    })
}

fn overlap_error(first: &FileDecl, second: &FileDecl) -> Diagnostic {
    let d = Diagnostic::new(ErrorKind::OverlappingMatchers { first: first.name.clone(), second: second.name.clone() })
        .at_opt(second.match_span.clone())
        .help("make one matcher narrower, or mark the general one `fallback: true`");
    match &first.match_span {
        Some(span) => d.note(span.clone(), format!("`{}` matches here", first.name)),
        None => d,
    }
}
