//! Sources: the YAML source specs that describe a SaaS API and its parameters.

pub mod spec;

pub use spec::{ParamSpec, SourceSpec, parse_sets};
