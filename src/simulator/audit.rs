//! The audit-event endpoints: SIEM feed and search, turning a `SearchParms` body into an `AuditEventPage`.
//!
//! The SIEM feed is always ascending by `(eventTime, id)`; `orderByAttribute` is ignored.
//! With a cursor, the body's search attributes, order and limit are ignored: the cursor
//! carries the original query and limit. `nextCursor` is null when no matching record
//! follows the page; `prevCursor` is null when none precedes it.

use std::cmp::Ordering;
use std::ops::ControlFlow;

use serde::Serialize;

use super::cursor::{self, Cursor, CursorQuery, Direction, Position};
use super::errors::ApiError;
use super::query::{self, SearchQuery, SiemQuery};
use super::record::StoredEvent;
use super::tenant::Tenant;
use super::walk::Seek;

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A new query: from its first record.
    Fresh,
    /// Continuing a cursor.
    From(Direction, Position),
}

/// A resolved SIEM request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiemRequest {
    pub query: SiemQuery,
    pub limit: u8,
    pub start: Start,
}

/// A resolved search request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    pub query: SearchQuery,
    pub limit: u8,
    pub start: Start,
}

fn wrong_endpoint_cursor() -> ApiError {
    ApiError::bad_request(super::errors::codes::INVALID_CURSOR, "the cursor belongs to the other audit-event endpoint")
}

/// Parses a SIEM request body (and its cursor, if any).
pub fn resolve_siem(body: &[u8], cursor_key: u64) -> Result<SiemRequest, ApiError> {
    let parms = query::parse_search_parms(body)?;
    if let Some(text) = parms.cursor.as_deref() {
        let c = cursor::decode(text, cursor_key)?;
        return match c.query {
            CursorQuery::Siem(q) => {
                Ok(SiemRequest { query: q, limit: c.limit, start: Start::From(c.direction, c.position) })
            }
            CursorQuery::Search(_) => Err(wrong_endpoint_cursor()),
        };
    }
    let limit = query::check_limit(parms.limit)?;
    let q = query::siem_query(&parms.attributes)?;
    Ok(SiemRequest { query: q, limit, start: Start::Fresh })
}

/// Parses a search request body (and its cursor, if any).
pub fn resolve_search(body: &[u8], cursor_key: u64) -> Result<SearchRequest, ApiError> {
    let parms = query::parse_search_parms(body)?;
    if let Some(text) = parms.cursor.as_deref() {
        let c = cursor::decode(text, cursor_key)?;
        return match c.query {
            CursorQuery::Search(q) => {
                Ok(SearchRequest { query: q, limit: c.limit, start: Start::From(c.direction, c.position) })
            }
            CursorQuery::Siem(_) => Err(wrong_endpoint_cursor()),
        };
    }
    let limit = query::check_limit(parms.limit)?;
    let q = query::search_query(&parms.attributes, parms.order_by.as_ref())?;
    Ok(SearchRequest { query: q, limit, start: Start::Fresh })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    limit: u8,
    next_cursor: Option<String>,
    prev_cursor: Option<String>,
}

/// One page, ready to serialise. It owns its records: the tenant's chunk they came from may
/// be dropped meanwhile.
pub struct Page {
    pub limit: u8,
    pub results: Vec<StoredEvent>,
    pub next: Option<Cursor>,
    pub prev: Option<Cursor>,
    /// The page starts with the previous page's last record again (edge-duplicate fault).
    pub repeated_edge: bool,
}

impl Page {
    /// The `AuditEventPage` JSON; records the tenant serves as poison are written as their
    /// poison bytes.
    pub fn to_json(&self, cursor_key: u64, tenant: &Tenant) -> Vec<u8> {
        let paging = Paging {
            limit: self.limit,
            next_cursor: self.next.as_ref().map(|c| cursor::encode(c, cursor_key)),
            prev_cursor: self.prev.as_ref().map(|c| cursor::encode(c, cursor_key)),
        };
        let mut out = b"{\"paging\":".to_vec();
        out.extend(serde_json::to_vec(&paging).unwrap_or_default());
        out.extend(b",\"results\":[");
        for (i, r) in self.results.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match tenant.poison_bytes(r) {
                Some(bytes) => out.extend(bytes),
                None => out.extend(serde_json::to_vec(&r.event).unwrap_or_default()),
            }
        }
        out.extend(b"]}");
        out
    }
}

