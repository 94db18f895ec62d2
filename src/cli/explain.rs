//! `engine explain`: maps records and shows, for every field of each event, the mapping file
//! and line that produced it (values inherited from a base included), or why the engine set it.

use super::load::{EXIT_CONFIG, load, page_paths, report};
use super::output;
use crate::input::{Input, Records};
use crate::mapping::{MapOptions, Provenance};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The source spec, e.g. sources/entrust.yaml.
    pub spec: PathBuf,
    /// A file of raw records (any shape `engine map` reads). Standard input when absent.
    pub file: Option<PathBuf>,
    /// Give a spec parameter a value.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Print JSON (the event and each field's provenance) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ExplainArgs) -> ExitCode {
    let loaded = match load(&args.spec, &args.sets, MapOptions::default()) {
        Ok(l) => l,
        Err(diags) => {
            report(&diags);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let reader: Box<dyn BufRead> = match &args.file {
        Some(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(BufReader::new(f)),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                return ExitCode::from(EXIT_CONFIG);
            }
        },
        None => Box::new(std::io::stdin().lock()),
    };
    let mut failed = false;
    for (n, input) in Records::with_pages(reader, page_paths(&loaded.spec)).enumerate() {
        let record = match input {
            Input::Record(record) => record,
            Input::Doc(doc) => doc.to_value(),
            Input::Unreadable { line, error, .. } => {
                eprintln!("record {} (line {line}): {error}", n + 1);
                failed = true;
                continue;
            }
            Input::ReadError(e) => {
                eprintln!("error: cannot read the input: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        match loaded.mappings.explain(record) {
            Ok(ex) if args.json => match serde_json::to_string_pretty(&ex) {
                Ok(text) => output::line(text),
                Err(e) => eprintln!("error: {e}"),
            },
            Ok(ex) => {
                if n > 0 {
                    output::line("");
                }
                output::line(format!("mapped by {} ({})", ex.mapping, ex.file));
                let width = ex.fields.iter().map(|f| f.path.len()).max().unwrap_or(0);
                for f in &ex.fields {
                    let mut value = f.value.to_string();
                    if value.chars().count() > 48 {
                        value = value.chars().take(45).collect::<String>() + "…";
                    }
                    output::line(format!("  {:width$}  {value:48}  {}", f.path, describe(&f.provenance)));
                }
            }
            Err(dl) => {
                failed = true;
                eprintln!("{}", dl.to_json_line());
            }
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn describe(p: &Provenance) -> String {
    match p {
        Provenance::Rule { at } => match at.split_first() {
            Some((first, [])) => first.clone(),
            Some((first, rest)) => format!("{first}, adjusted at {}", rest.join(", ")),
            None => String::new(),
        },
        Provenance::Observables { at } => format!("observables listed at {}", at.join(", ")),
        Provenance::Derived { from } => format!("derived from {from}"),
        Provenance::Unmapped => "not consumed by any rule".into(),
        Provenance::RawData => "the original record".into(),
    }
}
