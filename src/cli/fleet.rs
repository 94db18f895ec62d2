//! `engine run` of a file of named pipelines: every pipeline runs in this process as a task of
//! its own ([`run_pipeline`], one named pipeline to its end), with its own state directory
//! (`<state-dir>/<name>/`), output, dead letters, metrics label and progress; a supervisor
//! ([`supervise`]) starts them, retries one that fails with backoff while the others go on,
//! prints a line per pipeline at the end and exits with the worst pipeline's code.

use super::load::{EXIT_CONFIG, EXIT_RUNTIME, report};
use super::run::{RunArgs, SinkKind, apply_pipeline, plan, run_planned, serve_metrics};
use crate::diagnostic::{Diagnostic, ErrorKind};
use crate::metrics::Metrics;
use crate::runner::Prepared;
use crate::source::pipeline::PipelineRun;
use crate::source::pipelines::{self, Loaded};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// What a run of one pipeline of several shares with the others. The default is a run of one
/// pipeline on its own: it watches the signals and serves its metrics itself.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The pipeline's name.
    pub name: Option<String>,
    /// Turns true when the process is asked to stop.
    pub stop: Option<watch::Receiver<bool>>,
    /// The process's metrics, labelled with the pipeline's name.
    pub metrics: Option<Arc<Metrics>>,
    /// A simulator on loopback serving every tenant by its host name: requests go there, over
    /// plain HTTP, with the pipeline's own hostname.
    pub by_host: Option<SocketAddr>,
    /// With `--coordination s3://…`: the lease the worker's scheduler holds on the pipeline.
    pub lease: Option<super::coordinated::Held>,
}

impl Context {
    /// The prefix of messages: `engine run`, or `engine run [t01]`.
    pub fn who(&self) -> String {
        match &self.name {
            Some(n) => format!("engine run [{n}]"),
            None => "engine run".into(),
        }
    }

    /// The line above a summary: empty, or `pipeline t01:`.
    pub fn heading(&self) -> String {
        self.name.as_ref().map(|n| format!("pipeline {n}:\n")).unwrap_or_default()
    }

    /// The base URL the requests go to: with `by_host`, the tenant's URL over plain HTTP on the
    /// simulator's port (the client resolves the host name to the simulator).
    pub fn route(&self, mut prepared: Prepared) -> Result<Prepared, String> {
        let Some(addr) = self.by_host else { return Ok(prepared) };
        let url = &mut prepared.base;
        if url.host_str().is_none_or(|h| h.parse::<std::net::IpAddr>().is_ok() || h.starts_with('[')) {
            return Err(format!("with --simulate-at, a pipeline's hostname must be a name, not `{url}`"));
        }
        let ok = url.set_scheme("http").is_ok() && url.set_port(Some(addr.port())).is_ok();
        if !ok {
            return Err(format!("cannot send `{url}` to the simulator at {addr}"));
        }
        Ok(prepared)
    }
}

/// How a pipeline's run ended: its exit code (0, 1 dead letters or refused events, 2
/// configuration, 3 API, network or state) and how many attempts it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub code: u8,
    pub attempts: u32,
}

/// Attempts of a failing pipeline with `--once` before it is given up.
const ONCE_ATTEMPTS: u32 = 3;
/// The first pause before a failed pipeline runs again; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The pause after the `attempt`-th failure.
pub fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(MAX_BACKOFF)
}

/// The exit code of a run's `ExitCode` (which std does not expose).
pub(super) fn code_of(exit: ExitCode) -> u8 {
    [0, 1, EXIT_CONFIG, EXIT_RUNTIME, 130].into_iter().find(|c| exit == ExitCode::from(*c)).unwrap_or(EXIT_RUNTIME)
}

