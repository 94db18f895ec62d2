//! Which mapping produced an event: each event carries, in `metadata.transformation_info_list`,
//! the mapping's name and a hash of the text of every file it was compiled from (the mapping,
//! its bases, the files of the named tables it uses), so that an event can be traced to the
//! exact version of the rules that made it.

use crate::diagnostic::SourceFile;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What [`stamp`] writes: `{name, uid: "sha256:…", lang}`.
pub fn info(name: &str, files: &[Arc<SourceFile>]) -> Value {
    let mut paths: Vec<&Arc<SourceFile>> = files.iter().collect();
    paths.sort_by(|a, b| a.path.cmp(&b.path));
    paths.dedup_by(|a, b| a.path == b.path);
    let mut hash = Sha256::new();
    for file in paths {
        // Each file's length first, so that no two sets of texts hash alike by concatenation.
        hash.update((file.text.len() as u64).to_le_bytes());
        hash.update(file.text.as_bytes());
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    json!({ "name": name, "uid": format!("sha256:{hex}"), "lang": "ocsf-engine mapping" })
}

/// Appends the mapping's entry to the event's `metadata.transformation_info_list`.
pub fn stamp(event: &mut Map<String, Value>, info: &Value) {
    let metadata = event.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(metadata) = metadata else { return };
    match metadata.entry("transformation_info_list").or_insert_with(|| Value::Array(Vec::new())) {
        Value::Array(list) => list.push(info.clone()),
        other => *other = Value::Array(vec![info.clone()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(path: &str, text: &str) -> Arc<SourceFile> {
        Arc::new(SourceFile { path: PathBuf::from(path), text: text.into() })
    }

    #[test]
    fn the_hash_follows_the_text_of_every_file_and_not_their_order() {
        let (a, b) = (file("a.yaml", "x: 1\n"), file("_base.yaml", "y: 2\n"));
        let one = info("a", &[Arc::clone(&a), Arc::clone(&b)]);
        assert_eq!(one, info("a", &[Arc::clone(&b), Arc::clone(&a), Arc::clone(&b)]));
        assert_ne!(one["uid"], info("a", &[Arc::clone(&a), file("_base.yaml", "y: 3\n")])["uid"]);
        assert_ne!(
            info("a", &[file("a", "ab"), file("b", "c")])["uid"],
            info("a", &[file("a", "a"), file("b", "bc")])["uid"]
        );
        assert!(one["uid"].as_str().unwrap().starts_with("sha256:") && one["uid"].as_str().unwrap().len() == 23);
    }

    #[test]
    fn stamping_appends_to_metadata() {
        let mut event = Map::new();
        stamp(&mut event, &json!({"name": "a"}));
        stamp(&mut event, &json!({"name": "b"}));
        assert_eq!(
            Value::Object(event),
            json!({"metadata": {"transformation_info_list": [{"name": "a"}, {"name": "b"}]}})
        );
    }
}
