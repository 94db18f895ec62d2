//! The tenant's generated records, cut into chunks of time: where the chunks lie and how many
//! records each holds (from the configuration alone), a chunk generated when a page needs it,
//! and the few chunks kept in memory (least recently used goes first).
//!
//! A tenant of at most [`SimConfig::one_pass_records`] (20,000) records is one chunk,
//! generated from the tenant's seed in one pass: exactly the tenant of a simulator that held
//! every record. A larger one is cut at whole seconds into chunks of at most
//! [`SimConfig::chunk_records`] (5,000) records each (small, so that the chunks kept cost
//! little and one is generated in a few milliseconds), at equal
//! shares of the tenant's busyness (working hours are busier than nights, as
//! [`generate::busyness`] weighs them), so that the records of a chunk are drawn from the same
//! distribution, in the same way, as the whole tenant's; each chunk has streams of its own,
//! derived from the seed and its place. Such a tenant is another tenant than one pass would
//! give (the same seed still gives the same one). A chunk covers `[lo, hi)` in time (the
//! first from the start of time, the last to its end): its second-precision `eventTime`s
//! round down to a whole second at or after `lo`, so no record leaves its chunk.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use super::config::SimConfig;
use super::faults::Fault;
use super::generate::{self, Generator};
use super::poison::PoisonSet;
use super::record::StoredEvent;
use super::rng::mix64;

/// Chunks kept in memory at most (besides those a page in progress still holds): enough for
/// as many readers as a concurrent backfill runs at once, each in a chunk of its own.
pub const CACHED_CHUNKS: usize = 8;

/// Where the chunks lie and how many records each holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    start_ms: i64,
    end_ms: i64,
    /// Where chunks `1..` start (whole seconds, increasing).
    bounds: Vec<i64>,
    counts: Vec<usize>,
}

