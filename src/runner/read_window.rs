//! Reading one window page by page without trusting the server: records outside the window
//! are dropped and counted, paging that makes no progress (a cursor seen before, pages that
//! bring nothing new) ends with a warning, and a refused cursor is read again from the last
//! accepted cursor or the newest delivered record rather than from the window's start.

use super::Run;
use super::http::{Api, CallError, Missed};
use super::pager::{Page, PageRequest, Pager};
use super::progress_guard::{Next, Restart, WindowGuard};
use super::read_ahead::Taken;
use super::window::Window;
use crate::json::Parsed;
use crate::source::timefmt::iso_millis;
use std::time::Instant;

/// How reading a window ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Every page was read (or paging stopped making progress, with a warning).
    Whole,
    /// A stop was requested.
    Stopped,
}

/// Why a window's records are read: the regular catch-up, or a reconciliation re-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    CatchUp,
    Reconcile,
}

impl Run<'_> {
    /// Reads window `w` to its end.
    pub(super) async fn read_window(
        &mut self,
        api: &mut Api,
        pager: &Pager,
        w: Window,
        purpose: Purpose,
        started: Instant,
    ) -> Result<Read, String> {
        let method = reqwest::Method::from_bytes(self.stream.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut guard = WindowGuard::new(w, self.stream.time_format.precision_ms(), self.stream.stall_pages);
        if self.stream.paging.counts() {
            guard = guard.counted();
        }
        let mut cursor: Option<String> = None;
        let mut refusals = 0;
        let mut progress_at_refusal = usize::MAX;
        loop {
            if self.stopped() {
                return Ok(Read::Stopped);
            }
            let req = pager.request(guard.query(), cursor.as_deref())?;
            let page = match self.fetch(api, pager, &method, w, purpose, &req).await {
                Ok(p) => p,
                Err(CallError::Stopped) => return Ok(Read::Stopped),
                // A cursor the API no longer accepts (expired, forgotten): send again the last
                // cursor it accepted, then query again from the newest record delivered (or
                // the window's start when records came in another order), after a backoff
                // pause; records already delivered are dropped by id. Only refusals that
                // brought nothing new in between count against the retry bound.
                Err(CallError::RequestRefused(m)) if cursor.is_some() => {
                    let progress = self.dedup.len();
                    if progress != progress_at_refusal {
                        refusals = 0;
                        progress_at_refusal = progress;
                    }
                    refusals += 1;
                    if refusals > self.opts.retry.max_retries {
                        self.flush_and_commit().await?;
                        return Err(format!(
                            "stream `{}`: the API refused the cursor {refusals} times in a row; last error: {m}",
                            self.stream.name
                        ));
                    }
                    self.summary.cursor_restarts += 1;
                    self.stats.add_retry();
                    let pause = self.opts.retry.delay(refusals, None, &mut self.jitter);
                    let mut stop = self.stop.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.changed() => {}
                    }
                    cursor = match guard.after_refusal() {
                        Restart::Cursor(c) => c,
                        Restart::From(_) => None,
                    };
                    continue;
                }
                Err(e) => {
                    // Keep what was read: ship it and commit, then fail.
                    self.flush_and_commit().await?;
                    return Err(format!("stream `{}`: {e}", self.stream.name));
                }
            };
            self.summary.pages += 1;
            self.records_read += page.records.len() as u64;
            self.metric("records_fetched_total", page.records.len() as u64);
            let span_before = guard.span();
            let settled_before = self.settled();
            let mut outside = 0u64;
            for item in page.records {
                guard.identify(self.identity_of(&item));
                let time = self.time_of(&item);
                if let Some(t) = time
                    && !guard.observe(t)
                {
                    outside += 1;
                    if self.summary.out_of_window == 0 && outside == 1 {
                        tracing::warn!(
                            stream = self.stream.name.as_str(),
                            "the API returned a record dated {} for the window {} – {}; records outside the \
                             window asked for are dropped (they belong to another window) and counted",
                            iso_millis(t),
                            iso_millis(w.start_ms),
                            iso_millis(w.end_ms)
                        );
                    }
                    continue;
                }
                match (purpose, item) {
                    (Purpose::Reconcile, Parsed::Record(record)) => self.reconcile_record(record, w).await?,
                    (_, item) => self.take(item, w).await?,
                }
            }
            if outside > 0 {
                self.summary.out_of_window += outside;
                self.metric("records_out_of_window_total", outside);
            }
            let new = self.settled().saturating_sub(settled_before);
            if let Some(every) = self.opts.progress_every
                && self.last_status.elapsed() >= every
            {
                self.last_status = Instant::now();
                self.progress(started);
            }
            match guard.after_page(cursor.as_deref(), new as usize, span_before, page.next) {
                Next::Follow(c) => cursor = Some(c),
                Next::Done => return Ok(Read::Whole),
                Next::Stalled(why) => {
                    self.summary.paging_stalls += 1;
                    self.metric("paging_stalls_total", 1);
                    match guard.after_stall() {
                        Some(Restart::Cursor(c)) => cursor = c,
                        Some(Restart::From(from)) => {
                            tracing::warn!(
                                stream = self.stream.name.as_str(),
                                "paging the window {} – {} makes no progress ({why}); querying again from {}",
                                iso_millis(w.start_ms),
                                iso_millis(w.end_ms),
                                iso_millis(from)
                            );
                            cursor = None;
                        }
                        None => {
                            tracing::warn!(
                                stream = self.stream.name.as_str(),
                                "paging the window {} – {} makes no progress ({why}); the window ends here. \
                                 Records the API did not return are not read: a reconciliation re-read \
                                 (`reconcile` in the spec) or a later run may find them",
                                iso_millis(w.start_ms),
                                iso_millis(w.end_ms)
                            );
                            return Ok(Read::Whole);
                        }
                    }
                }
            }
        }
    }

    /// The page that answers `req`: read ahead when the window is (catch-up only), else asked
    /// for now. Before a read-ahead page is waited for, the session is brought up to date (a
    /// login when due, with its retries and failures as a direct call would have them) and its
    /// header handed to the read-ahead tasks.
    async fn fetch(
        &mut self,
        api: &mut Api,
        pager: &Pager,
        method: &reqwest::Method,
        w: Window,
        purpose: Purpose,
        req: &PageRequest,
    ) -> Result<Page, CallError> {
        let mut stop = self.stop.clone();
        let mut failed = None;
        if purpose == Purpose::CatchUp
            && let Some(ahead) = self.ahead.as_mut().filter(|a| a.has(w))
        {
            let (header, until) = api.auth().await?;
            ahead.publish(header, until);
            match ahead.take(w, req, &mut stop).await {
                Taken::Page(page) => return Ok(page),
                Taken::Stopped => return Err(CallError::Stopped),
                Taken::Direct | Taken::Failed(Missed::Redirected) => {}
                // Sent again directly, with the retries and reports of a direct call: after a
                // `401`, with a new login first, as a direct call's own `401` would; after any
                // other failure, with the warning and the pause of a first retry.
                Taken::Failed(Missed::Unauthorized) => api.token_refused(),
                Taken::Failed(Missed::Failed { what, quoted, retry_after }) => {
                    failed = Some((what + &quoted, retry_after));
                }
                Taken::Failed(Missed::Refused(status)) => {
                    let path = req.path.as_deref().unwrap_or(&self.stream.path);
                    return Err(CallError::RequestRefused(format!(
                        "the API refused the request: {method} {path}: HTTP {status}"
                    )));
                }
            }
        }
        let path = req.path.as_deref().unwrap_or(&self.stream.path);
        api.call_after(failed, method, path, &req.query, req.body.as_ref(), |v| pager.parse(v, req.cursor.as_deref()))
            .await
    }

    /// Records settled so far: delivered, dead-lettered or dropped as known.
    fn settled(&self) -> u64 {
        self.dedup.len() as u64 + self.summary.reconciled + self.summary.total_dead_letters()
    }
}
