//! The HTTP service: routing, body limits, fault application, and the replies of every endpoint.
//!
//! Entrust's API (as the OpenAPI extract describes it):
//! `POST /api/web/v1/adminapi/authenticate`, `POST /api/web/v2/reports/auditeventspaged/siem`
//! (also served at the v1 path), `POST /api/web/v2/reports/auditeventspaged`, and `OPTIONS`
//! on the report paths to test a token. Not part of Entrust's API, for tests and demos only:
//! `GET /__sim/ids` (every record id in the tenant, in SIEM order) and `GET /__sim/stats`.
//! Each request is served by the tenant its `Host` header names (`hosts.rs`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;

use super::audit::{self, Start};
use super::auth::{self, SESSION_COOKIE, TokenStore};
use super::config::SimConfig;
use super::cursor::Direction;
use super::errors::{ApiError, codes};
use super::faults::{Endpoint, Fault, FaultScheduler, RequestKind};
use super::feed;
use super::generate::Wanted;
use super::ids_body::IdsBody;
use super::query;
use super::rng::mix64;
use super::tenant::Tenant;
use super::time;

pub const LOGIN_PATH: &str = "/api/web/v1/adminapi/authenticate";
pub const SIEM_PATH: &str = "/api/web/v2/reports/auditeventspaged/siem";
pub const SIEM_V1_PATH: &str = "/api/web/v1/reports/auditeventspaged/siem";
pub const SEARCH_PATH: &str = "/api/web/v2/reports/auditeventspaged";
/// Not part of Entrust's API: every record id of the tenant (streamed for a tenant of many
/// chunks).
pub const SIM_IDS_PATH: &str = "/__sim/ids";
/// Not part of Entrust's API: counts of records and injected faults.
pub const SIM_STATS_PATH: &str = "/__sim/stats";

/// State shared by all connections.
#[derive(Debug)]
pub struct Shared {
    pub config: SimConfig,
    pub tenant: RwLock<Tenant>,
    pub tokens: Mutex<TokenStore>,
    pub faults: Mutex<FaultScheduler>,
    pub cursor_key: u64,
    /// A shared secret that replaced the configured one (a rotation).
    pub rotated_secret: Mutex<Option<String>>,
    /// Holds API requests while closed (tests).
    pub gate: super::gate::Gate,
    /// The other origin the redirect faults point at.
    pub elsewhere: Option<SocketAddr>,
    /// Answers sent gzipped.
    pub gzipped: std::sync::atomic::AtomicU64,
    /// Answers of the echo and redirect faults so far (their variants take turns).
    pub hostile_answers: std::sync::atomic::AtomicU64,
    /// Holds audit page requests only (logins pass) while closed (tests).
    pub pages_gate: super::gate::Gate,
    /// Audit page requests being served now, and the most at once so far.
    pub pages_in_flight: std::sync::atomic::AtomicUsize,
    pub pages_peak: std::sync::atomic::AtomicUsize,
}

/// Counts an audit page request as in flight while it lives.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn new(shared: &'a Shared) -> Self {
        use std::sync::atomic::Ordering::SeqCst;
        let now = shared.pages_in_flight.fetch_add(1, SeqCst) + 1;
        shared.pages_peak.fetch_max(now, SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.pages_in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Shared {
    pub fn new(config: SimConfig, tenant: Tenant) -> Self {
        Shared {
            tokens: Mutex::new(TokenStore::new(config.seed)),
            faults: Mutex::new(FaultScheduler::new(config.seed, &config.faults)),
            cursor_key: mix64(config.seed ^ 0xc0_75_02),
            rotated_secret: Mutex::new(None),
            gate: super::gate::Gate::default(),
            elsewhere: None,
            gzipped: Default::default(),
            hostile_answers: Default::default(),
            pages_gate: super::gate::Gate::default(),
            pages_in_flight: Default::default(),
            pages_peak: Default::default(),
            tenant: RwLock::new(tenant),
            config,
        }
    }

    // A panic while holding a lock cannot leave these structures half-updated in a way that
    // matters to a simulator, so a poisoned lock is simply taken over.
    pub fn tenant(&self) -> RwLockReadGuard<'_, Tenant> {
        self.tenant.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn tenant_mut(&self) -> RwLockWriteGuard<'_, Tenant> {
        self.tenant.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn tokens(&self) -> MutexGuard<'_, TokenStore> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultScheduler> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Injected request faults plus records shaped by data faults.
    pub fn fault_counts(&self) -> std::collections::BTreeMap<Fault, u64> {
        let mut counts = self.faults().counts();
        let tenant = self.tenant();
        for f in [Fault::TimeVariant, Fault::TimeNoZone, Fault::PoisonRecords] {
            let n = tenant.data_fault_count(f);
            if n > 0 {
                counts.insert(f, n);
            }
        }
        counts
    }
}

/// A response before it becomes a hyper `Response`.
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
    headers: Vec<(HeaderName, String)>,
    /// Close the connection instead of answering (the `reset` fault).
    reset: bool,
}

