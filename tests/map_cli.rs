//! `engine map` as a user runs it: the real binary over the bundled fixtures, files and
//! standard input, every input shape, `--set`, `--raw-data`, dead letters and exit codes,
//! input that is not UTF-8 or not JSON, and inputs that cannot be read.

use ocsf_engine::ocsf::validate;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Output {
    code: i32,
    events: Vec<Value>,
    dead: Vec<Value>,
}

fn map(args: &[&str], stdin: Option<&str>) -> Output {
    map_bytes(args, stdin.unwrap_or("").as_bytes())
}

fn map_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("map")
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let lines = |b: &[u8]| -> Vec<Value> {
        String::from_utf8_lossy(b)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    };
    Output { code: out.status.code().unwrap(), events: lines(&out.stdout), dead: lines(&out.stderr) }
}

/// Every fixture of the Entrust source, sorted; the deliberate dead letters last.
fn fixtures() -> (Vec<String>, Vec<String>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let mut stack = vec![root().join("tests/fixtures/entrust")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
                if rel.contains("/_") { bad.push(rel) } else { good.push(rel) }
            }
        }
    }
    good.sort();
    bad.sort();
    (good, bad)
}

fn record(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join(path)).unwrap()).unwrap()
}

#[test]
fn every_bundled_fixture_becomes_valid_ocsf_in_input_order() {
    let (good, _) = fixtures();
    assert!(good.len() >= 10);
    let mut args = vec!["sources/entrust.yaml"];
    args.extend(good.iter().map(String::as_str));
    let out = map(&args, None);
    assert_eq!(out.code, 0, "{:?}", out.dead);
    assert!(out.dead.is_empty());
    assert_eq!(out.events.len(), good.len());
    for (event, path) in out.events.iter().zip(&good) {
        assert_eq!(validate(event), Ok(()), "{path}");
        assert_eq!(event["metadata"]["uid"], record(path)["id"], "{path}: order");
        if event["class_uid"] == 3002 {
            // Without --set, the spec's example hostname.
            assert_eq!(event["dst_endpoint"]["hostname"], "example.us.trustedauth.com", "{path}");
        }
    }
}

#[test]
fn dead_letters_go_to_stderr_with_a_reason_and_exit_1() {
    let (good, bad) = fixtures();
    let mut args = vec!["sources/entrust.yaml", good[0].as_str()];
    args.extend(bad.iter().map(String::as_str));
    let out = map(&args, None);
    assert_eq!(out.code, 1);
    assert_eq!(out.events.len(), 1);
    let mut reasons: Vec<&str> = out.dead.iter().map(|d| d["reason"].as_str().unwrap()).collect();
    reasons.sort();
    assert_eq!(reasons, ["invalid_ocsf", "invalid_ocsf", "invalid_record", "no_mapping"]);
    for d in &out.dead {
        assert!(!d["record"].is_null() && d["message"].as_str().is_some_and(|m| !m.is_empty()), "{d}");
    }
}

#[test]
fn standard_input_ndjson_with_a_broken_line() {
    let rec = record("tests/fixtures/entrust/entity_management/groups/GROUPS_add.json").to_string();
    let input = format!("{rec}\nthis is not json\n\n{rec}\n[1, 2]\n");
    let out = map(&["sources/entrust.yaml"], Some(&input));
    assert_eq!(out.code, 1);
    assert_eq!(out.events.len(), 2);
    // The broken line, then the two elements of the array line, which are not objects.
    assert_eq!(out.dead.len(), 3);
    assert_eq!(out.dead[0]["reason"], "invalid_record");
    assert_eq!(out.dead[0]["record"], "this is not json");
    assert!(out.dead[0]["message"].as_str().unwrap().starts_with("<stdin>:2: not JSON"));
    assert_eq!((&out.dead[1]["reason"], &out.dead[1]["record"]), (&"invalid_record".into(), &1.into()));
    assert_eq!((&out.dead[2]["reason"], &out.dead[2]["record"]), (&"invalid_record".into(), &2.into()));
}

