//! The command line: `engine run`, `replay`, `map`, `check`, `test`, `explain`, `coverage`, `schema`,
//! `simulate`, `completions`, `man`, and the logging flags every command takes.

mod bench;
mod check;
mod coordinated;
mod coverage;
mod dry_run;
mod explain;
mod fleet;
mod fleet_coordinated;
mod lake_register;
mod load;
mod map;
mod output;
mod packaging;
mod preflight;
mod replay;
mod run;
mod run_report;
mod run_state;
mod schema;
mod security_lake;
mod simulate_demo;
mod streams;
mod test;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "engine", about = "Pull SaaS audit logs and map them to OCSF 1.5.0")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    log: crate::logging::LogArgs,
}

// Parsed once per process: the size of `run`'s flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Map raw records to OCSF offline: one event per line on stdout, dead letters on stderr.
    Map(map::MapArgs),
    /// Check source specs and mapping files; report every error at once.
    Check(check::CheckArgs),
    /// Map records and show where every field of each event comes from.
    Explain(explain::ExplainArgs),
    /// Map every fixture and compare it with its reviewed snapshot; `--accept` writes new ones.
    Test(test::TestArgs),
    /// Show which event types are mapped, pinned by fixtures and snapshots, and how completely.
    Coverage(coverage::CoverageArgs),
    /// Pull a source's records into a sink, with checkpoints (the main job).
    Run(run::RunArgs),
    /// Map dead letters (after a fix) or a raw archive again into a sink, exactly once.
    Replay(replay::ReplayArgs),
    /// Print the JSON Schema of mapping files or source specs, for editors.
    Schema(schema::SchemaArgs),
    /// Run the built-in Entrust IDaaS simulator on loopback.
    Simulate(crate::simulator::SimulateArgs),
    /// Amazon Security Lake: register the custom log sources the `security_lake` sink writes.
    SecurityLake(lake_register::LakeCommandArgs),
    /// Measure end-to-end throughput and memory against the simulator (see BENCHMARKS.md).
    Bench(bench::BenchArgs),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(packaging::CompletionsArgs),
    /// Print the man page, generated from these same definitions.
    Man(packaging::ManArgs),
}

pub fn main() -> ExitCode {
    let parsed =
        packaging::command().try_get_matches().and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { load::EXIT_CONFIG } else { 0 };
            let args: Vec<String> = std::env::args().collect();
            if e.use_stderr() && asks_for_json_logs(&args) {
                usage_error_as_json(&e);
            } else {
                let _ = e.print();
            }
            return ExitCode::from(code);
        }
    };
    crate::logging::init(&cli.log);
    match cli.command {
        Command::Map(args) => map::run(args),
        Command::Check(args) => check::run(args),
        Command::Coverage(args) => coverage::run(args),
        Command::Test(args) => test::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Simulate(args) => crate::simulator::main(args),
        Command::Run(args) => run::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Bench(args) => bench::run(args),
        Command::SecurityLake(args) => lake_register::run(args),
        Command::Completions(args) => packaging::completions(args),
        Command::Man(args) => packaging::man(args),
    }
}

/// Whether the command line asks for JSON logs (read before it parses, for its own errors).
fn asks_for_json_logs(args: &[String]) -> bool {
    args.iter().any(|a| a == "--log-format=json") || args.windows(2).any(|w| w[0] == "--log-format" && w[1] == "json")
}

/// A usage error as one JSON `ERROR` line: the message, and clap's usage line and hint.
fn usage_error_as_json(e: &clap::Error) {
    use crate::logging::structured;
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let message = lines.next().unwrap_or("invalid command line").trim_start_matches("error: ").to_string();
    let mut fields = serde_json::Map::new();
    fields.insert("code".into(), serde_json::json!("usage"));
    let rest: Vec<&str> = lines.collect();
    if let Some(usage) = rest.iter().find_map(|l| l.strip_prefix("Usage: ")) {
        fields.insert("usage".into(), serde_json::json!(usage));
    }
    let details: Vec<&str> = rest.into_iter().filter(|l| !l.starts_with("Usage: ")).collect();
    if !details.is_empty() {
        fields.insert("notes".into(), serde_json::json!(details));
    }
    structured::emit(&structured::object("ERROR", "engine::cli", &message, fields));
}
