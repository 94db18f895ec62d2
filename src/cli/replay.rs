//! `engine replay`: a run's dead letters (after a mapping fix) or its raw archive (after a
//! mapping change) mapped again into a sink, exactly once (src/replay); what is still refused
//! goes to a new dead-letter file with its reason.

use super::load::{EXIT_CONFIG, EXIT_RUNTIME, load, report};
use super::run::{SinkKind, aws_ready, dead_letter_beside};
use super::run_report::{Report, error_line_as, info_line};
use crate::mapping::MapOptions;
use crate::replay::line::Kind;
use crate::replay::state::ReplayStore;
use crate::replay::{Input, ReplayOptions, ReplayOutputs, replay};
use crate::runner::checkpoint::CheckpointStore;
use crate::runner::retry::RetryPolicy;
use crate::sink::cloudwatch::rejected::RejectedFile;
use crate::sink::cloudwatch::retry::Backoff;
use crate::sink::cloudwatch::{CloudWatchOptions, CloudWatchSink};
use crate::sink::file::DEFAULT_ROTATE_BYTES;
use crate::sink::mark::{FileMark, absolute};
use crate::sink::{DeadLetterFile, FileSink, Sink, StdoutSink};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const WHO: &str = "engine replay";

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The source spec whose current mappings the records go through, then the input; with
    /// the input alone, the spec is sources/entrust.yaml.
    #[arg(value_name = "SPEC", required = true)]
    pub first: PathBuf,
    /// A dead-letter file of `engine run`, or its raw archive (`--archive`: the directory, or
    /// one `*.ndjson.gz` day file).
    #[arg(value_name = "INPUT")]
    pub second: Option<PathBuf>,
    /// Give a spec parameter a value.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Where events go (file, stdout or cloudwatch_logs).
    #[arg(long, value_enum, default_value = "file")]
    pub sink: SinkKind,
    /// The NDJSON file of the `file` sink; not the output of `engine run`, which cuts its file
    /// back to its checkpoint when it starts [default: ocsf-events.replayed.ndjson].
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Where records still refused go, with their reason [default: beside the output,
    /// `<name>.dead-letter.ndjson`].
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
    /// The state directory of the runs (the replay state is kept beside the checkpoint)
    /// [default: .engine-state].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Events per sink batch; the replay state advances after each acknowledged batch.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch_max_events: u64,
    /// Retries of a sink that asks for them before the replay gives up with exit code 3.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_retries: u32,
    #[command(flatten)]
    pub report: super::run_report::SummaryArgs,
}

fn config_error(message: impl AsRef<str>) -> ExitCode {
    error_line_as(WHO, &format!("error: {}", message.as_ref()));
    ExitCode::from(EXIT_CONFIG)
}

