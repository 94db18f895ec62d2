//! OCSF 1.5.0: the bundled dictionary and schemas, derived fields, and event validation.
//!
//! The data files under `data/1.5.0/` are copies of the OCSF project's published schema for the
//! Authentication and Entity Management classes; see `data/1.5.0/NOTICE`. `data/1.3.0/` holds the
//! same for OCSF 1.3.0 (see its NOTICE), for the 1.3.0 profile Amazon Security Lake takes.

pub mod catalog;
pub mod core_schema;
pub mod derive;
pub mod dictionary;
pub mod profile_1_3;
pub mod types;
pub mod validate;
pub mod validate_1_3;

pub use catalog::{Attribute, AttributeSet, Catalog, Class, JsonType, OCSF_VERSION, catalog};
pub use derive::derive;
pub use validate::validate;
