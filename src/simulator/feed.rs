//! Hostile faults: a SIEM feed that misbehaves the way independent servers do rather than
//! failing a request. Each is decided per request like the other faults, but none is part of
//! `all` (`hostile` enables them together): a client that trusts the server's paging, filters
//! or order repeats or loses records under them, so they are for clients that do not.
//!
//! * `cursor-loop`: a cursor request is answered with its page and, as `nextCursor`, the very
//!   cursor it was sent (followed, the same page comes back forever).
//! * `empty-pages`: a cursor request is answered with no records and the same cursor.
//! * `newest-first`: a page's records come newest first.
//! * `unsorted`: a page also holds, first, the newest record of the query's time range, ahead
//!   of its turn (its own page returns it again): a client that moves its resume point to each
//!   record's time jumps to the end of the window.
//! * `out-of-window`: a page also holds the tenant's oldest and newest records, outside the
//!   query's time range (real records, which their own windows return too).
//! * `far-future`: a page also holds a record dated 9999-12-31 that the tenant does not hold.
//! * `reused-ids`: a page also holds a copy of its newest record under the id of one of its
//!   records 40 s to 4 min older (an id reused with other content).
//! * `ignore-time-filter`: a new query is answered as if it had no time bounds.
//! * `coarse-time-filter`: a new query's `startTime` is rounded down to the hour.
//!
//! With every hostile fault, a client that drops what lies outside the window it asked for,
//! detects paging without progress, and never delivers an id twice reads exactly
//! [`super::SimHandle::record_ids`].

use serde_json::Value;

use super::faults::Fault;
use super::query::SiemQuery;
use super::tenant::Tenant;

/// The id of the far-future record a `far-future` page carries.
pub const FAR_FUTURE_PREFIX: &str = "far-future-";

/// Widens or coarsens a new query's time range (`ignore-time-filter`, `coarse-time-filter`).
pub fn query(fault: Option<Fault>, q: &mut SiemQuery) -> bool {
    match fault {
        Some(Fault::IgnoreTimeFilter) => {
            q.start_ms = i64::MIN / 2;
            q.end_ms = None;
            true
        }
        Some(Fault::CoarseTimeFilter) => {
            let rounded = q.start_ms.div_euclid(3_600_000) * 3_600_000;
            let changed = rounded != q.start_ms;
            q.start_ms = rounded;
            changed
        }
        _ => false,
    }
}

/// The cursor a request body carries.
pub fn request_cursor(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("cursor").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Rewrites a SIEM page (`{paging, results}`) for a page fault; `None` when it does not apply.
pub fn page(
    fault: Option<Fault>,
    json: &[u8],
    cursor: Option<&str>,
    tenant: &Tenant,
    seq: u64,
    query_end_ms: i64,
) -> Option<Vec<u8>> {
    let fault = fault?;
    let mut page: Value = serde_json::from_slice(json).ok()?;
    let results = page.get_mut("results")?.as_array_mut()?;
    match fault {
        Fault::CursorLoop => {
            page["paging"]["nextCursor"] = Value::String(cursor?.to_string());
        }
        Fault::EmptyPages => {
            results.clear();
            page["paging"]["nextCursor"] = Value::String(cursor?.to_string());
        }
        Fault::NewestFirst => {
            if results.len() < 2 {
                return None;
            }
            results.reverse();
        }
        Fault::Unsorted => {
            // The newest record of the query's range, ahead of its turn (its own page returns
            // it again).
            let last = tenant.last_at_or_before(query_end_ms)?;
            if results.iter().any(|x| x["id"] == Value::String(last.event.id.clone())) {
                return None;
            }
            results.insert(0, serde_json::to_value(&last.event).ok()?);
        }
        Fault::OutOfWindow => {
            let (first, last) = (tenant.first()?, tenant.last()?);
            for r in [first, last] {
                if !results.iter().any(|x| x["id"] == Value::String(r.event.id.clone())) {
                    results.push(serde_json::to_value(&r.event).ok()?);
                }
            }
        }
        Fault::FarFuture => {
            let mut copy = results.first()?.clone();
            copy["id"] = Value::String(format!("{FAR_FUTURE_PREFIX}{seq}"));
            copy["eventTime"] = Value::String("9999-12-31T23:59:59Z".into());
            results.insert(0, copy);
        }
        Fault::ReusedIds => {
            // The page's newest record again, under the id of one of its records 40 s to 4 min
            // older: an id reused with other content, within an overlap of the original.
            let time = |v: &Value| v["eventTime"].as_str().and_then(|t| super::time::parse_timestamp(t).ok());
            let newest = results.iter().filter_map(|r| time(r).map(|t| (t, r))).max_by_key(|(t, _)| *t)?;
            let (t_new, newest) = (newest.0, newest.1.clone());
            let older = results.iter().find(|r| time(r).is_some_and(|t| (40_000..=240_000).contains(&(t_new - t))))?;
            let mut copy = newest;
            copy["id"] = older["id"].clone();
            copy["message"] = Value::String("reused id, other content".into());
            results.push(copy);
        }
        _ => return None,
    }
    serde_json::to_vec(&page).ok()
}
