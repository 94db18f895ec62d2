//! Counters of a run, the periodic status line and the closing summary table.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Counters shared with the HTTP client.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    retries: AtomicU64,
    logins: AtomicU64,
    unauthorized: AtomicU64,
}

impl Stats {
    pub fn add_request(&self) {
        self.requests.fetch_add(1, Relaxed);
    }
    pub fn add_retry(&self) {
        self.retries.fetch_add(1, Relaxed);
    }
    pub fn add_login(&self) {
        self.logins.fetch_add(1, Relaxed);
    }
    pub fn add_unauthorized(&self) {
        self.unauthorized.fetch_add(1, Relaxed);
    }
    pub fn requests(&self) -> u64 {
        self.requests.load(Relaxed)
    }
    pub fn retries(&self) -> u64 {
        self.retries.load(Relaxed)
    }
    pub fn logins(&self) -> u64 {
        self.logins.load(Relaxed)
    }
    pub fn unauthorized(&self) -> u64 {
        self.unauthorized.load(Relaxed)
    }
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Events delivered, by OCSF class and type name.
    pub events: BTreeMap<(String, String), u64>,
    /// Dead letters by reason code.
    pub dead_letters: BTreeMap<String, u64>,
    /// Events of types no mapping names (a fallback mapping took them), by record type: what to
    /// map next.
    pub unknown_types: BTreeMap<String, u64>,
    /// Records dropped because their id was already delivered (overlap, repeated edges).
    pub duplicates: u64,
    pub pages: u64,
    pub windows: u64,
    pub batches: u64,
    pub requests: u64,
    pub retries: u64,
    pub logins: u64,
    pub unauthorized: u64,
    /// Cursors the API refused (each read again from the last accepted cursor, the newest
    /// delivered record or the window's start).
    pub cursor_restarts: u64,
    /// Records the API returned outside the window asked for, dropped (another window holds
    /// them).
    pub out_of_window: u64,
    /// Times paging a window made no progress (a cursor seen before, pages bringing nothing
    /// new): queried again from the newest record delivered, or the window ended there.
    pub paging_stalls: u64,
    /// Reconciliation re-reads done, and the records they found that had not been delivered.
    pub reconciliations: u64,
    pub reconciled: u64,
    /// Events a sink refused.
    pub sink_rejected: u64,
    /// Pages taken from the windows read ahead (`concurrency` above one), and pages read ahead
    /// that were not used (the runner asked for something else, or the window ended first).
    pub read_ahead: u64,
    pub read_ahead_unused: u64,
    pub elapsed: Duration,
    /// The run was stopped before it caught up.
    pub interrupted: bool,
    /// Where the stream stands (ISO-8601).
    pub watermark: String,
}

impl Summary {
    pub fn total_events(&self) -> u64 {
        self.events.values().sum()
    }

    pub fn total_dead_letters(&self) -> u64 {
        self.dead_letters.values().sum()
    }

    /// The one-line status printed while running; `events` counts the events mapped so far, those of the
    /// batch not yet acknowledged included, as the report's `events` field does.
    pub fn status_line(&self, events: u64) -> String {
        format!(
            "engine run: {} events, {} dead letters, {} pages, {} retries, up to {}",
            events,
            self.total_dead_letters(),
            self.pages,
            self.retries,
            self.watermark
        )
    }

