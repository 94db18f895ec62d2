//! YAML loading with a location on every node.
//!
//! Files are parsed once by serde-saphyr into a [`Node`] tree that remembers the line and column
//! of every key and value. Typed configuration (mappings, source specs) is then decoded from the
//! tree by hand with [`MapReader`], so that one file can report every unknown key, wrong type
//! and missing key at once, each pointing at its own place, with a "did you mean" hint.

mod node;
mod reader;
pub mod schema;

pub use node::{Key, Node, NodeValue, parse};
pub use reader::{MapReader, wrong_type};
