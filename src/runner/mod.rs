//! The source runner: pulls one stream of a source spec window by window, page by page, maps
//! every record, ships events to a sink in batches and commits a checkpoint after each
//! acknowledged batch, so that a restart loses nothing and repeats nothing.
//!
//! Per record: drop it if its time is outside the window read (read_window.rs), skip it if
//! its id was already delivered (overlap re-reads, repeated page edges), map it, then either
//! batch the event or write a dead letter. The position passes a window only once it is wholly
//! read. Memory holds one page and one batch; the dedup state holds the ids of the overlap
//! region (and, with `reconcile`, 16-byte digests for its span: reconcile.rs).

mod archive;
pub mod budget;
pub mod checkpoint;
pub mod clock;
pub mod dedup;
pub mod digests;
mod heartbeat;
pub mod http;
pub mod journal;
pub mod mask;
pub mod origin;
pub mod pager;
pub mod pause;
mod poison;
pub mod probe;
pub mod progress_guard;
pub mod read_ahead;
mod read_window;
pub mod reconcile;
pub mod reload;
pub mod retry;
pub mod shutdown;
pub mod storage;
pub mod summary;
pub mod window;

use crate::deadletter::DeadLetter;
use crate::diagnostic::{Diagnostic, ErrorKind};
use crate::mapping::MappingSet;
use crate::sink::{Batcher, DeadLetterFile, EncodedEvent, Sink, SinkError};
use crate::source::SourceSpec;
use crate::source::auth::lookup;
use crate::source::duration::{format_duration, parse_duration};
use crate::source::stream::StreamSpec;
use crate::source::timefmt::{iso_millis, parse_instant};
use crate::source::values::Params;
use checkpoint::{Checkpoint, CheckpointStore};
use dedup::Dedup;
use http::Api;
use pager::{Pager, record_id};
use read_window::{Purpose, Read};
use retry::{Jitter, RetryPolicy};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use summary::{Stats, Summary};
use tokio::sync::watch;
use window::{Planner, Position, Window};

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Catch up to now − settle delay, then stop (else keep polling).
    pub once: bool,
    pub batch_max_events: usize,
    pub batch_max_bytes: usize,
    pub retry: RetryPolicy,
    /// Per HTTP request.
    pub timeout: Duration,
    /// Print a status line to standard error this often.
    pub progress_every: Option<Duration>,
    /// Talk plain http to a loopback base URL written with https (the built-in simulator).
    pub plain_http_on_loopback: bool,
    /// Send the requests for the base URL's host to this loopback address (a simulator that
    /// serves many tenants, told apart by the host name).
    pub resolve: Option<std::net::SocketAddr>,
    /// Reads the parameters again when a login is refused (rotated credentials).
    pub refresh_params: Option<ParamsRefresh>,
    /// Prometheus metrics to keep up to date (`--metrics-addr`).
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Stop after this many windows that held records (`--dry-run` reads one).
    pub max_windows: Option<u64>,
    /// Load the mappings again between batches when their files change (`--watch`).
    pub watch: Option<(std::path::PathBuf, reload::Reload)>,
    /// Where "now" comes from (the system clock; tests fix it).
    pub clock: clock::Clock,
    /// What `/readyz` answers from (`--metrics-addr`).
    pub health: Option<Arc<crate::metrics::Health>>,
    /// Windows read at once (`--concurrency`, a pipeline's `concurrency`); the stream's own
    /// `concurrency` when `None`.
    pub concurrency: Option<usize>,
    /// Keep every record taken in this raw archive directory (`--archive`).
    pub archive: Option<std::path::PathBuf>,
    /// At concurrency 1, fetch the next page while the current one is delivered (on by
    /// default; `--no-read-ahead` sends only the requests the runner needs, one at a time).
    pub read_ahead: bool,
    /// With `reconcile`: reconciliation digests held in memory at most; older ones are looked
    /// up in their table on disk (digests.rs).
    pub digests_in_memory: usize,
    /// With a state directory: ids of the dedup set held in memory at most; the others are in
    /// a scratch file there (dedup/runs.rs).
    pub ids_in_memory: usize,
}

