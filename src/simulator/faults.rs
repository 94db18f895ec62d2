//! Fault injection: the fault kinds, their `--faults` names, and the seeded per-request scheduler.
//!
//! Request faults are decided per API request from `(seed, request number)`, so a client that
//! sends the same sequence of requests meets the same faults. Kinds are drawn from a shuffled
//! deck, so every enabled kind shows up within the first few injected faults. At most
//! [`FaultConfig::max_consecutive`] failing responses follow each other, so a retrying client
//! always makes progress. No fault ever removes a record from the tenant.
//!
//! [`Fault::REFUSED`] are faults a correct client must refuse rather than ride out (a redirect
//! to another origin): they stop the run, so `all` leaves them out.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::rng::Rng;

/// One kind of injected misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// `429` with a `Retry-After` header.
    TooManyRequests,
    /// `429` without `Retry-After`.
    TooManyRequestsNoRetryAfter,
    /// `500`.
    InternalServerError,
    /// `503` (with `Retry-After`).
    ServiceUnavailable,
    /// The response is delayed by [`FaultConfig::slow_delay`].
    Slow,
    /// The presented token is invalidated before its time: `401 invalid_session_token`.
    ExpireToken,
    /// 1–3 records are inserted behind the cursor of a SIEM page request (a few seconds to
    /// minutes before the cursor position); that cursor never returns them.
    LateRecords,
    /// A SIEM page starts with the last record of the previous page again (same id).
    EdgeDuplicates,
    /// Some records' `eventTime` uses the `2018-05-28T19:07:50.328+0000` form.
    TimeVariant,
    /// Some records' `eventTime` has no zone designator (`2025-12-01T20:10:04`, meaning UTC).
    TimeNoZone,
    /// A `200` whose JSON body is cut short.
    Truncated,
    /// A `200` whose body is complete but not JSON (its opening brace is a bracket).
    Malformed,
    /// The connection is closed without an answer (the client sees a reset).
    ConnectionReset,
    /// A request with a cursor is answered `400 invalid_cursor`, as for a cursor the service
    /// no longer knows; reading again from the query's start works.
    InvalidCursor,
    /// Some records are served, every time, as bytes a strict parser refuses (invalid UTF-8,
    /// a lone surrogate, `1e400`, a 30-digit integer, deep nesting) or without a usable id.
    /// Not part of `all`: a client must dead-letter these records, not deliver them.
    PoisonRecords,
    /// A SIEM page without records is answered without its `results` key (`{"paging": …}`).
    NoResultsKey,
    /// The answer quotes the credentials it was sent, where a message cut at 200 characters
    /// would split them: a login `503` HTML page quoting the shared secret across its 200th
    /// character, an audit `401` whose `errorMessage` quotes the `Authorization` header, an
    /// audit `500` quoting the token across its 200th character.
    EchoCredentials,
    /// A `200` whose body is an `ErrorInfo` (`errorCode`, `errorMessage`) instead of a page.
    OkErrorInfo,
    /// Every login answer's `expirationTime` is not a date-time.
    BadExpiry,
    /// The login is answered with a redirect (307, 308, 301, 302, 303 in turn) to the same
    /// path on another port of loopback, where a listener records what it receives.
    RedirectLogin,
    /// An audit call is answered with such a redirect.
    RedirectAudit,
    /// Faults of a server that misbehaves without failing a request (see `feed.rs`), not part
    /// of `all`.
    CursorLoop,
    EmptyPages,
    NewestFirst,
    Unsorted,
    OutOfWindow,
    FarFuture,
    ReusedIds,
    IgnoreTimeFilter,
    CoarseTimeFilter,
}

impl Fault {
    /// Faults a correct client must refuse (not part of `all`).
    pub const REFUSED: [Fault; 2] = [Fault::RedirectLogin, Fault::RedirectAudit];

