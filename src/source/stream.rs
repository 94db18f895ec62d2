//! Streams of a source spec: the endpoint, request template, where records, ids and times are
//! in a response, and the windowing settings (window size, overlap, settle delay, page size,
//! poll interval, bound format, first-run look-back).

use super::auth::dotted;
use super::duration::parse_duration;
use super::paging::{self, PagingSpec};
use super::template::Template;
use super::timefmt::TimeFormat;
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind, Span};
use crate::yaml::{MapReader, Node, NodeValue, wrong_type};
use std::time::Duration;

pub(crate) const STREAM_KEYS: &[&str] = &[
    "description",
    "method",
    "path",
    "body",
    "query",
    "paging",
    "records",
    "record_id",
    "event_time",
    "dispatch",
    "time_format",
    "page_size",
    "window",
    "overlap",
    "settle_delay",
    "poll_interval",
    "lookback",
    "stall_pages",
    "reconcile",
    "concurrency",
    "requests_per_second",
];

pub(crate) const LOOKBACK_KEYS: &[&str] = &["param", "max"];
pub(crate) const RECONCILE_KEYS: &[&str] = &["every", "span"];

/// One stream of records.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub name: String,
    pub method: String,
    pub path: String,
    pub body: Option<Template>,
    pub query: Vec<(String, Template)>,
    pub paging: PagingSpec,
    /// Dotted path of the record list in a response (`results`).
    pub records: Vec<String>,
    pub record_id: Vec<String>,
    pub event_time: Vec<String>,
    /// The record field the mappings dispatch on first (`eventCategory`); informative.
    pub dispatch: Option<String>,
    pub time_format: TimeFormat,
    pub page_size: u32,
    pub window: Duration,
    pub overlap: Duration,
    pub settle_delay: Duration,
    pub poll_interval: Duration,
    /// The parameter holding the first run's look-back (an ISO-8601 duration), and its maximum.
    pub lookback: Option<Lookback>,
    /// Pages in a row that bring nothing new before paging a window counts as stalled.
    pub stall_pages: u32,
    /// A periodic re-read of the recent past for records written later than the overlap.
    pub reconcile: Option<Reconcile>,
    /// Windows read at once during a catch-up (1: one after the other).
    pub concurrency: usize,
    /// At most this many requests per second to the API's host (shared by its streams).
    pub requests_per_second: Option<f64>,
    pub span: Span,
}

/// A reconciliation re-read: every `every`, the last `span` before the overlap is read again;
/// records not delivered yet are delivered, the others dropped by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconcile {
    pub every: Duration,
    pub span: Duration,
}

#[derive(Debug, Clone)]
pub struct Lookback {
    pub param: String,
    pub max: Duration,
    pub span: Span,
}

/// Pages in a row without anything new before a window's paging counts as stalled.
pub const DEFAULT_STALL_PAGES: u32 = 10;

/// The most windows a stream reads at once.
pub const MAX_CONCURRENCY: usize = 64;

fn duration(r: &MapReader, key: &str, default: Duration, diags: &mut Diagnostics) -> Duration {
    match r.str(key, diags) {
        Some((text, span)) => parse_duration(&text).unwrap_or_else(|| {
            diags.push(Diagnostic::new(ErrorKind::BadDuration { key: key.into(), value: text }).at(span));
            default
        }),
        None => default,
    }
}

fn required(r: &MapReader, key: &str, help: &str, diags: &mut Diagnostics) -> Option<String> {
    let v = r.str(key, diags).map(|(s, _)| s);
    if !r.has(key) {
        diags.push(r.missing(key).help(help.to_string()));
    }
    v
}

