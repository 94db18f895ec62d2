//! The `security_lake:` sink of a pipeline file (`sink: - security_lake: {bucket, region,
//! account_id, source_names, flush_interval, max_object_size}`), decoded into the values of the
//! `engine run --sink security_lake` flags; an unknown key is reported at its line and column.

use serde_json::Value;

/// The keys a `security_lake` sink takes.
const KEYS: [&str; 6] = ["bucket", "region", "account_id", "source_names", "flush_interval", "max_object_size"];
/// The classes `source_names` takes.
const CLASSES: [&str; 2] = ["authentication", "entity_management"];

/// A pipeline's `security_lake` sink, as flag values (checked by the run as the flags are).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LakeSink {
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    /// `CLASS=NAME`, as `--source-name` takes them.
    pub source_names: Vec<String>,
    pub flush_interval: Option<String>,
    pub max_object_size: Option<String>,
}

/// `line:col` of the first `key:` under the `security_lake:` line of `text` (1-based).
fn locate(text: &str, key: &str) -> String {
    let mut lines = text.lines().enumerate().skip_while(|(_, l)| !l.contains("security_lake:"));
    let found = lines.find_map(|(n, l)| {
        let col = l.find(&format!("{key}:"))?;
        let before = &l[..col];
        before.chars().all(|c| c.is_whitespace() || matches!(c, '-' | '{' | ',')).then_some((n + 1, col + 1))
    });
    found.map_or_else(String::new, |(l, c)| format!("{l}:{c}: "))
}

fn unknown(text: &str, key: &str, path: &str, expected: &[&str]) -> String {
    let hint = expected
        .iter()
        .filter(|e| strsim::jaro_winkler(e, key) > 0.8)
        .max_by(|a, b| strsim::jaro_winkler(a, key).total_cmp(&strsim::jaro_winkler(b, key)))
        .map(|e| format!(" (did you mean `{e}`?)"))
        .unwrap_or_default();
    format!("{}unknown key `{path}{key}`{hint}; expected {}", locate(text, key), expected.join(", "))
}

fn string(text: &str, v: &Value, key: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(format!("{}`security_lake.{key}` must be a single value", locate(text, key))),
    }
}

/// Decodes the settings of a `security_lake` sink; `text` is the pipeline file (for locations).
pub fn decode(conf: &Value, text: &str) -> Result<LakeSink, String> {
    let map = match conf {
        Value::Object(m) => m.clone(),
        Value::Null => serde_json::Map::new(),
        _ => {
            return Err("`security_lake` must be a map such as `{bucket: NAME, region: REGION, account_id: ID}`".into());
        }
    };
    let mut sink = LakeSink::default();
    for (key, value) in &map {
        match key.as_str() {
            "bucket" => sink.bucket = Some(string(text, value, key)?),
            "region" => sink.region = Some(string(text, value, key)?),
            "account_id" => sink.account_id = Some(string(text, value, key)?),
            "flush_interval" => sink.flush_interval = Some(string(text, value, key)?),
            "max_object_size" => sink.max_object_size = Some(string(text, value, key)?),
            "source_names" => {
                let names = value.as_object().ok_or_else(|| {
                    format!(
                        "{}`security_lake.source_names` must be a map such as `{{authentication: NAME, entity_management: NAME}}`",
                        locate(text, key)
                    )
                })?;
                for (class, name) in names {
                    if !CLASSES.contains(&class.as_str()) {
                        return Err(unknown(text, class, "security_lake.source_names.", &CLASSES));
                    }
                    sink.source_names.push(format!("{class}={}", string(text, name, class)?));
                }
            }
            _ => return Err(unknown(text, key, "security_lake.", &KEYS)),
        }
    }
    Ok(sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Value {
        let doc: Value = serde_saphyr::from_str(text).unwrap();
        doc["sink"][0]["security_lake"].clone()
    }

    #[test]
    fn every_key_becomes_a_flag_value() {
        let text = "sink:\n  - security_lake:\n      bucket: b\n      region: us-east-1\n      account_id: \"123456789012\"\n      source_names:\n        authentication: idaas-logins\n      flush_interval: PT1M\n      max_object_size: 32MiB\n";
        let sink = decode(&conf(text), text).unwrap();
        assert_eq!(sink.bucket.as_deref(), Some("b"));
        assert_eq!(sink.account_id.as_deref(), Some("123456789012"));
        assert_eq!(sink.source_names, ["authentication=idaas-logins"]);
        assert_eq!((sink.flush_interval.as_deref(), sink.max_object_size.as_deref()), (Some("PT1M"), Some("32MiB")));
    }

    #[test]
    fn unknown_keys_are_located_with_a_hint() {
        let text = "source:\n  entrust_idaas: {}\nsink:\n  - security_lake:\n      bucket: b\n      acount_id: x\n";
        let e = decode(&conf(text), text).unwrap_err();
        assert!(e.starts_with("6:7: unknown key `security_lake.acount_id` (did you mean `account_id`?)"), "{e}");
        let text = "sink:\n  - security_lake:\n      source_names:\n        auth: x\n";
        let e = decode(&conf(text), text).unwrap_err();
        assert!(e.starts_with("4:9: unknown key `security_lake.source_names.auth`"), "{e}");
        assert!(e.contains("expected authentication, entity_management"), "{e}");
    }
}
