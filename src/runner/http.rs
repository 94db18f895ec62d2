//! The HTTP client of a source: base URL (TLS required except on loopback), the auth session
//! (token cached, renewed before it expires and once on a 401), retries with backoff on 429,
//! 5xx, timeouts and broken connections (each announced by a warning), and clear failures for
//! every other answer. Responses are asked for compressed (gzip) and decoded. Redirects are
//! followed within the API's origin only: credentials and tokens never go anywhere else.
//! Every message that quotes an answer has the secrets masked before it is cut short.

use super::budget::{Answer, Budget};
use super::retry::{Jitter, RetryPolicy, parse_retry_after};
use super::summary::Stats;
use crate::source::auth::{AuthSpec, ClientAuth, Token};
use crate::source::template::Template;
use crate::source::timefmt::now_ms;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Why a call failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Retries exhausted on a transient failure (exit 3).
    GaveUp(String),
    /// The API refused the login or the credentials.
    Refused(String),
    /// The API refused the request itself (a 4xx other than 401/408/429).
    RequestRefused(String),
    /// Shutdown was requested while waiting.
    Stopped,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::GaveUp(m) | CallError::Refused(m) | CallError::RequestRefused(m) => f.write_str(m),
            CallError::Stopped => f.write_str("stopped"),
        }
    }
}