pub fn decode(name: &str, span: Span, node: &Node, diags: &mut Diagnostics) -> Option<StreamSpec> {
    let r = MapReader::new(node, format!("stream `{name}`"), STREAM_KEYS, diags)?;
    let method = r.str("method", diags).map(|(m, _)| m.to_ascii_uppercase()).unwrap_or_else(|| "POST".into());
    if !matches!(method.as_str(), "GET" | "POST") {
        diags.push(
            Diagnostic::new(ErrorKind::InvalidValue {
                key: "method".into(),
                reason: format!("`{method}` is not GET or POST"),
            })
            .at(r.node("method").map(|n| n.span.clone()).unwrap_or_else(|| span.clone())),
        );
    }
    let path = required(&r, "path", "the endpoint path, e.g. `path: /api/web/v2/reports/auditeventspaged/siem`", diags);
    let body = r.node("body").map(|n| Template::decode(n, diags));
    let mut query = Vec::new();
    if let Some(entries) = r.map("query", diags) {
        for (k, v) in entries {
            query.push((k.name.clone(), Template::decode(v, diags)));
        }
    }
    let paging = match r.node("paging") {
        Some(n) => paging::decode(n, diags),
        None => Some(PagingSpec::Single),
    };
    if matches!(paging, Some(PagingSpec::LinkHeader { .. })) && method != "GET" {
        diags.push(
            Diagnostic::new(ErrorKind::InvalidValue {
                key: "link_header".into(),
                reason: "a `Link` header's next page is fetched by GET; the stream's method is POST".into(),
            })
            .at(r.node("paging").map(|n| n.span.clone()).unwrap_or_else(|| span.clone()))
            .help("add `method: GET`, or page by `cursor`, `offset` or `page`"),
        );
    }
    let records = required(&r, "records", "where a response holds the record list, e.g. `records: results`", diags);
    let record_id = required(&r, "record_id", "the unique id of a record, e.g. `record_id: id`", diags);
    let event_time = required(&r, "event_time", "the time of a record, e.g. `event_time: eventTime`", diags);
    let dispatch = r.str("dispatch", diags).map(|(s, _)| s);
    let time_format = match r.str("time_format", diags) {
        Some((name, span)) => TimeFormat::from_name(&name).or_else(|| {
            let help = crate::diagnostic::did_you_mean(&name, TimeFormat::NAMES.iter().copied())
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| format!("one of: {}", TimeFormat::NAMES.join(", ")));
            diags.push(
                Diagnostic::new(ErrorKind::InvalidValue {
                    key: "time_format".into(),
                    reason: format!("unknown time format `{name}`"),
                })
                .at(span)
                .help(help),
            );
            None
        }),
        None => Some(TimeFormat::IsoSeconds),
    };
    let page_size = match r.node("page_size") {
        Some(n) => match &n.value {
            NodeValue::Int(i) if (1..=100_000).contains(i) => *i as u32,
            NodeValue::Int(_) => {
                diags.push(
                    Diagnostic::new(ErrorKind::InvalidValue {
                        key: "page_size".into(),
                        reason: "must be between 1 and 100000".into(),
                    })
                    .at(n.span.clone()),
                );
                100
            }
            _ => {
                diags.push(wrong_type("page_size", "an integer", n));
                100
            }
        },
        None => 100,
    };
    let window = duration(&r, "window", Duration::from_secs(3600), diags);
    let overlap = duration(&r, "overlap", Duration::from_secs(300), diags);
    let settle_delay = duration(&r, "settle_delay", Duration::from_secs(60), diags);
    let poll_interval = duration(&r, "poll_interval", Duration::from_secs(60), diags);
    if window <= overlap {
        diags.push(
            Diagnostic::new(ErrorKind::InvalidValue {
                key: "window".into(),
                reason: "must be longer than `overlap`, or windows would never advance".into(),
            })
            .at(r
                .node("window")
                .or(r.node("overlap"))
                .map(|n| n.span.clone())
                .unwrap_or_else(|| span.clone())),
        );
    }
    if poll_interval < Duration::from_secs(1)
        && let Some(n) = r.node("poll_interval")
    {
        diags.push(
            Diagnostic::new(ErrorKind::InvalidValue {
                key: "poll_interval".into(),
                reason: "must be at least PT1S".into(),
            })
            .at(n.span.clone()),
        );
    }
    let lookback = match r.node("lookback") {
        Some(n) => {
            let l = MapReader::new(n, format!("stream `{name}` lookback"), LOOKBACK_KEYS, diags);
            l.and_then(|l| {
                let param = l.str("param", diags);
                if !l.has("param") {
                    diags.push(l.missing("param").help("the parameter holding the look-back, e.g. `param: range`"));
                }
                let max = duration(&l, "max", Duration::from_secs(90 * 86_400), diags);
                param.map(|(param, span)| Lookback { param, max, span })
            })
        }
        None => None,
    };
    let stall_pages = match r.node("stall_pages") {
        Some(n) => match &n.value {
            NodeValue::Int(i) if (1..=10_000).contains(i) => *i as u32,
            NodeValue::Int(_) => {
                diags.push(
                    Diagnostic::new(ErrorKind::InvalidValue {
                        key: "stall_pages".into(),
                        reason: "must be between 1 and 10000".into(),
                    })
                    .at(n.span.clone()),
                );
                DEFAULT_STALL_PAGES
            }
            _ => {
                diags.push(wrong_type("stall_pages", "an integer", n));
                DEFAULT_STALL_PAGES
            }
        },
        None => DEFAULT_STALL_PAGES,
    };
    let reconcile = r.node("reconcile").and_then(|n| {
        let rr = MapReader::new(n, format!("stream `{name}` reconcile"), RECONCILE_KEYS, diags)?;
        for key in RECONCILE_KEYS {
            if !rr.has(key) {
                diags.push(rr.missing(key).help("for example `reconcile: { every: PT1H, span: P1D }`"));
            }
        }
        let every = duration(&rr, "every", Duration::from_secs(3600), diags);
        let span_ = duration(&rr, "span", Duration::from_secs(86_400), diags);
        if span_ <= overlap || every < Duration::from_secs(60) {
            diags.push(
                Diagnostic::new(ErrorKind::InvalidValue {
                    key: "reconcile".into(),
                    reason: "`span` must be longer than `overlap`, and `every` at least PT1M".into(),
                })
                .at(n.span.clone()),
            );
        }
        Some(Reconcile { every, span: span_ })
    });
    let concurrency = match r.node("concurrency") {
        Some(n) => match &n.value {
            NodeValue::Int(i) if (1..=MAX_CONCURRENCY as i64).contains(i) => *i as usize,
            NodeValue::Int(_) => {
                diags.push(
                    Diagnostic::new(ErrorKind::InvalidValue {
                        key: "concurrency".into(),
                        reason: format!("must be between 1 and {MAX_CONCURRENCY}"),
                    })
                    .at(n.span.clone()),
                );
                1
            }
            _ => {
                diags.push(wrong_type("concurrency", "an integer", n));
                1
            }
        },
        None => 1,
    };
    let requests_per_second = match r.node("requests_per_second") {
        Some(n) => match &n.value {
            NodeValue::Int(i) if *i > 0 => Some(*i as f64),
            NodeValue::Float(f) if *f > 0.0 && f.is_finite() => Some(*f),
            NodeValue::Int(_) | NodeValue::Float(_) => {
                diags.push(
                    Diagnostic::new(ErrorKind::InvalidValue {
                        key: "requests_per_second".into(),
                        reason: "must be a number above 0".into(),
                    })
                    .at(n.span.clone()),
                );
                None
            }
            _ => {
                diags.push(wrong_type("requests_per_second", "a number", n));
                None
            }
        },
        None => None,
    };
    Some(StreamSpec {
        name: name.to_string(),
        method,
        path: path?,
        body,
        query,
        paging: paging?,
        records: dotted(&records?),
        record_id: dotted(&record_id?),
        event_time: dotted(&event_time?),
        dispatch,
        time_format: time_format?,
        page_size,
        window,
        overlap,
        settle_delay,
        poll_interval,
        lookback,
        stall_pages,
        reconcile,
        concurrency,
        requests_per_second,
        span,
    })
}
