//! Prometheus metrics of a run: a registry of counters, gauges and histograms that the runner
//! and its HTTP client update as they work, and a small HTTP server that exposes them in the
//! OpenMetrics text format at `/metrics` (`engine run --metrics-addr HOST:PORT`), beside the
//! probes `/healthz` and `/readyz` (health.rs).

mod health;
mod registry;
mod server;

pub use health::Health;
pub use registry::Metrics;
pub use server::{MetricsServer, serve, serve_with_health};
