//! `engine replay`: records set aside by a run (its dead-letter file) or kept raw (its archive)
//! mapped again with the current mappings into a sink, exactly once. Each input is read line by
//! line from where the last replay of it stopped (state.rs); each event is batched, each record
//! still refused written to a new dead-letter file with its reason; after each batch the sink
//! acknowledged, the new dead letters are synced and the replay state records how far every
//! input was read, so that a replay killed at any moment and started again neither loses nor
//! repeats a line, and a second replay of a finished input does nothing. The sink's write-ahead
//! intents and committed state are kept as a run's checkpoint keeps them.

pub mod line;
pub mod state;

use crate::deadletter::{DeadLetter, Reason};
use crate::mapping::MappingSet;
use crate::runner::RunFailure;
use crate::runner::pager::record_id;
use crate::runner::pause;
use crate::runner::retry::{Jitter, RetryPolicy};
use crate::runner::summary::Summary;
use crate::sink::{Batcher, DeadLetterFile, EncodedEvent, Sink, SinkError};
use crate::source::stream::StreamSpec;
use crate::source::timefmt::{iso_millis, parse_instant};
use line::{Kind, Line};
use sha2::{Digest, Sha256};
use state::{Done, ReplayState, ReplayStore};
use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::time::Instant;

/// One input of a replay.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file, as an absolute path.
    pub path: PathBuf,
    pub kind: Kind,
    /// Read no further than this offset (a run's own dead-letter file: its committed length).
    pub limit: Option<u64>,
}

/// Where a replay's output goes.
pub struct ReplayOutputs<'a> {
    pub sink: &'a mut dyn Sink,
    pub dead_letters: &'a mut DeadLetterFile,
    pub store: &'a ReplayStore,
}

/// How a replay batches and retries.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub batch_max_events: usize,
    pub batch_max_bytes: usize,
    pub retry: RetryPolicy,
}

/// What a replay did: the summary, and how many lines earlier replays had already done.
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    pub summary: Summary,
    pub already: u64,
}

/// The input being read: how far, and the digest of what was read.
struct Reading {
    path: PathBuf,
    offset: u64,
    digest: Sha256,
}

struct Replay<'a> {
    mappings: &'a MappingSet,
    stream: &'a StreamSpec,
    out: ReplayOutputs<'a>,
    opts: &'a ReplayOptions,
    committed: ReplayState,
    /// Inputs read to their end since the start, with those of earlier replays.
    inputs: BTreeMap<PathBuf, Done>,
    reading: Option<Reading>,
    batcher: Batcher,
    pending: BTreeMap<(String, String), u64>,
    pending_unknown: BTreeMap<String, u64>,
    done: Replayed,
    jitter: Jitter,
    /// The newest event time replayed.
    newest_ms: Option<i64>,
}

/// Replays `inputs` in order.
pub async fn replay<'a>(
    inputs: &[Input],
    mappings: &'a MappingSet,
    stream: &'a StreamSpec,
    out: ReplayOutputs<'a>,
    opts: &'a ReplayOptions,
) -> Result<Replayed, RunFailure> {
    let started = Instant::now();
    let fail = |message: String| RunFailure { message, summary: Summary::default() };
    let loaded = out.store.load().map_err(fail)?;
    // A replay killed mid-way: bring the outputs back to what its state committed.
    let note = |e: String| fail(format!("{e} (replay state `{}`)", out.store.path().display()));
    if loaded.sink.is_some() || loaded.pending.is_some() {
        let describe = out.sink.describe();
        out.sink
            .resume(loaded.sink.as_ref(), loaded.pending.as_ref())
            .await
            .map_err(|e| note(format!("cannot resume {describe}: {e}")))?;
    }
    if let Some(mark) = &loaded.dead_letters {
        out.dead_letters.restore(mark).map_err(|e| note(format!("dead letters: {e}")))?;
    }
    // Where the outputs start, so that a replay killed before its first commit is undone too.
    let committed = ReplayState {
        sink: out.sink.committed(),
        dead_letters: Some(out.dead_letters.mark()),
        pending: None,
        updated: iso_millis(now_ms()),
        ..loaded
    };
    out.store.save(&committed).map_err(fail)?;
    let mut r = Replay {
        mappings,
        stream,
        inputs: committed.inputs.clone(),
        out,
        opts,
        committed,
        reading: None,
        batcher: Batcher::new(opts.batch_max_events, opts.batch_max_bytes, 1),
        pending: BTreeMap::new(),
        pending_unknown: BTreeMap::new(),
        done: Replayed::default(),
        jitter: Jitter::from_clock(),
        newest_ms: None,
    };
    let result = r.go(inputs).await;
    r.done.summary.elapsed = started.elapsed();
    r.done.summary.watermark = r.newest_ms.map(iso_millis).unwrap_or_default();
    match result {
        Ok(()) => Ok(r.done),
        Err(message) => Err(RunFailure { message, summary: r.done.summary }),
    }
}

