//! `engine run`: pulls a source's stream into a sink with checkpoints; `--simulate` pulls from
//! the built-in simulator over loopback HTTP, `--once` catches up and prints a summary.

use super::dry_run::DryRun;
use super::load::{EXIT_CONFIG, EXIT_RUNTIME, report};
use super::run_report::{Report, error_line, error_line_as, info_line};
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind};
use crate::mapping::{MapOptions, MappingSet};
use crate::runner::checkpoint::CheckpointStore;
use crate::runner::retry::RetryPolicy;
use crate::runner::shutdown::watch_signals;
use crate::runner::{Outputs, ParamsRefresh, RunOptions, prepare, run_stream};
use crate::simulator::{DEMO_APPLICATION_ID, DEMO_SHARED_SECRET, SimConfig, parse_fault_list};
use crate::sink::cloudwatch::rejected::RejectedFile;
use crate::sink::cloudwatch::retry::Backoff;
use crate::sink::cloudwatch::{CloudWatchOptions, CloudWatchSink};
use crate::sink::security_lake::SecurityLakeSink;
use crate::sink::{DeadLetterFile, FileSink, Sink, StdoutSink};
use crate::source::values::run_params;
use crate::source::{SourceSpec, parse_sets};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "snake_case")]
pub enum SinkKind {
    File,
    Stdout,
    CloudwatchLogs,
    SecurityLake,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// The source spec (e.g. sources/entrust.yaml).
    pub spec: PathBuf,
    /// Pull from the built-in Entrust IDaaS simulator on loopback instead of a tenant.
    #[arg(long)]
    pub simulate: bool,
    /// Give a spec parameter a value (`--set hostname=acme.us.trustedauth.com`); values may be
    /// read at run time, quoted for the shell: `--set 'client_secret=${{env:NAME}}'`,
    /// `'…=${{file:PATH}}'` or `'…=${{aws_secrets:NAME:KEY}}'`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Run this stream of the spec only [default: every stream; a spec of several runs each
    /// as a task of its own, with its state under `<state-dir>/<stream>/`].
    #[arg(long, value_name = "NAME")]
    pub stream: Option<String>,
    /// Where events go.
    #[arg(long, value_enum, default_value = "file")]
    pub sink: SinkKind,
    /// The NDJSON file of the `file` sink [default: ocsf-events.ndjson].
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Dead letters file [default: beside the output, `<name>.dead-letter.ndjson`].
    #[arg(long, value_name = "PATH")]
    pub dead_letter: Option<PathBuf>,
    /// The CloudWatch Logs log group (with `--sink cloudwatch_logs`).
    #[arg(long, value_name = "NAME")]
    pub log_group: Option<String>,
    /// With `--sink cloudwatch_logs`: create the log group when it does not exist.
    #[arg(long)]
    pub create_log_group: bool,
    /// With `--sink cloudwatch_logs`: the log stream [default: `<source>-<stream>`].
    #[arg(long, value_name = "NAME")]
    pub log_stream: Option<String>,
    #[command(flatten)]
    pub lake: super::security_lake::LakeArgs,
    /// Keep every raw record taken from the API in this directory, gzip-compressed NDJSON, one
    /// file per UTC day of the record's time (`YYYY-MM-DD.ndjson.gz`), committed with the
    /// checkpoint; `engine map` and `engine replay` read it back. Never pruned by the engine.
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// Where checkpoints are kept [default: .engine-state; with --simulate (not --simulate-at),
    /// a temporary directory removed at the end].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Catch up to now, print a summary and exit (default: keep polling until Ctrl-C).
    #[arg(long)]
    pub once: bool,
    /// Read one window from the API, map and validate it, and print the plan, the OCSF events
    /// and the batches the sink would get; write nothing and leave the checkpoint as it is.
    #[arg(long)]
    pub dry_run: bool,
    /// Load the mapping files again between batches when they change; an edit that does not
    /// load is reported and the mappings in force stay.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between progress reports [default: 1 on a terminal (a redrawn line), 10
    /// elsewhere (a log line)].
    #[arg(long, value_name = "SECS")]
    pub progress_interval: Option<u64>,
    /// Serve Prometheus metrics at http://HOST:PORT/metrics while running.
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// With --simulate: number of simulated audit events.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub simulate_events: usize,
    /// With --simulate: faults to inject (see `engine simulate --help`), e.g. `all`.
    #[arg(long, value_name = "LIST", default_value = "")]
    pub simulate_faults: String,
    /// Pull from a simulator already running at this loopback address (e.g. one started by
    /// `engine simulate --port N`) instead of starting one; implies --simulate.
    #[arg(long, value_name = "HOST:PORT")]
    pub simulate_at: Option<std::net::SocketAddr>,
    /// Events per sink batch; the checkpoint advances after each acknowledged batch.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch_max_events: u64,
    /// Retries of a failing API call (429, 5xx, timeouts, resets) before the run gives up
    /// with exit code 3.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_retries: u32,
    /// Windows read at once during a catch-up (each with its own cursor, delivered in order);
    /// overrides the stream's `concurrency` (default 1). Requests to one host share one budget
    /// that halves on 429 and recovers.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub concurrency: Option<u64>,
    /// At concurrency 1, send only the requests the run needs, one after the other: no page
    /// is fetched ahead while the current one is delivered (by default the next one is).
    #[arg(long)]
    pub no_read_ahead: bool,
    #[command(flatten)]
    pub report: super::run_report::SummaryArgs,
    #[command(flatten)]
    pub rotate: crate::sink::rotate::RotateArgs,
    /// The longest pause a `Retry-After` answer gets, in seconds; a longer one is cut to this
    /// (with a warning).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub max_retry_after: u64,
    #[command(flatten)]
    pub coord: super::coordinated::CoordArgs,
}

