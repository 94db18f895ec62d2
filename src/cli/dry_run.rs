//! `engine run --dry-run`: reads one window from the API with the real credentials and
//! position, maps and validates it, and prints the plan, then each batch the sink would get and
//! the dead letters, on standard output. Nothing is written: the run works on a throw-away copy
//! of the checkpoint, which stays where it was.

use super::load::{EXIT_CONFIG, EXIT_RUNTIME};
use crate::mapping::MappingSet;
use crate::runner::checkpoint::{Checkpoint, CheckpointStore};
use crate::runner::journal::Journal;
use crate::runner::{Outputs, Prepared, RunOptions, run_stream};
use crate::sink::DeadLetterFile;
use crate::sink::preview::PreviewSink;
use crate::source::SourceSpec;
use crate::source::duration::format_duration;
use crate::source::stream::StreamSpec;
use crate::source::values::Params;
use std::path::Path;
use std::process::ExitCode;

/// What a dry run needs from `engine run`.
pub struct DryRun<'a> {
    pub spec: &'a SourceSpec,
    pub spec_path: &'a Path,
    pub stream: &'a StreamSpec,
    pub params: &'a Params,
    pub mappings: &'a MappingSet,
    pub prepared: &'a Prepared,
    pub store: &'a CheckpointStore,
    /// Where a real run would ship events.
    pub target: String,
    pub dead_letter_path: &'a Path,
    pub plain_http_on_loopback: bool,
}

/// The checkpoint's position only: the outputs' marks belong to the real run's files.
/// The checkpoint's position and delivered ids (those of its journal brought in, read only),
/// for a scratch state directory.
fn position_only(cp: &Checkpoint, store: &CheckpointStore) -> Result<Checkpoint, String> {
    let mut seen = cp.seen.clone();
    if let (Some(mark), Some(stem)) = (cp.journal, store.journal_stem()) {
        seen.extend(Journal::read_committed(&stem, mark)?);
    }
    Ok(Checkpoint { sink: None, dead_letters: None, archive: None, pending: None, journal: None, seen, ..cp.clone() })
}

pub async fn run(d: DryRun<'_>) -> ExitCode {
    let checkpoint = match d.store.load() {
        Ok(cp) => cp,
        Err(e) => {
            super::run_report::error_line(&e);
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let position = match &checkpoint {
        Some(cp) => format!("resume from {} (checkpoint {})", cp.watermark, d.store.path().display()),
        None => format!("first run: look back {}", format_duration(d.prepared.lookback)),
    };
    println!("# dry run: one window is read and mapped; nothing is written, the checkpoint stays");
    println!("# source:       {} ({})", d.spec.name, d.spec_path.display());
    println!("# stream:       {} {} {}", d.stream.name, d.stream.method, d.stream.path);
    println!("# api:          {}", d.prepared.base);
    println!("# position:     {position}");
    println!("# mappings:     {} from {}", d.mappings.mappings().len(), d.spec.mappings.display());
    println!("# events to:    {}", d.target);
    println!("# dead letters: {}", d.dead_letter_path.display());
    println!("# state:        {}", d.store.path().display());

    let scratch = std::env::temp_dir().join(format!("engine-dry-run-{}", std::process::id()));
    let result = async {
        let store = CheckpointStore::new(&scratch, &d.spec.name, &d.stream.name);
        if let Some(cp) = &checkpoint {
            store.save(&position_only(cp, d.store)?)?;
        }
        let mut sink = PreviewSink::new(d.target.clone());
        let mut dead = DeadLetterFile::new(&scratch.join("dead-letters.ndjson"), true);
        let opts = RunOptions {
            once: true,
            max_windows: Some(1),
            progress_every: None,
            plain_http_on_loopback: d.plain_http_on_loopback,
            ..RunOptions::default()
        };
        let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let outputs = Outputs { sink: &mut sink, dead_letters: &mut dead, store: &store };
        let run = run_stream(d.spec, d.stream, d.params, d.mappings, d.prepared, outputs, &opts, stop_rx).await;
        let dead_letters = std::fs::read_to_string(dead.path()).unwrap_or_default();
        Ok::<_, String>((run, dead_letters))
    }
    .await;
    let _ = std::fs::remove_dir_all(&scratch);
    match result {
        Ok((Ok(summary), dead_letters)) => {
            for line in dead_letters.lines() {
                println!("# dead letter: {line}");
            }
            println!(
                "# {} events in {} batches, {} dead letters, {} duplicates dropped, from {} pages of the window",
                summary.total_events(),
                summary.batches,
                summary.total_dead_letters(),
                summary.duplicates,
                summary.pages
            );
            if summary.total_dead_letters() > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
        }
        Ok((Err(failure), _)) => {
            super::run_report::error_line(&format!("error: {}", failure.message));
            ExitCode::from(EXIT_RUNTIME)
        }
        Err(e) => {
            super::run_report::error_line(&e.to_string());
            ExitCode::from(EXIT_CONFIG)
        }
    }
}