    /// What `all` enables: every fault a correct client rides out.
    pub const ALL: [Fault; 17] = [
        Fault::TooManyRequests,
        Fault::TooManyRequestsNoRetryAfter,
        Fault::InternalServerError,
        Fault::ServiceUnavailable,
        Fault::Slow,
        Fault::ExpireToken,
        Fault::LateRecords,
        Fault::EdgeDuplicates,
        Fault::TimeVariant,
        Fault::TimeNoZone,
        Fault::Truncated,
        Fault::Malformed,
        Fault::ConnectionReset,
        Fault::InvalidCursor,
        Fault::EchoCredentials,
        Fault::OkErrorInfo,
        Fault::BadExpiry,
    ];

    /// Faults named on their own, not in `all`: records a client cannot deliver, pages
    /// outside the documented shape.
    pub const BAD_DATA: [Fault; 2] = [Fault::PoisonRecords, Fault::NoResultsKey];

    /// Faults of a server that misbehaves without failing a request; `hostile` enables them.
    pub const HOSTILE: [Fault; 9] = [
        Fault::CursorLoop,
        Fault::EmptyPages,
        Fault::NewestFirst,
        Fault::Unsorted,
        Fault::OutOfWindow,
        Fault::FarFuture,
        Fault::ReusedIds,
        Fault::IgnoreTimeFilter,
        Fault::CoarseTimeFilter,
    ];

    /// The name used in `--faults`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::TooManyRequests => "429",
            Fault::TooManyRequestsNoRetryAfter => "429-no-retry-after",
            Fault::InternalServerError => "500",
            Fault::ServiceUnavailable => "503",
            Fault::Slow => "slow",
            Fault::ExpireToken => "expire-token",
            Fault::LateRecords => "late-records",
            Fault::EdgeDuplicates => "edge-duplicates",
            Fault::TimeVariant => "time-variant",
            Fault::TimeNoZone => "time-no-zone",
            Fault::Truncated => "truncated",
            Fault::Malformed => "malformed",
            Fault::ConnectionReset => "reset",
            Fault::InvalidCursor => "invalid-cursor",
            Fault::PoisonRecords => "poison-records",
            Fault::NoResultsKey => "no-results-key",
            Fault::EchoCredentials => "echo-credentials",
            Fault::OkErrorInfo => "ok-error-info",
            Fault::BadExpiry => "bad-expiry",
            Fault::RedirectLogin => "redirect-login",
            Fault::RedirectAudit => "redirect-audit",
            Fault::CursorLoop => "cursor-loop",
            Fault::EmptyPages => "empty-pages",
            Fault::NewestFirst => "newest-first",
            Fault::Unsorted => "unsorted",
            Fault::OutOfWindow => "out-of-window",
            Fault::FarFuture => "far-future",
            Fault::ReusedIds => "reused-ids",
            Fault::IgnoreTimeFilter => "ignore-time-filter",
            Fault::CoarseTimeFilter => "coarse-time-filter",
        }
    }

    /// Faults that shape the generated data, or every answer of a kind, rather than the
    /// answer to one request chosen by the scheduler.
    pub fn is_data_fault(self) -> bool {
        matches!(
            self,
            Fault::TimeVariant | Fault::TimeNoZone | Fault::PoisonRecords | Fault::NoResultsKey | Fault::BadExpiry
        )
    }

    /// Faults whose response is an error (or unusable), which the client must retry.
    pub fn fails_request(self) -> bool {
        matches!(
            self,
            Fault::TooManyRequests
                | Fault::TooManyRequestsNoRetryAfter
                | Fault::InternalServerError
                | Fault::ServiceUnavailable
                | Fault::ExpireToken
                | Fault::Truncated
                | Fault::Malformed
                | Fault::ConnectionReset
                | Fault::InvalidCursor
                | Fault::EchoCredentials
                | Fault::OkErrorInfo
                | Fault::RedirectLogin
                | Fault::RedirectAudit
        )
    }

    /// Whether only rare requests can carry this kind: logins, or the first page of a query.
    fn is_narrow(self) -> bool {
        matches!(self, Fault::RedirectLogin | Fault::IgnoreTimeFilter | Fault::CoarseTimeFilter)
    }

    fn applies_to(self, request: &RequestKind) -> bool {
        match self {
            Fault::TimeVariant | Fault::TimeNoZone | Fault::PoisonRecords | Fault::NoResultsKey | Fault::BadExpiry => {
                false
            }
            Fault::RedirectLogin => request.endpoint == Endpoint::Login,
            Fault::ExpireToken | Fault::OkErrorInfo | Fault::RedirectAudit => request.endpoint != Endpoint::Login,
            Fault::LateRecords | Fault::EdgeDuplicates => request.endpoint == Endpoint::Siem && request.has_cursor,
            Fault::InvalidCursor => request.endpoint != Endpoint::Login && request.has_cursor,
            Fault::CursorLoop | Fault::EmptyPages => request.endpoint == Endpoint::Siem && request.has_cursor,
            Fault::IgnoreTimeFilter | Fault::CoarseTimeFilter => {
                request.endpoint == Endpoint::Siem && !request.has_cursor
            }
            Fault::NewestFirst | Fault::Unsorted | Fault::OutOfWindow | Fault::FarFuture | Fault::ReusedIds => {
                request.endpoint == Endpoint::Siem
            }
            _ => true,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let known = || Fault::ALL.iter().chain(&Fault::BAD_DATA).chain(&Fault::REFUSED).chain(&Fault::HOSTILE).copied();
        known().find(|f| f.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            let names: Vec<&str> = known().map(|f| f.name()).collect();
            format!("unknown fault '{}'; known faults: {}, all or hostile", s.trim(), names.join(", "))
        })
    }
}