/// The simulator a `--simulate` run pulls from.
enum Simulator {
    /// Started by this run, stopped at its end.
    Own(crate::simulator::SimHandle),
    /// Already running (`--simulate-at`).
    At(std::net::SocketAddr),
}

impl Simulator {
    fn addr(&self) -> std::net::SocketAddr {
        match self {
            Simulator::Own(s) => s.addr(),
            Simulator::At(a) => *a,
        }
    }
}

fn config_error(message: impl Into<String>, help: Option<String>) -> ExitCode {
    report(&[Diagnostic::new(ErrorKind::NotRunnable { reason: message.into() }).help_opt(help)]);
    ExitCode::from(EXIT_CONFIG)
}

/// Serves `metrics` at `addr` when one is given; `Err` (reported) when it cannot.
pub(super) async fn serve_metrics(
    addr: Option<std::net::SocketAddr>,
    metrics: &std::sync::Arc<crate::metrics::Metrics>,
    health: Option<&std::sync::Arc<crate::metrics::Health>>,
) -> Result<Option<crate::metrics::MetricsServer>, ExitCode> {
    let Some(addr) = addr else { return Ok(None) };
    match crate::metrics::serve_with_health(addr, std::sync::Arc::clone(metrics), health.cloned()).await {
        Ok(server) => {
            tracing::info!("metrics at http://{}/metrics", server.addr);
            Ok(Some(server))
        }
        Err(e) => {
            error_line(&format!("cannot serve metrics on {addr}: {e}"));
            Err(ExitCode::from(EXIT_CONFIG))
        }
    }
}

/// `<dir>/<stem>.dead-letter.ndjson` beside `output`.
pub(super) fn dead_letter_beside(output: &Path) -> PathBuf {
    let stem = output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "ocsf-events".into());
    output.with_file_name(format!("{stem}.dead-letter.ndjson"))
}

/// Runs a pipeline file as its source spec: its values come before `--set` (which wins), its
/// sink applies unless `--sink stdout`, an `--output` file or another `--log-group` was asked for. With `--simulate` the simulator's own
/// credentials replace the pipeline's.
pub(super) fn apply_pipeline(args: &mut RunArgs, p: crate::source::pipeline::PipelineRun) {
    let mut sets: Vec<String> = p
        .sets
        .into_iter()
        .filter(|(k, _)| !(args.simulate && (k == "client_id" || k == "client_secret")))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    sets.append(&mut args.sets);
    args.sets = sets;
    args.spec = p.spec;
    if args.concurrency.is_none() {
        args.concurrency = p.concurrency;
    }
    if let Some(group) = p.log_group
        && args.log_group.is_none()
        && args.output.is_none()
        && args.sink == SinkKind::File
    {
        args.sink = SinkKind::CloudwatchLogs;
        args.log_group = Some(group);
    }
    if let Some(path) = p.output
        && args.output.is_none()
        && args.sink == SinkKind::File
    {
        args.output = Some(path);
    }
    if let Some(lake) = p.lake
        && args.output.is_none()
        && args.sink == SinkKind::File
    {
        args.sink = SinkKind::SecurityLake;
        super::security_lake::apply_pipeline_lake(&mut args.lake, lake);
    }
}

