//! The coordination protocol, proved step by step against an in-process store with
//! linearizable compare-and-swap: every worker has its own hand-moved clock, and each test
//! scripts who does what when (a worker paused past its lease and resuming, answers lost after
//! the write landed, clocks set hours apart, 409 conflicts, two workers racing for one lease).
//!
//! A model pipeline stands in for the runner: it commits a write-ahead intent, sends a batch
//! to a model sink that cannot take anything back, and commits the position; a new owner reads
//! back what an intent may have left there, as the CloudWatch Logs sink does. The sink counts
//! every delivery, so "nothing twice" is checked, not assumed.

use ocsf_engine::coord::fenced::{FencedCheckpoint, checkpoint_key};
use ocsf_engine::coord::lease::lease_key;
use ocsf_engine::coord::memory::{Fault, MemoryStore, Op};
use ocsf_engine::coord::{Claim, Lease, Leases, Scheduler, Store, Taken};
use ocsf_engine::runner::clock::Clock;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TTL: Duration = Duration::from_secs(30);
const TTL_MS: i64 = 30_000;
/// The longest a send may take (the fenced sink's bound).
const LONGEST_SEND_MS: i64 = 30_000;

fn leases(store: &Arc<MemoryStore>, worker: &str, clock: &Clock) -> Arc<Leases> {
    let store: Arc<dyn Store> = store.clone();
    Arc::new(Leases::new(store, worker, TTL, clock.clone()))
}

async fn acquire(l: &Leases, unit: &str) -> Arc<Lease> {
    match l.try_acquire(unit).await.unwrap() {
        Claim::Acquired(lease) => lease,
        Claim::Busy { owner, .. } => panic!("{} could not take `{unit}`: held by `{owner}`", l.worker()),
    }
}

async fn busy(l: &Leases, unit: &str) -> bool {
    matches!(l.try_acquire(unit).await.unwrap(), Claim::Busy { .. })
}

/// A destination that cannot take anything back: every delivery of every record, counted.
#[derive(Default)]
struct ModelSink(Mutex<BTreeMap<u64, u32>>);

impl ModelSink {
    fn send(&self, ids: std::ops::Range<u64>) {
        let mut m = self.0.lock().unwrap();
        for id in ids {
            *m.entry(id).or_default() += 1;
        }
    }

    fn holds(&self, id: u64) -> bool {
        self.0.lock().unwrap().contains_key(&id)
    }

    fn assert_exactly_once(&self, upto: u64) {
        let m = self.0.lock().unwrap();
        let twice: Vec<_> = m.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "delivered more than once: {twice:?}");
        let missing: Vec<_> = (0..upto).filter(|id| !m.contains_key(id)).collect();
        assert!(missing.is_empty(), "lost: {missing:?}");
    }
}

/// A worker running the model pipeline of unit `p` under a held lease.
struct Worker {
    fenced: FencedCheckpoint,
    /// The position: the next record id to read.
    next: u64,
    /// Ids of an intent found at takeover that are already in the sink.
    present: Vec<u64>,
}

impl Worker {
    /// Fences the checkpoint and recovers an intent: after waiting out the longest send (the
    /// lease itself was waited out by the takeover), reads the sink back over it.
    async fn start(leases: &Arc<Leases>, lease: Arc<Lease>, sink: &ModelSink, clock: &Clock) -> Worker {
        let key = checkpoint_key("p", "src", "audit");
        let (fenced, before) =
            FencedCheckpoint::fence(Arc::clone(leases), Arc::clone(&lease), &key, "m1").await.unwrap();
        let cp = before.and_then(|b| b.checkpoint).unwrap_or(json!({"next": 0}));
        let next = cp["next"].as_u64().unwrap();
        let mut present = Vec::new();
        if let Some(p) = cp.get("pending").filter(|p| !p.is_null()) {
            if matches!(lease.taken, Taken::Expired { .. }) {
                // The heartbeat renews the lease during the wait.
                for _ in 0..3 {
                    clock.set(clock.now_ms() + LONGEST_SEND_MS / 3);
                    leases.renew(&lease).await.unwrap();
                }
            }
            let (from, to) = (p[0].as_u64().unwrap(), p[1].as_u64().unwrap());
            present = (from..to).filter(|id| sink.holds(*id)).collect();
        }
        Worker { fenced, next, present }
    }

    /// Write-ahead: the batch `[next, next+n)` is recorded as pending.
    async fn intent(&self, n: u64) -> Result<(), String> {
        let cp = json!({"next": self.next, "pending": [self.next, self.next + n]});
        self.fenced.commit(cp).await.map_err(|e| e.to_string())
    }

