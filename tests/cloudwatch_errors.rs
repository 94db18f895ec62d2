//! How the CloudWatch Logs sink reads the service's errors, through the real SDK against a
//! scripted loopback endpoint (moto never throttles): throttling and 5xx are retried, a
//! missing stream is created, a refused permission is fatal.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use ocsf_engine::sink::cloudwatch::rejected::RejectedFile;
use ocsf_engine::sink::cloudwatch::retry::{Backoff, Failure};
use ocsf_engine::sink::cloudwatch::service::{LogEvent, LogsApi, SdkLogs};
use ocsf_engine::sink::cloudwatch::{CloudWatchOptions, CloudWatchSink};
use ocsf_engine::sink::{Batch, EncodedEvent, Sink, SinkError};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One scripted answer: status, error type (empty: success) and body.
type Answer = (u16, &'static str, &'static str);

/// Serves scripted answers in order (the last one repeats), recording each request's target;
/// CreateLogStream always succeeds.
async fn stub(script: Vec<Answer>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let script = Arc::clone(&script);
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // Read one request: headers, then Content-Length bytes.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 8192];
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    let target = head
                        .lines()
                        .find_map(|l| l.strip_prefix("x-amz-target:"))
                        .map(|v| v.trim().rsplit('.').next().unwrap_or("").to_string())
                        .unwrap_or_default();
                    while buf.len() < head_end + len {
                        let mut chunk = [0u8; 8192];
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + len);
                    log.lock().unwrap().push(target.clone());
                    let (status, kind, body) = {
                        let mut s = script.lock().unwrap();
                        // Stream creation always succeeds and is not scripted.
                        if target == "createlogstream" {
                            (200, "", "{}")
                        } else if s.len() > 1 {
                            s.pop_front().unwrap()
                        } else {
                            *s.front().unwrap()
                        }
                    };
                    let body = if kind.is_empty() {
                        body.to_string()
                    } else {
                        format!("{{\"__type\":\"{kind}\",\"message\":\"{body}\"}}")
                    };
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\n{}content-length: {}\r\n\r\n{body}",
                        if kind.is_empty() { String::new() } else { format!("x-amzn-errortype: {kind}\r\n") },
                        body.len()
                    );
                    if conn.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), seen)
}

async fn config(endpoint: &str) -> SdkConfig {
    use aws_sdk_cloudwatchlogs::config::Credentials;
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

fn event() -> Vec<LogEvent> {
    vec![LogEvent { timestamp_ms: 1, message: "{}".into() }]
}

const OK_PUT: Answer = (200, "", r#"{"nextSequenceToken":"1"}"#);

#[tokio::test]
async fn errors_are_classified_from_real_responses() {
    let cases: Vec<(Answer, Failure)> = vec![
        ((400, "ThrottlingException", "Rate exceeded"), Failure::Transient(String::new())),
        ((503, "ServiceUnavailableException", "busy"), Failure::Transient(String::new())),
        ((500, "SomethingNew", "oops"), Failure::Transient(String::new())),
        ((400, "ResourceNotFoundException", "The specified log stream does not exist."), Failure::StreamMissing),
        ((400, "ResourceNotFoundException", "The specified log group does not exist."), Failure::GroupMissing),
        ((400, "AccessDeniedException", "not allowed"), Failure::Fatal(String::new())),
        ((400, "InvalidParameterException", "bad"), Failure::Fatal(String::new())),
    ];
    for (answer, want) in cases {
        let (endpoint, _) = stub(vec![answer]).await;
        let api = SdkLogs::new(&config(&endpoint).await);
        let got = api.put("g", "s", &event()).await.expect_err("an error");
        let same = match (&got, &want) {
            (Failure::Transient(m), Failure::Transient(_)) | (Failure::Fatal(m), Failure::Fatal(_)) => {
                m.contains(answer.1) && m.contains(answer.2)
            }
            _ => got == want,
        };
        assert!(same, "{answer:?}: {got:?}");
    }
    let (endpoint, _) =
        stub(vec![(200, "", r#"{"rejectedLogEventsInfo":{"tooOldLogEventEndIndex":1,"tooNewLogEventStartIndex":3}}"#)])
            .await;
    let rej = SdkLogs::new(&config(&endpoint).await).put("g", "s", &event()).await.unwrap();
    assert_eq!((rej.too_old_end, rej.too_new_start, rej.expired_end), (Some(1), Some(3), None));
}

fn options(retries: u32) -> CloudWatchOptions {
    CloudWatchOptions {
        log_group: "g".into(),
        log_stream: "s".into(),
        create_group: false,
        backoff: Backoff { retries, base: Duration::from_millis(1), max: Duration::from_millis(5) },
    }
}

fn batch() -> Batch {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    Batch { events: vec![EncodedEvent { line: "{\"a\":1}".into(), time_ms: now }], bytes: 33 }
}

fn refused() -> RejectedFile {
    RejectedFile::new(&std::env::temp_dir().join(format!("cw-errors-{}.ndjson", std::process::id())), false)
}

const GROUP: Answer = (200, "", r#"{"logGroups":[{"logGroupName":"g"}]}"#);

#[tokio::test]
async fn the_sink_rides_out_throttling_and_recreates_a_missing_stream() {
    let throttled = (400, "ThrottlingException", "Rate exceeded");
    let (endpoint, seen) =
        stub(vec![GROUP, throttled, throttled, (503, "ServiceUnavailableException", "x"), OK_PUT]).await;
    let mut sink = CloudWatchSink::connect(&config(&endpoint).await, options(5), refused()).await.unwrap();
    assert_eq!(sink.send(&batch()).await.unwrap().accepted, 1);
    let puts = seen.lock().unwrap().iter().filter(|t| *t == "putlogevents").count();
    assert_eq!(puts, 4, "{:?}", seen.lock().unwrap());

    let missing = (400, "ResourceNotFoundException", "The specified log stream does not exist.");
    let (endpoint, seen) = stub(vec![GROUP, missing, OK_PUT]).await;
    let mut sink = CloudWatchSink::connect(&config(&endpoint).await, options(0), refused()).await.unwrap();
    assert_eq!(sink.send(&batch()).await.unwrap().accepted, 1);
    let creates = seen.lock().unwrap().iter().filter(|t| *t == "createlogstream").count();
    assert_eq!(creates, 2, "created at start and again when found missing");

    // Throttled past the budget: the runner is asked to retry the batch later.
    let (endpoint, _) = stub(vec![GROUP, throttled]).await;
    let mut sink = CloudWatchSink::connect(&config(&endpoint).await, options(2), refused()).await.unwrap();
    assert!(matches!(sink.send(&batch()).await, Err(SinkError::Retryable(m)) if m.contains("ThrottlingException")));
    // A refused permission is fatal.
    let (endpoint, _) = stub(vec![GROUP, (400, "AccessDeniedException", "no")]).await;
    let mut sink = CloudWatchSink::connect(&config(&endpoint).await, options(5), refused()).await.unwrap();
    assert!(matches!(sink.send(&batch()).await, Err(SinkError::Fatal(m)) if m.contains("AccessDeniedException")));
}
