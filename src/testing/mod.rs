//! `engine test` and `cargo test` alike: every raw record under a source's fixture tree is
//! mapped with the source's mappings and compared with its reviewed snapshot, and the three
//! trees (mappings, fixtures, snapshots) must correspond one to one. Reads only data, so that a
//! mappings repository without any Rust runs its fixtures with the binary.
//!
//! A fixture in a directory whose name starts with `_` must be dead-lettered; its snapshot is
//! the dead letter without the record. Every other fixture must be mapped by the mapping of
//! its directory, and its snapshot is the event with the mapping's content hash replaced by
//! `[content hash]` (it changes with every edit of a mapping or base).

mod diff;
mod layout;
mod report;
pub mod snapfile;

pub use layout::{FoundBy, Layout, dir_of, files, is_dead_letter_dir, tree_name};
pub use report::{Format, render};

use crate::mapping::MappingSet;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// One source to test: its mappings and where its fixtures and snapshots are.
pub struct Suite<'a> {
    /// The spec's path as shown (it names new snapshots' `source`).
    pub spec: String,
    pub mappings: &'a MappingSet,
    pub layout: Layout,
}

/// What became of one fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    /// The snapshot differs from what the fixture gives now.
    Changed,
    /// The fixture has no snapshot yet.
    Missing,
    /// A changed or missing snapshot written with `--accept`.
    Accepted,
    /// The fixture cannot be compared: not JSON, dead-lettered, mapped by another mapping.
    Failed,
}

/// The outcome of one fixture.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// `<mapping>/<case>`, the fixture's path below the fixture tree without `.json`.
    pub case: String,
    pub status: Status,
    pub message: Option<String>,
    /// A unified diff from the snapshot to the new contents (changed and missing snapshots).
    pub diff: Option<String>,
    pub fixture: PathBuf,
    pub snapshot: PathBuf,
    /// The contents the snapshot should have, when the fixture gave any.
    new_contents: Option<String>,
    /// The existing snapshot's header lines, kept when it is rewritten.
    old_header: Option<Vec<String>>,
}

/// The outcome of one source.
#[derive(Debug)]
pub struct SuiteReport {
    pub spec: String,
    pub layout: Layout,
    pub cases: Vec<CaseResult>,
    /// Problems of the trees: mappings without fixtures, fixtures in directories that are no
    /// mapping, snapshots without fixtures, an empty fixture tree.
    pub problems: Vec<String>,
}

impl SuiteReport {
    /// True when nothing differs, is missing or is wrong.
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.cases.iter().all(|c| matches!(c.status, Status::Passed | Status::Accepted))
    }

    pub fn count(&self, status: Status) -> usize {
        self.cases.iter().filter(|c| c.status == status).count()
    }

    /// Writes every changed and missing snapshot (the `.snap` format insta reads); returns how
    /// many were written. An existing snapshot keeps its header, with `input_file` updated.
    pub fn accept(&mut self) -> std::io::Result<usize> {
        let mut written = 0;
        for case in &mut self.cases {
            let (Status::Changed | Status::Missing, Some(contents)) = (case.status, &case.new_contents) else {
                continue;
            };
            let input_file = self.layout.from_root(&case.fixture);
            let text = match &case.old_header {
                Some(header) => {
                    snapfile::render_lines(&snapfile::with_header(header, "input_file", &input_file), contents)
                }
                None => snapfile::render(&[("source", &self.spec), ("input_file", &input_file)], contents),
            };
            if let Some(dir) = case.snapshot.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&case.snapshot, text)?;
            case.status = Status::Accepted;
            case.message = Some(format!("wrote {}", self.layout.show(&case.snapshot)));
            written += 1;
        }
        Ok(written)
    }
}

