//! The `security_lake` sink: Amazon Security Lake custom-source data. Each event's OCSF 1.3.0
//! profile is written as a row of its class's fixed Parquet schema, in objects under
//! `ext/<source>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/` by the event's UTC day,
//! one class per source, rows sorted by `time`.
//!
//! The roles are split: [`config`] holds the options, [`schema`] the fixed Arrow schemas,
//! [`encode`] events to Parquet, [`plan`] a batch to objects, [`keys`] names, [`service`] the
//! S3 calls, and the refused-events file (shared with CloudWatch Logs) keeps the events that cannot go.
//!
//! - Objects are written every `flush_interval` at most often: the sink tells the runner that
//!   it is not [`due`](Sink::due) before, and the runner keeps gathering (and does not advance
//!   the checkpoint) until then, a full batch, or the end of the run.
//! - Exactly once: a batch's object keys come from the checkpoint's batch sequence, and the
//!   batch's write-ahead intent names them and the events they hold. Objects are written with
//!   `If-None-Match: *`; a 412 means the key is taken, and the object is taken as ours only when
//!   its content fingerprint is this batch's. A run killed after some writes leaves its intent
//!   behind; the next run finds which of those objects exist and does not write their events
//!   again when it reads them anew.
//! - An event without a 1.3.0 profile, or one its class's schema has no place for, is written
//!   with the reason to the refused-events file and counted in [`Ack::rejected`].

pub mod config;
pub mod encode;
pub mod keys;
pub mod plan;
pub mod register;
pub mod schema;
pub mod service;

use crate::sink::cloudwatch::rejected::RejectedFile;
use crate::sink::{Ack, Batch, BoxFuture, Sink, SinkError};
pub use config::SecurityLakeOptions;
use plan::{Plan, Planned};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use service::{ObjectStore, Put, SdkS3};
use std::collections::BTreeSet;
use std::time::Instant;

/// The write-ahead record of a batch: its sequence and its objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub seq: u64,
    pub objects: Vec<IntentObject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentObject {
    pub key: String,
    /// The content fingerprint stored with the object.
    pub content: String,
    /// The identity of every event it holds.
    pub ids: Vec<String>,
}

/// What the checkpoint keeps of the sink.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// The next batch's sequence number.
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<crate::sink::mark::FileMark>,
    /// Events found in objects a killed run wrote, not met again yet.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub present: BTreeSet<String>,
}

/// Writes Security Lake objects to S3.
pub struct SecurityLakeSink<S: ObjectStore = SdkS3> {
    store: S,
    opts: SecurityLakeOptions,
    refused: RejectedFile,
    seq: u64,
    present: BTreeSet<String>,
    /// The plan of the batch being sent (kept across the runner's retries of it).
    planned: Option<Planned>,
    last_sent: Instant,
}

impl SecurityLakeSink<SdkS3> {
    pub fn connect(config: &aws_config::SdkConfig, opts: SecurityLakeOptions, refused: RejectedFile) -> Self {
        Self::with_store(SdkS3::new(config), opts, refused)
    }
}

impl<S: ObjectStore> SecurityLakeSink<S> {
    pub fn with_store(store: S, opts: SecurityLakeOptions, refused: RejectedFile) -> Self {
        SecurityLakeSink {
            store,
            opts,
            refused,
            seq: 0,
            present: BTreeSet::new(),
            planned: None,
            last_sent: Instant::now(),
        }
    }

    /// The plan of `batch`: the one already made for it, or a new one.
    fn plan_for(&mut self, batch: &Batch) -> Result<Planned, SinkError> {
        let fp = plan::fingerprint(batch);
        match self.planned.take() {
            Some(p) if p.fingerprint == fp && p.seq == self.seq => Ok(p),
            _ => Plan::new(&self.opts, self.seq, &self.present).make(batch).map_err(SinkError::Fatal),
        }
    }