/// The connection was closed without an answer on purpose (the `reset` fault).
#[derive(Debug)]
pub struct ConnectionReset;

impl std::fmt::Display for ConnectionReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by the simulator (reset fault)")
    }
}

impl std::error::Error for ConnectionReset {}

impl Reply {
    fn json(status: StatusCode, body: Vec<u8>) -> Self {
        Reply { status, body, headers: Vec::new(), reset: false }
    }

    fn ok<T: Serialize>(value: &T) -> Self {
        Self::json(StatusCode::OK, serde_json::to_vec(value).unwrap_or_default())
    }

    fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn into_response(self) -> Response<SimBody> {
        let mut response = Response::new(Either::Left(Full::new(Bytes::from(self.body))));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if !self.headers.iter().any(|(name, _)| name == CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.append(name, v);
            }
        }
        response
    }
}

impl From<super::hostile::Answer> for Reply {
    fn from(a: super::hostile::Answer) -> Self {
        Reply { status: a.status, body: a.body, headers: a.headers, reset: false }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Self {
        Reply::json(e.status, e.body())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Login,
    Siem,
    Search,
    SimIds,
    SimStats,
}

fn route(path: &str) -> Option<Route> {
    match path {
        LOGIN_PATH => Some(Route::Login),
        SIEM_PATH | SIEM_V1_PATH => Some(Route::Siem),
        SEARCH_PATH => Some(Route::Search),
        SIM_IDS_PATH => Some(Route::SimIds),
        SIM_STATS_PATH => Some(Route::SimStats),
        _ => None,
    }
}

/// A reply's body: whole, or `/__sim/ids` of a tenant of many chunks, written as it is read.
pub type SimBody = Either<Full<Bytes>, IdsBody>;

/// Serves one request. Every problem becomes an `ErrorInfo` reply; the only error is the
/// `reset` fault, which makes the server drop the connection without answering.
pub async fn handle(
    hosts: Arc<super::hosts::Hosts>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<SimBody>, ConnectionReset> {
    // The tenant is the one the `Host` header names (hosts.rs).
    let shared = match hosts.for_headers(req.headers()).await {
        Ok(shared) => shared,
        Err(e) => return Ok(Reply::from(ApiError::bad_request(codes::INVALID_REQUEST, e.to_string())).into_response()),
    };
    let route_of = route(req.uri().path());
    if !matches!(route_of, Some(Route::SimIds | Route::SimStats)) {
        shared.gate.pass().await;
    }
    let _in_flight = matches!(route_of, Some(Route::Siem | Route::Search)).then(|| InFlight::new(&shared));
    if _in_flight.is_some() {
        shared.pages_gate.pass().await;
    }
    let gzip = super::compress::accepts_gzip(req.headers());
    if route_of == Some(Route::SimIds) && req.method() == Method::GET && shared.tenant().chunk_count() > 1 {
        // Written chunk by chunk (and never gzipped): ten million ids do not fit one buffer.
        let mut response = Response::new(Either::Right(IdsBody::new(Arc::clone(&shared))));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(response);
    }
    let mut reply = match (route_of, req.method().clone()) {
        (Some(Route::Login), Method::POST) => api(&shared, peer, Endpoint::Login, req).await,
        (Some(Route::Siem), Method::POST) => api(&shared, peer, Endpoint::Siem, req).await,
        (Some(Route::Search), Method::POST) => api(&shared, peer, Endpoint::Search, req).await,
        (Some(Route::Login), Method::OPTIONS) => {
            Reply::json(StatusCode::OK, Vec::new()).with_header(ALLOW, "POST, OPTIONS")
        }
        (Some(Route::Siem | Route::Search), Method::OPTIONS) => {
            // Entrust suggests OPTIONS on the same endpoint to learn whether a token expired.
            match authorize(&shared, req.headers(), None) {
                Ok(()) => Reply::json(StatusCode::OK, Vec::new()).with_header(ALLOW, "POST, OPTIONS"),
                Err(reply) => reply,
            }
        }
        (Some(Route::SimIds), Method::GET) => sim_ids(&shared),
        (Some(Route::SimStats), Method::GET) => sim_stats(&shared),
        (Some(r), method) => {
            let allow = if matches!(r, Route::SimIds | Route::SimStats) { "GET" } else { "POST, OPTIONS" };
            Reply::from(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                codes::METHOD_NOT_ALLOWED,
                format!("{method} is not supported here; use {allow}"),
            ))
            .with_header(ALLOW, allow)
        }
        (None, _) => Reply::from(ApiError::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("no such endpoint: {}", time::truncate_for_message(req.uri().path())),
        )),
    };
    if matches!(route_of, Some(Route::Siem | Route::Search)) && !shared.config.page_latency.is_zero() {
        tokio::time::sleep(shared.config.page_latency).await;
    }
    if reply.reset {
        return Err(ConnectionReset);
    }
    if gzip && !reply.body.is_empty() {
        reply.body = super::compress::gzip(&reply.body);
        reply.headers.push((hyper::header::CONTENT_ENCODING, "gzip".into()));
        shared.gzipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(reply.into_response())
}

/// Bodies larger than this are not even drained before the connection is answered.
const DRAIN_LIMIT: usize = 64 << 20;

async fn read_body(mut body: Incoming, max: usize) -> Result<Bytes, Reply> {
    let mut data: Vec<u8> = Vec::new();
    let mut total: usize = 0;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                return Err(Reply::from(ApiError::bad_request(
                    codes::INVALID_REQUEST,
                    format!("cannot read the request body: {e}"),
                )));
            }
        };
        if let Ok(chunk) = frame.into_data() {
            total = total.saturating_add(chunk.len());
            if total <= max {
                data.extend_from_slice(&chunk);
            } else if total > DRAIN_LIMIT {
                break;
            }
        }
    }
    if total > max {
        // The rest was read and dropped, so that the client sees this answer rather than a
        // connection reset.
        return Err(Reply::from(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::PAYLOAD_TOO_LARGE,
            format!("the request body exceeds {max} bytes"),
        )));
    }
    Ok(Bytes::from(data))
}

