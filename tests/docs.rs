//! Every example in docs/ is executed: mapping examples are mapped by `engine map` and must
//! give exactly the event fields the page shows, console examples are run and must print what
//! the page shows and exit as it says, and quoted files must match the files they name.
//!
//! Fenced blocks are recognised by their info string:
//! - ```` ```yaml base ````: the base every following mapping example of the page extends;
//! - ```` ```yaml mapping ````: a mapping example, run in a throw-away source of its own;
//! - ```` ```json common ````: fields every following record of the page also has (the
//!   record's own value wins);
//! - ```` ```json record ````: a record for the last mapping example;
//! - ```` ```json event ````: what the last record becomes; each top-level key shown must
//!   equal the event's, and a `null` says the key is absent;
//! - ```` ```yaml file=PATH ```` (any language): an excerpt, line for line, of that file;
//! - ```` ```console ```` or ```` ```console exit=N ````: `$ engine …` then the expected
//!   standard output and error, where `[..]` matches any text within a line and a line `...`
//!   any number of lines; run in the repository, or with `in=scratch` in the page's scratch
//!   directory (an empty directory of its own, as a user's repository would start);
//! - ```` ```yaml new=PATH ```` (any language): a file the page writes, at PATH in its scratch
//!   directory (again to change it);
//! - ```` ```yaml workflow new=PATH ````: a CI workflow, written like any `new=` file, whose
//!   `run:` steps that call `engine` are run in the scratch directory (with the binary on
//!   `PATH`) and must succeed; the other steps (checkout, installing the engine) are the CI
//!   system's.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fenced block of a page.
#[derive(Debug)]
struct Block {
    info: String,
    body: String,
    line: usize,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block { info: info.trim().to_string(), body: String::new(), line: i + 1 })
            }
            (Some(_), Some("")) => out.extend(open.take()),
            // A fence with text after it inside a block: a closing fence run into the next
            // paragraph, which would hide every example after it.
            (Some(b), Some(rest)) if !rest.starts_with('`') => {
                panic!("line {}: a fence with text after it inside the block opened at line {}: {line}", i + 1, b.line)
            }
            (Some(b), _) => {
                b.body.push_str(line);
                b.body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed fenced block");
    out
}

fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages
}

