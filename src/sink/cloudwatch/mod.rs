//! The `cloudwatch_logs` sink: ships each batch to a CloudWatch Logs log stream with
//! PutLogEvents and acknowledges only once every request of the batch was accepted.
//!
//! The roles are split: [`batch`] plans requests that respect every PutLogEvents rule and
//! stamps CloudWatch timestamps, [`service`] makes the calls, [`retry`] repeats throttled and
//! failed calls with backoff, [`rejected`] keeps the events the service cannot take.
//!
//! - The log stream is created when missing; the log group too when asked
//!   ([`CloudWatchOptions::create_group`]), else a missing group is a clear error.
//! - Events too large for any request, and events the service refuses one by one
//!   (`rejectedLogEventsInfo`: too old, too new, expired), are written with their reason to
//!   the refused-events file and counted in [`Ack::rejected`]; never dropped silently.
//! - Backfills: an event older than the service accepts is stamped at the oldest accepted
//!   time (see [`batch::Stamp`]); its true time stays in the event's OCSF `time`.
//! - A batch larger than one request is sent as several; if one fails after others were
//!   accepted, the sink remembers how far it got, and the runner's retry of the same batch
//!   sends only the rest, so nothing is sent twice within a run.
//! - Across runs, [`recovery`]: each batch's write-ahead intent is checkpointed before it is
//!   sent; a run killed before its commit leaves it behind, and the next run reads that range
//!   of the stream back and does not send again what it finds there.

pub mod batch;
pub mod recovery;
pub mod rejected;
pub mod retry;
pub mod service;

use crate::sink::{Ack, Batch, BoxFuture, Sink, SinkError};
use crate::source::timefmt::now_ms;
use batch::{Stamp, plan};
use recovery::{Committed, Intent, Present, identity};
use rejected::RejectedFile;
use retry::{Backoff, Failure, with_retries};
use serde_json::Value;
use service::{LogEvent, LogsApi, SdkLogs};
use std::hash::{Hash, Hasher};

/// Where the sink writes and how.
#[derive(Debug, Clone)]
pub struct CloudWatchOptions {
    pub log_group: String,
    pub log_stream: String,
    /// Create the log group when it does not exist.
    pub create_group: bool,
    pub backoff: Backoff,
}

/// How far the sink got with a batch that failed part-way.
#[derive(Debug, Clone)]
struct Progress {
    fingerprint: u64,
    stamp: Stamp,
    requests_done: usize,
    accepted: usize,
    refused: usize,
    set_aside_written: bool,
}

/// Ships batches to one log stream.
pub struct CloudWatchSink<A: LogsApi = SdkLogs> {
    api: A,
    opts: CloudWatchOptions,
    retention_days: Option<i32>,
    rejected: RejectedFile,
    progress: Option<Progress>,
    /// Events a crashed run left in the stream that the runner has not committed yet.
    present: Present,
}

impl CloudWatchSink<SdkLogs> {
    /// Connects with `config` (the default credential chain and `AWS_ENDPOINT_URL`), checks
    /// the log group and creates the stream.
    pub async fn connect(
        config: &aws_config::SdkConfig,
        opts: CloudWatchOptions,
        rejected: RejectedFile,
    ) -> Result<Self, String> {
        Self::with_api(SdkLogs::new(config), opts, rejected).await
    }
}

fn fingerprint(batch: &Batch) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    batch.events.len().hash(&mut h);
    for e in &batch.events {
        e.time_ms.hash(&mut h);
        e.line.hash(&mut h);
    }
    h.finish()
}

impl<A: LogsApi> CloudWatchSink<A> {
    /// Checks the log group (creating it when asked) and creates the log stream.
    pub async fn with_api(api: A, opts: CloudWatchOptions, rejected: RejectedFile) -> Result<Self, String> {
        let group = opts.log_group.as_str();
        let (described, _) = with_retries(&opts.backoff, || api.describe_group(group)).await;
        let retention_days = match described.map_err(|f| f.to_string())? {
            Some(info) => info.retention_days,
            None if opts.create_group => {
                let (r, _) = with_retries(&opts.backoff, || api.create_group(group)).await;
                r.map_err(|f| format!("cannot create log group `{group}`: {f}"))?;
                None
            }
            None => {
                return Err(format!(
                    "CloudWatch Logs log group `{group}` does not exist; create it, or pass --create-log-group"
                ));
            }
        };
        let sink = CloudWatchSink { api, opts, retention_days, rejected, progress: None, present: Present::new() };
        sink.ensure_stream().await.map_err(|e| e.to_string())?;
        Ok(sink)
    }