    /// The closing table.
    pub fn table(&self) -> String {
        let mut rows: Vec<(String, String, String)> = Vec::new();
        for ((class, ty), n) in &self.events {
            rows.push((class.clone(), ty.clone(), n.to_string()));
        }
        let w1 = rows.iter().map(|r| r.0.chars().count()).chain([5]).max().unwrap_or(5);
        let w2 = rows.iter().map(|r| r.1.chars().count()).chain([4]).max().unwrap_or(4);
        let mut out = String::new();
        out.push_str(&format!("{:<w1$}  {:<w2$}  {:>8}\n", "class", "type", "events"));
        out.push_str(&format!("{}  {}  {}\n", "-".repeat(w1), "-".repeat(w2), "-".repeat(8)));
        for (c, t, n) in &rows {
            out.push_str(&format!("{c:<w1$}  {t:<w2$}  {n:>8}\n"));
        }
        out.push_str(&format!("{:<w1$}  {:<w2$}  {:>8}\n", "total", "", self.total_events()));
        out.push('\n');
        if self.dead_letters.is_empty() {
            out.push_str("dead letters:       0\n");
        } else {
            for (reason, n) in &self.dead_letters {
                out.push_str(&format!("dead letters:       {n} {reason}\n"));
            }
        }
        for (ty, n) in &self.unknown_types {
            out.push_str(&format!(
                "unknown type:       {n} × {ty} (mapped by a fallback; worth a mapping of its own)\n"
            ));
        }
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 { self.total_events() as f64 / secs } else { 0.0 };
        out.push_str(&format!("duplicates dropped: {}\n", self.duplicates));
        out.push_str(&format!("pages:              {} in {} windows\n", self.pages, self.windows));
        out.push_str(&format!(
            "requests:           {} ({} retries, {} logins, {} answered 401)\n",
            self.requests, self.retries, self.logins, self.unauthorized
        ));
        if self.cursor_restarts > 0 {
            out.push_str(&format!(
                "cursors refused:    {} (read again from the last accepted cursor or record)\n",
                self.cursor_restarts
            ));
        }
        if self.out_of_window > 0 {
            out.push_str(&format!(
                "outside the window: {} (the API returned them for a window they are not in; dropped)\n",
                self.out_of_window
            ));
        }
        if self.paging_stalls > 0 {
            out.push_str(&format!(
                "paging stalls:      {} (a repeated cursor or pages with nothing new; see the warnings)\n",
                self.paging_stalls
            ));
        }
        if self.reconciliations > 0 {
            out.push_str(&format!(
                "reconciled:         {} records found late by {} re-reads\n",
                self.reconciled, self.reconciliations
            ));
        }
        if self.read_ahead + self.read_ahead_unused > 0 {
            out.push_str(&format!(
                "read ahead:         {} pages used, {} not (asked for again, or past a window's end)\n",
                self.read_ahead, self.read_ahead_unused
            ));
        }
        out.push_str(&format!("batches:            {}\n", self.batches));
        if self.sink_rejected > 0 {
            out.push_str(&format!("rejected by sink:   {}\n", self.sink_rejected));
        }
        out.push_str(&format!("caught up to:       {}\n", self.watermark));
        out.push_str(&format!("elapsed:            {secs:.1} s ({rate:.0} events/s)\n"));
        if self.interrupted {
            out.push_str("stopped before catching up (where the next run starts: `state:` below)\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_classes_types_and_totals() {
        let mut s = Summary::default();
        s.events.insert(("Authentication".into(), "Authentication: Logon".into()), 12);
        s.events.insert(("Entity Management".into(), "Entity Management: Create".into()), 3);
        s.dead_letters.insert("no_mapping".into(), 2);
        s.unknown_types.insert("eventCategory=AUTHENTICATION, eventType=NewEvent".into(), 3);
        s.pages = 4;
        s.windows = 1;
        s.retries = 5;
        s.elapsed = Duration::from_secs(3);
        s.watermark = "2025-12-01T00:00:00.000Z".into();
        let t = s.table();
        assert!(t.contains("Authentication     Authentication: Logon"), "{t}");
        assert!(t.contains("total"), "{t}");
        assert!(t.contains("      15\n"), "{t}");
        assert!(t.contains("dead letters:       2 no_mapping"), "{t}");
        assert!(t.contains("unknown type:       3 × eventCategory=AUTHENTICATION, eventType=NewEvent"), "{t}");
        assert!(t.contains("5 events/s"), "{t}");
        assert!(s.status_line(17).contains("17 events, 2 dead letters, 4 pages, 5 retries"));
    }
}
