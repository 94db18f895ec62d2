//! AWS: the SDK configuration the engine uses (the default credential chain, the region and
//! `AWS_ENDPOINT_URL` from the environment), the check that a region and credentials are there
//! before a sink starts, and Secrets Manager references.

pub mod preflight;
pub mod secrets;

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The SDK configuration from the environment and profile files, with `region` when given
/// (e.g. the region of a secret's ARN) instead of the configured one.
pub async fn load_config(region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_string()));
    }
    loader.load().await
}

/// An S3 client for `config`, path-style when `AWS_ENDPOINT_URL` points somewhere else than AWS
/// (moto, MinIO: no virtual-host buckets there).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config);
    if config.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}
