//! Sources: the YAML source specs that describe a SaaS API, its parameters, its auth strategy
//! and its streams.

pub mod auth;
pub mod duration;
pub mod paging;
pub mod pipeline;
pub mod pipeline_decode;
pub mod pipeline_lake;
pub mod pipelines;
pub mod schema;
pub mod spec;
pub mod stream;
pub mod template;
pub mod timefmt;
pub mod values;

pub use spec::{ParamSpec, SourceSpec, parse_sets};
