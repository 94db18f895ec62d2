//! Pipeline files: a configuration in the shape of Amazon CloudWatch pipelines
//! (`source: entrust_idaas: {…}`, optional `processor: - ocsf: {…}`, `sink: - cloudwatch_logs:
//! {log_group}` or `- security_lake: {…}`, see [`super::pipeline_lake`]) translated into the equivalent `engine run <SPEC>` invocation: the source spec
//! whose `name` is the source's, `--set` values for its parameters, and the sink.

use std::path::{Path, PathBuf};

/// What a pipeline file asks for, as `engine run` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRun {
    /// The source's name (`entrust_idaas`).
    pub source: String,
    /// The source spec that implements it.
    pub spec: PathBuf,
    /// Spec parameters, as `--set KEY=VALUE` would give them (references such as
    /// `${{aws_secrets:…}}` are kept for the run to resolve).
    pub sets: Vec<(String, String)>,
    /// The CloudWatch Logs log group, when the sink is `cloudwatch_logs`.
    pub log_group: Option<String>,
    /// The Security Lake sink, when the sink is `security_lake`.
    pub lake: Option<super::pipeline_lake::LakeSink>,
}

/// The OCSF version the engine's mappings produce.
const OCSF_VERSION: &str = "1.5.0";

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of single-key maps (`- ocsf: {…}`), or one map, as `(name, settings)` pairs.
fn entries(v: &serde_json::Value, what: &str) -> Result<Vec<(String, serde_json::Value)>, String> {
    let one = |m: &serde_json::Map<String, serde_json::Value>| -> Result<Vec<(String, serde_json::Value)>, String> {
        Ok(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    match v {
        serde_json::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    serde_json::Value::Object(m) => out.extend(one(m)?),
                    _ => return Err(format!("`{what}` items must be maps such as `- cloudwatch_logs: {{…}}`")),
                }
            }
            Ok(out)
        }
        serde_json::Value::Object(m) => one(m),
        serde_json::Value::Null => Ok(Vec::new()),
        _ => Err(format!("`{what}` must be a list of maps")),
    }
}

/// Translates pipeline `text`; `find_spec` maps a source name to its spec file.
pub fn translate(text: &str, find_spec: impl Fn(&str) -> Option<PathBuf>) -> Result<PipelineRun, String> {
    let options = serde_saphyr::options! { strict_booleans: true };
    let doc: serde_json::Value =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| format!("not valid YAML: {e}"))?;
    let top = doc.as_object().ok_or("a pipeline file is a map with `source` and `sink`")?;
    for key in top.keys() {
        if !matches!(key.as_str(), "source" | "processor" | "sink" | "version") {
            return Err(format!("unknown top-level key `{key}`; a pipeline has `source`, `processor` and `sink`"));
        }
    }
    // Source: exactly one.
    let sources = entries(top.get("source").ok_or("the pipeline has no `source`")?, "source")?;
    let [(source, settings)] = sources.as_slice() else {
        return Err(format!("`source` must name exactly one source, found {}", sources.len()));
    };
    let spec = find_spec(source)
        .ok_or_else(|| format!("no source spec named `{source}` (looked for `name: {source}` in sources/*.yaml)"))?;
    let settings = match settings {
        serde_json::Value::Object(m) => m.clone(),
        serde_json::Value::Null => serde_json::Map::new(),
        _ => return Err(format!("`source.{source}` must be a map")),
    };
    let mut sets = Vec::new();
    for (key, value) in &settings {
        match key.as_str() {
            "authentication" => {
                let auth = value
                    .as_object()
                    .ok_or("`authentication` must be a map such as `oauth2: {client_id, client_secret}`")?;
                for (kind, creds) in auth {
                    if kind != "oauth2" {
                        return Err(format!(
                            "authentication `{kind}` is not supported; use `oauth2: {{client_id, client_secret}}`"
                        ));
                    }
                    let creds = creds.as_object().ok_or("`authentication.oauth2` must be a map")?;
                    for (k, v) in creds {
                        if !matches!(k.as_str(), "client_id" | "client_secret") {
                            return Err(format!(
                                "unknown key `authentication.oauth2.{k}`; expected client_id, client_secret"
                            ));
                        }
                        let v = scalar(v).ok_or_else(|| format!("`authentication.oauth2.{k}` must be a string"))?;
                        sets.push((k.clone(), v));
                    }
                }
            }
            _ => {
                let v = scalar(value).ok_or_else(|| format!("`source.{source}.{key}` must be a single value"))?;
                sets.push((key.clone(), v));
            }
        }
    }
    // Processors: only OCSF, and only the version the mappings produce.
    if let Some(p) = top.get("processor") {
        for (name, conf) in entries(p, "processor")? {
            if name != "ocsf" {
                return Err(format!(
                    "processor `{name}` is not supported; the engine maps to OCSF itself (`- ocsf: {{…}}`)"
                ));
            }
            for key in ["version", "mapping_version"] {
                if let Some(v) = conf.get(key).and_then(scalar) {
                    let ok = OCSF_VERSION == v || OCSF_VERSION.strip_suffix(".0") == Some(v.as_str());
                    if !ok {
                        return Err(format!(
                            "ocsf {key} `{v}` is not supported; the engine produces OCSF {OCSF_VERSION}"
                        ));
                    }
                }
            }
        }
    }
    // Sink: one, cloudwatch_logs or security_lake.
    let sinks = entries(top.get("sink").ok_or("the pipeline has no `sink`")?, "sink")?;
    let (mut log_group, mut lake) = (None, None);
    for (name, conf) in &sinks {
        if log_group.is_some() || lake.is_some() {
            return Err("only one sink per pipeline is supported".into());
        }
        match name.as_str() {
            "cloudwatch_logs" => {
                let group =
                    conf.get("log_group").and_then(scalar).ok_or("`cloudwatch_logs` needs `log_group: NAME`")?;
                log_group = Some(group);
            }
            "security_lake" => lake = Some(super::pipeline_lake::decode(conf, text)?),
            _ => {
                return Err(format!(
                    "sink `{name}` is not supported; use `- cloudwatch_logs: {{log_group: NAME}}` or `- security_lake: {{bucket, region, account_id}}`"
                ));
            }
        }
    }
    if log_group.is_none() && lake.is_none() {
        return Err("the pipeline's `sink` is empty; add `- cloudwatch_logs: {log_group: NAME}` or `- security_lake: {bucket, region, account_id}`".into());
    }
    Ok(PipelineRun { source: source.clone(), spec, sets, log_group, lake })
}

