//! `engine bench --json`, the contract scripts and checks read: one JSON object with, for each
//! size asked for with `--events`, the records and the engine's and the raw transport's rates
//! and the engine's peak RSS. Shape and consistency only: speed is measured, never asserted.

mod common;

use common::pipeline::{root, temp_dir};
use serde_json::Value;
use std::process::Command;

#[test]
fn bench_json_gives_every_size_with_consistent_figures() {
    let dir = temp_dir("engine-bench", "json");
    let out = Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(root())
        .args(["bench", "--json", "--events", "150,400", "--dir"])
        .arg(dir.join("work"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    // One JSON object and nothing else (no table around it).
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let sizes = report["sizes"].as_array().unwrap_or_else(|| panic!("no sizes: {report}"));
    assert_eq!(sizes.len(), 2, "{report}");
    for (size, n) in sizes.iter().zip([150u64, 400]) {
        let f = |key: &str| size[key].as_f64().unwrap_or_else(|| panic!("{key} is not a number: {size}"));
        assert_eq!(size["records"].as_u64(), Some(n), "{size}");
        for key in ["engine_rps", "raw_rps", "engine_peak_rss_mib", "engine_wall_s", "raw_wall_s"] {
            assert!(f(key) > 0.0, "{key} is not positive: {size}");
        }
        // Every generated record arrived (plus the simulator's own login records).
        assert!(f("engine_records") >= n as f64 && f("raw_records") >= n as f64, "{size}");
        // Rates are the records over the wall time, and the ratio the two rates'.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs());
        assert!(close(f("engine_rps") * f("engine_wall_s"), f("engine_records")), "{size}");
        assert!(close(f("raw_rps") * f("raw_wall_s"), f("raw_records")), "{size}");
        assert!(close(f("engine_over_raw"), f("engine_rps") / f("raw_rps")), "{size}");
        // A peak RSS is in MiB: more than a megabyte, less than the machine.
        assert!((1.0..65_536.0).contains(&f("engine_peak_rss_mib")), "{size}");
    }
}

/// Concurrency mode: one run per concurrency against a simulator with a page latency, every
/// record delivered by each, the rates consistent with the wall times.
#[test]
fn bench_concurrency_mode_runs_each_concurrency_over_the_same_tenant() {
    let dir = temp_dir("engine-bench", "concurrency");
    let out = Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(root())
        .args(["bench", "--json", "--events", "300", "--page-latency", "2ms", "--concurrency", "1,4", "--dir"])
        .arg(dir.join("work"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    let runs = report["runs"].as_array().unwrap_or_else(|| panic!("no runs: {report}"));
    let concurrencies: Vec<u64> = runs.iter().map(|r| r["concurrency"].as_u64().unwrap()).collect();
    assert_eq!(concurrencies, [1, 4], "{report}");
    assert_eq!(runs[0]["over_first"].as_f64(), Some(1.0), "{report}");
    for r in runs {
        let f = |key: &str| r[key].as_f64().unwrap_or_else(|| panic!("{key}: {r}"));
        assert!(f("engine_records") >= 300.0, "{r}");
        assert!(((f("engine_rps") * f("engine_wall_s")) - f("engine_records")).abs() < 1e-6 * f("engine_records"));
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(root())
        .args(["bench", "--page-latency", "2ms", "--concurrency", "0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
