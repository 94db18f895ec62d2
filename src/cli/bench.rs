//! `engine bench`: end-to-end throughput and memory. For each size, a simulator runs in its own
//! process (`engine simulate`), `engine run --once` pulls it into the file sink in another, and
//! its wall time and peak RSS (the child's rusage) are reported; then a raw-transport baseline
//! fetches the same pages over the same HTTP path and writes the raw records, one per line, so
//! that the engine's overhead is a ratio. A Markdown table by default; with `--json`, one JSON
//! object (`{"sizes": [{"records", "engine_rps", "raw_rps", "engine_peak_rss_mib", …}]}`).

use crate::simulator::{DEMO_APPLICATION_ID, DEMO_SHARED_SECRET, LOGIN_PATH, SIEM_PATH};
use crate::source::timefmt::{iso_millis, now_ms};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The source spec to run.
    #[arg(long, default_value = "sources/entrust.yaml")]
    pub spec: PathBuf,
    /// Record counts to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    pub events: Vec<usize>,
    /// Where outputs and state go (emptied first).
    #[arg(long, default_value = "target/engine-bench")]
    pub dir: PathBuf,
    /// Print one JSON object instead of the table (for scripts and checks).
    #[arg(long)]
    pub json: bool,
    /// Concurrency mode: the simulator answers each page this much later (e.g. `200ms`, as a
    /// real API does), and the engine runs once per `--concurrency` value against it (no raw
    /// baseline).
    #[arg(long, value_name = "DURATION")]
    pub page_latency: Option<String>,
    /// With --page-latency: the concurrencies to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    pub concurrency: Vec<usize>,
    /// Generated records span this many hours (a backfill of that long).
    #[arg(long, default_value_t = 24)]
    pub span_hours: u64,
    /// Run the engine with `--no-read-ahead` (to compare: at concurrency 1 no page is fetched
    /// while the one before is delivered).
    #[arg(long)]
    pub no_read_ahead: bool,
}

impl BenchArgs {
    /// What every `engine run` of the bench is given.
    fn engine_flags(&self) -> &'static [&'static str] {
        if self.no_read_ahead { &["--no-read-ahead"] } else { &[] }
    }
}

/// The figures of one run in concurrency mode.
#[derive(serde::Serialize)]
struct ConcurrencyRow {
    records: usize,
    concurrency: usize,
    engine_records: usize,
    engine_wall_s: f64,
    engine_rps: f64,
    engine_peak_rss_mib: Option<f64>,
    /// `engine_rps` over the first concurrency's.
    over_first: f64,
}

/// The figures of one size.
#[derive(serde::Serialize)]
struct Row {
    /// Records the simulator generated.
    records: usize,
    /// Records the engine wrote (the simulator's own login records included).
    engine_records: usize,
    engine_wall_s: f64,
    engine_rps: f64,
    engine_peak_rss_mib: Option<f64>,
    simulator_peak_rss_mib: Option<f64>,
    /// Records the raw-transport baseline wrote.
    raw_records: usize,
    raw_wall_s: f64,
    raw_rps: f64,
    /// `engine_rps / raw_rps`.
    engine_over_raw: f64,
}

impl Row {
    fn markdown(&self) -> String {
        let mib = |m: Option<f64>| m.map_or("?".to_string(), |m| format!("{m:.1}"));
        format!(
            "| {} | {:.2} | {:.0} | {} | {} | {:.2} | {:.0} | {:.2} |",
            self.records,
            self.engine_wall_s,
            self.engine_rps,
            mib(self.engine_peak_rss_mib),
            mib(self.simulator_peak_rss_mib),
            self.raw_wall_s,
            self.raw_rps,
            self.engine_wall_s / self.raw_wall_s
        )
    }
}

/// What one measured process did.
struct Measured {
    wall: Duration,
    records: usize,
    /// Peak resident set, KiB.
    peak_rss_kib: Option<u64>,
}

