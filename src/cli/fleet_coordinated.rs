//! `engine run FILE --coordination s3://BUCKET/PREFIX` where FILE holds named pipelines: this
//! process is one worker of a fleet. Its [`Scheduler`] claims a fair share of the pipelines;
//! each claimed pipeline runs as a task of its own under its lease (fenced checkpoint,
//! lease-checked sink: see `coordinated.rs`), renewed by the scheduler's rounds. A lost lease
//! stops that pipeline at once (not the process); a pipeline beyond the share is stopped after
//! its batch in flight and released. With `--once` a caught-up pipeline is marked finished in
//! the store (`coord::finished`), and the worker exits once every pipeline is finished, by it
//! or by another worker, and it holds none. Ctrl-C or SIGTERM drains the worker: its pipelines
//! stop after their batch in flight and every lease is released.

use super::coordinated::Held;
use super::fleet::{Context, Outcome, keep_running, overview};
use super::load::{EXIT_CONFIG, EXIT_RUNTIME, report};
use super::run::{RunArgs, serve_metrics};
use crate::coord::finished::{FINISHED_PREFIX, finished_key, finished_since, mark_finished};
use crate::coord::heartbeat::{self, Heartbeat};
use crate::coord::s3::S3Store;
use crate::coord::target::{Target, default_worker_id};
use crate::coord::{Lease, Leases, Scheduler, Store};
use crate::metrics::Metrics;
use crate::runner::clock::Clock;
use crate::source::pipeline::PipelineRun;
use crate::source::pipelines::Loaded;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{Id, JoinSet};
use tracing::Instrument;

/// Why this worker told a pipeline's task to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// Its lease is lost: another worker runs it now.
    Lost,
    /// Beyond this worker's share: released once the task ends.
    Surplus,
    /// The worker is draining.
    Drain,
}

/// A pipeline's task.
struct Running {
    lease: Arc<Lease>,
    /// Renews the lease every third of its duration, whatever a slow round of the scheduler
    /// takes; stops with the task.
    _heartbeat: Heartbeat,
    stop: watch::Sender<bool>,
    why: Option<Stopped>,
    /// When it began, by this worker's clock (a finish mark's `since_ms`).
    began_ms: i64,
}

/// One worker's pipelines and their tasks.
struct Worker {
    args: Arc<RunArgs>,
    entries: BTreeMap<String, PipelineRun>,
    store: Arc<dyn Store>,
    leases: Arc<Leases>,
    sched: Scheduler,
    metrics: Arc<Metrics>,
    running: BTreeMap<String, Running>,
    tasks: JoinSet<(String, Outcome)>,
    ids: BTreeMap<Id, String>,
    /// How each pipeline this worker ran to its end ended.
    outcomes: BTreeMap<String, Outcome>,
    /// Pipelines another worker caught up (`--once`).
    by_others: Vec<String>,
    started_ms: i64,
}

