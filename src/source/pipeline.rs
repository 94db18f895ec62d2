//! Pipeline files: a configuration in the shape of Amazon CloudWatch pipelines
//! (`source: entrust_idaas: {…}`, optional `processor: - ocsf: {…}`, `sink: - cloudwatch_logs:
//! {log_group}`, `- security_lake: {…}` (see [`super::pipeline_lake`]) or `- file: {path}`)
//! translated into the equivalent `engine run <SPEC>` invocation: the source spec whose `name`
//! is the source's, `--set` values for its parameters, and the sink. The body is decoded by
//! [`super::pipeline_decode`]; files of several named pipelines by [`super::pipelines`].

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
    /// The NDJSON file, when the sink is `file: {path}`.
    pub output: Option<PathBuf>,
    /// Windows read at once (`concurrency` among the source's settings).
    pub concurrency: Option<u64>,
}

/// The keys at the top of a file that holds one unnamed pipeline.
pub const SINGLE_KEYS: [&str; 4] = ["source", "processor", "sink", "version"];

/// Translates pipeline `text` (one unnamed pipeline); `find_spec` maps a source name to its
/// spec file. The first problem is the error, as `line:col: message`.
pub fn translate(text: &str, find_spec: impl Fn(&str) -> Option<PathBuf>) -> Result<PipelineRun, String> {
    let file = crate::diagnostic::SourceFile::new("", text);
    let doc = crate::yaml::parse(&file).map_err(|d| format!("not valid YAML: {}", d.kind))?;
    let crate::yaml::NodeValue::Map(top) = &doc.value else {
        return Err("a pipeline file is a map with `source` and `sink`".into());
    };
    if let Some((key, _)) = top.iter().find(|(k, _)| !SINGLE_KEYS.contains(&k.name.as_str())) {
        return Err(format!(
            "{}:{}: unknown top-level key `{}`; a pipeline has `source`, `processor` and `sink`",
            key.span.line, key.span.column, key.name
        ));
    }
    let mut diags = crate::diagnostic::Diagnostics::default();
    let decoded = super::pipeline_decode::decode(&doc, "the pipeline", &find_spec, &mut diags);
    match (decoded, diags.0.first()) {
        (Some(d), None) => Ok(d.run),
        (_, Some(first)) => Err(super::pipeline_decode::one_line(first)),
        (None, None) => Err("the pipeline cannot run".into()),
    }
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
    // A relative path's parents end at the working directory: walk up from its absolute form.
    let absolute = std::path::absolute(pipeline).unwrap_or_else(|_| pipeline.to_path_buf());
    let mut dir = absolute.parent();
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
        assert_eq!(run.concurrency, None);
    }

    #[test]
    fn a_pipeline_sets_its_concurrency_among_the_source_settings() {
        let text =
            "source:\n  entrust_idaas:\n    hostname: h\n    concurrency: 8\nsink:\n  - file: {path: o.ndjson}\n";
        let run = translate(text, spec).unwrap();
        assert_eq!(run.concurrency, Some(8));
        assert_eq!(run.sets, [("hostname".to_string(), "h".to_string())], "not a spec parameter");
        for (bad, want) in [("0", "between 1 and 64"), ("65", "between 1 and 64"), ("many", "an integer")] {
            let err = translate(&text.replace("concurrency: 8", &format!("concurrency: {bad}")), spec).unwrap_err();
            assert!(err.contains(want), "{bad}: {err}");
        }
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
