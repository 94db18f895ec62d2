//! Tenants by host name: every distinct name a request is sent to (its `Host` header, port
//! stripped, in lower case) is a tenant of its own, generated from the simulator's seed and that
//! name on the first request for it, so the same name gives the same tenant. An IP address,
//! `localhost` or no `Host` at all reach the default tenant, the one the configuration
//! describes.
//!
//! A named tenant holds still, so that its ground truth (`GET /__sim/ids` sent with its `Host`)
//! is what a client that catches up must deliver: its records end [`NAMED_SETTLE`] before the
//! simulator started (or at the configured end time), and its logins are not recorded as audit
//! records. Each has its own records, tokens and fault schedule (the same fault kinds and rate
//! as the default tenant); `hold_requests` holds the default tenant's requests only. A named
//! tenant is created on its first request: one of at most 20,000 records is generated then, a
//! larger one chunk by chunk as pages need them (`chunks.rs`, a few chunks kept each), so
//! memory grows with the number of tenants asked for (at most [`MAX_TENANTS`]), not with
//! their size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use hyper::HeaderMap;
use hyper::header::HOST;

use super::config::SimConfig;
use super::rng::{hash_str, mix64};
use super::server::Shared;
use super::tenant::Tenant;

/// The most named tenants one simulator serves.
pub const MAX_TENANTS: usize = 1000;
/// How long before the simulator's start a named tenant's records end (past any settle delay).
pub const NAMED_SETTLE: Duration = Duration::from_secs(300);

/// Why a request names no tenant the simulator can serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// Not a DNS name.
    Invalid(String),
    /// [`MAX_TENANTS`] reached.
    TooMany,
    /// The tenant could not be generated.
    Failed(String),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Invalid(h) => write!(f, "`{h}` is not a host name this simulator serves"),
            HostError::TooMany => write!(f, "this simulator serves at most {MAX_TENANTS} tenants"),
            HostError::Failed(e) => write!(f, "the tenant could not be generated: {e}"),
        }
    }
}

/// The named tenant a `Host` value stands for: `None` for the default tenant.
pub fn tenant_name(host: Option<&str>) -> Result<Option<String>, HostError> {
    let Some(host) = host.map(str::trim).filter(|h| !h.is_empty()) else { return Ok(None) };
    // `[::1]:8080`, `127.0.0.1:8080`, `name:8080`, or without the port.
    if host.starts_with('[') {
        return Ok(None);
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.parse::<std::net::IpAddr>().is_ok() {
        return Ok(None);
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(HostError::Invalid(super::time::truncate_for_message(host)));
    }
    Ok(Some(name))
}

/// The configuration of the tenant named `name`: the default's, with a seed of its own and
/// records that hold still.
pub fn named_config(base: &SimConfig, started: SystemTime, name: &str) -> SimConfig {
    SimConfig {
        seed: mix64(base.seed ^ hash_str(name)),
        login_events: false,
        end_time: Some(base.end_time.unwrap_or(started - NAMED_SETTLE)),
        ..base.clone()
    }
}

/// The default tenant and the named ones asked for so far.
#[derive(Debug)]
pub struct Hosts {
    pub default: Arc<Shared>,
    started: SystemTime,
    named: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Arc<Shared>>>>>,
}

impl Hosts {
    pub fn new(default: Arc<Shared>) -> Self {
        Hosts { default, started: SystemTime::now(), named: Mutex::new(HashMap::new()) }
    }

    /// The tenant a request with these headers is for, created on the first request for it.
    pub async fn for_headers(&self, headers: &HeaderMap) -> Result<Arc<Shared>, HostError> {
        let host = headers.get(HOST).and_then(|h| h.to_str().ok());
        match tenant_name(host)? {
            None => Ok(Arc::clone(&self.default)),
            Some(name) => self.named(&name).await,
        }
    }

    /// The tenant named `name`.
    pub async fn named(&self, name: &str) -> Result<Arc<Shared>, HostError> {
        let cell = {
            let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
            if !named.contains_key(name) && named.len() >= MAX_TENANTS {
                return Err(HostError::TooMany);
            }
            Arc::clone(named.entry(name.to_string()).or_default())
        };
        let shared = cell
            .get_or_try_init(|| async {
                let config = named_config(&self.default.config, self.started, name);
                let generated = {
                    let config = config.clone();
                    tokio::task::spawn_blocking(move || Tenant::generate(&config)).await
                };
                let tenant = generated.map_err(|e| HostError::Failed(e.to_string()))?;
                let mut shared = Shared::new(config, tenant);
                shared.elsewhere = self.default.elsewhere;
                Ok::<_, HostError>(Arc::new(shared))
            })
            .await?;
        Ok(Arc::clone(shared))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_header_names_a_tenant_or_the_default() {
        let named = |h: &str| tenant_name(Some(h));
        assert_eq!(named("t01.example.trustedauth.com:8443"), Ok(Some("t01.example.trustedauth.com".into())));
        assert_eq!(named("T01.Example.TrustedAuth.com."), Ok(Some("t01.example.trustedauth.com".into())));
        for default in ["127.0.0.1:9000", "127.0.0.1", "[::1]:9000", "localhost:80", "LOCALHOST", " "] {
            assert_eq!(named(default), Ok(None), "{default}");
        }
        assert_eq!(tenant_name(None), Ok(None));
        for bad in ["a_b.example.com", "-a.example.com", "a..b", "a b", &format!("{}.com", "a".repeat(64))] {
            assert!(matches!(named(bad), Err(HostError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn a_named_tenant_has_a_seed_of_its_own_and_holds_still() {
        let base = SimConfig::default();
        let started = SystemTime::now();
        let a = named_config(&base, started, "t01.example.trustedauth.com");
        let b = named_config(&base, started, "t02.example.trustedauth.com");
        assert_ne!(a.seed, b.seed);
        assert_eq!(a.seed, named_config(&base, started, "t01.example.trustedauth.com").seed);
        assert!(!a.login_events);
        assert_eq!(a.end_time, Some(started - NAMED_SETTLE));
        assert_eq!(a.events, base.events);
    }
}