/// A simulator child process, killed when dropped.
struct Simulator {
    child: Child,
    addr: String,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(args: BenchArgs) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("engine bench: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(latency) = &args.page_latency {
        return concurrency_mode(&exe, &args, latency);
    }
    if !args.json {
        println!(
            "| records | engine wall s | engine records/s | engine peak RSS MiB | simulator peak RSS MiB | raw wall s | raw records/s | engine / raw time |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    }
    let mut rows = Vec::new();
    for &n in &args.events {
        match one(&exe, &args, n) {
            Ok(row) if args.json => rows.push(row),
            Ok(row) => println!("{}", row.markdown()),
            Err(e) => {
                eprintln!("engine bench: {n} records: {e}");
                return ExitCode::from(3);
            }
        }
    }
    if args.json {
        println!("{}", json!({ "spec": args.spec.display().to_string(), "sizes": rows }));
    }
    ExitCode::SUCCESS
}

/// For each size, one simulator with the page latency, and one engine run per concurrency.
fn concurrency_mode(exe: &Path, args: &BenchArgs, latency: &str) -> ExitCode {
    if args.concurrency.is_empty() || args.concurrency.iter().any(|c| !(1..=64).contains(c)) {
        eprintln!("engine bench: --concurrency takes values from 1 to 64");
        return ExitCode::from(2);
    }
    if !args.json {
        println!(
            "| records | concurrency | engine wall s | engine records/s | engine peak RSS MiB | rate over the first |"
        );
        println!("|---:|---:|---:|---:|---:|---:|");
    }
    let mut rows = Vec::new();
    for &n in &args.events {
        let sim =
            match start_simulator(exe, n, &["--page-latency", latency, "--span-hours", &args.span_hours.to_string()]) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("engine bench: {e}");
                    return ExitCode::from(3);
                }
            };
        let mut first = None;
        for &c in &args.concurrency {
            let dir = args.dir.join(format!("{n}-c{c}"));
            let _ = std::fs::remove_dir_all(&dir);
            let range = format!("range=P{}D", args.span_hours.div_ceil(24) + 1);
            let c_text = c.to_string();
            let extra = [&["--concurrency", c_text.as_str(), "--set", &range][..], args.engine_flags()].concat();
            let measured = std::fs::create_dir_all(&dir)
                .map_err(|e| format!("{}: {e}", dir.display()))
                .and_then(|()| run_engine(exe, &args.spec, &sim.addr, &dir, &extra));
            let _ = std::fs::remove_dir_all(&dir);
            let m = match measured {
                Ok(m) if m.records >= n => m,
                Ok(m) => {
                    eprintln!("engine bench: expected {n} records at concurrency {c}, the engine wrote {}", m.records);
                    return ExitCode::from(3);
                }
                Err(e) => {
                    eprintln!("engine bench: {n} records at concurrency {c}: {e}");
                    return ExitCode::from(3);
                }
            };
            let rps = m.records as f64 / m.wall.as_secs_f64();
            let base = *first.get_or_insert(rps);
            let row = ConcurrencyRow {
                records: n,
                concurrency: c,
                engine_records: m.records,
                engine_wall_s: m.wall.as_secs_f64(),
                engine_rps: rps,
                engine_peak_rss_mib: m.peak_rss_kib.map(|k| k as f64 / 1024.0),
                over_first: rps / base,
            };
            if args.json {
                rows.push(row);
            } else {
                let mib = row.engine_peak_rss_mib.map_or("?".to_string(), |m| format!("{m:.1}"));
                println!(
                    "| {} | {} | {:.2} | {:.0} | {mib} | {:.2} |",
                    row.records, row.concurrency, row.engine_wall_s, row.engine_rps, row.over_first
                );
            }
        }
    }
    if args.json {
        println!(
            "{}",
            json!({ "spec": args.spec.display().to_string(), "page_latency": latency, "span_hours": args.span_hours, "runs": rows })
        );
    }
    ExitCode::SUCCESS
}

fn one(exe: &Path, args: &BenchArgs, n: usize) -> Result<Row, String> {
    let dir = args.dir.join(n.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let sim = start_simulator(exe, n, &[])?;
    let engine = run_engine(exe, &args.spec, &sim.addr, &dir, args.engine_flags())?;
    let sim_rss = peak_rss_of(sim.child.id());
    let raw = raw_transport(&sim.addr, &dir.join("raw.ndjson"))?;
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
    // The simulator records each login as an audit record too: a run reads one or two more.
    if engine.records < n || raw.records < n {
        return Err(format!(
            "expected {n} records, the engine wrote {}, the raw fetch {}",
            engine.records, raw.records
        ));
    }
    let rate = |m: &Measured| m.records as f64 / m.wall.as_secs_f64();
    let mib = |k: Option<u64>| k.map(|k| k as f64 / 1024.0);
    Ok(Row {
        records: n,
        engine_records: engine.records,
        engine_wall_s: engine.wall.as_secs_f64(),
        engine_rps: rate(&engine),
        engine_peak_rss_mib: mib(engine.peak_rss_kib),
        simulator_peak_rss_mib: mib(sim_rss),
        raw_records: raw.records,
        raw_wall_s: raw.wall.as_secs_f64(),
        raw_rps: rate(&raw),
        engine_over_raw: rate(&engine) / rate(&raw),
    })
}

fn start_simulator(exe: &Path, n: usize, extra: &[&str]) -> Result<Simulator, String> {
    // Records end well before now − the stream's settle delay, so that one `--once` run reads all.
    let end = iso_millis(now_ms() - 5 * 60_000);
    let mut child = Command::new(exe)
        .args(["simulate", "--port", "0", "--events", &n.to_string(), "--end-time", &end])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the simulator: {e}"))?;
    let stdout = child.stdout.take().ok_or("the simulator has no standard output")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| format!("simulator: {e}"))?;
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .map(|a| a.trim_end_matches('/').to_string())
        .ok_or_else(|| format!("the simulator said {line:?}"))?;
    Ok(Simulator { child, addr })
}

