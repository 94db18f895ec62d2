//! The CloudWatch Logs calls the sink makes, behind [`LogsApi`] so that the sink's logic can be
//! tested without a service; [`SdkLogs`] is the real one (aws-sdk-cloudwatchlogs).

use super::retry::Failure;
use crate::sink::BoxFuture;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

/// One event of a PutLogEvents request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp_ms: i64,
    pub message: String,
}

/// Events the service refused in an accepted request, as `rejectedLogEventsInfo` gives them:
/// indexes into the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rejected {
    /// Events at this index and after are too new.
    pub too_new_start: Option<usize>,
    /// Events before this index are too old.
    pub too_old_end: Option<usize>,
    /// Events before this index are older than the group's retention.
    pub expired_end: Option<usize>,
}

impl Rejected {
    /// Why the event at `index` of the request was refused, if it was.
    pub fn reason(&self, index: usize) -> Option<&'static str> {
        if self.expired_end.is_some_and(|e| index < e) {
            Some("expired")
        } else if self.too_old_end.is_some_and(|e| index < e) {
            Some("too_old")
        } else if self.too_new_start.is_some_and(|s| index >= s) {
            Some("too_new")
        } else {
            None
        }
    }
}

/// A log group as the sink needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub retention_days: Option<i32>,
}

/// The CloudWatch Logs operations the sink uses.
pub trait LogsApi: Send + Sync {
    /// The group, or `None` when it does not exist.
    fn describe_group<'a>(&'a self, group: &'a str) -> BoxFuture<'a, Result<Option<GroupInfo>, Failure>>;
    /// Creates the group; one that already exists is fine.
    fn create_group<'a>(&'a self, group: &'a str) -> BoxFuture<'a, Result<(), Failure>>;
    /// Creates the stream; one that already exists is fine.
    fn create_stream<'a>(&'a self, group: &'a str, stream: &'a str) -> BoxFuture<'a, Result<(), Failure>>;
    fn put<'a>(
        &'a self,
        group: &'a str,
        stream: &'a str,
        events: &'a [LogEvent],
    ) -> BoxFuture<'a, Result<Rejected, Failure>>;
    /// The events of `stream` stamped from `from_ms` to `to_ms` (both included), oldest first.
    fn read<'a>(
        &'a self,
        group: &'a str,
        stream: &'a str,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<LogEvent>, Failure>>;
}

/// CloudWatch Logs through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SdkLogs {
    client: Client,
}

impl SdkLogs {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        SdkLogs { client: Client::new(config) }
    }
}

/// Sorts an SDK error into a [`Failure`].
pub fn classify<E>(op: &str, err: SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().unwrap_or("unknown error");
            let message = e.message().unwrap_or("");
            let text = format!("CloudWatch Logs {op}: {code}: {message}");
            let server_error = se.raw().status().as_u16() >= 500;
            match code {
                "ThrottlingException"
                | "ServiceUnavailableException"
                | "InternalFailure"
                | "InternalServerError"
                | "RequestTimeout"
                | "RequestTimeoutException"
                | "ServiceUnavailable" => Failure::Transient(text),
                "ResourceNotFoundException" => {
                    if message.to_ascii_lowercase().contains("stream") {
                        Failure::StreamMissing
                    } else {
                        Failure::GroupMissing
                    }
                }
                _ if server_error => Failure::Transient(text),
                _ => Failure::Fatal(text),
            }
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            Failure::Transient(format!("CloudWatch Logs {op}: {}", DisplayErrorContext(&err)))
        }
        SdkError::DispatchFailure(d) => {
            let text = format!("CloudWatch Logs {op}: {}", DisplayErrorContext(&err));
            if d.is_io() || d.is_timeout() {
                Failure::Transient(text)
            } else {
                Failure::Fatal(no_credentials_hint(text))
            }
        }
        _ => Failure::Fatal(no_credentials_hint(format!("CloudWatch Logs {op}: {}", DisplayErrorContext(&err)))),
    }
}

/// Adds a hint when an SDK message says that no credentials were found.
pub fn no_credentials_hint(text: String) -> String {
    if text.to_ascii_lowercase().contains("credential") {
        format!(
            "{text} (no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an instance or task role)"
        )
    } else {
        text
    }
}

