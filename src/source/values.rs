//! Parameter values at run time: `--set` over the spec's default, value references
//! (`${{env:NAME}}`, `${{file:PATH}}`, `${{aws_secrets:<secret name or ARN>:<json key>}}`, the
//! last read through [`crate::aws::secrets`]), and [`Secret`], which never shows its value in
//! `Debug` or `Display`. A parameter whose value comes from AWS Secrets Manager is a secret
//! even when the spec does not mark it so.

use std::collections::BTreeMap;
use std::fmt;

/// A value that must never be printed, logged or stored. `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// One resolved parameter value.
#[derive(Clone, PartialEq, Eq)]
pub enum ParamValue {
    Plain(String),
    Secret(Secret),
}

impl ParamValue {
    pub fn expose(&self) -> &str {
        match self {
            ParamValue::Plain(s) => s,
            ParamValue::Secret(s) => s.expose(),
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, ParamValue::Secret(_))
    }
}

impl fmt::Debug for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Plain(s) => write!(f, "{s:?}"),
            ParamValue::Secret(s) => write!(f, "{s:?}"),
        }
    }
}

/// Resolved parameters. Secrets stay wrapped; [`Params::public`] gives what mappings may see.
#[derive(Clone, Default, Debug)]
pub struct Params(pub BTreeMap<String, ParamValue>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.get(name)
    }

    /// Every parameter that is not a secret, as mappings take them; secrets are `None`.
    pub fn public(&self) -> BTreeMap<String, Option<String>> {
        self.0
            .iter()
            .map(|(k, v)| (k.clone(), if v.is_secret() { None } else { Some(v.expose().to_string()) }))
            .collect()
    }

    /// Every value, secrets included, for request templates only.
    pub fn exposed(&self) -> BTreeMap<String, String> {
        self.0.iter().map(|(k, v)| (k.clone(), v.expose().to_string())).collect()
    }

    /// Every secret value, so that error messages quoting a server can be scrubbed.
    pub fn secret_values(&self) -> Vec<String> {
        self.0.values().filter(|v| v.is_secret()).map(|v| v.expose().to_string()).filter(|s| !s.is_empty()).collect()
    }
}

/// Why a value reference could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// A reference the engine knows but cannot resolve yet (`aws_secrets`).
    Unsupported { scheme: String },
    /// Anything else: a missing variable, an unreadable file, a malformed reference.
    Failed(String),
}

/// Replaces every `${{scheme:arg}}` in `value`.
pub fn resolve_refs(value: &str) -> Result<String, RefError> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after.find("}}").ok_or_else(|| RefError::Failed("`${{` is not closed by `}}`".into()))?;
        let inner = after[..end].trim();
        let (scheme, arg) = inner
            .split_once(':')
            .ok_or_else(|| RefError::Failed(format!("`${{{{{inner}}}}}` names no kind (env, file, aws_secrets)")))?;
        let arg = arg.trim();
        let resolved = match scheme.trim() {
            "env" => std::env::var(arg).map_err(|_| {
                RefError::Failed(format!(
                    "environment variable `{arg}` is not set (referenced as `${{{{env:{arg}}}}}`)"
                ))
            })?,
            "file" => {
                let text = std::fs::read_to_string(arg).map_err(|e| {
                    RefError::Failed(format!("cannot read `{arg}` (referenced as `${{{{file:…}}}}`): {e}"))
                })?;
                text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text).to_string()
            }
            "aws_secrets" => crate::aws::secrets::resolve_blocking(arg)
                .map(|secret| secret.expose().to_string())
                .map_err(|e| RefError::Failed(e.to_string()))?,
            other => {
                return Err(RefError::Failed(format!(
                    "unknown reference kind `{other}`; use `${{{{env:NAME}}}}`, `${{{{file:PATH}}}}` or `${{{{aws_secrets:NAME:KEY}}}}`"
                )));
            }
        };
        out.push_str(&resolved);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parameter values for `engine run`: `--set` over the spec's default (never its example),