/// The `name:` at the top of a source spec file.
fn spec_name(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| l.strip_prefix("name:")).map(|n| n.trim().trim_matches(['"', '\'']).to_string())
}

/// Finds the spec whose `name` is `source` in `sources/` of the working directory, then of the
/// pipeline file's directory and its parents.
pub fn find_spec(source: &str, pipeline: &Path) -> Option<PathBuf> {
    let mut dirs = vec![PathBuf::from("sources")];
    let mut dir = pipeline.parent();
    while let Some(d) = dir {
        dirs.push(d.join("sources"));
        dir = d.parent();
    }
    for d in dirs {
        let Ok(read) = std::fs::read_dir(&d) else { continue };
        let mut files: Vec<PathBuf> = read
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        if let Some(f) = files.into_iter().find(|f| spec_name(f).as_deref() == Some(source)) {
            return Some(f);
        }
    }
    None
}

/// Reads and translates the pipeline file at `path`.
pub fn load(path: &Path) -> Result<PipelineRun, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    // An error located in the file (`line:col: …`) reads `file:line:col: …`.
    translate(&text, |s| find_spec(s, path)).map_err(|e| {
        let sep = if e.starts_with(|c: char| c.is_ascii_digit()) { ":" } else { ": " };
        format!("{}{sep}{e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
source:
  entrust_idaas:
    hostname: acme.us.trustedauth.com
    range: P7D
    authentication:
      oauth2:
        client_id: "${{aws_secrets:prod/entrust:client_id}}"
        client_secret: "${{aws_secrets:prod/entrust:client_secret}}"
processor:
  - ocsf:
      version: "1.5"
      mapping_version: 1.5.0
      schema:
        entrust_idaas:
sink:
  - cloudwatch_logs:
      log_group: /ocsf/entrust
"#;

    fn spec(name: &str) -> Option<PathBuf> {
        (name == "entrust_idaas").then(|| PathBuf::from("sources/entrust.yaml"))
    }

    #[test]
    fn the_cloudwatch_pipelines_shape_becomes_a_run() {
        let run = translate(EXAMPLE, spec).unwrap();
        assert_eq!(run.spec, PathBuf::from("sources/entrust.yaml"));
        assert_eq!(run.log_group.as_deref(), Some("/ocsf/entrust"));
        let mut sets = run.sets.clone();
        sets.sort();
        assert_eq!(
            sets,
            [
                ("client_id".to_string(), "${{aws_secrets:prod/entrust:client_id}}".to_string()),
                ("client_secret".into(), "${{aws_secrets:prod/entrust:client_secret}}".into()),
                ("hostname".into(), "acme.us.trustedauth.com".into()),
                ("range".into(), "P7D".into()),
            ]
        );
    }

    #[test]
    fn processor_is_optional() {
        let text = "source:\n  entrust_idaas:\n    hostname: h\nsink:\n  - cloudwatch_logs:\n      log_group: g\n";
        let run = translate(text, spec).unwrap();
        assert_eq!(run.sets, [("hostname".to_string(), "h".to_string())]);
        assert_eq!(run.log_group.as_deref(), Some("g"));
    }

    #[test]
    fn what_cannot_run_is_a_clear_error() {
        let cases = [
            ("source:\n  okta: {}\nsink:\n  - cloudwatch_logs: {log_group: g}\n", "no source spec named `okta`"),
            ("source:\n  entrust_idaas: {}\n", "no `sink`"),
            ("source:\n  entrust_idaas: {}\nsink:\n  - s3: {bucket: b}\n", "sink `s3` is not supported"),
            ("source:\n  entrust_idaas: {}\nsink:\n  - cloudwatch_logs: {}\n", "needs `log_group"),
            (
                "source:\n  entrust_idaas: {}\nprocessor:\n  - ocsf: {version: \"1.1\"}\nsink:\n  - cloudwatch_logs: {log_group: g}\n",
                "version `1.1` is not supported",
            ),
            (
                "source:\n  entrust_idaas: {}\nprocessor:\n  - grok: {}\nsink:\n  - cloudwatch_logs: {log_group: g}\n",
                "processor `grok`",
            ),
            (
                "source:\n  entrust_idaas:\n    authentication: {basic: {}}\nsink:\n  - cloudwatch_logs: {log_group: g}\n",
                "authentication `basic`",
            ),
            ("pipeline: {}\n", "unknown top-level key `pipeline`"),
            ("- a\n", "a pipeline file is a map"),
            ("source: [\n", "not valid YAML"),
        ];
        for (text, want) in cases {
            let err = translate(text, spec).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn specs_are_found_by_name() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let found = find_spec("entrust_idaas", &root.join("pipeline.yaml")).unwrap();
        assert!(found.ends_with("sources/entrust.yaml"), "{}", found.display());
        assert_eq!(find_spec("no_such_source", &root.join("pipeline.yaml")), None);
    }
}
