//! Partitioned read-ahead: while the runner delivers one window, that window and (with a
//! concurrency above one) the windows that come after it in the catch-up (partitions) are read
//! by tasks of their own, each with its own cursor, up to `concurrency` partitions at once and
//! `DEPTH` pages ahead each: at concurrency 1 the next page is fetched while the runner maps
//! and writes the current one. The runner still reads every
//! window in order through the same guards: for each page it computes the request it would
//! send and takes the read-ahead page only if it answers exactly that request; otherwise (a
//! failure, a restarted query, a cursor the guards refused) the partition is dropped and the
//! runner sends the request itself, so retries, refusals and their reports stay in one place.
//!
//! Delivery in window order keeps the checkpoint as it is: what is complete is always a prefix
//! of the catch-up (the watermark and the window's delivered ids), so a crash at any moment
//! restarts from it and reads ahead again. Memory: at most `concurrency × DEPTH` pages (at
//! concurrency 1 too: a deeper queue hides a server's uneven pace).

use super::http::{Missed, Sender};
use super::pager::{Page, PageRequest, Pager};
use super::window::{Planner, Position, Window};
use crate::source::timefmt::now_ms;
use reqwest::Method;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Pages a partition reads ahead of the runner before it waits.
pub const DEPTH: usize = 8;

/// Cursors a partition follows at most (a server that never ends a window is the runner's
/// guards' business; the read-ahead just stops).
const MAX_PAGES: usize = 10_000;

/// The auth header the tasks send, and until when (Unix ms).
#[derive(Debug, Clone)]
struct Published {
    header: Option<(String, String)>,
    until_ms: i64,
}

/// One page read ahead, with the request it answers (`None`: the answer was not usable).
struct Fetched {
    req: PageRequest,
    page: Result<Page, Missed>,
}

struct Partition {
    window: Window,
    pages: mpsc::Receiver<Fetched>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a page request to the read-ahead gave.
pub enum Taken {
    /// The page that answers the request.
    Page(Page),
    /// Nothing read ahead for it: send it directly.
    Direct,
    /// The read-ahead request for it failed (an error, a timeout, an answer that is not a
    /// page, or with `Missed::Unauthorized` a `401`): send it directly, as a retry.
    Failed(Missed),
    /// A stop was requested while waiting.
    Stopped,
}

/// The partitions being read ahead of the runner.
pub struct ReadAhead {
    concurrency: usize,
    sender: Sender,
    pager: Arc<Pager>,
    method: Method,
    path: Arc<str>,
    auth: watch::Sender<Option<Published>>,
    partitions: VecDeque<Partition>,
    /// Pages taken from the read-ahead, and pages it read that were not used.
    pub used: u64,
    pub discarded: u64,
}

impl ReadAhead {
    pub fn new(concurrency: usize, sender: Sender, pager: Arc<Pager>, method: Method, path: &str) -> Self {
        ReadAhead {
            concurrency: concurrency.max(1),
            sender,
            pager,
            method,
            path: Arc::from(path),
            auth: watch::Sender::new(None),
            partitions: VecDeque::new(),
            used: 0,
            discarded: 0,
        }
    }

    /// The windows a catch-up from `pos` to `target` reads next, the coming one first: the
    /// same steps the runner takes (each window's end becomes the watermark).
    pub fn upcoming(planner: &Planner, mut pos: Position, target: i64, n: usize) -> Vec<Window> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n
            && let Some(w) = planner.next(pos, target)
        {
            out.push(w);
            pos = planner.advance(pos, w.end_ms);
        }
        out
    }

    /// Reads ahead the windows of `coming` (the one the runner reads now first): partitions
    /// already reading one of them are kept, others dropped, missing ones started.
    pub fn plan(&mut self, coming: &[Window]) {
        let mut old = std::mem::take(&mut self.partitions);
        for w in coming.iter().take(self.concurrency) {
            match old.iter().position(|p| p.window == *w) {
                Some(i) => {
                    let p = old.remove(i).expect("index in range");
                    self.partitions.push_back(p);
                }
                None => self.partitions.push_back(self.start(*w)),
            }
        }
    }

    /// Tells the tasks which auth header to send.
    pub fn publish(&self, header: Option<(String, String)>, until_ms: i64) {
        self.auth.send_replace(Some(Published { header, until_ms }));
    }

    fn start(&self, window: Window) -> Partition {
        let (tx, rx) = mpsc::channel(DEPTH);
        let task = tokio::spawn(read_partition(
            self.sender.clone(),
            Arc::clone(&self.pager),
            self.method.clone(),
            Arc::clone(&self.path),
            window,
            self.auth.subscribe(),
            tx,
        ));
        Partition { window, pages: rx, task }
    }