/// The resolved base URL, checked for TLS.
pub fn base_url(rendered: &str, plain_http_on_loopback: bool) -> Result<Url, String> {
    let mut url = Url::parse(rendered.trim_end_matches('/')).map_err(|e| format!("`{rendered}` is not a URL: {e}"))?;
    let loopback = match url.host_str() {
        Some(h) if !h.is_empty() => {
            let bare = h.trim_start_matches('[').trim_end_matches(']');
            bare.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        _ => return Err(format!("`{rendered}` has no host")),
    };
    match url.scheme() {
        "https" if loopback && plain_http_on_loopback => {
            url.set_scheme("http").map_err(|()| format!("cannot use plain http for `{rendered}`"))?;
        }
        "https" => {}
        "http" if loopback => {}
        _ => return Err(format!("insecure:{rendered}")),
    }
    Ok(url)
}

/// The HTTP client: redirects within the origin only, timeouts, the engine's user agent.
fn client(builder: reqwest::ClientBuilder, timeout: Duration) -> Result<reqwest::Client, String> {
    builder
        .redirect(super::origin::same_origin_redirects())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("ocsf-engine/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// A successful answer: its body, and its `Link` header values (joined by `, `), if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    pub body: Vec<u8>,
    pub link: Option<String>,
}

/// Every `Link` header of an answer, joined as one value.
fn link_header(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers.get_all(reqwest::header::LINK).iter().filter_map(|v| v.to_str().ok()).collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// A response that went wrong, before the retry decision.
enum Failure {
    Transient {
        what: String,
        retry_after: Option<Duration>,
    },
    Unauthorized(String),
    Refused(String),
    /// A redirect to another origin: never followed, never retried.
    CrossOrigin(String),
}

/// An authenticated API client for one source.
pub struct Api {
    client: reqwest::Client,
    base: Url,
    auth: Option<AuthSpec>,
    params: minijinja::Value,
    token: Option<(Token, i64)>,
    retry: RetryPolicy,
    jitter: Jitter,
    secrets: Vec<String>,
    stats: Arc<Stats>,
    stop: watch::Receiver<bool>,
    /// Reads the parameters again (secrets included) when a login is refused: a rotation.
    refresh: Option<ParamRefresh>,
    /// Metrics to record each response in, with the stream's name.
    metrics: Option<(Arc<crate::metrics::Metrics>, String)>,
    /// The host's request budget, shared with every other user of the host in the process.
    budget: Option<Arc<Budget>>,
}

/// Resolves a source's parameters again: request-template values and the secrets to scrub.
pub type ParamRefresh = Arc<dyn Fn() -> Result<(minijinja::Value, Vec<String>), String> + Send + Sync>;

impl Api {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        base: Url,
        auth: Option<AuthSpec>,
        params: minijinja::Value,
        secrets: Vec<String>,
        retry: RetryPolicy,
        timeout: Duration,
        stats: Arc<Stats>,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, String> {
        let client = client(reqwest::Client::builder(), timeout)?;
        Ok(Api {
            client,
            base,
            auth,
            params,
            token: None,
            retry,
            jitter: Jitter::from_clock(),
            secrets,
            stats,
            stop,
            refresh: None,
            metrics: None,
            budget: None,
        })
    }

    /// Takes a slot of `budget` for every request (requests in flight and their rate).
    pub fn with_budget(mut self, budget: Arc<Budget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The process-wide budget of this API's host, with at most `concurrency` requests in
    /// flight and `rate` per second.
    pub fn host_budget(&self, concurrency: usize, rate: Option<f64>) -> Arc<Budget> {
        Budget::for_host(&self.host(), concurrency, rate)
    }

    /// What a read-ahead task needs to send requests of its own: the client, its budget and
    /// its counters, without the session (it never logs in).
    pub fn sender(&self) -> Sender {
        Sender {
            client: self.client.clone(),
            base: self.base.clone(),
            stats: Arc::clone(&self.stats),
            metrics: self.metrics.clone(),
            budget: self.budget.clone(),
        }
    }

    /// A request sent with the current token (read ahead) was answered `401`: the next call
    /// logs in first, as after a `401` of its own.
    pub fn token_refused(&mut self) {
        self.stats.add_unauthorized();
        self.token = None;
    }

    /// The auth header of the next request, logging in when needed (with retries), and until
    /// when it may be sent (Unix ms): a token's renewal time, or for ever.
    pub async fn auth(&mut self) -> Result<(Option<(String, String)>, i64), CallError> {
        let header = self.auth_header().await?;
        let until = match (&self.auth, &self.token) {
            (Some(a), Some((_, renew))) if a.logs_in() => *renew,
            _ => i64::MAX,
        };
        Ok((header, until))
    }

    /// Sends the requests for the base URL's host to `addr` instead of where its name resolves
    /// (a simulator serving many tenants on loopback): the URL, and so the `Host` header, keep
    /// the tenant's name.
    pub fn resolving(mut self, addr: Option<std::net::SocketAddr>, timeout: Duration) -> Result<Self, String> {
        if let (Some(addr), Some(host)) = (addr, self.base.host_str()) {
            self.client = client(reqwest::Client::builder().resolve(host, addr), timeout)?;
        }
        Ok(self)
    }

    /// Records every response's status and latency in `metrics`, labelled by `stream`.
    pub fn with_metrics(mut self, metrics: Option<Arc<crate::metrics::Metrics>>, stream: &str) -> Self {
        self.metrics = metrics.map(|m| (m, stream.to_string()));
        self
    }

    /// Logs an exchange at debug level (method, path, status, time; never headers or bodies)
    /// and records it in the metrics.
    fn observe(&self, method: &Method, path: &str, status: Option<u16>, started: std::time::Instant, outcome: &str) {
        let outcome = self.scrub(outcome);
        let outcome = outcome.as_str();
        let took = started.elapsed();
        tracing::debug!(%method, path, status, ms = took.as_millis() as u64, outcome, "API request");
        if let Some((m, stream)) = &self.metrics {
            m.api_response(stream, status, took);
        }
    }

    /// On a refused login, read the parameters again once (credentials rotated) and retry.
    pub fn with_refresh(mut self, refresh: Option<ParamRefresh>) -> Self {
        self.refresh = refresh;
        self
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Replaces every secret value (and every token this client was given) in a message by
    /// `***`, in the forms an answer may quote it.
    fn scrub(&self, text: &str) -> String {
        let token = self.token.as_ref().map(|(t, _)| t.value.expose());
        super::mask::mask(text, self.secrets.iter().map(String::as_str).chain(token))
    }

    /// `host:port` of the API, for messages.
    fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or("?");
        match self.base.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// The pause before retry `retries` of a failure, announced as a warning: the host, the
    /// cause and the delay. A `Retry-After` beyond the cap is cut to it, and said so.
    fn backoff(&mut self, retries: u32, retry_after: Option<Duration>, what: &str) -> Duration {
        let d = self.retry.delay(retries, retry_after, &mut self.jitter);
        let capped = match retry_after {
            Some(ra) if ra > self.retry.max_retry_after => {
                format!(" (the API asked for {} s; capped by --max-retry-after)", ra.as_secs())
            }
            _ => String::new(),
        };
        tracing::warn!(
            "{}: {}; retry {retries} of {} in {:.1} s{capped}",
            self.host(),
            self.scrub(what),
            self.retry.max_retries,
            d.as_secs_f64()
        );
        d
    }

    /// Sleeps unless shutdown is requested first.
    async fn pause(&mut self, d: Duration) -> Result<(), CallError> {
        if *self.stop.borrow() {
            return Err(CallError::Stopped);
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.stop.changed() => Err(CallError::Stopped),
        }
    }

    /// One HTTP exchange, classified.
    async fn exchange(
        &mut self,
        method: &Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        auth_header: Option<(&str, &str)>,
    ) -> Result<Reply, Failure> {
        let url = endpoint(&self.base, path, query);
        let req = request(&self.client, method, url, body, auth_header);
        self.send(method, path, req).await
    }

    /// Sends a built request within the host's budget, classified; `path` names it in
    /// messages and metrics.
    async fn send(&mut self, method: &Method, path: &str, req: reqwest::RequestBuilder) -> Result<Reply, Failure> {
        let stopped = || Failure::Transient { what: "stopped".into(), retry_after: None };
        let permit = match self.budget.clone() {
            Some(b) => tokio::select! {
                p = b.acquire() => Some(p),
                _ = self.stop.changed() => return Err(stopped()),
            },
            None => None,
        };
        self.stats.add_request();
        let started = std::time::Instant::now();
        let send = req.send();
        let resp = tokio::select! {
            r = send => r,
            _ = self.stop.changed() => return Err(stopped()),
        };
        if let (Some(p), Ok(r)) = (permit, &resp) {
            p.answered(verdict(r.status()));
        }
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                if let Some(refusal) = super::origin::refused_redirect(&e) {
                    self.observe(method, path, None, started, "redirect refused");
                    return Err(Failure::CrossOrigin(self.scrub(&format!("{method} {path}: {refusal}"))));
                }
                let kind = if e.is_timeout() {
                    "timed out".to_string()
                } else if e.is_connect() {
                    format!("could not connect to {} ({})", self.host(), super::origin::connect_cause(&e))
                } else {
                    format!("connection to {} failed ({})", self.host(), super::origin::connect_cause(&e))
                };
                self.observe(method, path, None, started, &kind);
                return Err(Failure::Transient { what: format!("{method} {path}: {kind}"), retry_after: None });
            }
        };
        let status = resp.status();
        let retry_after = retry_after_of(resp.headers());
        let link = link_header(resp.headers());
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                let kind = if e.is_timeout() { "timed out reading the response" } else { "response cut off" };
                self.observe(method, path, Some(status.as_u16()), started, kind);
                return Err(Failure::Transient { what: format!("{method} {path}: {kind}"), retry_after: None });
            }
        };
        self.observe(method, path, Some(status.as_u16()), started, if status.is_success() { "ok" } else { "error" });
        tracing::trace!(bytes = bytes.len(), "API response body");
        if status.is_success() {
            if let Some(info) = super::mask::ok_error_info(&bytes) {
                // A 200 that is an `ErrorInfo`: not a page; say what the API said.
                return Err(Failure::Transient {
                    what: self.scrub(&format!("{method} {path}: HTTP {} with an error body:{info}", status.as_u16())),
                    retry_after,
                });
            }
            return Ok(Reply { body: Vec::from(bytes), link });
        }
        // Masked while the message is whole, before anything is cut from it.
        let detail = error_detail(&bytes, |text| self.scrub(text));
        let what = self.scrub(&format!("{method} {path}: HTTP {}{detail}", status.as_u16()));
        Err(match status {
            StatusCode::UNAUTHORIZED => Failure::Unauthorized(what),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => Failure::Transient { what, retry_after },
            s if s.is_server_error() => Failure::Transient { what, retry_after },
            _ => Failure::Refused(what),
        })
    }

    /// The request that opens a session, rendered from the current parameters: a `login`
    /// body, or an OAuth 2.0 token request; its method and what names it in messages.
    /// Forms of the secret that the request carries and an answer may quote (the secret
    /// form-encoded, the Basic credentials) join the secrets masked in messages.
    fn session_request(&mut self, auth: &AuthSpec) -> Result<(Method, String, reqwest::RequestBuilder), CallError> {
        let ctx = minijinja::context! { params => self.params.clone() };
        match auth {
            AuthSpec::Login(login) => {
                let body = login.body.render(&ctx).map_err(|e| CallError::Refused(format!("login body: {e}")))?;
                let method = Method::from_bytes(login.method.as_bytes()).unwrap_or(Method::POST);
                let url = endpoint(&self.base, &login.path, &[]);
                let req = request(&self.client, &method, url, (!body.is_null()).then_some(&body), None);
                Ok((method, login.path.clone(), req))
            }
            AuthSpec::OAuth2(o) => {
                let render = |t: &Template, what: &str| {
                    t.render_string(&ctx).map_err(|e| CallError::Refused(format!("oauth2 {what}: {e}")))
                };
                let url =
                    token_endpoint(&self.base, &render(&o.token_url, "token_url")?).map_err(CallError::Refused)?;
                let (id, secret) = (render(&o.client_id, "client_id")?, render(&o.client_secret, "client_secret")?);
                let mut form = vec![("grant_type", "client_credentials".to_string())];
                if !o.scopes.is_empty() {
                    form.push(("scope", o.scopes.join(" ")));
                }
                let mut req = self.client.post(url.clone()).header("Accept", "application/json");
                let mut carried = vec![form_encode(&secret)];
                match o.client_auth {
                    ClientAuth::Basic => {
                        let basic = STANDARD.encode(format!("{}:{}", form_encode(&id), form_encode(&secret)));
                        req = req.header("Authorization", format!("Basic {basic}"));
                        carried.push(basic);
                    }
                    ClientAuth::Post => form.extend([("client_id", id), ("client_secret", secret)]),
                }
                for c in carried {
                    if !self.secrets.contains(&c) {
                        self.secrets.push(c);
                    }
                }
                let body =
                    form.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect::<Vec<_>>();
                let req = req.header("Content-Type", "application/x-www-form-urlencoded").body(body.join("&"));
                Ok((Method::POST, url.path().to_string(), req))
            }
            AuthSpec::ApiKey { .. } => Err(CallError::Refused("an api_key opens no session".into())),
        }
    }

    /// The token a session answer gives, with its renewal time.
    fn session_token(auth: &AuthSpec, answer: &Value, issued: i64) -> Result<(Token, i64), String> {
        match auth {
            AuthSpec::Login(l) => l.parse_response(answer, issued).map(|t| {
                let renew = l.renew_at(&t, issued);
                (t, renew)
            }),
            AuthSpec::OAuth2(o) => o.parse_response(answer, issued).map(|t| {
                let renew = o.renew_at(&t, issued);
                (t, renew)
            }),
            AuthSpec::ApiKey { .. } => Err("an api_key opens no session".into()),
        }
    }

    /// Logs in (with retries) and caches the token.
    async fn login(&mut self, auth: &AuthSpec) -> Result<(), CallError> {
        let word = if matches!(auth, AuthSpec::OAuth2(_)) { "token request" } else { "login" };
        let mut retries = 0;
        let mut refreshed = false;
        loop {
            let issued = now_ms();
            let (method, path, req) = self.session_request(auth)?;
            match self.send(&method, &path, req).await.and_then(|b| {
                serde_json::from_slice::<Value>(&b.body).map_err(|e| Failure::Transient {
                    what: format!("{method} {path}: a successful answer with a body that is not JSON ({e})"),
                    retry_after: None,
                })
            }) {
                Ok(v) => {
                    let (token, renew) = Self::session_token(auth, &v, issued)
                        .map_err(|e| CallError::Refused(format!("{word}: {}", self.scrub(&e))))?;
                    // Kept among the secrets: an answer may quote an older token too.
                    let value = token.value.expose().to_string();
                    if !self.secrets.contains(&value) {
                        self.secrets.push(value);
                    }
                    self.token = Some((token, renew));
                    self.stats.add_login();
                    return Ok(());
                }
                Err(Failure::CrossOrigin(what)) => return Err(CallError::Refused(format!("{word} refused: {what}"))),
                Err(Failure::Unauthorized(what) | Failure::Refused(what)) => {
                    if !refreshed && let Some(refresh) = self.refresh.clone() {
                        // The credentials may have been rotated: read them again, once.
                        refreshed = true;
                        match refresh() {
                            Ok((params, secrets)) => {
                                self.params = params;
                                self.secrets.extend(secrets);
                                continue;
                            }
                            Err(e) => {
                                return Err(CallError::Refused(format!(
                                    "{word} failed: {}; reading the credentials again failed: {}",
                                    self.scrub(&what),
                                    self.scrub(&e)
                                )));
                            }
                        }
                    }
                    return Err(CallError::Refused(format!(
                        "{word} failed: {}; check the credentials parameters",
                        self.scrub(&what)
                    )));
                }
                Err(Failure::Transient { what, retry_after }) => {
                    if *self.stop.borrow() {
                        return Err(CallError::Stopped);
                    }
                    retries += 1;
                    if retries > self.retry.max_retries {
                        return Err(CallError::GaveUp(format!(
                            "{word}: gave up after {} attempts: {}",
                            retries,
                            self.scrub(&what)
                        )));
                    }
                    self.stats.add_retry();
                    let d = self.backoff(retries, retry_after, &format!("{word}: {what}"));
                    self.pause(d).await?;
                }
            }
        }
    }

    /// The auth header for the next request, logging in when needed.
    async fn auth_header(&mut self) -> Result<Option<(String, String)>, CallError> {
        let Some(auth) = self.auth.clone() else { return Ok(None) };
        let token = if auth.logs_in() {
            let fresh = self.token.as_ref().is_some_and(|(_, renew)| now_ms() < *renew);
            if !fresh {
                self.login(&auth).await?;
            }
            self.token.as_ref().map(|(t, _)| t.value.expose().to_string())
        } else {
            None
        };
        let header = auth.header();
        let ctx = minijinja::context! { params => self.params.clone(), token => token };
        let value = header.value.render_string(&ctx).map_err(|e| CallError::Refused(format!("auth header: {e}")))?;
        Ok(Some((header.name.clone(), value)))
    }

    /// An API call: authenticated, retried, classified.
    /// `check` reads a successful response's body; an `Err` from it counts as a transient
    /// failure (an unusable page, a body that is not JSON, is fetched again).
    pub async fn call<T>(
        &mut self,
        method: &Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        check: impl Fn(&Reply) -> Result<T, String>,
    ) -> Result<T, CallError> {
        self.call_after(None, method, path, query, body, check).await
    }

    /// [`Api::call`] for a request that has already failed once elsewhere (read ahead):
    /// `failed` is what went wrong and the answer's `Retry-After`, and the call begins with the
    /// warning and the pause of a first retry, as if its own first attempt had failed so.
    pub async fn call_after<T>(
        &mut self,
        mut failed: Option<(String, Option<Duration>)>,
        method: &Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        check: impl Fn(&Reply) -> Result<T, String>,
    ) -> Result<T, CallError> {
        let mut retries = 0u32;
        let mut relogged = false;
        loop {
            if let Some(prior) = failed.take() {
                self.retry_after_failure(&mut retries, prior).await?;
            }
            let header = self.auth_header().await?;
            let h = header.as_ref().map(|(n, v)| (n.as_str(), v.as_str()));
            let (what, retry_after) = match self.exchange(method, path, query, body, h).await {
                Ok(reply) => match check(&reply) {
                    Ok(t) => return Ok(t),
                    Err(e) => (format!("{method} {path}: unusable response: {e}"), None),
                },
                Err(Failure::CrossOrigin(what)) => return Err(CallError::Refused(what)),
                Err(Failure::Refused(what)) => {
                    return Err(CallError::RequestRefused(format!(
                        "the API refused the request: {}",
                        self.scrub(&what)
                    )));
                }
                Err(Failure::Unauthorized(what)) => {
                    self.stats.add_unauthorized();
                    self.token = None;
                    if !self.auth.as_ref().is_some_and(AuthSpec::logs_in) {
                        return Err(CallError::Refused(format!(
                            "the API refused the credentials: {}",
                            self.scrub(&what)
                        )));
                    }
                    if !relogged {
                        // The token expired early: log in again once, right away.
                        relogged = true;
                        continue;
                    }
                    (what, None)
                }
                Err(Failure::Transient { what, retry_after }) => (what, retry_after),
            };
            self.retry_after_failure(&mut retries, (what, retry_after)).await?;
        }
    }

    /// After a failed attempt: the next retry's warning and pause, or an end (a stop, or the
    /// retries spent).
    async fn retry_after_failure(
        &mut self,
        retries: &mut u32,
        (what, retry_after): (String, Option<Duration>),
    ) -> Result<(), CallError> {
        if *self.stop.borrow() {
            return Err(CallError::Stopped);
        }
        *retries += 1;
        if *retries > self.retry.max_retries {
            return Err(CallError::GaveUp(format!(
                "gave up after {} attempts; last error: {}",
                retries,
                self.scrub(&what)
            )));
        }
        self.stats.add_retry();
        let d = self.backoff(*retries, retry_after, &what);
        self.pause(d).await
    }
}

/// The URL of `path` under `base`, with `query`.
fn endpoint(base: &Url, path: &str, query: &[(String, String)]) -> Url {
    let mut url = base.clone();
    let joined = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
    url.set_path(&joined);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    url
}

/// The token endpoint: a path under `base`, or an absolute URL. One on the API's own origin
/// keeps the base's scheme (plain http on loopback where the base has it); any other must be
/// https (or http on loopback).
fn token_endpoint(base: &Url, rendered: &str) -> Result<Url, String> {
    if rendered.starts_with('/') {
        return Ok(endpoint(base, rendered, &[]));
    }
    let url = Url::parse(rendered).map_err(|e| format!("oauth2 token_url `{rendered}` is not a URL or a path: {e}"))?;
    if url.host_str() == base.host_str() && url.port_or_known_default() == base.port_or_known_default() {
        let mut same = url.clone();
        let _ = same.set_scheme(base.scheme());
        return Ok(same);
    }
    base_url(rendered, false).map_err(|e| match e.strip_prefix("insecure:") {
        Some(u) => format!("oauth2 token_url `{u}` is not https: the client secret would travel in clear"),
        None => e,
    })
}

/// `s` as `application/x-www-form-urlencoded` text.
fn form_encode(s: &str) -> String {
    let mut url = Url::parse("http://form.invalid/").expect("a valid URL");
    url.query_pairs_mut().append_key_only(s);
    url.query().unwrap_or_default().to_string()
}

/// A request as every exchange sends it: JSON accepted, the body as JSON, the auth header.
fn request(
    client: &reqwest::Client,
    method: &Method,
    url: Url,
    body: Option<&Value>,
    auth_header: Option<(&str, &str)>,
) -> reqwest::RequestBuilder {
    let mut req = client.request(method.clone(), url).header("Accept", "application/json");
    if let Some(b) = body {
        req = req.json(b);
    }
    if let Some((name, value)) = auth_header {
        req = req.header(name, value);
    }
    req
}

/// An answer's `Retry-After`, as a pause from now.
fn retry_after_of(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| parse_retry_after(v, now_ms()))
}

