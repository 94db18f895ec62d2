//! `engine security-lake register SPEC`: registers the custom log sources the
//! `security_lake` sink writes (one per class, named as the sink names them), creating only
//! those Security Lake does not list yet; `--dry-run` prints the calls instead.

use super::load::{EXIT_CONFIG, EXIT_RUNTIME, report};
use crate::sink::security_lake::config::CLASSES;
use crate::sink::security_lake::keys::{check_source_name, default_source_name};
use crate::sink::security_lake::register::{self, Registration};
use crate::source::spec::SourceSpec;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct LakeCommandArgs {
    #[command(subcommand)]
    pub command: LakeCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum LakeCommand {
    /// Register the custom log sources of a spec (CreateCustomLogSource, once per class).
    Register(RegisterArgs),
}

#[derive(clap::Args, Debug)]
pub struct RegisterArgs {
    /// The source spec whose events the sources receive (its name makes the default names).
    pub spec: PathBuf,
    /// The Security Lake region.
    #[arg(long, value_name = "REGION")]
    pub region: String,
    /// The IAM role the Glue crawler of each source uses.
    #[arg(long, value_name = "ARN")]
    pub crawler_role_arn: String,
    /// The principal that writes the objects (the account id or ARN the engine runs as).
    #[arg(long, value_name = "ACCOUNT_OR_ARN")]
    pub principal: String,
    /// The external id the writer gives when it assumes the source's role.
    #[arg(long, value_name = "ID")]
    pub external_id: String,
    /// A class's source name, `CLASS=NAME`, as given to `engine run --sink security_lake`.
    #[arg(long = "source-name", value_name = "CLASS=NAME")]
    pub source_names: Vec<String>,
    /// The sources' version (Security Lake's default when absent).
    #[arg(long, value_name = "VERSION")]
    pub source_version: Option<String>,
    /// Print the calls (as the API's JSON) without sending them.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: LakeCommandArgs) -> ExitCode {
    let LakeCommand::Register(args) = args.command;
    let spec = match SourceSpec::load(&args.spec) {
        Ok(s) => s,
        Err(d) => {
            report(&d);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let mut problems = Vec::new();
    let mut names: BTreeMap<i64, String> = CLASSES.iter().map(|&c| (c, default_source_name(&spec.name, c))).collect();
    names.extend(super::security_lake::source_names(&args.source_names, &mut problems));
    problems.extend(names.values().filter_map(|n| check_source_name(n).err()));
    if names.values().collect::<std::collections::BTreeSet<_>>().len() < names.len() {
        problems.push("each class needs its own source name (Security Lake takes one class per custom source)".into());
    }
    if !problems.is_empty() {
        for p in problems {
            eprintln!("engine security-lake register: {p}");
        }
        return ExitCode::from(EXIT_CONFIG);
    }
    let sources = register::sources(names);
    let reg = Registration {
        region: args.region.clone(),
        crawler_role_arn: args.crawler_role_arn,
        principal: args.principal,
        external_id: args.external_id,
        source_version: args.source_version,
    };
    if args.dry_run {
        println!("ListLogSources {}", serde_json::json!({ "regions": [reg.region] }));
        for s in &sources {
            println!("CreateCustomLogSource {} (unless `{}` is listed)", register::create_request(&reg, s), s.name);
        }
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let done = runtime.block_on(async {
        let config = crate::aws::load_config(Some(&reg.region)).await;
        let client = aws_sdk_securitylake::Client::new(&config);
        let existing = register::existing(&client, &reg.region).await?;
        for s in &sources {
            if existing.contains(&s.name) {
                println!("{} ({}): already registered", s.name, s.event_class);
                continue;
            }
            let location = register::create(&client, &reg, s).await?;
            println!(
                "{} ({}): created{}",
                s.name,
                s.event_class,
                location.map(|l| format!(", {l}")).unwrap_or_default()
            );
        }
        Ok::<_, String>(())
    });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("engine security-lake register: {}", crate::sink::cloudwatch::service::no_credentials_hint(e));
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}