/// Flags that name one destination or one run, which a file of several pipelines cannot share.
fn shared_flags_refused(args: &RunArgs) -> Option<&'static str> {
    if args.output.is_some() || args.dead_letter.is_some() {
        Some("--output and --dead-letter name one pipeline's files; give each pipeline a `file: {path}` sink")
    } else if args.sink != SinkKind::File || args.log_group.is_some() || args.log_stream.is_some() {
        Some("--sink, --log-group and --log-stream apply to one pipeline; set each pipeline's `sink` in the file")
    } else if args.lake.any_given() {
        Some("the Security Lake flags apply to one pipeline; set each pipeline's `security_lake` sink in the file")
    } else if args.dry_run {
        Some("--dry-run reads one pipeline; run it on a file holding that pipeline alone")
    } else if args.simulate && args.simulate_at.is_none() {
        Some(
            "--simulate runs one pipeline; start `engine simulate --port N` and pass --simulate-at 127.0.0.1:N (each pipeline's hostname is its own tenant)",
        )
    } else {
        None
    }
}

/// `engine run FILE` where FILE holds named pipelines.
pub fn run(args: RunArgs) -> ExitCode {
    if let Some(problem) = shared_flags_refused(&args) {
        report(&[Diagnostic::new(ErrorKind::NotRunnable { reason: problem.into() })]);
        return ExitCode::from(EXIT_CONFIG);
    }
    let loaded = match pipelines::load_each(&args.spec) {
        Ok(l) => l,
        Err(diags) => {
            report(&diags);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("engine run: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    if args.coord.coordination != crate::coord::target::Target::Local {
        return runtime.block_on(super::fleet_coordinated::supervise(args, loaded));
    }
    runtime.block_on(supervise(args, loaded))
}

/// The arguments of one pipeline's run: the command line's, with the pipeline's source, sink
/// and files, and its state under `<state-dir>/<name>/`.
fn pipeline_args(base: &RunArgs, name: &str, run: &PipelineRun) -> RunArgs {
    let mut args = base.clone();
    args.metrics_addr = None;
    apply_pipeline(&mut args, run.clone());
    let state = base.state_dir.clone().unwrap_or_else(|| PathBuf::from(".engine-state"));
    args.state_dir = Some(state.join(name));
    if args.output.is_none() {
        // Names the dead-letter and refused-events files of a CloudWatch or Security Lake sink.
        args.output = Some(PathBuf::from(format!("ocsf-events.{name}.ndjson")));
    }
    args
}

/// Runs one named pipeline to its end (caught up with `--once`, else until the stop signal) or
/// to its failure, once.
pub async fn run_pipeline(name: &str, run: &PipelineRun, base: &RunArgs, ctx: &Context) -> Outcome {
    let args = pipeline_args(base, name, run);
    let code = match plan(args) {
        Ok(planned) => code_of(run_planned(planned, ctx.clone()).await),
        Err(exit) => code_of(exit),
    };
    Outcome { code, attempts: 1 }
}

/// Runs a pipeline, and runs it again after a failure with backoff: with `--once` up to
/// [`ONCE_ATTEMPTS`] times for API, network or state failures (a configuration error is not
/// retried), otherwise until it succeeds or the process stops. `first` is the pipeline as the
/// supervisor loaded it; later attempts read its entry from the file again, so that a fixed
/// file heals a misconfigured pipeline.
pub(super) async fn keep_running(
    name: &str,
    first: Result<PipelineRun, Vec<Diagnostic>>,
    base: &RunArgs,
    ctx: &Context,
) -> Outcome {
    let who = ctx.who();
    let mut stop = ctx.stop.clone().unwrap_or_else(|| watch::channel(false).1);
    let mut entry = first;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let code = match &entry {
            Ok(run) => run_pipeline(name, run, base, ctx).await.code,
            Err(diags) => {
                report(diags);
                EXIT_CONFIG
            }
        };
        let retry = code > 1 && !*stop.borrow() && (!base.once || (code != EXIT_CONFIG && attempts < ONCE_ATTEMPTS));
        if !retry {
            return Outcome { code, attempts };
        }
        let delay = backoff(attempts);
        eprintln!("{who}: failed (exit {code}); running it again in {} s (attempt {})", delay.as_secs(), attempts + 1);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return Outcome { code, attempts },
        }
        entry = match pipelines::load_each(&base.spec) {
            Ok(all) => match all.into_iter().find(|p| p.name.as_deref() == Some(name)) {
                Some(p) => p.run,
                None => Err(vec![Diagnostic::new(ErrorKind::NotRunnable {
                    reason: format!("pipeline `{name}` is no longer in `{}`", base.spec.display()),
                })]),
            },
            Err(diags) => Err(diags),
        };
    }
}

