//! Before an AWS sink starts: is there a region, and can the default chain find credentials?
//! Either missing is one sentence saying what to set (exit 2), not the SDK's chain of provider
//! attempts; a provider that fails (a timeout, a refused role) is one line with its cause.

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;

/// Why an AWS sink cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreflightError {
    #[error(
        "no AWS region for {what}: set AWS_REGION (for example AWS_REGION=us-east-1), or `region` in the AWS profile"
    )]
    NoRegion { what: String },
    #[error(
        "no AWS credentials for {what}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance or task role"
    )]
    NoCredentials { what: String },
    #[error("the AWS credentials for {what} could not be loaded: {reason}")]
    CredentialsFailed { what: String, reason: String },
}

impl PreflightError {
    /// A missing setting is a configuration error; a failing provider may pass.
    pub fn is_configuration(&self) -> bool {
        !matches!(self, PreflightError::CredentialsFailed { .. })
    }
}

/// Checks the region and asks the credential chain once; `what` names the sink.
pub async fn check(config: &SdkConfig, what: &str) -> Result<(), PreflightError> {
    let what = what.to_string();
    if config.region().is_none_or(|r| r.as_ref().trim().is_empty()) {
        return Err(PreflightError::NoRegion { what });
    }
    let Some(provider) = config.credentials_provider() else {
        return Err(PreflightError::NoCredentials { what });
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(CredentialsError::CredentialsNotLoaded(_)) => Err(PreflightError::NoCredentials { what }),
        // The error's own sentence, without its chain of sources and their debug forms.
        Err(e) => Err(PreflightError::CredentialsFailed { what, reason: e.to_string() }),
    }
}
