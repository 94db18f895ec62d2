//! Prometheus metrics of a run: a registry of counters, gauges and histograms that the runner
//! and its HTTP client update as they work, and a small HTTP server that exposes them in the
//! Prometheus text format at `/metrics` (`engine run --metrics-addr HOST:PORT`).

mod registry;
mod server;

pub use registry::Metrics;
pub use server::{MetricsServer, serve};
