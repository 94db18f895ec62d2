//! What the runner believes about one window while it pages through it, without trusting the
//! server: which records belong to the window (by their own time, whatever the server was
//! asked), whether paging still makes progress (a cursor seen before, or pages in a row that
//! bring nothing new), whether the records came oldest first, and where to read again from
//! when the server refuses a cursor or stops making progress.

mod identities;

use super::window::Window;
use identities::Identities;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// Why paging through a window stopped making progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// The server handed back a cursor already followed in this query.
    RepeatedCursor,
    /// This many pages in a row brought no new record and no record outside the times seen.
    NothingNew(u32),
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stall::RepeatedCursor => f.write_str("the API returned a cursor it had returned before"),
            Stall::NothingNew(n) => write!(f, "{n} pages in a row brought nothing new"),
        }
    }
}

/// What to do after a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Follow this cursor.
    Follow(String),
    /// The window is read.
    Done,
    /// Paging makes no progress.
    Stalled(Stall),
}

/// Where to read again from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart {
    /// Send again the last cursor the server accepted (its page is re-read, then paging goes
    /// on); `None` is the query's first page.
    Cursor(Option<String>),
    /// A new query from this instant to the window's end.
    From(i64),
}

/// The state of one window being read.
#[derive(Debug)]
pub struct WindowGuard {
    window: Window,
    precision_ms: i64,
    stall_pages: u32,
    /// Start of the query being paged: the window's start, or a later instant after a restart.
    query_start_ms: i64,
    /// Cursors (hashed) whose page this query received.
    followed: HashSet<u64>,
    /// The cursor that gave the last page received (`None`: the query's first page).
    last_accepted: Option<String>,
    /// The last restart re-sent `last_accepted`; a second refusal moves on to a new query.
    resent: bool,
    /// Pages in a row without progress.
    idle_pages: u32,
    /// Records (hashes of their ids) this query has returned, up to [`MAX_IDENTITIES`], and
    /// how many of the current page's were not among them: a page of records met before in
    /// the query is no progress, however their times are dressed.
    identities: Identities,
    fresh_on_page: u32,
    /// Whether the record last identified was new to this query: only such records are
    /// evidence of the order (a page served again is old records, not disorder).
    last_fresh: bool,
    /// Times of every record of this query, in or out of the window: their span so far, and
    /// before the last page (what a page read again is compared with).
    span: Option<(i64, i64)>,
    span_before_last: Option<(i64, i64)>,
    /// Newest time of a record of the window; the same before the current page and before
    /// the last one; the oldest record of the window in the current page; and whether pages
    /// came oldest first (no page holds a record of the window older than one of an earlier
    /// page; the order within a page does not matter).
    newest_ms: Option<i64>,
    newest_before_page: Option<i64>,
    newest_before_last: Option<i64>,
    page_oldest: Option<i64>,
    ascending: bool,
    /// Records of the current page, and of those how many lay past the window's end.
    page_records: u32,
    page_past_end: u32,
    /// A whole page lay past the window's end while everything came oldest first.
    passed_end: bool,
    /// New queries after stalls since the last new record, and cursors sent again after
    /// stalls since then.
    fruitless: u32,
    stall_resends: u32,
    /// Cursors sent again after a stall before a new query (none for counted paging).
    max_stall_resends: u32,
}

/// The most record identities a query remembers (4 MiB, identities.rs); past it, a page whose
/// records widen the span of times counts as progress, as if each were new.
pub const MAX_IDENTITIES: usize = 1 << 20;

/// Times the last accepted cursor is sent again after stalls, in a row without a new record,
/// before a new query.
pub const MAX_STALL_RESENDS: u32 = 3;

/// New queries after stalls, in a row without a new record, before the window ends with a
/// warning.
pub const MAX_FRUITLESS_RESTARTS: u32 = 5;

fn hash(cursor: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    cursor.hash(&mut h);
    h.finish()
}

