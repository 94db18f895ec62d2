//! `engine schema`: prints the JSON Schema of a configuration file kind, for editors, or the
//! Parquet schema of an OCSF class as the Security Lake sink writes it.

use super::load::{EXIT_CONFIG, EXIT_RUNTIME};
use super::output;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct SchemaArgs {
    /// Which kind of file, or `parquet` for the Security Lake table of a class.
    pub kind: Kind,
    /// With `parquet`: the OCSF class (`authentication`, `entity_management`).
    pub class: Option<String>,
    /// With `parquet`: the OCSF version of the schema (Security Lake takes 1.3.0).
    #[arg(long, value_name = "VERSION", default_value = "1.3.0")]
    pub ocsf_version: String,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Kind {
    /// Mapping files (`mappings/<source>/**.yaml`).
    Mapping,
    /// Source specs (`sources/*.yaml`).
    Source,
    /// The fixed Parquet (Arrow) schema of an OCSF class and the Glue column list.
    Parquet,
}

pub fn run(args: SchemaArgs) -> ExitCode {
    let schema = match args.kind {
        Kind::Mapping => crate::mapping::mapping_schema(),
        Kind::Source => crate::source::schema::source_schema(),
        Kind::Parquet => {
            let Some(class) = &args.class else {
                eprintln!("engine schema parquet: name a class (authentication or entity_management)");
                return ExitCode::from(EXIT_CONFIG);
            };
            return match super::security_lake::print_parquet_schema(class, &args.ocsf_version) {
                Ok(text) => {
                    output::line(text.trim_end().to_string());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("engine schema parquet: {e}");
                    ExitCode::from(EXIT_CONFIG)
                }
            };
        }
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