/// `engine run FILE --coordination s3://…` where FILE holds named pipelines.
pub async fn supervise(args: RunArgs, loaded: Vec<Loaded>) -> ExitCode {
    let Target::S3 { bucket, prefix } = args.coord.coordination.clone() else {
        return super::fleet::supervise(args, loaded).await;
    };
    // The worker's own flags; each pipeline's sink is checked when it runs.
    let checked =
        args.coord.check(super::run::SinkKind::CloudwatchLogs, false).and_then(|()| args.coord.lease_duration());
    let ttl = match checked {
        Ok(ttl) => ttl,
        Err(e) => {
            eprintln!("engine run: error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let metrics = Arc::new(Metrics::new());
    let _server = match serve_metrics(args.metrics_addr, &metrics, None).await {
        Ok(server) => server,
        Err(code) => return code,
    };
    // A misconfigured pipeline is reported by every worker and claimed by none.
    let mut entries = BTreeMap::new();
    let mut misconfigured = Vec::new();
    for l in loaded {
        let name = l.name.unwrap_or_default();
        match l.run {
            Ok(run) => {
                entries.insert(name, run);
            }
            Err(diags) => {
                eprintln!("engine run [{name}]: not run: configuration error");
                report(&diags);
                misconfigured.push(name);
            }
        }
    }
    let config = crate::aws::load_config(None).await;
    let store: Arc<dyn Store> = Arc::new(S3Store::new(&config, &bucket, &prefix));
    let worker_id = args.coord.worker_id.clone().unwrap_or_else(default_worker_id);
    let leases = Arc::new(Leases::new(Arc::clone(&store), &worker_id, ttl, Clock::system()));
    let seed = (crate::runner::retry::Jitter::from_clock().unit() * (1u64 << 52) as f64) as u64;
    let sched = Scheduler::new(Arc::clone(&leases), entries.keys().cloned().collect(), seed);
    let (stop_tx, stop_rx) = watch::channel(false);
    crate::runner::shutdown::watch_signals(
        stop_tx,
        format!("this worker's pipelines are released for the fleet; their checkpoints are in s3://{bucket}/{prefix}"),
    );
    if tracing::enabled!(tracing::Level::INFO) {
        eprintln!(
            "engine run: worker `{worker_id}` of the fleet at s3://{bucket}/{prefix}: {} pipelines in {}",
            entries.len(),
            args.spec.display()
        );
    }
    let started_ms = leases.clock().now_ms();
    let mut worker = Worker {
        args: Arc::new(args),
        entries,
        store,
        leases,
        sched,
        metrics,
        running: BTreeMap::new(),
        tasks: JoinSet::new(),
        ids: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        by_others: Vec::new(),
        started_ms,
    };
    worker.run(stop_rx).await;
    let mut worst = worker.outcomes.values().map(|o| o.code).max().unwrap_or(0);
    if !misconfigured.is_empty() {
        worst = worst.max(EXIT_CONFIG);
    }
    if tracing::enabled!(tracing::Level::INFO) {
        let mut names: Vec<String> = worker.outcomes.keys().cloned().collect();
        let mut outcomes: Vec<Option<Outcome>> = worker.outcomes.values().copied().map(Some).collect();
        for name in misconfigured {
            names.push(name);
            outcomes.push(Some(Outcome { code: EXIT_CONFIG, attempts: 1 }));
        }
        let mut text = format!("\nworker {worker_id}: {}", overview("pipelines", &names, &outcomes));
        if !worker.by_others.is_empty() {
            text.push_str(&format!("caught up by other workers: {}\n", worker.by_others.join(", ")));
        }
        eprint!("{text}");
    }
    ExitCode::from(worst)
}

impl Worker {
    /// The rounds and the tasks, until `--once` is done or the worker is stopped.
    async fn run(&mut self, mut stop: watch::Receiver<bool>) {
        let mut draining = false;
        let mut next = tokio::time::Instant::now();
        loop {
            if draining && self.running.is_empty() {
                break;
            }
            if self.args.once
                && !draining
                && self.running.is_empty()
                && self.sched.held().is_empty()
                && self.sched.all_finished()
            {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {
                    // Counted from the round's start, so that a slow store does not stretch the
                    // time between renewals.
                    let began = tokio::time::Instant::now();
                    // While draining, the heartbeats keep the leases of the pipelines finishing their batch.
                    let wait = if draining { self.leases.ttl() } else { self.round().await };
                    if began.elapsed() > self.leases.ttl() / 3 {
                        tracing::warn!(
                            "a scheduler round took {:.1} s, more than a third of the lease: the store is slow",
                            began.elapsed().as_secs_f64()
                        );
                    }
                    next = began + wait;
                }
                Some(done) = self.tasks.join_next_with_id() => {
                    match done {
                        Ok((id, (name, outcome))) => {
                            self.ids.remove(&id);
                            self.ended(&name, outcome).await;
                        }
                        Err(e) => {
                            let name = self.ids.remove(&e.id()).unwrap_or_default();
                            eprintln!("engine run [{name}]: the pipeline's task ended abnormally: {e}");
                            self.ended(&name, Outcome { code: EXIT_RUNTIME, attempts: 1 }).await;
                        }
                    }
                    if !draining {
                        self.reconcile();
                    }
                }
                _ = stop.changed(), if !draining => {
                    draining = true;
                    for name in self.running.keys().cloned().collect::<Vec<_>>() {
                        self.stop(&name, Stopped::Drain);
                    }
                }
            }
        }
        if let Err(e) = self.sched.leave().await {
            tracing::warn!("cannot release this worker's leases (they expire by themselves): {e}");
        }
    }

    /// One scheduler round (finish marks first, with `--once`); how long until the next.
    async fn round(&mut self) -> Duration {
        let wait = match self.sched.round().await {
            Ok(round) => {
                for name in &round.lost {
                    eprintln!("engine run [{name}]: the lease was lost; another worker runs this pipeline now");
                    self.stop(name, Stopped::Lost);
                }
                for name in &round.surplus {
                    if self.running.contains_key(name) {
                        self.stop(name, Stopped::Surplus);
                    } else if let Err(e) = self.sched.release(name).await {
                        tracing::warn!("cannot release `{name}` (it expires by itself): {e}");
                    }
                }
                for lease in &round.claimed {
                    tracing::info!(epoch = lease.epoch, "took the lease on `{}` ({:?})", lease.unit, lease.taken);
                }
                round.next_in
            }
            Err(e) => {
                tracing::warn!("scheduler round failed (tried again shortly): {e}");
                self.leases.ttl() / 6
            }
        };
        self.reconcile();
        // After the renewals, which must not wait on these reads.
        if self.args.once {
            self.finished_elsewhere().await;
        }
        wait
    }

    /// With `--once`: units another worker caught up since this worker started are finished.
    async fn finished_elsewhere(&mut self) {
        // One LIST, and a GET only for the units that have a mark.
        let marked = match self.store.list(FINISHED_PREFIX).await {
            Ok(keys) => keys,
            Err(e) => return tracing::warn!("cannot list the finish marks: {e}"),
        };
        for unit in self.sched.unclaimed().into_iter().filter(|u| marked.contains(&finished_key(u))) {
            match finished_since(self.store.as_ref(), &unit).await {
                Ok(Some(since)) if since >= self.started_ms => {
                    if let Err(e) = self.sched.finish(&unit).await {
                        tracing::warn!("cannot mark `{unit}` finished here: {e}");
                    }
                    self.by_others.push(unit);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("cannot read whether `{unit}` is finished: {e}"),
            }
        }
    }

    /// Stops the pipelines whose lease is gone and starts those held without a task.
    fn reconcile(&mut self) {
        let gone: Vec<String> = self
            .running
            .iter()
            .filter(|(name, r)| {
                r.why.is_none()
                    && (r.lease.check().is_err() || !self.sched.lease(name).is_some_and(|l| Arc::ptr_eq(&l, &r.lease)))
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            self.stop(&name, Stopped::Lost);
        }
        for name in self.sched.held() {
            let Some(lease) = self.sched.lease(&name) else { continue };
            if !self.running.contains_key(&name) && lease.check().is_ok() {
                self.start(&name, lease);
            }
        }
    }

    /// Runs `name` under `lease` as a task of its own.
    fn start(&mut self, name: &str, lease: Arc<Lease>) {
        let Some(entry) = self.entries.get(name).cloned() else { return };
        let (stop_tx, stop_rx) = watch::channel(false);
        let ctx = Context {
            name: Some(name.to_string()),
            stop: Some(stop_rx),
            metrics: Some(Arc::new(self.metrics.for_pipeline(name))),
            by_host: self.args.simulate_at,
            lease: Some(Held { leases: Arc::clone(&self.leases), lease: Arc::clone(&lease) }),
        };
        let args = Arc::clone(&self.args);
        let owned = name.to_string();
        let span = tracing::info_span!(target: "ocsf_engine::pipeline", "pipeline", pipeline = name);
        let task = self.tasks.spawn(
            async move {
                let outcome = keep_running(&owned, Ok(entry), &args, &ctx).await;
                (owned, outcome)
            }
            .instrument(span),
        );
        self.ids.insert(task.id(), name.to_string());
        let began_ms = self.leases.clock().now_ms();
        let (tx, unit) = (stop_tx.clone(), name.to_string());
        let heartbeat = heartbeat::start(Arc::clone(&self.leases), Arc::clone(&lease), move |why| {
            eprintln!("engine run [{unit}]: {why}; another worker runs this pipeline now");
            let _ = tx.send(true);
        });
        let running = Running { lease, _heartbeat: heartbeat, stop: stop_tx, why: None, began_ms };
        self.running.insert(name.to_string(), running);
    }

    /// Tells `name`'s task to stop (after its batch in flight; a lost lease refuses any send
    /// and commit at once).
    fn stop(&mut self, name: &str, why: Stopped) {
        if let Some(r) = self.running.get_mut(name)
            && r.why.is_none()
        {
            r.why = Some(why);
            let _ = r.stop.send(true);
        }
    }

    /// `name`'s task ended with `outcome`.
    async fn ended(&mut self, name: &str, outcome: Outcome) {
        let Some(r) = self.running.remove(name) else { return };
        let why = match r.why {
            None if r.lease.check().is_err() => Some(Stopped::Lost),
            why => why,
        };
        match why {
            Some(Stopped::Lost) | Some(Stopped::Drain) => {}
            Some(Stopped::Surplus) => {
                tracing::info!("released `{name}` for another worker");
                if let Err(e) = self.sched.release(name).await {
                    tracing::warn!("cannot release `{name}` (it expires by itself): {e}");
                }
            }
            None => {
                self.outcomes.insert(name.to_string(), outcome);
                if outcome.code <= 1 && self.args.once {
                    if let Err(e) = mark_finished(self.store.as_ref(), name, self.leases.worker(), r.began_ms).await {
                        tracing::warn!("cannot mark `{name}` finished for the other workers: {e}");
                    }
                } else {
                    // Given up after its attempts: left to expire, so that the next owner waits
                    // out whatever may have been in flight.
                    r.lease.mark_lost("this worker gave the pipeline up after a failure");
                }
                if let Err(e) = self.sched.finish(name).await {
                    tracing::warn!("cannot release `{name}` (it expires by itself): {e}");
                }
            }
        }
    }
}
