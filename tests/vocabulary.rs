//! The source-spec vocabulary beyond Entrust's, worked through `docs/examples/globex/`: an
//! OAuth 2.0 client-credentials token (HTTP Basic or in the form, renewed once on a 401) and
//! paging by offset or by page number, against a scripted vendor on loopback that caps its page
//! size below what is asked for, and one that ignores the offset altogether.

mod common;

use common::library::quick_options;
use common::pipeline::{event_uids, once_each, root, temp_dir};
use common::scripted::{self, Answer, Request};
use ocsf_engine::mapping::{MapOptions, MappingSet};
use ocsf_engine::runner::checkpoint::CheckpointStore;
use ocsf_engine::runner::clock::Clock;
use ocsf_engine::runner::summary::Summary;
use ocsf_engine::runner::{Outputs, RunOptions, prepare, run_stream};
use ocsf_engine::sink::{DeadLetterFile, FileSink};
use ocsf_engine::source::SourceSpec;
use ocsf_engine::source::auth::{AuthSpec, ClientAuth};
use ocsf_engine::source::paging::PagingSpec;
use ocsf_engine::source::timefmt::{iso_millis, parse_datetime};
use ocsf_engine::source::values::run_params;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// The run's clock: records are dated in the five hours before it.
const NOW_MS: i64 = 1_780_000_000_000;
const CLIENT_ID: &str = "ocsf-engine";
/// With characters that form encoding changes, as RFC 6749 §2.3.1 asks for HTTP Basic.
const CLIENT_SECRET: &str = "s3cret+/:x y";
/// The most records the vendor puts in a page, whatever `limit` asks for (the spec asks 200).
const CAP: usize = 50;

/// How the scripted vendor behaves.
#[derive(Clone, Copy)]
struct Vendor {
    /// How the client must authenticate to the token endpoint.
    client_auth: ClientAuth,
    /// Tokens are refused (401) after this many audit requests each: renewed early.
    token_uses: u64,
    /// Every page is the first one, whatever offset is asked for.
    ignores_offset: bool,
    /// Whether, and how, the audit endpoint names its next page in a `Link` header.
    links: Links,
}

/// How the scripted vendor writes its `Link` header's next page.
#[derive(Clone, Copy, PartialEq)]
enum Links {
    /// No `Link` header.
    None,
    /// An absolute URL on the vendor's own origin.
    Absolute,
    /// A path and query, relative to the request.
    Relative,
    /// An absolute URL on another origin (a server the token must never reach).
    Foreign(std::net::SocketAddr),
}

/// The tenant's sign-ins: `(time, id)`, sorted, in the five hours before the run's clock.
fn records(n: usize) -> Vec<(i64, String)> {
    records_before(NOW_MS, n, "g")
}

/// `n` records of kind `prefix` (`g` sign-ins, `a` administration) in the five hours before
/// `end_ms`, sorted.
fn records_before(end_ms: i64, n: usize, prefix: &str) -> Vec<(i64, String)> {
    let span = 5 * 3_600_000;
    let mut out: Vec<(i64, String)> =
        (0..n).map(|i| (end_ms - span + (i as i64 * 7_919_123) % span, format!("{prefix}-{i:05}"))).collect();
    out.sort();
    out
}

fn record_json(time: i64, id: &str) -> serde_json::Value {
    if id.starts_with("a-") {
        let action = ["group.create", "group.update", "group.delete"][id.len() % 3];
        return serde_json::json!({
            "id": id, "action": action, "time": iso_millis(time), "actor": "admin-carol",
            "group_id": "grp-42", "group": "Auditors", "ip": "198.51.100.9",
        });
    }
    let outcome = if id.ends_with('7') { "denied" } else { "ok" };
    serde_json::json!({
        "id": id, "action": "user.signin", "time": iso_millis(time), "actor": "bob",
        "outcome": outcome, "ip": "198.51.100.7",
    })
}