impl Suite<'_> {
    /// Runs every fixture whose case contains `filter` (all without one).
    pub fn run(&self, filter: Option<&str>) -> SuiteReport {
        let keep = |name: &str| filter.is_none_or(|f| name.contains(f));
        let layout = &self.layout;
        let fixtures: BTreeSet<String> = files(&layout.fixtures, "json").into_iter().filter(|c| keep(c)).collect();
        let mut cases = Vec::new();
        for case in &fixtures {
            cases.push(self.case(case));
        }
        let mut problems = Vec::new();
        let all_fixtures = files(&layout.fixtures, "json");
        if all_fixtures.is_empty() {
            problems.push(format!("no fixtures for `{}`: {}", self.spec, layout.why_empty()));
        }
        let dirs: BTreeSet<&str> = all_fixtures.iter().map(|c| dir_of(c)).collect();
        let mappings: BTreeSet<&str> = self.mappings.mappings().iter().map(|m| m.name.as_str()).collect();
        let fixtures_dir = layout.show(&layout.fixtures);
        for m in mappings.iter().filter(|m| keep(m)) {
            if !dirs.contains(m) {
                problems.push(format!("mapping `{m}` has no fixture: add {fixtures_dir}/{m}/<case>.json"));
            }
        }
        for d in dirs.iter().filter(|d| keep(d)) {
            if !mappings.contains(d) && !is_dead_letter_dir(d) {
                problems.push(format!(
                    "{fixtures_dir}/{d}/ is no mapping: rename it, add the mapping `{d}.yaml`, or start its name with `_` for records that must be dead-lettered"
                ));
            }
        }
        let snapshots_dir = layout.show(&layout.snapshots);
        for snap in files(&layout.snapshots, "snap").iter().filter(|s| keep(s)) {
            if !all_fixtures.contains(snap) {
                problems.push(format!(
                    "{snapshots_dir}/{snap}.snap has no fixture {fixtures_dir}/{snap}.json: delete it or restore the fixture"
                ));
            }
        }
        SuiteReport { spec: self.spec.clone(), layout: layout.clone(), cases, problems }
    }

    fn case(&self, case: &str) -> CaseResult {
        let fixture = self.layout.fixtures.join(format!("{case}.json"));
        let snapshot = self.layout.snapshots.join(format!("{case}.snap"));
        let mut result = CaseResult {
            case: case.to_string(),
            status: Status::Failed,
            message: None,
            diff: None,
            fixture,
            snapshot,
            new_contents: None,
            old_header: None,
        };
        match self.produce(case, &result.fixture) {
            Ok(value) => {
                let contents = snapfile::to_insta_json(&value);
                self.compare(&mut result, contents);
            }
            Err(message) => result.message = Some(message),
        }
        result
    }

    /// The value a fixture's snapshot holds: the event, or for `_` directories the dead letter.
    fn produce(&self, case: &str, fixture: &std::path::Path) -> Result<Value, String> {
        let text = std::fs::read_to_string(fixture).map_err(|e| format!("cannot read the fixture: {e}"))?;
        let record: Value = serde_json::from_str(&text).map_err(|e| format!("the fixture is not JSON: {e}"))?;
        let dir = dir_of(case);
        let dead_letter_dir = is_dead_letter_dir(dir);
        let mapped_by = self.mappings.dispatch(&record).map(|m| m.name.as_str());
        if !dead_letter_dir && let Some(other) = mapped_by.filter(|m| *m != dir) {
            return Err(format!("sits in `{dir}` but is mapped by `{other}`"));
        }
        match self.mappings.map(record) {
            Ok(_) if dead_letter_dir => {
                Err("expected a dead letter (its directory starts with `_`), got a valid event".into())
            }
            Ok(event) => without_content_hash(event),
            Err(dl) if dead_letter_dir => {
                // The record is the fixture itself; the snapshot is the rest of the dead letter.
                let mut dl = serde_json::to_value(&*dl).map_err(|e| e.to_string())?;
                if let Some(fields) = dl.as_object_mut() {
                    fields.remove("record");
                }
                Ok(dl)
            }
            Err(dl) => {
                let mut message = format!("dead-lettered ({}): {}", dl.reason.code(), dl.message);
                for d in &dl.details {
                    message.push_str("\n  ");
                    message.push_str(d);
                }
                Err(message)
            }
        }
    }

    fn compare(&self, result: &mut CaseResult, contents: String) {
        let shown = self.layout.show(&result.snapshot);
        match snapfile::SnapFile::read(&result.snapshot) {
            Ok(Some(old)) if old.contents == snapfile::normalise(&contents) => result.status = Status::Passed,
            Ok(Some(old)) => {
                result.status = Status::Changed;
                result.message = Some(format!("the snapshot {shown} differs"));
                result.diff = Some(diff::unified(&old.contents, &contents, &shown, "now"));
                result.old_header = Some(old.header);
                result.new_contents = Some(contents);
            }
            Ok(None) => {
                result.status = Status::Missing;
                result.message = Some(format!("no snapshot {shown} yet"));
                result.diff = Some(diff::unified("", &contents, "/dev/null", &shown));
                result.new_contents = Some(contents);
            }
            Err(e) => result.message = Some(format!("cannot read {shown}: {e}")),
        }
    }
}

fn without_content_hash(mut event: Value) -> Result<Value, String> {
    match event.pointer_mut("/metadata/transformation_info_list/0/uid") {
        Some(uid) if uid.as_str().is_some_and(|u| u.starts_with("sha256:")) => {
            *uid = "[content hash]".into();
            Ok(event)
        }
        other => Err(format!("no content hash in metadata.transformation_info_list: {other:?}")),
    }
}
