//! Record-level JSON: a page's envelope walked without parsing it whole, each record parsed
//! on its own with its depth bounded and its numbers kept exactly, so that one record the
//! parser refuses is set aside (with its raw bytes) instead of failing its page; events written
//! as compact JSON text.

pub mod access;
pub mod doc;
pub mod envelope;
pub mod key;
pub mod number;
pub mod record;
pub mod scan;
pub mod write;

pub use envelope::{Envelope, Records};
pub use record::{MAX_DEPTH, Parsed, Poison};
pub use scan::SyntaxError;