/// How an HTTP status bears on the host's budget.
fn verdict(status: StatusCode) -> Answer {
    if status == StatusCode::TOO_MANY_REQUESTS { Answer::Throttled } else { Answer::Calm }
}

/// Sends single requests for a read-ahead task: no login, no retry, no message. Anything but
/// a successful answer is `None`, and the runner sends that request itself, through
/// [`Api::call`], so that every failure is handled (and reported) in one place.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    base: Url,
    stats: Arc<Stats>,
    metrics: Option<(Arc<crate::metrics::Metrics>, String)>,
    budget: Option<Arc<Budget>>,
}

/// Why a read-ahead request gave no page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missed {
    /// `401`: the token it was sent with is no longer good.
    Unauthorized,
    /// The request itself was refused (a 4xx other than 401, 408 and 429), as a direct call
    /// would have been: for a cursor, one the API no longer accepts.
    Refused(u16),
    /// A redirect, which the client refuses: the runner's own request meets it and says why.
    Redirected,
    /// Anything else: an error, a timeout, a 5xx, an answer that is not usable. `what` says
    /// so in the engine's words (the request, the status or the transport's error); `quoted`
    /// is what the API said about it, to follow `what` once the runner has masked its secrets
    /// in it (the token the request carried is masked already). `retry_after` is the answer's
    /// `Retry-After`: the runner waits as it would after a failure of its own before it sends
    /// the request again.
    Failed { what: String, quoted: String, retry_after: Option<Duration> },
}

