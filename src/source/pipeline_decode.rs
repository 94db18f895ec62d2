//! The body of one pipeline of a pipeline file (`source`, optional `processor`, `sink`) decoded
//! from its located YAML into a [`PipelineRun`]; every problem is a diagnostic at its
//! `file:line:col` naming the key, with a hint (the closest valid name when there is one).

use super::pipeline::PipelineRun;
use super::pipeline_lake;
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind, Span, did_you_mean};
use crate::yaml::{Key, Node, NodeValue, wrong_type};
use std::path::PathBuf;

/// The keys of a pipeline's body.
pub const PIPELINE_KEYS: [&str; 3] = ["source", "processor", "sink"];
/// The sinks a pipeline may name.
const SINKS: [&str; 3] = ["cloudwatch_logs", "security_lake", "file"];
/// The OCSF version the engine's mappings produce.
const OCSF_VERSION: &str = "1.5.0";

/// A decoded body, with where each source parameter was written (for checks against the spec).
#[derive(Debug, Clone)]
pub struct Decoded {
    pub run: PipelineRun,
    pub params: Vec<(String, Span)>,
    /// Where the sink was named (for messages about two pipelines sharing a destination).
    pub sink_span: Span,
}

/// Reports every key of `entries` not in `allowed`, as `prefix` + the key, with a hint.
pub fn check_keys(entries: &[(Key, Node)], prefix: &str, allowed: &[&str], context: &str, diags: &mut Diagnostics) {
    for (key, _) in entries {
        if !allowed.contains(&key.name.as_str()) {
            let help = did_you_mean(&key.name, allowed.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("valid keys here: {}", allowed.join(", ")));
            diags.push(
                Diagnostic::new(ErrorKind::UnknownKey {
                    key: format!("{prefix}{}", key.name),
                    context: context.into(),
                })
                .at(key.span.clone())
                .help(help),
            );
        }
    }
}

/// A scalar as a string (`--set` takes text).
pub fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Str(s) => Some(s.clone()),
        NodeValue::Int(i) => Some(i.to_string()),
        NodeValue::Float(f) => Some(f.to_string()),
        NodeValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The entries of a map, or of a list of single-key maps (`- ocsf: {…}`); a null is empty.
fn entries<'a>(node: &'a Node, key: &str, example: &str, diags: &mut Diagnostics) -> Vec<&'a (Key, Node)> {
    match &node.value {
        NodeValue::Map(m) => m.iter().collect(),
        NodeValue::Null => Vec::new(),
        NodeValue::Seq(items) => {
            let mut out = Vec::new();
            for item in items {
                match &item.value {
                    NodeValue::Map(m) => out.extend(m.iter()),
                    _ => diags.push(wrong_type(key, &format!("a list of maps such as `{example}`"), item)),
                }
            }
            out
        }
        _ => {
            diags.push(wrong_type(key, &format!("a list of maps such as `{example}`"), node));
            Vec::new()
        }
    }
}

/// The entries of a settings map (a null is empty).
fn settings<'a>(node: &'a Node, key: &str, diags: &mut Diagnostics) -> &'a [(Key, Node)] {
    match &node.value {
        NodeValue::Map(m) => m,
        NodeValue::Null => &[],
        _ => {
            diags.push(wrong_type(key, "a map", node));
            &[]
        }
    }
}

fn invalid(key: &str, reason: impl Into<String>, span: &Span) -> Diagnostic {
    Diagnostic::new(ErrorKind::InvalidValue { key: key.into(), reason: reason.into() }).at(span.clone())
}