fn siem_position(r: &StoredEvent) -> Position {
    Position { time_ms: r.time_ms, id: r.event.id.clone(), key: String::new() }
}

/// A SIEM page. With `edge_duplicate` (and a forward cursor and a limit of at least 2), the
/// page repeats the previous page's last record first; nothing is skipped.
pub fn siem_page(tenant: &Tenant, req: &SiemRequest, edge_duplicate: bool) -> Page {
    let q = &req.query;
    let limit = usize::from(req.limit);
    let mut picked: Vec<StoredEvent> = Vec::with_capacity(limit);
    let mut repeated_edge = false;
    match &req.start {
        Start::Fresh => {
            collect_forward(tenant, q, Seek::AtOrAfter(q.start_ms), limit, &mut picked);
        }
        Start::From(Direction::Next, pos) => {
            if edge_duplicate
                && limit >= 2
                && let Some(r) = tenant.get(pos.time_ms, &pos.id)
                && q.matches(&r)
            {
                picked.push(r);
                repeated_edge = true;
            }
            // After the position, and not before the query's start.
            let from =
                if pos.time_ms >= q.start_ms { Seek::After(pos.time_ms, &pos.id) } else { Seek::AtOrAfter(q.start_ms) };
            collect_forward(tenant, q, from, limit, &mut picked);
        }
        Start::From(Direction::Prev, pos) => {
            tenant.backward((pos.time_ms, &pos.id), |r| {
                if r.time_ms < q.start_ms || picked.len() >= limit {
                    return ControlFlow::Break(());
                }
                if q.matches(r) {
                    picked.push(r.clone());
                }
                ControlFlow::Continue(())
            });
            picked.reverse();
        }
    }
    let more_after = picked.last().is_some_and(|last| {
        let mut any = false;
        tenant.forward(Seek::After(last.time_ms, &last.event.id), |r| {
            if r.time_ms > q.end() {
                return ControlFlow::Break(());
            }
            any = q.matches(r);
            if any { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
        any
    });
    let more_before = picked.first().is_some_and(|first| {
        let mut any = false;
        tenant.backward((first.time_ms, &first.event.id), |r| {
            if r.time_ms < q.start_ms {
                return ControlFlow::Break(());
            }
            any = q.matches(r);
            if any { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
        any
    });
    let query = CursorQuery::Siem(q.clone());
    let next = picked
        .last()
        .filter(|_| more_after)
        .map(|r| Cursor::new(query.clone(), req.limit, Direction::Next, siem_position(r)));
    let prev = picked
        .first()
        .filter(|_| more_before)
        .map(|r| Cursor::new(query.clone(), req.limit, Direction::Prev, siem_position(r)));
    Page { limit: req.limit, results: picked, next, prev, repeated_edge }
}

fn collect_forward(tenant: &Tenant, q: &SiemQuery, from: Seek<'_>, limit: usize, picked: &mut Vec<StoredEvent>) {
    tenant.forward(from, |r| {
        if picked.len() >= limit || r.time_ms > q.end() {
            return ControlFlow::Break(());
        }
        if q.matches(r) {
            picked.push(r.clone());
        }
        ControlFlow::Continue(())
    });
}

/// The search endpoint's order over `(sort value, time, id)`.
fn search_order(q: &SearchQuery, a: (&str, i64, &str), b: (&str, i64, &str)) -> Ordering {
    let natural = a.cmp(&b);
    if q.order.ascending { natural } else { natural.reverse() }
}

/// A search page: matching records in the requested order. One walk over the query's time
/// range keeps only the page's records (at most the limit), and counts the others.
pub fn search_page(tenant: &Tenant, req: &SearchRequest) -> Page {
    let q = &req.query;
    let limit = usize::from(req.limit);
    let cmp = |a: &(String, i64, String), b: (&str, i64, &str)| search_order(q, (&a.0, a.1, &a.2), b);
    // The page's records, in order: with `Next` (or a fresh query) the first `limit` after
    // the position; with `Prev` the last `limit` before it.
    let (pos, backward) = match &req.start {
        Start::Fresh => (None, false),
        Start::From(direction, pos) => {
            (Some((pos.key.as_str(), pos.time_ms, pos.id.as_str())), *direction == Direction::Prev)
        }
    };
    let mut page: Vec<((String, i64, String), StoredEvent)> = Vec::with_capacity(limit + 1);
    let (mut on_side, mut beyond) = (0usize, 0usize);
    tenant.forward(Seek::AtOrAfter(q.start_ms), |r| {
        if r.time_ms > q.end_ms {
            return ControlFlow::Break(());
        }
        if !q.matches(r) {
            return ControlFlow::Continue(());
        }
        let key = (q.sort_value(&r.event), r.time_ms, r.event.id.as_str());
        let side = match pos {
            None => true,
            Some(p) if backward => search_order(q, key, p) == Ordering::Less,
            Some(p) => search_order(q, key, p) == Ordering::Greater,
        };
        if !side {
            beyond += 1;
            return ControlFlow::Continue(());
        }
        on_side += 1;
        let at = page.partition_point(|(k, _)| cmp(k, key) == Ordering::Less);
        let keep = if backward { page.len() < limit || at > 0 } else { at < limit };
        if keep {
            let owned = (key.0.to_string(), key.1, key.2.to_string());
            page.insert(at, (owned, r.clone()));
            if page.len() > limit {
                // Keep the last `limit` going back, the first going forward.
                if backward {
                    page.remove(0)
                } else {
                    page.remove(limit)
                };
            }
        }
        ControlFlow::Continue(())
    });
    let (more_after, more_before) =
        if backward { (beyond > 0, on_side > page.len()) } else { (on_side > page.len(), pos.is_some() && beyond > 0) };
    let query = CursorQuery::Search(q.clone());
    let position = |(key, _): &((String, i64, String), StoredEvent)| Position {
        time_ms: key.1,
        id: key.2.clone(),
        key: key.0.clone(),
    };
    let next =
        page.last().filter(|_| more_after).map(|p| Cursor::new(query.clone(), req.limit, Direction::Next, position(p)));
    let prev = page
        .first()
        .filter(|_| more_before)
        .map(|p| Cursor::new(query.clone(), req.limit, Direction::Prev, position(p)));
    let results = page.into_iter().map(|(_, r)| r).collect();
    Page { limit: req.limit, results, next, prev, repeated_edge: false }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::config::SimConfig;
    use crate::simulator::query::{Field, Order, SortKey};
    use std::collections::HashSet;
    use std::time::{Duration, UNIX_EPOCH};

    const KEY: u64 = 99;

    fn tenant(events: usize) -> Tenant {
        Tenant::generate(&SimConfig {
            events,
            end_time: Some(UNIX_EPOCH + Duration::from_secs(1_764_619_804)),
            ..SimConfig::default()
        })
    }

    fn siem(start_ms: i64, limit: u8) -> SiemRequest {
        SiemRequest {
            query: SiemQuery { start_ms, end_ms: None, outcomes: vec![], categories: vec![] },
            limit,
            start: Start::Fresh,
        }
    }

    fn ids(p: &Page) -> Vec<String> {
        p.results.iter().map(|r| r.event.id.clone()).collect()
    }

    fn follow(t: &Tenant, mut req: SiemRequest) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let page = siem_page(t, &req, false);
            out.extend(ids(&page));
            match page.next {
                Some(c) => {
                    // Through the wire format, as a client would.
                    let text = cursor::encode(&c, KEY);
                    let c = cursor::decode(&text, KEY).expect("own cursor");
                    req = SiemRequest {
                        query: match c.query {
                            CursorQuery::Siem(q) => q,
                            CursorQuery::Search(_) => unreachable!("siem cursor"),
                        },
                        limit: c.limit,
                        start: Start::From(c.direction, c.position),
                    };
                }
                None => return out,
            }
        }
    }

    #[test]
    fn siem_paging_returns_everything_once_in_order() {
        let t = tenant(537);
        let got = follow(&t, siem(i64::MIN, 100));
        assert_eq!(got, t.ids());
        let got7 = follow(&t, siem(i64::MIN, 7));
        assert_eq!(got7, t.ids());
    }

    #[test]
    fn siem_prev_cursor_walks_back() {
        let t = tenant(250);
        let first = siem_page(&t, &siem(i64::MIN, 100), false);
        assert!(first.prev.is_none());
        let next = first.next.clone().expect("more");
        let second = siem_page(
            &t,
            &SiemRequest { start: Start::From(next.direction, next.position), ..siem(i64::MIN, 100) },
            false,
        );
        let prev = second.prev.clone().expect("something before");
        let back = siem_page(
            &t,
            &SiemRequest { start: Start::From(prev.direction, prev.position), ..siem(i64::MIN, 100) },
            false,
        );
        assert_eq!(ids(&back), ids(&first));
    }

    #[test]
    fn siem_bounds_and_filters() {
        let t = tenant(400);
        let recs = t.records();
        let (a, b) = (recs[100].time_ms, recs[300].time_ms);
        let mut req = siem(a, 100);
        req.query.end_ms = Some(b);
        req.query.categories = vec!["MANAGEMENT".into()];
        req.query.outcomes = vec!["SUCCESS".into()];
        let got: HashSet<String> = follow(&t, req).into_iter().collect();
        let want: HashSet<String> = recs
            .iter()
            .filter(|r| r.time_ms >= a && r.time_ms <= b)
            .filter(|r| r.event.event_category.as_deref() == Some("MANAGEMENT"))
            .filter(|r| r.event.event_outcome.as_deref() == Some("SUCCESS"))
            .map(|r| r.event.id.clone())
            .collect();
        assert!(!want.is_empty());
        assert_eq!(got, want);
    }

    #[test]
    fn edge_duplicate_repeats_and_skips_nothing() {
        let t = tenant(300);
        let first = siem_page(&t, &siem(i64::MIN, 10), false);
        let c = first.next.clone().expect("more");
        let req = SiemRequest { start: Start::From(c.direction, c.position.clone()), ..siem(i64::MIN, 10) };
        let dup = siem_page(&t, &req, true);
        assert!(dup.repeated_edge);
        assert_eq!(dup.results[0].event.id, c.position.id);
        assert_eq!(dup.results.len(), 10);
        let clean = siem_page(&t, &req, false);
        assert_eq!(ids(&dup)[1..], ids(&clean)[..9]);
        // The next cursor continues right after the duplicated page's last record.
        let n = dup.next.expect("more");
        assert_eq!(n.position.id, clean.results[8].event.id);
    }

    #[test]
    fn late_records_behind_the_cursor_are_not_seen() {
        let mut t = tenant(300);
        let first = siem_page(&t, &siem(i64::MIN, 100), false);
        let c = first.next.clone().expect("more");
        let late = t.insert_behind((c.position.time_ms, &c.position.id), i64::MIN, 300_000, &Default::default(), 3);
        let rest = follow(&t, SiemRequest { start: Start::From(c.direction, c.position), ..siem(i64::MIN, 100) });
        assert!(late.iter().all(|id| !rest.contains(id)));
        let all = follow(&t, siem(i64::MIN, 100));
        assert!(late.iter().all(|id| all.contains(id)));
        assert_eq!(all.len(), 303);
    }

    fn search(order: Order, limit: u8) -> SearchRequest {
        SearchRequest {
            query: SearchQuery { start_ms: i64::MIN, end_ms: i64::MAX, filters: vec![], order },
            limit,
            start: Start::Fresh,
        }
    }

    fn follow_search(t: &Tenant, mut req: SearchRequest) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let page = search_page(t, &req);
            assert!(page.results.len() <= usize::from(req.limit));
            out.extend(ids(&page));
            match page.next {
                Some(c) => req.start = Start::From(c.direction, c.position),
                None => return out,
            }
        }
    }

    #[test]
    fn search_orders_and_pages() {
        let t = tenant(300);
        let desc = follow_search(&t, search(query::DEFAULT_ORDER, 30));
        let mut asc = t.ids();
        asc.reverse();
        assert_eq!(desc, asc);

        let by_type = Order { key: SortKey::Field(Field::EntityType), ascending: true };
        let got = follow_search(&t, search(by_type, 17));
        let records = t.records();
        let mgmt: Vec<&StoredEvent> = records.iter().filter(|r| r.event.entity_type.is_some()).collect();
        assert_eq!(got.len(), mgmt.len());
        let types: Vec<String> = got
            .iter()
            .map(|id| {
                records.iter().find(|r| &r.event.id == id).and_then(|r| r.event.entity_type.clone()).unwrap_or_default()
            })
            .collect();
        assert!(types.windows(2).all(|w| w[0] <= w[1]));

        // prev from the second page returns the first page.
        let first = search_page(&t, &search(by_type, 17));
        let c = first.next.clone().expect("more");
        let mut req = search(by_type, 17);
        req.start = Start::From(c.direction, c.position);
        let second = search_page(&t, &req);
        let p = second.prev.expect("prev");
        req.start = Start::From(p.direction, p.position);
        assert_eq!(ids(&search_page(&t, &req)), ids(&first));
    }

    /// A tenant of many chunks (more than are kept in memory), with inserted records, paged
    /// whole and window by window (bounds as the engine sends them: `startTime` inclusive,
    /// `endTime` inclusive, windows meeting at a millisecond), forward and back.
    #[test]
    fn a_chunked_tenant_pages_every_record_once_in_order() {
        let mut t = Tenant::generate(&SimConfig {
            events: 50_000,
            one_pass_records: 2_000,
            chunk_records: 2_000,
            end_time: Some(UNIX_EPOCH + Duration::from_secs(1_764_619_804)),
            ..SimConfig::default()
        });
        assert!(t.chunk_count() > crate::simulator::chunks::CACHED_CHUNKS * 3);
        let times: Vec<i64> = t.records().iter().step_by(997).map(|r| r.time_ms).collect();
        t.insert_late_at(&times);
        let truth = t.ids();
        assert_eq!(truth.len(), 50_000 + times.len());
        assert_eq!(follow(&t, siem(i64::MIN, 100)), truth);
        let (first, last) = (t.first().expect("records").time_ms, t.last().expect("records").time_ms);
        let mut windowed = Vec::new();
        let step = (last - first) / 7 + 1;
        let mut from = first - 1;
        while from <= last {
            let mut req = siem(from, 100);
            req.query.end_ms = Some(from + step - 1);
            windowed.extend(follow(&t, req));
            from += step;
        }
        assert_eq!(windowed, truth);
        // Back from the last page to the first.
        let mut page = siem_page(&t, &SiemRequest { start: Start::Fresh, ..siem(last - 1, 100) }, false);
        while page.next.is_some() {
            let c = page.next.clone().expect("next");
            page = siem_page(
                &t,
                &SiemRequest { start: Start::From(c.direction, c.position), ..siem(last - 1, 100) },
                false,
            );
        }
        let tail = ids(&page);
        assert!(!tail.is_empty() && truth.ends_with(&tail));
        let mut back: Vec<String> = Vec::new();
        let mut page = siem_page(&t, &siem(i64::MIN, 100), false);
        for _ in 0..3 {
            let c = page.next.clone().expect("next");
            page = siem_page(
                &t,
                &SiemRequest { start: Start::From(c.direction, c.position), ..siem(i64::MIN, 100) },
                false,
            );
        }
        let fourth = ids(&page);
        for _ in 0..3 {
            let c = page.prev.clone().expect("prev");
            page = siem_page(
                &t,
                &SiemRequest { start: Start::From(c.direction, c.position), ..siem(i64::MIN, 100) },
                false,
            );
            let mut ids = ids(&page);
            ids.extend(back);
            back = ids;
        }
        assert!(page.prev.is_none());
        assert_eq!(back[..300], truth[..300]);
        assert_eq!(fourth, truth[300..400]);
        assert!(t.resident() <= crate::simulator::chunks::CACHED_CHUNKS * 2_000 + times.len());
        // Search pages (newest first) over a window across chunks give its records once too.
        let records = t.records();
        let (a, b) = (records[3_900].time_ms, records[8_100].time_ms);
        let mut req = search(query::DEFAULT_ORDER, 250);
        (req.query.start_ms, req.query.end_ms) = (a, b);
        let desc = follow_search(&t, req);
        let mut asc: Vec<String> =
            records.iter().filter(|r| (a..=b).contains(&r.time_ms)).map(|r| r.event.id.clone()).collect();
        asc.reverse();
        assert!(asc.len() > 4_000);
        assert_eq!(desc, asc);
    }

    #[test]
    fn resolve_uses_cursor_and_ignores_body() {
        let t = tenant(120);
        let body = br#"{"limit":7,"searchByAttributes":[{"name":"startTime","operator":"GREATER_THAN_OR_EQUAL","value":"2000-01-01T00:00:00"}]}"#;
        let req = resolve_siem(body, KEY).expect("valid");
        let page = siem_page(&t, &req, false);
        let next = cursor::encode(&page.next.expect("more"), KEY);
        let with_junk = format!(
            r#"{{"limit":0,"cursor":"{next}","searchByAttributes":[{{"name":"nonsense","operator":"EQUALS"}}]}}"#
        );
        let cont = resolve_siem(with_junk.as_bytes(), KEY).expect("cursor wins");
        assert_eq!(cont.limit, 7);
        assert!(matches!(cont.start, Start::From(Direction::Next, _)));
        let err = resolve_search(with_junk.as_bytes(), KEY).expect_err("siem cursor on search");
        assert_eq!(err.code, super::super::errors::codes::INVALID_CURSOR);
    }
}