    /// Sends what of the batch the sink does not hold yet, only while the lease holds.
    fn send(&self, sink: &ModelSink, n: u64) -> Result<(), String> {
        self.fenced.lease().check()?;
        for id in self.next..self.next + n {
            if !self.present.contains(&id) {
                sink.send(id..id + 1);
            }
        }
        Ok(())
    }

    async fn commit(&mut self, n: u64) -> Result<(), String> {
        let cp = json!({"next": self.next + n, "pending": Value::Null});
        self.fenced.commit(cp).await.map_err(|e| e.to_string())?;
        self.next += n;
        self.present.clear();
        Ok(())
    }

    async fn batch(&mut self, sink: &ModelSink, n: u64) -> Result<(), String> {
        self.intent(n).await?;
        self.send(sink, n)?;
        self.commit(n).await
    }
}

/// B watches A's lease go unrenewed for a whole lease by B's clock, then takes it over.
async fn take_over(b: &Arc<Leases>, clock_b: &Clock) -> Arc<Lease> {
    assert!(busy(b, "p").await, "the lease is A's while it looks fresh");
    clock_b.set(clock_b.now_ms() + TTL_MS - 1);
    assert!(busy(b, "p").await, "not a millisecond early");
    clock_b.set(clock_b.now_ms() + 1);
    let lease = acquire(b, "p").await;
    assert!(matches!(&lease.taken, Taken::Expired { from } if from == "A"), "{:?}", lease.taken);
    lease
}

#[derive(Clone, Copy, Debug)]
enum PausedBefore {
    /// After reading a batch, before its intent.
    Intent,
    /// After its intent, before the send.
    Send,
    /// After the send, before the commit.
    Commit,
}

/// A pauses past its lease at `at` (its clock moves on with the pause, as a stopped process's
/// does); B takes over, recovers and goes on; A resumes and must neither send nor commit.
async fn paused_past_the_lease(at: PausedBefore) {
    let store = Arc::new(MemoryStore::new());
    let sink = ModelSink::default();
    let (clock_a, clock_b) = (Clock::fixed(1_000_000), Clock::fixed(5_000_000));
    let (a, b) = (leases(&store, "A", &clock_a), leases(&store, "B", &clock_b));
    let lease_a = acquire(&a, "p").await;
    assert_eq!(lease_a.epoch, 1);
    let mut wa = Worker::start(&a, Arc::clone(&lease_a), &sink, &clock_a).await;
    wa.batch(&sink, 10).await.unwrap();
    a.renew(&lease_a).await.unwrap();
    // A gets to the pause point.
    match at {
        PausedBefore::Intent => {}
        PausedBefore::Send => wa.intent(10).await.unwrap(),
        PausedBefore::Commit => {
            wa.intent(10).await.unwrap();
            wa.send(&sink, 10).unwrap();
        }
    }
    // A is paused; B takes over and goes on.
    let lease_b = take_over(&b, &clock_b).await;
    assert_eq!(lease_b.epoch, 2);
    let mut wb = Worker::start(&b, lease_b, &sink, &clock_b).await;
    assert_eq!(wb.next, 10);
    wb.batch(&sink, 10).await.unwrap();
    wb.batch(&sink, 5).await.unwrap();
    // A resumes where it paused; its clock moved on during the pause.
    clock_a.set(clock_a.now_ms() + 2 * TTL_MS);
    let resumed = match at {
        PausedBefore::Intent => wa.batch(&sink, 10).await,
        PausedBefore::Send => match wa.send(&sink, 10) {
            Ok(()) => wa.commit(10).await,
            Err(e) => Err(e),
        },
        PausedBefore::Commit => wa.commit(10).await,
    };
    let err = resumed.unwrap_err();
    // Refused by its own check (its clock says the lease ran out) or by the store's fence.
    assert!(err.contains("lease was lost") || err.contains("could not be renewed"), "{at:?}: {err}");
    // Even with a clock that did not move (the check passed just before the pause), the
    // commit itself is refused by the store: the fence.
    assert!(a.renew(&lease_a).await.unwrap_err().is_lost(), "{at:?}: A's renewal fails");
    sink.assert_exactly_once(25);
    let stored = store.peek(&checkpoint_key("p", "src", "audit")).unwrap();
    let env: Value = serde_json::from_slice(&stored.body).unwrap();
    assert_eq!((env["owner"].as_str(), env["epoch"].as_u64()), (Some("B"), Some(2)));
    assert_eq!(env["checkpoint"]["next"], 25);
}