fn query(req: &Request) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("http://x{}", req.path)).unwrap();
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn form(body: &str) -> Vec<(String, String)> {
    query(&Request { method: String::new(), path: format!("/?{body}"), headers: vec![], body: String::new() })
}

/// Serves the token endpoint and the audit endpoint of `vendor` over `data`.
async fn serve(vendor: Vendor, data: Arc<Vec<(i64, String)>>) -> scripted::Scripted {
    let issued = Arc::new(AtomicU64::new(0));
    let uses = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<String, u64>::new()));
    scripted::serve(move |req| {
        if req.path == "/oauth2/token" {
            let form = form(&req.body);
            let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let expected_basic =
                format!("Basic {}", base64_of(&format!("{}:{}", encode(CLIENT_ID), encode(CLIENT_SECRET))));
            let authenticated = match vendor.client_auth {
                ClientAuth::Basic => {
                    req.header("authorization") == Some(expected_basic.as_str()) && get("client_secret").is_none()
                }
                ClientAuth::Post => {
                    get("client_id").as_deref() == Some(CLIENT_ID)
                        && get("client_secret").as_deref() == Some(CLIENT_SECRET)
                        && req.header("authorization").is_none()
                }
            };
            if req.method != "POST"
                || get("grant_type").as_deref() != Some("client_credentials")
                || get("scope").as_deref() != Some("audit.read")
                || !authenticated
            {
                // Quoting what it was sent, as a careless server does.
                let sent = format!("{} {}", req.header("authorization").unwrap_or(""), req.body);
                let body =
                    serde_json::json!({"error": "invalid_client", "error_description": format!("refused {sent}")});
                return Answer::json(401, body.to_string());
            }
            let n = issued.fetch_add(1, Ordering::SeqCst);
            return Answer::json(
                200,
                format!(r#"{{"access_token":"at-{n}-9f8e7d6c5b4a","token_type":"Bearer","expires_in":3600}}"#),
            );
        }
        let token = req.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("").to_string();
        if !token.starts_with("at-") {
            return Answer::json(401, r#"{"error":"invalid_token"}"#);
        }
        {
            let mut uses = uses.lock().unwrap();
            let used = uses.entry(token).or_default();
            *used += 1;
            if *used > vendor.token_uses {
                return Answer::json(401, r#"{"error":"invalid_token","error_description":"expired"}"#);
            }
        }
        // The administration log: a POST of `{range: {from, to}, size, page}`.
        let admin = req.path == "/api/v2/admin-events/search";
        let (q, prefix) = if admin {
            let body: serde_json::Value = serde_json::from_str(&req.body).unwrap_or_default();
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            let pairs = [
                ("from", &body["range"]["from"]),
                ("to", &body["range"]["to"]),
                ("limit", &body["size"]),
                ("page", &body["page"]),
            ];
            (pairs.into_iter().filter_map(|(k, v)| Some((k.to_string(), text(v)?))).collect(), "a-")
        } else {
            (query(req), "g-")
        };
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let from = get("from").and_then(|s| parse_datetime(&s)).unwrap_or(i64::MIN);
        let to = get("to").and_then(|s| parse_datetime(&s)).unwrap_or(i64::MAX);
        let limit: usize = get("limit").and_then(|s| s.parse().ok()).unwrap_or(CAP).min(CAP);
        let skip = match (get("offset"), get("page")) {
            _ if vendor.ignores_offset => 0,
            _ if vendor.links != Links::None => get("skip").and_then(|s| s.parse().ok()).unwrap_or(0),
            (Some(o), _) => o.parse().unwrap_or(0),
            (None, Some(p)) => (p.parse::<usize>().unwrap_or(1).max(1) - 1) * limit,
            (None, None) => 0,
        };
        let items: Vec<_> = data
            .iter()
            .filter(|(t, id)| id.starts_with(prefix) && *t >= from && *t < to)
            .skip(skip)
            .take(limit)
            .map(|(t, id)| record_json(*t, id))
            .collect();
        let mut answer = Answer::json(200, serde_json::json!({ "items": items }).to_string());
        let more = data.iter().filter(|(t, id)| id.starts_with(prefix) && *t >= from && *t < to).count() > skip + limit;
        if more && vendor.links != Links::None {
            let (f, t) = (encode(&get("from").unwrap_or_default()), encode(&get("to").unwrap_or_default()));
            let next = format!("/api/v2/audit?from={f}&to={t}&limit={limit}&skip={}", skip + limit);
            let target = match vendor.links {
                Links::Absolute => format!("http://{}{next}", req.header("host").unwrap_or("")),
                Links::Foreign(addr) => format!("http://{addr}{next}"),
                _ => next,
            };
            answer
                .headers
                .push(("Link".into(), format!(r#"<{target}>; rel="next", </api/v2/audit?skip=0>; rel="first""#)));
        }
        answer
    })
    .await
}

fn encode(s: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/").unwrap();
    url.query_pairs_mut().append_key_only(s);
    url.query().unwrap().to_string()
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// One `--once` run of the Globex example (with `paging` and `client_auth` as given) into a
/// file sink in `dir`.
async fn try_run(
    addr: std::net::SocketAddr,
    dir: &Path,
    paging: Option<PagingSpec>,
    client_auth: ClientAuth,
) -> Result<Summary, String> {
    try_run_reading(addr, dir, paging, client_auth, true).await
}

/// [`try_run`], with pages read ahead or (`read_ahead: false`, `--no-read-ahead`) each asked
/// for only when the runner needs it.
async fn try_run_reading(
    addr: std::net::SocketAddr,
    dir: &Path,
    paging: Option<PagingSpec>,
    client_auth: ClientAuth,
    read_ahead: bool,
) -> Result<Summary, String> {
    let mut spec = SourceSpec::load(&root().join("docs/examples/globex/source.yaml")).expect("the example loads");
    if let Some(AuthSpec::OAuth2(o)) = spec.auth.as_mut() {
        o.client_auth = client_auth;
    }
    let mut stream = spec.streams[0].clone();
    stream.window = Duration::from_secs(3600);
    stream.settle_delay = Duration::ZERO;
    if let Some(p) = paging {
        stream.paging = p;
    }
    let sets: Vec<(String, String)> = [
        ("hostname", addr.to_string()),
        ("client_id", CLIENT_ID.into()),
        ("client_secret", CLIENT_SECRET.into()),
        ("range", "PT6H".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let params = run_params(&spec, &sets, None).expect("params");
    let prepared = prepare(&spec, &stream, &params, true).expect("prepared");
    let mappings = MappingSet::load(&spec.mappings, &params.public(), MapOptions::default()).expect("mappings");
    let mut sink = FileSink::open(&dir.join("events.ndjson"), 1 << 30, false).expect("file sink");
    let mut dead = DeadLetterFile::new(&dir.join("dead.ndjson"), false);
    let store = CheckpointStore::new(&dir.join("state"), &spec.name, &stream.name);
    let opts = RunOptions {
        clock: Clock::fixed(NOW_MS + 60_000),
        read_ahead,
        ..quick_options(100, Duration::from_millis(20), Duration::from_secs(5))
    };
    let (_stop_tx, stop_rx) = watch::channel(false);
    let outputs = Outputs { sink: &mut sink, dead_letters: &mut dead, store: &store };
    run_stream(&spec, &stream, &params, &mappings, &prepared, outputs, &opts, stop_rx).await.map_err(|f| f.message)
}

async fn run(addr: std::net::SocketAddr, dir: &Path, paging: Option<PagingSpec>, client_auth: ClientAuth) -> Summary {
    try_run(addr, dir, paging, client_auth).await.expect("the run succeeds")
}

fn truth(data: &[(i64, String)]) -> BTreeSet<String> {
    data.iter().map(|(_, id)| id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_paging_with_a_basic_client_reads_every_record_once_through_capped_pages() {
    let data = Arc::new(records(700));
    let server = serve(
        Vendor { client_auth: ClientAuth::Basic, token_uses: u64::MAX, ignores_offset: false, links: Links::None },
        data.clone(),
    )
    .await;
    let dir = temp_dir("engine-vocabulary", "offset-basic");
    let summary = run(server.addr, &dir, None, ClientAuth::Basic).await;
    assert_eq!(once_each("events", &event_uids(&dir.join("events.ndjson"))), truth(&data));
    assert_eq!(summary.logins, 1, "{summary:?}");
    let requests = server.requests();
    let audits: Vec<&Request> = requests.iter().filter(|r| r.path.starts_with("/api/v2/audit")).collect();
    // In each window, offsets step by what each page held (capped at 50 of the 200 asked
    // for: a short page is not the end) up to the window's count, whose page is empty.
    let mut windows: std::collections::BTreeMap<(String, String), Vec<usize>> = Default::default();
    for r in &audits {
        let q = query(r);
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).expect(k);
        windows.entry((get("from"), get("to"))).or_default().push(get("offset").parse().unwrap());
    }
    assert!(windows.len() >= 5, "{windows:?}");
    for ((from, to), offsets) in &windows {
        let (lo, hi) = (parse_datetime(from).unwrap(), parse_datetime(to).unwrap());
        let n = data.iter().filter(|(t, _)| *t >= lo && *t < hi).count();
        let mut expected: Vec<usize> = (0..n).step_by(CAP).collect();
        expected.push(n);
        assert_eq!(offsets, &expected, "window {from} – {to} of {n} records");
    }
    assert!(windows.values().any(|o| o.len() > 2), "some window took several pages: {windows:?}");
    assert!(audits.iter().all(|r| r.header("authorization") == Some("Bearer at-0-9f8e7d6c5b4a")));
    // The secret travelled in the token request's Basic header only.
    for r in &requests {
        assert!(!r.body.contains(CLIENT_SECRET) && !r.path.contains("s3cret"), "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_paging_with_a_post_client_renews_a_token_refused_early_and_reads_every_record_once() {
    let data = Arc::new(records(430));
    let vendor = Vendor { client_auth: ClientAuth::Post, token_uses: 4, ignores_offset: false, links: Links::None };
    let server = serve(vendor, data.clone()).await;
    let dir = temp_dir("engine-vocabulary", "page-post");
    let paging = PagingSpec::Page { request: vec!["page".into()], start: 1 };
    let summary = run(server.addr, &dir, Some(paging), ClientAuth::Post).await;
    assert_eq!(once_each("events", &event_uids(&dir.join("events.ndjson"))), truth(&data));
    // Each token serves four requests, then a 401 asks for a new one, once.
    assert!(summary.logins >= 3 && summary.unauthorized == summary.logins - 1, "{summary:?}");
    let requests = server.requests();
    let pages: BTreeSet<u64> = requests
        .iter()
        .filter(|r| r.path.starts_with("/api/v2/audit"))
        .map(|r| query(r).into_iter().find(|(k, _)| k == "page").expect("a page number").1.parse().unwrap())
        .collect();
    assert!(pages.contains(&1) && pages.contains(&2) && !pages.contains(&0), "{pages:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_that_ignores_the_offset_ends_each_window_with_a_stall_not_a_loop() {
    let data = Arc::new(records(300));
    let vendor =
        Vendor { client_auth: ClientAuth::Basic, token_uses: u64::MAX, ignores_offset: true, links: Links::None };
    let server = serve(vendor, data.clone()).await;
    // Pages asked for only when needed, then read ahead: a page fetched ahead and dropped when
    // paging restarts costs at most the read-ahead's depth more a window, never a loop.
    for (read_ahead, extra) in [(false, 0), (true, ocsf_engine::runner::read_ahead::DEPTH)] {
        let dir = temp_dir("engine-vocabulary", &format!("ignored-offset-{read_ahead}"));
        let before = server.requests().len();
        let summary = try_run_reading(server.addr, &dir, None, ClientAuth::Basic, read_ahead).await.expect("runs");
        let events = once_each("events", &event_uids(&dir.join("events.ndjson")));
        assert!(summary.paging_stalls > 0, "{summary:?}");
        assert_eq!(summary.read_ahead > 0, read_ahead, "{summary:?}");
        // A page of records met before ends the paging at once; the next query starts from the
        // newest record, which such a vendor honours: every record arrives, once, in a few
        // requests a window.
        assert_eq!(events, truth(&data));
        let audits = server.requests()[before..].iter().filter(|r| r.path.starts_with("/api/v2/audit")).count();
        assert!(audits <= 7 * (15 + extra), "{audits} requests for 7 windows: {summary:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_client_credentials_end_the_run_with_the_servers_reason_and_no_secret() {
    // The vendor expects the other way of sending the id and secret, and quotes what it got.
    for (expects, sends) in [(ClientAuth::Post, ClientAuth::Basic), (ClientAuth::Basic, ClientAuth::Post)] {
        let vendor = Vendor { client_auth: expects, token_uses: u64::MAX, ignores_offset: false, links: Links::None };
        let server = serve(vendor, Arc::new(records(10))).await;
        let dir = temp_dir("engine-vocabulary", &format!("refused-{sends:?}"));
        let failure = try_run(server.addr, &dir, None, sends).await.expect_err("refused credentials fail the run");
        assert!(failure.contains("token request failed") && failure.contains("invalid_client"), "{failure}");
        let basic = base64_of(&format!("{}:{}", encode(CLIENT_ID), encode(CLIENT_SECRET)));
        for secret in [CLIENT_SECRET, "s3cret", &encode(CLIENT_SECRET), &basic] {
            assert!(!failure.contains(secret), "{secret} in {failure}");
        }
        assert!(failure.contains("grant_type=client_credentials"), "the answer is quoted: {failure}");
    }
}

/// The Globex example in a directory of its own, its `base_url` on plain http (accepted for a
/// loopback address).
fn example_copy(dir: &Path) -> std::path::PathBuf {
    let from = root().join("docs/examples/globex");
    std::fs::create_dir_all(dir.join("globex/mappings")).unwrap();
    for entry in std::fs::read_dir(from.join("mappings")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("globex/mappings").join(path.file_name().unwrap())).unwrap();
    }
    let spec = std::fs::read_to_string(from.join("source.yaml")).unwrap();
    assert!(spec.contains("base_url: \"https://"));
    let spec = spec.replace("base_url: \"https://", "base_url: \"http://");
    std::fs::write(dir.join("globex/source.yaml"), spec).unwrap();
    dir.join("globex/source.yaml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_run_of_a_spec_of_two_streams_runs_both_each_with_its_checkpoint_and_files() {
    let now = ocsf_engine::source::timefmt::now_ms();
    let mut data = records_before(now - 60_000, 260, "g");
    data.extend(records_before(now - 60_000, 140, "a"));
    let data = Arc::new(data);
    let server = serve(
        Vendor { client_auth: ClientAuth::Basic, token_uses: u64::MAX, ignores_offset: false, links: Links::None },
        data.clone(),
    )
    .await;
    let dir = temp_dir("engine-vocabulary", "two-streams");
    let spec = example_copy(&dir);
    let run_in = |state: &str, output: &str, extra: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_engine"));
        cmd.current_dir(&dir)
            .arg("run")
            .arg(&spec)
            .args(["--once", "--state-dir", state, "--output", output])
            .args(["--set", &format!("hostname={}", server.addr), "--set", &format!("client_id={CLIENT_ID}")])
            .args(["--set", &format!("client_secret={CLIENT_SECRET}"), "--set", "range=PT6H"])
            .args(extra);
        cmd.output().expect("engine runs")
    };
    let run = |extra: &[&str]| run_in("state", "out/events.ndjson", extra);
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 streams of") && stderr.contains("streams:\n"), "{stderr}");
    let kind = |prefix: &str| -> BTreeSet<String> {
        data.iter().filter(|(_, id)| id.starts_with(prefix)).map(|(_, id)| id.clone()).collect()
    };
    assert_eq!(once_each("audit", &event_uids(&dir.join("out/events.audit.ndjson"))), kind("g-"));
    assert_eq!(once_each("admin", &event_uids(&dir.join("out/events.admin.ndjson"))), kind("a-"));
    for stream in ["audit", "admin"] {
        let checkpoint = dir.join(format!("state/{stream}/globex_directory/{stream}.checkpoint.json"));
        assert!(checkpoint.exists(), "{}", checkpoint.display());
    }
    assert!(!stderr.contains("s3cret"), "{stderr}");
    // The administration log was paged by page number, in the body.
    let pages: BTreeSet<u64> = server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v2/admin-events/search")
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok()?["page"].as_u64())
        .collect();
    assert!(pages.contains(&1) && pages.contains(&2), "{pages:?}");
    // Again: each stream resumes from its own checkpoint, and nothing is written twice.
    let again = run(&[]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(once_each("audit", &event_uids(&dir.join("out/events.audit.ndjson"))), kind("g-"));
    assert_eq!(once_each("admin", &event_uids(&dir.join("out/events.admin.ndjson"))), kind("a-"));
    // One stream by name; a name that is not a stream is refused with the closest one.
    let one = run_in("state-admin", "out/admin-only.ndjson", &["--stream", "admin"]);
    assert_eq!(one.status.code(), Some(0), "{}", String::from_utf8_lossy(&one.stderr));
    assert_eq!(once_each("admin only", &event_uids(&dir.join("out/admin-only.ndjson"))), kind("a-"));
    let typo = run(&["--stream", "admn"]);
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert_eq!(typo.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no such stream") && stderr.contains("did you mean `admin`"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_header_paging_follows_absolute_and_relative_next_links_on_the_apis_origin() {
    for links in [Links::Absolute, Links::Relative] {
        let data = Arc::new(records(333));
        let vendor = Vendor { client_auth: ClientAuth::Basic, token_uses: u64::MAX, ignores_offset: false, links };
        let server = serve(vendor, data.clone()).await;
        let dir =
            temp_dir("engine-vocabulary", if links == Links::Absolute { "link-absolute" } else { "link-relative" });
        let summary =
            run(server.addr, &dir, Some(PagingSpec::LinkHeader { rel: "next".into() }), ClientAuth::Basic).await;
        assert_eq!(once_each("events", &event_uids(&dir.join("events.ndjson"))), truth(&data));
        let audits: Vec<Request> =
            server.requests().into_iter().filter(|r| r.path.starts_with("/api/v2/audit")).collect();
        // The first page of each window from the stream's query, every next one from a link.
        let followed = audits.iter().filter(|r| r.path.contains("skip=")).count();
        assert!(followed > 0 && followed + summary.windows as usize == audits.len(), "{followed} of {}", audits.len());
        assert!(audits.iter().all(|r| r.header("authorization").is_some_and(|h| h.starts_with("Bearer at-"))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_to_another_origin_is_not_followed_and_the_token_never_goes_there() {
    let elsewhere = scripted::serve(|_| Answer::json(200, r#"{"items": []}"#)).await;
    let data = Arc::new(records(400));
    let vendor = Vendor {
        client_auth: ClientAuth::Basic,
        token_uses: u64::MAX,
        ignores_offset: false,
        links: Links::Foreign(elsewhere.addr),
    };
    let server = serve(vendor, data).await;
    let dir = temp_dir("engine-vocabulary", "link-foreign");
    let failure = try_run(server.addr, &dir, Some(PagingSpec::LinkHeader { rel: "next".into() }), ClientAuth::Basic)
        .await
        .expect_err("a link off the API's origin fails the run");
    assert!(failure.contains("is not followed") && failure.contains(&elsewhere.addr.to_string()), "{failure}");
    assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.requests());
    // What was read before the link is delivered and committed.
    assert!(!event_uids(&dir.join("events.ndjson")).is_empty());
}