#[test]
fn an_api_page_and_a_json_array() {
    let a = record("tests/fixtures/entrust/authentication/AuthenticationPasswordSuccessEvent/success.json");
    let b = record("tests/fixtures/entrust/entity_management/users/USERS_edit.json");
    let dir = tempdir();
    let page = dir.join("page.json");
    std::fs::write(
        &page,
        serde_json::json!({"paging": {"limit": 2, "nextCursor": null}, "results": [a, b]}).to_string(),
    )
    .unwrap();
    let array = dir.join("array.json");
    std::fs::write(&array, serde_json::json!([b, a]).to_string()).unwrap();
    let out = map(&["sources/entrust.yaml", page.to_str().unwrap(), array.to_str().unwrap()], None);
    assert_eq!(out.code, 0);
    let classes: Vec<i64> = out.events.iter().map(|e| e["class_uid"].as_i64().unwrap()).collect();
    assert_eq!(classes, [3002, 3004, 3004, 3002]);
}

#[test]
fn a_saved_page_of_another_vendor_is_read_where_its_stream_reads_records() {
    // The Acme spec's stream has `records: data`; a page is its records, not one bad record.
    let record = std::fs::read_to_string(root().join("docs/examples/acme/record.json")).unwrap();
    let second = record.replace("s-1001", "s-1002");
    let page = format!("{{\"next\": \"c-2\", \"data\": [{}, {}]}}", record.trim(), second.trim());
    let out = map(&["docs/examples/acme/source.yaml"], Some(&page));
    assert_eq!(out.code, 0, "{:?}", out.dead);
    let uids: Vec<&Value> = out.events.iter().map(|e| &e["metadata"]["uid"]).collect();
    assert_eq!(uids, ["s-1001", "s-1002"]);
    // A page at `results`, which is not where this stream reads, is one record (no mapping).
    let elsewhere = format!("{{\"results\": [{}]}}", record.trim());
    let out = map(&["docs/examples/acme/source.yaml"], Some(&elsewhere));
    assert_eq!((out.code, out.events.len(), out.dead.len()), (1, 0, 1));
}

#[test]
fn set_and_raw_data() {
    let path = "tests/fixtures/entrust/authentication/SamlAuthenticationFailedEvent/failure.json";
    let out = map(&["sources/entrust.yaml", "--set", "hostname=acme.eu.trustedauth.com", "--raw-data", path], None);
    assert_eq!(out.code, 0);
    let event = &out.events[0];
    assert_eq!(event["dst_endpoint"]["hostname"], "acme.eu.trustedauth.com");
    let raw: Value = serde_json::from_str(event["raw_data"].as_str().unwrap()).unwrap();
    assert_eq!(raw, record(path));
}

#[test]
fn configuration_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["map", "sources/missing.yaml"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[E006]: cannot read `sources/missing.yaml`"));
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ocsf-engine-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_hostname_with_a_scheme_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["map", "sources/entrust.yaml", "--set", "hostname=https://acme.us.trustedauth.com/"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[E409]: parameter `hostname`: give the host name alone, without a scheme"),
        "{stderr}"
    );
    assert!(stderr.contains("help: pass --set hostname=<tenant>.<region>.trustedauth.com"), "{stderr}");
}

#[test]
fn a_line_that_is_not_utf8_is_a_dead_letter_with_its_line_and_bytes_and_the_rest_is_mapped() {
    let rec = record("tests/fixtures/entrust/entity_management/groups/GROUPS_add.json").to_string();
    let mut input = format!("{rec}\n{rec}\n{rec}\n").into_bytes();
    input.extend(b"{\"id\": \"bad\", \"eventType\": \"caf\xe9\"}\n");
    input.extend(format!("{rec}\n").as_bytes());
    let out = map_bytes(&["sources/entrust.yaml"], &input);
    assert_eq!(out.code, 1, "{:?}", out.dead);
    assert_eq!(out.events.len(), 4, "the lines around it are mapped");
    assert_eq!(out.dead.len(), 1);
    let d = &out.dead[0];
    assert_eq!(d["reason"], "invalid_record");
    assert!(d["message"].as_str().unwrap().starts_with("<stdin>:4: "), "{d}");
    assert_eq!(d["record"], "{\"id\": \"bad\", \"eventType\": \"caf\\xE9\"}", "its bytes, escaped");
}

