//! Which coordination a run uses (`--coordination`): the local state directory (the default) or
//! an S3 bucket and prefix, and this worker's default name.

/// A parsed `--coordination` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The state directory on this machine (one process at a time).
    Local,
    /// `s3://BUCKET/PREFIX`.
    S3 { bucket: String, prefix: String },
}

impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "local" {
            return Ok(Target::Local);
        }
        let Some(rest) = s.strip_prefix("s3://") else {
            return Err(format!("`{s}` is neither `local` nor `s3://BUCKET/PREFIX`"));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        let valid = (3..=63).contains(&bucket.len())
            && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid {
            return Err(format!("`{bucket}` is not an S3 bucket name (3 to 63 of a-z, 0-9, `-`, `.`)"));
        }
        if prefix.is_empty() {
            return Err(format!("`{s}` has no prefix; give one, e.g. s3://{bucket}/engine"));
        }
        Ok(Target::S3 { bucket: bucket.to_string(), prefix: prefix.to_string() })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Local => f.write_str("local"),
            Target::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// This machine's host name (`unknown-host` when it cannot be read).
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.to_string(),
        _ => "unknown-host".into(),
    }
}

/// The default `--worker-id`: host name and process id (`ip-10-0-0-5-4242`).
pub fn default_worker_id() -> String {
    format!("{}-{}", host_name(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_and_s3_targets() {
        assert_eq!("local".parse::<Target>(), Ok(Target::Local));
        let t: Target = "s3://my-bucket/fleet/prod/".parse().unwrap();
        assert_eq!(t, Target::S3 { bucket: "my-bucket".into(), prefix: "fleet/prod".into() });
        assert_eq!(t.to_string(), "s3://my-bucket/fleet/prod");
        assert!("s3://my-bucket".parse::<Target>().unwrap_err().contains("no prefix"));
        assert!("s3://B/x".parse::<Target>().unwrap_err().contains("not an S3 bucket"));
        assert!("/tmp/x".parse::<Target>().unwrap_err().contains("neither"));
        assert!(default_worker_id().ends_with(&format!("-{}", std::process::id())));
    }
}
