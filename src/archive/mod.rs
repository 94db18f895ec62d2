//! The raw archive (`engine run --archive DIR`): every record a run takes from the API, once
//! (after the overlap and repeated records are dropped by id), one line of compact JSON each,
//! in gzip files of one UTC day (`DIR/YYYY-MM-DD.ndjson.gz`, the day of the record's time, or
//! of its receipt when it has none), committed with the run's checkpoint. `engine map` and
//! `engine replay` read it back to map the events again after a mapping changes.

pub mod reader;
pub mod writer;

pub use reader::{day_files, is_archive, open_day};
pub use writer::Archive;
