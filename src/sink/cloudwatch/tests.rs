//! The sink's behaviour against a scripted in-memory CloudWatch Logs: resumption after a
//! failure part-way through a batch, refused events, missing streams and groups, throttling.

use super::*;
use crate::sink::EncodedEvent;
use service::{GroupInfo, Rejected};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct State {
    groups: BTreeMap<String, BTreeSet<String>>,
    stored: Vec<LogEvent>,
    /// Answers for the next PutLogEvents calls (`None`: accept).
    script: VecDeque<Option<Failure>>,
    reject: Option<Rejected>,
    puts: usize,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<State>>);

impl Fake {
    fn with_group(group: &str) -> Fake {
        let f = Fake::default();
        f.0.lock().unwrap().groups.insert(group.into(), BTreeSet::new());
        f
    }
}

impl LogsApi for Fake {
    fn describe_group<'a>(&'a self, group: &'a str) -> BoxFuture<'a, Result<Option<GroupInfo>, Failure>> {
        Box::pin(async move {
            Ok(self.0.lock().unwrap().groups.contains_key(group).then_some(GroupInfo { retention_days: None }))
        })
    }
    fn create_group<'a>(&'a self, group: &'a str) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            self.0.lock().unwrap().groups.entry(group.into()).or_default();
            Ok(())
        })
    }
    fn create_stream<'a>(&'a self, group: &'a str, stream: &'a str) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            match self.0.lock().unwrap().groups.get_mut(group) {
                Some(g) => {
                    g.insert(stream.into());
                    Ok(())
                }
                None => Err(Failure::GroupMissing),
            }
        })
    }
    fn put<'a>(
        &'a self,
        group: &'a str,
        stream: &'a str,
        events: &'a [LogEvent],
    ) -> BoxFuture<'a, Result<Rejected, Failure>> {
        Box::pin(async move {
            let mut s = self.0.lock().unwrap();
            s.puts += 1;
            if let Some(Some(f)) = s.script.pop_front() {
                return Err(f);
            }
            match s.groups.get(group) {
                None => return Err(Failure::GroupMissing),
                Some(g) if !g.contains(stream) => return Err(Failure::StreamMissing),
                Some(_) => {}
            }
            let rej = s.reject.take().unwrap_or_default();
            for (i, e) in events.iter().enumerate() {
                if rej.reason(i).is_none() {
                    s.stored.push(e.clone());
                }
            }
            Ok(rej)
        })
    }
    fn read<'a>(
        &'a self,
        _group: &'a str,
        _stream: &'a str,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<LogEvent>, Failure>> {
        Box::pin(async move {
            let s = self.0.lock().unwrap();
            Ok(s.stored.iter().filter(|e| (from_ms..=to_ms).contains(&e.timestamp_ms)).cloned().collect())
        })
    }
}

fn opts(create_group: bool, retries: u32) -> CloudWatchOptions {
    CloudWatchOptions {
        log_group: "g".into(),
        log_stream: "s".into(),
        create_group,
        backoff: Backoff { retries, base: Duration::from_millis(1), max: Duration::from_millis(2) },
    }
}

fn temp_file(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cw-sink-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d.join("refused.ndjson")
}

fn batch(n: usize, size: usize) -> Batch {
    let now = now_ms();
    let events: Vec<EncodedEvent> = (0..n)
        .map(|i| EncodedEvent {
            line: format!("{{\"n\":{i},\"metadata\":{{\"uid\":\"u{i}\"}},\"pad\":\"{}\"}}", "p".repeat(size)),
            time_ms: now - 1000 + i as i64,
        })
        .collect();
    let bytes = events.iter().map(|e| e.line.len() + 26).sum();
    Batch { events, bytes }
}