/// One API request: body, fault decision, endpoint, and the faults that alter a reply.
async fn api(shared: &Arc<Shared>, peer: SocketAddr, endpoint: Endpoint, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let body = match read_body(body, shared.config.max_body_bytes).await {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let kind = RequestKind { endpoint, has_cursor: endpoint != Endpoint::Login && query::has_cursor(&body) };
    let fault = shared.faults().decide(kind);
    let retry_after = shared.config.faults.retry_after_secs.to_string();
    match fault {
        Some(Fault::TooManyRequests) => {
            shared.faults().record(Fault::TooManyRequests);
            return Reply::from(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                codes::TOO_MANY_REQUESTS,
                "Too many requests",
            ))
            .with_header(RETRY_AFTER, retry_after);
        }
        Some(Fault::TooManyRequestsNoRetryAfter) => {
            shared.faults().record(Fault::TooManyRequestsNoRetryAfter);
            return Reply::from(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                codes::TOO_MANY_REQUESTS,
                "Too many requests",
            ));
        }
        Some(Fault::InternalServerError) => {
            shared.faults().record(Fault::InternalServerError);
            return Reply::from(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL_ERROR,
                "An unexpected error occurred",
            ));
        }
        Some(Fault::ServiceUnavailable) => {
            shared.faults().record(Fault::ServiceUnavailable);
            return Reply::from(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                codes::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable",
            ))
            .with_header(RETRY_AFTER, retry_after);
        }
        Some(Fault::Slow) => {
            shared.faults().record(Fault::Slow);
            tokio::time::sleep(shared.config.faults.slow_delay).await;
        }
        Some(Fault::ConnectionReset) => {
            shared.faults().record(Fault::ConnectionReset);
            let mut reply = Reply::json(StatusCode::INTERNAL_SERVER_ERROR, Vec::new());
            reply.reset = true;
            return reply;
        }
        Some(Fault::InvalidCursor) => {
            shared.faults().record(Fault::InvalidCursor);
            return Reply::from(super::cursor::invalid_cursor());
        }
        Some(f @ Fault::EchoCredentials) => {
            shared.faults().record(f);
            let n = shared.hostile_answers.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Reply::from(super::hostile::echo(endpoint, &parts.headers, &body, n));
        }
        Some(f @ Fault::OkErrorInfo) => {
            shared.faults().record(f);
            return Reply::from(super::hostile::ok_error_info());
        }
        Some(f @ (Fault::RedirectLogin | Fault::RedirectAudit)) => {
            if let Some(elsewhere) = shared.elsewhere {
                shared.faults().record(f);
                let n = shared.hostile_answers.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Reply::from(super::hostile::redirect(elsewhere, parts.uri.path(), n));
            }
        }
        _ => {}
    }
    let mut reply = match endpoint {
        Endpoint::Login => login(shared, peer, &body),
        Endpoint::Siem => siem(shared, &parts.headers, &body, fault),
        Endpoint::Search => search(shared, &parts.headers, &body, fault),
    };
    if fault == Some(Fault::Truncated) && reply.status == StatusCode::OK && reply.body.len() > 1 {
        let keep = reply.body.len() / 2;
        reply.body.truncate(keep);
        shared.faults().record(Fault::Truncated);
    }
    if fault == Some(Fault::Malformed) && reply.status == StatusCode::OK && reply.body.first() == Some(&b'{') {
        reply.body[0] = b'[';
        shared.faults().record(Fault::Malformed);
    }
    reply
}