impl WindowGuard {
    pub fn new(window: Window, precision_ms: i64, stall_pages: u32) -> Self {
        WindowGuard {
            window,
            precision_ms: precision_ms.max(1),
            stall_pages: stall_pages.max(1),
            query_start_ms: window.start_ms,
            followed: HashSet::new(),
            last_accepted: None,
            resent: false,
            idle_pages: 0,
            identities: Identities::default(),
            fresh_on_page: 0,
            last_fresh: true,
            span: None,
            span_before_last: None,
            newest_ms: None,
            newest_before_page: None,
            newest_before_last: None,
            page_oldest: None,
            ascending: true,
            page_records: 0,
            page_past_end: 0,
            passed_end: false,
            fruitless: 0,
            stall_resends: 0,
            max_stall_resends: MAX_STALL_RESENDS,
        }
    }

    /// For paging by offset or page number: an honest server never answers a page of records
    /// this query returned already, so one such page is a stall, and sending its offset again
    /// would only bring it again: the next query starts from the newest record instead.
    pub fn counted(mut self) -> Self {
        self.stall_pages = 1;
        self.max_stall_resends = 0;
        self
    }

    /// The window of the query being paged (after a restart, it starts later).
    pub fn query(&self) -> Window {
        Window { start_ms: self.query_start_ms, end_ms: self.window.end_ms }
    }

    /// Does a record of this time belong to the window? Bounds are inclusive; the end covers
    /// its whole last step of the request's precision (a second-precision `endTime` of
    /// `10:00:00` takes `10:00:00.900`).
    pub fn contains(&self, time_ms: i64) -> bool {
        time_ms >= self.window.start_ms && time_ms < self.window.end_ms.saturating_add(self.precision_ms)
    }

    /// Notes a record the server returned, by the hash of its identity (its id); call it for
    /// every record of a page, in the window or not, before [`Self::after_page`].
    pub fn identify(&mut self, identity: u64) {
        if self.identities.len() < MAX_IDENTITIES {
            self.last_fresh = self.identities.insert(identity);
            if self.last_fresh {
                self.fresh_on_page += 1;
            }
        } else {
            self.last_fresh = true;
            self.fresh_on_page = u32::MAX;
        }
    }

    /// Notes the time of a record the server returned; true when it belongs to the window.
    pub fn observe(&mut self, time_ms: i64) -> bool {
        self.span = Some(match self.span {
            None => (time_ms, time_ms),
            Some((lo, hi)) => (lo.min(time_ms), hi.max(time_ms)),
        });
        let inside = self.contains(time_ms);
        self.page_records += 1;
        if inside {
            self.newest_ms = Some(self.newest_ms.map_or(time_ms, |n| n.max(time_ms)));
            if std::mem::replace(&mut self.last_fresh, true) {
                self.page_oldest = Some(self.page_oldest.map_or(time_ms, |o| o.min(time_ms)));
            }
        } else if time_ms >= self.window.end_ms {
            self.page_past_end += 1;
        }
        inside
    }

