//! What a polling run tells while it waits: each window passed and each poll that ends tell
//! the health endpoint that the API answered (`/readyz`, metrics/health.rs), and a poll that
//! read nothing logs a heartbeat line, so that a quiet tenant and a stuck run look different.

use super::Run;
use crate::source::auth::AuthSpec;
use crate::source::duration::format_duration;
use crate::source::timefmt::iso_millis;

impl Run<'_> {
    /// The API answered for everything due so far (a window passed, or a whole poll).
    pub(super) fn answered(&self) {
        if let Some(health) = &self.opts.health {
            let logs_in = self.spec.auth.as_ref().is_some_and(AuthSpec::logs_in);
            health.polled(!logs_in || self.stats.logins() > 0);
        }
    }

    /// Events and dead letters so far (the batch not yet acknowledged included). Records read
    /// again and dropped as duplicates (the overlap) are not news.
    pub(super) fn delivered_so_far(&self) -> u64 {
        self.summary.total_events() + self.pending.values().sum::<u64>() + self.summary.total_dead_letters()
    }

    /// At the end of a poll that went well; `delivered_before` is [`Self::delivered_so_far`]
    /// when it began.
    pub(super) fn after_poll(&self, delivered_before: u64) {
        self.answered();
        if self.opts.once || self.delivered_so_far() > delivered_before {
            return;
        }
        let lag_s = (self.opts.clock.now_ms() - self.pos.watermark_ms).max(0) / 1000;
        let watermark = iso_millis(self.pos.watermark_ms);
        tracing::info!(
            stream = self.stream.name.as_str(),
            watermark = watermark.as_str(),
            lag_s,
            "polled: nothing new; caught up to {watermark}, next poll in {}",
            format_duration(self.stream.poll_interval),
        );
    }
}
