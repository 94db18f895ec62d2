//! ocsf-engine: pulls SaaS audit logs described by YAML source specs and maps every record to
//! OCSF 1.5.0 with YAML mapping rules.

// Configuration errors carry a location and hints; they are built on the load path only.
#![allow(clippy::result_large_err)]

pub mod aws;
pub mod cli;
pub mod deadletter;
pub mod diagnostic;
pub mod input;
pub mod lock;
pub mod logging;
pub mod mapping;
pub mod metrics;
pub mod ocsf;
pub mod runner;
pub mod simulator;
pub mod sink;
pub mod source;
pub mod yaml;