    /// After a page: `cursor` is what the request carried, `new` how many of its records
    /// were new (delivered or dead-lettered), `span_before` the record span before the page,
    /// `next` the server's next cursor.
    pub fn after_page(
        &mut self,
        cursor: Option<&str>,
        new: usize,
        span_before: Option<(i64, i64)>,
        next: Option<String>,
    ) -> Next {
        if let Some(c) = cursor {
            self.followed.insert(hash(c));
        }
        self.last_accepted = cursor.map(str::to_string);
        self.span_before_last = span_before;
        // One record past the end proves nothing (a server may add any record to a page); a
        // whole page past it, with everything oldest first, means the window is behind.
        self.passed_end = self.page_records > 0 && self.page_past_end == self.page_records;
        (self.page_records, self.page_past_end) = (0, 0);
        if let (Some(oldest), Some(before)) = (self.page_oldest.take(), self.newest_before_page)
            && oldest < self.floor(before)
        {
            self.ascending = false;
        }
        self.newest_before_last = self.newest_before_page;
        self.newest_before_page = self.newest_ms;
        if new > 0 {
            self.resent = false;
            self.fruitless = 0;
            self.stall_resends = 0;
        }
        // Progress: a record new to the sink, or records this query had not returned before
        // (an overlap re-read walks through records already delivered). Past the identity
        // limit, records that widen the span of times stand for records not met before.
        let fresh = match std::mem::take(&mut self.fresh_on_page) {
            u32::MAX => self.span != span_before,
            n => n > 0,
        };
        if new > 0 || fresh {
            self.idle_pages = 0;
        } else {
            self.idle_pages += 1;
        }
        let Some(next) = next else { return Next::Done };
        if self.passed_end && self.ascending {
            // Oldest first and past the window's end: the rest belongs to later windows.
            return Next::Done;
        }
        if self.followed.contains(&hash(&next)) {
            return Next::Stalled(Stall::RepeatedCursor);
        }
        if self.idle_pages >= self.stall_pages {
            return Next::Stalled(Stall::NothingNew(self.idle_pages));
        }
        Next::Follow(next)
    }

    /// The span of record times this query has returned so far.
    pub fn span(&self) -> Option<(i64, i64)> {
        self.span
    }

    /// Where to read from after the server refused a cursor: first the last cursor it
    /// accepted (one page read again), then a new query from the newest record delivered
    /// when everything came oldest first (what one refusal costs is a page or so), else the
    /// window's start.
    pub fn after_refusal(&mut self) -> Restart {
        if !self.resent {
            self.resent = true;
            // The page comes again: its records are no sign of disorder.
            self.span = self.span_before_last;
            self.newest_before_page = self.newest_before_last;
            return Restart::Cursor(self.last_accepted.clone());
        }
        self.resent = false;
        let from = self.resume_point().unwrap_or(self.window.start_ms);
        self.restart(from);
        Restart::From(from)
    }

    /// After a stall: first the last cursor the server accepted again, up to
    /// [`MAX_STALL_RESENDS`] times (a server may answer it better another time); then a new query from the newest record delivered
    /// if pages came oldest first, else from the window's start; after
    /// [`MAX_FRUITLESS_RESTARTS`] new queries in a row without a new record, `None`: the
    /// window ends.
    pub fn after_stall(&mut self) -> Option<Restart> {
        if self.stall_resends < self.max_stall_resends {
            self.stall_resends += 1;
            self.idle_pages = 0;
            self.span = self.span_before_last;
            self.newest_before_page = self.newest_before_last;
            return Some(Restart::Cursor(self.last_accepted.clone()));
        }
        self.stall_resends = 0;
        if self.fruitless >= MAX_FRUITLESS_RESTARTS {
            return None;
        }
        self.fruitless += 1;
        let from = self.resume_point().unwrap_or(self.window.start_ms);
        self.restart(from);
        Some(Restart::From(from))
    }

    /// An instant before which every record of the window has been returned, if the records
    /// came oldest first: the newest one's (records at that instant are read again and dropped
    /// by id).
    fn resume_point(&self) -> Option<i64> {
        if !self.ascending {
            return None;
        }
        self.newest_ms.map(|t| self.floor(t))
    }

    /// `t` rounded down to the request's precision (where a new query can start).
    fn floor(&self, t: i64) -> i64 {
        t.div_euclid(self.precision_ms) * self.precision_ms
    }

