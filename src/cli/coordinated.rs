//! `engine run --coordination s3://BUCKET/PREFIX`: a run that shares its pipeline with other
//! workers. Before it reads anything it takes the pipeline's lease (waiting, when another
//! worker holds it, until that one releases it or lets it expire), fences the checkpoint in the
//! store, and, when the last owner died holding the lease with a batch in flight, waits out the
//! longest send before its sink reads that batch back. While it runs a heartbeat renews the
//! lease; every checkpoint commit is fenced, every send checked against the lease, and a lost
//! lease stops the pipeline with an error (exit 3). A clean end releases the lease.

use super::load::{EXIT_CONFIG, EXIT_RUNTIME};
use super::run::SinkKind;
use crate::coord::backend::StoredCheckpoint;
use crate::coord::fenced::{FencedCheckpoint, checkpoint_key};
use crate::coord::fenced_sink::FencedSink;
use crate::coord::heartbeat::{self, Heartbeat};
use crate::coord::s3::S3Store;
use crate::coord::target::{Target, default_worker_id, host_name};
use crate::coord::{Claim, Lease, Leases, Store, Taken};
use crate::runner::checkpoint::CheckpointStore;
use crate::runner::clock::Clock;
use crate::sink::Sink;
use crate::source::duration::{format_duration, parse_duration};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The shortest lease `--lease` takes.
const SHORTEST_LEASE: Duration = Duration::from_secs(1);

#[derive(clap::Args, Debug, Clone)]
pub struct CoordArgs {
    /// Where leases and checkpoints are kept: `local` (the state directory; one process at a
    /// time) or `s3://BUCKET/PREFIX` (shared by a fleet of workers; see docs/operations.md).
    #[arg(long, value_name = "local|s3://BUCKET/PREFIX", default_value = "local")]
    pub coordination: Target,
    /// This worker's name in the coordination store [default: host name and process id].
    #[arg(long, value_name = "NAME")]
    pub worker_id: Option<String>,
    /// How long a lease lasts without a heartbeat (renewed every third of it); a dead
    /// worker's pipeline is taken over after about this long.
    #[arg(long, value_name = "DURATION", default_value = "PT30S")]
    pub lease: String,
}

impl CoordArgs {
    /// The lease duration, checked.
    pub fn lease_duration(&self) -> Result<Duration, String> {
        match parse_duration(&self.lease) {
            Some(d) if d >= SHORTEST_LEASE => Ok(d),
            Some(_) => Err(format!("--lease {}: at least {}", self.lease, format_duration(SHORTEST_LEASE))),
            None => Err(format!("--lease {}: not an ISO 8601 duration (e.g. PT30S)", self.lease)),
        }
    }

    /// What cannot be combined with `--coordination s3://…`: sinks that write on this machine,
    /// and a dry run (which reads the local state).
    pub fn check(&self, sink: SinkKind, dry_run: bool) -> Result<(), String> {
        self.lease_duration()?;
        if let Some(w) = &self.worker_id
            && (w.is_empty() || w.len() > 128 || w.chars().any(|c| c.is_control() || c == '/'))
        {
            return Err(format!("--worker-id `{w}`: 1 to 128 characters, no `/`"));
        }
        if self.coordination == Target::Local {
            return Ok(());
        }
        if matches!(sink, SinkKind::File | SinkKind::Stdout) {
            return Err(format!(
                "--coordination {}: the workers of a fleet must share their destination, and --sink {} writes on \
                 this machine; use --sink cloudwatch_logs or --sink security_lake",
                self.coordination,
                if sink == SinkKind::File { "file" } else { "stdout" }
            ));
        }
        if dry_run {
            return Err("--dry-run reads the local state; run it without --coordination".into());
        }
        Ok(())
    }

    /// Where the checkpoint of `unit`'s stream is, for messages (`None`: the state directory).
    pub fn location(&self, unit: &str, source: &str, stream: &str) -> Option<PathBuf> {
        match &self.coordination {
            Target::Local => None,
            Target::S3 { bucket, prefix } => {
                Some(PathBuf::from(format!("s3://{bucket}/{prefix}/{}", checkpoint_key(unit, source, stream))))
            }
        }
    }
}

/// A lease a worker's scheduler took for one of its pipelines (it renews and releases it).
#[derive(Debug, Clone)]
pub struct Held {
    pub leases: Arc<Leases>,
    pub lease: Arc<Lease>,
}

/// A run holding its pipeline's lease.
#[derive(Debug)]
pub struct Joined {
    /// The fenced checkpoint, for the runner.
    pub store: CheckpointStore,
    leases: Arc<Leases>,
    lease: Arc<Lease>,
    /// The run's own heartbeat; `None` when a scheduler renews the lease (and releases it).
    heartbeat: Option<Heartbeat>,
}

impl Joined {
    /// `sink`, sending only under the lease, each send bounded by the lease's duration.
    pub fn fence_sink(&self, sink: Box<dyn Sink>) -> Box<dyn Sink> {
        Box::new(FencedSink::new(sink, Arc::clone(&self.lease), self.lease.ttl()))
    }

    /// Ends the run's hold: a clean end releases the lease for the next worker at once; after a
    /// failure it is left to expire, so that the next owner waits out whatever may be in flight.
    pub async fn finish(self, clean: bool) {
        if clean
            && self.heartbeat.is_some()
            && self.lease.check().is_ok()
            && let Err(e) = self.leases.release(&self.lease).await
        {
            tracing::warn!("cannot release the lease on `{}` (it expires by itself): {e}", self.lease.unit);
        }
    }
}

