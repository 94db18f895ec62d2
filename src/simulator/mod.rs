//! The built-in Entrust IDaaS simulator: `engine simulate`, and the Rust API tests and `engine run --simulate` use.
//!
//! It implements the Administration API audit endpoints as Entrust's OpenAPI document (5.46)
//! describes them, over a synthetic tenant generated from a seed, with optional seeded fault
//! injection. It shares no code with the collection path.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ocsf_engine::simulator::SimError> {
//! use ocsf_engine::simulator::{SimConfig, start};
//! let sim = start(SimConfig::default()).await?;
//! println!("{} {}", sim.base_url(), sim.credentials().application_id);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Endpoints
//!
//! * `POST /api/web/v1/adminapi/authenticate`: `{applicationId, sharedSecret, enableWebSession?}`
//!   → `{authToken, creationTime, expirationTime}` (`YYYY-MM-DDTHH:MM:SSZ`). Unknown
//!   application → 404 `api_application_not_found`; wrong secret → 401 `access_denied`;
//!   missing field → 400 `invalid_user_response`; malformed body → 400 `invalid_request`.
//!   Each login is recorded as an `AuthenticationAdminApiSuccessEvent` (source IP = caller).
//! * `POST /api/web/v2/reports/auditeventspaged/siem` (and the v1 path): `startTime`
//!   (GREATER_THAN_OR_EQUAL, mandatory), `endTime` (LESS_THAN_OR_EQUAL), `outcome`,
//!   `category` (EQUALS); ascending by `(eventTime, id)`; inclusive bounds.
//! * `POST /api/web/v2/reports/auditeventspaged`: the search matrix of the OpenAPI
//!   description, `orderByAttribute` (only records with a value for it), default order newest
//!   first.
//! * `OPTIONS` on the report paths answers 200 or 401 for the token sent.
//! * Not Entrust's: `GET /__sim/ids` (`{ids, lateIds}`, the ground truth) and `GET /__sim/stats`.
//!
//! # Tenants by host name
//!
//! Every host name a request is sent to (`Host: t01.example.trustedauth.com:PORT`) is a tenant
//! of its own, generated from the seed and the name when first asked for (the same name, the
//! same tenant), with its own records, tokens, faults and ground truth; an IP address or
//! `localhost` reaches the default tenant. A named tenant's records end five minutes before the
//! simulator started and its logins are not audit records, so that it holds still (see
//! `hosts.rs`).
//!
//! # Memory
//!
//! A tenant of at most 20,000 records is generated in one pass when it is created. A larger
//! one is cut into chunks of time of at most 5,000 records, each generated from the seed when
//! a page reaches it, eight kept (`chunks.rs`); records inserted later (logins, late and
//! appended records) are held apart and merged in order (`walk.rs`). Memory does not grow with
//! `--events`; such a tenant is a different one (of the same distribution) than one pass would
//! give, and its `/__sim/ids` is streamed chunk by chunk.
//!
//! Protected endpoints take `Authorization: <token>` or `Authorization: Bearer <token>`
//! (plus the `INTELLITRUST_SESSION_ID` cookie for web sessions); a missing header is 401
//! `access_denied`, an unknown, expired or revoked token 401 `invalid_session_token`.
//!
//! # Choices where Entrust documents nothing
//!
//! * `limit` defaults to 100; outside 1–100 is 400 `invalid_limit`. Other 400 codes:
//!   `missing_search_attribute`, `invalid_search_attribute`, `invalid_date`,
//!   `invalid_order_by_attribute`, `invalid_cursor`, `invalid_request`; 413 over 1 MiB.
//! * Times are compared at millisecond precision: a value without a fraction means `.000`.
//!   Accepted forms: `YYYY-MM-DDTHH:MM:SS`, optional fraction, optional `Z` or `±HH[:]MM`.
//! * A cursor carries the query, the limit and the last `(eventTime, id)` returned; with a
//!   cursor the body's attributes, order and limit are ignored. Records inserted later
//!   behind that position are never returned by it.
//! * String filters are case-insensitive; a null field matches no string condition.
//! * `message` keys (`audit.<EventType>`, `audit.management.<entity>.<action>`) are invented:
//!   Entrust's are not public. Management records have a null `eventType`.
//!
//! # Faults (`--faults`, seeded, at most 3 failing answers in a row)
//!
//! `429` (with `Retry-After`), `429-no-retry-after`, `500`, `503` (with `Retry-After`),
//! `slow`, `expire-token` (401 `invalid_session_token` mid-paging), `late-records` (inserted
//! behind a SIEM cursor), `edge-duplicates` (a SIEM page repeats the previous page's last
//! record), `time-variant` (`2018-05-28T19:07:50.328+0000`), `time-no-zone`
//! (`2025-12-01T20:10:04`), `truncated` (a 200 with cut JSON), `malformed` (a 200 whose
//! complete body is not JSON), `reset` (the connection closed without an answer),
//! `invalid-cursor` (a request with a cursor answered 400 `invalid_cursor`; reading again from
//! the query's start works), `echo-credentials` (a login 503 HTML page quoting the shared
//! secret across its 200th character, an audit 401 quoting the `Authorization` header, an audit
//! 500 quoting the token across its 200th character), `ok-error-info` (a 200 whose body is an
//! `ErrorInfo`), `bad-expiry` (every login's `expirationTime` is not a date-time), or `all`.
//! No fault of `all` removes a record from the tenant: a client that retries, reads again after
//! a refused cursor and deduplicates by id reads [`SimHandle::record_ids`], except
//! `late-records`: those are inserted up to `late_max_behind` behind a cursor position, so the
//! cursor never returns them. A client catches one only by a later read of its time: an overlap
//! re-read (when the record is at or after the next window's start, i.e. no more than the
//! overlap behind the window's end) or a reconciliation re-read (when the record is within its
//! span); a late record older than both is not caught ([`SimHandle::late_record_ids`] lists
//! them all).
//!
//! Faults of a server that misbehaves without failing a request (`hostile`, not part of `all`;
//! see `feed.rs`): `cursor-loop`, `empty-pages`, `newest-first`, `unsorted`, `out-of-window`,
//! `far-future`, `reused-ids`, `ignore-time-filter`, `coarse-time-filter`.
//!
//! Named on their own, not in `all`: `poison-records` (some records served, every time, as
//! bytes a strict parser refuses or without a usable id: [`SimHandle::poison_record_ids`]; a
//! client dead-letters each once) and `no-results-key` (a SIEM page without records answered
//! `{"paging": …}` alone); and, because a correct client stops rather than rides them out,
//! `redirect-login` and `redirect-audit`, which answer with a redirect (307, 308, 301, 302, 303
//! in turn) to the same path on another loopback port, whose listener records every request it
//! receives ([`SimHandle::elsewhere_received`]) and answers like a tenant would.
//!
//! Answers are gzipped for a request that accepts it (`Accept-Encoding: gzip`). Tests can hold
//! every API request ([`SimHandle::hold_requests`]) and await the number held.

