//! `engine test`: runs every fixture of each source through its mappings and compares the
//! event with its reviewed snapshot (see [`crate::testing`]); `--accept` writes the new ones.

use super::load::{EXIT_CONFIG, EXIT_RUNTIME, load, report, specs_in};
use super::output;
use crate::mapping::MapOptions;
use crate::testing::{Format, Layout, Suite, render};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Source specs, or directories whose `sources/` directory (else the directory itself)
    /// holds them. Default: every `*.yaml` in `sources/`.
    pub paths: Vec<PathBuf>,
    /// Write every changed or missing snapshot (review the diffs first).
    #[arg(long)]
    pub accept: bool,
    /// Only the fixtures (and the mappings and snapshots) whose path contains this text, e.g.
    /// `authentication/AuthenticationPasswordSuccessEvent`.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// How to print the outcome.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// The fixture tree. Default: tests/fixtures/<name> in the nearest directory above the
    /// mappings that has one.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// The snapshot tree. Default: snapshots/<name> beside the fixture tree's `tests/`.
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Give a spec parameter a value (default: its `default`, else its `example`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

pub fn run(args: TestArgs) -> ExitCode {
    let specs: Vec<PathBuf> = if args.paths.is_empty() {
        specs_in(Path::new("."), false)
    } else {
        args.paths.iter().flat_map(|p| if p.is_dir() { specs_in(p, true) } else { vec![p.clone()] }).collect()
    };
    if specs.is_empty() {
        eprintln!("error: no source specs found (give a spec, or a directory with a `sources/` directory)");
        return ExitCode::from(EXIT_CONFIG);
    }
    let mut loaded = Vec::new();
    let mut diags = Vec::new();
    for spec in &specs {
        match load(spec, &args.sets, MapOptions::default()) {
            Ok(l) => loaded.push((spec, l)),
            Err(d) => diags.extend(d),
        }
    }
    if !diags.is_empty() {
        crate::diagnostic::sort_and_dedup(&mut diags);
        report(&diags);
        return ExitCode::from(EXIT_CONFIG);
    }
    let mut reports = Vec::new();
    for (spec, l) in &loaded {
        let layout = Layout::discover(&l.spec.mappings, args.fixtures.as_deref(), args.snapshots.as_deref());
        let shown = layout.from_root(spec);
        let suite = Suite { spec: shown, mappings: &l.mappings, layout };
        let mut r = suite.run(args.filter.as_deref());
        if args.accept
            && let Err(e) = r.accept()
        {
            eprintln!("error: cannot write a snapshot under `{}`: {e}", r.layout.show(&r.layout.snapshots));
            return ExitCode::from(EXIT_RUNTIME);
        }
        reports.push(r);
    }
    output::line(render(&reports, args.format, args.accept).trim_end());
    if reports.iter().all(|r| r.passed()) { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
