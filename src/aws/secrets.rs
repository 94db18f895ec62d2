//! `${{aws_secrets:<secret name or ARN>:<json key>}}`: values read from AWS Secrets Manager
//! with the default credential chain, one GetSecretValue per secret, cached for the process.
//!
//! The secret's value must be a JSON object (`{"client_id": "…", "client_secret": "…"}`); the
//! key picks one of its members. Without a key (`${{aws_secrets:NAME}}`) the whole secret
//! string is the value. Values are held as [`Secret`] and never appear in errors or logs.
//! [`Resolver::forget`] drops a cached secret so that the next lookup reads it again (after a
//! rotation).

use crate::source::values::Secret;
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// A parsed reference: the secret and, optionally, the JSON key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub id: String,
    pub key: Option<String>,
}

impl SecretRef {
    /// Parses what follows `aws_secrets:`. The key is after the last `:`; a full secret ARN
    /// (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`) has six colons of its own.
    pub fn parse(arg: &str) -> Result<SecretRef, SecretError> {
        let arg = arg.trim();
        let bad = |why: &str| {
            SecretError::Invalid(format!(
                "`${{{{aws_secrets:{arg}}}}}` {why}; write `${{{{aws_secrets:<secret name or ARN>:<json key>}}}}`"
            ))
        };
        let (id, key) = if arg.starts_with("arn:") {
            let parts = arg.split(':').count();
            match parts {
                7 => (arg, None),
                8 => arg.rsplit_once(':').map(|(i, k)| (i, Some(k))).ok_or_else(|| bad("is malformed"))?,
                _ => return Err(bad("is not a Secrets Manager ARN")),
            }
        } else {
            match arg.rsplit_once(':') {
                Some((i, k)) => (i, Some(k)),
                None => (arg, None),
            }
        };
        if id.trim().is_empty() {
            return Err(bad("names no secret"));
        }
        if key.is_some_and(|k| k.trim().is_empty()) {
            return Err(bad("has an empty key"));
        }
        Ok(SecretRef { id: id.trim().to_string(), key: key.map(|k| k.trim().to_string()) })
    }

    /// The region of an ARN reference.
    pub fn region(&self) -> Option<&str> {
        self.id.strip_prefix("arn:").and_then(|r| r.split(':').nth(2)).filter(|r| !r.is_empty())
    }
}

/// Why a secret reference could not be resolved. No variant carries a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("{0}")]
    Invalid(String),
    #[error("AWS Secrets Manager has no secret `{0}` (or it is scheduled for deletion)")]
    NotFound(String),
    #[error("secret `{id}` has no key `{key}`; its keys are: {}", if keys.is_empty() { "(none)".to_string() } else { keys.join(", ") })]
    MissingKey { id: String, key: String, keys: Vec<String> },
    #[error(
        "secret `{0}` is not a JSON object, so a key cannot be picked from it; store it as {{\"key\": \"value\", …}}"
    )]
    NotJson(String),
    #[error("secret `{id}`: key `{key}` holds {kind}, not a string or number")]
    NotAString { id: String, key: String, kind: &'static str },
    #[error("secret `{0}` holds no text (a binary secret)")]
    Binary(String),
    #[error(
        "no AWS credentials to read secret `{0}`: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an instance or task role"
    )]
    NoCredentials(String),
    #[error("no AWS region to read secret `{0}`: set AWS_REGION, or refer to the secret by its ARN")]
    NoRegion(String),
    #[error("AWS Secrets Manager refused access to secret `{id}`: {message}")]
    AccessDenied { id: String, message: String },
    #[error("cannot read secret `{id}` from AWS Secrets Manager: {message}")]
    Service { id: String, message: String },
}

/// Picks `key` out of a secret's string.
pub fn extract(id: &str, key: Option<&str>, secret: &Secret) -> Result<Secret, SecretError> {
    let Some(key) = key else { return Ok(secret.clone()) };
    let doc: serde_json::Value = serde_json::from_str(secret.expose()).map_err(|_| SecretError::NotJson(id.into()))?;
    let serde_json::Value::Object(map) = doc else { return Err(SecretError::NotJson(id.into())) };
    match map.get(key) {
        None => Err(SecretError::MissingKey { id: id.into(), key: key.into(), keys: map.keys().cloned().collect() }),
        Some(serde_json::Value::String(s)) => Ok(Secret::new(s.clone())),
        Some(serde_json::Value::Number(n)) => Ok(Secret::new(n.to_string())),
        Some(serde_json::Value::Bool(b)) => Ok(Secret::new(b.to_string())),
        Some(other) => Err(SecretError::NotAString {
            id: id.into(),
            key: key.into(),
            kind: match other {
                serde_json::Value::Null => "null",
                serde_json::Value::Array(_) => "a list",
                _ => "an object",
            },
        }),
    }
}

fn classify<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    id: &str,
    err: SdkError<E, R>,
) -> SecretError {
    let text = format!("{}", DisplayErrorContext(&err));
    match err.code() {
        Some("ResourceNotFoundException") => SecretError::NotFound(id.into()),
        Some("AccessDeniedException") => {
            SecretError::AccessDenied { id: id.into(), message: err.message().unwrap_or("access denied").into() }
        }
        Some("UnrecognizedClientException" | "InvalidClientTokenId" | "InvalidSignatureException") => {
            SecretError::NoCredentials(id.into())
        }
        Some(code) => {
            SecretError::Service { id: id.into(), message: format!("{code}: {}", err.message().unwrap_or("")) }
        }
        None if text.to_ascii_lowercase().contains("credential") => SecretError::NoCredentials(id.into()),
        None if text.to_ascii_lowercase().contains("region") => SecretError::NoRegion(id.into()),
        None => SecretError::Service { id: id.into(), message: text },
    }
}