impl Layout {
    /// The chunks of `events` records in `[start_ms, end_ms]`: one of them all when they are at
    /// most `one_pass`, else at most `max_records` each when whole seconds allow.
    pub fn new(events: usize, start_ms: i64, end_ms: i64, one_pass: usize, max_records: usize) -> Self {
        let end_ms = end_ms.max(start_ms);
        let single = Layout { start_ms, end_ms, bounds: Vec::new(), counts: vec![events] };
        let max_records = max_records.max(1);
        if events <= one_pass.max(max_records) {
            return single;
        }
        let first_second = start_ms.div_euclid(1000) + 1;
        let last_second = end_ms.div_euclid(1000);
        if last_second < first_second {
            return single;
        }
        let weight = |t: i64| generate::busyness(t, end_ms) - generate::busyness(start_ms, end_ms);
        let total = weight(end_ms);
        let least = events.div_ceil(max_records);
        let seconds = usize::try_from(last_second - first_second + 2).unwrap_or(usize::MAX);
        let mut best = single;
        // Rounding the cuts to whole seconds can leave a chunk a little over: a few more pieces.
        for pieces in least..=(least + least / 8 + 8).min(seconds).max(least) {
            let mut bounds: Vec<i64> = (1..pieces)
                .map(|i| {
                    let target = total * i as f64 / pieces as f64;
                    // The first whole second whose busyness reaches the target.
                    let (mut lo, mut hi) = (first_second, last_second);
                    while lo < hi {
                        let mid = lo + (hi - lo) / 2;
                        if weight(mid * 1000) >= target { hi = mid } else { lo = mid + 1 }
                    }
                    lo * 1000
                })
                .collect();
            bounds.dedup();
            let share = |t: i64| (events as f64 * (weight(t) / total)).round() as usize;
            let mut edges: Vec<usize> = bounds.iter().map(|&b| share(b).min(events)).collect();
            edges.insert(0, 0);
            edges.push(events);
            let counts: Vec<usize> = edges.windows(2).map(|w| w[1].saturating_sub(w[0])).collect();
            let layout = Layout { start_ms, end_ms, bounds, counts };
            if layout.largest() <= max_records {
                return layout;
            }
            if layout.largest() < best.largest() {
                best = layout;
            }
        }
        // Too few whole seconds for chunks that small.
        best
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Records of all chunks.
    pub fn records(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Records of chunk `i`.
    pub fn count(&self, i: usize) -> usize {
        self.counts.get(i).copied().unwrap_or(0)
    }

    fn largest(&self) -> usize {
        self.counts.iter().copied().max().unwrap_or(0)
    }

    /// The chunk whose time range holds `t_ms`.
    pub fn chunk_of(&self, t_ms: i64) -> usize {
        self.bounds.partition_point(|&b| b <= t_ms)
    }

    /// The start of chunk `i`'s time range (`None`: from the start of time).
    pub fn lower(&self, i: usize) -> Option<i64> {
        i.checked_sub(1).and_then(|j| self.bounds.get(j).copied())
    }

    /// The end, exclusive, of chunk `i`'s time range (`None`: to the end of time).
    pub fn upper(&self, i: usize) -> Option<i64> {
        self.bounds.get(i).copied()
    }

    /// The instants chunk `i`'s records are drawn from, inclusive.
    fn draw_range(&self, i: usize) -> (i64, i64) {
        let lo = self.lower(i).unwrap_or(self.start_ms);
        let hi = self.upper(i).map_or(self.end_ms, |u| u - 1);
        (lo, hi)
    }
}

/// One generated chunk.
#[derive(Debug)]
pub struct Chunk {
    /// Sorted by `(time, id)`.
    pub records: Vec<StoredEvent>,
    /// Those of its records served as poison.
    pub poison: PoisonSet,
}

/// The generated records of a tenant, chunk by chunk.
#[derive(Debug)]
pub struct Chunks {
    config: SimConfig,
    layout: Layout,
    /// Most recently used first.
    cache: Mutex<VecDeque<(usize, Arc<Chunk>)>>,
    time_faults: OnceLock<(u64, u64)>,
}

impl Chunks {
    /// The chunks of the tenant `config` describes, its span ending at `end_ms`; a tenant of
    /// one chunk is generated now, a larger one chunk by chunk when asked.
    pub fn new(config: &SimConfig, end_ms: i64, span_ms: i64) -> Self {
        let layout =
            Layout::new(config.events, end_ms - span_ms.max(0), end_ms, config.one_pass_records, config.chunk_records);
        let chunks =
            Chunks { config: config.clone(), layout, cache: Mutex::new(VecDeque::new()), time_faults: OnceLock::new() };
        if chunks.layout.len() == 1 {
            chunks.get(0);
        }
        chunks
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The seed chunk `i`'s streams derive from: the tenant's own for a tenant of one chunk.
    fn streams(&self, i: usize) -> u64 {
        if self.layout.len() == 1 {
            self.config.seed
        } else {
            mix64(self.config.seed ^ mix64(0x6368_756e_6b00_0000 ^ i as u64))
        }
    }

    /// Chunk `i`, generated unless it is in memory.
    pub fn get(&self, i: usize) -> Arc<Chunk> {
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(at) = cache.iter().position(|(n, _)| *n == i) {
                let entry = cache.remove(at).unwrap_or_else(|| (i, Arc::new(self.generate(i))));
                let chunk = Arc::clone(&entry.1);
                cache.push_front(entry);
                return chunk;
            }
        }
        // Generated without the lock, so that pages in other chunks go on meanwhile.
        let chunk = Arc::new(self.generate(i));
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if !cache.iter().any(|(n, _)| *n == i) {
            cache.push_front((i, Arc::clone(&chunk)));
            cache.truncate(CACHED_CHUNKS);
        }
        chunk
    }

    fn generate(&self, i: usize) -> Chunk {
        let (lo, hi) = self.layout.draw_range(i);
        let streams = self.streams(i);
        let records =
            Generator::with_streams(&self.config, streams).chunk(self.layout.count(i), lo, hi, self.layout.end_ms);
        let faults = &self.config.faults;
        let poison = if faults.kinds.contains(&Fault::PoisonRecords) {
            PoisonSet::choose(&records, streams, faults.rate, &faults.poison_variants)
        } else {
            PoisonSet::default()
        };
        Chunk { records, poison }
    }

    /// Generated records held in memory now (by the cache).
    pub fn resident(&self) -> usize {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(_, c)| c.records.len()).sum()
    }

    /// Records of every chunk with a `time-variant` and a `time-no-zone` `eventTime`, counted
    /// from the streams (no chunk is generated).
    pub fn time_fault_counts(&self) -> (u64, u64) {
        *self.time_faults.get_or_init(|| {
            (0..self.layout.len()).fold((0, 0), |(v, n), i| {
                let (dv, dn) = Generator::time_fault_counts(&self.config, self.streams(i), self.layout.count(i));
                (v + dv, n + dn)
            })
        })
    }

    /// Records served as poison, counted without generating a chunk.
    pub fn poison_count(&self) -> u64 {
        let faults = &self.config.faults;
        if !faults.kinds.contains(&Fault::PoisonRecords) {
            return 0;
        }
        (0..self.layout.len())
            .map(|i| PoisonSet::count(self.layout.count(i), faults.rate, &faults.poison_variants) as u64)
            .sum()
    }

    /// Whether any record is served as poison.
    pub fn has_poison(&self) -> bool {
        self.poison_count() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const END: i64 = 1_764_619_804_000;
    const DAY: i64 = 86_400_000;

    #[test]
    fn a_small_tenant_is_one_chunk() {
        let l = Layout::new(20_000, END - DAY, END, 20_000, 5_000);
        assert_eq!((l.len(), l.records(), l.lower(0), l.upper(0)), (1, 20_000, None, None));
        assert_eq!(l.draw_range(0), (END - DAY, END));
    }

    #[test]
    fn chunks_hold_at_most_the_maximum_on_whole_seconds_and_add_up() {
        for (events, span, max) in [(10_000_000, 7 * DAY, 20_000), (50_000, DAY, 5_000), (20_001, DAY, 20_000)] {
            let l = Layout::new(events, END - span, END, max, max);
            assert_eq!(l.records(), events);
            assert!(l.counts.iter().all(|&c| c <= max && c > 0), "{:?}", l.counts);
            assert!(l.len() >= events.div_ceil(max) && l.len() <= events.div_ceil(max) + 3, "{}", l.len());
            assert!(l.bounds.iter().all(|b| b % 1000 == 0));
            assert!(l.bounds.windows(2).all(|w| w[0] < w[1]));
            for i in 0..l.len() {
                let (lo, hi) = l.draw_range(i);
                assert!(lo <= hi);
                assert_eq!(l.chunk_of(lo), i);
                assert_eq!(l.chunk_of(hi), i);
            }
        }
    }

    #[test]
    fn busy_hours_get_shorter_chunks() {
        let l = Layout::new(100_000, END - DAY, END, 5_000, 5_000);
        let lengths: Vec<i64> = (0..l.len()).map(|i| l.draw_range(i).1 - l.draw_range(i).0).collect();
        let (short, long) = (lengths.iter().min().copied().unwrap_or(0), lengths.iter().max().copied().unwrap_or(0));
        // Chunks of the same count: a night chunk is about 1 / 0.35 as long as a working one.
        assert!(long as f64 > 2.0 * short as f64, "{lengths:?}");
    }

    #[test]
    fn too_few_seconds_give_fewer_larger_chunks() {
        let l = Layout::new(1000, END - 3_000, END, 100, 100);
        assert_eq!(l.records(), 1000);
        assert!(l.len() <= 4, "{}", l.len());
    }
}
