//! `engine run SPEC` where the spec declares several streams: each stream runs in this process
//! as a task of its own, like the pipelines of a pipelines file, with its own checkpoint and
//! lock under `<state-dir>/<stream>/`, its own output files (`<output>.<stream>.ndjson`), its
//! own CloudWatch log stream (`<source>-<stream>`), a `pipeline` metrics label of its name and
//! a summary; one that fails is retried with backoff while the others go on, and the exit code
//! is the worst stream's.

use super::fleet::{Context, Outcome, backoff, code_of, gather};
use super::load::{EXIT_CONFIG, EXIT_RUNTIME, report};
use super::run::{RunArgs, SinkKind, plan, run_planned, serve_metrics};
use crate::diagnostic::{Diagnostic, ErrorKind};
use crate::metrics::Metrics;
use crate::source::SourceSpec;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::watch;
use tracing::Instrument;

/// Attempts of a failing stream with `--once` before it is given up.
const ONCE_ATTEMPTS: u32 = 3;

/// Flags that name one stream's destination or one run, which several streams cannot share.
fn shared_flags_refused(args: &RunArgs) -> Option<&'static str> {
    if args.log_stream.is_some() {
        Some("--log-stream names one log stream; leave it out: each stream writes to `<source>-<stream>`")
    } else if args.sink == SinkKind::Stdout {
        Some("--sink stdout cannot hold several streams' events apart; add --stream NAME, or use a file sink")
    } else if args.sink == SinkKind::SecurityLake {
        Some("the Security Lake sink takes one stream per source name; add --stream NAME and run one a stream")
    } else if args.dry_run {
        Some("--dry-run reads one stream; add --stream NAME")
    } else if args.simulate {
        Some("the simulator serves the Entrust spec, which has one stream; add --stream NAME")
    } else {
        None
    }
}

/// `path` with `.<stream>` before its extension: `out/events.ndjson` → `out/events.audit.ndjson`.
pub fn per_stream(path: &Path, stream: &str) -> PathBuf {
    let stem = path.file_stem().map_or_else(|| "ocsf-events".into(), |s| s.to_string_lossy().into_owned());
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{stream}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{stream}"),
    };
    path.with_file_name(name)
}

/// The arguments of one stream's run.
fn stream_args(base: &RunArgs, stream: &str) -> RunArgs {
    let mut args = base.clone();
    args.stream = Some(stream.to_string());
    args.metrics_addr = None;
    let state = base.state_dir.clone().unwrap_or_else(|| PathBuf::from(".engine-state"));
    args.state_dir = Some(state.join(stream));
    let output = base.output.clone().unwrap_or_else(|| PathBuf::from("ocsf-events.ndjson"));
    args.output = Some(per_stream(&output, stream));
    args.dead_letter = base.dead_letter.as_deref().map(|d| per_stream(d, stream));
    args
}

/// Runs one stream, and again after a failure with backoff: with `--once` up to
/// [`ONCE_ATTEMPTS`] times for API, network or state failures (not a configuration error),
/// otherwise until it succeeds or the process stops.
async fn keep_running(args: RunArgs, ctx: Context, once: bool) -> Outcome {
    let who = ctx.who();
    let mut stop = ctx.stop.clone().unwrap_or_else(|| watch::channel(false).1);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let code = match plan(args.clone()) {
            Ok(planned) => code_of(run_planned(planned, ctx.clone()).await),
            Err(exit) => code_of(exit),
        };
        let retry = code > 1 && !*stop.borrow() && (!once || (code != EXIT_CONFIG && attempts < ONCE_ATTEMPTS));
        if !retry {
            return Outcome { code, attempts };
        }
        let delay = backoff(attempts);
        eprintln!("{who}: failed (exit {code}); running it again in {} s (attempt {})", delay.as_secs(), attempts + 1);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return Outcome { code, attempts },
        }
    }
}

/// Runs every stream of `spec`.
pub fn run(args: RunArgs, spec: &SourceSpec) -> ExitCode {
    if let Some(problem) = shared_flags_refused(&args) {
        report(&[Diagnostic::new(ErrorKind::NotRunnable { reason: problem.into() })]);
        return ExitCode::from(EXIT_CONFIG);
    }
    let names: Vec<String> = spec.streams.iter().map(|s| s.name.clone()).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("engine run: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    runtime.block_on(supervise(args, names))
}

async fn supervise(args: RunArgs, names: Vec<String>) -> ExitCode {
    let metrics = Arc::new(Metrics::new());
    let _server = match serve_metrics(args.metrics_addr, &metrics, None).await {
        Ok(server) => server,
        Err(code) => return code,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let state = args.state_dir.clone().unwrap_or_else(|| PathBuf::from(".engine-state"));
    crate::runner::shutdown::watch_signals(
        stop_tx,
        format!("each stream resumes from its checkpoint under `{}/<stream>/`", state.display()),
    );
    if tracing::enabled!(tracing::Level::INFO) {
        eprintln!("engine run: {} streams of {}: {}", names.len(), args.spec.display(), names.join(", "));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, name) in names.iter().enumerate() {
        let ctx = Context {
            name: Some(name.clone()),
            stop: Some(stop_rx.clone()),
            metrics: Some(Arc::new(metrics.for_pipeline(name))),
            by_host: None,
            lease: None,
        };
        let span = tracing::info_span!(target: "ocsf_engine::pipeline", "pipeline", pipeline = name.as_str());
        let (one, once) = (stream_args(&args, name), args.once);
        tasks.spawn(async move { (i, keep_running(one, ctx, once).await) }.instrument(span));
    }
    gather("streams", &names, tasks).await
}

#[cfg(test)]
mod tests {
    use super::per_stream;
    use std::path::{Path, PathBuf};

    #[test]
    fn each_stream_has_files_of_its_own() {
        assert_eq!(per_stream(Path::new("out/events.ndjson"), "audit"), PathBuf::from("out/events.audit.ndjson"));
        assert_eq!(per_stream(Path::new("events"), "signins"), PathBuf::from("events.signins"));
    }
}
