//! An operator's safety nets in `engine run`, each against the real binary over loopback HTTP:
//! one run at a time per state directory and output file, no credential or token in any message
//! and none sent to another origin, a first contact that fails a wrong deployment at once,
//! state that is where the summary says, and runs that survive a closed standard error, odd
//! login expiries, `ErrorInfo` answers with status 200, huge `Retry-After`s and a full disk.

mod common;

use common::pipeline::{engine_run, event_uids, root, temp_dir, wait_at_most};
use common::scripted::{self, Answer};
use ocsf_engine::simulator::{DEMO_SHARED_SECRET, Fault, FaultConfig, LOGIN_PATH, SIEM_PATH, SimConfig, start};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

fn tenant(events: usize, seed: u64, kinds: &[Fault], rate: f64) -> SimConfig {
    SimConfig {
        events,
        seed,
        login_events: false,
        end_time: Some(SystemTime::now() - Duration::from_secs(180)),
        span: Duration::from_secs(2 * 3600),
        faults: FaultConfig {
            kinds: kinds.iter().copied().collect(),
            rate,
            retry_after_secs: 0,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    }
}

fn outcome(out: &std::process::Output) -> (Option<i32>, String) {
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Every `len`-character piece of `secret`: none may appear in a message, whole or cut.
fn pieces(secret: &str, len: usize) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    chars.windows(len.min(chars.len())).map(|w| w.iter().collect()).collect()
}

fn assert_no_piece(text: &str, secret: &str) {
    for p in pieces(secret, 8) {
        assert!(!text.contains(&p), "a piece of a secret ({p}) in:\n{text}");
    }
}

/// `engine run` with explicit state, output and dead-letter paths.
fn engine_with(dir: &Path, addr: std::net::SocketAddr, state: &str, output: &str, dead: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_engine"));
    cmd.current_dir(dir)
        .arg("run")
        .arg(root().join("sources/entrust.yaml"))
        .args(["--simulate-at", &addr.to_string(), "--once", "--set", "range=PT3H"])
        .args(["--state-dir", state, "--output", output, "--dead-letter", dead])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_state_dir_or_output_stops_at_once_naming_the_lock_and_its_holder() {
    let sim = start(tenant(300, 41, &[], 0.0)).await.unwrap();
    let dir = temp_dir("engine-safety", "locks");
    // The first run takes its locks, then waits at its first request.
    sim.hold_requests();
    let first = engine_with(&dir, sim.addr(), "state", "out/events.ndjson", "out/dead.ndjson").spawn().unwrap();
    sim.requests_held(1).await;
    let pid = first.id();
    assert_eq!(ocsf_engine::lock::holder_pid(&dir.join("state/engine.lock")), Some(pid));
    let cases = [
        ("state", "out/other.ndjson", "out/other-dead.ndjson", "state/engine.lock", "another --state-dir"),
        ("state2", "out/events.ndjson", "out/dead2.ndjson", "out/events.ndjson.lock", "another --output"),
        ("state3", "out/third.ndjson", "out/dead.ndjson", "out/dead.ndjson.lock", "another --dead-letter"),
    ];
    for (state, output, dead, lock, hint) in cases {
        let mut second = engine_with(&dir, sim.addr(), state, output, dead).spawn().unwrap();
        let status = wait_at_most(&mut second, Duration::from_secs(20));
        if status.is_none() {
            let _ = second.kill();
        }
        let out = second.wait_with_output().unwrap();
        let (code, stderr) = outcome(&out);
        assert_eq!(status.and_then(|s| s.code()), Some(2), "{lock}: the second run stops at once, exit 2:\n{stderr}");
        assert!(stderr.contains(lock) && stderr.contains(&format!("pid {pid}")), "{lock}: {code:?}\n{stderr}");
        assert!(stderr.contains(hint), "{stderr}");
    }
    sim.release_requests();
    let out = first.wait_with_output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(0), "{stderr}");
    let events = event_uids(&dir.join("out/events.ndjson"));
    let unique: BTreeSet<&String> = events.iter().collect();
    assert_eq!(unique.len(), events.len(), "no duplicates");
    assert_eq!(unique.len(), sim.record_ids().len(), "every record once");
    for other in ["out/other.ndjson", "out/third.ndjson"] {
        assert!(!dir.join(other).exists(), "a refused run writes nothing");
    }
    // The lock is released with the run: a next run goes ahead.
    let again = engine_with(&dir, sim.addr(), "state", "out/events.ndjson", "out/dead.ndjson").output().unwrap();
    assert_eq!(outcome(&again).0, Some(0), "{}", outcome(&again).1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_reached_by_another_name_is_locked_all_the_same() {
    let sim = start(tenant(300, 44, &[], 0.0)).await.unwrap();
    let dir = temp_dir("engine-safety", "lock-names");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(dir.join("out/events.ndjson"), "").unwrap();
    std::os::unix::fs::symlink("out/events.ndjson", dir.join("link.ndjson")).unwrap();
    std::fs::hard_link(dir.join("out/events.ndjson"), dir.join("hard.ndjson")).unwrap();
    // A link to a dead-letter file the first run has not created yet.
    std::os::unix::fs::symlink("out/dead.ndjson", dir.join("dead-link.ndjson")).unwrap();
    // One file named as both the output and the dead letters: refused before anything runs.
    let same = engine_with(&dir, sim.addr(), "state0", "link.ndjson", "./out/events.ndjson").output().unwrap();
    let (code, stderr) = outcome(&same);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("are one file") && stderr.contains("--dead-letter another file"), "{stderr}");
    sim.hold_requests();
    let first = engine_with(&dir, sim.addr(), "state", "out/events.ndjson", "out/dead.ndjson").spawn().unwrap();
    sim.requests_held(1).await;
    let absolute = dir.join("out/events.ndjson").display().to_string();
    let cases = [
        ("state2", "link.ndjson", "dead2.ndjson", "another --output"),
        ("state3", "hard.ndjson", "dead3.ndjson", "another --output"),
        ("state4", absolute.as_str(), "dead4.ndjson", "another --output"),
        ("state5", "other.ndjson", "dead-link.ndjson", "another --dead-letter"),
    ];
    for (state, output, dead, hint) in cases {
        let mut second = engine_with(&dir, sim.addr(), state, output, dead).spawn().unwrap();
        let status = wait_at_most(&mut second, Duration::from_secs(20));
        if status.is_none() {
            let _ = second.kill();
        }
        let (_, stderr) = outcome(&second.wait_with_output().unwrap());
        assert_eq!(status.and_then(|s| s.code()), Some(2), "{output}: the second run stops at once, exit 2:\n{stderr}");
        assert!(stderr.contains("in use by another run") && stderr.contains(hint), "{output}: {stderr}");
    }
    sim.release_requests();
    let (code, stderr) = outcome(&first.wait_with_output().unwrap());
    assert_eq!(code, Some(0), "{stderr}");
    let events = event_uids(&dir.join("out/events.ndjson"));
    let unique: BTreeSet<&String> = events.iter().collect();
    assert_eq!((unique.len(), events.len()), (sim.record_ids().len(), sim.record_ids().len()), "every record once");
    sim.shutdown().await;
}

const TOKEN: &str = "tok-3f9a1c77e2b84d0c9e51a6b2";

fn login_ok() -> Answer {
    Answer::json(200, format!(r#"{{"authToken":"{TOKEN}","expirationTime":"2099-01-01T00:00:00Z"}}"#))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_quoting_the_shared_secret_across_its_200th_character_is_masked() {
    let server = scripted::serve(|req| {
        // An HTML 401 page that quotes the secret it was sent, across the 200th character.
        let secret = serde_json::from_str::<serde_json::Value>(&req.body)
            .ok()
            .and_then(|v| v["sharedSecret"].as_str().map(str::to_string))
            .unwrap_or_default();
        let pad =
            "<html><body><h1>401 Unauthorized</h1><p>Refused: ".to_string() + &"x".repeat(190 - 52 - secret.len() / 2);
        Answer {
            status: 401,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: format!("{pad}{secret}</p></body></html>"),
        }
    })
    .await;
    let dir = temp_dir("engine-safety", "login-echo");
    let out = engine_run(&dir, server.addr, &["--once", "--set", "range=PT1H"]).output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert_no_piece(&stderr, DEMO_SHARED_SECRET);
    assert_no_piece(&String::from_utf8_lossy(&out.stdout), DEMO_SHARED_SECRET);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_401_quoting_the_authorization_header_is_masked() {
    let server = scripted::serve(|req| {
        if req.path == LOGIN_PATH {
            return login_ok();
        }
        let header = req.header("authorization").unwrap_or("").to_string();
        Answer::json(401, format!(r#"{{"errorCode":"invalid_session_token","errorMessage":"token {header} refused"}}"#))
    })
    .await;
    let dir = temp_dir("engine-safety", "audit-echo");
    let out = engine_run(&dir, server.addr, &["--once", "--set", "range=PT1H", "--max-retries", "1"]).output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("invalid_session_token"), "{stderr}");
    assert_no_piece(&stderr, TOKEN);
    assert!(server.requests().iter().any(|r| r.header("authorization") == Some(TOKEN)), "the token was used");
}

/// Base64 (standard alphabet, padded) of `bytes`.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ABC[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// The ways an answer may write `secret` other than as is.
fn encodings(secret: &str) -> Vec<String> {
    let unicode: String = secret.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    let (head, tail) = secret.split_at(secret.len() / 2);
    let split = format!("{head}\\u{:04X}{}", tail.chars().next().unwrap() as u32, &tail[1..]);
    let percent: String = secret.bytes().map(|b| format!("%{b:02x}")).collect();
    let html: String = secret.chars().map(|c| if c == '-' { "&#45;".to_string() } else { c.to_string() }).collect();
    let bearer = base64(format!("Bearer {secret}").as_bytes());
    let basic = base64(format!("{}:{secret}", ocsf_engine::simulator::DEMO_APPLICATION_ID).as_bytes());
    let url = base64(secret.as_bytes()).trim_end_matches('=').replace('+', "-").replace('/', "_");
    vec![unicode, split, percent, html, bearer, basic, url]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_tokens_quoted_escaped_or_in_base64_are_masked() {
    // Each 500 answer quotes the token or the shared secret once, in another encoding.
    let forms: Vec<String> = encodings(TOKEN).into_iter().chain(encodings(DEMO_SHARED_SECRET)).collect();
    let served = forms.clone();
    let count = std::sync::atomic::AtomicUsize::new(0);
    let server = scripted::serve(move |req| {
        if req.path == LOGIN_PATH {
            return login_ok();
        }
        let i = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % served.len();
        let headers = vec![("Content-Type".into(), "text/html".into()), ("Retry-After".into(), "0".into())];
        Answer { status: 500, headers, body: format!("<p>{}</p>", served[i]) }
    })
    .await;
    let dir = temp_dir("engine-safety", "encoded-echo");
    let retries = (forms.len() - 1).to_string();
    let out =
        engine_run(&dir, server.addr, &["--once", "--set", "range=PT1H", "--max-retries", &retries]).output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(stderr.matches("HTTP 500: <p>").count(), forms.len(), "every answer was quoted: {stderr}");
    for form in &forms {
        for piece in pieces(form, 12) {
            assert!(!stderr.contains(&piece), "a piece ({piece}) of {form} in:\n{stderr}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_credentials_and_tokens_are_masked_in_every_retry_warning() {
    let sim = start(tenant(400, 42, &[Fault::EchoCredentials], 0.5)).await.unwrap();
    let dir = temp_dir("engine-safety", "echo");
    let out = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H"]).output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(sim.fault_counts().get(&Fault::EchoCredentials).copied().unwrap_or(0) > 0);
    assert!(stderr.contains("retry 1 of 8 in"), "retries are announced: {stderr}");
    assert_no_piece(&stderr, DEMO_SHARED_SECRET);
    for token in sim.issued_tokens() {
        assert_no_piece(&stderr, &token);
    }
    assert_eq!(event_uids(&dir.join("out/events.ndjson")).len(), sim.record_ids().len());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_origin_is_refused_and_nothing_reaches_it() {
    for (fault, what) in [(Fault::RedirectLogin, "login"), (Fault::RedirectAudit, "audit")] {
        let mut config = tenant(100, 43, &[fault], 1.0);
        config.faults.max_consecutive = u32::MAX;
        let sim = start(config).await.unwrap();
        let elsewhere = sim.elsewhere_addr().unwrap();
        // 307, 308, 301, 302 and 303 in turn, one per run.
        for round in 0..5 {
            let dir = temp_dir("engine-safety", &format!("redirect-{what}-{round}"));
            let out = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H"]).output().unwrap();
            let (code, stderr) = outcome(&out);
            assert_eq!(code, Some(3), "{what} {round}: {stderr}");
            assert!(
                stderr.contains("redirecting to another origin") && stderr.contains(&elsewhere.to_string()),
                "{stderr}"
            );
            assert_no_piece(&stderr, DEMO_SHARED_SECRET);
        }
        let received = sim.elsewhere_received();
        assert!(received.is_empty(), "{what}: the other origin received {received:?}");
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_run_with_the_default_range_talks_to_the_api_and_fails_a_wrong_deployment() {
    let sim = start(tenant(100, 44, &[], 0.0)).await.unwrap();
    let dir = temp_dir("engine-safety", "first");
    for extra in [&["--once"][..], &["--dry-run"][..]] {
        let args = [extra, &["--set", "range=PT0H", "--set", "client_secret=wrong-secret"]].concat();
        let out = engine_run(&dir, sim.addr(), &args).output().unwrap();
        let (code, stderr) = outcome(&out);
        assert_eq!(code, Some(3), "{extra:?}: {stderr}");
        assert!(stderr.contains("login failed") && stderr.contains("HTTP 401"), "{stderr}");
        assert!(stderr.contains(&sim.addr().to_string()), "the host is named: {stderr}");
    }
    // Nothing listens: the cause and the host are named.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let out = engine_run(&dir, closed, &["--once", "--set", "range=PT0H", "--max-retries", "1"]).output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains(&format!("could not connect to {closed} (connection refused)")), "{stderr}");
    // Something that does not speak TLS where TLS is required.
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_addr = plain.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut c, _)) = plain.accept().await {
            let _ = c.read(&mut [0u8; 1024]).await;
            let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
        }
    });
    let out = Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(&dir)
        .arg("run")
        .arg(root().join("sources/entrust.yaml"))
        .args(["--once", "--max-retries", "0", "--set", &format!("hostname={plain_addr}")])
        .args([
            "--set",
            "client_id=x",
            "--set",
            "client_secret=y",
            "--state-dir",
            "tls-state",
            "--output",
            "tls.ndjson",
        ])
        .output()
        .unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains(&format!("could not connect to {plain_addr} (TLS handshake failed")), "{stderr}");
    // Right credentials: a login and one read, then a clean exit.
    let out = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT0H"]).output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("requests:           2 (0 retries, 1 logins"), "{stderr}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_at_keeps_its_state_and_the_summary_says_where() {
    let sim = start(tenant(200, 45, &[], 0.0)).await.unwrap();
    let dir = temp_dir("engine-safety", "simulate-at");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_engine"))
            .current_dir(&dir)
            .arg("run")
            .arg(root().join("sources/entrust.yaml"))
            .args(["--simulate-at", &sim.addr().to_string(), "--once", "--output", "events.ndjson"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    for _ in 0..2 {
        let (code, stderr) = outcome(&run());
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            stderr.contains("state:              the next run resumes from the checkpoint `.engine-state/entrust_idaas/audit.checkpoint.json`"),
            "{stderr}"
        );
    }
    let events = event_uids(&dir.join("events.ndjson"));
    assert_eq!(events.iter().collect::<BTreeSet<_>>().len(), events.len(), "the second run repeats nothing");
    assert_eq!(events.len(), sim.record_ids().len());
    // Its own simulator keeps no state, and says so.
    let own = Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(&dir)
        .arg("run")
        .arg(root().join("sources/entrust.yaml"))
        .args(["--simulate", "--simulate-events", "50", "--once", "--output", "own.ndjson"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (code, stderr) = outcome(&own);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("state:              none kept"), "{stderr}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_standard_error_or_output_is_not_a_panic() {
    let sim = start(tenant(200, 46, &[], 0.0)).await.unwrap();
    let dir = temp_dir("engine-safety", "closed-pipe");
    let mut child = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H"]).spawn().unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a closed standard error ends nothing");
    assert_eq!(event_uids(&dir.join("out/events.ndjson")).len(), sim.record_ids().len());
    // `engine run --dry-run 2>&1 | head -0`: both closed.
    let mut child = engine_run(&dir, sim.addr(), &["--dry-run", "--set", "range=PT3H"]).spawn().unwrap();
    drop(child.stderr.take());
    drop(child.stdout.take());
    assert_ne!(child.wait().unwrap().code(), Some(101), "no panic");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_token_expiry_assumes_the_default_lifetime_with_a_warning() {
    let sim = start(tenant(200, 47, &[Fault::BadExpiry], 0.0)).await.unwrap();
    let dir = temp_dir("engine-safety", "expiry");
    let out = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H"]).output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("`expirationTime` is not a date-time") && stderr.contains("assuming the token lasts PT15M"),
        "{stderr}"
    );
    assert!(sim.fault_counts().get(&Fault::BadExpiry).copied().unwrap_or(0) > 0);
    assert_eq!(event_uids(&dir.join("out/events.ndjson")).len(), sim.record_ids().len());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_that_is_an_error_info_shows_its_code_and_message() {
    let mut config = tenant(100, 48, &[Fault::OkErrorInfo], 1.0);
    config.faults.max_consecutive = u32::MAX;
    let sim = start(config).await.unwrap();
    let dir = temp_dir("engine-safety", "ok-error");
    let out = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H", "--max-retries", "1"]).output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("HTTP 200 with an error body: service_busy: The report service is busy"), "{stderr}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_retry_after_is_capped_by_the_setting_and_said_so() {
    let mut config = tenant(100, 49, &[Fault::TooManyRequests], 1.0);
    config.faults.retry_after_secs = 1_000_000_000;
    config.faults.max_consecutive = 1;
    let sim = start(config).await.unwrap();
    let dir = temp_dir("engine-safety", "retry-after");
    let mut child =
        engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H", "--max-retry-after", "0"]).spawn().unwrap();
    let status = wait_at_most(&mut child, Duration::from_secs(60));
    if status.is_none() {
        let _ = child.kill();
    }
    let (_, stderr) = outcome(&child.wait_with_output().unwrap());
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{stderr}");
    assert!(stderr.contains("the API asked for 1000000000 s; capped by --max-retry-after"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: POST {SIEM_PATH}: HTTP 429", sim.addr()))
            || stderr.contains(&format!("{}: login: POST {LOGIN_PATH}: HTTP 429", sim.addr())),
        "{stderr}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_asked_for_and_read_compressed() {
    let sim = start(tenant(300, 50, &[], 0.0)).await.unwrap();
    let dir = temp_dir("engine-safety", "gzip");
    let out = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H"]).output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(sim.gzip_responses() > 0, "answers were gzipped");
    assert_eq!(event_uids(&dir.join("out/events.ndjson")).len(), sim.record_ids().len());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_the_state_dir_says_what_to_do_and_never_claims_a_checkpoint() {
    let sim = start(tenant(200, 51, &[], 0.0)).await.unwrap();
    let dir = temp_dir("engine-safety", "disk-full");
    let first = engine_run(&dir, sim.addr(), &["--once", "--set", "range=PT3H"]).output().unwrap();
    assert_eq!(outcome(&first).0, Some(0), "{}", outcome(&first).1);
    // As if the first run had ended a minute earlier (so that the next runs have a window due
    // whatever the wall clock says when they start): its position moved back by less than the
    // overlap, whose ids the checkpoint keeps. New records arrive, dated after it; then the
    // disk holding the state is full (every write: ENOSPC).
    let watermark = common::pipeline::rewind_checkpoint(&dir);
    sim.insert_records_at(&(0..60).map(|i| watermark + i * 1000).collect::<Vec<_>>());
    let tmp = dir.join("state/entrust_idaas/audit.checkpoint.json.tmp");
    std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
    let out = engine_run(&dir, sim.addr(), &["--once"]).output().unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("`state/entrust_idaas` is full: free space there"), "{stderr}");
    assert!(stderr.contains("the checkpoint could not be written"), "{stderr}");
    assert!(!stderr.contains("everything acknowledged before the error is checkpointed"), "{stderr}");
    // Space again: the next run cuts off what was written past the checkpoint and fetches it
    // again; every record once.
    std::fs::remove_file(&tmp).unwrap();
    let again = engine_run(&dir, sim.addr(), &["--once"]).output().unwrap();
    assert_eq!(outcome(&again).0, Some(0), "{}", outcome(&again).1);
    let events = event_uids(&dir.join("out/events.ndjson"));
    assert_eq!(events.iter().collect::<BTreeSet<_>>().len(), events.len(), "no duplicates");
    assert_eq!(events.len(), sim.record_ids().len(), "nothing lost");
    // A state directory that cannot be made at all (under a file): exit 3, named, before anything.
    std::fs::write(dir.join("a-file"), "").unwrap();
    let out = engine_with(&dir, sim.addr(), "a-file/state", "out/elsewhere.ndjson", "out/elsewhere-dead.ndjson")
        .output()
        .unwrap();
    let (code, stderr) = outcome(&out);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot lock the state directory `a-file/state`") && stderr.contains("then run again"),
        "{stderr}"
    );
    assert!(!dir.join("out/elsewhere.ndjson").exists());
    sim.shutdown().await;
}