fn login(shared: &Shared, peer: SocketAddr, body: &[u8]) -> Reply {
    let mut app = shared.config.credentials.clone();
    if let Some(rotated) = shared.rotated_secret.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        app.shared_secret = rotated;
    }
    let app = &app;
    let request = match auth::parse_login(body).and_then(|l| auth::check_credentials(&l, app).map(|()| l)) {
        Ok(l) => l,
        Err(e) => return e.into(),
    };
    let ttl_ms = i64::try_from(shared.config.token_ttl.as_millis()).unwrap_or(i64::MAX);
    let issued = shared.tokens().issue(time::now_ms(), ttl_ms, request.enable_web_session);
    if shared.config.login_events {
        shared.tenant_mut().add_login_event(app, &peer.ip().to_string());
    }
    let mut reply = Reply::ok(&issued.result);
    if shared.config.faults.kinds.contains(&Fault::BadExpiry) {
        let mut v = serde_json::to_value(&issued.result).unwrap_or_default();
        v["expirationTime"] = serde_json::Value::from(super::hostile::BAD_EXPIRY);
        reply = Reply::ok(&v);
        shared.faults().record(Fault::BadExpiry);
    }
    if let Some(cookie) = issued.session_cookie {
        reply = reply.with_header(SET_COOKIE, format!("{SESSION_COOKIE}={cookie}; Path=/; HttpOnly"));
    }
    reply
}

/// Checks the token; with the `expire-token` fault, a valid token dies here.
fn authorize(shared: &Shared, headers: &HeaderMap, fault: Option<Fault>) -> Result<(), Reply> {
    let mut tokens = shared.tokens();
    let token = tokens
        .authorize(headers, time::now_ms(), &shared.config.credentials, shared.config.accept_credentials_header)
        .map_err(Reply::from)?;
    if fault == Some(Fault::ExpireToken)
        && let Some(token) = token
    {
        tokens.revoke(&token);
        drop(tokens);
        shared.faults().record(Fault::ExpireToken);
        return Err(Reply::from(ApiError::unauthorized(
            codes::INVALID_SESSION_TOKEN,
            "The session token has expired; authenticate again",
        )));
    }
    Ok(())
}

