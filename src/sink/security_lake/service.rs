//! The S3 calls the Security Lake sink makes, behind [`ObjectStore`]; [`SdkS3`] is the real one
//! (aws-sdk-s3, path-style when `AWS_ENDPOINT_URL` points somewhere else than AWS).

use crate::sink::cloudwatch::service::no_credentials_hint;
use crate::sink::{BoxFuture, SinkError};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

/// The user-metadata name of an object's content fingerprint (`x-amz-meta-ocsf-engine-content`).
pub const CONTENT_META: &str = "ocsf-engine-content";

/// What a conditional PUT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Written,
    /// `If-None-Match: *` failed: an object with that key exists (412).
    Exists,
}

/// The S3 operations the sink uses.
pub trait ObjectStore: Send + Sync {
    /// PUT with `If-None-Match: *`, `content` stored as the object's fingerprint metadata.
    fn put_new<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        body: Vec<u8>,
        content: &'a str,
    ) -> BoxFuture<'a, Result<Put, SinkError>>;
    /// The fingerprint of an existing object (`Some(None)`: it exists without one), or `None`.
    fn fingerprint<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Option<String>>, SinkError>>;
}

/// S3 through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SdkS3 {
    client: Client,
}

impl SdkS3 {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        SdkS3 { client: crate::aws::s3_client(config) }
    }
}

/// Sorts an S3 error into retry-or-not, with the bucket and the key in the message.
fn classify<E>(op: &str, target: &str, err: SdkError<E, HttpResponse>) -> SinkError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("unknown error");
            let message = se.err().message().unwrap_or("");
            let text = format!("S3 {op} {target}: {code} (HTTP {status}): {message}");
            match code {
                "SlowDown"
                | "InternalError"
                | "RequestTimeout"
                | "ServiceUnavailable"
                | "ConditionalRequestConflict" => SinkError::Retryable(text),
                "NoSuchBucket" => {
                    SinkError::Fatal(format!("{text} (create the bucket, or check --bucket and --region)"))
                }
                "AccessDenied" => SinkError::Fatal(format!(
                    "{text} (the writer needs s3:PutObject and s3:GetObject on the bucket's ext/ prefix)"
                )),
                _ if status >= 500 || status == 409 => SinkError::Retryable(text),
                _ => SinkError::Fatal(text),
            }
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            SinkError::Retryable(format!("S3 {op} {target}: {}", DisplayErrorContext(&err)))
        }
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            SinkError::Retryable(format!("S3 {op} {target}: {}", DisplayErrorContext(&err)))
        }
        _ => SinkError::Fatal(no_credentials_hint(format!("S3 {op} {target}: {}", DisplayErrorContext(&err)))),
    }
}

fn status_of<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

impl ObjectStore for SdkS3 {
    fn put_new<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        body: Vec<u8>,
        content: &'a str,
    ) -> BoxFuture<'a, Result<Put, SinkError>> {
        Box::pin(async move {
            let sent = self
                .client
                .put_object()
                .bucket(bucket)
                .key(key)
                .if_none_match("*")
                .content_type("application/vnd.apache.parquet")
                .metadata(CONTENT_META, content)
                .body(ByteStream::from(body))
                .send()
                .await;
            match sent {
                Ok(_) => Ok(Put::Written),
                Err(e) if status_of(&e) == Some(412) => Ok(Put::Exists),
                Err(e) => Err(classify("PutObject", &format!("s3://{bucket}/{key}"), e)),
            }
        })
    }

    fn fingerprint<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Option<String>>, SinkError>> {
        Box::pin(async move {
            match self.client.head_object().bucket(bucket).key(key).send().await {
                Ok(out) => Ok(Some(out.metadata().and_then(|m| m.get(CONTENT_META)).cloned())),
                Err(e) if status_of(&e) == Some(404) => Ok(None),
                Err(e) => Err(classify("HeadObject", &format!("s3://{bucket}/{key}"), e)),
            }
        })
    }
}
