//! The editor schema of mapping files: the committed copy is what `engine schema mapping`
//! prints, every mapping file points editors at it, and every mapping file conforms to it.

use ocsf_engine::diagnostic::SourceFile;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const SCHEMA: &str = "mappings/_mapping.schema.json";

fn mapping_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root().join("mappings"), root().join("tests/language/mappings")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(SCHEMA)).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn as_json(path: &Path) -> serde_json::Value {
    let file = SourceFile::read(path).unwrap();
    ocsf_engine::yaml::parse(&file).unwrap().to_json()
}

#[test]
fn the_committed_schema_is_up_to_date() {
    let out = Command::new(env!("CARGO_BIN_EXE_engine")).args(["schema", "mapping"]).output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(root().join(SCHEMA)).unwrap();
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "{SCHEMA} is stale: run `engine schema mapping > {SCHEMA}`"
    );
}

#[test]
fn every_mapping_file_names_the_schema_for_editors() {
    let schema = root().join(SCHEMA);
    let files = mapping_files();
    assert!(files.len() >= 70);
    for file in files {
        let first = std::fs::read_to_string(&file).unwrap().lines().next().unwrap_or_default().to_string();
        let target = first.strip_prefix("# yaml-language-server: $schema=").unwrap_or_else(|| {
            panic!("{}: the first line should be `# yaml-language-server: $schema=…`", file.display())
        });
        let resolved = file.parent().unwrap().join(target);
        assert_eq!(resolved.canonicalize().unwrap(), schema.canonicalize().unwrap(), "{}", file.display());
    }
}

#[test]
fn every_mapping_file_conforms_and_a_typo_does_not() {
    let v = validator();
    for file in mapping_files() {
        let doc = as_json(&file);
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{} {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    }
    let typo = serde_json::json!({"class": "Authentication", "fields": {"user.name": {"form": "subjectName"}}});
    assert!(!v.is_valid(&typo));
    let bad_class = serde_json::json!({"class": "Authentcation"});
    assert!(!v.is_valid(&bad_class));
}
