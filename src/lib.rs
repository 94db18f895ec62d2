//! ocsf-engine: pulls SaaS audit logs described by YAML source specs and maps every record to
//! OCSF 1.5.0 with YAML mapping rules.

pub mod cli;
pub mod deadletter;
pub mod diagnostic;
pub mod input;
pub mod mapping;
pub mod ocsf;
pub mod simulator;
pub mod source;
pub mod yaml;