impl Missed {
    /// A failure that is not a refusal, for `what`, quoting nothing.
    pub fn failed(what: String) -> Self {
        Missed::Failed { what, quoted: String::new(), retry_after: None }
    }
}

impl Sender {
    pub async fn once(
        &self,
        method: &Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        auth_header: Option<(&str, &str)>,
    ) -> Result<Reply, Missed> {
        let req = request(&self.client, method, endpoint(&self.base, path, query), body, auth_header);
        let permit = match &self.budget {
            Some(b) => Some(b.acquire().await),
            None => None,
        };
        self.stats.add_request();
        let started = std::time::Instant::now();
        let resp = req.send().await;
        let status = resp.as_ref().ok().map(|r| r.status());
        if let (Some(p), Some(s)) = (permit, status) {
            p.answered(verdict(s));
        }
        // What the API said, with the token this request carried masked (the runner masks its
        // secrets and its current token before it logs it).
        let masked = |text: String| super::mask::mask_sent(&text, auth_header.map(|(_, v)| v));
        let outcome = match resp {
            Err(e) if super::origin::refused_redirect(&e).is_some() => Err(Missed::Redirected),
            Err(e) => {
                let kind = if e.is_timeout() { "timed out" } else { "connection failed" };
                Err(Missed::failed(format!("{method} {path}: {kind} ({})", super::origin::connect_cause(&e))))
            }
            Ok(r) => {
                let status = r.status();
                let retry_after = retry_after_of(r.headers());
                let link = link_header(r.headers());
                match r.bytes().await {
                    Err(_) => Err(Missed::failed(format!("{method} {path}: response cut off"))),
                    Ok(b) if status.is_success() => match super::mask::ok_error_info(&b) {
                        None => Ok(Reply { body: Vec::from(b), link }),
                        Some(info) => Err(Missed::Failed {
                            what: format!("{method} {path}: HTTP {} with an error body", status.as_u16()),
                            quoted: masked(format!(":{info}")),
                            retry_after,
                        }),
                    },
                    Ok(_) if status == StatusCode::UNAUTHORIZED => Err(Missed::Unauthorized),
                    Ok(b)
                        if matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT)
                            || status.is_server_error() =>
                    {
                        Err(Missed::Failed {
                            what: format!("{method} {path}: HTTP {}", status.as_u16()),
                            quoted: error_detail(&b, |text| masked(text.to_string())),
                            retry_after,
                        })
                    }
                    Ok(_) => Err(Missed::Refused(status.as_u16())),
                }
            }
        };
        tracing::debug!(
            %method,
            path,
            status = status.map(|s| s.as_u16()),
            ms = started.elapsed().as_millis() as u64,
            outcome = if outcome.is_ok() { "ok" } else { "not used: the runner asks again" },
            read_ahead = true,
            "API request"
        );
        if let Some((m, stream)) = &self.metrics {
            m.api_response(stream, status.map(|s| s.as_u16()), started.elapsed());
        }
        outcome
    }
}