/// Resolves the run's parameters again (`${{aws_secrets:…}}`, `${{file:…}}`, … read anew).
#[derive(Clone)]
pub struct ParamsRefresh(pub Arc<dyn Fn() -> Result<Params, String> + Send + Sync>);

impl std::fmt::Debug for ParamsRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParamsRefresh")
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            once: false,
            batch_max_events: 1000,
            batch_max_bytes: 1 << 20,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            progress_every: Some(Duration::from_secs(5)),
            plain_http_on_loopback: false,
            resolve: None,
            refresh_params: None,
            metrics: None,
            max_windows: None,
            watch: None,
            clock: clock::Clock::system(),
            health: None,
            concurrency: None,
            archive: None,
            read_ahead: true,
            digests_in_memory: digests::MEMORY_ENTRIES,
            ids_in_memory: dedup::MEMORY_KEYS,
        }
    }
}

/// A stream ready to run: everything checked that can be checked offline.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub base: reqwest::Url,
    pub lookback: Duration,
}

fn params_value(params: &Params) -> minijinja::Value {
    minijinja::Value::from(params.exposed())
}

/// Checks what a run needs beyond a valid spec: a stream, a TLS base URL, a valid look-back.
pub fn prepare(
    spec: &SourceSpec,
    stream: &StreamSpec,
    params: &Params,
    plain_http_on_loopback: bool,
) -> Result<Prepared, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let base = match &spec.base_url {
        None => {
            diags.push(Diagnostic::new(ErrorKind::NotRunnable { reason: "the spec has no `base_url`".into() }));
            None
        }
        Some((t, span)) => {
            let ctx = minijinja::context! { params => params_value(params) };
            match t.render_string(&ctx) {
                Ok(url) => match http::base_url(&url, plain_http_on_loopback) {
                    Ok(u) => Some(u),
                    Err(e) if e.starts_with("insecure:") => {
                        diags.push(Diagnostic::new(ErrorKind::InsecureUrl { url }).at(span.clone()));
                        None
                    }
                    Err(e) => {
                        diags.push(
                            Diagnostic::new(ErrorKind::InvalidValue { key: "base_url".into(), reason: e })
                                .at(span.clone()),
                        );
                        None
                    }
                },
                Err(e) => {
                    diags.push(Diagnostic::new(ErrorKind::BadTemplate { reason: e }).at(span.clone()));
                    None
                }
            }
        }
    };
    let lookback = match &stream.lookback {
        None => Some(Duration::ZERO),
        Some(l) => {
            let text = params.get(&l.param).map(|v| v.expose().to_string()).unwrap_or_else(|| "PT0H".into());
            match parse_duration(&text) {
                Some(d) if d <= l.max => Some(d),
                Some(_) => {
                    diags.push(
                        Diagnostic::new(ErrorKind::InvalidValue {
                            key: l.param.clone(),
                            reason: format!("`{text}` is longer than the maximum, {}", format_duration(l.max)),
                        })
                        .help(format!(
                            "pass --set {}=P7D, at most {}",
                            l.param,
                            format_duration(l.max)
                        )),
                    );
                    None
                }
                None => {
                    diags.push(
                        Diagnostic::new(ErrorKind::BadDuration { key: l.param.clone(), value: text })
                            .help(format!("for example --set {}=P7D", l.param)),
                    );
                    None
                }
            }
        }
    };
    match (base, lookback) {
        (Some(base), Some(lookback)) if diags.is_empty() => Ok(Prepared { base, lookback }),
        _ => Err(diags),
    }
}

/// Where a run's output goes.
pub struct Outputs<'a> {
    pub sink: &'a mut dyn Sink,
    pub dead_letters: &'a mut DeadLetterFile,
    pub store: &'a CheckpointStore,
}

/// A run that failed; the summary says how far it got (everything in it was committed).
#[derive(Debug)]
pub struct RunFailure {
    pub message: String,
    pub summary: Summary,
}

