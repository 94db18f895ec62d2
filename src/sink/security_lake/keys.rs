//! Where objects go: the custom-source name of a class, the partition of an event's UTC day
//! (`ext/<source>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/`) and the object key,
//! derived from the checkpoint's batch sequence so that a retried or resumed write names the
//! same object again.

/// Security Lake advises at most 20 characters (the name becomes part of an IAM role's).
pub const MAX_SOURCE_NAME: usize = 20;

/// The class suffix of a default source name.
pub fn class_suffix(class_uid: i64) -> &'static str {
    match class_uid {
        3002 => "auth",
        3004 => "entity",
        _ => "ocsf",
    }
}

/// The `eventClasses` value CreateCustomLogSource takes for a class.
pub fn event_class(class_uid: i64) -> Option<&'static str> {
    match class_uid {
        3002 => Some("AUTHENTICATION"),
        3004 => Some("ENTITY_MANAGEMENT_AUDIT"),
        _ => None,
    }
}

/// The default source name of a class: the spec's name shortened (lower case; letters, digits
/// and `-` kept) plus `-<suffix>`, at most [`MAX_SOURCE_NAME`] characters.
pub fn default_source_name(spec_name: &str, class_uid: i64) -> String {
    let suffix = class_suffix(class_uid);
    let room = MAX_SOURCE_NAME - suffix.len() - 1;
    let base: String = spec_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .chars()
        .take(room)
        .collect();
    let base = base.trim_end_matches('-');
    if base.is_empty() { suffix.to_string() } else { format!("{base}-{suffix}") }
}

/// A source name Security Lake accepts: 1 to 64 of letters, digits, `-`, `_`; `Err` says why not.
pub fn check_source_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!("source name `{name}` must have 1 to 64 characters"));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("source name `{name}` may hold only letters, digits, `-` and `_`"));
    }
    Ok(())
}

/// The UTC day of `time_ms` as `YYYYMMDD`.
pub fn event_day(time_ms: i64) -> String {
    crate::source::timefmt::utc_day(time_ms)
}

/// The partition prefix of a source's events of one UTC day.
pub fn partition(source: &str, region: &str, account_id: &str, day: &str) -> String {
    format!("ext/{source}/region={region}/accountId={account_id}/eventDay={day}/")
}

/// The key of one object of a batch: the partition, the stream, the time of its first event,
/// the batch's sequence number in the checkpoint and the object's number within the batch.
pub fn object_key(partition: &str, stream: &str, first_ms: i64, seq: u64, part: usize) -> String {
    format!("{partition}{stream}-{first_ms}-{seq:08}-{part:02}.zstd.parquet")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_days() {
        assert_eq!(event_day(0), "19700101");
        assert_eq!(event_day(1_764_619_804_000), "20251201");
        // One millisecond either side of midnight UTC.
        assert_eq!(event_day(1_764_633_600_000 - 1), "20251201");
        assert_eq!(event_day(1_764_633_600_000), "20251202");
        assert_eq!(event_day(951_782_400_000), "20000229");
        assert_eq!(event_day(-1), "19691231");
    }

    #[test]
    fn default_source_names_fit_twenty_characters() {
        assert_eq!(default_source_name("entrust", 3002), "entrust-auth");
        assert_eq!(default_source_name("entrust", 3004), "entrust-entity");
        let long = default_source_name("Entrust IDaaS Administration API", 3004);
        assert!(long.len() <= MAX_SOURCE_NAME, "{long}");
        assert_eq!(long, "entrust-idaas-entity");
        assert!(check_source_name(&long).is_ok());
        assert!(check_source_name("a b").is_err());
    }

    #[test]
    fn keys_are_partitioned() {
        let p = partition("entrust-auth", "us-east-1", "123456789012", "20251201");
        assert_eq!(p, "ext/entrust-auth/region=us-east-1/accountId=123456789012/eventDay=20251201/");
        assert_eq!(object_key(&p, "audit", 5, 12, 1), format!("{p}audit-5-00000012-01.zstd.parquet"));
    }
}