/// The inputs of `path`: a directory's archive day files, one day file, or a dead-letter file.
fn inputs(path: &Path) -> Result<Vec<Input>, String> {
    if !path.exists() {
        return Err(format!("`{}` does not exist", path.display()));
    }
    let kind = if crate::archive::is_archive(path) { Kind::Archive } else { Kind::DeadLetters };
    if path.is_dir() && kind == Kind::DeadLetters {
        return Err(format!("`{}` is a directory without archive day files (`YYYY-MM-DD.ndjson.gz`)", path.display()));
    }
    let files = crate::archive::day_files(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    Ok(files.into_iter().map(|f| Input { path: absolute(&f), kind, limit: None }).collect())
}

/// Whether `mark` (a run's committed state of a file) is about `path`.
fn marks(mark: Option<&serde_json::Value>, path: &Path) -> bool {
    mark.and_then(|m| serde_json::from_value::<FileMark>(m.clone()).ok()).is_some_and(|m| m.is_for(path))
}

/// The spec a replay without one uses: the bundled Entrust spec.
pub const DEFAULT_SPEC: &str = "sources/entrust.yaml";

impl ReplayArgs {
    /// The spec and the input: `SPEC INPUT`, or `INPUT` with the default spec.
    pub fn spec_and_input(&self) -> (PathBuf, PathBuf) {
        match &self.second {
            Some(input) => (self.first.clone(), input.clone()),
            None => (PathBuf::from(DEFAULT_SPEC), self.first.clone()),
        }
    }
}

pub fn run(args: ReplayArgs) -> ExitCode {
    let (spec_path, input_path) = args.spec_and_input();
    if args.sink == SinkKind::SecurityLake {
        return config_error("engine replay writes to --sink file, stdout or cloudwatch_logs");
    }
    if args.log_group.is_some() != (args.sink == SinkKind::CloudwatchLogs) {
        return config_error("--sink cloudwatch_logs and --log-group NAME go together");
    }
    let loaded = match load(&spec_path, &args.sets, MapOptions::default()) {
        Ok(l) => l,
        Err(diags) => {
            report(&diags);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let (spec, mappings) = (loaded.spec, loaded.mappings);
    let Some(stream) = spec.streams.first().cloned() else {
        return config_error(format!(
            "`{}` declares no `streams`; replay the records with `engine map`",
            spec_path.display()
        ));
    };
    let mut inputs = match inputs(&input_path) {
        Ok(i) => i,
        Err(e) => return config_error(e),
    };
    let output = args.output.clone().unwrap_or_else(|| PathBuf::from("ocsf-events.replayed.ndjson"));
    let dead_letter_path = args.dead_letter.clone().unwrap_or_else(|| dead_letter_beside(&output));
    let same = |a: &Path, b: &Path| crate::lock::resolve(a) == crate::lock::resolve(b);
    if inputs.iter().any(|i| same(&i.path, &dead_letter_path) || same(&i.path, &output)) {
        return config_error(format!(
            "`{}` is the input: give --output and --dead-letter other files",
            input_path.display()
        ));
    }
    for (path, flag) in [(&output, "--output"), (&dead_letter_path, "--dead-letter")] {
        if let Err(e) = super::preflight::not_a_directory(path, flag) {
            return config_error(e);
        }
    }
    let state_dir = args.state_dir.clone().unwrap_or_else(|| PathBuf::from(".engine-state"));
    let checkpoints = CheckpointStore::new(&state_dir, &spec.name, &stream.name);
    // The run's own files: never written by a replay (a run cuts them back to its checkpoint
    // when it starts); its dead-letter file is read only as far as it is committed.
    let run_cp = match checkpoints.load() {
        Ok(cp) => cp,
        Err(e) => return config_error(e),
    };
    if let Some(cp) = &run_cp {
        let theirs = |what: &str, path: &Path| {
            format!(
                "`{}` is the {what} of `engine run` (checkpoint `{}`), which cuts it back to its checkpoint when \
                 it starts; give this replay other files (--output, --dead-letter)",
                path.display(),
                checkpoints.path().display()
            )
        };
        if args.sink == SinkKind::File && marks(cp.sink.as_ref(), &output) {
            return config_error(theirs("output", &output));
        }
        if cp.dead_letters.as_ref().is_some_and(|m| m.is_for(&dead_letter_path)) {
            return config_error(theirs("dead-letter file", &dead_letter_path));
        }
        if let Some(mark) = &cp.dead_letters {
            for i in inputs.iter_mut().filter(|i| mark.is_for(&i.path)) {
                i.limit = Some(mark.offset);
            }
        }
    }
    let store = ReplayStore::beside(&checkpoints);
    let mut locks = Vec::new();
    let state_lock = crate::lock::file_lock_path(store.path());
    match crate::lock::acquire(
        &state_lock,
        &format!("the replay state `{}`", store.path().display()),
        "another --state-dir",
    ) {
        Ok(l) => locks.push(l),
        Err(e) => return config_error(e.to_string()),
    }
    let mut files = vec![(&dead_letter_path, "the dead-letter file", "another --dead-letter")];
    if args.sink == SinkKind::File {
        files.push((&output, "the output file", "another --output"));
    }
    for (path, what, instead) in files {
        match crate::lock::acquire_file(path, &format!("{what} `{}`", path.display()), instead) {
            Ok(l) => locks.extend(l),
            Err(e) => return config_error(e.to_string()),
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            error_line_as(WHO, &format!("error: cannot start the runtime: {e}"));
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let refused_stem = output.file_stem().map_or_else(|| "ocsf-events".into(), |s| s.to_string_lossy().into_owned());
    let refused_path = output.with_file_name(format!("{refused_stem}.cloudwatch-refused.ndjson"));
    runtime.block_on(async {
        let mut sink: Box<dyn Sink> = match args.sink {
            SinkKind::Stdout => Box::new(StdoutSink),
            SinkKind::CloudwatchLogs => {
                let options = CloudWatchOptions {
                    log_group: args.log_group.clone().unwrap_or_default(),
                    log_stream: args.log_stream.clone().unwrap_or_else(|| format!("{}-{}", spec.name, stream.name)),
                    create_group: args.create_log_group,
                    backoff: Backoff::default(),
                };
                let config = crate::aws::load_config(None).await;
                if let Err(code) = aws_ready(&config, "the CloudWatch Logs sink").await {
                    return code;
                }
                match CloudWatchSink::connect(&config, options, RejectedFile::new(&refused_path, false)).await {
                    Ok(s) => Box::new(s),
                    Err(e) => return config_error(e),
                }
            }
            _ => match FileSink::open(&output, DEFAULT_ROTATE_BYTES, false) {
                Ok(f) => Box::new(f),
                Err(e) => {
                    error_line_as(WHO, &format!("error: {e}"));
                    return ExitCode::from(EXIT_RUNTIME);
                }
            },
        };
        let mut dead_letters = DeadLetterFile::new(&dead_letter_path, false);
        let opts = ReplayOptions {
            batch_max_events: usize::try_from(args.batch_max_events).unwrap_or(1000),
            batch_max_bytes: crate::runner::RunOptions::default().batch_max_bytes,
            retry: RetryPolicy { max_retries: args.max_retries, ..RetryPolicy::default() },
        };
        let out = ReplayOutputs { sink: sink.as_mut(), dead_letters: &mut dead_letters, store: &store };
        let result = replay(&inputs, &mappings, &stream, out, &opts).await;
        let events_to = match (args.sink, &args.log_group) {
            (SinkKind::Stdout, _) => "standard output".to_string(),
            (SinkKind::CloudwatchLogs, Some(g)) => format!("CloudWatch Logs log group {g}"),
            _ => output.display().to_string(),
        };
        let report = Report {
            args: &args.report,
            who: WHO.into(),
            heading: String::new(),
            events_to,
            dead_letter_path: &dead_letter_path,
            refused_path: (args.sink == SinkKind::CloudwatchLogs).then_some(refused_path.as_path()),
            state: format!(
                "replay state `{}`: a second replay of the same input delivers nothing again",
                store.path().display()
            ),
            faults: None,
        };
        match result {
            Ok(done) => {
                if done.already > 0 && tracing::enabled!(tracing::Level::INFO) {
                    info_line(&format!("{} lines of the input were replayed before: skipped", done.already));
                }
                report.finished(&done.summary)
            }
            Err(failure) => report.failed(
                &failure.summary,
                &failure.message,
                &format!(
                    "what the sink acknowledged is recorded in `{}`; replay again to go on from there",
                    store.path().display()
                ),
            ),
        }
    })
}