    /// Is window `w` being read ahead?
    pub fn has(&self, w: Window) -> bool {
        self.partitions.front().is_some_and(|p| p.window == w)
    }

    /// The read-ahead page of window `w` that answers `req`, waiting for it if it is on its way.
    pub async fn take(&mut self, w: Window, req: &PageRequest, stop: &mut watch::Receiver<bool>) -> Taken {
        let Some(front) = self.partitions.front_mut().filter(|p| p.window == w) else {
            return Taken::Direct;
        };
        let fetched = tokio::select! {
            f = front.pages.recv() => f,
            _ = stop.changed() => return Taken::Stopped,
        };
        match fetched {
            Some(Fetched { req: asked, page: Ok(page) }) if asked == *req => {
                self.used += 1;
                Taken::Page(page)
            }
            other => {
                // Off the runner's track (or at its end), or failed: the rest of this window
                // is read directly.
                let failed = match &other {
                    Some(Fetched { req: asked, page: Err(missed) }) if asked == req => Some(missed.clone()),
                    _ => None,
                };
                if let Some(f) = other.as_ref().filter(|_| failed.is_none()) {
                    self.discarded += 1;
                    unneeded(f);
                }
                self.discarded += self.partitions.pop_front().map_or(0, |mut p| drain(&mut p.pages));
                failed.map_or(Taken::Direct, Taken::Failed)
            }
        }
    }

    /// The run ends: every partition stops, and what they held counts as unused.
    pub fn close(&mut self) {
        while let Some(mut p) = self.partitions.pop_front() {
            self.discarded += drain(&mut p.pages);
        }
    }

    /// Window `w` is read: its partition ends.
    pub fn finish(&mut self, w: Window) {
        if self.has(w) {
            self.discarded += self.partitions.pop_front().map_or(0, |mut p| drain(&mut p.pages));
        }
    }
}

/// A page read ahead and not used: a failure the API answered is still reported, once, as
/// the failure of a request that was not needed (nothing is sent again for it), in the
/// engine's words only (what the API said is not masked here, so it is not quoted).
fn unneeded(f: &Fetched) {
    if let Err(Missed::Failed { what, .. }) = &f.page {
        tracing::warn!("{what} (a page read ahead that the run did not need)");
    }
}

/// Counts (and drops) the pages a partition holds that were not used.
fn drain(pages: &mut mpsc::Receiver<Fetched>) -> u64 {
    let mut n = 0;
    while let Ok(f) = pages.try_recv() {
        unneeded(&f);
        n += 1;
    }
    n
}

/// A partition's task: the window's first page, then each next cursor, until the last page, an
/// unusable answer, a cursor seen before, or the runner dropping the partition.
async fn read_partition(
    sender: Sender,
    pager: Arc<Pager>,
    method: Method,
    path: Arc<str>,
    w: Window,
    mut auth: watch::Receiver<Option<Published>>,
    pages: mpsc::Sender<Fetched>,
) {
    let mut cursor: Option<String> = None;
    let mut followed = HashSet::new();
    for _ in 0..MAX_PAGES {
        let Ok(req) = pager.request(w, cursor.as_deref()) else { return };
        // A header that is still good; the runner logs in again when it is due.
        let header = loop {
            let current = auth.borrow_and_update().clone();
            match current {
                Some(p) if now_ms() < p.until_ms => break p.header,
                _ => {
                    if auth.changed().await.is_err() {
                        return;
                    }
                }
            }
        };
        let h = header.as_ref().map(|(n, v)| (n.as_str(), v.as_str()));
        let page = sender
            .once(&method, req.path.as_deref().unwrap_or(&path), &req.query, req.body.as_ref(), h)
            .await
            .and_then(|b| {
                pager.parse(&b, req.cursor.as_deref()).map_err(|e| Missed::Failed {
                    what: format!("{method} {}: unusable response", req.path.as_deref().unwrap_or(&path)),
                    quoted: super::mask::mask_sent(&format!(": {e}"), h.map(|(_, v)| v)),
                    retry_after: None,
                })
            });
        let next = page.as_ref().ok().and_then(|p| p.next.clone());
        let usable = page.is_ok();
        if pages.send(Fetched { req, page }).await.is_err() || !usable {
            return;
        }
        match next {
            Some(c) if followed.insert(c.clone()) => cursor = Some(c),
            _ => return,
        }
    }
}
