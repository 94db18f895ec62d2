//! `engine coverage`: for every event type a source's mappings name, which mapping handles it,
//! how many fixtures and reviewed snapshots pin it down, and which of the class's recommended
//! OCSF attributes the mapping fills.

use super::load::{EXIT_CONFIG, EXIT_RUNTIME, load, report};
use super::output;
use crate::mapping::{MapOptions, Mapping, MappingSet};
use crate::testing::{Layout, files};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CoverageArgs {
    /// The source spec, e.g. sources/entrust.yaml.
    pub spec: PathBuf,
    /// Raw-record fixtures. Default: tests/fixtures/<name> in the nearest directory above the
    /// mappings that has one, as `engine test` finds them.
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Reviewed snapshots. Default: snapshots/<name> beside that `tests/`.
    #[arg(long)]
    pub snapshots: Option<PathBuf>,
    /// Give a spec parameter a value.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One event type (one record key a mapping matches).
#[derive(Debug, Serialize)]
struct Row {
    class: String,
    r#type: String,
    mapping: String,
    fallback: bool,
    fixtures: usize,
    snapshots: usize,
    recommended_filled: usize,
    recommended_total: usize,
}

#[derive(Debug, Serialize)]
struct MappingInfo {
    recommended_missing: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Coverage {
    rows: Vec<Row>,
    mappings: BTreeMap<String, MappingInfo>,
    /// Fixtures no mapping takes (they should sit under a `_` directory).
    unmapped_fixtures: Vec<String>,
    /// The fixture and snapshot trees read.
    fixtures: String,
    snapshots: String,
    /// Why no fixture was found, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

pub fn run(args: CoverageArgs) -> ExitCode {
    let loaded = match load(&args.spec, &args.sets, MapOptions::default()) {
        Ok(l) => l,
        Err(diags) => {
            report(&diags);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let layout = Layout::discover(&loaded.spec.mappings, args.fixtures.as_deref(), args.snapshots.as_deref());
    let mut coverage = measure(&loaded.mappings, &layout.fixtures, &layout.snapshots);
    coverage.fixtures = layout.show(&layout.fixtures);
    coverage.snapshots = layout.show(&layout.snapshots);
    if files(&layout.fixtures, "json").is_empty() {
        coverage.note = Some(format!("no fixtures: {}; give `--fixtures DIR`", layout.why_empty()));
    }
    if args.json {
        match serde_json::to_string_pretty(&coverage) {
            Ok(text) => output::line(text),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        }
    } else {
        output::line(render(&coverage).trim_end());
    }
    if let Some(note) = &coverage.note {
        eprintln!("warning: {note}");
    }
    let complete = coverage.rows.iter().all(|r| r.fixtures > 0 && r.snapshots == r.fixtures);
    if complete && coverage.unmapped_fixtures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// Matcher fields (with one value) that every mapping of a class shares, such as a category.
/// A class with a single mapping has none: its matchers are what tells its type.
fn common_fields(set: &MappingSet, class_uid: i64) -> Vec<String> {
    let of_class: Vec<&Mapping> = set.mappings().iter().filter(|m| m.class.uid == class_uid && !m.fallback).collect();
    let [first, _, ..] = of_class.as_slice() else { return Vec::new() };
    first
        .matchers
        .iter()
        .filter(|(f, v)| v.len() == 1 && of_class.iter().all(|m| m.matchers.iter().any(|(g, w)| g == f && w == v)))
        .map(|(f, _)| f.clone())
        .collect()
}

fn measure(set: &MappingSet, fixtures: &Path, snapshots: &Path) -> Coverage {
    let mut rows: Vec<Row> = Vec::new();
    let mut mappings = BTreeMap::new();
    for m in set.mappings() {
        let rec = m.recommended();
        let total = rec.filled.len() + rec.missing.len();
        mappings.insert(m.name.clone(), MappingInfo { recommended_missing: rec.missing.clone() });
        let keys =
            if m.fallback { vec!["(any other)".to_string()] } else { m.match_keys(&common_fields(set, m.class.uid)) };
        for key in keys {
            rows.push(Row {
                class: m.class.caption().to_string(),
                r#type: key,
                mapping: m.name.clone(),
                fallback: m.fallback,
                fixtures: 0,
                snapshots: 0,
                recommended_filled: rec.filled.len(),
                recommended_total: total,
            });
        }
    }
    let mut unmapped_fixtures = Vec::new();
    for case in files(fixtures, "json") {
        let (rel, path) = (format!("{case}.json"), fixtures.join(format!("{case}.json")));
        if rel.split('/').any(|part| part.starts_with('_')) {
            continue; // records that must be dead-lettered
        }
        let record = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok());
        let Some(m) = record.as_ref().and_then(|r| set.dispatch(r)) else {
            unmapped_fixtures.push(rel);
            continue;
        };
        let key = if m.fallback {
            "(any other)".to_string()
        } else {
            let common = common_fields(set, m.class.uid);
            let record = record.as_ref().unwrap_or(&serde_json::Value::Null);
            m.matchers
                .iter()
                .filter(|(f, _)| !common.contains(f))
                .map(|(f, _)| format!("{f}={}", record.get(f).map(matched_text).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match rows.iter_mut().find(|r| r.mapping == m.name && r.r#type == key) {
            Some(row) => {
                row.fixtures += 1;
                if snapshots.join(format!("{case}.snap")).is_file() {
                    row.snapshots += 1;
                }
            }
            None => unmapped_fixtures.push(rel),
        }
    }
    Coverage { rows, mappings, unmapped_fixtures, fixtures: String::new(), snapshots: String::new(), note: None }
}

/// A matched record value as the matchers list it (`"X"` as `X`, `3` as `3`).
fn matched_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn render(c: &Coverage) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let width = |f: &dyn Fn(&Row) -> usize, min: usize| c.rows.iter().map(f).max().unwrap_or(0).max(min);
    let (wc, wt, wm) = (width(&|r| r.class.len(), 5), width(&|r| r.r#type.len(), 4), width(&|r| r.mapping.len(), 7));
    let _ = writeln!(out, "{:wc$}  {:wt$}  {:wm$}  fixtures  snapshots  recommended", "class", "type", "mapping");
    for r in &c.rows {
        let mark = if r.fixtures == 0 || r.snapshots < r.fixtures { "  ✗" } else { "" };
        let _ = writeln!(
            out,
            "{:wc$}  {:wt$}  {:wm$}  {:>8}  {:>9}  {:>5}/{}{mark}",
            r.class, r.r#type, r.mapping, r.fixtures, r.snapshots, r.recommended_filled, r.recommended_total
        );
    }
    let _ = writeln!(out, "\nrecommended attributes a mapping leaves out:");
    for (name, info) in &c.mappings {
        if !info.recommended_missing.is_empty() {
            let _ = writeln!(out, "  {name}: {}", info.recommended_missing.join(", "));
        }
    }
    let types = c.rows.iter().filter(|r| !r.fallback).count();
    let with_fixtures = c.rows.iter().filter(|r| !r.fallback && r.fixtures > 0).count();
    let with_snapshots = c.rows.iter().filter(|r| !r.fallback && r.fixtures > 0 && r.snapshots == r.fixtures).count();
    let _ = writeln!(
        out,
        "\n{types} types mapped, {with_fixtures} with fixtures, {with_snapshots} with a snapshot for every fixture; {} fallback mapping{}",
        c.rows.len() - types,
        if c.rows.len() - types == 1 { "" } else { "s" }
    );
    if !c.unmapped_fixtures.is_empty() {
        let _ = writeln!(out, "fixtures no mapping takes: {}", c.unmapped_fixtures.join(", "));
    }
    if let Some(note) = &c.note {
        let _ = writeln!(out, "{note}");
    }
    out
}