/// The output and dead-letter paths the run will write, refused now when one is a directory.
fn check_output_paths(args: &RunArgs) -> Result<(), String> {
    use super::preflight::not_a_directory;
    let default_output = if args.simulate { "ocsf-events.simulated.ndjson" } else { "ocsf-events.ndjson" };
    let output = args.output.clone().unwrap_or_else(|| PathBuf::from(default_output));
    if args.sink == SinkKind::File {
        not_a_directory(&output, "--output")?;
    }
    let dead_letter = args.dead_letter.clone().unwrap_or_else(|| dead_letter_beside(&output));
    not_a_directory(&dead_letter, "--dead-letter")?;
    match &args.archive {
        Some(dir) if dir.exists() && !dir.is_dir() => {
            Err(format!("--archive `{}` is a file; give a directory (it is created when missing)", dir.display()))
        }
        _ => Ok(()),
    }
}

/// A region and credentials for an AWS sink, or the exit code after saying what to set.
pub(super) async fn aws_ready(config: &aws_config::SdkConfig, what: &str) -> Result<(), ExitCode> {
    crate::aws::preflight::check(config, what).await.map_err(|e| {
        error_line(&format!("error: {e}"));
        ExitCode::from(if e.is_configuration() { EXIT_CONFIG } else { EXIT_RUNTIME })
    })
}

pub fn run(mut args: RunArgs) -> ExitCode {
    if let Some(addr) = args.simulate_at {
        if !addr.ip().is_loopback() {
            return config_error(
                format!("--simulate-at {addr}: a simulator is reached on loopback only"),
                Some("start one with `engine simulate --port N` and pass --simulate-at 127.0.0.1:N".into()),
            );
        }
        if !args.simulate_faults.is_empty() {
            return config_error(
                "--simulate-faults applies to the built-in simulator; pass --faults to `engine simulate`",
                None,
            );
        }
        args.simulate = true;
    }
    // A pipeline file of one pipeline names it (the unit a fleet shares) after itself.
    let mut pipeline_name = None;
    match crate::source::pipelines::shape(&args.spec) {
        crate::source::pipelines::Shape::Many => return super::fleet::run(args),
        crate::source::pipelines::Shape::Single => match crate::source::pipeline::load(&args.spec) {
            Ok(p) => {
                pipeline_name = args.spec.file_stem().map(|s| s.to_string_lossy().into_owned());
                apply_pipeline(&mut args, p)
            }
            Err(e) => return config_error(e, None),
        },
        crate::source::pipelines::Shape::Spec => {
            if args.stream.is_none()
                && let Ok(spec) = SourceSpec::load(&args.spec)
                && spec.streams.len() > 1
            {
                return super::streams::run(args, &spec);
            }
        }
    }
    let mut planned = match plan(args) {
        Ok(p) => p,
        Err(code) => return code,
    };
    planned.unit = pipeline_name;
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            error_line(&format!("cannot start the runtime: {e}"));
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    runtime.block_on(run_planned(planned, super::fleet::Context::default()))
}

/// A run checked as far as it can be before it starts: its flags, its spec and its stream.
pub(super) struct Planned {
    args: RunArgs,
    spec: SourceSpec,
    stream: crate::source::stream::StreamSpec,
    sets: Vec<(String, String)>,
    lake: Option<crate::sink::security_lake::config::SecurityLakeOptions>,
    faults: std::collections::BTreeSet<crate::simulator::Fault>,
    /// The name of the unit a fleet shares (the pipeline), when it is not the spec's name.
    pub(super) unit: Option<String>,
}