fn numbers(fake: &Fake) -> Vec<u64> {
    fake.0
        .lock()
        .unwrap()
        .stored
        .iter()
        .map(|e| serde_json::from_str::<serde_json::Value>(&e.message).unwrap()["n"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_batch_failing_part_way_is_resumed_without_duplicates() {
    let fake = Fake::with_group("g");
    let path = temp_file("resume");
    let mut sink =
        CloudWatchSink::with_api(fake.clone(), opts(false, 0), RejectedFile::new(&path, true)).await.unwrap();
    // 3,000 events of about 1 KB: three requests; the second fails.
    let b = batch(3_000, 1_000);
    fake.0.lock().unwrap().script = VecDeque::from([None, Some(Failure::Transient("ThrottlingException".into()))]);
    assert!(matches!(sink.send(&b).await, Err(SinkError::Retryable(_))));
    let ack = sink.send(&b).await.unwrap();
    assert_eq!(ack, Ack { accepted: 3_000, rejected: 0 });
    assert_eq!(numbers(&fake), (0..3_000).collect::<Vec<_>>());
    // A different batch starts afresh.
    let ack = sink.send(&batch(5, 10)).await.unwrap();
    assert_eq!(ack.accepted, 5);
}

#[tokio::test]
async fn throttling_is_retried_inside_the_sink() {
    let fake = Fake::with_group("g");
    let path = temp_file("throttle");
    let mut sink =
        CloudWatchSink::with_api(fake.clone(), opts(false, 5), RejectedFile::new(&path, true)).await.unwrap();
    let t = || Some(Failure::Transient("ThrottlingException".into()));
    fake.0.lock().unwrap().script = VecDeque::from([t(), t(), t()]);
    assert_eq!(sink.send(&batch(10, 10)).await.unwrap().accepted, 10);
    assert_eq!(fake.0.lock().unwrap().puts, 4);
}

#[tokio::test]
async fn refused_and_oversize_events_go_to_the_refused_file_with_a_reason() {
    let fake = Fake::with_group("g");
    let path = temp_file("refused");
    let mut sink =
        CloudWatchSink::with_api(fake.clone(), opts(false, 0), RejectedFile::new(&path, true)).await.unwrap();
    let mut b = batch(10, 10);
    b.events[4].line = format!("{{\"n\":4,\"pad\":\"{}\"}}", "x".repeat(batch::MAX_EVENT_BYTES));
    fake.0.lock().unwrap().reject = Some(Rejected { too_new_start: Some(7), too_old_end: Some(2), expired_end: None });
    let ack = sink.send(&b).await.unwrap();
    // 9 sent: n 0 and 1 too old, n 8 and 9 (request positions 7, 8) too new; n 4 too large.
    assert_eq!(ack, Ack { accepted: 5, rejected: 5 });
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let reasons: Vec<&str> = lines.iter().map(|l| l["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["too_large", "too_old", "too_old", "too_new", "too_new"]);
    assert_eq!(lines[1]["event"]["n"], 0);
    assert_eq!(lines[0]["log_group"], "g");
    assert_eq!(numbers(&fake), [2, 3, 5, 6, 7]);
}

#[tokio::test]
async fn a_missing_stream_is_created_and_a_missing_group_is_an_error_unless_asked() {
    let fake = Fake::with_group("g");
    let path = temp_file("missing");
    let mut sink =
        CloudWatchSink::with_api(fake.clone(), opts(false, 0), RejectedFile::new(&path, true)).await.unwrap();
    // Someone deletes the stream: it is created again.
    fake.0.lock().unwrap().groups.get_mut("g").unwrap().clear();
    assert_eq!(sink.send(&batch(3, 1)).await.unwrap().accepted, 3);
    // The group is gone: a fatal, clear error.
    fake.0.lock().unwrap().groups.clear();
    match sink.send(&batch(3, 1)).await {
        Err(SinkError::Fatal(m)) => assert!(m.contains("`g` does not exist"), "{m}"),
        other => panic!("{other:?}"),
    }
    // At start-up.
    let empty = Fake::default();
    let err =
        CloudWatchSink::with_api(empty.clone(), opts(false, 0), RejectedFile::new(&path, true)).await.err().unwrap();
    assert!(err.contains("log group `g` does not exist") && err.contains("--create-log-group"), "{err}");
    let mut sink =
        CloudWatchSink::with_api(empty.clone(), opts(true, 0), RejectedFile::new(&path, true)).await.unwrap();
    assert_eq!(sink.send(&batch(2, 1)).await.unwrap().accepted, 2);
    assert!(empty.0.lock().unwrap().groups["g"].contains("s"));
}

#[tokio::test]
async fn fatal_errors_are_fatal() {
    let fake = Fake::with_group("g");
    let path = temp_file("fatal");
    let mut sink =
        CloudWatchSink::with_api(fake.clone(), opts(false, 3), RejectedFile::new(&path, true)).await.unwrap();
    fake.0.lock().unwrap().script = VecDeque::from([Some(Failure::Fatal("AccessDeniedException: no".into()))]);
    assert_eq!(sink.send(&batch(1, 1)).await, Err(SinkError::Fatal("AccessDeniedException: no".into())));
    assert_eq!(fake.0.lock().unwrap().puts, 1);
}

#[tokio::test]
async fn a_batch_sent_by_a_killed_run_is_recognised_and_not_sent_again() {
    let fake = Fake::with_group("g");
    let path = temp_file("recover");
    let mut first =
        CloudWatchSink::with_api(fake.clone(), opts(false, 0), RejectedFile::new(&path, false)).await.unwrap();
    let committed = first.committed();
    // 3,000 events in three requests: the intent is recorded, the first request lands, then
    // the process dies (the second request never completes).
    let b = batch(3_000, 1_000);
    let intent = first.intent(&b).unwrap().expect("an intent");
    fake.0.lock().unwrap().script = VecDeque::from([None, Some(Failure::Fatal("killed".into()))]);
    assert!(sink_fails(&mut first, &b).await);
    let landed = numbers(&fake).len();
    assert!(landed > 0 && landed < 3_000, "{landed}");
    drop(first);

    // The restart reads the intent's range back and sends only what is missing.
    let mut second =
        CloudWatchSink::with_api(fake.clone(), opts(false, 0), RejectedFile::new(&path, false)).await.unwrap();
    second.resume(committed.as_ref(), Some(&intent)).await.unwrap();
    let state = second.committed().unwrap();
    assert_eq!(state["present"].as_object().map(|o| o.len()), Some(landed), "{state}");
    // The refetched batch may be cut differently: here, in two.
    let (head, tail) = (
        Batch { events: b.events[..1_500].to_vec(), bytes: 0 },
        Batch { events: b.events[1_500..].to_vec(), bytes: 0 },
    );
    assert_eq!(second.send(&head).await.unwrap().accepted, 1_500);
    assert_eq!(second.send(&tail).await.unwrap().accepted, 1_500);
    assert_eq!(numbers(&fake), (0..3_000).collect::<Vec<_>>(), "each event once, in order");
    assert!(second.committed().unwrap().get("present").is_none(), "nothing left to recognise");
}

async fn sink_fails<A: LogsApi>(sink: &mut CloudWatchSink<A>, b: &Batch) -> bool {
    sink.send(b).await.is_err()
}

#[tokio::test]
async fn what_a_resume_learned_is_kept_through_a_second_crash() {
    let fake = Fake::with_group("g");
    let path = temp_file("recover-twice");
    let open = || CloudWatchSink::with_api(fake.clone(), opts(false, 0), RejectedFile::new(&path, false));
    let mut first = open().await.unwrap();
    let committed = first.committed();
    let b = batch(3_000, 1_000);
    let intent = first.intent(&b).unwrap();
    fake.0.lock().unwrap().script = VecDeque::from([None, Some(Failure::Fatal("killed".into()))]);
    assert!(sink_fails(&mut first, &b).await);
    let landed = numbers(&fake).len();
    drop(first);

    // The restart learns what landed, then dies before sending a smaller first batch: the
    // runner checkpoints the sink's state with the new intent, and what it learned stays.
    let mut second = open().await.unwrap();
    second.resume(committed.as_ref(), intent.as_ref()).await.unwrap();
    let head = Batch { events: b.events[..500].to_vec(), bytes: 0 };
    let state = second.committed();
    let intent = second.intent(&head).unwrap();
    drop(second);

    let mut third = open().await.unwrap();
    third.resume(state.as_ref(), intent.as_ref()).await.unwrap();
    assert_eq!(third.send(&b).await.unwrap().accepted, 3_000);
    assert_eq!(numbers(&fake), (0..3_000).collect::<Vec<_>>(), "each event once ({landed} had landed)");
}
