//! Source specs (`sources/*.yaml`): the data that describes one SaaS source — its name, its
//! parameters, and where its mapping rules live.

use super::auth::{self, AuthSpec};
use super::stream::{self, StreamSpec};
use super::template::Template;
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind, SourceFile, Span, did_you_mean};
use crate::yaml::{MapReader, Node, NodeValue, wrong_type};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) const SPEC_KEYS: &[&str] = &["name", "description", "mappings", "params", "base_url", "auth", "streams"];
pub(crate) const PARAM_KEYS: &[&str] =
    &["description", "required", "secret", "default", "example", "placeholder", "format"];

/// A loaded source spec.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub name: String,
    pub description: Option<String>,
    pub path: PathBuf,
    /// The mapping directory, resolved against the spec file's directory.
    pub mappings: PathBuf,
    pub params: Vec<ParamSpec>,
    /// Where the API lives: a template over `params` (e.g. `https://{{ params.hostname }}`).
    pub base_url: Option<(Template, Span)>,
    /// How requests are authenticated; `None` when the API needs no auth.
    pub auth: Option<AuthSpec>,
    /// What `engine run` pulls. A spec without streams can only map offline.
    pub streams: Vec<StreamSpec>,
}

/// One declared parameter.
#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub name: String,
    pub description: Option<String>,
    /// `engine run` refuses to start without a value.
    pub required: bool,
    /// The value is a credential: never printed, logged or stored.
    pub secret: bool,
    pub default: Option<String>,
    /// A sample value used offline (`engine map`, `engine check`) when none is given.
    pub example: Option<String>,
    /// What to write after `--set name=` in help text (e.g. `<tenant>.<region>.trustedauth.com`).
    pub placeholder: Option<String>,
    /// A shape the value must have (`hostname`: a bare host name, optionally with a port).
    pub format: Option<ParamFormat>,
    pub span: Span,
}

impl ParamSpec {
    /// What to write after `--set name=` in help texts: the placeholder, else the example.
    pub fn hint(&self) -> String {
        self.placeholder.clone().or_else(|| self.example.clone()).unwrap_or_else(|| "VALUE".into())
    }
}

impl SourceSpec {
    /// Reads and checks a spec file.
    pub fn load(path: &Path) -> Result<SourceSpec, Vec<Diagnostic>> {
        let file = SourceFile::read(path).map_err(|d| vec![d])?;
        let root = crate::yaml::parse(&file).map_err(|d| vec![d])?;
        let mut diags = Diagnostics::default();
        let spec = decode(path, &root, &mut diags);
        diags
            .finish(spec)?
            .ok_or_else(|| vec![Diagnostic::new(ErrorKind::BadSpec { reason: "the spec could not be read".into() })])
    }

    /// Parameter values for offline use: `--set` first, then the default, then the example.
    pub fn offline_params(
        &self,
        sets: &[(String, String)],
    ) -> Result<BTreeMap<String, Option<String>>, Vec<Diagnostic>> {
        let mut diags = Diagnostics::default();
        let mut values: BTreeMap<String, Option<String>> =
            self.params.iter().map(|p| (p.name.clone(), p.default.clone().or_else(|| p.example.clone()))).collect();
        for (key, value) in sets {
            match values.get_mut(key) {
                Some(slot) => {
                    let param = self.params.iter().find(|p| &p.name == key);
                    if let Some(reason) = param.and_then(|p| p.format).and_then(|f| f.problem(value)) {
                        let placeholder = param.map_or_else(|| "VALUE".into(), ParamSpec::hint);
                        diags.push(
                            Diagnostic::new(ErrorKind::BadParamValue { name: key.clone(), reason })
                                .at_opt(param.map(|p| p.span.clone()))
                                .help(format!("pass --set {key}={placeholder}")),
                        );
                    }
                    *slot = Some(value.clone());
                }
                None => {
                    let help = did_you_mean(key, self.params.iter().map(|p| p.name.as_str()))
                        .map(|n| format!("did you mean `{n}`?"));
                    diags.push(Diagnostic::new(ErrorKind::UnknownParam { name: key.clone() }).help_opt(
                        help.or_else(|| Some(format!("`{}` declares: {}", self.path.display(), self.param_names()))),
                    ));
                }
            }
        }
        diags.finish(values)
    }