/// Parses a comma-separated fault list such as `429,500,slow`; `all` enables every kind but
/// the hostile ones, `hostile` those, `none` or an empty string none.
pub fn parse_fault_list(list: &str) -> Result<BTreeSet<Fault>, String> {
    let mut set = BTreeSet::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item.eq_ignore_ascii_case("all") {
            set.extend(Fault::ALL);
        } else if item.eq_ignore_ascii_case("hostile") {
            set.extend(Fault::HOSTILE);
        } else if !item.eq_ignore_ascii_case("none") {
            set.insert(item.parse::<Fault>()?);
        }
    }
    Ok(set)
}

/// Fault settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Enabled kinds (empty: no faults).
    pub kinds: BTreeSet<Fault>,
    /// Probability that an API request gets a fault, and the share of records with a
    /// varied `eventTime` form. Clamped to `0.0..=1.0`.
    pub rate: f64,
    /// Delay of a `slow` response.
    pub slow_delay: Duration,
    /// `Retry-After` seconds sent with `429` and `503`.
    pub retry_after_secs: u64,
    /// Most failing responses in a row before a request is served cleanly.
    pub max_consecutive: u32,
    /// Late records are placed up to this far behind the cursor position (at least 1 s).
    pub late_max_behind: Duration,
    /// The `poison-records` variants served (names of [`POISON_VARIANTS`]); empty: all.
    pub poison_variants: Vec<String>,
}

pub use super::poison::VARIANTS as POISON_VARIANTS;

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            kinds: BTreeSet::new(),
            rate: 0.1,
            slow_delay: Duration::from_millis(1500),
            retry_after_secs: 1,
            max_consecutive: 3,
            late_max_behind: Duration::from_secs(300),
            poison_variants: Vec::new(),
        }
    }
}

/// Which API endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Login,
    Siem,
    Search,
}

/// What the scheduler needs to know about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestKind {
    pub endpoint: Endpoint,
    pub has_cursor: bool,
}

const DECIDE_STREAM: u64 = 0xfa01_0000_0000_0000;
const DECK_STREAM: u64 = 0xfa02_0000_0000_0000;