#[tokio::test]
async fn a_worker_paused_past_its_lease_before_its_intent_changes_nothing() {
    paused_past_the_lease(PausedBefore::Intent).await;
}

#[tokio::test]
async fn a_worker_paused_after_its_intent_sends_nothing_when_it_resumes() {
    paused_past_the_lease(PausedBefore::Send).await;
}

#[tokio::test]
async fn a_batch_sent_before_the_pause_is_read_back_not_sent_again() {
    paused_past_the_lease(PausedBefore::Commit).await;
}

#[tokio::test]
async fn the_fence_refuses_a_commit_even_when_the_old_owner_thinks_it_still_holds() {
    let store = Arc::new(MemoryStore::new());
    let sink = ModelSink::default();
    let (clock_a, clock_b) = (Clock::fixed(0), Clock::fixed(0));
    let (a, b) = (leases(&store, "A", &clock_a), leases(&store, "B", &clock_b));
    let lease_a = acquire(&a, "p").await;
    let mut wa = Worker::start(&a, Arc::clone(&lease_a), &sink, &clock_a).await;
    wa.batch(&sink, 3).await.unwrap();
    // A's clock stands still (a pause between its check and its write): by its own reckoning
    // it still holds the lease. B's clock runs.
    let lease_b = take_over(&b, &clock_b).await;
    let mut wb = Worker::start(&b, lease_b, &sink, &clock_b).await;
    assert!(lease_a.check().is_ok(), "A believes it holds the lease");
    let err = wa.commit(4).await.unwrap_err();
    assert!(err.contains("worker `B` wrote the checkpoint at epoch 2"), "{err}");
    assert!(lease_a.check().unwrap_err().contains("epoch 2"), "and A knows it now");
    wb.batch(&sink, 4).await.unwrap();
    sink.assert_exactly_once(7);
}

#[tokio::test]
async fn two_workers_racing_for_one_lease_one_wins() {
    for round in 0..20 {
        let store = Arc::new(MemoryStore::new());
        let clock = Clock::fixed(round * 1000);
        let (a, b) = (leases(&store, "A", &clock), leases(&store, "B", &clock));
        let (ra, rb) = tokio::join!(a.try_acquire("p"), b.try_acquire("p"));
        let won: Vec<_> = [ra.unwrap(), rb.unwrap()]
            .into_iter()
            .filter_map(|c| match c {
                Claim::Acquired(l) => Some(l),
                Claim::Busy { .. } => None,
            })
            .collect();
        assert_eq!(won.len(), 1, "exactly one of two racing creators wins");
        // Both see it expire at once and race to take it over: one wins, at epoch 2.
        let c = Leases::new(store.clone(), "C", TTL, clock.clone());
        let d = Leases::new(store.clone(), "D", TTL, clock.clone());
        assert!(busy(&c, "p").await && busy(&d, "p").await);
        clock.set(clock.now_ms() + TTL_MS);
        let (rc, rd) = tokio::join!(c.try_acquire("p"), d.try_acquire("p"));
        let won: Vec<_> = [rc.unwrap(), rd.unwrap()]
            .into_iter()
            .filter_map(|c| match c {
                Claim::Acquired(l) => Some(l),
                Claim::Busy { .. } => None,
            })
            .collect();
        assert_eq!(won.len(), 1);
        assert_eq!(won[0].epoch, 2);
        assert!(won[0].check().is_ok());
        // The first winner's renewal now fails.
        let first = a.renew(&won[0]).await;
        assert!(first.is_ok() || first.unwrap_err().is_lost());
    }
}

#[tokio::test]
async fn lost_answers_are_resolved_by_reading_back() {
    let store = Arc::new(MemoryStore::new());
    let sink = ModelSink::default();
    let clock = Clock::fixed(0);
    let a = leases(&store, "A", &clock);
    // The create landed, its answer was lost: the lease is ours all the same.
    store.inject(Op::PutIfAbsent, "leases/", Fault::LoseAnswer);
    let lease = acquire(&a, "p").await;
    assert_eq!(lease.epoch, 1);
    // So for the fence, a commit and a renewal.
    store.inject(Op::PutIfAbsent, "state/", Fault::LoseAnswer);
    let mut w = Worker::start(&a, Arc::clone(&lease), &sink, &clock).await;
    store.inject(Op::PutIfMatch, "state/", Fault::LoseAnswer);
    w.batch(&sink, 5).await.unwrap();
    store.inject(Op::PutIfMatch, "leases/", Fault::LoseAnswer);
    clock.set(20_000);
    a.renew(&lease).await.unwrap();
    assert!(lease.valid_until_ms() >= 20_000 + 24_000, "the renewal that landed counts");
    // A lost answer to a write that did not land (the store answered nothing, did nothing).
    store.inject(Op::PutIfMatch, "state/", Fault::Unavailable);
    w.batch(&sink, 5).await.unwrap();
    sink.assert_exactly_once(10);
    let env: Value = serde_json::from_slice(&store.peek(&checkpoint_key("p", "src", "audit")).unwrap().body).unwrap();
    assert_eq!(env["checkpoint"]["next"], 10);
    // A takeover whose answer was lost is still a takeover, exactly once.
    let clock_b = Clock::fixed(777);
    let b = leases(&store, "B", &clock_b);
    assert!(busy(&b, "p").await);
    clock_b.set(777 + TTL_MS);
    store.inject(Op::PutIfMatch, "leases/", Fault::LoseAnswer);
    let lease_b = acquire(&b, "p").await;
    assert_eq!(lease_b.epoch, 2);
    assert!(a.renew(&lease).await.unwrap_err().is_lost());
}

