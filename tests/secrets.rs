//! Secret hygiene of a whole pipeline: `engine run` against a simulated tenant, with every
//! fault on (so that errors, retries and logins are printed too) and the most verbose output
//! the engine has, leaves the shared secret, the application id and every auth token the
//! tenant issued out of standard output, standard error, the state directory, the events and
//! the dead letters (the application id may appear in events: the tenant audits its logins);
//! and the state files are private (0600).

mod common;

use common::pipeline::{engine_run, temp_dir};
use ocsf_engine::simulator::{Credentials, Fault, FaultConfig, SimConfig, start};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The most verbose flags `engine run` has.
const VERBOSE: &[&str] = &["-vv"];

const SHARED_SECRET: &str = "sEcReT-9f8e7d6c-shared";
const APPLICATION_ID: &str = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The needles: the shared secret, the application id unless the text holds audit records,
/// and each token with a long prefix of it (a token cut short still leaks).
fn needles(tokens: &[String], with_application_id: bool) -> Vec<(String, String)> {
    let mut n = vec![("the shared secret".to_string(), SHARED_SECRET.to_string())];
    if with_application_id {
        n.push(("the application id".to_string(), APPLICATION_ID.to_string()));
    }
    for t in tokens {
        n.push(("an auth token".into(), t.clone()));
        n.push(("the start of an auth token".into(), t[..32].to_string()));
    }
    n
}

fn assert_clean(what: &str, text: &str, needles: &[(String, String)]) {
    for (name, needle) in needles {
        assert!(!text.contains(needle.as_str()), "{name} appears in {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_and_no_token_leaves_the_process_in_any_output_or_state() {
    let sim = start(SimConfig {
        events: 600,
        // A seed whose schedule expires a token mid-paging and echoes the credentials.
        seed: 72,
        issuance_share: 0.05,
        end_time: Some(SystemTime::now() - Duration::from_secs(180)),
        span: Duration::from_secs(2 * 3600),
        credentials: Credentials {
            application_id: APPLICATION_ID.into(),
            shared_secret: SHARED_SECRET.into(),
            name: "Leak Test".into(),
        },
        faults: FaultConfig {
            kinds: Fault::ALL.into_iter().collect(),
            rate: 0.3,
            slow_delay: Duration::from_millis(30),
            retry_after_secs: 0,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let dir = temp_dir("engine-secrets", "pipeline");
    std::fs::write(dir.join("secret.txt"), SHARED_SECRET).unwrap();
    let credentials = ["--set", "client_id=${{env:ENGINE_TEST_APP_ID}}", "--set", "client_secret=${{file:secret.txt}}"];
    let mut outputs = Vec::new();
    // The run itself, and its dry run (whose standard output shows the events of a window,
    // audit records that may name the application).
    for (extra, stdout_holds_records) in [
        ([&["--once", "--batch-max-events", "25", "--set", "range=PT3H"][..], &credentials, VERBOSE].concat(), false),
        ([&["--dry-run"][..], &credentials, VERBOSE].concat(), true),
    ] {
        let out =
            engine_run(&dir, sim.addr(), &extra).env("ENGINE_TEST_APP_ID", APPLICATION_ID).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        outputs.push((format!("stdout of {extra:?}"), stdout, stdout_holds_records));
        outputs.push((format!("stderr of {extra:?}"), stderr, false));
    }
    let tokens = sim.issued_tokens();
    assert!(tokens.len() > 1, "several logins: {}", tokens.len());
    let counts = sim.fault_counts();
    assert!(counts.contains_key(&Fault::ExpireToken), "tokens expired mid-paging: {counts:?}");
    assert!(counts.contains_key(&Fault::EchoCredentials), "answers quoted the credentials: {counts:?}");
    let strict = needles(&tokens, true);
    let records = needles(&tokens, false);
    for (what, text, holds_records) in &outputs {
        assert_clean(what, text, if *holds_records { &records } else { &strict });
    }

    let written = files(&dir.join("state")).into_iter().chain(files(&dir.join("out"))).collect::<Vec<_>>();
    assert!(written.iter().any(|p| p.ends_with("events.ndjson")), "{written:?}");
    assert!(written.iter().any(|p| p.ends_with("dead.ndjson")), "{written:?}");
    assert!(written.iter().any(|p| p.to_string_lossy().ends_with(".checkpoint.json")), "{written:?}");
    for path in &written {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let audit_records = path.starts_with(dir.join("out"));
        assert_clean(&path.display().to_string(), &text, if audit_records { &records } else { &strict });
    }
    #[cfg(unix)]
    for path in files(&dir.join("state")) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is private", path.display());
    }
    sim.shutdown().await;
}
