//! `engine security-lake register`: the custom log sources of the two classes, registered with
//! Security Lake's CreateCustomLogSource once each. Idempotent: the sources already there
//! (ListLogSources) are left alone, only the missing ones are created.

use super::keys::event_class;
use aws_sdk_securitylake::Client;
use aws_sdk_securitylake::error::DisplayErrorContext;
use aws_sdk_securitylake::types::{
    AwsIdentity, CustomLogSourceConfiguration, CustomLogSourceCrawlerConfiguration, LogSourceResource,
};
use std::collections::BTreeSet;

/// One custom source to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    /// The `eventClasses` value: `AUTHENTICATION`, `ENTITY_MANAGEMENT_AUDIT`.
    pub event_class: &'static str,
}

/// What CreateCustomLogSource needs besides the name and the class.
#[derive(Debug, Clone)]
pub struct Registration {
    pub region: String,
    /// The IAM role the Glue crawler uses.
    pub crawler_role_arn: String,
    /// The principal that writes the source's objects (an account id or an ARN).
    pub principal: String,
    pub external_id: String,
    pub source_version: Option<String>,
}

/// The sources of `sources` (class uid, name) with their `eventClasses`.
pub fn sources(names: impl IntoIterator<Item = (i64, String)>) -> Vec<Source> {
    names.into_iter().filter_map(|(uid, name)| Some(Source { name, event_class: event_class(uid)? })).collect()
}

/// The CreateCustomLogSource request of `source`, as the API's JSON (what `--dry-run` prints).
pub fn create_request(reg: &Registration, source: &Source) -> serde_json::Value {
    let mut body = serde_json::json!({
        "sourceName": source.name,
        "eventClasses": [source.event_class],
        "configuration": {
            "crawlerConfiguration": { "roleArn": reg.crawler_role_arn },
            "providerIdentity": { "principal": reg.principal, "externalId": reg.external_id },
        },
    });
    if let Some(v) = &reg.source_version {
        body["sourceVersion"] = v.clone().into();
    }
    body
}

/// The names of the custom sources registered in `region`.
pub async fn existing(client: &Client, region: &str) -> Result<BTreeSet<String>, String> {
    let mut names = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_log_sources()
            .regions(region)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| format!("Security Lake ListLogSources in {region}: {}", DisplayErrorContext(&e)))?;
        for source in page.sources() {
            for resource in source.sources() {
                if let LogSourceResource::CustomLogSource(c) = resource
                    && let Some(n) = c.source_name()
                {
                    names.insert(n.to_string());
                }
            }
        }
        match page.next_token() {
            Some(t) if token.as_deref() != Some(t) => token = Some(t.to_string()),
            _ => return Ok(names),
        }
    }
}

/// Creates `source`; returns the source's S3 location as Security Lake reports it.
pub async fn create(client: &Client, reg: &Registration, source: &Source) -> Result<Option<String>, String> {
    let built = |e: aws_sdk_securitylake::error::BuildError| format!("CreateCustomLogSource request: {e}");
    let crawler =
        CustomLogSourceCrawlerConfiguration::builder().role_arn(&reg.crawler_role_arn).build().map_err(built)?;
    let identity =
        AwsIdentity::builder().principal(&reg.principal).external_id(&reg.external_id).build().map_err(built)?;
    let configuration =
        CustomLogSourceConfiguration::builder().crawler_configuration(crawler).provider_identity(identity).build();
    let out = client
        .create_custom_log_source()
        .source_name(&source.name)
        .event_classes(source.event_class)
        .configuration(configuration)
        .set_source_version(reg.source_version.clone())
        .send()
        .await
        .map_err(|e| format!("Security Lake CreateCustomLogSource `{}`: {}", source.name, DisplayErrorContext(&e)))?;
    Ok(out.source().and_then(|s| s.provider()).and_then(|p| p.location()).map(str::to_string))
}