    async fn send_batch(&mut self, batch: &Batch) -> Result<Ack, SinkError> {
        let mut planned = self.plan_for(batch)?;
        if !planned.refusals_written {
            for r in &planned.refusals {
                self.refused.write(&r.reason, &r.message, &r.source, &r.line).map_err(SinkError::Fatal)?;
            }
            self.refused.sync().map_err(SinkError::Fatal)?;
            planned.refusals_written = true;
        }
        while planned.written < planned.objects.len() {
            let object = &planned.objects[planned.written];
            let bucket = self.opts.bucket.as_str();
            let outcome = self.store.put_new(bucket, &object.key, object.body.clone(), &object.content).await;
            match outcome {
                Ok(Put::Written) => {}
                Ok(Put::Exists) => {
                    // Taken: ours only if it holds this very content (a retry after a lost answer).
                    let found = self.store.fingerprint(bucket, &object.key).await;
                    match found {
                        Ok(Some(Some(c))) if c == object.content => {}
                        Ok(_) => {
                            return Err(SinkError::Fatal(format!(
                                "s3://{bucket}/{} exists and holds other events; is another writer using source name `{}`, or was the state directory reset?",
                                object.key, object.source
                            )));
                        }
                        Err(e) => {
                            self.planned = Some(planned);
                            return Err(e);
                        }
                    }
                }
                Err(e) => {
                    self.planned = Some(planned);
                    return Err(e);
                }
            }
            planned.written += 1;
        }
        for id in &planned.already {
            self.present.remove(id);
        }
        self.seq += 1;
        self.last_sent = Instant::now();
        let accepted = planned.objects.iter().map(|o| o.ids.len()).sum::<usize>() + planned.already.len();
        Ok(Ack { accepted, rejected: planned.refusals.len() })
    }

    /// Learns which objects of a killed run's intent exist.
    async fn recover(&mut self, intent: &Intent) -> Result<(), SinkError> {
        let bucket = self.opts.bucket.as_str();
        for object in &intent.objects {
            match self.store.fingerprint(bucket, &object.key).await? {
                Some(Some(c)) if c == object.content => self.present.extend(object.ids.iter().cloned()),
                None => {}
                Some(_) => {
                    return Err(SinkError::Fatal(format!(
                        "s3://{bucket}/{} holds other events than the unconfirmed batch the checkpoint names",
                        object.key
                    )));
                }
            }
        }
        self.seq = self.seq.max(intent.seq + 1);
        Ok(())
    }
}

impl<S: ObjectStore> Sink for SecurityLakeSink<S> {
    fn describe(&self) -> String {
        format!("security_lake s3://{}/ext/", self.opts.bucket)
    }

    fn kind(&self) -> &'static str {
        "security_lake"
    }

    fn send<'a>(&'a mut self, batch: &'a Batch) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(self.send_batch(batch))
    }

    fn due(&self) -> bool {
        self.last_sent.elapsed() >= self.opts.flush_interval
    }

    fn committed(&self) -> Option<Value> {
        let state = Committed { seq: self.seq, refused: Some(self.refused.mark()), present: self.present.clone() };
        serde_json::to_value(state).ok()
    }

    fn intent(&mut self, batch: &Batch) -> Result<Option<Value>, SinkError> {
        let planned = self.plan_for(batch)?;
        let intent = Intent {
            seq: planned.seq,
            objects: planned
                .objects
                .iter()
                .map(|o| IntentObject { key: o.key.clone(), content: o.content.clone(), ids: o.ids.clone() })
                .collect(),
        };
        self.planned = Some(planned);
        if intent.objects.is_empty() {
            return Ok(None);
        }
        serde_json::to_value(intent).map(Some).map_err(|e| SinkError::Fatal(e.to_string()))
    }

    fn resume<'a>(
        &'a mut self,
        committed: Option<&'a Value>,
        pending: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            if let Some(c) = committed {
                let state: Committed = super::checkpoint_state(c, "Security Lake")?;
                if let Some(mark) = &state.refused {
                    self.refused.restore(mark).map_err(|e| SinkError::Fatal(e.to_string()))?;
                }
                self.seq = state.seq;
                self.present = state.present;
            }
            if let Some(p) = pending {
                let intent: Intent = super::checkpoint_state(p, "Security Lake")?;
                self.recover(&intent).await?;
            }
            Ok(())
        })
    }
}