fn now_ms() -> i64 {
    crate::runner::clock::Clock::system().now_ms()
}

fn hex(d: Sha256) -> String {
    d.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// An input opened as text.
fn open(input: &Input) -> Result<Box<dyn BufRead>, String> {
    let err = |e: std::io::Error| format!("cannot read `{}`: {e}", input.path.display());
    Ok(match input.kind {
        Kind::DeadLetters => Box::new(std::io::BufReader::new(std::fs::File::open(&input.path).map_err(err)?)),
        Kind::Archive => Box::new(crate::archive::open_day(&input.path).map_err(err)?),
    })
}

impl Replay<'_> {
    async fn go(&mut self, inputs: &[Input]) -> Result<(), String> {
        for input in inputs {
            self.input(input).await?;
        }
        self.flush_and_commit().await?;
        // Nothing is uncommitted: the next replay has no output to bring back.
        let clean = ReplayState { sink: None, dead_letters: None, pending: None, ..self.committed.clone() };
        self.out.store.save(&clean)
    }

    async fn input(&mut self, input: &Input) -> Result<(), String> {
        let name = input.path.display().to_string();
        let mut reader = open(input)?;
        let mut digest = Sha256::new();
        let mut offset = 0u64;
        let mut line_no = 0u64;
        if let Some(done) = self.inputs.get(&input.path).cloned() {
            // The part replayed before: read again only to check it is the same text.
            let mut left = done.offset;
            let mut buf = vec![0u8; 64 * 1024];
            while left > 0 {
                let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n = reader.read(&mut buf[..want]).map_err(|e| format!("cannot read `{name}`: {e}"))?;
                if n == 0 {
                    break;
                }
                digest.update(&buf[..n]);
                line_no += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
                left -= n as u64;
            }
            if left > 0 || hex(digest.clone()) != done.sha256 {
                return Err(format!(
                    "`{name}` is not the file replayed before: its first {} bytes were replayed and are no longer the \
                     same; move the replay state `{}` away to replay every input from its start",
                    done.offset,
                    self.out.store.path().display()
                ));
            }
            offset = done.offset;
            self.done.already += line_no;
        }
        self.reading = Some(Reading { path: input.path.clone(), offset, digest: digest.clone() });
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(|e| format!("cannot read `{name}`: {e}"))?;
            if n == 0 {
                break;
            }
            if !buf.ends_with(b"\n") {
                tracing::warn!("`{name}` ends with an incomplete line (still being written?): left for a later replay");
                break;
            }
            if input.limit.is_some_and(|limit| offset + n as u64 > limit) {
                // The rest of a run's dead-letter file is not committed yet: a later replay.
                break;
            }
            line_no += 1;
            self.line(input.kind, &buf, &format!("{name}:{line_no}")).await?;
            offset += n as u64;
            digest.update(&buf);
            self.reading = Some(Reading { path: input.path.clone(), offset, digest: digest.clone() });
            // Only now, the line counted as read, may a full batch be committed with it.
            if self.batcher.is_full() {
                self.flush_and_commit().await?;
            }
        }
        self.inputs.insert(input.path.clone(), Done { offset, sha256: hex(digest) });
        self.reading = None;
        Ok(())
    }

    async fn line(&mut self, kind: Kind, bytes: &[u8], at: &str) -> Result<(), String> {
        let record = match line::read(kind, bytes, at) {
            Line::Blank => return Ok(()),
            Line::Refused(dl) => return self.dead_letter(&dl),
            Line::Record(record) => record,
        };
        if record_id(&record, &self.stream.record_id).is_none() {
            let message = format!("{at}: the record has no usable id at `{}`", self.stream.record_id.join("."));
            return self.dead_letter(&DeadLetter::new(Reason::InvalidRecord, message, record));
        }
        let time = crate::source::auth::lookup(&record, &self.stream.event_time).and_then(parse_instant);
        match self.mappings.map_counted(record) {
            Ok((event, unknown)) => {
                let line = serde_json::to_string(&event).map_err(|e| format!("cannot encode an event: {e}"))?;
                let time_ms = event.get("time").and_then(|t| t.as_i64()).or(time).unwrap_or(0);
                let encoded = EncodedEvent { line, time_ms };
                if !self.batcher.fits(&encoded) {
                    self.flush_and_commit().await?;
                }
                let name = |k: &str| event.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
                *self.pending.entry((name("class_name"), name("type_name"))).or_insert(0) += 1;
                if let Some(t) = unknown {
                    *self.pending_unknown.entry(t).or_insert(0) += 1;
                }
                self.newest_ms = self.newest_ms.max(Some(time_ms));
                self.batcher.push(encoded);
                Ok(())
            }
            Err(dl) => self.dead_letter(&dl),
        }
    }

    fn dead_letter(&mut self, dl: &DeadLetter) -> Result<(), String> {
        self.out.dead_letters.write(dl)?;
        *self.done.summary.dead_letters.entry(dl.reason.code().to_string()).or_insert(0) += 1;
        Ok(())
    }

    /// The state as of now: every input read so far, the one being read up to its last line
    /// handled.
    fn state(&self) -> ReplayState {
        let mut inputs = self.inputs.clone();
        if let Some(r) = &self.reading {
            inputs.insert(r.path.clone(), Done { offset: r.offset, sha256: hex(r.digest.clone()) });
        }
        ReplayState {
            format: self.committed.format,
            inputs,
            sink: self.out.sink.committed(),
            dead_letters: Some(self.out.dead_letters.mark()),
            pending: None,
            updated: iso_millis(now_ms()),
        }
    }

    /// Ships the pending batch (write-ahead intent first, as a run does), syncs the new dead
    /// letters, then records how far every input was replayed.
    async fn flush_and_commit(&mut self) -> Result<(), String> {
        if !self.batcher.is_empty() {
            let batch = self.batcher.take();
            let describe = self.out.sink.describe();
            let summary = &mut self.done.summary;
            if let Some(intent) = self.out.sink.intent(&batch).map_err(|e| format!("{describe}: {e}"))? {
                let ahead = ReplayState {
                    sink: self.out.sink.committed(),
                    pending: Some(intent),
                    updated: iso_millis(now_ms()),
                    ..self.committed.clone()
                };
                self.out.store.save(&ahead)?;
                self.committed = ahead;
                pause::at(pause::Point::Intent, summary.batches + 1).await;
            }
            let mut retries = 0;
            let ack = loop {
                match self.out.sink.send(&batch).await {
                    Ok(ack) => break ack,
                    Err(SinkError::Retryable(_)) if retries < self.opts.retry.max_retries => {
                        retries += 1;
                        summary.retries += 1;
                        tokio::time::sleep(self.opts.retry.delay(retries, None, &mut self.jitter)).await;
                    }
                    Err(e) => return Err(format!("{describe}: {e}")),
                }
            };
            summary.batches += 1;
            summary.sink_rejected += ack.rejected as u64;
            for (k, n) in std::mem::take(&mut self.pending) {
                *summary.events.entry(k).or_insert(0) += n;
            }
            for (k, n) in std::mem::take(&mut self.pending_unknown) {
                *summary.unknown_types.entry(k).or_insert(0) += n;
            }
            pause::at(pause::Point::Sent, summary.batches).await;
        }
        self.out.dead_letters.sync()?;
        let state = self.state();
        self.out.store.save(&state)?;
        self.committed = state;
        Ok(())
    }
}
