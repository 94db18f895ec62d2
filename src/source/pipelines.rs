//! Pipeline files of several named pipelines, in the shape Data Prepper users know: each key at
//! the top is a pipeline's name and its value a pipeline body (`source`, optional `processor`,
//! `sink`), checked all at once with located errors. A file whose top has `source` or `sink`
//! holds one unnamed pipeline, as before.

use super::pipeline::{PipelineRun, SINGLE_KEYS, find_spec};
use super::pipeline_decode::{PIPELINE_KEYS, check_keys, decode};
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind, SourceFile, Span};
use crate::yaml::NodeValue;
use std::path::Path;

/// What a file passed to `engine run` or `engine check` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A source spec (or something that is not a pipeline file).
    Spec,
    /// One unnamed pipeline (`source:` and `sink:` at the top).
    Single,
    /// Named pipelines (`NAME: {source, sink}` at the top).
    Many,
}

/// The longest pipeline name.
pub const MAX_NAME: usize = 64;

/// Tells the shapes apart from the keys at the top: a spec has `name`; a single pipeline has
/// `source`, `processor` or `sink`; a file of named pipelines has a map with one of those
/// under some key.
pub fn shape_of(text: &str) -> Shape {
    let options = serde_saphyr::options! { strict_booleans: true };
    let Ok(serde_json::Value::Object(top)) = serde_saphyr::from_str_with_options::<serde_json::Value>(text, options)
    else {
        return Shape::Spec;
    };
    if top.contains_key("name") {
        Shape::Spec
    } else if ["source", "processor", "sink"].iter().any(|k| top.contains_key(*k)) {
        Shape::Single
    } else if top.values().any(|v| PIPELINE_KEYS.iter().any(|k| v.get(k).is_some())) {
        Shape::Many
    } else {
        Shape::Spec
    }
}

/// The shape of the file at `path` ([`Shape::Spec`] when it cannot be read).
pub fn shape(path: &Path) -> Shape {
    std::fs::read_to_string(path).map_or(Shape::Spec, |t| shape_of(&t))
}

/// Whether `name` can name a state directory and a metric label: 1 to 64 ASCII letters,
/// digits, `-`, `_` or `.`, starting with a letter or a digit.
pub fn valid_name(name: &str) -> bool {
    name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// One pipeline of a file: its name (`None` for the single unnamed one) and what it runs.
#[derive(Debug, Clone)]
pub struct NamedPipeline {
    pub name: Option<String>,
    pub run: PipelineRun,
}

/// Where a pipeline's events go, to find two pipelines sharing one.
fn destination(run: &PipelineRun) -> Option<String> {
    if let Some(g) = &run.log_group {
        return Some(format!("CloudWatch Logs log group `{g}`"));
    }
    if let Some(o) = &run.output {
        return Some(format!("file `{}`", o.display()));
    }
    None
}

/// One pipeline of a file as loaded: what it runs, or why it cannot.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub name: Option<String>,
    pub run: Result<PipelineRun, Vec<Diagnostic>>,
}