/// Does `actual` match `expected`, with `[..]` and `...` wildcards?
fn matches(expected: &str, actual: &str) -> bool {
    fn line_matches(pattern: &str, line: &str) -> bool {
        let parts: Vec<&str> = pattern.split("[..]").collect();
        if parts.len() == 1 {
            return pattern == line;
        }
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if !line.starts_with(first) || !line[first.len()..].ends_with(last) || line.len() < first.len() + last.len() {
            return false;
        }
        let mut rest = &line[first.len()..line.len() - last.len()];
        for part in &parts[1..parts.len() - 1] {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        true
    }
    fn lines_match(pattern: &[&str], lines: &[&str]) -> bool {
        match pattern.split_first() {
            None => lines.is_empty(),
            Some((&"...", rest)) => (0..=lines.len()).any(|skip| lines_match(rest, &lines[skip..])),
            Some((p, rest)) => {
                lines.split_first().is_some_and(|(l, more)| line_matches(p, l) && lines_match(rest, more))
            }
        }
    }
    let pattern: Vec<&str> = expected.lines().collect();
    let lines: Vec<&str> = actual.lines().map(str::trim_end).collect();
    lines_match(&pattern, &lines)
}

struct Example {
    mapping: String,
    mapping_line: usize,
    records: Vec<(Value, usize)>,
    events: Vec<(Value, usize)>,
}

const EXAMPLE_SPEC: &str = "\
name: docs_example
mappings: mappings
params:
  hostname:
    example: idp.example.com
  environment:
    default: production
";

/// Maps each record of an example with `engine map` and compares the shown fields.
fn run_mapping_example(page: &Path, base: &str, example: &Example, failures: &mut Vec<String>) {
    let dir = tempdir(&format!("mapping-{}", example.mapping_line));
    std::fs::create_dir_all(dir.join("mappings")).unwrap();
    std::fs::write(dir.join("spec.yaml"), EXAMPLE_SPEC).unwrap();
    std::fs::write(dir.join("mappings/_base.yaml"), base).unwrap();
    std::fs::write(dir.join("mappings/example.yaml"), &example.mapping).unwrap();
    let input: String = example.records.iter().map(|(r, _)| format!("{r}\n")).collect();
    std::fs::write(dir.join("records.ndjson"), input).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["map", "spec.yaml", "records.ndjson"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let at = format!("{}:{}", page.display(), example.mapping_line);
    if !out.status.success() {
        failures.push(format!("{at}: `engine map` failed:\n{}", String::from_utf8_lossy(&out.stderr)));
        return;
    }
    let events: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    if events.len() != example.events.len() || example.records.len() != example.events.len() {
        failures.push(format!(
            "{at}: {} records, {} events shown, {} events produced",
            example.records.len(),
            example.events.len(),
            events.len()
        ));
        return;
    }
    for (actual, (shown, line)) in events.iter().zip(&example.events) {
        let Value::Object(shown) = shown else {
            failures.push(format!("{}:{line}: an event excerpt must be an object", page.display()));
            continue;
        };
        for (key, want) in shown {
            let got = actual.get(key).unwrap_or(&Value::Null);
            if got != want {
                failures
                    .push(format!("{}:{line}: `{key}` is shown as {want} but the engine gives {got}", page.display()));
            }
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

fn run_console(page: &Path, block: &Block, dir: &Path, failures: &mut Vec<String>) {
    let at = format!("{}:{}", page.display(), block.line);
    let exit: i32 =
        block.info.split_whitespace().find_map(|w| w.strip_prefix("exit=")).map_or(0, |n| n.parse().unwrap());
    let mut lines = block.body.lines();
    let Some(command) = lines.next().and_then(|l| l.strip_prefix("$ engine ")) else {
        failures.push(format!("{at}: a console example starts with `$ engine …`"));
        return;
    };
    let expected: Vec<&str> = lines.collect();
    let script = format!("\"$ENGINE\" {command} 2>&1");
    let out = Command::new("sh")
        .args(["-c", &script])
        .env("ENGINE", env!("CARGO_BIN_EXE_engine"))
        .env_remove("AWS_ENDPOINT_URL")
        .current_dir(dir)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    if out.status.code() != Some(exit) {
        failures.push(format!("{at}: exit {:?}, the page says {exit}; it printed:\n{printed}", out.status.code()));
    }
    if !matches(&expected.join("\n"), &printed) {
        failures.push(format!("{at}: the output differs; the engine printed:\n{printed}"));
    }
}

fn check_quoted_file(page: &Path, block: &Block, path: &str, failures: &mut Vec<String>) {
    let at = format!("{}:{}", page.display(), block.line);
    match std::fs::read_to_string(root().join(path)) {
        Ok(text) => {
            let quoted: Vec<&str> = block.body.lines().collect();
            let lines: Vec<&str> = text.lines().collect();
            let found = !quoted.is_empty() && lines.windows(quoted.len()).any(|w| w == quoted.as_slice());
            if !found {
                failures.push(format!("{at}: the block is not an excerpt of `{path}`"));
            }
        }
        Err(e) => failures.push(format!("{at}: cannot read `{path}`: {e}")),
    }
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ocsf-engine-docs-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the `engine` steps of a CI workflow in `dir`; returns how many ran.
fn run_workflow(page: &Path, block: &Block, dir: &Path, failures: &mut Vec<String>) -> usize {
    let at = format!("{}:{}", page.display(), block.line);
    let workflow: Value = match serde_saphyr::from_str(&block.body) {
        Ok(v) => v,
        Err(e) => {
            failures.push(format!("{at}: the workflow is not YAML: {e}"));
            return 0;
        }
    };
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_engine")).parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let mut ran = 0;
    for job in workflow["jobs"].as_object().into_iter().flat_map(|jobs| jobs.values()) {
        for step in job["steps"].as_array().into_iter().flatten() {
            let Some(script) = step["run"].as_str().filter(|s| s.trim_start().starts_with("engine ")) else {
                continue;
            };
            let out = Command::new("sh")
                .args(["-ec", script])
                .env("PATH", &path)
                .env_remove("AWS_ENDPOINT_URL")
                .current_dir(dir)
                .output()
                .unwrap();
            if !out.status.success() {
                failures.push(format!(
                    "{at}: the step `{}` failed ({:?}):\n{}{}",
                    script.trim(),
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            ran += 1;
        }
    }
    if ran == 0 {
        failures.push(format!("{at}: the workflow has no `engine` step"));
    }
    ran
}

/// Runs every example of one page; returns how many ran.
fn run_page(page: &Path, failures: &mut Vec<String>) -> usize {
    let text = std::fs::read_to_string(page).unwrap();
    let mut base = String::new();
    let mut common = serde_json::Map::new();
    let mut examples: Vec<Example> = Vec::new();
    let mut ran = 0;
    let scratch = std::env::temp_dir().join(format!(
        "ocsf-engine-docs-{}-scratch-{}",
        std::process::id(),
        page.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::remove_dir_all(&scratch).ok();
    for block in blocks(&text) {
        let json = || serde_json::from_str::<Value>(&block.body);
        let words: Vec<&str> = block.info.split_whitespace().collect();
        if let Some(path) = words.iter().find_map(|w| w.strip_prefix("file=")) {
            check_quoted_file(page, &block, path, failures);
            ran += 1;
        }
        if let Some(path) = words.iter().find_map(|w| w.strip_prefix("new=")) {
            let target = scratch.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, &block.body).unwrap();
            if words.contains(&"workflow") {
                ran += run_workflow(page, &block, &scratch, failures);
            }
        }
        match words.as_slice() {
            ["yaml", "base", ..] => base = block.body.clone(),
            ["json", "common", ..] => match json() {
                Ok(Value::Object(fields)) => common = fields,
                _ => failures.push(format!("{}:{}: `common` must be a JSON object", page.display(), block.line)),
            },
            ["yaml", "mapping", ..] => examples.push(Example {
                mapping: block.body.clone(),
                mapping_line: block.line,
                records: vec![],
                events: vec![],
            }),
            ["json", kind @ ("record" | "event"), ..] => {
                let Some(example) = examples.last_mut() else {
                    failures.push(format!("{}:{}: a `{kind}` block before any mapping", page.display(), block.line));
                    continue;
                };
                match (json(), *kind) {
                    (Ok(Value::Object(own)), "record") => {
                        let mut record = common.clone();
                        record.extend(own);
                        example.records.push((Value::Object(record), block.line));
                    }
                    (Ok(_), "record") => {
                        failures.push(format!("{}:{}: a record is an object", page.display(), block.line))
                    }
                    (Ok(v), _) => example.events.push((v, block.line)),
                    (Err(e), _) => failures.push(format!("{}:{}: not JSON: {e}", page.display(), block.line)),
                }
            }
            ["console", ..] => {
                std::fs::create_dir_all(&scratch).unwrap();
                let dir = if words.contains(&"in=scratch") { scratch.clone() } else { root() };
                run_console(page, &block, &dir, failures);
                ran += 1;
            }
            _ => {}
        }
    }
    for example in &examples {
        run_mapping_example(page, &base, example, failures);
        ran += example.records.len();
    }
    std::fs::remove_dir_all(&scratch).ok();
    ran
}

#[test]
fn every_example_in_the_docs_does_what_the_page_says() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for page in pages() {
        let n = run_page(&page, &mut failures);
        assert!(n > 0, "{} has no executed example", page.display());
        ran += n;
    }
    assert!(failures.is_empty(), "{} of {ran} doc examples failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn the_matcher_honours_wildcards_and_can_fail() {
    assert!(matches("a [..] c", "a b c"));
    assert!(matches("x\n...\nz", "x\ny1\ny2\nz"));
    assert!(matches("x\n...\nz", "x\nz"));
    assert!(!matches("a [..] c", "a b d"));
    assert!(!matches("x\nz", "x\ny\nz"));
    assert!(!matches("x", "x\ny"));
}
