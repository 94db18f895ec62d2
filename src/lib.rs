//! ocsf-engine: pulls SaaS audit logs described by YAML source specs and maps every record to
//! OCSF 1.5.0 with YAML mapping rules.

// Configuration errors carry a location and hints; they are built on the load path only.
#![allow(clippy::result_large_err)]

// The standard printing macros panic when the stream is closed (a pipe whose reader left);
// these, which shadow them in the whole crate, drop the text instead (`logging::console`).
macro_rules! eprintln {
    () => { $crate::logging::console::err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::logging::console::err(format_args!("{}\n", format_args!($($arg)*))) };
}
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::logging::console::err(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::logging::console::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::logging::console::out(format_args!("{}\n", format_args!($($arg)*))) };
}
#[allow(unused_macros)]
macro_rules! print {
    ($($arg:tt)*) => { $crate::logging::console::out(format_args!($($arg)*)) };
}

pub mod allocator;
pub mod archive;
pub mod aws;
pub mod cli;
pub mod coord;
pub mod deadletter;
pub mod diagnostic;
pub mod input;
pub mod json;
pub mod lock;
pub mod logging;
pub mod mapping;
pub mod metrics;
pub mod ocsf;
pub mod replay;
pub mod runner;
pub mod simulator;
pub mod sink;
pub mod source;
pub mod testing;
pub mod yaml;