/// The seeded per-request fault scheduler, with counts of what it injected.
#[derive(Debug)]
pub struct FaultScheduler {
    seed: u64,
    rate: f64,
    max_consecutive: u32,
    request_kinds: Vec<Fault>,
    requests: u64,
    deck: Vec<Fault>,
    rounds: u64,
    consecutive_failures: u32,
    counts: BTreeMap<Fault, u64>,
    paused: bool,
}

impl FaultScheduler {
    pub fn new(seed: u64, config: &FaultConfig) -> Self {
        FaultScheduler {
            seed,
            rate: config.rate.clamp(0.0, 1.0),
            max_consecutive: config.max_consecutive.max(1),
            request_kinds: config.kinds.iter().copied().filter(|f| !f.is_data_fault()).collect(),
            requests: 0,
            deck: Vec::new(),
            rounds: 0,
            consecutive_failures: 0,
            counts: BTreeMap::new(),
            paused: false,
        }
    }

    /// Decides the fault (if any) for the next API request. The caller reports with
    /// [`FaultScheduler::record`] once the fault was actually applied.
    pub fn decide(&mut self, request: RequestKind) -> Option<Fault> {
        if self.paused {
            return None;
        }
        let n = self.requests;
        self.requests += 1;
        if self.request_kinds.is_empty() {
            return None;
        }
        let mut roll = Rng::derive(self.seed, DECIDE_STREAM ^ n);
        let wants_fault = roll.chance(self.rate);
        let fault = if !wants_fault {
            None
        } else if self.consecutive_failures >= self.max_consecutive {
            // Let this one through so that a retrying client makes progress.
            None
        } else {
            self.draw(request, &mut roll)
        };
        match fault {
            Some(f) if f.fails_request() => self.consecutive_failures += 1,
            _ => self.consecutive_failures = 0,
        }
        fault
    }

    fn draw(&mut self, request: RequestKind, roll: &mut Rng) -> Option<Fault> {
        if self.deck.is_empty() {
            let mut round = self.request_kinds.clone();
            Rng::derive(self.seed, DECK_STREAM ^ self.rounds).shuffle(&mut round);
            self.rounds += 1;
            self.deck = round;
        }
        // Of the kinds left in this round, one that only rare requests can carry (a login, a
        // query's first page) goes first, so that every kind is met however few such
        // requests a client makes; the shuffled order decides between equals.
        let pos = self
            .deck
            .iter()
            .enumerate()
            .filter(|(_, f)| f.applies_to(&request))
            .min_by_key(|(i, f)| (!f.is_narrow(), *i));
        if let Some((pos, _)) = pos {
            return Some(self.deck.remove(pos));
        }
        let applicable: Vec<Fault> = self.request_kinds.iter().copied().filter(|f| f.applies_to(&request)).collect();
        roll.pick(&applicable).copied()
    }

    /// While paused, no request gets a fault and the request numbering stands still.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// Counts a fault that was applied.
    pub fn record(&mut self, fault: Fault) {
        self.record_n(fault, 1);
    }

    /// Counts `n` applications of a fault (data faults count the records they shaped).
    pub fn record_n(&mut self, fault: Fault, n: u64) {
        if n > 0 {
            *self.counts.entry(fault).or_insert(0) += n;
        }
    }

    pub fn counts(&self) -> BTreeMap<Fault, u64> {
        self.counts.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kinds: &str, rate: f64) -> FaultConfig {
        FaultConfig { kinds: parse_fault_list(kinds).expect("valid list"), rate, ..FaultConfig::default() }
    }

    const SIEM_PAGE: RequestKind = RequestKind { endpoint: Endpoint::Siem, has_cursor: true };