/// Reads secrets, once each.
pub struct Resolver {
    /// `None`: the default chain, loaded per lookup (with the ARN's region when it has one).
    config: Option<SdkConfig>,
    /// Failures are kept too, so that a secret is asked for once however many values use it.
    cache: Mutex<HashMap<String, Result<Secret, SecretError>>>,
    calls: AtomicUsize,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").field("calls", &self.calls()).finish_non_exhaustive()
    }
}

impl Resolver {
    /// Reads with `config` (tests pass one pointing at a local endpoint).
    pub fn new(config: SdkConfig) -> Self {
        Resolver { config: Some(config), cache: Mutex::new(HashMap::new()), calls: AtomicUsize::new(0) }
    }

    /// Reads with the default credential chain and the environment's endpoint and region.
    pub fn from_environment() -> Self {
        Resolver { config: None, cache: Mutex::new(HashMap::new()), calls: AtomicUsize::new(0) }
    }

    /// GetSecretValue calls made so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// Drops the cached value of secret `id`, so that the next lookup reads it again.
    pub fn forget(&self, id: &str) {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// Drops every cached secret.
    pub fn forget_all(&self) {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The value of a reference (what follows `aws_secrets:`).
    pub async fn get(&self, reference: &str) -> Result<Secret, SecretError> {
        let r = SecretRef::parse(reference)?;
        let cached = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(&r.id).cloned();
        let whole = match cached {
            Some(s) => s?,
            None => {
                let s = self.fetch(&r).await;
                self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(r.id.clone(), s.clone());
                s?
            }
        };
        extract(&r.id, r.key.as_deref(), &whole)
    }

    async fn fetch(&self, r: &SecretRef) -> Result<Secret, SecretError> {
        let config = match &self.config {
            Some(c) if c.region().is_some() || r.region().is_none() => c.clone(),
            Some(c) => {
                c.to_builder().region(aws_config::Region::new(r.region().unwrap_or_default().to_string())).build()
            }
            None => super::load_config(r.region()).await,
        };
        if config.region().is_none() {
            return Err(SecretError::NoRegion(r.id.clone()));
        }
        let client = Client::new(&config);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = client.get_secret_value().secret_id(&r.id).send().await.map_err(|e| classify(&r.id, e))?;
        match out.secret_string() {
            Some(s) => Ok(Secret::new(s)),
            None => Err(SecretError::Binary(r.id.clone())),
        }
    }
}

/// The process-wide resolver `${{aws_secrets:…}}` references use.
pub fn global() -> &'static Resolver {
    static GLOBAL: OnceLock<Resolver> = OnceLock::new();
    GLOBAL.get_or_init(Resolver::from_environment)
}

/// Resolves a reference from synchronous code (parameter resolution), on a thread of its
/// own so that it works inside and outside an async runtime.
pub fn resolve_blocking(reference: &str) -> Result<Secret, SecretError> {
    // Parse first: a malformed reference needs no thread.
    SecretRef::parse(reference)?;
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
                SecretError::Service { id: reference.into(), message: format!("cannot start a runtime: {e}") }
            })?;
            rt.block_on(global().get(reference))
        });
        worker.join().unwrap_or_else(|_| {
            Err(SecretError::Service { id: reference.into(), message: "the lookup thread failed".into() })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_names_and_arns() {
        let p = |s: &str| SecretRef::parse(s);
        assert_eq!(
            p("prod/entrust:client_id").unwrap(),
            SecretRef { id: "prod/entrust".into(), key: Some("client_id".into()) }
        );
        assert_eq!(p("just-a-name").unwrap(), SecretRef { id: "just-a-name".into(), key: None });
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:entrust-AbCdEf";
        let r = p(&format!("{arn}:client_secret")).unwrap();
        assert_eq!(r, SecretRef { id: arn.into(), key: Some("client_secret".into()) });
        assert_eq!(r.region(), Some("eu-west-1"));
        assert_eq!(p(arn).unwrap().key, None);
        assert_eq!(p("name:key").unwrap().region(), None);
        for bad in ["", ":key", "name:", "arn:aws:secretsmanager:x"] {
            assert!(matches!(p(bad), Err(SecretError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn keys_are_picked_from_json_and_errors_never_show_values() {
        let s = Secret::new(r#"{"client_id":"abc","client_secret":"hunter2","n":7,"o":{}}"#);
        assert_eq!(extract("x", Some("client_id"), &s).unwrap().expose(), "abc");
        assert_eq!(extract("x", Some("n"), &s).unwrap().expose(), "7");
        assert_eq!(extract("x", None, &s).unwrap().expose(), s.expose());
        let e = extract("x", Some("password"), &s).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("no key `password`") && text.contains("client_secret"), "{text}");
        assert!(!text.contains("hunter2") && !format!("{e:?}").contains("hunter2"));
        assert!(matches!(extract("x", Some("o"), &s), Err(SecretError::NotAString { .. })));
        let plain = Secret::new("hunter2");
        let e = extract("x", Some("k"), &plain).unwrap_err();
        assert_eq!(e, SecretError::NotJson("x".into()));
        assert!(!e.to_string().contains("hunter2"));
        assert_eq!(extract("x", Some("k"), &Secret::new("[1]")).unwrap_err(), SecretError::NotJson("x".into()));
    }
}