#[tokio::test]
async fn conflicts_409_are_tried_again_and_decide_nothing() {
    let store = Arc::new(MemoryStore::new());
    let sink = ModelSink::default();
    let clock = Clock::fixed(0);
    let a = leases(&store, "A", &clock);
    store.inject(Op::PutIfAbsent, "leases/", Fault::Conflict409);
    let err = a.try_acquire("p").await.unwrap_err();
    assert!(err.is_transient() && err.to_string().contains("409"), "{err}");
    let lease = acquire(&a, "p").await;
    let mut w = Worker::start(&a, Arc::clone(&lease), &sink, &clock).await;
    // A commit meets a 409 twice and a 503 once, and still lands once.
    store.inject(Op::PutIfMatch, "state/", Fault::Conflict409);
    store.inject(Op::PutIfMatch, "state/", Fault::Conflict409);
    store.inject(Op::PutIfMatch, "state/", Fault::Unavailable);
    w.batch(&sink, 4).await.unwrap();
    // A renewal that meets a 409 leaves the lease held until its validity runs out.
    store.inject(Op::PutIfMatch, "leases/", Fault::Conflict409);
    clock.set(10_000);
    assert!(a.renew(&lease).await.unwrap_err().is_transient());
    assert!(lease.check().is_ok());
    clock.set(23_999);
    assert!(lease.check().is_ok(), "valid for four fifths of the lease after the last renewal");
    clock.set(24_000);
    assert!(lease.check().is_err(), "then no longer: another worker may judge it expired soon");
    let err = w.batch(&sink, 4).await.unwrap_err();
    assert!(err.contains("lease was lost"), "{err}");
    sink.assert_exactly_once(4);
}

#[tokio::test]
async fn clocks_set_hours_apart_neither_steal_nor_keep_a_lease() {
    let store = Arc::new(MemoryStore::new());
    // A's clock is two hours ahead of B's, C's a day behind.
    let clock_a = Clock::fixed(10_000_000 + 7_200_000);
    let clock_b = Clock::fixed(10_000_000);
    let clock_c = Clock::fixed(10_000_000 - 86_400_000);
    let (a, b, c) = (leases(&store, "A", &clock_a), leases(&store, "B", &clock_b), leases(&store, "C", &clock_c));
    let lease = acquire(&a, "p").await;
    // A renews every third of the lease; B and C look just as often for 20 rounds.
    for _ in 0..20 {
        for clock in [&clock_a, &clock_b, &clock_c] {
            clock.set(clock.now_ms() + TTL_MS / 3);
        }
        a.renew(&lease).await.unwrap();
        assert!(busy(&b, "p").await && busy(&c, "p").await, "a renewed lease is never taken");
    }
    // A stops renewing. The lease expires a whole lease after each observer first saw its
    // last write, whatever their clocks say.
    clock_c.set(clock_c.now_ms() + TTL_MS - 1);
    assert!(busy(&c, "p").await);
    clock_b.set(clock_b.now_ms() + TTL_MS / 2);
    assert!(busy(&b, "p").await);
    clock_c.set(clock_c.now_ms() + 1);
    let taken = acquire(&c, "p").await;
    assert_eq!(taken.epoch, 2);
    clock_a.set(clock_a.now_ms() + TTL_MS);
    assert!(lease.check().is_err(), "A stopped counting itself the owner before C took over");
    assert!(busy(&b, "p").await, "B now sees C's fresh lease");
}

/// Rounds of every scheduler in `order`, each clock moved a third of a lease first.
async fn rounds(s: &mut [(&mut Scheduler, &Clock)], n: usize) {
    for _ in 0..n {
        for (sched, clock) in s.iter_mut() {
            clock.set(clock.now_ms() + TTL_MS / 3);
            let r = sched.round().await.unwrap();
            for unit in r.surplus {
                sched.release(&unit).await.unwrap();
            }
        }
    }
}