/// Decodes one pipeline's body (a map with `source`, `processor`, `sink`); `context` names it
/// in messages (`the pipeline`, ``pipeline `t01` ``). Unknown body keys are reported by the
/// caller. `None` when its source has no spec; otherwise the body as far as it could be
/// decoded, which may run only if nothing was added to `diags`.
pub fn decode(
    body: &Node,
    context: &str,
    find_spec: &dyn Fn(&str) -> Option<PathBuf>,
    diags: &mut Diagnostics,
) -> Option<Decoded> {
    let NodeValue::Map(top) = &body.value else {
        diags.push(wrong_type(context, "a map with `source` and `sink`", body));
        return None;
    };
    let get = |k: &str| top.iter().find(|(key, _)| key.name == k);
    let missing = |k: &str| {
        Diagnostic::new(ErrorKind::MissingKey { key: k.into(), context: context.into() }).at(body.span.clone()).help(
            match k {
                "source" => "add `source: {entrust_idaas: {hostname: …}}`",
                _ => {
                    "add `sink: [{cloudwatch_logs: {log_group: NAME}}]` (or `security_lake: {…}`, `file: {path: PATH}`)"
                }
            },
        )
    };
    // Source: exactly one, with a spec of its name.
    let mut spec = None;
    let mut sets = Vec::new();
    let mut params = Vec::new();
    let mut source_name = String::new();
    let mut concurrency = None;
    match get("source") {
        None => diags.push(missing("source")),
        Some((key, node)) => {
            let sources = entries(node, "source", "entrust_idaas: {hostname: …}", diags);
            match sources.as_slice() {
                [(name, settings_node)] => {
                    source_name = name.name.clone();
                    spec = find_spec(&name.name);
                    if spec.is_none() {
                        diags.push(
                            invalid(
                                "source",
                                format!(
                                    "no source spec named `{}` (looked for `name: {}` in sources/*.yaml)",
                                    name.name, name.name
                                ),
                                &name.span,
                            )
                            .help("the source is the `name:` of a spec under `sources/`, e.g. `entrust_idaas`"),
                        );
                    }
                    source_settings(&name.name, settings_node, &mut sets, &mut params, &mut concurrency, diags);
                }
                other => diags.push(
                    invalid(
                        "source",
                        format!("`source` must name exactly one source, found {}", other.len()),
                        &key.span,
                    )
                    .help("write `source: {entrust_idaas: {…}}`; run another source as another pipeline"),
                ),
            }
        }
    }
    if let Some((_, node)) = get("processor") {
        processors(node, diags);
    }
    // Sink: one of cloudwatch_logs, security_lake, file.
    let mut run = PipelineRun {
        source: source_name,
        spec: spec.clone().unwrap_or_default(),
        sets,
        log_group: None,
        lake: None,
        output: None,
        concurrency,
    };
    let mut sink_span = body.span.clone();
    match get("sink") {
        None => diags.push(missing("sink")),
        Some((key, node)) => {
            let sinks = entries(node, "sink", "- cloudwatch_logs: {log_group: NAME}", diags);
            if sinks.is_empty() {
                diags.push(invalid("sink", "the pipeline's `sink` is empty", &key.span).help(
                    "add `- cloudwatch_logs: {log_group: NAME}`, `- security_lake: {bucket, region, account_id}` or `- file: {path: PATH}`",
                ));
            }
            for (i, (name, conf)) in sinks.into_iter().enumerate() {
                if i > 0 {
                    diags.push(
                        invalid("sink", "only one sink per pipeline is supported", &name.span)
                            .help("write another pipeline for another destination"),
                    );
                    break;
                }
                sink_span = name.span.clone();
                sink(&mut run, name, conf, diags);
            }
        }
    }
    // Returned with its problems too, so that its parameters are still checked against the spec;
    // the caller runs it only when `diags` holds nothing new.
    spec.is_some().then_some(Decoded { run, params, sink_span })
}

/// A source's settings: its spec parameters (`hostname`, `range`, …), `authentication`, and
/// `concurrency` (windows read at once, over the stream's own).
fn source_settings(
    source: &str,
    node: &Node,
    sets: &mut Vec<(String, String)>,
    params: &mut Vec<(String, Span)>,
    concurrency: &mut Option<u64>,
    diags: &mut Diagnostics,
) {
    for (key, value) in settings(node, &format!("source.{source}"), diags) {
        if key.name == "concurrency" {
            let max = super::stream::MAX_CONCURRENCY as i64;
            match &value.value {
                NodeValue::Int(n) if (1..=max).contains(n) => *concurrency = Some(*n as u64),
                NodeValue::Int(_) => diags.push(
                    invalid("concurrency", format!("must be between 1 and {max}"), &value.span)
                        .help("windows read at once, e.g. `concurrency: 4`"),
                ),
                _ => diags.push(wrong_type(&format!("source.{source}.concurrency"), "an integer", value)),
            }
            continue;
        }
        if key.name != "authentication" {
            match scalar(value) {
                Some(v) => {
                    sets.push((key.name.clone(), v));
                    params.push((key.name.clone(), key.span.clone()));
                }
                None => diags.push(wrong_type(&format!("source.{source}.{}", key.name), "a single value", value)),
            }
            continue;
        }
        let NodeValue::Map(kinds) = &value.value else {
            diags.push(wrong_type("authentication", "a map such as `oauth2: {client_id, client_secret}`", value));
            continue;
        };
        for (kind, creds) in kinds {
            if kind.name != "oauth2" {
                diags.push(
                    invalid("authentication", format!("authentication `{}` is not supported", kind.name), &kind.span)
                        .help("use `oauth2: {client_id, client_secret}`"),
                );
                continue;
            }
            let creds = settings(creds, "authentication.oauth2", diags);
            let allowed = ["client_id", "client_secret"];
            check_keys(creds, "authentication.oauth2.", &allowed, "the source's authentication", diags);
            for (k, v) in creds.iter().filter(|(k, _)| allowed.contains(&k.name.as_str())) {
                match scalar(v) {
                    Some(text) => {
                        sets.push((k.name.clone(), text));
                        params.push((k.name.clone(), k.span.clone()));
                    }
                    None => diags.push(wrong_type(&format!("authentication.oauth2.{}", k.name), "a string", v)),
                }
            }
        }
    }
}

