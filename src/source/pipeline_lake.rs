//! The `security_lake:` sink of a pipeline file (`sink: - security_lake: {bucket, region,
//! account_id, source_names, flush_interval, max_object_size}`), decoded into the values of the
//! `engine run --sink security_lake` flags; an unknown key is reported at its line and column.

use super::pipeline_decode::{check_keys, scalar};
use crate::diagnostic::Diagnostics;
use crate::yaml::{Node, NodeValue, wrong_type};

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

fn string(key: &str, v: &Node, diags: &mut Diagnostics) -> Option<String> {
    let s = scalar(v);
    if s.is_none() {
        diags.push(wrong_type(&format!("security_lake.{key}"), "a single value", v));
    }
    s
}

/// Decodes the settings of a `security_lake` sink; every problem is a located diagnostic.
pub fn decode(conf: &Node, diags: &mut Diagnostics) -> LakeSink {
    let mut sink = LakeSink::default();
    let map = match &conf.value {
        NodeValue::Map(m) => m.as_slice(),
        NodeValue::Null => &[],
        _ => {
            diags.push(wrong_type(
                "security_lake",
                "a map such as `{bucket: NAME, region: REGION, account_id: ID}`",
                conf,
            ));
            return sink;
        }
    };
    check_keys(map, "security_lake.", &KEYS, "the `security_lake` sink", diags);
    for (key, value) in map {
        let k = key.name.as_str();
        match k {
            "bucket" => sink.bucket = string(k, value, diags),
            "region" => sink.region = string(k, value, diags),
            "account_id" => sink.account_id = string(k, value, diags),
            "flush_interval" => sink.flush_interval = string(k, value, diags),
            "max_object_size" => sink.max_object_size = string(k, value, diags),
            "source_names" => {
                let NodeValue::Map(names) = &value.value else {
                    diags.push(wrong_type(
                        "security_lake.source_names",
                        "a map such as `{authentication: NAME, entity_management: NAME}`",
                        value,
                    ));
                    continue;
                };
                check_keys(names, "security_lake.source_names.", &CLASSES, "the `security_lake` sink", diags);
                for (class, name) in names.iter().filter(|(c, _)| CLASSES.contains(&c.name.as_str())) {
                    if let Some(n) = string(&class.name, name, diags) {
                        sink.source_names.push(format!("{}={n}", class.name));
                    }
                }
            }
            _ => {}
        }
    }
    sink
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::SourceFile;

    /// Decodes the first sink of `text`; the diagnostics in their one-line form.
    fn decoded(text: &str) -> (LakeSink, Vec<String>) {
        let doc = crate::yaml::parse(&SourceFile::new("pipeline.yaml", text)).unwrap();
        let NodeValue::Map(top) = &doc.value else { panic!("a map") };
        let sink = &top.iter().find(|(k, _)| k.name == "sink").unwrap().1;
        let NodeValue::Seq(items) = &sink.value else { panic!("a list") };
        let NodeValue::Map(first) = &items[0].value else { panic!("a map") };
        let mut diags = Diagnostics::default();
        let lake = decode(&first[0].1, &mut diags);
        (lake, diags.0.iter().map(super::super::pipeline_decode::one_line).collect())
    }

    #[test]
    fn every_key_becomes_a_flag_value() {
        let text = "sink:\n  - security_lake:\n      bucket: b\n      region: us-east-1\n      account_id: \"123456789012\"\n      source_names:\n        authentication: idaas-logins\n      flush_interval: PT1M\n      max_object_size: 32MiB\n";
        let (sink, errors) = decoded(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(sink.bucket.as_deref(), Some("b"));
        assert_eq!(sink.account_id.as_deref(), Some("123456789012"));
        assert_eq!(sink.source_names, ["authentication=idaas-logins"]);
        assert_eq!((sink.flush_interval.as_deref(), sink.max_object_size.as_deref()), (Some("PT1M"), Some("32MiB")));
    }

    #[test]
    fn unknown_keys_are_located_with_a_hint() {
        let text = "source:\n  entrust_idaas: {}\nsink:\n  - security_lake:\n      bucket: b\n      acount_id: x\n";
        let (_, e) = decoded(text);
        assert_eq!(e, ["6:7: unknown key `security_lake.acount_id` (did you mean `account_id`?)"]);
        let text = "sink:\n  - security_lake:\n      source_names:\n        auth: x\n";
        let (_, e) = decoded(text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("4:9: unknown key `security_lake.source_names.auth`"), "{e:?}");
        assert!(e[0].contains("expected authentication, entity_management"), "{e:?}");
    }
}