/// value references resolved, secrets wrapped. A required parameter without a value is an
/// error whose help says how to give one (`extra_help` is appended, e.g. "or use --simulate").
pub fn run_params(
    spec: &super::SourceSpec,
    sets: &[(String, String)],
    extra_help: Option<&str>,
) -> Result<Params, Vec<crate::diagnostic::Diagnostic>> {
    use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind};
    // Unknown names are reported the same way as offline.
    spec.offline_params(sets)?;
    let mut diags = Diagnostics::default();
    let mut out = BTreeMap::new();
    for p in &spec.params {
        let given = sets.iter().rev().find(|(k, _)| k == &p.name).map(|(_, v)| v.clone());
        let Some(raw) = given.or_else(|| p.default.clone()) else {
            if p.required {
                let placeholder = p.hint();
                let mut help = format!("pass --set {}={placeholder}", p.name);
                if p.secret {
                    // Quoted, so that the hint pastes into a shell as written.
                    let n = &p.name;
                    help.push_str(&format!(
                        " (or --set '{n}=${{{{env:NAME}}}}', --set '{n}=${{{{file:PATH}}}}' or \
                         --set '{n}=${{{{aws_secrets:NAME:KEY}}}}')"
                    ));
                }
                if let Some(extra) = extra_help {
                    help.push_str(", ");
                    help.push_str(extra);
                }
                diags.push(
                    Diagnostic::new(ErrorKind::RequiredParam { name: p.name.clone() }).at(p.span.clone()).help(help),
                );
            }
            continue;
        };
        match resolve_refs(&raw) {
            Ok(v) if p.format.and_then(|f| f.problem(&v)).is_some() => {
                let reason = p.format.and_then(|f| f.problem(&v)).unwrap_or_default();
                let placeholder = p.hint();
                diags.push(
                    Diagnostic::new(ErrorKind::BadParamValue { name: p.name.clone(), reason })
                        .at(p.span.clone())
                        .help(format!("pass --set {}={placeholder}", p.name)),
                );
            }
            Ok(v) => {
                let from_secrets_manager = raw.contains("aws_secrets:");
                let v = if p.secret || from_secrets_manager {
                    ParamValue::Secret(Secret::new(v))
                } else {
                    ParamValue::Plain(v)
                };
                out.insert(p.name.clone(), v);
            }
            Err(RefError::Unsupported { scheme }) => diags.push(
                Diagnostic::new(ErrorKind::UnsupportedValueRef { name: p.name.clone(), scheme })
                    .help("use `${{env:NAME}}` or `${{file:PATH}}` for now"),
            ),
            Err(RefError::Failed(reason)) => {
                diags.push(Diagnostic::new(ErrorKind::BadValueRef { name: p.name.clone(), reason }))
            }
        }
    }
    diags.finish(Params(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        let p = ParamValue::Secret(s.clone());
        assert_eq!(format!("{p:?}"), "***");
        let params = Params([("client_secret".to_string(), p), ("host".into(), ParamValue::Plain("h".into()))].into());
        let dbg = format!("{params:?}");
        assert!(!dbg.contains("hunter2") && dbg.contains("***") && dbg.contains("\"h\""), "{dbg}");
        assert_eq!(params.public()["client_secret"], None);
        assert_eq!(params.public()["host"].as_deref(), Some("h"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn env_and_file_references() {
        // SAFETY: the variable name is unique to this test.
        unsafe { std::env::set_var("OCSF_ENGINE_VALUES_TEST", "abc") };
        assert_eq!(resolve_refs("x-${{env:OCSF_ENGINE_VALUES_TEST}}-y").as_deref(), Ok("x-abc-y"));
        assert_eq!(resolve_refs("plain").as_deref(), Ok("plain"));
        let dir = std::env::temp_dir().join(format!("values-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret.txt");
        std::fs::write(&file, "s3cr3t\n").unwrap();
        assert_eq!(resolve_refs(&format!("${{{{file:{}}}}}", file.display())).as_deref(), Ok("s3cr3t"));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            matches!(resolve_refs("${{env:OCSF_ENGINE_SURELY_UNSET}}"), Err(RefError::Failed(m)) if m.contains("not set"))
        );
        assert!(matches!(resolve_refs("${{file:/nonexistent/x}}"), Err(RefError::Failed(_))));
        assert!(
            matches!(resolve_refs("${{vault:x}}"), Err(RefError::Failed(m)) if m.contains("unknown reference kind"))
        );
        assert!(matches!(resolve_refs("${{env:X"), Err(RefError::Failed(_))));
        // A malformed Secrets Manager reference fails before any call.
        assert!(matches!(resolve_refs("${{aws_secrets:name:}}"), Err(RefError::Failed(m)) if m.contains("empty key")));
    }
}