/// Waits `d`, or less when `stop` turns true; whether it was stopped.
async fn wait_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// With `--coordination s3://…`: takes the lease of `unit`, fences the checkpoint of its stream
/// and starts the heartbeat (which sets `stop_tx` if the lease is lost). `None` for a local run;
/// `Err` is the exit code after the error was told.
pub async fn join(
    args: &CoordArgs,
    unit: &str,
    (source, stream): (&str, &str),
    state_dir: &Path,
    stop_tx: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) -> Result<Option<Joined>, ExitCode> {
    let Target::S3 { bucket, prefix } = &args.coordination else { return Ok(None) };
    let ttl = args.lease_duration().map_err(|e| {
        eprintln!("engine run: {e}");
        ExitCode::from(EXIT_CONFIG)
    })?;
    let config = crate::aws::load_config(None).await;
    let store: Arc<dyn Store> = Arc::new(S3Store::new(&config, bucket, prefix));
    let worker = args.worker_id.clone().unwrap_or_else(default_worker_id);
    let leases = Arc::new(Leases::new(Arc::clone(&store), &worker, ttl, Clock::system()));
    let fail = |e: crate::coord::CoordError| {
        eprintln!("engine run: error: {e}");
        ExitCode::from(EXIT_RUNTIME)
    };
    let mut jitter = crate::runner::retry::Jitter::from_clock();
    let mut told = false;
    let lease = loop {
        let wait = match leases.try_acquire(unit).await {
            Ok(Claim::Acquired(lease)) => break lease,
            Ok(Claim::Busy { owner, retry_in, .. }) => {
                if !told && !owner.is_empty() {
                    eprintln!(
                        "engine run: pipeline `{unit}` is held by worker `{owner}`; waiting until it is released or \
                         its lease expires"
                    );
                    told = true;
                }
                retry_in.min(ttl / 3)
            }
            Err(e) if e.is_transient() => {
                tracing::warn!("cannot take the lease on `{unit}` yet: {e}");
                ttl / 3
            }
            Err(e) => return Err(fail(e)),
        };
        // Jittered, so that workers waiting on one lease do not all try at once.
        if wait_or_stop(wait.mul_f64(0.75 + 0.5 * jitter.unit()), &mut stop).await {
            eprintln!("engine run: stopped before taking the lease on `{unit}`; nothing was read");
            return Err(ExitCode::SUCCESS);
        }
    };
    tracing::info!(worker = worker.as_str(), epoch = lease.epoch, "took the lease on `{unit}` ({:?})", lease.taken);
    let unit_name = unit.to_string();
    let heartbeat = heartbeat::start(Arc::clone(&leases), Arc::clone(&lease), move |why| {
        eprintln!("engine run: error: pipeline `{unit_name}`: {why}");
        let _ = stop_tx.send(true);
    });
    let held = Held { leases, lease };
    let mut joined = fence(&held, args, unit, (source, stream), state_dir, stop, "engine run").await?;
    joined.heartbeat = Some(heartbeat);
    Ok(Some(joined))
}

/// A pipeline of a worker of several: fences the checkpoint of its stream under the lease its
/// scheduler took (see [`fence`]).
pub async fn attach(
    held: &Held,
    args: &CoordArgs,
    unit: &str,
    names: (&str, &str),
    state_dir: &Path,
    stop: watch::Receiver<bool>,
) -> Result<Option<Joined>, ExitCode> {
    let who = format!("engine run [{unit}]");
    fence(held, args, unit, names, state_dir, stop, &who).await.map(Some)
}

/// Fences the checkpoint of `unit`'s stream under `held` and, when the last owner died with a
/// batch in flight, waits out the longest send before the run reads it back.
async fn fence(
    held: &Held,
    args: &CoordArgs,
    unit: &str,
    (source, stream): (&str, &str),
    state_dir: &Path,
    mut stop: watch::Receiver<bool>,
    who: &str,
) -> Result<Joined, ExitCode> {
    let Held { leases, lease } = held.clone();
    let fail = |e: crate::coord::CoordError| {
        eprintln!("{who}: error: {e}");
        ExitCode::from(EXIT_RUNTIME)
    };
    let machine = host_name();
    let key = checkpoint_key(unit, source, stream);
    let (fenced, before) =
        FencedCheckpoint::fence(Arc::clone(&leases), Arc::clone(&lease), &key, &machine).await.map_err(fail)?;
    let in_flight = before
        .as_ref()
        .and_then(|b| b.checkpoint.as_ref())
        .is_some_and(|cp| cp.get("pending").is_some_and(|p| !p.is_null()));
    if in_flight && let Taken::Expired { from } = &lease.taken {
        // The lease is waited out; a send begun just before it ran out lasts at most this much more.
        let longest_send = lease.ttl();
        eprintln!(
            "{who}: worker `{from}` may have left a batch in flight; waiting {} s before reading it back",
            longest_send.as_secs_f64()
        );
        if wait_or_stop(longest_send, &mut stop).await {
            eprintln!("{who}: stopped before reading the pipeline `{unit}`; nothing was read");
            return Err(ExitCode::SUCCESS);
        }
    }
    let backend = StoredCheckpoint::new(Arc::new(fenced), before.as_ref(), &machine);
    let digests = CheckpointStore::new(state_dir, source, stream).digests_path();
    let location = args.location(unit, source, stream).unwrap_or_else(|| PathBuf::from(&key));
    let store = CheckpointStore::with_backend(location, digests, Arc::new(backend));
    Ok(Joined { store, leases, lease, heartbeat: None })
}