    #[test]
    fn parses_names() {
        let set = parse_fault_list("429, 429-no-retry-after,500,503,slow,expire-token").expect("ok");
        assert_eq!(set.len(), 6);
        let set = parse_fault_list("malformed,reset,invalid-cursor").expect("ok");
        assert_eq!(set, BTreeSet::from([Fault::Malformed, Fault::ConnectionReset, Fault::InvalidCursor]));
        assert_eq!(parse_fault_list("all").expect("ok").len(), Fault::ALL.len());
        assert!(parse_fault_list("").expect("ok").is_empty());
        assert!(parse_fault_list("none").expect("ok").is_empty());
        let err = parse_fault_list("429,teapot").expect_err("unknown");
        assert!(err.contains("teapot") && err.contains("late-records"));
        for f in Fault::ALL.into_iter().chain(Fault::BAD_DATA).chain(Fault::REFUSED).chain(Fault::HOSTILE) {
            assert_eq!(f.name().parse::<Fault>(), Ok(f));
        }
        let all = parse_fault_list("all").expect("ok");
        assert!(!all.contains(&Fault::PoisonRecords));
        assert!(Fault::REFUSED.iter().all(|f| !all.contains(f)), "`all` is what a client rides out");
        assert_eq!(parse_fault_list("hostile").expect("ok"), Fault::HOSTILE.into_iter().collect());
    }

    #[test]
    fn same_seed_same_decisions() {
        let run = |seed| {
            let mut s = FaultScheduler::new(seed, &config("all", 0.3));
            (0..200).map(|_| s.decide(SIEM_PAGE)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn every_kind_appears_early_and_rate_is_respected() {
        let mut s = FaultScheduler::new(11, &config("all", 0.25));
        let decisions: Vec<Option<Fault>> = (0..400).map(|_| s.decide(SIEM_PAGE)).collect();
        let seen: BTreeSet<Fault> = decisions.iter().flatten().copied().collect();
        let request_kinds: BTreeSet<Fault> = Fault::ALL.into_iter().filter(|f| !f.is_data_fault()).collect();
        assert_eq!(seen, request_kinds);
        let n = decisions.iter().flatten().count();
        assert!((60..=140).contains(&n), "{n} faults in 400 requests at rate 0.25");
    }

    #[test]
    fn failing_faults_never_exceed_the_cap() {
        let mut s = FaultScheduler::new(3, &config("500,503", 1.0));
        let mut run = 0;
        for _ in 0..100 {
            match s.decide(SIEM_PAGE) {
                Some(_) => {
                    run += 1;
                    assert!(run <= 3);
                }
                None => run = 0,
            }
        }
    }

    #[test]
    fn cursor_faults_only_for_siem_cursor_requests() {
        let mut s = FaultScheduler::new(5, &config("late-records,edge-duplicates,expire-token,invalid-cursor", 1.0));
        for _ in 0..50 {
            let login = s.decide(RequestKind { endpoint: Endpoint::Login, has_cursor: false });
            assert_eq!(login, None);
            let first_page = s.decide(RequestKind { endpoint: Endpoint::Siem, has_cursor: false });
            assert!(matches!(first_page, None | Some(Fault::ExpireToken)));
        }
    }

    #[test]
    fn pausing_suspends_and_resumes_the_sequence() {
        let mut a = FaultScheduler::new(9, &config("all", 0.5));
        let mut b = FaultScheduler::new(9, &config("all", 0.5));
        let first: Vec<_> = (0..10).map(|_| a.decide(SIEM_PAGE)).collect();
        a.set_paused(true);
        assert!((0..20).all(|_| a.decide(SIEM_PAGE).is_none()));
        a.set_paused(false);
        let rest: Vec<_> = (0..10).map(|_| a.decide(SIEM_PAGE)).collect();
        let straight: Vec<_> = (0..20).map(|_| b.decide(SIEM_PAGE)).collect();
        assert_eq!([first, rest].concat(), straight);
    }

    #[test]
    fn no_kinds_no_faults() {
        let mut s = FaultScheduler::new(1, &config("", 1.0));
        assert!((0..50).all(|_| s.decide(SIEM_PAGE).is_none()));
        let mut d = FaultScheduler::new(1, &config("time-variant", 1.0));
        assert!((0..50).all(|_| d.decide(SIEM_PAGE).is_none()));
    }
}
