//! OCSF 1.5.0: the bundled dictionary and schemas, derived fields, and event validation.
//!
//! The data files under `data/1.5.0/` are copies of the OCSF project's published schema for the
//! Authentication and Entity Management classes; see `data/1.5.0/NOTICE`.

pub mod catalog;
pub mod core_schema;
pub mod derive;
pub mod validate;

pub use catalog::{Attribute, AttributeSet, Catalog, Class, JsonType, OCSF_VERSION, catalog};
pub use derive::derive;
pub use validate::validate;
