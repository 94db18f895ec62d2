//! What the Security Lake sink needs to know: the bucket and the partition values, a source name
//! per class, how often to write objects and how large they may grow.

use super::keys::{check_source_name, default_source_name};
use std::collections::BTreeMap;
use std::time::Duration;

/// The classes the sink writes, each to its own custom source.
pub const CLASSES: [i64; 2] = [3002, 3004];

/// Security Lake advises objects no more often than every 5 minutes.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(300);

/// The default and largest object size, counted as the JSON bytes of its events (the Parquet
/// object is several times smaller). The largest keeps a row group under 256 MB.
pub const DEFAULT_MAX_OBJECT_BYTES: usize = 64 * 1024 * 1024;
pub const MAX_OBJECT_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct SecurityLakeOptions {
    pub bucket: String,
    pub region: String,
    /// The 12-digit account id of the partition path, or `external`.
    pub account_id: String,
    /// The stream's name, the first part of every object's name.
    pub stream: String,
    /// Class uid → custom-source name.
    pub sources: BTreeMap<i64, String>,
    pub flush_interval: Duration,
    pub max_object_bytes: usize,
}

impl SecurityLakeOptions {
    /// Options with the default source names of `spec_name`, interval and size.
    pub fn new(bucket: &str, region: &str, account_id: &str, spec_name: &str, stream: &str) -> Self {
        SecurityLakeOptions {
            bucket: bucket.to_string(),
            region: region.to_string(),
            account_id: account_id.to_string(),
            stream: stream.to_string(),
            sources: CLASSES.iter().map(|&c| (c, default_source_name(spec_name, c))).collect(),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
        }
    }

    /// Every problem with the options, for a configuration error.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(3..=63).contains(&self.bucket.len()) {
            out.push(format!("--bucket `{}`: an S3 bucket name has 3 to 63 characters", self.bucket));
        }
        if self.region.is_empty()
            || !self.region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            out.push(format!("--region `{}` is not an AWS region name (e.g. us-east-1)", self.region));
        }
        let digits = self.account_id.len() == 12 && self.account_id.chars().all(|c| c.is_ascii_digit());
        if !digits && self.account_id != "external" {
            out.push(format!("--account-id `{}` must be a 12-digit AWS account id or `external`", self.account_id));
        }
        for name in self.sources.values() {
            if let Err(e) = check_source_name(name) {
                out.push(e);
            }
        }
        let names: std::collections::BTreeSet<&String> = self.sources.values().collect();
        if names.len() < self.sources.len() {
            out.push("each class needs its own source name (Security Lake takes one class per custom source)".into());
        }
        if self.max_object_bytes == 0 || self.max_object_bytes > MAX_OBJECT_BYTES {
            out.push(format!("--max-object-size must be between 1 and {MAX_OBJECT_BYTES} bytes"));
        }
        out
    }
}

/// `256MiB`, `64MB`, `1000000`: a size in bytes.
pub fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: usize = n.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" | "k" => 1024,
        "mb" => 1000 * 1000,
        "mib" | "m" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_named() {
        let o = SecurityLakeOptions::new("bucket-b", "us-east-1", "123456789012", "entrust", "audit");
        assert!(o.problems().is_empty(), "{:?}", o.problems());
        assert_eq!(o.sources[&3002], "entrust-auth");
        let mut bad = o.clone();
        bad.account_id = "12345".into();
        bad.sources.insert(3004, "entrust-auth".into());
        let p = bad.problems();
        assert!(p.iter().any(|m| m.contains("--account-id")) && p.iter().any(|m| m.contains("one class")), "{p:?}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("2 kb"), Some(2000));
        assert_eq!(parse_size("lots"), None);
    }
}
