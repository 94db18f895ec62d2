//! The built-in Entrust IDaaS simulator, exercised over real HTTP on loopback with reqwest.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant, UNIX_EPOCH};

use ocsf_engine::simulator::{
    DEMO_APPLICATION_ID, DEMO_SHARED_SECRET, Fault, FaultConfig, SimConfig, SimHandle, start,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const LOGIN: &str = "/api/web/v1/adminapi/authenticate";
const SIEM: &str = "/api/web/v2/reports/auditeventspaged/siem";
const SIEM_V1: &str = "/api/web/v1/reports/auditeventspaged/siem";
const SEARCH: &str = "/api/web/v2/reports/auditeventspaged";

/// 2025-12-01T00:00:00Z: the fixed end of generated data, so that runs are reproducible.
const END_SECS: u64 = 1_764_547_200;

/// The 25 keys of `AccountAuditEvent` in Entrust's OpenAPI document.
const KEYS: [&str; 25] = [
    "id",
    "accountId",
    "eventTime",
    "eventCategory",
    "eventOutcome",
    "eventType",
    "eventVersion",
    "message",
    "subject",
    "subjectName",
    "subjectType",
    "sourceIp",
    "resourceId",
    "resourceName",
    "token",
    "entityType",
    "entityId",
    "entityName",
    "entityAction",
    "requiredPermission",
    "subscriberAdminRoleId",
    "subscriberAdminRoleName",
    "serviceProviderAdminRoleId",
    "serviceProviderAdminRoleName",
    "auditDetails",
];

fn config(events: usize, seed: u64) -> SimConfig {
    SimConfig { events, seed, end_time: Some(UNIX_EPOCH + Duration::from_secs(END_SECS)), ..SimConfig::default() }
}

async fn sim(config: SimConfig) -> SimHandle {
    start(config).await.expect("simulator starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client")
}

/// Unix ms from the eventTime forms Entrust uses: `…Z`, `….sssZ`, `….sss+0000`, no zone.
/// Written independently of the simulator's own parser.
fn parse_ms(s: &str) -> i64 {
    let n = |a: usize, b: usize| -> i64 { s[a..b].parse().unwrap_or_else(|_| panic!("bad time {s}")) };
    let (y, mo, d) = (n(0, 4), n(5, 7), n(8, 10));
    let (h, mi, sec) = (n(11, 13), n(14, 16), n(17, 19));
    let rest = &s[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let digits = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            let mut f = r[..digits].to_string();
            f.truncate(3);
            while f.len() < 3 {
                f.push('0');
            }
            (f.parse::<i64>().expect("fraction"), &r[digits..])
        }
        None => (0, rest),
    };
    assert!(matches!(zone, "" | "Z" | "+0000"), "unexpected zone in {s}");
    let (yy, mm) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400) + h * 3600 + mi * 60 + sec) * 1000 + frac
}

fn fmt_secs(ms: i64, zone: &str) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000) / 1000;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{zone}", rem / 3600, rem / 60 % 60, rem % 60)
}

fn start_attr(value: &str) -> Value {
    json!({"name": "startTime", "operator": "GREATER_THAN_OR_EQUAL", "value": value})
}

fn end_attr(value: &str) -> Value {
    json!({"name": "endTime", "operator": "LESS_THAN_OR_EQUAL", "value": value})
}

fn assert_error_info(body: &Value, code: &str) {
    let obj = body.as_object().unwrap_or_else(|| panic!("ErrorInfo object expected: {body}"));
    assert_eq!(obj.get("errorCode").and_then(Value::as_str), Some(code), "{body}");
    assert!(obj.get("errorMessage").and_then(Value::as_str).is_some_and(|m| !m.is_empty()));
    assert!(obj.get("parameters").is_some_and(Value::is_array));
}

async fn post(client: &reqwest::Client, url: String, auth: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut req = client.post(url).json(body);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, value)
}