    fn param_names(&self) -> String {
        self.params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// The shape a parameter's value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamFormat {
    /// A bare DNS name or IP address, optionally with `:port`: no scheme, path or user info,
    /// so that a value cannot point requests (and credentials) somewhere unintended.
    Hostname,
}

impl ParamFormat {
    /// Every format's name, as written in a spec.
    pub const NAMES: &'static [&'static str] = &["hostname"];

    /// Why `value` does not have this shape, if it does not.
    pub fn problem(self, value: &str) -> Option<String> {
        match self {
            ParamFormat::Hostname => {
                if value.starts_with('[') {
                    let ok = value.parse::<std::net::SocketAddr>().is_ok()
                        || value.trim_start_matches('[').trim_end_matches(']').parse::<std::net::Ipv6Addr>().is_ok();
                    return (!ok).then(|| format!("`{value}` is not a host name"));
                }
                if value.contains("://") {
                    return Some("give the host name alone, without a scheme (`https://`)".into());
                }
                if value.contains(['/', '?', '#']) {
                    return Some("give the host name alone, without a path".into());
                }
                if value.contains('@') {
                    return Some("give the host name alone, without user information (`user@`)".into());
                }
                let (host, port) = match value.rsplit_once(':') {
                    Some((h, p)) if !h.contains(':') => (h, Some(p)),
                    _ => (value, None),
                };
                if port.is_some_and(|p| p.parse::<u16>().is_err()) {
                    return Some("the port after `:` must be a number up to 65535".into());
                }
                let label_ok = |l: &str| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                };
                if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
                    return Some(format!("`{value}` is not a host name"));
                }
                None
            }
        }
    }
}

/// Parses `KEY=VALUE` arguments of `--set`; malformed ones are reported and skipped.
pub fn parse_sets(args: &[String], diags: &mut Diagnostics) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for arg in args {
        match arg.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => out.push((k.trim().to_string(), v.to_string())),
            _ => diags.push(
                Diagnostic::new(ErrorKind::BadSetArg { arg: arg.clone() })
                    .help("for example `--set hostname=example.us.trustedauth.com`"),
            ),
        }
    }
    out
}

fn decode(path: &Path, root: &Node, diags: &mut Diagnostics) -> Option<SourceSpec> {
    let r = MapReader::new(root, "a source spec", SPEC_KEYS, diags)?;
    let name = r.str("name", diags);
    if name.is_none() && !r.has("name") {
        diags.push(r.missing("name").help("name the source, e.g. `name: entrust_idaas`"));
    }
    let description = r.str("description", diags).map(|(d, _)| d);
    let mappings = match r.str("mappings", diags) {
        Some((m, span)) => {
            let dir = normalize(&path.parent().unwrap_or(Path::new("")).join(&m));
            if !dir.is_dir() {
                diags.push(
                    Diagnostic::new(ErrorKind::InvalidValue {
                        key: "mappings".into(),
                        reason: format!("`{}` is not a directory", dir.display()),
                    })
                    .at(span)
                    .help("the path is relative to the spec file"),
                );
            }
            Some(dir)
        }
        None => {
            if !r.has("mappings") {
                diags.push(
                    r.missing("mappings").help("point at the mapping directory, e.g. `mappings: ../mappings/entrust`"),
                );
            }
            None
        }
    };
    let mut params = Vec::new();
    if let Some(entries) = r.map("params", diags) {
        for (key, node) in entries {
            if let Some(p) = decode_param(&key.name, key.span.clone(), node, diags) {
                params.push(p);
            }
        }
    }
    let base_url = r.node("base_url").and_then(|n| match &n.value {
        NodeValue::Str(_) => Some((Template::decode(n, diags), n.span.clone())),
        _ => {
            diags.push(wrong_type("base_url", "a string", n));
            None
        }
    });
    let auth = r.node("auth").and_then(|n| auth::decode(n, diags));
    let mut streams = Vec::new();
    if let Some(entries) = r.map("streams", diags) {
        for (key, node) in entries {
            if let Some(s) = stream::decode(&key.name, key.span.clone(), node, diags) {
                if let Some(l) = &s.lookback
                    && !params.iter().any(|p: &ParamSpec| p.name == l.param)
                {
                    diags.push(
                        Diagnostic::new(ErrorKind::UnknownParam { name: l.param.clone() })
                            .at(l.span.clone())
                            .help("declare it under `params`"),
                    );
                }
                streams.push(s);
            }
        }
    }
    if !streams.is_empty() && base_url.is_none() && !r.has("base_url") {
        diags.push(
            r.missing("base_url").help("where the API lives, e.g. `base_url: \"https://{{ params.hostname }}\"`"),
        );
    }
    Some(SourceSpec {
        name: name?.0,
        description,
        path: path.to_path_buf(),
        mappings: mappings?,
        params,
        base_url,
        auth,
        streams,
    })
}