struct Run<'a> {
    spec: &'a SourceSpec,
    stream: &'a StreamSpec,
    mappings: &'a MappingSet,
    out: Outputs<'a>,
    opts: &'a RunOptions,
    planner: Planner,
    pos: Position,
    dedup: Dedup,
    /// Where the delivered ids are committed (`None`: in the checkpoint itself, a fleet's).
    journal: Option<journal::Journal>,
    /// The dedup set was pruned (a window passed): the next commit starts a new generation of
    /// the journal with what it still holds.
    journal_restart: bool,
    /// Ids a checkpoint of an older version held itself, until the first commit moves them to
    /// the journal.
    carried: Vec<(String, i64)>,
    /// The checkpoint last saved.
    committed: Checkpoint,
    batcher: Batcher,
    /// Events in the batch not yet acknowledged, by class and type.
    pending: BTreeMap<(String, String), u64>,
    /// Of those, events of types no mapping names (taken by a fallback mapping), by type.
    pending_unknown: BTreeMap<String, u64>,
    summary: Summary,
    stats: Arc<Stats>,
    stop: watch::Receiver<bool>,
    jitter: Jitter,
    /// Where this run started reading, and the end of what it is catching up to (progress).
    origin_ms: i64,
    target_ms: i64,
    /// Retries already counted in the metrics.
    retries_reported: u64,
    /// With `--watch`: the directory watcher and the mappings loaded since the run began.
    watcher: Option<reload::Watcher>,
    reloaded: Option<Box<MappingSet>>,
    /// Records read from the API, and windows read so far that held any.
    records_read: u64,
    filled_windows: u64,
    /// When the last progress event was reported.
    last_status: Instant,
    /// With a reconciliation re-read: digests of ids delivered before the resume point, and
    /// where the re-reads stand.
    digests: Option<digests::Digests>,
    reconcile_mark: Option<checkpoint::ReconcileMark>,
    /// The windows read ahead: the one being delivered, and with a concurrency above one
    /// those after it.
    ahead: Option<read_ahead::ReadAhead>,
    /// With `--archive`: the records taken since the last write.
    archive: Option<crate::archive::Archive>,
}