/// ` errorCode: errorMessage` from an `ErrorInfo` body, or a short excerpt of any other body;
/// `scrub` masks secrets in the whole text before it is cut.
fn error_detail(body: &[u8], scrub: impl Fn(&str) -> String) -> String {
    if let Some(info) = super::mask::error_info(body) {
        return super::mask::excerpt(&scrub(&info), 500);
    }
    let text = scrub(&String::from_utf8_lossy(body));
    let short = super::mask::excerpt(&text, 200);
    if short.trim().is_empty() { String::new() } else { format!(": {}", short.trim()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_required_except_on_loopback() {
        assert!(base_url("https://acme.us.trustedauth.com", false).is_ok());
        assert!(base_url("http://acme.us.trustedauth.com", false).unwrap_err().starts_with("insecure:"));
        assert_eq!(base_url("http://127.0.0.1:8080", false).unwrap().as_str(), "http://127.0.0.1:8080/");
        assert_eq!(base_url("http://localhost:1", false).unwrap().scheme(), "http");
        assert_eq!(base_url("http://[::1]:1", false).unwrap().scheme(), "http");
        assert_eq!(base_url("https://127.0.0.1:9", true).unwrap().scheme(), "http");
        assert_eq!(base_url("https://example.com", true).unwrap().scheme(), "https");
        assert!(base_url("ftp://127.0.0.1", false).is_err());
        assert!(base_url("https://", false).is_err());
    }

    #[test]
    fn error_details() {
        let none = |t: &str| t.to_string();
        assert_eq!(error_detail(br#"{"errorCode":"invalid_limit","errorMessage":"no"}"#, none), " invalid_limit: no");
        assert_eq!(error_detail(b"<html>oops</html>", none), ": <html>oops</html>");
        assert_eq!(error_detail(b"", none), "");
    }
}
