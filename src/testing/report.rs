//! Rendering the outcome of `engine test`: text for people (a diff per changed snapshot and a
//! summary), JSON for scripts, and JUnit XML for CI systems.

use super::{Status, SuiteReport};
use std::fmt::Write;

/// How `engine test` prints its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
}

/// The outcome of every suite in `format`.
pub fn render(reports: &[SuiteReport], format: Format, accepting: bool) -> String {
    match format {
        Format::Text => text(reports, accepting),
        Format::Json => json(reports),
        Format::Junit => junit(reports),
    }
}

fn text(reports: &[SuiteReport], accepting: bool) -> String {
    let mut out = String::new();
    for r in reports {
        for c in &r.cases {
            let label = match c.status {
                Status::Passed => continue,
                Status::Changed => "changed",
                Status::Missing => "new",
                Status::Accepted => "accepted",
                Status::Failed => "FAILED",
            };
            let _ = writeln!(out, "{label}: {} {}", r.layout.name, c.case);
            if let Some(m) = &c.message {
                let _ = writeln!(out, "  {}", m.replace('\n', "\n  "));
            }
            if let Some(d) = c.diff.as_ref().filter(|_| c.status != Status::Accepted || !accepting) {
                out.push_str(d);
            }
        }
        for p in &r.problems {
            let _ = writeln!(out, "problem: {p}");
        }
    }
    let total = |s: Status| reports.iter().map(|r| r.count(s)).sum::<usize>();
    let problems: usize = reports.iter().map(|r| r.problems.len()).sum();
    let cases: usize = reports.iter().map(|r| r.cases.len()).sum();
    let _ = write!(
        out,
        "{cases} fixture{} of {} source{}: {} passed",
        plural(cases),
        reports.len(),
        plural(reports.len()),
        total(Status::Passed)
    );
    for (status, word) in [
        (Status::Changed, "changed"),
        (Status::Missing, "without a snapshot"),
        (Status::Accepted, "accepted"),
        (Status::Failed, "failed"),
    ] {
        if total(status) > 0 {
            let _ = write!(out, ", {} {word}", total(status));
        }
    }
    if problems > 0 {
        let _ = write!(out, "; {problems} problem{} with the trees", plural(problems));
    }
    out.push('\n');
    if !accepting && (total(Status::Changed) + total(Status::Missing)) > 0 {
        out.push_str("review the diffs; if the events are right, write them with `engine test --accept`\n");
    }
    out
}

fn json(reports: &[SuiteReport]) -> String {
    let suites: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            let cases: Vec<serde_json::Value> = r
                .cases
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "case": c.case,
                        "status": c.status,
                        "message": c.message,
                        "diff": c.diff,
                        "fixture": r.layout.show(&c.fixture),
                        "snapshot": r.layout.show(&c.snapshot),
                    })
                })
                .collect();
            serde_json::json!({
                "spec": r.spec,
                "name": r.layout.name,
                "fixtures": r.layout.show(&r.layout.fixtures),
                "snapshots": r.layout.show(&r.layout.snapshots),
                "passed": r.passed(),
                "cases": cases,
                "problems": r.problems,
            })
        })
        .collect();
    let passed = reports.iter().all(SuiteReport::passed);
    serde_json::to_string_pretty(&serde_json::json!({ "passed": passed, "suites": suites })).unwrap_or_default()
}

fn junit(reports: &[SuiteReport]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"engine test\">\n");
    for r in reports {
        let failed = r.cases.iter().filter(|c| !matches!(c.status, Status::Passed | Status::Accepted)).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
            xml(&r.layout.name),
            r.cases.len() + r.problems.len(),
            failed + r.problems.len()
        );
        for c in &r.cases {
            let (class, name) = c.case.rsplit_once('/').unwrap_or(("", &c.case));
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&format!("{}.{class}", r.layout.name)),
                xml(name)
            );
            match c.status {
                Status::Passed | Status::Accepted => out.push_str("/>\n"),
                _ => {
                    let message = c.message.as_deref().unwrap_or("failed");
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml(message),
                        xml(c.diff.as_deref().unwrap_or(message))
                    );
                }
            }
        }
        for (i, p) in r.problems.iter().enumerate() {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}.layout\" name=\"problem {}\">\n      <failure message=\"{}\"/>\n    </testcase>",
                xml(&r.layout.name),
                i + 1,
                xml(p)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
