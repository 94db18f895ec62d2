//! The built-in Entrust IDaaS simulator (placeholder until implemented).

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {}

pub fn main(_args: SimulateArgs) -> ExitCode {
    eprintln!("the simulator is not implemented yet");
    ExitCode::from(2)
}
