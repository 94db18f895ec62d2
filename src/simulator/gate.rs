//! A gate tests close to hold API requests: while it is closed, every API request waits before
//! it is served, and the number waiting can be awaited, so that a test can act while a client
//! is known to be mid-request without sleeping.

use tokio::sync::watch;

#[derive(Debug)]
pub struct Gate {
    open: watch::Sender<bool>,
    waiting: watch::Sender<usize>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate { open: watch::channel(true).0, waiting: watch::channel(0).0 }
    }
}

impl Gate {
    pub fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }

    /// Waits while the gate is closed.
    pub async fn pass(&self) {
        let mut open = self.open.subscribe();
        if *open.borrow_and_update() {
            return;
        }
        self.waiting.send_modify(|n| *n += 1);
        let _ = open.wait_for(|o| *o).await;
        self.waiting.send_modify(|n| *n -= 1);
    }

    /// Returns once at least `n` requests wait at the gate.
    pub async fn waiting(&self, n: usize) {
        let _ = self.waiting.subscribe().wait_for(|w| *w >= n).await;
    }
}
