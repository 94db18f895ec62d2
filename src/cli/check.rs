//! `engine check`: validates source specs and their mappings, and pipeline files (every
//! pipeline of a file, and the specs they use), offline, and reports every error of every file
//! at once, exiting 2 if there is any.

use super::load::{EXIT_CONFIG, load, report};
use super::output;
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
    let specs = if args.specs.is_empty() { default_specs(Path::new("sources")) } else { args.specs };
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
        if let Err(diags) = load(spec, sets, MapOptions::default()) {
            errors.extend(diags);
        }
    }
    if errors.is_empty() {
        let n = pipelines.len();
        let names = crate::source::pipelines::names(&pipelines);
        let which = if names.is_empty() { String::new() } else { format!(": {names}") };
        output::line(format!("ok: {} ({n} pipeline{}{which})", path.display(), if n == 1 { "" } else { "s" }));
    }
    errors
}

fn default_specs(dir: &Path) -> Vec<PathBuf> {
    let mut specs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    specs.sort();
    specs
}
