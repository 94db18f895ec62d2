//! The command line: `engine map`, `engine check`, `engine simulate`, `engine run`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "engine", version, about = "Pull SaaS audit logs and map them to OCSF 1.5.0")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the built-in Entrust IDaaS simulator on loopback.
    Simulate(crate::simulator::SimulateArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Simulate(args) => crate::simulator::main(args),
    }
}
