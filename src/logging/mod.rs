//! Logging: `tracing` events written to standard error as text or JSON lines, at a level set by
//! `-q` (warnings and errors), the default (info) or `-v`/`-vv` (debug, trace). Progress events
//! (target [`PROGRESS`]) become a redrawn progress line on a terminal and ordinary log lines
//! elsewhere, so that a run under a scheduler logs its progress and a person sees a bar.

pub mod console;
mod progress;

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::Level;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

pub use progress::{PIPELINE_SPAN, ProgressLine};

/// The target of progress events: fields `stream`, `covered_ms`, `total_ms`, `events`,
/// `per_second`, `retries`.
pub const PROGRESS: &str = "engine::progress";

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-03-01T10:00:00.000Z  INFO message key=value`.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`).
    Json,
}

/// The logging flags every command takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LogArgs {
    /// More detail: -v the engine's debug lines (each API request), -vv its trace lines and the
    /// HTTP and AWS libraries' debug lines.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only warnings and errors: no progress, no summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// How log lines are written.
    #[arg(long, value_enum, default_value_t, global = true)]
    pub log_format: LogFormat,
}

impl LogArgs {
    pub fn level(&self) -> Level {
        match (self.quiet, self.verbose) {
            (true, _) => Level::WARN,
            (false, 0) => Level::INFO,
            (false, 1) => Level::DEBUG,
            _ => Level::TRACE,
        }
    }
}

/// Standard error, clearing a drawn progress line before a log line is written over it.
#[derive(Clone)]
struct Stderr {
    bar_drawn: Arc<AtomicBool>,
}

impl std::io::Write for Stderr {
    /// A line that cannot be written (standard error closed) is dropped, never an error that
    /// would end the run.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut err = std::io::stderr().lock();
        if self.bar_drawn.swap(false, Ordering::Relaxed) {
            let _ = err.write_all(b"\r\x1b[2K");
        }
        let _ = err.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Stderr;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the process-wide subscriber. A second call does nothing.
pub fn init(args: &LogArgs) {
    let level = args.level();
    let bar = args.log_format == LogFormat::Text && level <= Level::INFO && std::io::stderr().is_terminal();
    let bar_drawn = Arc::new(AtomicBool::new(false));
    let writer = Stderr { bar_drawn: Arc::clone(&bar_drawn) };
    let ours = |target: &str| target.starts_with("ocsf_engine") || target.starts_with("engine");
    let keep = move |meta: &tracing::Metadata<'_>| {
        // Libraries' trace lines may carry request or response bodies: never shown.
        let libraries = if level == Level::TRACE { Level::DEBUG } else { Level::INFO };
        let shown = if ours(meta.target()) { level } else { libraries.min(level) };
        *meta.level() <= shown && !(bar && meta.target() == PROGRESS)
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(bar)
        .with_target(false)
        .log_internal_errors(false);
    let fmt = match args.log_format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.with_target(true).json().flatten_event(true).with_current_span(false).boxed(),
    };
    let progress = bar.then(|| {
        ProgressLine::new(bar_drawn)
            .with_filter(filter_fn(|m| m.target() == PROGRESS || (m.is_span() && m.name() == progress::PIPELINE_SPAN)))
    });
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::from_level(level))
        .with(fmt.with_filter(filter_fn(keep)))
        .with(progress);
    let _ = tracing::subscriber::set_global_default(subscriber);
}
