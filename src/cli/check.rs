//! `engine check`: validates source specs and their mappings offline and reports every error
//! of every file at once, exiting 2 if there is any.

use super::load::{EXIT_CONFIG, load, report, specs_in};
use super::output;
use crate::diagnostic::{Diagnostic, ErrorKind};
use crate::mapping::MapOptions;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Source specs to check. Default: every `*.yaml` in `sources/`.
    pub specs: Vec<PathBuf>,
    /// Give a spec parameter a value while checking.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

pub fn run(args: CheckArgs) -> ExitCode {
    let specs = if args.specs.is_empty() { specs_in(Path::new("."), false) } else { args.specs };
    if specs.is_empty() {
        eprintln!("error: no source specs given and none found in `sources/`");
        return ExitCode::from(EXIT_CONFIG);
    }
    let mut all = Vec::new();
    for spec in &specs {
        match load(spec, &args.sets, MapOptions::default()) {
            Ok(loaded) if !runnable(&loaded.spec).is_empty() => all.extend(runnable(&loaded.spec)),
            Ok(loaded) => {
                let n = loaded.mappings.mappings().len();
                output::line(format!(
                    "ok: {} ({}): {n} mapping{}",
                    spec.display(),
                    loaded.spec.name,
                    if n == 1 { "" } else { "s" }
                ));
            }
            Err(diags) => all.extend(diags),
        }
    }
    if all.is_empty() {
        ExitCode::SUCCESS
    } else {
        crate::diagnostic::sort_and_dedup(&mut all);
        report(&all);
        ExitCode::from(EXIT_CONFIG)
    }
}

/// What `engine run` would refuse in a spec that loads: every stream after the first, each at
/// its place.
fn runnable(spec: &crate::source::SourceSpec) -> Vec<Diagnostic> {
    let Some((first, rest)) = spec.streams.split_first() else { return Vec::new() };
    rest.iter()
        .map(|s| {
            Diagnostic::new(ErrorKind::SeveralStreams { first: first.name.clone(), second: s.name.clone() })
                .at(s.span.clone())
                .note(first.span.clone(), "the first stream")
                .help("put each stream in a spec of its own (each keeps its own checkpoint under its own name)")
        })
        .collect()
}
