//! `engine map`: raw records in, one OCSF event per line out, in input order; records that
//! cannot be mapped, and input that is not JSON, go to standard error as reason-coded dead
//! letters; an input that cannot be read is an error (exit 2) naming it. A raw archive
//! (`engine run --archive DIR`: the directory, or one `*.ndjson.gz` day file) is read too.

use super::load::{EXIT_CONFIG, EXIT_RUNTIME, load, page_paths, report};
use crate::deadletter::{DeadLetter, Reason};
use crate::input::{Input, Records};
use crate::mapping::MapOptions;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct MapArgs {
    /// The source spec, e.g. sources/entrust.yaml.
    pub spec: PathBuf,
    /// Raw records: NDJSON, a JSON array, a JSON object or an API page; or a raw archive (its
    /// directory, or a `*.ndjson.gz` day file). Standard input when none.
    pub files: Vec<PathBuf>,
    /// Give a spec parameter a value (e.g. `--set hostname=example.us.trustedauth.com`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Keep each original record, as JSON text, in `raw_data`.
    #[arg(long)]
    pub raw_data: bool,
}

pub fn run(args: MapArgs) -> ExitCode {
    let loaded = match load(&args.spec, &args.sets, MapOptions { keep_raw: args.raw_data, ..MapOptions::default() }) {
        Ok(l) => l,
        Err(diags) => {
            report(&diags);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // Open every file first, so that a missing one is reported before any output.
    let mut inputs: Vec<Named> = Vec::new();
    if args.files.is_empty() {
        inputs.push(("<stdin>".to_string(), Box::new(std::io::stdin().lock())));
    }
    for file in &args.files {
        if crate::archive::is_archive(file) {
            match archive_inputs(file) {
                Ok(days) => inputs.extend(days),
                Err(e) => {
                    eprintln!("error: cannot read `{}`: {e}", file.display());
                    return ExitCode::from(EXIT_CONFIG);
                }
            }
            continue;
        }
        let opened = std::fs::File::open(file).and_then(|f| match f.metadata() {
            Ok(m) if m.is_dir() => Err(std::io::Error::other("it is a directory; give the files in it")),
            _ => Ok(f),
        });
        match opened {
            Ok(f) => inputs.push((file.display().to_string(), Box::new(BufReader::new(f)))),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", file.display());
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let (mut mapped, mut dead) = (0usize, 0usize);
    let mut unknown: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    // One event's JSON, reused from record to record.
    let mut line: Vec<u8> = Vec::new();
    for (name, reader) in inputs {
        let mut records = Records::with_pages(reader, page_paths(&loaded.spec)).with_docs();
        while let Some(input) = records.next() {
            line.clear();
            let result = match input {
                Input::Record(record) => loaded.mappings.map_to(record, &mut line).map(|(_, t)| t),
                Input::Doc(doc) => {
                    let mapped = loaded.mappings.map_doc(&doc, &mut line).map(|(_, t)| t);
                    records.recycle(doc);
                    mapped
                }
                Input::Unreadable { line, bytes, error } => {
                    Err(Box::new(DeadLetter::raw(Reason::InvalidRecord, format!("{name}:{line}: {error}"), &bytes)))
                }
                Input::ReadError(e) => {
                    let _ = out.flush();
                    eprintln!("error: cannot read `{name}`: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let written = match result {
                Ok(unknown_type) => {
                    if let Some(t) = unknown_type {
                        *unknown.entry(t).or_default() += 1;
                    }
                    mapped += 1;
                    line.push(b'\n');
                    out.write_all(&line)
                }
                Err(dl) => {
                    dead += 1;
                    writeln!(err, "{}", dl.to_json_line())
                }
            };
            if let Err(e) = written {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
                eprintln!("error: cannot write output: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(EXIT_RUNTIME);
    }
    if std::io::stderr().is_terminal() {
        eprintln!("{mapped} event{} written, {dead} dead letter{}", plural(mapped), plural(dead));
        for (t, n) in &unknown {
            eprintln!("  {n} × {t}: no mapping names this type; a fallback mapping took it");
        }
    }
    if dead > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// An input by name, opened.
type Named = (String, Box<dyn BufRead>);

/// The day files of an archive, in date order, each read decompressed.
fn archive_inputs(path: &std::path::Path) -> Result<Vec<Named>, std::io::Error> {
    let mut days: Vec<Named> = Vec::new();
    for day in crate::archive::day_files(path)? {
        days.push((day.display().to_string(), Box::new(crate::archive::open_day(&day)?)));
    }
    Ok(days)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