/// Processors: only OCSF, and only the version the mappings produce.
fn processors(node: &Node, diags: &mut Diagnostics) {
    for (name, conf) in entries(node, "processor", "- ocsf: {version: \"1.5\"}", diags) {
        if name.name != "ocsf" {
            let help = match did_you_mean(&name.name, ["ocsf"]) {
                Some(s) => format!("did you mean `{s}`?"),
                None => {
                    "the engine maps to OCSF itself: write `- ocsf: {version: \"1.5\"}` or leave `processor` out".into()
                }
            };
            diags.push(
                invalid("processor", format!("processor `{}` is not supported", name.name), &name.span).help(help),
            );
            continue;
        }
        let NodeValue::Map(conf) = &conf.value else { continue };
        for (key, value) in conf.iter().filter(|(k, _)| matches!(k.name.as_str(), "version" | "mapping_version")) {
            let Some(v) = scalar(value) else { continue };
            if OCSF_VERSION != v && OCSF_VERSION.strip_suffix(".0") != Some(v.as_str()) {
                diags.push(
                    invalid(
                        &format!("ocsf.{}", key.name),
                        format!("ocsf {} `{v}` is not supported", key.name),
                        &value.span,
                    )
                    .help(format!("the engine produces OCSF {OCSF_VERSION}")),
                );
            }
        }
    }
}

/// One sink entry.
fn sink(run: &mut PipelineRun, name: &Key, conf: &Node, diags: &mut Diagnostics) {
    let context = format!("the `{}` sink", name.name);
    let required = |key: &str, entries: &[(Key, Node)], diags: &mut Diagnostics| -> Option<String> {
        match entries.iter().find(|(k, _)| k.name == key) {
            Some((_, v)) => {
                let s = scalar(v);
                if s.is_none() {
                    diags.push(wrong_type(&format!("{}.{key}", name.name), "a single value", v));
                }
                s
            }
            None => {
                diags.push(
                    Diagnostic::new(ErrorKind::MissingKey { key: key.into(), context: context.clone() })
                        .at(name.span.clone())
                        .help(format!("`{}` needs `{key}: …`", name.name)),
                );
                None
            }
        }
    };
    match name.name.as_str() {
        "cloudwatch_logs" => {
            let entries = settings(conf, "cloudwatch_logs", diags);
            check_keys(entries, "cloudwatch_logs.", &["log_group"], &context, diags);
            run.log_group = required("log_group", entries, diags);
        }
        "file" => {
            let entries = settings(conf, "file", diags);
            check_keys(entries, "file.", &["path"], &context, diags);
            run.output = required("path", entries, diags).map(PathBuf::from);
        }
        "security_lake" => run.lake = Some(pipeline_lake::decode(conf, diags)),
        other => {
            let help = match did_you_mean(other, SINKS) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "use `- cloudwatch_logs: {log_group: NAME}`, `- security_lake: {bucket, region, account_id}` or `- file: {path: PATH}`".into(),
            };
            diags.push(invalid("sink", format!("sink `{other}` is not supported"), &name.span).help(help));
        }
    }
}

/// The one-line form of a diagnostic, `line:col: message (hint)`, for the single-pipeline
/// path of `engine run`, which prints `file:line:col: …`.
pub fn one_line(d: &Diagnostic) -> String {
    let at = d.span.as_ref().map(|s| format!("{}:{}: ", s.line, s.column)).unwrap_or_default();
    let message = match &d.kind {
        ErrorKind::UnknownKey { key, .. } => format!("unknown key `{key}`"),
        ErrorKind::MissingKey { key, context } => format!("{context} has no `{key}`"),
        ErrorKind::InvalidValue { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    let hint = match d.help.as_deref() {
        Some(h) if h.starts_with("did you mean") => format!(" ({h})"),
        Some(h) => match h.strip_prefix("valid keys here: ") {
            Some(keys) => format!("; expected {keys}"),
            None => format!("; {h}"),
        },
        None => String::new(),
    };
    format!("{at}{message}{hint}")
}