async fn login(client: &reqwest::Client, sim: &SimHandle) -> String {
    let (status, body) = post(
        client,
        format!("{}{LOGIN}", sim.base_url()),
        None,
        &json!({"applicationId": sim.credentials().application_id, "sharedSecret": sim.credentials().shared_secret}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["authToken"].as_str().expect("token").to_string()
}

/// Pages a SIEM query to its end on a fault-free simulator; returns every record in order.
async fn siem_all(client: &reqwest::Client, sim: &SimHandle, token: &str, first: Value) -> Vec<Value> {
    let url = format!("{}{SIEM}", sim.base_url());
    let mut out = Vec::new();
    let mut body = first.clone();
    for _ in 0..10_000 {
        let (status, page) = post(client, url.clone(), Some(token), &body).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let results = page["results"].as_array().expect("results");
        out.extend(results.iter().cloned());
        match page["paging"]["nextCursor"].as_str() {
            Some(c) => {
                assert!(!results.is_empty(), "a page with a next cursor is never empty");
                body = first.clone();
                body["cursor"] = json!(c);
            }
            None => {
                assert!(page["paging"]["nextCursor"].is_null(), "nextCursor is null at the end");
                return out;
            }
        }
    }
    panic!("paging did not end");
}

fn ids(records: &[Value]) -> Vec<String> {
    records.iter().map(|r| r["id"].as_str().expect("id").to_string()).collect()
}

fn position(r: &Value) -> (i64, String) {
    (parse_ms(r["eventTime"].as_str().expect("eventTime")), r["id"].as_str().expect("id").to_string())
}

#[tokio::test]
async fn login_success_and_error_bodies() {
    let sim = sim(config(50, 1)).await;
    let client = http();
    let url = format!("{}{LOGIN}", sim.base_url());
    assert_eq!(sim.credentials().application_id, DEMO_APPLICATION_ID);
    assert_eq!(sim.base_url(), format!("http://{}", sim.hostname()));
    assert!(sim.addr().ip().is_loopback());

    let (status, body) = post(
        &client,
        url.clone(),
        None,
        &json!({"applicationId": DEMO_APPLICATION_ID, "sharedSecret": DEMO_SHARED_SECRET}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let obj = body.as_object().expect("object");
    assert_eq!(obj.len(), 3, "{body}");
    let token = obj["authToken"].as_str().expect("token");
    assert!(token.len() >= 1000, "long opaque token");
    assert!(!token.contains(DEMO_SHARED_SECRET) && !token.contains(DEMO_APPLICATION_ID));
    let created = obj["creationTime"].as_str().expect("creationTime");
    let expires = obj["expirationTime"].as_str().expect("expirationTime");
    for t in [created, expires] {
        assert_eq!(t.len(), 20, "YYYY-MM-DDTHH:MM:SSZ: {t}");
        assert!(t.ends_with('Z'));
    }
    assert_eq!(parse_ms(expires) - parse_ms(created), 900_000, "default TTL 15 min");

    // A second login gets a different token.
    let (_, again) = post(
        &client,
        url.clone(),
        None,
        &json!({"applicationId": DEMO_APPLICATION_ID, "sharedSecret": DEMO_SHARED_SECRET}),
    )
    .await;
    assert_ne!(again["authToken"].as_str(), Some(token));

    let (status, body) =
        post(&client, url.clone(), None, &json!({"applicationId": DEMO_APPLICATION_ID, "sharedSecret": "wrong"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_info(&body, "access_denied");

    let (status, body) = post(
        &client,
        url.clone(),
        None,
        &json!({"applicationId": "00000000-0000-4000-8000-000000000000", "sharedSecret": DEMO_SHARED_SECRET}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_info(&body, "api_application_not_found");

    for bad in [
        json!({"sharedSecret": DEMO_SHARED_SECRET}),
        json!({"applicationId": 7, "sharedSecret": DEMO_SHARED_SECRET}),
        json!({"applicationId": DEMO_APPLICATION_ID, "sharedSecret": DEMO_SHARED_SECRET, "enableWebSession": "yes"}),
        json!([1, 2]),
        json!(null),
    ] {
        let (status, body) = post(&client, url.clone(), None, &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["errorCode"].is_string(), "{body}");
    }
    let resp = client
        .post(url.clone())
        .header("Content-Type", "application/json")
        .body("{\"applicationId\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let resp = client.get(url).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let resp = client.get(format!("{}/api/web/v9/nothing", sim.base_url())).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Each successful login is itself an audit record.
    let tenant = sim.records();
    let logins: Vec<&Value> = tenant
        .iter()
        .filter(|r| r["eventType"] == "AuthenticationAdminApiSuccessEvent" && r["subject"] == DEMO_APPLICATION_ID)
        .filter(|r| r["sourceIp"] == "127.0.0.1")
        .collect();
    assert_eq!(logins.len(), 2);
    assert_eq!(logins[0]["subjectType"], "ADMIN_API");
    assert_eq!(logins[0]["subjectName"], sim.credentials().name.as_str());
    sim.shutdown().await;
}

#[tokio::test]
async fn token_header_forms_missing_unknown_and_expired() {
    let sim = sim(SimConfig { token_ttl: Duration::from_secs(1), ..config(30, 2) }).await;
    let client = http();
    let token = login(&client, &sim).await;
    let url = format!("{}{SIEM}", sim.base_url());
    let body = json!({"limit": 5, "searchByAttributes": [start_attr("2025-11-30T00:00:00")]});
    let issued_at = Instant::now();

    let (status, page) = post(&client, url.clone(), Some(&token), &body).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, _) = post(&client, url.clone(), Some(&format!("Bearer {token}")), &body).await;
    assert_eq!(status, StatusCode::OK);
    let options = client
        .request(reqwest::Method::OPTIONS, url.clone())
        .header("Authorization", &token)
        .send()
        .await
        .expect("options");
    assert_eq!(options.status(), StatusCode::OK);

    let (status, err) = post(&client, url.clone(), None, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(err["errorCode"].is_string());
    let (status, err) = post(&client, url.clone(), Some("Bearer not-a-token"), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(err["errorCode"].is_string());

    // Wait out the 1 s lifetime, and no longer.
    let left = Duration::from_millis(1050).saturating_sub(issued_at.elapsed());
    tokio::time::sleep(left).await;
    let (status, err) = post(&client, url.clone(), Some(&token), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_info(&err, "invalid_session_token");
    let options = client
        .request(reqwest::Method::OPTIONS, url.clone())
        .header("Authorization", &token)
        .send()
        .await
        .expect("options");
    assert_eq!(options.status(), StatusCode::UNAUTHORIZED);

    // A new login works again.
    let fresh = login(&client, &sim).await;
    let (status, _) = post(&client, url, Some(&fresh), &body).await;
    assert_eq!(status, StatusCode::OK);
    sim.shutdown().await;
}

#[tokio::test]
async fn web_session_cookie_is_required_when_enabled() {
    let sim = sim(config(30, 3)).await;
    let client = http();
    let resp = client
        .post(format!("{}{LOGIN}", sim.base_url()))
        .json(&json!({"applicationId": DEMO_APPLICATION_ID, "sharedSecret": DEMO_SHARED_SECRET, "enableWebSession": true}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("session cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    assert!(cookie.starts_with("INTELLITRUST_SESSION_ID="));
    let token = resp.json::<Value>().await.expect("json")["authToken"].as_str().expect("token").to_string();
    let url = format!("{}{SIEM}", sim.base_url());
    let body = json!({"searchByAttributes": [start_attr("2025-11-30T00:00:00")]});
    let (status, err) = post(&client, url.clone(), Some(&token), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(err["errorCode"].is_string());
    let resp = client
        .post(url)
        .header("Authorization", &token)
        .header("Cookie", &cookie)
        .json(&body)
        .send()
        .await
        .expect("with cookie");
    assert_eq!(resp.status(), StatusCode::OK);
    sim.shutdown().await;
}

#[tokio::test]
async fn siem_paging_returns_every_record_once_in_order_with_all_keys() {
    let sim = sim(config(1000, 4)).await;
    let client = http();
    let token = login(&client, &sim).await;
    let first = json!({"limit": 100, "searchByAttributes": [start_attr("2025-11-29T00:00:00Z")]});
    let records = siem_all(&client, &sim, &token, first.clone()).await;

    let truth = sim.record_ids();
    assert_eq!(truth.len(), 1001, "1000 generated events and our own login");
    assert_eq!(ids(&records), truth, "exactly the tenant, in order");
    let unique: HashSet<&str> = records.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(unique.len(), records.len());
    for pair in records.windows(2) {
        assert!(position(&pair[0]) < position(&pair[1]), "ascending by (eventTime, id)");
    }
    let account = sim.account_id();
    for r in &records {
        let obj = r.as_object().expect("record");
        let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(keys, KEYS.into_iter().collect::<BTreeSet<_>>());
        assert_eq!(obj["accountId"].as_str(), Some(account.as_str()));
        assert!(obj["auditDetails"].is_null() || obj["auditDetails"].is_object());
        assert!(matches!(obj["eventCategory"].as_str(), Some("AUTHENTICATION" | "MANAGEMENT")));
        assert!(matches!(obj["eventOutcome"].as_str(), Some("SUCCESS" | "FAIL")));
    }

    // Variety a mapping test can rely on.
    let event_types: HashSet<&str> = records.iter().filter_map(|r| r["eventType"].as_str()).collect();
    assert_eq!(event_types.len(), 56, "all authentication event types");
    let entity_types: HashSet<&str> = records.iter().filter_map(|r| r["entityType"].as_str()).collect();
    assert_eq!(entity_types.len(), 132, "all entity types of both lists, without ALL");
    assert!(!entity_types.contains("ALL"));
    let ips: Vec<&str> = records.iter().filter_map(|r| r["sourceIp"].as_str()).collect();
    assert!(ips.iter().any(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok()));
    assert!(ips.iter().filter(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok()).count() > ips.len() * 3 / 4);
    assert!(ips.iter().any(|ip| ip.parse::<std::net::IpAddr>().is_err()), "some junk");
    let edits = records
        .iter()
        .filter(|r| r["entityAction"] == "EDIT")
        .filter(|r| r["auditDetails"]["modifiedEntityAttributes"][0]["oldValue"].is_string())
        .count();
    assert!(edits > 10);
    assert!(records.iter().any(|r| r["token"] == "OTP"));
    assert!(records.iter().any(|r| r["resourceName"] == "User Portal"));
    assert!(records.iter().any(|r| r["requiredPermission"] == "USERS:EDIT"));

    // The v1 path is an alias.
    let (status, v1) = post(&client, format!("{}{SIEM_V1}", sim.base_url()), Some(&token), &first).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(v1["results"].as_array().expect("results")), truth[..100].to_vec());
    assert_eq!(v1["paging"]["limit"], 100);
    assert!(v1["paging"]["prevCursor"].is_null());
    sim.shutdown().await;
}

#[tokio::test]
async fn siem_rejects_bad_requests_with_error_info() {
    let sim = sim(config(20, 5)).await;
    let client = http();
    let token = login(&client, &sim).await;
    let url = format!("{}{SIEM}", sim.base_url());
    let start = start_attr("2025-11-30T00:00:00");
    let cases: Vec<(Value, &str)> = vec![
        (json!({"limit": 0, "searchByAttributes": [start]}), "invalid_limit"),
        (json!({"limit": 101, "searchByAttributes": [start]}), "invalid_limit"),
        (json!({"limit": -3, "searchByAttributes": [start]}), "invalid_limit"),
        (json!({"limit": "10", "searchByAttributes": [start]}), "invalid_limit"),
        (json!({"limit": 1e40, "searchByAttributes": [start]}), "invalid_limit"),
        (json!({"limit": 10}), "missing_search_attribute"),
        (json!({"limit": 10, "searchByAttributes": [end_attr("2025-11-30T00:00:00")]}), "missing_search_attribute"),
        (
            json!({"searchByAttributes": [{"name": "startTime", "operator": "GREATER_THAN", "value": "2025-11-30T00:00:00"}]}),
            "invalid_search_attribute",
        ),
        (json!({"searchByAttributes": [start_attr("30/11/2025")]}), "invalid_date"),
        (json!({"searchByAttributes": [start_attr("2025-02-30T00:00:00")]}), "invalid_date"),
        (
            json!({"searchByAttributes": [start, {"name": "category", "operator": "EQUALS", "value": "EVERYTHING"}]}),
            "invalid_search_attribute",
        ),
        (
            json!({"searchByAttributes": [start, {"name": "subjectName", "operator": "EQUALS", "value": "x"}]}),
            "invalid_search_attribute",
        ),
        (json!({"searchByAttributes": [start], "cursor": "garbage"}), "invalid_cursor"),
        (json!({"searchByAttributes": {"name": "startTime"}}), "invalid_request"),
        (json!({"searchByAttributes": [{"name": "startTime", "operator": "AROUND"}]}), "invalid_request"),
        (json!([]), "invalid_request"),
        (json!("SELECT *"), "invalid_request"),
    ];
    for (body, code) in cases {
        let (status, err) = post(&client, url.clone(), Some(&token), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_error_info(&err, code);
    }
    for raw in ["", "{", "{\"limit\": 10,}", "\u{0}\u{1}", "{\"limit\": 99999999999999999999999999}"] {
        let resp = client.post(url.clone()).header("Authorization", &token).body(raw).send().await.expect("send");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{raw:?}");
        assert!(resp.json::<Value>().await.expect("json")["errorCode"].is_string());
    }
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(2 << 20));
    let resp = client.post(url).header("Authorization", &token).body(huge).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    sim.shutdown().await;
}

#[tokio::test]
async fn siem_bounds_are_inclusive_in_every_time_form() {
    let sim = sim(SimConfig { login_events: false, ..config(600, 6) }).await;
    let client = http();
    let token = login(&client, &sim).await;
    let all = sim.records();
    // Bounds exactly on two records' instants.
    let lo = all
        .iter()
        .position(|r| parse_ms(r["eventTime"].as_str().unwrap_or_default()) % 1000 == 0)
        .expect("a whole-second record");
    let lo_ms = parse_ms(all[lo]["eventTime"].as_str().unwrap_or_default());
    let hi = all.len()
        - 1
        - all
            .iter()
            .rev()
            .position(|r| parse_ms(r["eventTime"].as_str().unwrap_or_default()) % 1000 != 0)
            .expect("a record with milliseconds");
    let hi_ms = parse_ms(all[hi]["eventTime"].as_str().unwrap_or_default());
    assert!(lo < hi);
    let expected: Vec<String> = all
        .iter()
        .filter(|r| (lo_ms..=hi_ms).contains(&parse_ms(r["eventTime"].as_str().unwrap_or_default())))
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let hi_text = format!("{}.{:03}", fmt_secs(hi_ms, ""), hi_ms % 1000);
    for (start, end) in [
        (fmt_secs(lo_ms, ""), format!("{hi_text}Z")),
        (fmt_secs(lo_ms, "Z"), hi_text.clone()),
        (format!("{}.000Z", fmt_secs(lo_ms, "")), format!("{hi_text}000")),
        (format!("{}.0+0000", fmt_secs(lo_ms, "")), format!("{hi_text}+00:00")),
    ] {
        let got = siem_all(
            &client,
            &sim,
            &token,
            json!({"limit": 37, "searchByAttributes": [start_attr(&start), end_attr(&end)]}),
        )
        .await;
        assert_eq!(ids(&got), expected, "{start} .. {end}");
        let got_ids = ids(&got);
        for edge in [&all[lo], &all[hi]] {
            assert!(got_ids.iter().any(|id| edge["id"] == id.as_str()), "edge record included");
        }
    }
    // One millisecond narrower on each side drops the records on the edges.
    let got = siem_all(
        &client,
        &sim,
        &token,
        json!({"limit": 100, "searchByAttributes": [
            start_attr(&format!("{}.001", fmt_secs(lo_ms, ""))),
            end_attr(&format!("{}.{:03}Z", fmt_secs(hi_ms - 1, ""), (hi_ms - 1) % 1000)),
        ]}),
    )
    .await;
    let narrower: Vec<String> = all
        .iter()
        .filter(|r| (lo_ms + 1..hi_ms).contains(&parse_ms(r["eventTime"].as_str().unwrap_or_default())))
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ids(&got), narrower);
    assert!(narrower.len() + 2 <= expected.len());
    // An empty window is a valid, empty answer.
    let (status, page) = post(
        &client,
        format!("{}{SIEM}", sim.base_url()),
        Some(&token),
        &json!({"searchByAttributes": [start_attr("2030-01-01T00:00:00"), end_attr("2031-01-01T00:00:00")]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["results"], json!([]));
    assert!(page["paging"]["nextCursor"].is_null());
    sim.shutdown().await;
}

#[tokio::test]
async fn siem_category_and_outcome_filters() {
    let sim = sim(SimConfig { login_events: false, ..config(800, 7) }).await;
    let client = http();
    let token = login(&client, &sim).await;
    let all = sim.records();
    for (category, outcome) in
        [("MANAGEMENT", None), ("AUTHENTICATION", Some("FAIL")), ("AUTHENTICATION", Some("SUCCESS"))]
    {
        let mut attrs = vec![
            start_attr("2025-11-01T00:00:00"),
            json!({"name": "category", "operator": "EQUALS", "value": category}),
        ];
        if let Some(o) = outcome {
            attrs.push(json!({"name": "outcome", "operator": "EQUALS", "value": o}));
        }
        let got = siem_all(&client, &sim, &token, json!({"limit": 50, "searchByAttributes": attrs})).await;
        let expected: Vec<String> = all
            .iter()
            .filter(|r| r["eventCategory"] == category)
            .filter(|r| outcome.is_none_or(|o| r["eventOutcome"] == o))
            .map(|r| r["id"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(expected.len() > 20, "{category} {outcome:?}: {}", expected.len());
        assert_eq!(ids(&got), expected, "{category} {outcome:?}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn cursors_carry_the_query_and_reject_tampering() {
    let sim = sim(config(300, 8)).await;
    let client = http();
    let token = login(&client, &sim).await;
    let url = format!("{}{SIEM}", sim.base_url());
    let first = json!({"limit": 10, "searchByAttributes": [
        start_attr("2025-11-29T00:00:00"),
        json!({"name": "category", "operator": "EQUALS", "value": "AUTHENTICATION"}),
    ]});
    let (_, page1) = post(&client, url.clone(), Some(&token), &first).await;
    let cursor = page1["paging"]["nextCursor"].as_str().expect("more").to_string();

    // The body's attributes and limit are ignored when a cursor is present.
    let contradicting = json!({
        "limit": 50,
        "cursor": cursor,
        "searchByAttributes": [json!({"name": "category", "operator": "EQUALS", "value": "MANAGEMENT"})],
        "orderByAttribute": {"name": "eventTime", "ascending": false}
    });
    let (status, page2) = post(&client, url.clone(), Some(&token), &contradicting).await;
    assert_eq!(status, StatusCode::OK, "{page2}");
    let results = page2["results"].as_array().expect("results");
    assert_eq!(results.len(), 10);
    assert_eq!(page2["paging"]["limit"], 10);
    assert!(results.iter().all(|r| r["eventCategory"] == "AUTHENTICATION"));
    let last1 = page1["results"].as_array().and_then(|r| r.last()).expect("page 1");
    assert!(position(last1) < position(&results[0]));

    // prevCursor leads back to page 1.
    let prev = page2["paging"]["prevCursor"].as_str().expect("prev").to_string();
    let (_, back) = post(&client, url.clone(), Some(&token), &json!({"cursor": prev})).await;
    assert_eq!(back["results"], page1["results"]);

    // Tampered and foreign cursors are 400 invalid_cursor.
    let mut chars: Vec<char> = cursor.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let other = sim_cursor_from_other_seed().await;
    for bad in [tampered.as_str(), "!!!", "eyJ2IjoxfQ", other.as_str()] {
        let (status, err) = post(&client, url.clone(), Some(&token), &json!({"cursor": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_error_info(&err, "invalid_cursor");
    }
    // A SIEM cursor is not a search cursor.
    let (status, err) =
        post(&client, format!("{}{SEARCH}", sim.base_url()), Some(&token), &json!({"cursor": cursor})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_info(&err, "invalid_cursor");
    sim.shutdown().await;
}

async fn sim_cursor_from_other_seed() -> String {
    let other = sim(config(50, 99)).await;
    let client = http();
    let token = login(&client, &other).await;
    let (_, page) = post(
        &client,
        format!("{}{SIEM}", other.base_url()),
        Some(&token),
        &json!({"limit": 5, "searchByAttributes": [start_attr("2025-11-29T00:00:00")]}),
    )
    .await;
    other.shutdown().await;
    page["paging"]["nextCursor"].as_str().expect("cursor").to_string()
}

#[tokio::test]
async fn late_records_behind_a_cursor_are_only_found_by_a_new_query() {
    let mut cfg = config(400, 9);
    cfg.faults = FaultConfig { kinds: [Fault::LateRecords].into_iter().collect(), rate: 1.0, ..FaultConfig::default() };
    let sim = sim(cfg).await;
    let client = http();
    let token = login(&client, &sim).await;
    let first = json!({"limit": 50, "searchByAttributes": [start_attr("2025-11-29T00:00:00")]});
    let run1 = siem_all(&client, &sim, &token, first.clone()).await;
    let late1: HashSet<String> = sim.late_record_ids().into_iter().collect();
    assert!(late1.len() >= 8, "late records were inserted while paging: {}", late1.len());
    let seen1: HashSet<String> = ids(&run1).into_iter().collect();
    assert!(seen1.is_disjoint(&late1), "a cursor never returns records inserted behind it");
    let before_run2: HashSet<String> = sim.record_ids().into_iter().collect();
    assert_eq!(seen1.union(&late1).cloned().collect::<HashSet<_>>(), before_run2);

    sim.set_faults_paused(true);
    let run2: HashSet<String> = ids(&siem_all(&client, &sim, &token, first).await).into_iter().collect();
    assert!(late1.is_subset(&run2), "a new query finds them");
    assert_eq!(run2, before_run2);
    sim.shutdown().await;
}

#[tokio::test]
async fn second_run_from_the_checkpoint_fetches_only_new_records() {
    let sim = sim(SimConfig { login_events: false, ..config(300, 10) }).await;
    let client = http();
    let token = login(&client, &sim).await;
    let run1 = siem_all(
        &client,
        &sim,
        &token,
        json!({"limit": 100, "searchByAttributes": [start_attr("2025-11-29T00:00:00")]}),
    )
    .await;
    let checkpoint = parse_ms(run1.last().expect("records")["eventTime"].as_str().expect("time"));
    let new = sim.append_events(7);
    let late = sim.insert_late_records(2);
    // Re-read with a 5-minute overlap, which also catches records written late.
    let overlap_start = format!("{}Z", fmt_secs(checkpoint - 301_000, ""));
    let run2 =
        siem_all(&client, &sim, &token, json!({"limit": 100, "searchByAttributes": [start_attr(&overlap_start)]}))
            .await;
    let seen1: HashSet<String> = ids(&run1).into_iter().collect();
    let fresh: HashSet<String> = ids(&run2).into_iter().filter(|id| !seen1.contains(id)).collect();
    let expected: HashSet<String> = new.iter().chain(late.iter()).cloned().collect();
    assert_eq!(fresh, expected);
    for r in sim.records().iter().filter(|r| new.iter().any(|id| r["id"] == id.as_str())) {
        assert!(parse_ms(r["eventTime"].as_str().expect("time")) > checkpoint, "appended after the old records");
    }
    assert_eq!(sim.record_ids().len(), 309);
    sim.shutdown().await;
}

/// What a careful client saw while reading through faults.
#[derive(Default, Debug)]
struct Observed {
    retry_after_429: usize,
    bare_429: usize,
    status_500: usize,
    status_503: usize,
    expired_401: usize,
    unparsable_200: usize,
    malformed_200: usize,
    error_info_200: usize,
    resets: usize,
    invalid_cursor: usize,
    slow: usize,
    duplicates: usize,
    logins: usize,
}

/// A client that retries what is retryable, logs in again on 401, and deduplicates by id.
struct CarefulClient {
    http: reqwest::Client,
    base: String,
    token: String,
    seen: Observed,
    slow_threshold: Duration,
}

impl CarefulClient {
    /// A client of `sim`, logged in; answers slower than `slow_threshold` count as slow.
    async fn logged_in(sim: &SimHandle, slow_threshold: Duration) -> Self {
        let mut client = CarefulClient {
            http: http(),
            base: sim.base_url(),
            token: String::new(),
            seen: Observed::default(),
            slow_threshold,
        };
        client.login().await;
        client
    }

    async fn send(&mut self, path: &str, body: &Value, authorized: bool) -> Value {
        for _ in 0..60 {
            let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
            if authorized {
                req = req.header("Authorization", format!("Bearer {}", self.token));
            }
            let began = Instant::now();
            let resp = match req.send().await {
                Ok(r) => r,
                Err(_) => {
                    // The connection was closed without an answer: send again.
                    self.seen.resets += 1;
                    continue;
                }
            };
            let status = resp.status();
            let retry_after =
                resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
            let text = resp.text().await.expect("body");
            if began.elapsed() >= self.slow_threshold {
                self.seen.slow += 1;
            }
            match status.as_u16() {
                200 => match serde_json::from_str::<Value>(&text) {
                    // A 200 that is an `ErrorInfo` (`ok-error-info`): not an answer, send again.
                    Ok(v) if v.get("errorCode").is_some() => self.seen.error_info_200 += 1,
                    Ok(v) => return v,
                    Err(_) if text.starts_with('[') && text.ends_with('}') => self.seen.malformed_200 += 1,
                    Err(_) => self.seen.unparsable_200 += 1,
                },
                400 if body.get("cursor").is_some() => {
                    let err: Value = serde_json::from_str(&text).expect("ErrorInfo");
                    assert_eq!(err["errorCode"], "invalid_cursor", "{text}");
                    self.seen.invalid_cursor += 1;
                    // The caller reads again from the query's start.
                    return json!({ "invalidCursor": true });
                }
                429 | 503 => {
                    match (status.as_u16(), retry_after) {
                        (429, Some(_)) => self.seen.retry_after_429 += 1,
                        (429, None) => self.seen.bare_429 += 1,
                        _ => self.seen.status_503 += 1,
                    }
                    let wait = retry_after.map_or(Duration::from_millis(20), |s| Duration::from_secs(s.min(1)));
                    tokio::time::sleep(wait).await;
                }
                500 => {
                    self.seen.status_500 += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                401 if authorized => {
                    let err: Value = serde_json::from_str(&text).expect("ErrorInfo");
                    assert_eq!(err["errorCode"], "invalid_session_token");
                    self.seen.expired_401 += 1;
                    self.login().await;
                }
                other => panic!("unexpected {other}: {text}"),
            }
        }
        panic!("gave up after 60 attempts");
    }

    async fn login(&mut self) {
        let body = json!({"applicationId": DEMO_APPLICATION_ID, "sharedSecret": DEMO_SHARED_SECRET});
        let result = Box::pin(self.send(LOGIN, &body, false)).await;
        self.token = result["authToken"].as_str().expect("token").to_string();
        self.seen.logins += 1;
    }

    /// Reads a SIEM query to its end; returns unique records in first-seen order.
    async fn read_all(&mut self, first: &Value) -> Vec<Value> {
        let mut seen_ids = HashMap::new();
        let mut out = Vec::new();
        let mut body = first.clone();
        loop {
            let page = self.send(SIEM, &body, true).await;
            if page["invalidCursor"] == true {
                body = first.clone();
                continue;
            }
            for r in page["results"].as_array().expect("results") {
                let id = r["id"].as_str().expect("id").to_string();
                match seen_ids.get(&id) {
                    Some(earlier) => {
                        assert_eq!(&out[*earlier], r, "a repeated record is identical");
                        self.seen.duplicates += 1;
                    }
                    None => {
                        seen_ids.insert(id, out.len());
                        out.push(r.clone());
                    }
                }
            }
            match page["paging"]["nextCursor"].as_str() {
                Some(c) => {
                    body = first.clone();
                    body["cursor"] = json!(c);
                }
                None => return out,
            }
        }
    }
}

#[tokio::test]
async fn every_fault_kind_is_survivable_by_a_retrying_deduplicating_client() {
    let mut cfg = config(1000, 11);
    // Every kind but `invalid-cursor`, whose fresh re-reads would find the late records this
    // test expects a single pass to miss (it has its own test below).
    let kinds: Vec<Fault> = Fault::ALL.into_iter().filter(|f| *f != Fault::InvalidCursor).collect();
    cfg.faults = FaultConfig {
        kinds: kinds.iter().copied().collect(),
        rate: 0.3,
        slow_delay: Duration::from_millis(150),
        // `Retry-After: 0`: the header is there, and the test does not wait.
        retry_after_secs: 0,
        ..FaultConfig::default()
    };
    let sim = sim(cfg).await;
    let mut client = CarefulClient::logged_in(&sim, Duration::from_millis(150)).await;
    let first = json!({"limit": 25, "searchByAttributes": [start_attr("2025-11-29T00:00:00Z")]});
    let pass1 = client.read_all(&first).await;

    let counts = sim.fault_counts();
    for f in kinds {
        assert!(counts.get(&f).copied().unwrap_or(0) > 0, "{f} never injected: {counts:?}");
    }
    let seen = &client.seen;
    assert!(seen.retry_after_429 > 0 && seen.bare_429 > 0, "{seen:?}");
    assert!(seen.status_500 > 0 && seen.status_503 > 0, "{seen:?}");
    assert!(seen.expired_401 > 0 && seen.logins > seen.expired_401, "{seen:?}");
    assert!(seen.unparsable_200 > 0 && seen.slow > 0 && seen.duplicates > 0, "{seen:?}");
    assert!(seen.malformed_200 > 0 && seen.resets > 0 && seen.error_info_200 > 0, "{seen:?}");
    let times: Vec<&str> = pass1.iter().filter_map(|r| r["eventTime"].as_str()).collect();
    assert!(times.iter().any(|t| t.ends_with("+0000")), "the .SSS+0000 form");
    assert!(times.iter().any(|t| t.len() == 19), "the zone-less form");
    assert!(times.iter().all(|t| parse_ms(t) > 0));

    // Records inserted late behind the cursor are missing from pass 1 and only from pass 1.
    let late: HashSet<String> = sim.late_record_ids().into_iter().collect();
    assert!(!late.is_empty());
    let got1: HashSet<String> = ids(&pass1).into_iter().collect();
    assert!(got1.is_disjoint(&late));

    // An overlap re-read (faults paused so that the tenant holds still) finds them.
    sim.set_faults_paused(true);
    let pass2 = client.read_all(&first).await;
    let truth = sim.record_ids();
    assert_eq!(ids(&pass2), truth, "a clean read is exactly the tenant, in order");
    let union: HashSet<String> = got1.union(&late).cloned().collect();
    assert_eq!(union, truth.iter().cloned().collect::<HashSet<_>>());
    assert!(truth.len() > 1000 + late.len());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_refused_cursor_is_survived_by_reading_again_from_the_start() {
    let mut cfg = config(600, 15);
    cfg.login_events = false;
    cfg.faults = FaultConfig {
        kinds: [Fault::InvalidCursor, Fault::ConnectionReset, Fault::Malformed].into_iter().collect(),
        rate: 0.2,
        ..FaultConfig::default()
    };
    let sim = sim(cfg).await;
    let mut client = CarefulClient::logged_in(&sim, Duration::from_secs(60)).await;
    let first = json!({"limit": 20, "searchByAttributes": [start_attr("2025-11-29T00:00:00Z")]});
    let got = client.read_all(&first).await;
    let seen = &client.seen;
    assert!(seen.invalid_cursor > 0 && seen.resets > 0 && seen.malformed_200 > 0, "{seen:?}");
    assert!(seen.duplicates > 0, "reading again repeats records, which are dropped by id: {seen:?}");
    assert_eq!(ids(&got), sim.record_ids(), "nothing lost, nothing twice");
    let counts = sim.fault_counts();
    assert_eq!(counts.get(&Fault::InvalidCursor).copied(), Some(seen.invalid_cursor as u64), "{counts:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_are_reproducible_from_the_seed() {
    async fn run() -> (Vec<u16>, Vec<String>) {
        let mut cfg = config(200, 12);
        cfg.faults = FaultConfig {
            kinds: [
                Fault::TooManyRequests,
                Fault::InternalServerError,
                Fault::ServiceUnavailable,
                Fault::EdgeDuplicates,
            ]
            .into_iter()
            .collect(),
            rate: 0.4,
            retry_after_secs: 0,
            ..FaultConfig::default()
        };
        cfg.login_events = false;
        let sim = sim(cfg).await;
        let client = http();
        let mut statuses = Vec::new();
        let login_body = json!({"applicationId": DEMO_APPLICATION_ID, "sharedSecret": DEMO_SHARED_SECRET});
        let mut token = String::new();
        for _ in 0..20 {
            let (status, body) = post(&client, format!("{}{LOGIN}", sim.base_url()), None, &login_body).await;
            statuses.push(status.as_u16());
            if status == StatusCode::OK {
                token = body["authToken"].as_str().expect("token").to_string();
                break;
            }
        }
        let url = format!("{}{SIEM}", sim.base_url());
        let mut got = Vec::new();
        let mut body = json!({"limit": 20, "searchByAttributes": [start_attr("2025-11-29T00:00:00")]});
        for _ in 0..200 {
            let (status, page) = post(&client, url.clone(), Some(&token), &body).await;
            statuses.push(status.as_u16());
            if status != StatusCode::OK {
                continue;
            }
            got.extend(ids(page["results"].as_array().expect("results")));
            match page["paging"]["nextCursor"].as_str() {
                Some(c) => body = json!({"cursor": c}),
                None => break,
            }
        }
        let mut unique = got.clone();
        let mut seen = HashSet::new();
        unique.retain(|id| seen.insert(id.clone()));
        assert_eq!(unique, sim.record_ids(), "deduplicated, nothing is missing");
        sim.shutdown().await;
        (statuses, got)
    }
    let (a, b) = (run().await, run().await);
    assert!(a.0.iter().any(|s| *s != 200), "faults happened: {:?}", a.0);
    assert!(a.1.len() > 200, "edge duplicates were served");
    assert_eq!(a, b);
}

#[tokio::test]
async fn same_seed_same_tenant_different_seed_different_tenant() {
    let a = sim(config(300, 13)).await;
    let b = sim(config(300, 13)).await;
    let c = sim(config(300, 14)).await;
    assert_eq!(a.records(), b.records());
    assert_eq!(a.account_id(), b.account_id());
    let (ia, ic): (HashSet<String>, HashSet<String>) =
        (a.record_ids().into_iter().collect(), c.record_ids().into_iter().collect());
    assert!(ia.is_disjoint(&ic));
    let client = http();
    let body = json!({"limit": 100, "searchByAttributes": [start_attr("2025-11-29T00:00:00")]});
    let pa = siem_all(&client, &a, &login(&client, &a).await, body.clone()).await;
    let pb = siem_all(&client, &b, &login(&client, &b).await, body).await;
    // The same records except each simulator's own login record.
    let strip = |v: Vec<Value>| -> Vec<Value> { v.into_iter().filter(|r| r["sourceIp"] != "127.0.0.1").collect() };
    let (pa, pb) = (strip(pa), strip(pb));
    assert_eq!(pa.len(), 300);
    assert_eq!(pa, pb);
    assert_eq!(a.records()[..300], b.records()[..300]);
    for s in [a, b, c] {
        s.shutdown().await;
    }
}

#[tokio::test]
async fn search_endpoint_filters_orders_and_pages() {
    let sim = sim(SimConfig { login_events: false, ..config(500, 15) }).await;
    let client = http();
    let token = login(&client, &sim).await;
    let url = format!("{}{SEARCH}", sim.base_url());
    let all = sim.records();
    let since = json!({"name": "eventTime", "operator": "GREATER_THAN_OR_EQUAL", "value": "2025-11-29T00:00:00"});

    let (status, err) = post(
        &client,
        url.clone(),
        Some(&token),
        &json!({"searchByAttributes": [{"name": "subjectName", "operator": "EQUALS", "value": "x"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_info(&err, "missing_search_attribute");
    let (status, _) = post(
        &client,
        url.clone(),
        Some(&token),
        &json!({"searchByAttributes": [since, {"name": "sourceIp", "operator": "CONTAINS", "value": "1"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Default order: newest first, every record of the window.
    let mut got = Vec::new();
    let mut body = json!({"limit": 60, "searchByAttributes": [since]});
    loop {
        let (status, page) = post(&client, url.clone(), Some(&token), &body).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        got.extend(page["results"].as_array().expect("results").iter().cloned());
        match page["paging"]["nextCursor"].as_str() {
            Some(c) => body = json!({"cursor": c}),
            None => break,
        }
    }
    let mut newest_first = ids(&all);
    newest_first.reverse();
    assert_eq!(ids(&got), newest_first);

    // Ordering by entityType returns management events only, sorted.
    let admin = all
        .iter()
        .find(|r| r["eventCategory"] == "MANAGEMENT" && r["subjectType"] == "USER")
        .and_then(|r| r["subjectName"].as_str())
        .expect("an administrator");
    let needle = admin[..3].to_uppercase();
    let body = json!({
        "limit": 100,
        "searchByAttributes": [since, {"name": "subjectName", "operator": "CONTAINS", "value": needle}],
        "orderByAttribute": {"name": "entityType", "ascending": true}
    });
    let (status, page) = post(&client, url.clone(), Some(&token), &body).await;
    assert_eq!(status, StatusCode::OK);
    let results = page["results"].as_array().expect("results");
    let expected = all
        .iter()
        .filter(|r| r["entityType"].is_string())
        .filter(|r| r["subjectName"].as_str().is_some_and(|s| s.to_uppercase().contains(&needle)))
        .count();
    assert!(expected > 0);
    assert_eq!(results.len(), expected.min(100));
    assert!(results.iter().all(|r| r["eventCategory"] != "AUTHENTICATION"));
    let types: Vec<&str> = results.iter().filter_map(|r| r["entityType"].as_str()).collect();
    assert!(types.windows(2).all(|w| w[0] <= w[1]));

    // Authenticator filter.
    let body = json!({"searchByAttributes": [since, {"name": "authenticator", "operator": "EQUALS", "value": "OTP"}]});
    let (_, page) = post(&client, url, Some(&token), &body).await;
    let results = page["results"].as_array().expect("results");
    assert!(!results.is_empty() && results.iter().all(|r| r["token"] == "OTP"));
    sim.shutdown().await;
}

#[tokio::test]
async fn concurrent_readers_and_clean_shutdown() {
    let sim = sim(config(500, 16)).await;
    let client = http();
    let token = login(&client, &sim).await;
    let body = json!({"limit": 100, "searchByAttributes": [start_attr("2025-11-29T00:00:00"), end_attr("2025-12-01T00:00:00")]});
    let expected: Vec<String> = sim.record_ids().into_iter().take(500).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, base, token, body) = (client.clone(), sim.base_url(), token.clone(), body.clone());
        tasks.spawn(async move {
            let mut out = Vec::new();
            let mut req = body.clone();
            loop {
                let resp = client
                    .post(format!("{base}{SIEM}"))
                    .header("Authorization", &token)
                    .json(&req)
                    .send()
                    .await
                    .expect("send");
                assert_eq!(resp.status(), StatusCode::OK);
                let page: Value = resp.json().await.expect("json");
                out.extend(ids(page["results"].as_array().expect("results")));
                match page["paging"]["nextCursor"].as_str() {
                    Some(c) => req["cursor"] = json!(c),
                    None => return out,
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done.expect("reader"), expected);
    }
    let addr = sim.addr();
    sim.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the port is closed after shutdown");
}

#[tokio::test]
async fn engine_simulate_prints_its_url_and_stops_on_interrupt() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(["simulate", "--port", "0", "--events", "25", "--seed", "3", "--end-time", "2025-12-01T00:00:00Z"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn engine simulate");
    let stdout = child.stdout.take().expect("stdout");
    let read = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = match tokio::time::timeout(Duration::from_secs(20), read).await {
        Ok(Ok(Ok(line))) => line,
        other => {
            let _ = child.kill();
            panic!("no start-up line: {other:?}");
        }
    };
    assert!(line.contains(DEMO_APPLICATION_ID), "{line}");
    assert!(!line.contains(DEMO_SHARED_SECRET), "the secret is not printed: {line}");
    let url = line.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")).expect("URL").to_string();

    let client = http();
    let (status, body) = post(
        &client,
        format!("{url}{LOGIN}"),
        None,
        &json!({"applicationId": DEMO_APPLICATION_ID, "sharedSecret": DEMO_SHARED_SECRET}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Value = client.get(format!("{url}/__sim/ids")).send().await.expect("ids").json().await.expect("json");
    assert_eq!(ids["ids"].as_array().map(Vec::len), Some(26), "25 events and the login");

    let pid = child.id().to_string();
    let signalled = Command::new("kill").args(["-INT", &pid]).status().expect("kill -INT");
    assert!(signalled.success());
    let waited = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
            }
        }
    })
    .await
    .expect("waiter");
    assert!(waited.is_some_and(|s| s.success()), "exit status after Ctrl-C: {waited:?}");
}

/// A small seeded generator of odd JSON shaped like the API's bodies.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize].clone()
    }

    fn value(&mut self, depth: u32) -> Value {
        const KEYS: [&str; 13] = [
            "limit",
            "cursor",
            "searchByAttributes",
            "orderByAttribute",
            "attributes",
            "applicationId",
            "sharedSecret",
            "enableWebSession",
            "name",
            "operator",
            "value",
            "ascending",
            "startTime",
        ];
        let leaves = [
            json!(null),
            json!(true),
            json!(-1),
            json!(0),
            json!(50),
            json!(101),
            json!(1e308),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(""),
            json!("2025-11-30T00:00:00"),
            json!("2025-11-30T00:00:00.999999999+23:59"),
            json!("9999-12-31T23:59:59Z"),
            json!("0000-01-01T00:00:00"),
            json!("GREATER_THAN_OR_EQUAL"),
            json!("LESS_THAN"),
            json!("startTime"),
            json!("eventTime"),
            json!("entityType"),
            json!(DEMO_APPLICATION_ID),
            json!("é\u{0}\u{202e}🦀"),
            json!("A".repeat(5000)),
        ];
        match (depth, self.next() % 4) {
            (0, _) | (_, 0) => self.pick(&leaves),
            (_, 1) => Value::Array((0..self.next() % 4).map(|_| self.value(depth - 1)).collect()),
            _ => Value::Object(
                (0..self.next() % 5).map(|_| (self.pick(&KEYS).to_string(), self.value(depth - 1))).collect(),
            ),
        }
    }
}

#[tokio::test]
async fn odd_bodies_get_client_errors_never_server_errors() {
    let sim = sim(config(60, 17)).await;
    let client = http();
    let token = login(&client, &sim).await;
    let mut garbage = Garbage(17);
    let mut client_errors = 0;
    for i in 0..160 {
        let bytes: Vec<u8> = if i % 8 == 7 {
            (0..garbage.next() % 64).map(|_| garbage.next() as u8).collect()
        } else {
            garbage.value(4).to_string().into_bytes()
        };
        for path in [LOGIN, SIEM, SEARCH] {
            let resp = client
                .post(format!("{}{path}", sim.base_url()))
                .header("Authorization", &token)
                .header("Content-Type", "application/json")
                .body(bytes.clone())
                .send()
                .await
                .expect("the server always answers");
            let status = resp.status();
            let answer: Value = resp.json().await.expect("always JSON");
            assert!(status == StatusCode::OK || status.is_client_error(), "{status} for {path}");
            if status.is_client_error() {
                client_errors += 1;
                assert!(answer["errorCode"].is_string() && answer["errorMessage"].is_string(), "{answer}");
            }
        }
    }
    assert!(client_errors > 300, "the bodies were mostly invalid: {client_errors}");
    sim.shutdown().await;
}

/// `GET /__sim/ids` sent to `sim` with `Host: host`.
async fn ids_for_host(client: &reqwest::Client, sim: &SimHandle, host: &str) -> Vec<String> {
    let resp = client.get(format!("{}/__sim/ids", sim.base_url())).header("Host", host).send().await.expect("ids");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    body["ids"].as_array().expect("ids").iter().map(|v| v.as_str().expect("id").to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_host_name_is_a_tenant_of_its_own_and_the_same_name_the_same_tenant() {
    let client = http();
    let sim = sim(config(80, 71)).await;
    let (a, b) = ("t01.example.trustedauth.com", "t02.example.trustedauth.com");
    let first_a = ids_for_host(&client, &sim, &format!("{a}:{}", sim.addr().port())).await;
    let first_b = ids_for_host(&client, &sim, b).await;
    let default = ids_for_host(&client, &sim, &sim.addr().to_string()).await;
    assert_eq!((first_a.len(), first_b.len()), (80, 80), "each of the configured size");
    let sets: Vec<BTreeSet<&String>> = [&first_a, &first_b, &default].iter().map(|v| v.iter().collect()).collect();
    assert!(sets[0].is_disjoint(&sets[1]) && sets[0].is_disjoint(&sets[2]) && sets[1].is_disjoint(&sets[2]));
    assert_eq!(default, sim.record_ids(), "an IP address reaches the default tenant, as before");
    // Same name, same tenant: in any case, and in another simulator of the same seed.
    assert_eq!(ids_for_host(&client, &sim, &a.to_uppercase()).await, first_a);
    let again = self::sim(config(80, 71)).await;
    assert_eq!(ids_for_host(&client, &again, a).await, first_a);
    again.shutdown().await;

    // A tenant's token and records are its own: b's token is refused by a, and a SIEM read sent
    // to a returns a's records.
    let login_at = |host: &'static str| {
        let client = client.clone();
        let url = format!("{}{LOGIN}", sim.base_url());
        async move {
            let body = json!({"applicationId": DEMO_APPLICATION_ID, "sharedSecret": DEMO_SHARED_SECRET});
            let resp = client.post(url).header("Host", host).json(&body).send().await.expect("login");
            assert_eq!(resp.status(), StatusCode::OK);
            let v: Value = resp.json().await.expect("json");
            v["authToken"].as_str().expect("token").to_string()
        }
    };
    let token_b = login_at("t02.example.trustedauth.com").await;
    let token_a = login_at("t01.example.trustedauth.com").await;
    let read = |host: &'static str, token: String| {
        let client = client.clone();
        let url = format!("{}{SIEM}", sim.base_url());
        async move {
            let body = json!({"searchByAttributes": [start_attr("2000-01-01T00:00:00Z")], "limit": 100});
            let resp = client.post(url).header("Host", host).header("Authorization", token).json(&body).send().await;
            let resp = resp.expect("siem");
            (resp.status(), resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, _) = read("t01.example.trustedauth.com", token_b).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "another tenant's token");
    let (status, page) = read("t01.example.trustedauth.com", token_a).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let got: Vec<String> = ids(page["results"].as_array().expect("results"));
    assert_eq!(got, first_a, "a's records, and its logins are not records");
    // A Host that is not a DNS name is refused.
    let resp = client.get(format!("{}/__sim/ids", sim.base_url())).header("Host", "a_b.example").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}

/// `….sssZ` for Unix ms.
fn fmt_millis(ms: i64) -> String {
    format!("{}.{:03}Z", fmt_secs(ms - ms.rem_euclid(1000), ""), ms.rem_euclid(1000))
}

/// A tenant of many chunks (generated lazily, more of them than are kept in memory): paged
/// whole, and window by window with the bounds the engine sends (`startTime` and `endTime`,
/// both inclusive, windows meeting at a millisecond), it gives every id of `GET /__sim/ids`
/// (streamed) exactly once, in order; so does a named tenant of that size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_of_many_chunks_pages_every_id_of_sim_ids_once_in_order() {
    // 50,000 records are ten chunks of 5,000 (the default), two more than are kept.
    let sim = sim(config(50_000, 12)).await;
    let client = http();
    let token = login(&client, &sim).await;
    let truth = ids_for_host(&client, &sim, &sim.addr().to_string()).await;
    assert_eq!(truth.len(), 50_001, "50,000 generated events and our own login");
    assert_eq!(truth, sim.record_ids());
    assert!(sim.resident_records() <= 8 * 5_000 + 1, "{} records in memory", sim.resident_records());
    let whole = siem_all(
        &client,
        &sim,
        &token,
        json!({"limit": 100, "searchByAttributes": [start_attr("2025-01-01T00:00:00Z")]}),
    )
    .await;
    assert_eq!(ids(&whole), truth, "the whole tenant, paged");
    for pair in whole.windows(2) {
        assert!(position(&pair[0]) < position(&pair[1]), "ascending by (eventTime, id)");
    }
    let (first, last) = (position(&whole[0]).0, position(&whole[whole.len() - 1]).0);
    let step = (last - first) / 9 + 1;
    let mut windowed = Vec::new();
    let mut from = first;
    while from <= last {
        let window = json!({"limit": 100, "searchByAttributes": [
            start_attr(&fmt_millis(from)), end_attr(&fmt_millis(from + step - 1))]});
        windowed.extend(ids(&siem_all(&client, &sim, &token, window).await));
        from += step;
    }
    assert_eq!(windowed, truth, "window by window");

    // A named tenant of that size: its own ids, streamed, and its pages.
    let host = "big.example.trustedauth.com";
    let named = ids_for_host(&client, &sim, host).await;
    assert_eq!(named.len(), 50_000);
    assert_eq!(named.iter().collect::<HashSet<_>>().len(), 50_000);
    let default_ids: HashSet<&String> = truth.iter().collect();
    assert!(named.iter().all(|id| !default_ids.contains(id)), "a tenant of its own");
    let login_body =
        json!({"applicationId": sim.credentials().application_id, "sharedSecret": sim.credentials().shared_secret});
    let resp = client.post(format!("{}{LOGIN}", sim.base_url())).header("Host", host).json(&login_body).send().await;
    let named_token: Value = resp.expect("login").json().await.expect("json");
    let named_token = named_token["authToken"].as_str().expect("token").to_string();
    let mut body = json!({"limit": 100, "searchByAttributes": [start_attr("2025-01-01T00:00:00Z")]});
    let mut paged = Vec::new();
    loop {
        let resp = client
            .post(format!("{}{SIEM}", sim.base_url()))
            .header("Host", host)
            .header("Authorization", &named_token)
            .json(&body)
            .send()
            .await
            .expect("page");
        let page: Value = resp.json().await.expect("json");
        paged.extend(ids(page["results"].as_array().expect("results")));
        match page["paging"]["nextCursor"].as_str() {
            Some(c) => body = json!({"limit": 100, "cursor": c}),
            None => break,
        }
    }
    assert_eq!(paged, named, "the named tenant, paged");
    sim.shutdown().await;
}