/// Loads every pipeline of the file at `path` (either shape), each on its own: its body, its
/// name, the parameters its spec does not declare, and a destination another pipeline has
/// already. `Err` holds the problems of the file as a whole (unreadable, not YAML, no pipeline).
pub fn load_each(path: &Path) -> Result<Vec<Loaded>, Vec<Diagnostic>> {
    let file = SourceFile::read(path).map_err(|d| vec![d])?;
    let doc = crate::yaml::parse(&file).map_err(|d| vec![d])?;
    let spec_of = |source: &str| find_spec(source, path);
    let NodeValue::Map(top) = &doc.value else {
        return Err(vec![crate::yaml::wrong_type("the pipeline file", "a map of pipeline names to pipelines", &doc)]);
    };
    let mut out = Vec::new();
    let mut destinations: Vec<(String, Span, String)> = Vec::new();
    let mut finish =
        |name: Option<String>, decoded: Option<super::pipeline_decode::Decoded>, mut diags: Diagnostics| {
            if let Some(decoded) = &decoded {
                check_params(decoded, &mut diags);
                let who = name.clone().unwrap_or_default();
                if let Some(dest) = destination(&decoded.run) {
                    if let Some((_, first, other)) = destinations.iter().find(|(d, _, _)| *d == dest) {
                        diags.push(
                            Diagnostic::new(ErrorKind::InvalidValue {
                                key: "sink".into(),
                                reason: format!("pipelines `{other}` and `{who}` both write to {dest}"),
                            })
                            .at(decoded.sink_span.clone())
                            .note(first.clone(), format!("pipeline `{other}` writes there"))
                            .help("give each pipeline its own destination: their checkpoints and read-backs would mix"),
                        );
                    } else {
                        destinations.push((dest, decoded.sink_span.clone(), who));
                    }
                }
            }
            let run = match decoded {
                Some(d) if diags.is_empty() => Ok(d.run),
                _ => Err(diags.finish(()).err().unwrap_or_default()),
            };
            out.push(Loaded { name, run });
        };
    if shape_of(&file.text) == Shape::Single {
        let mut diags = Diagnostics::default();
        check_keys(top, "", &SINGLE_KEYS, "the pipeline file", &mut diags);
        let decoded = decode(&doc, "the pipeline", &spec_of, &mut diags);
        finish(None, decoded, diags);
        return Ok(out);
    }
    for (key, body) in top {
        if key.name == "version" {
            continue;
        }
        let mut diags = Diagnostics::default();
        if !valid_name(&key.name) {
            diags.push(
                Diagnostic::new(ErrorKind::InvalidValue { key: key.name.clone(), reason: "not a valid pipeline name".into() })
                    .at(key.span.clone())
                    .help(format!(
                        "a pipeline's name names its state directory and its metrics' `pipeline` label: 1 to {MAX_NAME} ASCII letters, digits, `-`, `_` or `.`, starting with a letter or a digit"
                    )),
            );
        }
        let context = format!("pipeline `{}`", key.name);
        let decoded = match &body.value {
            NodeValue::Map(entries) => {
                check_keys(entries, "", &PIPELINE_KEYS, &context, &mut diags);
                decode(body, &context, &spec_of, &mut diags)
            }
            _ => {
                diags.push(crate::yaml::wrong_type(&key.name, "a pipeline (a map with `source` and `sink`)", body));
                None
            }
        };
        finish(Some(key.name.clone()), decoded, diags);
    }
    if out.is_empty() {
        return Err(vec![
            Diagnostic::new(ErrorKind::NotRunnable { reason: "the file names no pipeline".into() })
                .at(doc.span.clone())
                .help("write `NAME: {source: {…}, sink: [{…}]}` for each pipeline"),
        ]);
    }
    Ok(out)
}

/// Loads every pipeline of the file at `path`, or every problem of every pipeline at once.
pub fn load(path: &Path) -> Result<Vec<NamedPipeline>, Vec<Diagnostic>> {
    let mut diags = Diagnostics::default();
    let mut out = Vec::new();
    for loaded in load_each(path)? {
        match loaded.run {
            Ok(run) => out.push(NamedPipeline { name: loaded.name, run }),
            Err(d) => diags.extend(d),
        }
    }
    diags.finish(out)
}

/// Reports the source parameters the pipeline sets that its spec does not declare.
fn check_params(decoded: &super::pipeline_decode::Decoded, diags: &mut Diagnostics) {
    let spec = match super::SourceSpec::load(&decoded.run.spec) {
        Ok(s) => s,
        Err(d) => return diags.extend(d),
    };
    let names: Vec<&str> = spec.params.iter().map(|p| p.name.as_str()).collect();
    for (name, span) in &decoded.params {
        if !names.contains(&name.as_str()) {
            let help = crate::diagnostic::did_you_mean(name, names.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("`{}` takes: {}", spec.name, names.join(", ")));
            diags.push(
                Diagnostic::new(ErrorKind::UnknownKey {
                    key: name.clone(),
                    context: format!("the settings of source `{}`", spec.name),
                })
                .at(span.clone())
                .help(help),
            );
        }
    }
}

/// The pipelines of a file, for messages: `t01, t02 and t03`.
pub fn names(pipelines: &[NamedPipeline]) -> String {
    let names: Vec<&str> = pipelines.iter().filter_map(|p| p.name.as_deref()).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_told_apart_by_their_top_keys() {
        assert_eq!(shape_of("name: entrust_idaas\nstreams: []\n"), Shape::Spec);
        assert_eq!(shape_of("source:\n  entrust_idaas: {}\nsink: []\n"), Shape::Single);
        assert_eq!(shape_of("version: 2\nt01:\n  source: {}\nt02:\n  sink: []\n"), Shape::Many);
        assert_eq!(shape_of("t01:\n  sorce: {}\n"), Shape::Spec);
        assert_eq!(shape_of("- a\n"), Shape::Spec);
        assert_eq!(shape_of("source: [\n"), Shape::Spec);
    }

    #[test]
    fn names_must_be_safe_as_directories_and_labels() {
        for ok in ["t01", "prod-eu", "a.b_c", "X", &"a".repeat(MAX_NAME)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", ".hidden", "-x", "a/b", "a b", "é", "a\"b", &"a".repeat(MAX_NAME + 1)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
