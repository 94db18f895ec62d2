//! The coordination [`Store`] on Amazon S3: GetObject for reads (with the ETag), PutObject with
//! `If-None-Match: *` to create and `If-Match: <etag>` to compare-and-swap, DeleteObject with
//! `If-Match`, ListObjectsV2 under the prefix. S3 checks those conditions atomically per key:
//! of two racing writers one gets 200, the other 412 (or 409 `ConditionalRequestConflict` while
//! the first is in flight: nothing written, try again).
//!
//! Answers lost on the way back (timeouts, a reset connection after the request went out) are
//! [`StoreError::Unknown`]; the protocol reads the object again to learn whether its write
//! landed. The client is built as the Security Lake sink's is (the default credential chain,
//! `AWS_ENDPOINT_URL`, path-style for a local endpoint).

use super::store::{Cas, Store, StoreError, Versioned};
use crate::sink::BoxFuture;
use crate::sink::cloudwatch::service::no_credentials_hint;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

/// A bucket and prefix holding coordination objects.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    pub fn new(config: &aws_config::SdkConfig, bucket: &str, prefix: &str) -> Self {
        S3Store {
            client: crate::aws::s3_client(config),
            bucket: bucket.into(),
            prefix: prefix.trim_matches('/').into(),
        }
    }

    fn full(&self, key: &str) -> String {
        format!("{}/{key}", self.prefix)
    }

    fn target(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.full(key))
    }
}

/// Sorts an S3 error: retry (nothing happened), unknown (it may have), or give up.
fn classify<E>(op: &str, target: &str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("unknown error");
            let text = format!("S3 {op} {target}: {code} (HTTP {status}): {}", se.err().message().unwrap_or(""));
            match code {
                "AccessDenied" => StoreError::Fatal(format!(
                    "{text} (each worker needs s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on the prefix)"
                )),
                "NoSuchBucket" => StoreError::Fatal(format!("{text} (create the bucket, or check --coordination)")),
                _ if status >= 500 || status == 409 || code == "SlowDown" || code == "RequestTimeout" => {
                    StoreError::Retryable(text)
                }
                _ => StoreError::Fatal(text),
            }
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            StoreError::Unknown(format!("S3 {op} {target}: {}", DisplayErrorContext(&err)))
        }
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            StoreError::Unknown(format!("S3 {op} {target}: {}", DisplayErrorContext(&err)))
        }
        SdkError::DispatchFailure(d) if d.is_io() => {
            StoreError::Retryable(format!("S3 {op} {target}: {}", DisplayErrorContext(&err)))
        }
        _ => StoreError::Fatal(no_credentials_hint(format!("S3 {op} {target}: {}", DisplayErrorContext(&err)))),
    }
}

fn status_of<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

impl S3Store {
    async fn put(&self, key: &str, body: Vec<u8>, condition: Result<&str, &str>) -> Result<Cas, StoreError> {
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .content_type("application/json")
            .body(ByteStream::from(body));
        put = match condition {
            Ok(etag) => put.if_match(etag),
            Err(star) => put.if_none_match(star),
        };
        match put.send().await {
            Ok(out) => Ok(Cas::Written(out.e_tag().unwrap_or_default().to_string())),
            // 412: the condition failed; 404 on If-Match: the object is gone.
            Err(e) if matches!(status_of(&e), Some(412 | 404)) => Ok(Cas::Conflict),
            Err(e) => Err(classify("PutObject", &self.target(key), e)),
        }
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, StoreError>> {
        Box::pin(async move {
            let out = match self.client.get_object().bucket(&self.bucket).key(self.full(key)).send().await {
                Ok(out) => out,
                Err(e) if status_of(&e) == Some(404) => return Ok(None),
                Err(e) => {
                    // A lost answer to a read changes nothing: try again.
                    return Err(match classify("GetObject", &self.target(key), e) {
                        StoreError::Unknown(m) => StoreError::Retryable(m),
                        other => other,
                    });
                }
            };
            let etag = out.e_tag().unwrap_or_default().to_string();
            let body = out
                .body
                .collect()
                .await
                .map_err(|e| StoreError::Retryable(format!("S3 GetObject {}: {e}", self.target(key))))?
                .into_bytes()
                .to_vec();
            Ok(Some(Versioned { body, etag }))
        })
    }

    fn put_if_absent<'a>(&'a self, key: &'a str, body: Vec<u8>) -> BoxFuture<'a, Result<Cas, StoreError>> {
        Box::pin(self.put(key, body, Err("*")))
    }

    fn put_if_match<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        etag: &'a str,
    ) -> BoxFuture<'a, Result<Cas, StoreError>> {
        Box::pin(self.put(key, body, Ok(etag)))
    }

    fn delete_if_match<'a>(&'a self, key: &'a str, etag: &'a str) -> BoxFuture<'a, Result<Cas, StoreError>> {
        Box::pin(async move {
            match self.client.delete_object().bucket(&self.bucket).key(self.full(key)).if_match(etag).send().await {
                Ok(_) => Ok(Cas::Written(String::new())),
                Err(e) if matches!(status_of(&e), Some(412 | 404)) => Ok(Cas::Conflict),
                Err(e) => Err(classify("DeleteObject", &self.target(key), e)),
            }
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let base = format!("{}/", self.prefix);
            let mut keys = Vec::new();
            let mut token = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(self.full(prefix))
                    .set_continuation_token(token)
                    .send()
                    .await
                    .map_err(|e| match classify("ListObjectsV2", &self.target(prefix), e) {
                        StoreError::Unknown(m) => StoreError::Retryable(m),
                        other => other,
                    })?;
                keys.extend(page.contents().iter().filter_map(|o| o.key()?.strip_prefix(&base).map(String::from)));
                match page.next_continuation_token() {
                    Some(t) => token = Some(t.to_string()),
                    None => break,
                }
            }
            keys.sort();
            Ok(keys)
        })
    }
}
