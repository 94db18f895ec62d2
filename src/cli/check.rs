//! `engine check`: validates source specs and their mappings, and pipeline files (every
//! pipeline of a file, and the specs they use), offline, and reports every error of every file
//! at once, exiting 2 if there is any; once they load, the static checks of what the mappings
//! can produce ([`crate::mapping::MappingSet::lint`]), errors and warnings.

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
        if crate::source::pipelines::shape(spec) != crate::source::pipelines::Shape::Spec {
            all.extend(check_pipelines(spec, &args.sets));
            continue;
        }
        match load(spec, &args.sets, MapOptions::default()) {
            Ok(loaded) => {
                let found = loaded.mappings.lint();
                let n = loaded.mappings.mappings().len();
                let warnings = found.iter().filter(|d| !d.is_error()).count();
                if found.iter().all(|d| !d.is_error()) {
                    output::line(format!(
                        "ok: {} ({}): {n} mapping{}{}",
                        spec.display(),
                        loaded.spec.name,
                        plural(n),
                        if warnings > 0 { format!(", {warnings} warning{}", plural(warnings)) } else { String::new() }
                    ));
                }
                all.extend(found);
            }
            Err(diags) => all.extend(diags),
        }
    }
    crate::diagnostic::sort_and_dedup(&mut all);
    if !all.is_empty() {
        report(&all);
    }
    if all.iter().any(|d| d.is_error()) { ExitCode::from(EXIT_CONFIG) } else { ExitCode::SUCCESS }
}

/// Checks a pipeline file: every pipeline, then each source spec they use with its mappings.
fn check_pipelines(path: &Path, sets: &[String]) -> Vec<crate::diagnostic::Diagnostic> {
    let pipelines = match crate::source::pipelines::load(path) {
        Ok(p) => p,
        Err(diags) => return diags,
    };
    let mut specs: Vec<&Path> = pipelines.iter().map(|p| p.run.spec.as_path()).collect();
    specs.sort();
    specs.dedup();
    let mut errors = Vec::new();
    for spec in specs {
        match load(spec, sets, MapOptions::default()) {
            Ok(loaded) => {
                errors.extend(runnable(&loaded.spec));
                errors.extend(loaded.mappings.lint());
            }
            Err(diags) => errors.extend(diags),
        }
    }
    if errors.iter().all(|d| !d.is_error()) {
        let n = pipelines.len();
        let names = crate::source::pipelines::names(&pipelines);
        let which = if names.is_empty() { String::new() } else { format!(": {names}") };
        output::line(format!("ok: {} ({n} pipeline{}{which})", path.display(), plural(n)));
    }
    errors
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// What a pipeline's run would refuse in the spec it uses: every stream after the first, each
/// at its place (a spec run on its own runs every stream).
fn runnable(spec: &crate::source::SourceSpec) -> Vec<Diagnostic> {
    let Some((first, rest)) = spec.streams.split_first() else { return Vec::new() };
    rest.iter()
        .map(|s| {
            Diagnostic::new(ErrorKind::SeveralStreams { first: first.name.clone(), second: s.name.clone() })
                .at(s.span.clone())
                .note(first.span.clone(), "the first stream")
                .help(
                    "run the spec itself (`engine run SPEC` runs every stream), or give each stream a spec of its own",
                )
        })
        .collect()
}