fn run_engine(exe: &Path, spec: &Path, addr: &str, dir: &Path, extra: &[&str]) -> Result<Measured, String> {
    let output = dir.join("events.ndjson");
    let started = Instant::now();
    let child = Command::new(exe)
        .arg("run")
        .arg(spec)
        .args(["--simulate-at", addr, "--once"])
        .args(extra)
        .arg("--output")
        .arg(&output)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start engine run: {e}"))?;
    let (status, peak_rss_kib) = wait_with_rusage(child)?;
    let wall = started.elapsed();
    if status != 0 {
        return Err(format!("engine run exited with {status}"));
    }
    // The file sink rotates past 256 MiB: `events.ndjson`, `events.ndjson.1`, …
    let mut records = count_lines(&output)?;
    for n in 1.. {
        let rotated = PathBuf::from(format!("{}.{n}", output.display()));
        if !rotated.exists() {
            break;
        }
        records += count_lines(&rotated)?;
    }
    Ok(Measured { wall, records, peak_rss_kib })
}

/// Waits for a child and returns its exit status and peak RSS (KiB) from `wait4`.
fn wait_with_rusage(child: Child) -> Result<(i32, Option<u64>), String> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills; the pid is our own child's, and `child`
    // is not waited for elsewhere.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    std::mem::forget(child);
    if got != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    Ok((code, u64::try_from(usage.ru_maxrss).ok()))
}

/// `VmHWM` of a running process, KiB.
fn peak_rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn count_lines(path: &Path) -> Result<usize, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut count = 0;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    loop {
        let buf = reader.fill_buf().map_err(|e| e.to_string())?;
        if buf.is_empty() {
            return Ok(count);
        }
        count += buf.iter().filter(|&&b| b == b'\n').count();
        let len = buf.len();
        reader.consume(len);
    }
}

/// The floor of collection: log in, page through the SIEM feed with cursors (100 a page, as the
/// spec asks) and write each raw record as a JSON line, synced at the end.
fn raw_transport(addr: &str, output: &Path) -> Result<Measured, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let base = format!("http://{addr}");
    let started = Instant::now();
    let records = runtime.block_on(async {
        let client = reqwest::Client::new();
        let err = |e: reqwest::Error| e.to_string();
        let login: Value = client
            .post(format!("{base}{LOGIN_PATH}"))
            .json(&json!({"applicationId": DEMO_APPLICATION_ID, "sharedSecret": DEMO_SHARED_SECRET}))
            .send()
            .await
            .map_err(err)?
            .json()
            .await
            .map_err(err)?;
        let token = login["authToken"].as_str().ok_or("no authToken")?.to_string();
        let file = std::fs::File::create(output).map_err(|e| e.to_string())?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let start = iso_millis(now_ms() - 3 * 86_400_000);
        let end = iso_millis(now_ms());
        let mut cursor: Option<String> = None;
        let mut count = 0usize;
        loop {
            let body = match &cursor {
                Some(c) => json!({"limit": 100, "cursor": c}),
                None => json!({"limit": 100, "searchByAttributes": [
                    {"name": "startTime", "operator": "GREATER_THAN_OR_EQUAL", "value": start},
                    {"name": "endTime", "operator": "LESS_THAN_OR_EQUAL", "value": end},
                ]}),
            };
            let page: Value = client
                .post(format!("{base}{SIEM_PATH}"))
                .header("Authorization", &token)
                .json(&body)
                .send()
                .await
                .map_err(err)?
                .json()
                .await
                .map_err(err)?;
            let results = page["results"].as_array().ok_or_else(|| format!("not a page: {page}"))?;
            for record in results {
                serde_json::to_writer(&mut out, record).map_err(|e| e.to_string())?;
                out.write_all(b"\n").map_err(|e| e.to_string())?;
                count += 1;
            }
            match page["paging"]["nextCursor"].as_str() {
                Some(c) if !c.is_empty() && !results.is_empty() => cursor = Some(c.to_string()),
                _ => break,
            }
        }
        let file = out.into_inner().map_err(|e| e.to_string())?;
        file.sync_data().map_err(|e| e.to_string())?;
        Ok::<usize, String>(count)
    })?;
    Ok(Measured { wall: started.elapsed(), records, peak_rss_kib: None })
}
