//! The editor schemas of mapping files and source specs: each committed copy is what `engine
//! schema <kind>` prints, every file of that kind points editors at it, and every such file
//! conforms to it while a typo does not.

use ocsf_engine::diagnostic::SourceFile;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A kind of configuration file: its `engine schema` name, committed schema and files.
struct Kind {
    name: &'static str,
    schema: &'static str,
    files: fn() -> Vec<PathBuf>,
}

const KINDS: &[Kind] = &[
    Kind { name: "mapping", schema: "mappings/_mapping.schema.json", files: mapping_files },
    Kind { name: "source", schema: "sources/_source.schema.json", files: spec_files },
];

fn yaml_files_under(dirs: &[&str], keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.iter().map(|d| root().join(d)).collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml") && keep(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn mapping_files() -> Vec<PathBuf> {
    let files = yaml_files_under(&["mappings", "tests/language/mappings", "docs/examples"], |p| {
        p.components().any(|c| c.as_os_str() == "mappings")
    });
    assert!(files.len() >= 70);
    files
}

fn spec_files() -> Vec<PathBuf> {
    let mut files = yaml_files_under(&["sources", "docs/examples"], |p| {
        // Pipeline files are not specs: they name specs.
        !p.components().any(|c| c.as_os_str() == "mappings")
            && ocsf_engine::source::pipelines::shape(p) == ocsf_engine::source::pipelines::Shape::Spec
    });
    files.push(root().join("tests/language/spec.yaml"));
    assert!(files.len() >= 3);
    files
}

fn validator(kind: &Kind) -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(kind.schema)).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn as_json(path: &Path) -> serde_json::Value {
    let file = SourceFile::read(path).unwrap();
    ocsf_engine::yaml::parse(&file).unwrap().to_json()
}

#[test]
fn the_committed_schemas_are_up_to_date() {
    for kind in KINDS {
        let out = Command::new(env!("CARGO_BIN_EXE_engine")).args(["schema", kind.name]).output().unwrap();
        assert!(out.status.success());
        let committed = std::fs::read_to_string(root().join(kind.schema)).unwrap();
        assert!(
            committed == String::from_utf8_lossy(&out.stdout),
            "{} is stale: run `engine schema {} > {}`",
            kind.schema,
            kind.name,
            kind.schema
        );
    }
}

#[test]
fn every_file_names_its_schema_for_editors() {
    for kind in KINDS {
        let schema = root().join(kind.schema);
        for file in (kind.files)() {
            let text = std::fs::read_to_string(&file).unwrap();
            let first = text.lines().next().unwrap_or_default();
            let target = first.strip_prefix("# yaml-language-server: $schema=").unwrap_or_else(|| {
                panic!("{}: the first line should be `# yaml-language-server: $schema=…`", file.display())
            });
            let resolved = file.parent().unwrap().join(target);
            assert_eq!(resolved.canonicalize().unwrap(), schema.canonicalize().unwrap(), "{}", file.display());
        }
    }
}

/// The docs' example of mistakes (`engine check` reports them); editors flag them too.
const BROKEN_ON_PURPOSE: &str = "docs/examples/typo/mappings/";

#[test]
fn every_file_conforms_to_its_schema() {
    for kind in KINDS {
        let v = validator(kind);
        for file in (kind.files)() {
            let doc = as_json(&file);
            let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{} {e}", e.instance_path())).collect();
            if file.starts_with(root().join(BROKEN_ON_PURPOSE)) {
                assert!(!errors.is_empty(), "{}: the typo is not flagged", file.display());
            } else {
                assert!(errors.is_empty(), "{}: {errors:?}", file.display());
            }
        }
    }
}

#[test]
fn a_typo_does_not_conform() {
    let mapping = validator(&KINDS[0]);
    assert!(!mapping.is_valid(&json!({"class": "Authentication", "fields": {"user.name": {"form": "subjectName"}}})));
    assert!(!mapping.is_valid(&json!({"class": "Authentcation"})));
    let source = validator(&KINDS[1]);
    let mut spec = as_json(&root().join("sources/entrust.yaml"));
    assert!(source.is_valid(&spec));
    spec["streams"]["audit"]["pageing"] = json!({});
    assert!(!source.is_valid(&spec));
    spec["streams"]["audit"].as_object_mut().unwrap().remove("pageing");
    spec["auth"]["login"]["renew_before"] = json!(60);
    assert!(!source.is_valid(&spec));
    spec["auth"]["login"]["renew_before"] = json!("PT1M");
    spec["streams"]["audit"]["time_format"] = json!("iso8601");
    assert!(!source.is_valid(&spec));
}