/// Runs one stream until caught up (`once`) or until `stop` turns true.
#[allow(clippy::too_many_arguments)]
pub async fn run_stream<'a>(
    spec: &'a SourceSpec,
    stream: &'a StreamSpec,
    params: &Params,
    mappings: &'a MappingSet,
    prepared: &Prepared,
    out: Outputs<'a>,
    opts: &'a RunOptions,
    stop: watch::Receiver<bool>,
) -> Result<Summary, RunFailure> {
    let started = Instant::now();
    let planner = Planner {
        window: stream.window,
        overlap: stream.overlap,
        settle_delay: stream.settle_delay,
        precision_ms: stream.time_format.precision_ms(),
    };
    let fail = |message: String| RunFailure { message, summary: Summary::default() };
    let loaded = out.store.load().map_err(fail)?;
    // Before anything is written: bring the outputs back to what the checkpoint committed
    // (cut what a killed run wrote past it, recognise what it sent without a commit).
    let checkpoint_note = |e: String| fail(format!("{e} (checkpoint `{}`)", out.store.path().display()));
    if let Some(cp) = &loaded {
        let describe = out.sink.describe();
        out.sink
            .resume(cp.sink.as_ref(), cp.pending.as_ref())
            .await
            .map_err(|e| checkpoint_note(format!("cannot resume {describe}: {e}")))?;
        if let Some(mark) = &cp.dead_letters {
            out.dead_letters.restore(mark).map_err(|e| checkpoint_note(format!("dead letters: {e}")))?;
        }
        archive::restore(cp.archive.as_deref()).map_err(checkpoint_note)?;
    }
    // The ids themselves are kept only for a checkpoint that holds them (no journal).
    let keep_ids = out.store.journal_stem().is_none();
    let (pos, mut dedup) = match &loaded {
        Some(cp) => (cp.position(), cp.dedup(keep_ids)),
        None => (planner.initial(opts.clock.now_ms(), prepared.lookback), Dedup::new(keep_ids)),
    };
    // The ids delivered since the resume point: in the journal (a checkpoint of an older
    // version holds them itself; its first commit moves them to a journal).
    let mut carried = Vec::new();
    let journal = match out.store.journal_stem() {
        Some(stem) => {
            let mark = loaded.as_ref().and_then(|cp| cp.journal);
            let (journal, entries) = journal::Journal::open(&stem, mark).map_err(fail)?;
            // Keys past the memory bound go to a scratch file beside the journal.
            let dir = stem.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
            dedup.spill_to(dir, opts.ids_in_memory);
            dedup.extend(entries).map_err(fail)?;
            carried = loaded.as_ref().filter(|cp| cp.journal.is_none()).map(|cp| cp.seen.clone()).unwrap_or_default();
            Some(journal)
        }
        None => None,
    };
    let journal_restart = journal.is_some() && loaded.as_ref().is_some_and(|cp| cp.journal.is_none());
    let reconcile_mark = stream.reconcile.map(|_| {
        loaded
            .as_ref()
            .and_then(|cp| cp.reconcile)
            .unwrap_or(checkpoint::ReconcileMark { since_ms: pos.resume_from_ms, done_at_ms: opts.clock.now_ms() })
    });
    let digests = match stream.reconcile {
        Some(_) => Some(
            digests::Digests::load(out.store.digests_path(), pos.resume_from_ms)
                .map_err(fail)?
                .holding(opts.digests_in_memory),
        ),
        None => None,
    };
    let committed = match loaded {
        Some(cp) => cp,
        None => {
            // A first run records where its outputs start, so that a crash before its first
            // commit is undone too.
            let mut cp = Checkpoint::new(&spec.name, &stream.name, pos, Vec::new(), opts.clock.now_ms());
            cp.journal = journal.as_ref().map(journal::Journal::mark);
            cp.reconcile = reconcile_mark;
            cp.sink = out.sink.committed();
            cp.dead_letters = Some(out.dead_letters.mark());
            out.store.save(&cp).map_err(fail)?;
            cp
        }
    };
    let stats = Arc::new(Stats::default());
    let api = Api::new(
        prepared.base.clone(),
        spec.auth.clone(),
        params_value(params),
        params.secret_values(),
        opts.retry.clone(),
        opts.timeout,
        Arc::clone(&stats),
        stop.clone(),
    )
    .map_err(fail)?
    .resolving(opts.resolve, opts.timeout)
    .map_err(fail)?
    .with_metrics(opts.metrics.clone(), &stream.name);
    let concurrency = opts.concurrency.unwrap_or(stream.concurrency).max(1);
    let budget = api.host_budget(concurrency, stream.requests_per_second);
    let mut api = api.with_budget(budget).with_refresh(opts.refresh_params.clone().map(|r| {
        let refresh: http::ParamRefresh = Arc::new(move || {
            let params = (r.0)()?;
            Ok((params_value(&params), params.secret_values()))
        });
        refresh
    }));
    // Nothing due yet: talk to the API anyway, so that a wrong deployment fails now.
    let now = opts.clock.now_ms();
    if planner.next(pos, planner.target(now)).is_none() {
        probe::probe(&mut api, stream, params_value(params), &planner, pos, now).await.map_err(|message| {
            RunFailure { message, summary: Summary { requests: stats.requests(), ..Summary::default() } }
        })?;
    }
    let mut run = Run {
        spec,
        stream,
        mappings,
        out,
        opts,
        planner,
        pos,
        dedup,
        journal,
        journal_restart,
        carried,
        committed,
        batcher: Batcher::new(opts.batch_max_events, opts.batch_max_bytes, 1),
        pending: BTreeMap::new(),
        pending_unknown: BTreeMap::new(),
        summary: Summary::default(),
        stats,
        stop,
        jitter: Jitter::from_clock(),
        origin_ms: pos.resume_from_ms,
        target_ms: pos.resume_from_ms,
        retries_reported: 0,
        records_read: 0,
        filled_windows: 0,
        last_status: Instant::now(),
        digests,
        reconcile_mark,
        watcher: opts.watch.as_ref().map(|(dir, reload)| reload::Watcher::new(dir, reload.clone())),
        reloaded: None,
        ahead: None,
        archive: opts.archive.as_deref().map(crate::archive::Archive::new),
    };
    let result = run.go(api, params, started).await;
    run.summary.elapsed = started.elapsed();
    run.summary.requests = run.stats.requests();
    run.summary.retries = run.stats.retries();
    run.summary.logins = run.stats.logins();
    run.summary.unauthorized = run.stats.unauthorized();
    run.summary.watermark = iso_millis(run.pos.watermark_ms);
    if let Some(ahead) = &mut run.ahead {
        ahead.close();
        run.summary.read_ahead = ahead.used;
        run.summary.read_ahead_unused = ahead.discarded;
    }
    match result {
        Ok(()) => Ok(run.summary),
        Err(message) => Err(RunFailure { message, summary: run.summary }),
    }
}

