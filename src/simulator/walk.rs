//! Walks over the tenant's records in `(time, id)` order: the generated chunks merged with the
//! overlay of inserted records, forward from a place or backward from one, chunk by chunk
//! (a chunk is generated when the walk reaches it).

use std::ops::ControlFlow;

use super::chunks::Chunks;
use super::record::StoredEvent;

/// Where a forward walk starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seek<'a> {
    /// At the first record at or after this instant.
    AtOrAfter(i64),
    /// At the first record strictly after the position `(time, id)`.
    After(i64, &'a str),
}

impl Seek<'_> {
    fn time_ms(&self) -> i64 {
        match self {
            Seek::AtOrAfter(t) | Seek::After(t, _) => *t,
        }
    }

    /// Whether `r` is at or after the place.
    fn admits(&self, r: &StoredEvent) -> bool {
        match self {
            Seek::AtOrAfter(t) => r.time_ms >= *t,
            Seek::After(t, id) => r.position() > (*t, *id),
        }
    }
}

/// Visits the records from `from` on, in order, until `visit` breaks or none is left.
pub fn forward(
    chunks: &Chunks,
    overlay: &[StoredEvent],
    from: Seek<'_>,
    mut visit: impl FnMut(&StoredEvent) -> ControlFlow<()>,
) {
    let layout = chunks.layout();
    let mut o = overlay.partition_point(|r| !from.admits(r));
    let first = layout.chunk_of(from.time_ms());
    for n in first..layout.len() {
        let chunk = chunks.get(n);
        let c = if n == first { chunk.records.partition_point(|r| !from.admits(r)) } else { 0 };
        if merge(&chunk.records[c..], overlay, &mut o, layout.upper(n), &mut visit).is_break() {
            return;
        }
    }
}

/// Visits `generated` merged with the overlay from `*o` on up to `upper` (exclusive).
fn merge(
    generated: &[StoredEvent],
    overlay: &[StoredEvent],
    o: &mut usize,
    upper: Option<i64>,
    visit: &mut impl FnMut(&StoredEvent) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut c = 0;
    loop {
        let inserted = overlay.get(*o).filter(|r| upper.is_none_or(|u| r.time_ms < u));
        let r = match (generated.get(c), inserted) {
            (Some(g), Some(i)) if g.position() < i.position() => {
                c += 1;
                g
            }
            (_, Some(i)) => {
                *o += 1;
                i
            }
            (Some(g), None) => {
                c += 1;
                g
            }
            (None, None) => return ControlFlow::Continue(()),
        };
        visit(r)?;
    }
}

/// Visits the records strictly before the position `(time_ms, id)`, newest first, until
/// `visit` breaks or none is left.
pub fn backward(
    chunks: &Chunks,
    overlay: &[StoredEvent],
    before: (i64, &str),
    mut visit: impl FnMut(&StoredEvent) -> ControlFlow<()>,
) {
    let layout = chunks.layout();
    let mut o = overlay.partition_point(|r| r.position() < before);
    let first = layout.chunk_of(before.0);
    for n in (0..=first).rev() {
        let chunk = chunks.get(n);
        let records = &chunk.records;
        let mut c = if n == first { records.partition_point(|r| r.position() < before) } else { records.len() };
        let lower = layout.lower(n);
        loop {
            let generated = c.checked_sub(1).and_then(|i| records.get(i));
            let inserted =
                o.checked_sub(1).and_then(|i| overlay.get(i)).filter(|r| lower.is_none_or(|l| r.time_ms >= l));
            let r = match (generated, inserted) {
                (Some(g), Some(i)) if g.position() > i.position() => {
                    c -= 1;
                    g
                }
                (_, Some(i)) => {
                    o -= 1;
                    i
                }
                (Some(g), None) => {
                    c -= 1;
                    g
                }
                (None, None) => break,
            };
            if visit(r).is_break() {
                return;
            }
        }
    }
}

/// Visits the records of chunk `n`'s time range (generated and inserted), in order.
pub fn chunk(chunks: &Chunks, overlay: &[StoredEvent], n: usize, mut visit: impl FnMut(&StoredEvent)) {
    let layout = chunks.layout();
    let mut o = layout.lower(n).map_or(0, |l| overlay.partition_point(|r| r.time_ms < l));
    let generated = chunks.get(n);
    let _ = merge(&generated.records, overlay, &mut o, layout.upper(n), &mut |r| {
        visit(r);
        ControlFlow::Continue(())
    });
}
