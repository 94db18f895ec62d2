//! Helpers for tests that drive the runner as a library against a simulator held by the test:
//! the Entrust spec with test-sized windows, what a run of it needs (parameters with the demo
//! credentials, the checked stream, the mappings), quick run options, and a sink wrapper that
//! stops a run after some batches.

#![allow(dead_code)]

use ocsf_engine::mapping::{MapOptions, MappingSet};
use ocsf_engine::runner::retry::RetryPolicy;
use ocsf_engine::runner::{Prepared, RunOptions, prepare};
use ocsf_engine::simulator::{DEMO_APPLICATION_ID, DEMO_SHARED_SECRET, SimHandle};
use ocsf_engine::sink::{Ack, Batch, BoxFuture, Sink, SinkError};
use ocsf_engine::source::SourceSpec;
use ocsf_engine::source::stream::StreamSpec;
use ocsf_engine::source::values::{Params, run_params};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::watch;

/// The Entrust spec and its stream with test-sized windows, read up to now: every other
/// setting comes from sources/entrust.yaml.
pub fn entrust(window: Duration, overlap: Duration) -> (SourceSpec, StreamSpec) {
    let spec = SourceSpec::load(&super::pipeline::root().join("sources/entrust.yaml")).expect("spec loads");
    let mut stream = spec.streams[0].clone();
    stream.window = window;
    stream.overlap = overlap;
    stream.settle_delay = Duration::ZERO;
    (spec, stream)
}

/// What a run of `stream` against `sim` needs.
pub struct Ready {
    pub params: Params,
    pub prepared: Prepared,
    pub mappings: MappingSet,
}

/// The parameters (the simulator's address, the demo credentials, a first look-back of
/// `range`), the checked stream and the loaded mappings.
pub fn ready(sim: &SimHandle, spec: &SourceSpec, stream: &StreamSpec, range: &str) -> Ready {
    let sets: Vec<(String, String)> = vec![
        ("hostname".into(), sim.addr().to_string()),
        ("client_id".into(), DEMO_APPLICATION_ID.into()),
        ("client_secret".into(), DEMO_SHARED_SECRET.into()),
        ("range".into(), range.into()),
    ];
    let params = run_params(spec, &sets, None).expect("params");
    let prepared = prepare(spec, stream, &params, true).expect("prepared");
    let mappings = MappingSet::load(&spec.mappings, &params.public(), MapOptions::default()).expect("mappings");
    Ready { params, prepared, mappings }
}

/// `--once` over plain http on loopback, without progress reports, with retries that back off
/// for milliseconds (at most `max_delay`) rather than seconds.
pub fn quick_options(batch_max_events: usize, max_delay: Duration, timeout: Duration) -> RunOptions {
    RunOptions {
        once: true,
        batch_max_events,
        retry: RetryPolicy { base: Duration::from_millis(5), max_delay, ..RetryPolicy::default() },
        timeout,
        progress_every: None,
        plain_http_on_loopback: true,
        ..RunOptions::default()
    }
}

/// Passes batches on and asks the run to stop after `n` of them.
pub struct StopAfter<S> {
    pub inner: S,
    pub n: usize,
    pub sent: usize,
    pub stop: watch::Sender<bool>,
}

impl<S: Sink> Sink for StopAfter<S> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async move {
            let ack = self.inner.send(batch).await?;
            self.sent += 1;
            if self.sent >= self.n {
                let _ = self.stop.send(true);
            }
            Ok(ack)
        })
    }

    fn committed(&self) -> Option<serde_json::Value> {
        self.inner.committed()
    }

    fn intent(&mut self, batch: &Batch) -> Result<Option<serde_json::Value>, SinkError> {
        self.inner.intent(batch)
    }

    fn resume<'a>(
        &'a mut self,
        committed: Option<&'a serde_json::Value>,
        pending: Option<&'a serde_json::Value>,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        self.inner.resume(committed, pending)
    }
}

/// The set of `ids`, after checking that none is there twice.
pub fn once_each(ids: &[String]) -> BTreeSet<String> {
    super::pipeline::once_each("delivered", ids)
}

/// A sink that keeps the events' lines in memory.
pub struct MemorySink(pub std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Sink for MemorySink {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async move {
            self.0.lock().unwrap().extend(batch.events.iter().map(|e| e.line.clone()));
            Ok(Ack { accepted: batch.len(), rejected: 0 })
        })
    }
}

/// The `metadata.uid` of each event line.
pub fn uids(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("events are JSON");
            v["metadata"]["uid"].as_str().expect("metadata.uid").to_string()
        })
        .collect()
}