/// Starts every pipeline as a task of its own and waits for them all.
pub async fn supervise(args: RunArgs, loaded: Vec<Loaded>) -> ExitCode {
    let metrics = Arc::new(Metrics::new());
    let _server = match serve_metrics(args.metrics_addr, &metrics, None).await {
        Ok(server) => server,
        Err(code) => return code,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let state = args.state_dir.clone().unwrap_or_else(|| PathBuf::from(".engine-state"));
    crate::runner::shutdown::watch_signals(
        stop_tx,
        format!("each pipeline resumes from its checkpoint under `{}/<pipeline>/`", state.display()),
    );
    let named: Vec<String> = loaded.iter().map(|l| l.name.clone().unwrap_or_default()).collect();
    if tracing::enabled!(tracing::Level::INFO) {
        let at =
            args.simulate_at.map(|a| format!("; simulated tenants at http://{a}, by hostname")).unwrap_or_default();
        eprintln!("engine run: {} pipelines in {}: {}{at}", named.len(), args.spec.display(), named.join(", "));
    }
    let args = Arc::new(args);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, entry) in loaded.into_iter().enumerate() {
        let name = entry.name.unwrap_or_default();
        let ctx = Context {
            name: Some(name.clone()),
            stop: Some(stop_rx.clone()),
            metrics: Some(Arc::new(metrics.for_pipeline(&name))),
            by_host: args.simulate_at,
            lease: None,
        };
        let args = Arc::clone(&args);
        let span = tracing::info_span!(target: "ocsf_engine::pipeline", "pipeline", pipeline = name.as_str());
        tasks.spawn(
            async move {
                let outcome = keep_running(&name, entry.run, &args, &ctx).await;
                (i, outcome)
            }
            .instrument(span),
        );
    }
    gather("pipelines", &named, tasks).await
}

/// Waits for every task of `tasks` (each says which of `names` it ran), prints a line for each
/// under `heading`, and returns the worst exit code.
pub(super) async fn gather(
    heading: &str,
    names: &[String],
    mut tasks: tokio::task::JoinSet<(usize, Outcome)>,
) -> ExitCode {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; names.len()];
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((i, o)) => outcomes[i] = Some(o),
            Err(e) => eprintln!("engine run: a task of {heading} ended abnormally: {e}"),
        }
    }
    if tracing::enabled!(tracing::Level::INFO) {
        eprint!("\n{}", overview(heading, names, &outcomes));
    }
    // A task that ended abnormally counts as a failure at run time.
    let worst = outcomes.iter().map(|o| o.map_or(EXIT_RUNTIME, |o| o.code)).max().unwrap_or(0);
    ExitCode::from(worst)
}

/// A line per pipeline (or stream, as `heading` says): how it ended, and after how many
/// attempts.
pub(super) fn overview(heading: &str, names: &[String], outcomes: &[Option<Outcome>]) -> String {
    let width = names.iter().map(String::len).max().unwrap_or(0);
    let mut text = format!("{heading}:\n");
    for (name, outcome) in names.iter().zip(outcomes) {
        let how = match outcome {
            None => "ended abnormally (exit 3)".to_string(),
            Some(o) => {
                let what = match o.code {
                    0 => "done",
                    1 => "done, with dead letters or refused events",
                    EXIT_CONFIG => "not run: configuration error",
                    130 => "abandoned",
                    _ => "failed: API, network or state",
                };
                let tries = if o.attempts > 1 { format!(", {} attempts", o.attempts) } else { String::new() };
                format!("{what} (exit {}{tries})", o.code)
            }
        };
        text.push_str(&format!("  {name:<width$}  {how}\n"));
    }
    text
}
