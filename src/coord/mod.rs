//! Coordination: how several `engine` processes (a fleet) share pipelines safely. One trait,
//! [`Store`], holds small JSON objects with compare-and-swap; on it sit leases with a fencing
//! epoch ([`lease`]), checkpoints every commit of which is fenced by that epoch ([`fenced`],
//! [`backend`]), the heartbeat that renews a lease ([`heartbeat`]), the sink guard that sends
//! only under a held lease ([`fenced_sink`]) and the [`scheduler`] that spreads pipelines among
//! workers.
//!
//! Stores: Amazon S3 with conditional writes ([`s3`], `--coordination s3://BUCKET/PREFIX`), a
//! local directory ([`local`]) and an in-process map for the protocol tests ([`memory`]).
//! Without `--coordination`, a run keeps its checkpoint in the state directory as it always
//! did, guarded by the directory's exclusive lock (src/lock.rs).
//!
//! Layout under the prefix: `leases/<unit>.json`, `workers/<worker>.json`,
//! `state/<unit>/<source>/<stream>.checkpoint.json`, `finished/<unit>.json` ([`finished`]).

pub mod backend;
pub mod error;
pub mod fenced;
pub mod fenced_sink;
pub mod finished;
pub mod heartbeat;
pub mod lease;
pub mod local;
pub mod memory;
pub mod observe;
pub mod s3;
pub mod scheduler;
pub mod store;
pub mod target;

pub use error::{CoordError, CoordErrorKind};
pub use lease::{Claim, Lease, Leases, Taken};
pub use scheduler::{Round, Scheduler};
pub use store::{Cas, Store, StoreError, Versioned};

/// A key-safe form of a unit, source or stream name: letters, digits, `-`, `_` and `.` kept,
/// anything else `_`.
pub fn safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}