#[test]
fn binary_garbage_on_standard_input_is_dead_letters_not_silence() {
    let garbage = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8\xff\xe0\x00\x10JFIF";
    let out = map_bytes(&["sources/entrust.yaml"], garbage);
    assert_eq!(out.code, 1);
    assert!(out.events.is_empty());
    assert_eq!(out.dead.len(), 3, "one per line: {:?}", out.dead);
    for (i, d) in out.dead.iter().enumerate() {
        assert_eq!(d["reason"], "invalid_record");
        assert!(d["message"].as_str().unwrap().starts_with(&format!("<stdin>:{}: not JSON", i + 1)), "{d}");
    }
    assert_eq!(out.dead[0]["record"], "\\x89PNG");
}

#[test]
fn a_record_the_parser_refuses_is_dead_lettered_alone_with_its_raw_text() {
    let a = record("tests/fixtures/entrust/authentication/AuthenticationPasswordSuccessEvent/success.json");
    let b = record("tests/fixtures/entrust/entity_management/users/USERS_edit.json");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let page = format!(
        r#"{{"paging": {{"nextCursor": null}}, "results": [{a}, {{"id": "n", "risk": 1e400}}, {deep}, {{"id": "s", "x": "\ud83d"}}, {b}]}}"#
    );
    let out = map(&["sources/entrust.yaml"], Some(&page));
    assert_eq!(out.code, 1);
    assert_eq!(out.events.len(), 2, "{:?}", out.dead.iter().map(|d| &d["message"]).collect::<Vec<_>>());
    let records: Vec<&str> = out.dead.iter().map(|d| d["record"].as_str().unwrap()).collect();
    assert_eq!(records, [r#"{"id": "n", "risk": 1e400}"#, deep.as_str(), r#"{"id": "s", "x": "\ud83d"}"#]);
    assert!(out.dead[0]["message"].as_str().unwrap().contains("1e400 cannot be kept exactly"));
    assert!(out.dead[1]["message"].as_str().unwrap().contains("100000 levels deep"));
}

#[test]
fn an_input_that_cannot_be_read_is_exit_2_naming_it() {
    let dir = tempdir().join("a-directory");
    std::fs::create_dir_all(&dir).unwrap();
    let good = "tests/fixtures/entrust/entity_management/users/USERS_edit.json";
    for input in [dir.to_str().unwrap(), "tests/no-such-records.ndjson"] {
        let out = Command::new(env!("CARGO_BIN_EXE_engine"))
            .args(["map", "sources/entrust.yaml", good, input])
            .current_dir(root())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{input}: {stderr}");
        assert!(stderr.contains(&format!("error: cannot read `{input}`")), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing mapped before the error");
    }
}

#[test]
fn a_byte_order_mark_crlf_line_ends_and_a_last_line_without_newline_are_read() {
    let a = record("tests/fixtures/entrust/authentication/AuthenticationPasswordSuccessEvent/success.json");
    let b = record("tests/fixtures/entrust/entity_management/users/USERS_edit.json");
    let out = map(&["sources/entrust.yaml"], Some(&format!("\u{feff}{a}\r\n\r\n{b}")));
    assert_eq!((out.code, out.events.len(), out.dead.len()), (0, 2, 0), "{:?}", out.dead);
    let dir = tempdir();
    let page = dir.join("page.json");
    let pretty = serde_json::to_string_pretty(&serde_json::json!({"paging": {"nextCursor": null}, "results": [a, b]}));
    std::fs::write(&page, format!("\u{feff}{}\r\n", pretty.unwrap().replace('\n', "\r\n"))).unwrap();
    let out = map(&["sources/entrust.yaml", page.to_str().unwrap()], None);
    assert_eq!((out.code, out.events.len(), out.dead.len()), (0, 2, 0), "{:?}", out.dead);
}