fn siem(shared: &Shared, headers: &HeaderMap, body: &[u8], fault: Option<Fault>) -> Reply {
    if let Err(reply) = authorize(shared, headers, fault) {
        return reply;
    }
    let request = match audit::resolve_siem(body, shared.cursor_key) {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    if fault == Some(Fault::LateRecords)
        && let Start::From(Direction::Next, pos) = &request.start
    {
        let wanted = Wanted {
            category: request.query.categories.first().cloned(),
            outcome: request.query.outcomes.first().cloned(),
        };
        let n = 1 + (mix64(shared.config.seed ^ pos.time_ms as u64) % 3) as usize;
        let max_behind = i64::try_from(shared.config.faults.late_max_behind.as_millis()).unwrap_or(i64::MAX);
        shared.tenant_mut().insert_behind((pos.time_ms, &pos.id), request.query.start_ms, max_behind, &wanted, n);
        shared.faults().record(Fault::LateRecords);
    }
    let mut request = request;
    let widened = request.start == Start::Fresh && feed::query(fault, &mut request.query);
    let tenant = shared.tenant();
    let page = audit::siem_page(&tenant, &request, fault == Some(Fault::EdgeDuplicates));
    let mut json = page.to_json(shared.cursor_key, &tenant);
    let bare = page.results.is_empty() && shared.config.faults.kinds.contains(&Fault::NoResultsKey);
    if bare && let Ok(serde_json::Value::Object(mut body)) = serde_json::from_slice(&json) {
        body.remove("results");
        json = serde_json::to_vec(&body).unwrap_or(json);
    }
    let repeated = page.repeated_edge;
    drop(page);
    let cursor = feed::request_cursor(body);
    let seq = shared.faults().counts().values().sum::<u64>();
    let rewritten = feed::page(fault, &json, cursor.as_deref(), &tenant, seq, request.query.end());
    drop(tenant);
    if repeated {
        shared.faults().record(Fault::EdgeDuplicates);
    }
    if bare {
        shared.faults().record(Fault::NoResultsKey);
    }
    if widened {
        shared.faults().record(fault.unwrap_or(Fault::IgnoreTimeFilter));
    }
    if let Some(j) = rewritten {
        json = j;
        shared.faults().record(fault.unwrap_or(Fault::CursorLoop));
    }
    Reply::json(StatusCode::OK, json)
}

fn search(shared: &Shared, headers: &HeaderMap, body: &[u8], fault: Option<Fault>) -> Reply {
    if let Err(reply) = authorize(shared, headers, fault) {
        return reply;
    }
    let request = match audit::resolve_search(body, shared.cursor_key) {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    let tenant = shared.tenant();
    let json = audit::search_page(&tenant, &request).to_json(shared.cursor_key, &tenant);
    Reply::json(StatusCode::OK, json)
}

#[derive(Serialize)]
struct SimIds {
    ids: Vec<String>,
    #[serde(rename = "lateIds")]
    late_ids: Vec<String>,
}

fn sim_ids(shared: &Shared) -> Reply {
    let tenant = shared.tenant();
    Reply::ok(&SimIds { ids: tenant.ids(), late_ids: tenant.late_ids() })
}

#[derive(Serialize)]
struct SimStats {
    records: usize,
    #[serde(rename = "lateRecords")]
    late_records: usize,
    #[serde(rename = "accountId")]
    account_id: String,
    faults: std::collections::BTreeMap<String, u64>,
    /// Answers sent gzipped (asked for with `Accept-Encoding: gzip`).
    #[serde(rename = "gzipResponses")]
    gzip_responses: u64,
}

fn sim_stats(shared: &Shared) -> Reply {
    let faults = shared.fault_counts().into_iter().map(|(f, n)| (f.name().to_string(), n)).collect();
    let tenant = shared.tenant();
    Reply::ok(&SimStats {
        records: tenant.len(),
        late_records: tenant.late_ids().len(),
        account_id: tenant.account_id().to_string(),
        faults,
        gzip_responses: shared.gzipped.load(std::sync::atomic::Ordering::Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route(LOGIN_PATH), Some(Route::Login));
        assert_eq!(route(SIEM_PATH), Some(Route::Siem));
        assert_eq!(route(SIEM_V1_PATH), Some(Route::Siem));
        assert_eq!(route(SEARCH_PATH), Some(Route::Search));
        assert_eq!(route("/api/web/v2/reports/auditeventspaged/siem/"), None);
        assert_eq!(route("/"), None);
    }
}