    fn restart(&mut self, from: i64) {
        self.query_start_ms = from.max(self.window.start_ms);
        self.followed.clear();
        self.last_accepted = None;
        self.idle_pages = 0;
        self.identities.clear();
        self.fresh_on_page = 0;
        self.span = None;
        self.span_before_last = None;
        self.passed_end = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Window = Window { start_ms: 10_000, end_ms: 20_000 };

    #[test]
    fn records_belong_to_the_window_their_time_falls_in() {
        let g = WindowGuard::new(W, 1000, 5);
        assert!(g.contains(10_000) && g.contains(20_000) && g.contains(20_999));
        assert!(!g.contains(9_999) && !g.contains(21_000) && !g.contains(253_402_300_799_000));
    }

    #[test]
    fn under_counted_paging_a_page_served_again_restarts_from_the_newest_record_at_once() {
        let mut g = WindowGuard::new(W, 1000, 10).counted();
        for (id, t) in [(1, 11_000), (2, 12_500)] {
            g.identify(id);
            g.observe(t);
        }
        assert_eq!(g.after_page(Some("0"), 2, None, Some("2".into())), Next::Follow("2".into()));
        // The offset is ignored: the same records again. Old records are no evidence of
        // disorder, so the next query can start from the newest one, without re-sending "2".
        let s = g.span();
        for (id, t) in [(1, 11_000), (2, 12_500)] {
            g.identify(id);
            g.observe(t);
        }
        assert_eq!(g.after_page(Some("2"), 0, s, Some("4".into())), Next::Stalled(Stall::NothingNew(1)));
        assert_eq!(g.after_stall(), Some(Restart::From(12_000)));
        // A record new to the query and older than the newest is disorder: the next restart
        // goes back to the window's start.
        g.identify(3);
        g.observe(11_500);
        g.identify(2);
        g.observe(12_500);
        assert_eq!(g.after_page(Some("0"), 1, None, Some("2".into())), Next::Follow("2".into()));
        g.identify(2);
        g.observe(12_500);
        assert_eq!(g.after_page(Some("2"), 0, g.span(), Some("3".into())), Next::Stalled(Stall::NothingNew(1)));
        assert_eq!(g.after_stall(), Some(Restart::From(W.start_ms)));
    }

    #[test]
    fn a_repeated_cursor_or_idle_pages_stall() {
        let mut g = WindowGuard::new(W, 1000, 3);
        g.observe(11_000);
        assert_eq!(g.after_page(None, 1, None, Some("a".into())), Next::Follow("a".into()));
        let s = g.span();
        g.observe(12_000);
        assert_eq!(g.after_page(Some("a"), 1, s, Some("b".into())), Next::Follow("b".into()));
        // b → a: a cycle. First b again (a few times), then a new query from the newest record.
        for _ in 0..MAX_STALL_RESENDS {
            assert_eq!(g.after_page(Some("b"), 0, g.span(), Some("a".into())), Next::Stalled(Stall::RepeatedCursor));
            assert_eq!(g.after_stall(), Some(Restart::Cursor(Some("b".into()))));
        }
        assert_eq!(g.after_page(Some("b"), 0, g.span(), Some("a".into())), Next::Stalled(Stall::RepeatedCursor));
        assert_eq!(g.after_stall(), Some(Restart::From(12_000)));
        assert_eq!(g.query(), Window { start_ms: 12_000, end_ms: 20_000 });
        // New cursors, empty pages.
        assert_eq!(g.after_page(None, 0, None, Some("c1".into())), Next::Follow("c1".into()));
        assert_eq!(g.after_page(Some("c1"), 0, None, Some("c2".into())), Next::Follow("c2".into()));
        assert_eq!(g.after_page(Some("c2"), 0, None, Some("c3".into())), Next::Stalled(Stall::NothingNew(3)));
        let resends = |g: &mut WindowGuard, c: Option<&str>| {
            for _ in 0..MAX_STALL_RESENDS {
                assert_eq!(g.after_stall(), Some(Restart::Cursor(c.map(str::to_string))));
            }
        };
        resends(&mut g, Some("c2"));
        // Fruitless new queries are bounded: then the window ends.
        for _ in 1..MAX_FRUITLESS_RESTARTS {
            assert_eq!(g.after_stall(), Some(Restart::From(12_000)));
            resends(&mut g, None);
        }
        assert_eq!(g.after_stall(), None);
    }

    #[test]
    fn the_same_records_served_again_are_no_progress_whatever_their_times() {
        let mut g = WindowGuard::new(W, 1000, 3);
        // An overlap re-read: records delivered before (new = 0), each met for the first
        // time in this query: progress.
        for (i, c) in ["a", "b", "c", "d"].iter().enumerate() {
            g.identify(i as u64);
            g.observe(11_000 + i as i64);
            let sent = (i > 0).then(|| ["a", "b", "c"][i - 1]);
            let next = g.after_page(sent, 0, g.span(), Some(c.to_string()));
            assert_eq!(next, Next::Follow(c.to_string()));
        }
        // The same records again under fresh cursors, their times moved on each time: idle.
        let mut stalled = None;
        for n in 0..3 {
            let s = g.span();
            g.identify(3);
            g.observe(14_000 + n);
            stalled = Some(g.after_page(Some("d"), 0, s, Some(format!("fresh-{n}"))));
        }
        assert_eq!(stalled, Some(Next::Stalled(Stall::NothingNew(3))));
    }

    #[test]
    fn out_of_order_pages_restart_from_the_window_start() {
        let mut g = WindowGuard::new(W, 1000, 3);
        // Newest first within a page is no disorder: the pages still follow each other.
        g.observe(13_000);
        g.observe(12_000);
        g.after_page(None, 2, None, Some("p".into()));
        g.observe(15_000);
        g.after_page(Some("p"), 1, None, Some("q".into()));
        assert_eq!(g.resume_point(), Some(15_000));
        // A page older than an earlier one is.
        g.observe(11_000);
        g.after_page(Some("q"), 1, None, Some("a".into()));
        assert_eq!(g.resume_point(), None);
        assert_eq!(g.after_refusal(), Restart::Cursor(Some("q".into())));
        assert_eq!(g.after_refusal(), Restart::From(10_000));
        for _ in 0..=MAX_FRUITLESS_RESTARTS {
            for _ in 0..MAX_STALL_RESENDS {
                assert_eq!(g.after_stall(), Some(Restart::Cursor(None)));
            }
            if g.after_stall().is_none() {
                return;
            }
        }
        panic!("unbounded");
    }

    #[test]
    fn a_refusal_costs_a_page_when_records_come_oldest_first() {
        let mut g = WindowGuard::new(W, 1000, 3);
        g.observe(11_000);
        g.after_page(None, 1, None, Some("a".into()));
        g.observe(13_500);
        g.after_page(Some("a"), 1, None, Some("b".into()));
        assert_eq!(g.after_refusal(), Restart::Cursor(Some("a".into())));
        assert_eq!(g.after_refusal(), Restart::From(13_000));
    }

    #[test]
    fn oldest_first_past_the_end_stops_reading() {
        let mut g = WindowGuard::new(W, 1000, 3);
        assert!(!g.observe(5_000));
        assert!(g.observe(12_000));
        assert!(!g.observe(40_000));
        assert_eq!(
            g.after_page(None, 1, None, Some("a".into())),
            Next::Follow("a".into()),
            "one record proves nothing"
        );
        g.observe(41_000);
        g.observe(42_000);
        assert_eq!(g.after_page(Some("a"), 0, None, Some("b".into())), Next::Done);
        // Not when records came in another order.
        let mut g = WindowGuard::new(W, 1000, 3);
        g.observe(12_000);
        g.after_page(None, 1, None, Some("a".into()));
        g.observe(11_000);
        g.after_page(Some("a"), 1, None, Some("b".into()));
        g.observe(40_000);
        assert_eq!(g.after_page(Some("b"), 0, None, Some("c".into())), Next::Follow("c".into()));
    }
}
