//! Window planning: where reading starts (the checkpoint, or now − look-back), where it stops
//! (now − settle delay), and the next query window of at most `window` length, all aligned to
//! what the request's time format can express.

use std::time::Duration;

/// Where a stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Every record up to here (Unix ms) has been read and acknowledged.
    pub watermark_ms: i64,
    /// The next query starts here: the watermark minus the overlap, aligned.
    pub resume_from_ms: i64,
}

/// One query window; both bounds inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct Planner {
    pub window: Duration,
    pub overlap: Duration,
    pub settle_delay: Duration,
    /// Bounds are multiples of this (1000 for second-precision formats).
    pub precision_ms: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl Planner {
    pub fn align(&self, t: i64) -> i64 {
        t.div_euclid(self.precision_ms.max(1)) * self.precision_ms.max(1)
    }

    /// The position of a stream that never ran: start `lookback` before now.
    pub fn initial(&self, now_ms: i64, lookback: Duration) -> Position {
        let start = self.align(now_ms.saturating_sub(ms(lookback)));
        Position { watermark_ms: start, resume_from_ms: start }
    }

    /// Where this round of reading stops.
    pub fn target(&self, now_ms: i64) -> i64 {
        self.align(now_ms.saturating_sub(ms(self.settle_delay)))
    }

    /// The next window to read from `pos` towards `target`, or `None` when caught up.
    pub fn next(&self, pos: Position, target: i64) -> Option<Window> {
        if pos.watermark_ms >= target {
            return None;
        }
        let start = pos.resume_from_ms;
        let end = start.saturating_add(ms(self.window)).min(target);
        Some(Window { start_ms: start, end_ms: end.max(pos.watermark_ms.min(target)) })
    }

    /// The position once everything up to `watermark_ms` has been read.
    pub fn advance(&self, pos: Position, watermark_ms: i64) -> Position {
        let watermark = pos.watermark_ms.max(watermark_ms);
        let resume = self.align(watermark.saturating_sub(ms(self.overlap))).max(pos.resume_from_ms);
        Position { watermark_ms: watermark, resume_from_ms: resume }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    const M: i64 = 60_000;

    fn planner() -> Planner {
        Planner {
            window: Duration::from_secs(3600),
            overlap: Duration::from_secs(300),
            settle_delay: Duration::from_secs(60),
            precision_ms: 1000,
        }
    }

    /// Every window of a catch-up from `pos` to `target`.
    fn walk(p: &Planner, mut pos: Position, target: i64) -> Vec<Window> {
        let mut out = Vec::new();
        while let Some(w) = p.next(pos, target) {
            out.push(w);
            pos = p.advance(pos, w.end_ms);
            assert!(out.len() < 10_000);
        }
        out
    }

    #[test]
    fn first_run_with_zero_lookback_reads_nothing_old() {
        let p = planner();
        let now = 100 * H + 1234;
        let pos = p.initial(now, Duration::ZERO);
        assert_eq!(pos.watermark_ms, 100 * H + 1000);
        // Now − settle is before the start: nothing to read yet.
        assert_eq!(p.next(pos, p.target(now)), None);
        assert!(p.next(pos, p.target(now + 2 * M)).is_some());
    }

    #[test]
    fn windows_overlap_cover_and_end_at_the_target() {
        let p = planner();
        let now = 100 * H + 30 * M + 1500;
        let pos = p.initial(now, Duration::from_secs(3 * 3600));
        let target = p.target(now);
        assert_eq!(target, 100 * H + 29 * M + 1000);
        let ws = walk(&p, pos, target);
        assert_eq!(ws[0], Window { start_ms: 97 * H + 30 * M + 1000, end_ms: 98 * H + 30 * M + 1000 });
        assert_eq!(ws[1].start_ms, ws[0].end_ms - 5 * M, "re-reads the overlap");
        assert_eq!(ws.last().unwrap().end_ms, target);
        for w in &ws {
            assert!(w.end_ms - w.start_ms <= H && w.start_ms < w.end_ms);
            assert_eq!(w.start_ms % 1000, 0);
            assert_eq!(w.end_ms % 1000, 0);
        }
        for pair in ws.windows(2) {
            assert!(pair[1].start_ms <= pair[0].end_ms, "no gap");
            assert!(pair[1].end_ms > pair[0].end_ms, "progress");
        }
        assert_eq!(ws.len(), 4);
    }

    #[test]
    fn resume_mid_window_from_a_watermark() {
        let p = planner();
        let pos = p.initial(10 * H, Duration::ZERO);
        let mid = p.advance(pos, 10 * H + 20 * M + 500);
        assert_eq!(mid.watermark_ms, 10 * H + 20 * M + 500);
        assert_eq!(mid.resume_from_ms, 10 * H + 15 * M);
        let w = p.next(mid, 12 * H).unwrap();
        assert_eq!(w, Window { start_ms: 10 * H + 15 * M, end_ms: 11 * H + 15 * M });
        // The watermark never goes back, nor does the resume point.
        let back = p.advance(mid, 9 * H);
        assert_eq!(back, mid);
        // Caught up.
        assert_eq!(p.next(p.advance(mid, 12 * H), 12 * H), None);
    }

    #[test]
    fn millisecond_formats_are_not_rounded() {
        let p = Planner { precision_ms: 1, ..planner() };
        let pos = p.initial(10 * H + 1234, Duration::ZERO);
        assert_eq!(pos.resume_from_ms, 10 * H + 1234);
    }
}