    fn missing_group(&self) -> String {
        format!(
            "CloudWatch Logs log group `{}` does not exist (any more); create it, or pass --create-log-group",
            self.opts.log_group
        )
    }

    async fn ensure_stream(&self) -> Result<(), SinkError> {
        let (group, stream) = (self.opts.log_group.as_str(), self.opts.log_stream.as_str());
        let (r, _) = with_retries(&self.opts.backoff, || self.api.create_stream(group, stream)).await;
        match r {
            Ok(()) => Ok(()),
            Err(Failure::GroupMissing) if self.opts.create_group => {
                let (g, _) = with_retries(&self.opts.backoff, || self.api.create_group(group)).await;
                g.map_err(|f| SinkError::Fatal(format!("cannot create log group `{group}`: {f}")))?;
                let (s, _) = with_retries(&self.opts.backoff, || self.api.create_stream(group, stream)).await;
                s.map_err(|f| SinkError::Fatal(format!("cannot create log stream `{stream}`: {f}")))
            }
            Err(Failure::GroupMissing) => Err(SinkError::Fatal(self.missing_group())),
            Err(Failure::Transient(m)) => Err(SinkError::Retryable(m)),
            Err(f) => Err(SinkError::Fatal(format!("cannot create log stream `{stream}` in `{group}`: {f}"))),
        }
    }

    /// One request, retried on transient failures; a missing stream is created once.
    async fn put(&self, events: &[LogEvent]) -> Result<service::Rejected, SinkError> {
        let (group, stream) = (self.opts.log_group.as_str(), self.opts.log_stream.as_str());
        let mut created = false;
        loop {
            let (r, _) = with_retries(&self.opts.backoff, || self.api.put(group, stream, events)).await;
            match r {
                Ok(rej) => return Ok(rej),
                Err(Failure::StreamMissing) if !created => {
                    created = true;
                    self.ensure_stream().await?;
                }
                Err(Failure::GroupMissing) if !created && self.opts.create_group => {
                    created = true;
                    self.ensure_stream().await?;
                }
                Err(Failure::GroupMissing) => return Err(SinkError::Fatal(self.missing_group())),
                Err(Failure::Transient(m)) => return Err(SinkError::Retryable(m)),
                Err(f) => return Err(SinkError::Fatal(f.to_string())),
            }
        }
    }

    fn refuse(&mut self, reason: &str, message: &str, line: &str) -> Result<(), SinkError> {
        self.rejected.write(reason, message, &self.opts.log_group, line).map_err(SinkError::Fatal)
    }

    /// How far the sink got with `batch`: the progress of an earlier attempt at the same batch,
    /// or a fresh start stamped now.
    fn progress_for(&mut self, batch: &Batch) -> Progress {
        let fp = fingerprint(batch);
        match self.progress.take() {
            Some(p) if p.fingerprint == fp => p,
            _ => Progress {
                fingerprint: fp,
                stamp: Stamp::at(now_ms(), self.retention_days),
                requests_done: 0,
                accepted: 0,
                refused: 0,
                set_aside_written: false,
            },
        }
    }

    /// Reads back what a crashed run's intent may have left in the stream.
    async fn recover(&mut self, intent: &Intent) -> Result<(), SinkError> {
        if intent.log_stream != self.opts.log_stream || intent.uids.is_empty() {
            return Ok(());
        }
        let (group, stream) = (self.opts.log_group.as_str(), intent.log_stream.as_str());
        let (r, _) =
            with_retries(&self.opts.backoff, || self.api.read(group, stream, intent.from_ms, intent.to_ms)).await;
        let stored = r.map_err(|f| {
            SinkError::Fatal(format!("cannot read back the batch a previous run left unconfirmed: {f}"))
        })?;
        self.present.extend(intent.found(&stored));
        Ok(())
    }