fn decode_param(name: &str, span: Span, node: &Node, diags: &mut Diagnostics) -> Option<ParamSpec> {
    let context = format!("parameter `{name}`");
    let r = MapReader::new(node, context, PARAM_KEYS, diags)?;
    let scalar = |key: &str, diags: &mut Diagnostics| -> Option<String> {
        let node = r.node(key)?;
        match &node.value {
            NodeValue::Str(s) => Some(s.clone()),
            NodeValue::Int(i) => Some(i.to_string()),
            NodeValue::Float(f) => Some(f.to_string()),
            NodeValue::Bool(b) => Some(b.to_string()),
            _ => {
                diags.push(wrong_type(key, "a string", node));
                None
            }
        }
    };
    let param = ParamSpec {
        name: name.to_string(),
        description: r.str("description", diags).map(|(d, _)| d),
        required: r.bool("required", diags).unwrap_or(false),
        secret: r.bool("secret", diags).unwrap_or(false),
        default: scalar("default", diags),
        example: scalar("example", diags),
        placeholder: r.str("placeholder", diags).map(|(p, _)| p),
        format: r.str("format", diags).and_then(|(f, span)| match f.as_str() {
            "hostname" => Some(ParamFormat::Hostname),
            other => {
                diags.push(
                    Diagnostic::new(ErrorKind::InvalidValue {
                        key: "format".into(),
                        reason: format!("`{other}` is not a format this engine checks"),
                    })
                    .at(span)
                    .help(format!("formats: {}", ParamFormat::NAMES.join(", "))),
                );
                None
            }
        }),
        span,
    };
    if param.required && param.default.is_some() {
        diags.push(
            Diagnostic::new(ErrorKind::ConflictingKeys {
                first: "required".into(),
                second: "default".into(),
                context: format!("parameter `{name}`"),
            })
            .at(r.entry("default").map(|(k, _)| k.span.clone()).unwrap_or_else(|| param.span.clone()))
            .help("a parameter with a default is never missing; use `example` for a sample value"),
        );
    }
    if param.secret && (param.default.is_some() || param.example.is_some()) {
        diags.push(
            Diagnostic::new(ErrorKind::InvalidValue {
                key: name.to_string(),
                reason: "a secret parameter cannot carry a value in the spec".into(),
            })
            .at(param.span.clone())
            .help("reference it at run time instead: `--set 'name=${{aws_secrets:NAME:KEY}}'`"),
        );
    }
    Some(param)
}

/// Removes `.` and `name/..` pairs from a path without touching the file system, so that
/// messages say `mappings/entrust/x.yaml` rather than `sources/../mappings/entrust/x.yaml`.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() { PathBuf::from(".") } else { out.iter().collect() }
}

#[cfg(test)]
mod tests {
    use super::ParamFormat;

    #[test]
    fn host_names_are_bare() {
        let h = ParamFormat::Hostname;
        for ok in ["acme.us.trustedauth.com", "127.0.0.1:8443", "localhost", "[::1]:9000", "[2001:db8::1]"] {
            assert_eq!(h.problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("https://acme.us.trustedauth.com", "scheme"),
            ("acme.us.trustedauth.com/api", "path"),
            ("admin@acme.us.trustedauth.com", "user information"),
            ("acme.us.trustedauth.com:https", "port"),
            ("acme..com", "not a host name"),
            ("-acme.com", "not a host name"),
            ("", "not a host name"),
        ] {
            let problem = h.problem(bad).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(problem.contains(why), "{bad}: {problem}");
        }
    }

    use super::normalize;
    use std::path::Path;

    #[test]
    fn paths_are_normalized_lexically() {
        assert_eq!(normalize(Path::new("sources/../mappings/entrust")), Path::new("mappings/entrust"));
        assert_eq!(normalize(Path::new("./a/./b")), Path::new("a/b"));
        assert_eq!(normalize(Path::new("../x")), Path::new("../x"));
        assert_eq!(normalize(Path::new("a/..")), Path::new("."));
        assert_eq!(normalize(Path::new("/etc/../tmp")), Path::new("/tmp"));
    }
}
