//! The batcher: groups encoded events into batches bounded by a count and a byte size before
//! they go to a sink.

/// One event, encoded once, with its time (remote sinks order and bucket by it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedEvent {
    /// The event as one line of JSON, without the newline.
    pub line: String,
    /// Unix milliseconds.
    pub time_ms: i64,
}

/// Events to be shipped together.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    pub events: Vec<EncodedEvent>,
    /// Size as the sink counts it: the lines plus the per-event overhead.
    pub bytes: usize,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Collects events until a batch is full.
#[derive(Debug)]
pub struct Batcher {
    max_events: usize,
    max_bytes: usize,
    /// Bytes a sink adds per event (a newline for files, 26 for CloudWatch Logs).
    overhead: usize,
    current: Batch,
}

impl Batcher {
    pub fn new(max_events: usize, max_bytes: usize, overhead: usize) -> Self {
        Batcher { max_events: max_events.max(1), max_bytes: max_bytes.max(1), overhead, current: Batch::default() }
    }

    /// Whether `event` still fits in the current batch. An event larger than the byte limit
    /// on its own always fits an empty batch (the sink decides what to do with it).
    pub fn fits(&self, event: &EncodedEvent) -> bool {
        self.current.is_empty()
            || (self.current.len() < self.max_events
                && self.current.bytes + event.line.len() + self.overhead <= self.max_bytes)
    }

    /// Adds an event. The caller must [`Batcher::take`] first when it does not [`fit`](Self::fits).
    pub fn push(&mut self, event: EncodedEvent) {
        self.current.bytes += event.line.len() + self.overhead;
        self.current.events.push(event);
    }

    /// True when no further event can join the batch.
    pub fn is_full(&self) -> bool {
        self.current.len() >= self.max_events || self.current.bytes >= self.max_bytes
    }

    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    pub fn len(&self) -> usize {
        self.current.len()
    }

    /// The batch collected so far; the batcher starts a new one.
    pub fn take(&mut self) -> Batch {
        std::mem::take(&mut self.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: usize) -> EncodedEvent {
        EncodedEvent { line: "x".repeat(n), time_ms: 0 }
    }

    #[test]
    fn count_limit() {
        let mut b = Batcher::new(3, 1 << 20, 1);
        for _ in 0..3 {
            assert!(b.fits(&ev(10)));
            b.push(ev(10));
        }
        assert!(b.is_full() && !b.fits(&ev(1)));
        let batch = b.take();
        assert_eq!((batch.len(), batch.bytes), (3, 33));
        assert!(b.is_empty() && b.fits(&ev(1)));
    }

    #[test]
    fn byte_limit_counts_overhead() {
        let mut b = Batcher::new(100, 100, 26);
        b.push(ev(24)); // 50
        assert!(b.fits(&ev(24))); // exactly 100
        b.push(ev(24));
        assert!(b.is_full());
        assert!(!b.fits(&ev(0)));
        assert_eq!(b.take().bytes, 100);
    }

    #[test]
    fn an_oversized_event_goes_alone() {
        let mut b = Batcher::new(100, 10, 0);
        assert!(b.fits(&ev(50)));
        b.push(ev(50));
        assert!(b.is_full() && !b.fits(&ev(1)));
        assert_eq!(b.take().len(), 1);
    }
}
