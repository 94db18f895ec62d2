//! `engine schema`: prints the JSON Schema of a configuration file kind, for editors.

use super::load::EXIT_RUNTIME;
use super::output;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct SchemaArgs {
    /// Which kind of file.
    pub kind: Kind,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Kind {
    /// Mapping files (`mappings/<source>/**.yaml`).
    Mapping,
    /// Source specs (`sources/*.yaml`).
    Source,
}

pub fn run(args: SchemaArgs) -> ExitCode {
    let schema = match args.kind {
        Kind::Mapping => crate::mapping::mapping_schema(),
        Kind::Source => crate::source::schema::source_schema(),
    };
    match serde_json::to_string_pretty(&schema) {
        Ok(text) => {
            output::line(text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}