mod audit;
mod auth;
mod chunks;
mod compress;
mod config;
mod cursor;
mod elsewhere;
mod errors;
mod faults;
mod feed;
mod gate;
mod generate;
mod handle;
mod hostile;
mod hosts;
mod ids_body;
mod poison;
mod query;
mod record;
mod rng;
mod server;
mod tenant;
mod time;
mod vocab;
mod walk;

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

pub use config::{Credentials, DEMO_APPLICATION_ID, DEMO_APPLICATION_NAME, DEMO_SHARED_SECRET, SimConfig};
pub use elsewhere::Recorded;
pub use errors::SimError;
pub use faults::{Fault, FaultConfig, POISON_VARIANTS, parse_fault_list};
pub use handle::{SimHandle, start};
pub use record::RECORD_KEYS;
pub use server::{LOGIN_PATH, SEARCH_PATH, SIEM_PATH, SIEM_V1_PATH, SIM_IDS_PATH, SIM_STATS_PATH};

/// A `--faults` list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaultList(pub std::collections::BTreeSet<Fault>);

fn fault_list(s: &str) -> Result<FaultList, String> {
    parse_fault_list(s).map(FaultList)
}

fn unit_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..=1.0).contains(&v) { Ok(v) } else { Err(format!("{v} is not between 0 and 1")) }
}

fn end_time(s: &str) -> Result<i64, String> {
    time::parse_timestamp(s).map_err(|e| e.to_string())
}

