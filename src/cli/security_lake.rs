//! The Security Lake side of the command line: `engine run --sink security_lake` flags and the
//! sink they make, and `engine schema parquet <class>`.

use crate::sink::security_lake::config::{DEFAULT_MAX_OBJECT_BYTES, SecurityLakeOptions, parse_size};
use crate::sink::security_lake::keys::event_class;
use crate::sink::security_lake::schema::{class_schema, describe, glue_type};
use crate::source::duration::parse_duration;

/// Flags of `engine run --sink security_lake`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct LakeArgs {
    /// With `--sink security_lake`: the Security Lake S3 bucket.
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,
    /// With `--sink security_lake`: the lake's region (the `region=` partition, and the bucket's).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// With `--sink security_lake`: the `accountId=` partition, a 12-digit account id or `external`.
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// With `--sink security_lake`: a class's custom-source name, `CLASS=NAME` with CLASS
    /// `authentication` or `entity_management` [default: the spec's name shortened plus `-auth`
    /// or `-entity`].
    #[arg(long = "source-name", value_name = "CLASS=NAME")]
    pub source_names: Vec<String>,
    /// With `--sink security_lake`: the least time between two writes of objects (ISO 8601).
    #[arg(long, value_name = "DURATION", default_value = "PT5M")]
    pub flush_interval: String,
    /// With `--sink security_lake`: the most event JSON bytes one object holds (`64MiB`; at
    /// most 256MiB); the Parquet object is several times smaller.
    #[arg(long, value_name = "SIZE")]
    pub max_object_size: Option<String>,
}

impl LakeArgs {
    /// Whether any Security Lake flag was given (they need `--sink security_lake`).
    pub fn any_given(&self) -> bool {
        self.bucket.is_some()
            || self.region.is_some()
            || self.account_id.is_some()
            || !self.source_names.is_empty()
            || self.max_object_size.is_some()
            || self.flush_interval != "PT5M"
    }

    /// The sink's options, or the problems with the flags.
    pub fn options(&self, spec_name: &str, stream: &str) -> Result<SecurityLakeOptions, Vec<String>> {
        let mut problems = Vec::new();
        let mut need = |v: &Option<String>, flag: &str| {
            v.clone().unwrap_or_else(|| {
                problems.push(format!("--sink security_lake needs {flag}"));
                String::new()
            })
        };
        let (bucket, region, account) = (
            need(&self.bucket, "--bucket NAME"),
            need(&self.region, "--region REGION"),
            need(&self.account_id, "--account-id ID"),
        );
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut opts = SecurityLakeOptions::new(&bucket, &region, &account, spec_name, stream);
        opts.sources.extend(source_names(&self.source_names, &mut problems));
        match parse_duration(&self.flush_interval) {
            Some(d) => opts.flush_interval = d,
            None => {
                problems.push(format!("--flush-interval {}", crate::source::duration::problem(&self.flush_interval)))
            }
        }
        opts.max_object_bytes = match &self.max_object_size {
            None => DEFAULT_MAX_OBJECT_BYTES,
            Some(text) => parse_size(text).unwrap_or_else(|| {
                problems.push(format!("--max-object-size `{text}` is not a size such as 64MiB"));
                DEFAULT_MAX_OBJECT_BYTES
            }),
        };
        problems.extend(opts.problems());
        if problems.is_empty() { Ok(opts) } else { Err(problems) }
    }
}

/// A pipeline's `security_lake` sink under the flags: a flag given wins over the file's value.
pub fn apply_pipeline_lake(args: &mut LakeArgs, lake: crate::source::pipeline_lake::LakeSink) {
    args.bucket = args.bucket.take().or(lake.bucket);
    args.region = args.region.take().or(lake.region);
    args.account_id = args.account_id.take().or(lake.account_id);
    args.max_object_size = args.max_object_size.take().or(lake.max_object_size);
    if args.flush_interval == "PT5M"
        && let Some(f) = lake.flush_interval
    {
        args.flush_interval = f;
    }
    // Later --source-name flags replace the file's names of the same class.
    args.source_names = [lake.source_names, std::mem::take(&mut args.source_names)].concat();
}

/// The `--source-name CLASS=NAME` flags by class uid; what is wrong with them goes to `problems`.
pub fn source_names(given: &[String], problems: &mut Vec<String>) -> Vec<(i64, String)> {
    let dict = crate::ocsf::dictionary::Dictionary::of("1.3.0").expect("bundled");
    let mut out = Vec::new();
    for g in given {
        match g.split_once('=').map(|(c, n)| (dict.class_named(c.trim()), n.trim())) {
            Some((Some((_, class)), name)) if event_class(class.uid).is_some() => {
                out.push((class.uid, name.to_string()))
            }
            _ => problems.push(format!("--source-name `{g}`: expected authentication=NAME or entity_management=NAME")),
        }
    }
    out
}

/// `engine schema parquet <class>`: the fixed Arrow schema and the Glue column list.
pub fn print_parquet_schema(class: &str, version: &str) -> Result<String, String> {
    let schema = class_schema(version, class)?;
    let mut out = format!("# Parquet schema of {class} at OCSF {version} (every field nullable)\n");
    out.push_str(&describe(&schema));
    out.push_str("\n# Glue table columns\n");
    for f in schema.fields() {
        out.push_str(&format!("{} {}\n", f.name(), glue_type(f.data_type())));
    }
    Ok(out)
}