/// Checks the flags, loads the spec and picks its stream; `Err` is the exit code, the
/// problem already reported.
pub(super) fn plan(args: RunArgs) -> Result<Planned, ExitCode> {
    if args.log_group.is_some() && args.sink != SinkKind::CloudwatchLogs {
        return Err(config_error("--log-group needs --sink cloudwatch_logs", None));
    }
    if args.sink == SinkKind::CloudwatchLogs && args.log_group.is_none() {
        return Err(config_error("--sink cloudwatch_logs needs --log-group NAME", None));
    }
    if args.lake.any_given() && args.sink != SinkKind::SecurityLake {
        return Err(config_error(
            "--bucket, --region, --account-id, --source-name, --flush-interval and --max-object-size need --sink security_lake",
            None,
        ));
    }
    if let Err(e) = args.coord.check(args.sink, args.dry_run) {
        return Err(config_error(e, None));
    }
    if let Err(e) = check_output_paths(&args) {
        return Err(config_error(e, Some("give --output and --dead-letter file names (a new file is created)".into())));
    }
    let mut diags = Diagnostics::default();
    let sets = parse_sets(&args.sets, &mut diags);
    if !diags.is_empty() {
        report(&diags.0);
        return Err(ExitCode::from(EXIT_CONFIG));
    }
    let spec = match SourceSpec::load(&args.spec) {
        Ok(s) => s,
        Err(d) => {
            report(&d);
            return Err(ExitCode::from(EXIT_CONFIG));
        }
    };
    let stream = match (spec.streams.as_slice(), &args.stream) {
        ([], _) => {
            return Err(config_error(
                format!("`{}` declares no `streams`; it can be used offline by `engine map` only", args.spec.display()),
                None,
            ));
        }
        (streams, Some(name)) => match streams.iter().find(|s| &s.name == name) {
            Some(s) => s.clone(),
            None => {
                let names: Vec<&str> = streams.iter().map(|s| s.name.as_str()).collect();
                let closest = crate::diagnostic::did_you_mean(name, names.iter().copied());
                let help = match closest {
                    Some(c) => format!("did you mean `{c}`? the spec's streams: {}", names.join(", ")),
                    None => format!("the spec's streams: {}", names.join(", ")),
                };
                return Err(config_error(
                    format!("--stream {name}: `{}` has no such stream", args.spec.display()),
                    Some(help),
                ));
            }
        },
        ([one], None) => one.clone(),
        (streams, None) => {
            let names: Vec<&str> = streams.iter().map(|s| s.name.as_str()).collect();
            return Err(config_error(
                format!("`{}` has several streams ({}): name one", args.spec.display(), names.join(", ")),
                Some("add --stream NAME, or run the spec on its own: every stream then runs".into()),
            ));
        }
    };
    let lake = match args.sink {
        SinkKind::SecurityLake => match args.lake.options(&spec.name, &stream.name) {
            Ok(o) => Some(o),
            Err(problems) => return Err(config_error(problems.join("; "), None)),
        },
        _ => None,
    };
    let faults = match parse_fault_list(&args.simulate_faults) {
        Ok(f) => f,
        Err(e) => return Err(config_error(format!("--simulate-faults: {e}"), None)),
    };
    Ok(Planned { args, spec, stream, sets, lake, faults, unit: None })
}