impl Run<'_> {
    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    async fn go(&mut self, mut api: Api, params: &Params, started: Instant) -> Result<(), String> {
        let pager = Arc::new(Pager::new(self.stream, params_value(params)).at(api.base()));
        let concurrency = self.opts.concurrency.unwrap_or(self.stream.concurrency).max(1);
        // Pages are read ahead at concurrency 1 too (the window being delivered is then the
        // only partition): the next page is on its way while this one is mapped and written.
        if concurrency > 1 || self.opts.read_ahead {
            let method = reqwest::Method::from_bytes(self.stream.method.as_bytes()).unwrap_or(reqwest::Method::POST);
            let pager = Arc::clone(&pager);
            self.ahead = Some(read_ahead::ReadAhead::new(concurrency, api.sender(), pager, method, &self.stream.path));
        }
        'poll: loop {
            let target = self.planner.target(self.opts.clock.now_ms());
            self.target_ms = target;
            let delivered_before = self.delivered_so_far();
            while let Some(w) = self.planner.next(self.pos, target) {
                if self.opts.max_windows.is_some_and(|max| self.filled_windows >= max) {
                    break 'poll;
                }
                if let Some(ahead) = &mut self.ahead {
                    ahead.plan(&read_ahead::ReadAhead::upcoming(&self.planner, self.pos, target, concurrency));
                }
                let read_before = self.records_read;
                self.summary.windows += 1;
                if self.read_window(&mut api, &pager, w, Purpose::CatchUp, started).await? == Read::Stopped {
                    self.summary.interrupted = true;
                    break 'poll;
                }
                // The whole window is read: only now may the position pass its records,
                // whatever order they came in.
                if self.records_read > read_before {
                    self.filled_windows += 1;
                }
                self.pass_window(w).await?;
                if let Some(ahead) = &mut self.ahead {
                    ahead.finish(w);
                }
                self.answered();
            }
            if self.out.sink.due() {
                self.flush_and_commit().await?;
            }
            if self.reconcile_if_due(&mut api, &pager, started).await? == Read::Stopped {
                self.summary.interrupted = true;
                break 'poll;
            }
            self.after_poll(delivered_before);
            if self.opts.once {
                break;
            }
            let mut stop = self.stop.clone();
            if *stop.borrow() {
                self.summary.interrupted = true;
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.stream.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
        self.flush_and_commit().await
    }

    async fn record(&mut self, record: serde_json::Value, w: Window) -> Result<(), String> {
        let Some(id) = record_id(&record, &self.stream.record_id) else {
            return self.without_id(record, w);
        };
        let time = lookup(&record, &self.stream.event_time).and_then(parse_instant);
        if self.dedup.sighted(&id, time.unwrap_or(w.end_ms))? || self.delivered_long_ago(&id)? {
            self.summary.duplicates += 1;
            self.metric("duplicates_dropped_total", 1);
            return Ok(());
        }
        let raw = self.archive.is_some().then(|| serde_json::to_vec(&record).unwrap_or_default());
        let mappings = self.reloaded.as_deref().unwrap_or(self.mappings);
        let mut bytes = Vec::new();
        match mappings.map_to(record, &mut bytes) {
            Ok((event, unknown)) => {
                let line = String::from_utf8(bytes).map_err(|e| format!("cannot encode an event: {e}"))?;
                let time_ms = event.time.or(time).unwrap_or(0);
                let encoded = EncodedEvent { line, time_ms };
                if !self.batcher.fits(&encoded) {
                    self.flush_and_commit().await?;
                }
                let key = (
                    event.class_name.unwrap_or_else(|| "?".to_string()),
                    event.type_name.unwrap_or_else(|| "?".to_string()),
                );
                *self.pending.entry(key).or_insert(0) += 1;
                if let Some(t) = unknown {
                    *self.pending_unknown.entry(t).or_insert(0) += 1;
                }
                self.archive_record(raw, time);
                self.seen(id, time, w)?;
                self.batcher.push(encoded);
                if self.batcher.is_full() {
                    self.flush_and_commit().await?;
                }
                Ok(())
            }
            Err(dl) => {
                self.archive_record(raw, time);
                self.dead_letter(&dl)?;
                self.seen(id, time, w)?;
                Ok(())
            }
        }
    }

    /// Remembers a delivered id. The position does not move: it passes a window's records
    /// only once the whole window is read. Without a time, the id is kept as long as the
    /// window's end can be read again.
    fn seen(&mut self, id: String, time: Option<i64>, w: Window) -> Result<(), String> {
        self.dedup.insert(&id, time.unwrap_or(w.end_ms)).map(|_| ())
    }

    fn dead_letter(&mut self, dl: &DeadLetter) -> Result<(), String> {
        self.out.dead_letters.write(dl)?;
        *self.summary.dead_letters.entry(dl.reason.code().to_string()).or_insert(0) += 1;
        if let Some(m) = &self.opts.metrics {
            m.add("dead_letters_total", &[&self.stream.name, dl.reason.code()], 1);
        }
        Ok(())
    }

    /// Ships the pending batch (retrying a sink that asks for it), makes dead letters durable,
    /// then commits the position.
    async fn flush_and_commit(&mut self) -> Result<(), String> {
        let archived = self.write_archive()?;
        if !self.batcher.is_empty() {
            let batch = self.batcher.take();
            // Write-ahead: what the sink must find in the checkpoint if this run dies mid-send.
            let describe = self.out.sink.describe();
            if let Some(intent) = self.out.sink.intent(&batch).map_err(|e| format!("{describe}: {e}"))? {
                let mut ahead = self.committed.clone();
                // Nothing of this batch is in the sink yet; what a resume learned is.
                ahead.sink = self.out.sink.committed();
                ahead.pending = Some(intent);
                ahead.updated = iso_millis(self.opts.clock.now_ms());
                self.out.store.save(&ahead)?;
                self.committed = ahead;
                pause::at(pause::Point::Intent, self.summary.batches + 1).await;
            }
            let mut retries = 0;
            let ack = loop {
                match self.out.sink.send(&batch).await {
                    Ok(ack) => break ack,
                    Err(SinkError::Retryable(m)) if retries < self.opts.retry.max_retries => {
                        retries += 1;
                        self.stats.add_retry();
                        tokio::time::sleep(self.opts.retry.delay(retries, None, &mut self.jitter)).await;
                        let _ = m;
                    }
                    Err(e) => return Err(format!("{}: {e}", self.out.sink.describe())),
                }
            };
            self.summary.batches += 1;
            self.summary.sink_rejected += ack.rejected as u64;
            if let Some(m) = &self.opts.metrics {
                let (stream, sink) = (self.stream.name.as_str(), self.out.sink.kind());
                m.add("batches_total", &[stream], 1);
                m.add("events_shipped_total", &[stream, sink], ack.accepted as u64);
                m.add("events_refused_total", &[stream, sink], ack.rejected as u64);
                for ((class, _), n) in &self.pending {
                    m.add("events_mapped_total", &[stream, class], *n);
                }
                for (t, n) in &self.pending_unknown {
                    m.add("unknown_event_types_total", &[stream, t], *n);
                }
            }
            for (k, n) in std::mem::take(&mut self.pending) {
                *self.summary.events.entry(k).or_insert(0) += n;
            }
            for (k, n) in std::mem::take(&mut self.pending_unknown) {
                *self.summary.unknown_types.entry(k).or_insert(0) += n;
            }
            pause::at(pause::Point::Sent, self.summary.batches).await;
        }
        self.out.dead_letters.sync()?;
        let mut changes = self.dedup.take_changes();
        let (seen, journal) = match &mut self.journal {
            None => (self.dedup.entries(), None),
            Some(journal) if self.journal_restart => {
                // What the set still holds, each id at the time it is held at: from the
                // journal, the ids a checkpoint carried in, and what changed since the commit.
                let dedup = &self.dedup;
                let mut also = std::mem::take(&mut self.carried);
                also.append(&mut changes);
                (Vec::new(), Some(journal.restart(|id, t| dedup.holds_at(id, t), &also)?))
            }
            Some(journal) => (Vec::new(), Some(journal.append(&changes)?)),
        };
        let mut cp = Checkpoint::new(&self.spec.name, &self.stream.name, self.pos, seen, self.opts.clock.now_ms());
        cp.journal = journal;
        cp.sink = self.out.sink.committed();
        cp.dead_letters = Some(self.out.dead_letters.mark());
        cp.archive = archived;
        cp.reconcile = self.reconcile_mark;
        self.out.store.save(&cp)?;
        self.committed = cp;
        if let Some(journal) = &mut self.journal {
            journal.committed();
            self.journal_restart = false;
        }
        // Between batches: mapping files edited since are loaded again.
        if let Some(watcher) = &mut self.watcher {
            match watcher.check() {
                reload::Change::None => {}
                reload::Change::Reloaded(set) => {
                    tracing::info!(mappings = set.mappings().len(), "mapping files changed: loaded again");
                    self.reloaded = Some(set);
                }
                reload::Change::Rejected(errors) => tracing::warn!(
                    "mapping files changed but do not load; the mappings in force stay:\n{}",
                    errors.trim_end()
                ),
            }
        }
        if let Some(m) = &self.opts.metrics {
            let stream = self.stream.name.as_str();
            m.set("checkpoint_watermark_seconds", &[stream], self.pos.watermark_ms as f64 / 1000.0);
            m.set(
                "checkpoint_lag_seconds",
                &[stream],
                (self.opts.clock.now_ms() - self.pos.watermark_ms).max(0) as f64 / 1000.0,
            );
            let retries = self.stats.retries();
            m.add("api_retries_total", &[stream], retries.saturating_sub(self.retries_reported));
            self.retries_reported = retries;
        }
        Ok(())
    }

    /// Adds `n` to a counter labelled by the stream alone.
    fn metric(&self, name: &str, n: u64) {
        if let Some(m) = &self.opts.metrics {
            m.add(name, &[&self.stream.name], n);
        }
    }

    /// A progress event: a redrawn line on a terminal, a structured log line elsewhere.
    fn progress(&mut self, started: Instant) {
        self.summary.retries = self.stats.retries();
        self.summary.watermark = iso_millis(self.pos.watermark_ms);
        let elapsed = started.elapsed().as_secs_f64();
        let events = self.summary.total_events() + self.pending.values().sum::<u64>();
        let span = |a: i64, b: i64| u64::try_from(b - a).unwrap_or(0);
        tracing::info!(
            target: crate::logging::PROGRESS,
            stream = self.stream.name.as_str(),
            covered_ms = span(self.origin_ms, self.pos.watermark_ms.min(self.target_ms)),
            total_ms = span(self.origin_ms, self.target_ms),
            events,
            per_second = (events as f64 / elapsed.max(0.001)) as u64,
            retries = self.summary.retries,
            dead_letters = self.summary.total_dead_letters(),
            watermark = self.summary.watermark.as_str(),
            "{} ({elapsed:.0} s)",
            self.summary.status_line(events),
        );
    }
}