impl LogsApi for SdkLogs {
    fn describe_group<'a>(&'a self, group: &'a str) -> BoxFuture<'a, Result<Option<GroupInfo>, Failure>> {
        Box::pin(async move {
            let mut next: Option<String> = None;
            loop {
                let out = self
                    .client
                    .describe_log_groups()
                    .log_group_name_prefix(group)
                    .set_next_token(next.clone())
                    .send()
                    .await
                    .map_err(|e| classify("DescribeLogGroups", e))?;
                if let Some(g) = out.log_groups().iter().find(|g| g.log_group_name() == Some(group)) {
                    return Ok(Some(GroupInfo { retention_days: g.retention_in_days() }));
                }
                match out.next_token() {
                    Some(t) if !t.is_empty() && next.as_deref() != Some(t) => next = Some(t.to_string()),
                    _ => return Ok(None),
                }
            }
        })
    }

    fn create_group<'a>(&'a self, group: &'a str) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            match self.client.create_log_group().log_group_name(group).send().await {
                Ok(_) => Ok(()),
                Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
                Err(e) => Err(classify("CreateLogGroup", e)),
            }
        })
    }

    fn create_stream<'a>(&'a self, group: &'a str, stream: &'a str) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            match self.client.create_log_stream().log_group_name(group).log_stream_name(stream).send().await {
                Ok(_) => Ok(()),
                Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
                // Creating a stream in a missing group answers ResourceNotFoundException.
                Err(e) if e.code() == Some("ResourceNotFoundException") => Err(Failure::GroupMissing),
                Err(e) => Err(classify("CreateLogStream", e)),
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
            let mut input = Vec::with_capacity(events.len());
            for e in events {
                let ev = InputLogEvent::builder()
                    .timestamp(e.timestamp_ms)
                    .message(e.message.clone())
                    .build()
                    .map_err(|err| Failure::Fatal(format!("CloudWatch Logs PutLogEvents: {err}")))?;
                input.push(ev);
            }
            let out = self
                .client
                .put_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .set_log_events(Some(input))
                .send()
                .await
                .map_err(|e| classify("PutLogEvents", e))?;
            let idx = |v: Option<i32>| v.and_then(|i| usize::try_from(i).ok());
            Ok(match out.rejected_log_events_info() {
                None => Rejected::default(),
                Some(r) => Rejected {
                    too_new_start: idx(r.too_new_log_event_start_index()),
                    too_old_end: idx(r.too_old_log_event_end_index()),
                    expired_end: idx(r.expired_log_event_end_index()),
                },
            })
        })
    }

    fn read<'a>(
        &'a self,
        group: &'a str,
        stream: &'a str,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<LogEvent>, Failure>> {
        Box::pin(self.read_range(group, stream, from_ms, to_ms))
    }
}

impl SdkLogs {
    /// GetLogEvents over a time range, page by page (`endTime` excludes its own instant).
    async fn read_range(&self, group: &str, stream: &str, from_ms: i64, to_ms: i64) -> Result<Vec<LogEvent>, Failure> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .start_time(from_ms)
                .end_time(to_ms.saturating_add(1))
                .start_from_head(true)
                .set_next_token(token.clone())
                .send()
                .await;
            let page = match page {
                Ok(p) => p,
                // A stream that was never created holds nothing.
                Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(out),
                Err(e) => return Err(classify("GetLogEvents", e)),
            };
            let events = page.events();
            for e in events {
                if let (Some(t), Some(m)) = (e.timestamp(), e.message()) {
                    out.push(LogEvent { timestamp_ms: t, message: m.to_string() });
                }
            }
            let next = page.next_forward_token().map(str::to_string);
            // The service may answer an empty page with the same token at the end.
            if events.is_empty() || next.is_none() || next == token {
                return Ok(out);
            }
            token = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_indexes_follow_the_api() {
        let r = Rejected { too_new_start: Some(8), too_old_end: Some(3), expired_end: Some(1) };
        let reasons: Vec<Option<&str>> = (0..10).map(|i| r.reason(i)).collect();
        assert_eq!(
            reasons,
            [
                Some("expired"),
                Some("too_old"),
                Some("too_old"),
                None,
                None,
                None,
                None,
                None,
                Some("too_new"),
                Some("too_new")
            ]
        );
        assert_eq!(Rejected::default().reason(0), None);
    }
}
