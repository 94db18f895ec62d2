//! Stopping a run on SIGINT (Ctrl-C) or SIGTERM: the first signal asks the run to stop after
//! the batch in flight (it is acknowledged and checkpointed, the summary printed); if that
//! takes longer than [`GRACE`], or a second signal comes, the process exits at once. Exiting
//! mid-batch loses and repeats nothing: the next run undoes or recognises what the
//! uncommitted batch left behind, as after a crash.

use std::time::Duration;
use tokio::sync::watch;

/// How long a stopping run may take to finish its batch in flight.
pub const GRACE: Duration = Duration::from_secs(8);

/// Exit code when the run is abandoned rather than finished (128 + SIGINT).
pub const EXIT_ABANDONED: i32 = 130;

/// The next SIGINT or SIGTERM; `Err` when signals cannot be watched.
async fn stop_signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
    }
}

/// A line about a signal: `engine run: {text}`, or a JSON line with `--log-format json`.
fn say(level: &str, text: &str) {
    use crate::logging::structured;
    if structured::json() {
        structured::emit(&structured::object(level, "engine::run", text, serde_json::Map::new()));
    } else {
        eprintln!("engine run: {text}");
    }
}

/// Watches for stop signals for as long as the runtime lives: sets `stop` on the first, and
/// exits the process after [`GRACE`] or on a second one. `resume` says where the next run
/// starts from (the checkpoint and its path, or that no state is kept).
pub fn watch_signals(stop: watch::Sender<bool>, resume: String) {
    tokio::spawn(async move {
        let Ok(name) = stop_signal().await else { return };
        say(
            "WARN",
            &format!(
                "{name}: stopping after the batch in flight (at most {} s; a second signal stops at once)",
                GRACE.as_secs()
            ),
        );
        let _ = stop.send(true);
        tokio::select! {
            _ = stop_signal() => say("ERROR", &format!("stopped at once; {resume}")),
            _ = tokio::time::sleep(GRACE) => say(
                "ERROR",
                &format!("the batch in flight did not finish within {} s; abandoned; {resume}", GRACE.as_secs()),
            ),
        }
        std::process::exit(EXIT_ABANDONED);
    });
}
