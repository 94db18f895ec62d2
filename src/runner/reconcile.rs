//! Reconciliation: every `reconcile.every`, the last `reconcile.span` before the overlap is
//! read again, for records the API wrote later than the overlap covers (they are behind every
//! cursor and every later window). What was delivered before is recognised by a 64-bit digest
//! of its id, kept for the span beside the checkpoint (16 bytes a record, the newest in memory
//! and the rest in a table on disk: digests/); what was not is delivered and counted.
//!
//! Consistency with the checkpoint: digests are only of ids older than the checkpoint's resume
//! point, written after the sink acknowledged them; ids from the resume point on live in the
//! checkpoint's dedup set. A digests file written just before a crash may hold ids the
//! checkpoint still has in its dedup set; on loading, digests at or after its resume point are
//! dropped, so nothing the checkpoint has not committed is ever taken as delivered.

use super::Run;
use super::checkpoint::ReconcileMark;
use super::http::Api;
use super::pager::{Pager, record_id};
use super::read_window::{Purpose, Read};
use super::window::Window;
use crate::source::stream::Reconcile;
use crate::source::timefmt::iso_millis;
use std::time::Instant;

/// The span a re-read at `watermark_ms` covers: from the span's start (not before the
/// digests are complete) to the resume point, where the overlap takes over.
pub fn span(r: &Reconcile, mark: ReconcileMark, watermark_ms: i64, resume_from_ms: i64) -> Option<Window> {
    let span_ms = i64::try_from(r.span.as_millis()).unwrap_or(i64::MAX / 4);
    let start = watermark_ms.saturating_sub(span_ms).max(mark.since_ms);
    (start < resume_from_ms).then_some(Window { start_ms: start, end_ms: resume_from_ms })
}

impl Run<'_> {
    /// After a window is read and committed: the position passes it; ids it no longer needs
    /// for the overlap become digests (with a reconciliation), then the checkpoint is saved.
    pub(super) async fn pass_window(&mut self, w: Window) -> Result<(), String> {
        // A sink that gathers events for longer than a window (Security Lake) is flushed when
        // it is due; the position is committed with what it acknowledged then.
        if self.out.sink.due() {
            self.flush_and_commit().await?;
        }
        self.pos = self.planner.advance(self.pos, w.end_ms);
        self.keep_digests()?;
        if self.out.sink.due() {
            self.flush_and_commit().await?;
        }
        Ok(())
    }

    /// Ids are kept an overlap longer than the resume point needs: an id the API reuses for
    /// another record up to an overlap later is still known.
    fn keep_digests(&mut self) -> Result<(), String> {
        let overlap = i64::try_from(self.stream.overlap.as_millis()).unwrap_or(0);
        let from = self.pos.resume_from_ms.saturating_sub(overlap);
        let horizon = self.stream.reconcile.map(|r| {
            let span_ms = i64::try_from(r.span.as_millis()).unwrap_or(i64::MAX / 4);
            self.pos.watermark_ms.saturating_sub(span_ms)
        });
        let digests = &mut self.digests;
        let drained = self.dedup.drain_before(from, &mut |old| match (horizon, digests.as_mut()) {
            (Some(horizon), Some(d)) => d.store(old, horizon),
            _ => Ok(()),
        })?;
        self.journal_restart |= drained > 0;
        Ok(())
    }

    /// Was `id` delivered before the resume point, within the reconciliation span?
    pub(super) fn delivered_long_ago(&self, id: &str) -> Result<bool, String> {
        match &self.digests {
            Some(d) => d.contains(id),
            None => Ok(false),
        }
    }

    /// Runs a reconciliation re-read when one is due (the run is caught up).
    pub(super) async fn reconcile_if_due(
        &mut self,
        api: &mut Api,
        pager: &Pager,
        started: Instant,
    ) -> Result<Read, String> {
        let (Some(r), Some(mark)) = (self.stream.reconcile, self.reconcile_mark) else { return Ok(Read::Whole) };
        let now = self.opts.clock.now_ms();
        let every = i64::try_from(r.every.as_millis()).unwrap_or(i64::MAX / 4);
        if now.saturating_sub(mark.done_at_ms) < every {
            return Ok(Read::Whole);
        }
        if let Some(span) = span(&r, mark, self.pos.watermark_ms, self.pos.resume_from_ms) {
            let found_before = self.summary.reconciled;
            let window = i64::try_from(self.stream.window.as_millis()).unwrap_or(i64::MAX / 4).max(1);
            let mut start = span.start_ms;
            while start < span.end_ms {
                let w = Window { start_ms: start, end_ms: start.saturating_add(window).min(span.end_ms) };
                if self.read_window(api, pager, w, Purpose::Reconcile, started).await? == Read::Stopped {
                    return Ok(Read::Stopped);
                }
                start = w.end_ms;
            }
            self.summary.reconciliations += 1;
            let found = self.summary.reconciled - found_before;
            let level_note = format!(
                "reconciliation re-read {} – {}: {found} records found that had not been delivered",
                iso_millis(span.start_ms),
                iso_millis(span.end_ms)
            );
            if found > 0 {
                tracing::warn!(stream = self.stream.name.as_str(), "{level_note} (written late by the API)");
            } else {
                tracing::info!(stream = self.stream.name.as_str(), "{level_note}");
            }
        }
        self.flush_and_commit().await?;
        self.keep_digests()?;
        self.reconcile_mark = Some(ReconcileMark { done_at_ms: now, ..mark });
        self.flush_and_commit().await?;
        Ok(Read::Whole)
    }

    /// A record a reconciliation re-read returned: delivered if it had not been.
    pub(super) async fn reconcile_record(&mut self, record: serde_json::Value, w: Window) -> Result<(), String> {
        // Records without an id are dead-lettered once, recognised by their bytes.
        let Some(id) = record_id(&record, &self.stream.record_id) else { return self.without_id(record, w) };
        if self.dedup.contains(&id)? || self.delivered_long_ago(&id)? {
            return Ok(());
        }
        self.summary.reconciled += 1;
        self.metric("reconciled_records_total", 1);
        self.record(record, w).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_span_ends_where_the_overlap_begins_and_starts_where_digests_do() {
        let r = Reconcile { every: Duration::from_secs(3600), span: Duration::from_secs(86_400) };
        let mark = ReconcileMark { since_ms: 10 * 3_600_000, done_at_ms: 0 };
        let w = span(&r, mark, 48 * 3_600_000, 47 * 3_600_000).unwrap();
        assert_eq!(w, Window { start_ms: 24 * 3_600_000, end_ms: 47 * 3_600_000 });
        let young = span(&r, mark, 12 * 3_600_000, 11 * 3_600_000).unwrap();
        assert_eq!(young.start_ms, 10 * 3_600_000, "not before the digests are complete");
        assert_eq!(span(&r, mark, 10 * 3_600_000, 10 * 3_600_000), None);
    }
}