/// Runs a planned run to its end; `ctx` says whether it is one pipeline of several.
pub(super) async fn run_planned(planned: Planned, ctx: super::fleet::Context) -> ExitCode {
    let Planned { args, spec, mut stream, mut sets, lake, faults, unit } = planned;
    let who = ctx.who();
    async move {
        // The simulator, when asked for, and the parameters that point at it.
        let mut sim = None;
        if args.simulate {
            let settle = stream.settle_delay + Duration::from_secs(5);
            let config = SimConfig {
                events: args.simulate_events,
                end_time: Some(std::time::SystemTime::now() - settle),
                faults: super::simulate_demo::fault_config(faults.clone()),
                ..SimConfig::default()
            };
            super::simulate_demo::shape_stream(&mut stream, &faults);
            let started = match args.simulate_at {
                Some(addr) => Ok(Simulator::At(addr)),
                None => crate::simulator::start(config).await.map(Simulator::Own),
            };
            match started {
                Ok(s) => {
                    let has = |name: &str| spec.params.iter().any(|p| p.name == name);
                    let given = |sets: &[(String, String)], name: &str| sets.iter().any(|(k, _)| k == name);
                    // One of several pipelines keeps its own hostname: the simulator tells its
                    // tenants apart by it.
                    let mut extra = Vec::new();
                    if ctx.by_host.is_none() {
                        extra.push(("hostname", s.addr().to_string()));
                    }
                    extra.push(("client_id", DEMO_APPLICATION_ID.to_string()));
                    extra.push(("client_secret", DEMO_SHARED_SECRET.to_string()));
                    // The simulated tenant holds the last day.
                    extra.push(("range", "P2D".to_string()));
                    for (k, v) in extra {
                        if has(k) && (k == "hostname" || !given(&sets, k)) {
                            sets.retain(|(key, _)| key != k);
                            sets.push((k.to_string(), v));
                        }
                    }
                    if tracing::enabled!(tracing::Level::INFO) && ctx.name.is_none() {
                        match &s {
                            Simulator::Own(own) => info_line(&format!(
                                "simulated Entrust IDaaS tenant at {} ({} events)",
                                own.base_url(),
                                args.simulate_events
                            )),
                            Simulator::At(addr) => {
                                info_line(&format!("simulated Entrust IDaaS tenant at http://{addr}"))
                            }
                        }
                    }
                    sim = Some(s);
                }
                Err(e) => {
                    error_line_as(&who, &format!("cannot start the simulator: {e}"));
                    return ExitCode::from(EXIT_RUNTIME);
                }
            }
        }
        let params = match run_params(&spec, &sets, (!args.simulate).then_some("or use --simulate")) {
            Ok(p) => p,
            Err(d) => {
                report(&d);
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        let prepared = match prepare(&spec, &stream, &params, args.simulate).map(|p| ctx.route(p)) {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return config_error(e, None),
            Err(d) => {
                report(&d);
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        let mappings = match MappingSet::load(&spec.mappings, &params.public(), MapOptions::default()) {
            Ok(m) => m,
            Err(d) => {
                report(&d);
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        // Outputs and state.
        // Only a simulator of this run's own starts afresh each time; one that is already
        // running (`--simulate-at`) keeps its records, so its state is kept like a tenant's.
        let fresh = args.simulate && args.simulate_at.is_none() && args.state_dir.is_none();
        let temp_state = fresh.then(|| std::env::temp_dir().join(format!("engine-simulate-{}", std::process::id())));
        let state_dir = args.state_dir.clone().or(temp_state.clone()).unwrap_or_else(|| PathBuf::from(".engine-state"));
        let default_output = if args.simulate { "ocsf-events.simulated.ndjson" } else { "ocsf-events.ndjson" };
        let output = args.output.clone().unwrap_or_else(|| PathBuf::from(default_output));
        let dead_letter_path = args.dead_letter.clone().unwrap_or_else(|| match args.sink {
            SinkKind::Stdout => PathBuf::from("ocsf-events.dead-letter.ndjson"),
            _ => dead_letter_beside(&output),
        });
        let store = CheckpointStore::new(&state_dir, &spec.name, &stream.name);
        // Where events go, for messages.
        let where_to = match (args.sink, &args.log_group) {
            (SinkKind::Stdout, _) => "standard output".to_string(),
            (SinkKind::CloudwatchLogs, Some(g)) => format!("CloudWatch Logs log group {g}"),
            (SinkKind::SecurityLake, _) => {
                format!("Security Lake s3://{}/ext/", args.lake.bucket.as_deref().unwrap_or(""))
            }
            _ => output.display().to_string(),
        };
        if args.dry_run {
            return super::dry_run::run(DryRun {
                spec: &spec,
                spec_path: &args.spec,
                stream: &stream,
                params: &params,
                mappings: &mappings,
                prepared: &prepared,
                store: &store,
                target: where_to,
                dead_letter_path: &dead_letter_path,
                plain_http_on_loopback: args.simulate,
            })
            .await;
        }
        // One run at a time owns the state directory and writes the output files.
        let _locks = match super::run_state::take(&state_dir, args.sink, &output, &dead_letter_path) {
            Ok(locks) => locks,
            Err(e) => {
                error_line_as(&who, &format!("error: {e}"));
                // Another run holds it, or one file named twice: a usage error; a lock that
                // cannot be made: the state.
                let held = matches!(
                    e.kind,
                    crate::lock::LockErrorKind::Held { .. } | crate::lock::LockErrorKind::SameFile { .. }
                );
                return ExitCode::from(if held { EXIT_CONFIG } else { EXIT_RUNTIME });
            }
        };
        // One of several pipelines archives in a directory of its own.
        let archive = args.archive.as_ref().map(|d| ctx.name.as_ref().map_or_else(|| d.clone(), |n| d.join(n)));
        let _archive_lock = match archive.as_deref().map(super::run_state::take_archive).transpose() {
            Ok(lock) => lock,
            Err(e) => {
                error_line_as(&who, &format!("error: {e}"));
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        let unit = ctx.name.clone().or(unit).unwrap_or_else(|| spec.name.clone());
        let checkpoint_at = args.coord.location(&unit, &spec.name, &stream.name);
        let resume_note =
            super::run_state::resume_note(temp_state.is_some(), checkpoint_at.as_deref().unwrap_or(store.path()));
        let refused_stem =
            output.file_stem().map_or_else(|| "ocsf-events".into(), |s| s.to_string_lossy().into_owned());
        let refused_kind = if args.sink == SinkKind::SecurityLake { "security-lake" } else { "cloudwatch" };
        let refused_path = output.with_file_name(format!("{refused_stem}.{refused_kind}-refused.ndjson"));
        let mut sink: Box<dyn Sink> = match args.sink {
            SinkKind::Stdout => Box::new(StdoutSink),
            SinkKind::CloudwatchLogs => {
                let options = CloudWatchOptions {
                    log_group: args.log_group.clone().unwrap_or_default(),
                    log_stream: args.log_stream.clone().unwrap_or_else(|| format!("{}-{}", spec.name, stream.name)),
                    create_group: args.create_log_group,
                    backoff: Backoff::default(),
                };
                let refused = RejectedFile::new(&refused_path, false);
                let config = crate::aws::load_config(None).await;
                if let Err(code) = aws_ready(&config, "the CloudWatch Logs sink").await {
                    return code;
                }
                match CloudWatchSink::connect(&config, options, refused).await {
                    Ok(s) => Box::new(s),
                    Err(e) => {
                        error_line_as(&who, &e);
                        let missing = e.contains("does not exist");
                        return ExitCode::from(if missing { EXIT_CONFIG } else { EXIT_RUNTIME });
                    }
                }
            }
            SinkKind::SecurityLake => {
                let options = lake.clone().unwrap_or_else(|| unreachable!("options checked above"));
                let config = crate::aws::load_config(Some(&options.region)).await;
                if let Err(code) = aws_ready(&config, "the Security Lake sink").await {
                    return code;
                }
                let refused = RejectedFile::of_sink(&refused_path, false, "security_lake", "source_name");
                Box::new(SecurityLakeSink::connect(&config, options, refused))
            }
            _ => match FileSink::open(&output, args.rotate.rotate_size, fresh && args.output.is_none()) {
                Ok(f) => Box::new(f.with_keep(args.rotate.rotate_keep)),
                Err(e) => {
                    error_line_as(&who, &e);
                    return ExitCode::from(EXIT_RUNTIME);
                }
            },
        };
        let mut dead_letters = DeadLetterFile::new(&dead_letter_path, fresh && args.dead_letter.is_none());
        // One of several pipelines stops with the others, on the signal its supervisor watches.
        let (stop_tx, own_stop) = tokio::sync::watch::channel(false);
        let stop_rx = match ctx.stop.clone() {
            Some(rx) => rx,
            None => {
                watch_signals(stop_tx.clone(), resume_note.clone());
                own_stop
            }
        };
        // With a shared store: this run's lease (taken here, or by the scheduler of a worker of
        // several pipelines), fenced checkpoint and lease-checked sink.
        let names = (spec.name.as_str(), stream.name.as_str());
        let joined = match &ctx.lease {
            Some(held) => {
                super::coordinated::attach(held, &args.coord, &unit, names, &state_dir, stop_rx.clone()).await
            }
            None => super::coordinated::join(&args.coord, &unit, names, &state_dir, stop_tx, stop_rx.clone()).await,
        };
        let joined = match joined {
            Ok(j) => j,
            Err(code) => return code,
        };
        let store = joined.as_ref().map_or(store, |j| j.store.clone());
        if let Some(j) = &joined {
            sink = j.fence_sink(sink);
        }
        crate::sink::rotate::watch_sighup();
        // Credentials read from Secrets Manager, a file or the environment are read again when
        // the API refuses a login, so that a rotation does not need a restart.
        let refresh_params = sets.iter().any(|(_, v)| v.contains("${{")).then(|| {
            let (spec, sets) = (spec.clone(), sets.clone());
            ParamsRefresh(std::sync::Arc::new(move || {
                crate::aws::secrets::global().forget_all();
                run_params(&spec, &sets, None)
                    .map_err(|d| d.iter().map(|d| d.kind.to_string()).collect::<Vec<_>>().join("; "))
            }))
        });
        let metrics = std::sync::Arc::new(crate::metrics::Metrics::new());
        let health = std::sync::Arc::new(crate::metrics::Health::new(stream.poll_interval));
        let _metrics_server = match serve_metrics(args.metrics_addr, &metrics, Some(&health)).await {
            Ok(server) => server,
            Err(code) => return code,
        };
        let progress_every = if !tracing::enabled!(target: crate::logging::PROGRESS, tracing::Level::INFO) {
            None
        } else if let Some(secs) = args.progress_interval {
            Some(Duration::from_secs(secs))
        } else if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            Some(Duration::from_secs(1))
        } else {
            Some(Duration::from_secs(10))
        };
        let watch = args.watch.then(|| {
            let (dir, public) = (spec.mappings.clone(), params.public());
            let reload = crate::runner::reload::Reload(std::sync::Arc::new(move || {
                MappingSet::load(&dir, &public, MapOptions::default()).map_err(|d| crate::diagnostic::render_all(&d))
            }));
            (spec.mappings.clone(), reload)
        });
        // Security Lake objects are cut by size and written by the flush interval, not by count.
        let (batch_max_events, batch_max_bytes) = match &lake {
            Some(o) => (usize::MAX, o.max_object_bytes),
            None => (usize::try_from(args.batch_max_events).unwrap_or(1000), RunOptions::default().batch_max_bytes),
        };
        let opts = RunOptions {
            once: args.once,
            progress_every,
            watch,
            metrics: ctx.metrics.clone().or(args.metrics_addr.is_some().then_some(metrics)),
            health: args.metrics_addr.is_some().then_some(health),
            plain_http_on_loopback: args.simulate,
            resolve: ctx.by_host,
            refresh_params,
            batch_max_events,
            batch_max_bytes,
            archive,
            retry: RetryPolicy {
                max_retries: args.max_retries,
                max_retry_after: Duration::from_secs(args.max_retry_after),
                ..RetryPolicy::default()
            },
            concurrency: args.concurrency.map(|n| n as usize),
            read_ahead: !args.no_read_ahead,
            ..RunOptions::default()
        };
        let outputs = Outputs { sink: sink.as_mut(), dead_letters: &mut dead_letters, store: &store };
        let result = run_stream(&spec, &stream, &params, &mappings, &prepared, outputs, &opts, stop_rx).await;
        if let Some(j) = joined {
            j.finish(result.is_ok()).await;
        }
        let mut fault_report = None;
        if let Some(Simulator::Own(s)) = sim {
            fault_report = super::simulate_demo::fault_report(&faults, &s.fault_counts());
            s.shutdown().await;
        }
        if let Some(dir) = &temp_state {
            let _ = std::fs::remove_dir_all(dir);
        }
        let report = Report {
            args: &args.report,
            who: who.clone(),
            heading: ctx.heading(),
            events_to: where_to,
            dead_letter_path: &dead_letter_path,
            refused_path: matches!(args.sink, SinkKind::CloudwatchLogs | SinkKind::SecurityLake)
                .then_some(refused_path.as_path()),
            state: resume_note,
            faults: fault_report,
        };
        match result {
            Ok(summary) => report.finished(&summary),
            Err(failure) => report.failed(
                &failure.summary,
                &failure.message,
                &super::run_state::after_failure(&store, temp_state.is_some()),
            ),
        }
    }
    .await
}
