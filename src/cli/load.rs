//! Loading a source spec and its mappings for a command, with configuration errors rendered to
//! standard error and turned into exit code 2.

use crate::diagnostic::{Diagnostic, Diagnostics, render_all};
use crate::mapping::{MapOptions, MappingSet};
use crate::source::{SourceSpec, parse_sets};
use std::path::{Path, PathBuf};

/// Exit code for usage and configuration errors.
pub const EXIT_CONFIG: u8 = 2;

/// Exit code for failures at run time (the API, the network, a sink, a file) after retries.
pub const EXIT_RUNTIME: u8 = 3;

/// A spec with its compiled mappings, parameters resolved for offline use.
pub struct Loaded {
    pub spec: SourceSpec,
    pub mappings: MappingSet,
}

/// Loads `spec_path` and its mappings; `sets` are `--set KEY=VALUE` arguments.
pub fn load(spec_path: &Path, sets: &[String], options: MapOptions) -> Result<Loaded, Vec<Diagnostic>> {
    let mut diags = Diagnostics::default();
    let sets = parse_sets(sets, &mut diags);
    let spec = SourceSpec::load(spec_path).map_err(|d| [diags.0.clone(), d].concat())?;
    let params = spec.offline_params(&sets).map_err(|d| [diags.0.clone(), d].concat())?;
    let mappings = MappingSet::load(&spec.mappings, &params, options).map_err(|d| [diags.0.clone(), d].concat())?;
    diags.finish(Loaded { spec, mappings })
}

/// Prints diagnostics to standard error: rendered, or one JSON line each with
/// `--log-format json`.
pub fn report(diags: &[Diagnostic]) {
    if crate::logging::structured::json() {
        crate::logging::structured::diagnostics(diags);
    } else {
        eprint!("{}", render_all(diags));
    }
}

/// The source specs of a repository directory: every `*.yaml` in its `sources/` directory, or
/// (with `or_itself`) in the directory itself when it has none, sorted.
pub fn specs_in(dir: &Path, or_itself: bool) -> Vec<PathBuf> {
    let sources = dir.join("sources");
    let dir = if sources.is_dir() || !or_itself { sources } else { dir.to_path_buf() };
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|p| p.strip_prefix("./").map(Path::to_path_buf).unwrap_or(p))
        .collect();
    specs.sort();
    specs
}

/// Where an API page of `spec` holds its records, as its streams read them (`records`), for
/// reading saved pages offline; `results` for a spec without streams.
pub fn page_paths(spec: &SourceSpec) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = Vec::new();
    for stream in &spec.streams {
        if !stream.records.is_empty() && !paths.contains(&stream.records) {
            paths.push(stream.records.clone());
        }
    }
    if paths.is_empty() {
        paths.push(vec!["results".to_string()]);
    }
    paths
}
