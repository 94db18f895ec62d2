//! `engine security-lake register` against a scripted loopback Security Lake endpoint that
//! answers ListLogSources (paged) and CreateCustomLogSource as the API does and remembers what
//! was created: only the missing sources are created, a second run creates nothing, the
//! requests carry the class, the crawler role and the provider identity, and `--dry-run`
//! sends nothing.

mod common;

use common::pipeline::{root, temp_dir};
use common::scripted::{Answer, Request, Scripted, serve};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

const ROLE: &str = "arn:aws:iam::123456789012:role/lake-crawler";

/// A Security Lake that already holds `registered` custom sources (and one AWS source).
async fn lake(registered: &[&str]) -> (Scripted, Arc<Mutex<BTreeSet<String>>>) {
    let names: Arc<Mutex<BTreeSet<String>>> = Arc::new(Mutex::new(registered.iter().map(|s| s.to_string()).collect()));
    let state = Arc::clone(&names);
    let server = serve(move |r: &Request| {
        let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/v1/datalake/logsources/list") => {
                let names = state.lock().unwrap();
                let custom: Vec<Value> = names
                    .iter()
                    .map(|n| json!({"customLogSource": {"sourceName": n, "sourceVersion": "1.0"}}))
                    .collect();
                // Two pages: the AWS source first, the custom sources behind a token.
                if body["nextToken"].is_null() {
                    let aws = json!({"awsLogSource": {"sourceName": "CLOUD_TRAIL_MGMT", "sourceVersion": "2.0"}});
                    let page = json!({"account": "123456789012", "region": "us-east-1", "sources": [aws]});
                    Answer::json(200, json!({"sources": [page], "nextToken": "page-2"}).to_string())
                } else {
                    let page = json!({"account": "123456789012", "region": "us-east-1", "sources": custom});
                    Answer::json(200, json!({"sources": [page]}).to_string())
                }
            }
            ("POST", "/v1/datalake/logsources/custom") => {
                let name = body["sourceName"].as_str().unwrap_or_default().to_string();
                if !state.lock().unwrap().insert(name.clone()) {
                    let conflict = json!({"message": format!("{name} already exists")});
                    return Answer {
                        status: 409,
                        headers: vec![("x-amzn-ErrorType".into(), "ConflictException".into())],
                        body: conflict.to_string(),
                    };
                }
                let provider = json!({
                    "location": format!("s3://aws-security-data-lake-us-east-1-abc/ext/{name}/"),
                    "roleArn": format!("arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-{name}-us-east-1"),
                });
                Answer::json(
                    200,
                    json!({"source": {"sourceName": name, "sourceVersion": "1.0", "provider": provider}}).to_string(),
                )
            }
            _ => Answer::json(404, json!({"message": "unknown operation"}).to_string()),
        }
    })
    .await;
    (server, names)
}

/// `engine security-lake register sources/entrust.yaml …` against `server`: exit code, stdout, stderr.
fn register(server: &Scripted, extra: &[&str]) -> (i32, String, String) {
    // One directory per call: the tests of this file run at once and must not empty each
    // other's working directory.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = temp_dir("engine-lake-register", &format!("run-{n}"));
    let out = Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(&dir)
        .args(["security-lake", "register"])
        .arg(root().join("sources/entrust.yaml"))
        .args(["--region", "us-east-1", "--crawler-role-arn", ROLE])
        .args(["--principal", "123456789012", "--external-id", "entrust-writer"])
        .args(extra)
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", format!("http://{}", server.addr))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .expect("engine runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn creates(server: &Scripted) -> Vec<Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/datalake/logsources/custom")
        .map(|r| serde_json::from_str(&r.body).expect("a JSON body"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_creates_only_the_missing_sources_and_a_second_run_creates_nothing() {
    // The authentication source was registered before (by hand), beside another team's.
    let (server, names) = lake(&["entrust-idaas-auth", "other-team-src"]).await;
    let (code, stdout, stderr) = register(&server, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("entrust-idaas-auth (AUTHENTICATION): already registered"), "{stdout}");
    assert!(stdout.contains("entrust-idaas-entity (ENTITY_MANAGEMENT_AUDIT): created, s3://"), "{stdout}");
    let created = creates(&server);
    assert_eq!(
        created,
        vec![json!({
            "sourceName": "entrust-idaas-entity",
            "eventClasses": ["ENTITY_MANAGEMENT_AUDIT"],
            "configuration": {
                "crawlerConfiguration": {"roleArn": ROLE},
                "providerIdentity": {"principal": "123456789012", "externalId": "entrust-writer"},
            },
        })]
    );
    // Both pages of ListLogSources were read, each request signed for Security Lake.
    let lists = server.requests().iter().filter(|r| r.path == "/v1/datalake/logsources/list").count();
    assert_eq!(lists, 2);
    for r in server.requests() {
        let auth = r.header("authorization").unwrap_or_default().to_string();
        assert!(auth.contains("/us-east-1/securitylake/aws4_request"), "{auth}");
    }
    assert!(names.lock().unwrap().contains("entrust-idaas-entity"));

    // Again: both are listed now, nothing is created.
    let before = server.requests().len();
    let (code, stdout, stderr) = register(&server, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("entrust-idaas-entity (ENTITY_MANAGEMENT_AUDIT): already registered"), "{stdout}");
    assert_eq!(creates(&server).len(), 1, "the second run created nothing");
    assert_eq!(server.requests().len(), before + 2, "the second run only listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sources_are_created_in_an_empty_lake_with_the_names_the_sink_uses() {
    let (server, _) = lake(&[]).await;
    let (code, stdout, stderr) = register(&server, &["--source-name", "authentication=idaas-logins"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let created: Vec<(String, String)> = creates(&server)
        .iter()
        .map(|b| (b["sourceName"].as_str().unwrap().into(), b["eventClasses"][0].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        created,
        [
            ("idaas-logins".into(), "AUTHENTICATION".into()),
            ("entrust-idaas-entity".into(), "ENTITY_MANAGEMENT_AUDIT".into())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_calls_and_sends_nothing() {
    let (server, _) = lake(&[]).await;
    let (code, stdout, stderr) = register(&server, &["--dry-run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(server.requests().is_empty(), "sent {:?}", server.requests());
    let calls: Vec<&str> = stdout.lines().collect();
    assert_eq!(calls.len(), 3, "{stdout}");
    assert!(calls[0].starts_with("ListLogSources "), "{stdout}");
    for (line, class) in calls[1..].iter().zip(["AUTHENTICATION", "ENTITY_MANAGEMENT_AUDIT"]) {
        let body: Value = serde_json::from_str(
            line.strip_prefix("CreateCustomLogSource ").unwrap().split(" (unless").next().unwrap(),
        )
        .unwrap();
        assert_eq!(body["eventClasses"], json!([class]), "{line}");
        assert_eq!(body["configuration"]["crawlerConfiguration"]["roleArn"], ROLE);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_source_names_are_configuration_errors() {
    let (server, _) = lake(&[]).await;
    let (code, _, stderr) = register(&server, &["--source-name", "authentication=no spaces"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no spaces"), "{stderr}");
    let (code, _, stderr) = register(&server, &["--source-name", "authentication=entrust-idaas-entity"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("each class needs its own source name"), "{stderr}");
    assert!(server.requests().is_empty());
}
