//! Loading a source spec and its mappings for a command, with configuration errors rendered to
//! standard error and turned into exit code 2.

use crate::diagnostic::{Diagnostic, Diagnostics, render_all};
use crate::mapping::{MapOptions, MappingSet};
use crate::source::{SourceSpec, parse_sets};
use std::path::Path;

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