fn assert_spread(store: &MemoryStore, scheds: &[&Scheduler], units: usize) {
    let held: Vec<usize> = scheds.iter().map(|s| s.held().len()).collect();
    assert_eq!(held.iter().sum::<usize>(), units, "every unit held once: {held:?}");
    let share = units.div_ceil(scheds.len());
    assert!(held.iter().all(|h| *h <= share && *h + 1 >= share), "spread evenly: {held:?}");
    for s in scheds {
        for unit in s.held() {
            let rec: Value = serde_json::from_slice(&store.peek(&lease_key(&unit)).unwrap().body).unwrap();
            assert_eq!(rec["epoch"].as_u64(), Some(s.lease(&unit).unwrap().epoch));
        }
    }
}

#[tokio::test]
async fn schedulers_spread_units_take_over_a_dead_workers_and_make_room_for_a_new_one() {
    let store = Arc::new(MemoryStore::new());
    let units: Vec<String> = (1..=12).map(|i| format!("t{i:02}")).collect();
    let clocks: Vec<Clock> = (0..4).map(|i| Clock::fixed(1_000_000 * (i + 1))).collect();
    let mut s: Vec<Scheduler> = (0..4)
        .map(|i| Scheduler::new(leases(&store, &format!("w{i}"), &clocks[i]), units.clone(), 7 + i as u64))
        .collect();
    let (s0, rest) = s.split_at_mut(1);
    let (s1, rest) = rest.split_at_mut(1);
    let (s2, s3) = rest.split_at_mut(1);
    let (s0, s1, s2, s3) = (&mut s0[0], &mut s1[0], &mut s2[0], &mut s3[0]);
    // Three workers started together.
    rounds(&mut [(s0, &clocks[0]), (s1, &clocks[1]), (s2, &clocks[2])], 8).await;
    assert_spread(&store, &[s0, s1, s2], 12);
    assert_eq!(s0.held().len(), 4);
    // w2 dies (no more rounds): after its leases expire, w0 and w1 share its units.
    rounds(&mut [(s0, &clocks[0]), (s1, &clocks[1])], 12).await;
    assert_spread(&store, &[s0, s1], 12);
    let taken: Vec<Taken> = s0
        .held()
        .iter()
        .chain(s1.held().iter())
        .filter_map(|u| {
            let l = s0.lease(u).or_else(|| s1.lease(u)).unwrap();
            (l.epoch == 2).then(|| l.taken.clone())
        })
        .collect();
    assert_eq!(taken.len(), 4, "w2's four units were taken over");
    assert!(taken.iter().all(|t| matches!(t, Taken::Expired { from } if from == "w2")));
    // A new worker joins: the others give units back until it has its share.
    rounds(&mut [(s0, &clocks[0]), (s1, &clocks[1]), (s3, &clocks[3])], 10).await;
    assert_spread(&store, &[s0, s1, s3], 12);
    // A drain: w3 leaves, its units are released and taken at once.
    s3.leave().await.unwrap();
    rounds(&mut [(s0, &clocks[0]), (s1, &clocks[1])], 6).await;
    assert_spread(&store, &[s0, s1], 12);
    assert!(s3.held().is_empty());
}

#[tokio::test]
async fn a_finished_unit_is_released_and_not_claimed_again() {
    let store = Arc::new(MemoryStore::new());
    let clock = Clock::fixed(0);
    let units = vec!["a".to_string(), "b".to_string()];
    let mut s = Scheduler::new(leases(&store, "w", &clock), units, 1);
    for _ in 0..3 {
        clock.set(clock.now_ms() + 10_000);
        s.round().await.unwrap();
    }
    assert_eq!(s.held().len(), 2);
    s.finish("a").await.unwrap();
    assert!(!s.all_finished());
    clock.set(clock.now_ms() + 10_000);
    s.round().await.unwrap();
    assert_eq!(s.held(), ["b"]);
    s.finish("b").await.unwrap();
    assert!(s.all_finished());
    let rec: Value = serde_json::from_slice(&store.peek(&lease_key("a")).unwrap().body).unwrap();
    assert_eq!(rec["released"], true);
    // Another worker takes a released lease at once, at the next epoch.
    let other = leases(&store, "v", &Clock::fixed(5));
    let l = acquire(&other, "a").await;
    assert_eq!((l.epoch, &l.taken), (2, &Taken::Released { from: "w".into() }));
}
