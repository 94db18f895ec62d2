//! Helpers shared by integration tests.

pub mod library;
pub mod moto;
pub mod pipeline;
pub mod pyarrow;
pub mod scripted;