/// Run the built-in Entrust IDaaS simulator on loopback (synthetic data, demo credentials).
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Address to listen on. Keep it on loopback: the credentials are public.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on; 0 picks a free port (the URL is printed).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Number of generated audit events.
    #[arg(long, default_value_t = 1000)]
    pub events: usize,
    /// Seed of the synthetic tenant and of the faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Lifetime of an auth token, in seconds.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl: u64,
    /// Faults to inject, comma-separated: 429, 429-no-retry-after, 500, 503, slow,
    /// expire-token, late-records, edge-duplicates, time-variant, time-no-zone, truncated,
    /// malformed, reset, invalid-cursor, echo-credentials, ok-error-info, bad-expiry, or all;
    /// hostile servers: cursor-loop, empty-pages, newest-first, unsorted, out-of-window,
    /// far-future, reused-ids, ignore-time-filter, coarse-time-filter, or hostile; also
    /// poison-records, no-results-key, redirect-login and redirect-audit (none part of all).
    #[arg(long, default_value = "", value_parser = fault_list)]
    pub faults: FaultList,
    /// Probability that an API request gets a fault (and share of records with a varied
    /// eventTime form).
    #[arg(long, default_value_t = 0.1, value_parser = unit_interval)]
    pub fault_rate: f64,
    /// Delay of a `slow` response, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub slow_ms: u64,
    /// Generated events span this many hours before the end time.
    #[arg(long, default_value_t = 24)]
    pub span_hours: u64,
    /// End of the generated events, e.g. 2025-12-01T00:00:00Z (default: now).
    #[arg(long, value_parser = end_time)]
    pub end_time: Option<i64>,
    /// Share of generated events in category ISSUANCE (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = unit_interval)]
    pub issuance_share: f64,
    /// Administration API application id that may log in.
    #[arg(long, default_value = DEMO_APPLICATION_ID)]
    pub application_id: String,
    /// Its shared secret.
    #[arg(long, default_value = DEMO_SHARED_SECRET)]
    pub shared_secret: String,
    /// Also accept the undocumented `Authorization: <applicationId>,<sharedSecret>` header.
    #[arg(long)]
    pub accept_credentials_header: bool,
    /// Answer every audit page this much later, e.g. `200ms` or `1s` (a real API takes
    /// 200–300 ms per page): for measuring concurrent reading.
    #[arg(long, value_name = "DURATION", value_parser = latency, default_value = "0ms")]
    pub page_latency: Duration,
}

/// `200ms` or `1s`.
fn latency(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let number = |n: &str| n.trim().parse::<u64>().map_err(|_| format!("`{text}` is not a duration like 200ms or 1s"));
    match (t.strip_suffix("ms"), t.strip_suffix('s')) {
        (Some(ms), _) => Ok(Duration::from_millis(number(ms)?)),
        (None, Some(s)) => Ok(Duration::from_secs(number(s)?)),
        _ => Err(format!("`{text}` is not a duration like 200ms or 1s")),
    }
}

impl SimulateArgs {
    /// The simulator configuration these flags describe.
    pub fn to_config(&self) -> SimConfig {
        let end_time = self.end_time.map(|ms| {
            if ms >= 0 {
                UNIX_EPOCH + Duration::from_millis(ms as u64)
            } else {
                UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
            }
        });
        SimConfig {
            bind: self.bind,
            port: self.port,
            events: self.events,
            seed: self.seed,
            token_ttl: Duration::from_secs(self.token_ttl),
            credentials: Credentials {
                application_id: self.application_id.clone(),
                shared_secret: self.shared_secret.clone(),
                name: DEMO_APPLICATION_NAME.to_string(),
            },
            end_time,
            span: Duration::from_secs(self.span_hours.saturating_mul(3600)),
            faults: FaultConfig {
                kinds: self.faults.0.clone(),
                rate: self.fault_rate,
                slow_delay: Duration::from_millis(self.slow_ms),
                ..FaultConfig::default()
            },
            issuance_share: self.issuance_share,
            accept_credentials_header: self.accept_credentials_header,
            page_latency: self.page_latency,
            ..SimConfig::default()
        }
    }
}

/// `engine simulate`: serves until Ctrl-C. Exit code 2 for a bad configuration, 3 when the
/// server cannot run.
pub fn main(args: SimulateArgs) -> ExitCode {
    let config = args.to_config();
    if let Err(e) = config.validate() {
        eprintln!("engine simulate: {e}");
        return ExitCode::from(2);
    }
    if !config.bind.is_loopback() {
        eprintln!(
            "engine simulate: warning: listening on {}, not loopback; the demo credentials are public",
            config.bind
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("engine simulate: cannot start the runtime: {e}");
            return ExitCode::from(3);
        }
    };
    runtime.block_on(async move {
        let sim = match start(config).await {
            Ok(sim) => sim,
            Err(e @ SimError::Config(_)) => {
                eprintln!("engine simulate: {e}");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("engine simulate: {e}");
                return ExitCode::from(3);
            }
        };
        let secret_note = if sim.credentials().shared_secret == DEMO_SHARED_SECRET {
            "demo sharedSecret: see `engine simulate --help`"
        } else {
            "sharedSecret as given"
        };
        println!(
            "Entrust IDaaS simulator listening on {} applicationId={} ({secret_note})",
            sim.base_url(),
            sim.credentials().application_id
        );
        println!(
            "Any other host name it is sent to (e.g. Host: t01.example.trustedauth.com:{}) is a tenant of its own",
            sim.addr().port()
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("engine simulate: cannot wait for Ctrl-C: {e}");
        }
        sim.shutdown().await;
        ExitCode::SUCCESS
    })
}