    async fn send_batch(&mut self, batch: &Batch) -> Result<Ack, SinkError> {
        // Events already in the stream (sent by a run that was killed before its commit).
        let already: Vec<String> = if self.present.is_empty() {
            Vec::new()
        } else {
            batch.events.iter().map(|e| identity(&e.line)).filter(|id| self.present.contains_key(id)).collect()
        };
        let remaining;
        let events = if already.is_empty() {
            &batch.events
        } else {
            remaining = batch
                .events
                .iter()
                .filter(|e| !self.present.contains_key(&identity(&e.line)))
                .cloned()
                .collect::<Vec<_>>();
            &remaining
        };
        let mut ack = self.send_events(batch, events).await?;
        ack.accepted += already.len();
        for id in &already {
            self.present.remove(id);
        }
        Ok(ack)
    }

    /// Sends `events` (the batch less what the stream already holds).
    async fn send_events(&mut self, batch: &Batch, events: &[crate::sink::EncodedEvent]) -> Result<Ack, SinkError> {
        let mut progress = self.progress_for(batch);
        let planned = plan(events, progress.stamp);
        if !progress.set_aside_written {
            for &i in &planned.oversize {
                let line = &events[i].line;
                let (reason, message) = if line.is_empty() {
                    ("empty", "an empty event cannot be sent to CloudWatch Logs".to_string())
                } else {
                    (
                        "too_large",
                        format!(
                            "the event is {} bytes; CloudWatch Logs takes at most {} (message plus {} bytes)",
                            line.len(),
                            batch::MAX_EVENT_BYTES,
                            batch::EVENT_OVERHEAD
                        ),
                    )
                };
                self.refuse(reason, &message, line)?;
                progress.refused += 1;
            }
            progress.set_aside_written = true;
        }
        for request in planned.requests.iter().skip(progress.requests_done) {
            let events: Vec<LogEvent> = request
                .iter()
                .map(|p| LogEvent { timestamp_ms: p.timestamp_ms, message: p.message.to_string() })
                .collect();
            match self.put(&events).await {
                Ok(rej) => {
                    for (j, p) in request.iter().enumerate() {
                        match rej.reason(j) {
                            None => progress.accepted += 1,
                            Some(reason) => {
                                let message = match reason {
                                    "too_new" => "CloudWatch Logs refused the event as more than 2 hours in the future",
                                    "expired" => {
                                        "CloudWatch Logs refused the event as older than the log group's retention"
                                    }
                                    _ => "CloudWatch Logs refused the event as older than 14 days",
                                };
                                self.refuse(reason, message, p.message)?;
                                progress.refused += 1;
                            }
                        }
                    }
                    progress.requests_done += 1;
                }
                Err(e) => {
                    let synced = self.rejected.sync();
                    self.progress = Some(progress);
                    synced.map_err(SinkError::Fatal)?;
                    return Err(e);
                }
            }
        }
        self.rejected.sync().map_err(SinkError::Fatal)?;
        Ok(Ack { accepted: progress.accepted, rejected: progress.refused })
    }
}

impl<A: LogsApi> Sink for CloudWatchSink<A> {
    fn describe(&self) -> String {
        format!("cloudwatch_logs {} (stream {})", self.opts.log_group, self.opts.log_stream)
    }

    fn kind(&self) -> &'static str {
        "cloudwatch_logs"
    }

    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(self.send_batch(batch))
    }

    fn committed(&self) -> Option<Value> {
        let state = Committed { refused: Some(self.rejected.mark()), present: self.present.clone() };
        serde_json::to_value(state).ok()
    }

    fn intent(&mut self, batch: &Batch) -> Result<Option<Value>, SinkError> {
        let progress = self.progress_for(batch);
        let stamp = progress.stamp;
        self.progress = Some(progress);
        let intent = Intent::of(&self.opts.log_stream, &batch.events, |t| stamp.apply(t));
        intent.map(|i| serde_json::to_value(i).map_err(|e| SinkError::Fatal(e.to_string()))).transpose()
    }

    fn resume<'a>(
        &'a mut self,
        committed: Option<&'a Value>,
        pending: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            if let Some(c) = committed {
                let state: Committed = super::checkpoint_state(c, "CloudWatch Logs")?;
                if let Some(mark) = &state.refused {
                    self.rejected.restore(mark).map_err(|e| SinkError::Fatal(e.to_string()))?;
                }
                self.present = state.present;
            }
            if let Some(p) = pending {
                let intent: Intent = super::checkpoint_state(p, "CloudWatch Logs")?;
                self.recover(&intent).await?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;
