//! Simulator settings: listen address, tenant size and seed, token lifetime, credentials, faults.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use super::faults::FaultConfig;

/// The demo Administration API application id (the OpenAPI document's example id).
pub const DEMO_APPLICATION_ID: &str = "d3737e0f-4d8e-431c-b1d8-cd17ad4d633d";
/// The demo shared secret. Public on purpose: the simulator serves synthetic data only.
pub const DEMO_SHARED_SECRET: &str = "simulator-demo-shared-secret";
/// The demo application's name, which appears as `subjectName` of its own logins.
pub const DEMO_APPLICATION_NAME: &str = "SIEM Connector";

/// An Administration API application the tenant knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub application_id: String,
    pub shared_secret: String,
    /// Shown as `subjectName` in the application's audit records.
    pub name: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            application_id: DEMO_APPLICATION_ID.to_string(),
            shared_secret: DEMO_SHARED_SECRET.to_string(),
            name: DEMO_APPLICATION_NAME.to_string(),
        }
    }
}

/// The largest tenant generated in one pass by default: every tenant the tests pin is one.
pub const DEFAULT_ONE_PASS_RECORDS: usize = 20_000;
/// The most records of one chunk of a larger tenant by default.
pub const DEFAULT_CHUNK_RECORDS: usize = 5_000;

/// Everything that shapes a simulator instance. Same seed and same settings (with a fixed
/// `end_time`) give the same tenant.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on; loopback by default.
    pub bind: IpAddr,
    /// Port; 0 picks a free one (see `SimHandle::addr`).
    pub port: u16,
    /// Number of generated audit events.
    pub events: usize,
    pub seed: u64,
    /// Lifetime of an auth token.
    pub token_ttl: Duration,
    pub credentials: Credentials,
    /// The newest generated event is at or before this instant; `None` means the start time.
    /// From then on the tenant clock runs forward in real time.
    pub end_time: Option<SystemTime>,
    /// Generated events are spread over `[end_time - span, end_time]`.
    pub span: Duration,
    pub faults: FaultConfig,
    /// Share (0.0–1.0) of generated events in category ISSUANCE; 0 by default.
    pub issuance_share: f64,
    /// Record an `AuthenticationAdminApiSuccessEvent` for each successful login.
    pub login_events: bool,
    /// Also accept the undocumented `Authorization: <applicationId>,<sharedSecret>` header.
    pub accept_credentials_header: bool,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Every audit page (SIEM and search) is answered this much later, as a real API's
    /// 200–300 ms per page would be (the wait holds no lock: pages asked for at once wait at
    /// once).
    pub page_latency: Duration,
    /// The largest tenant generated in one pass (`chunks.rs`); a larger one is generated
    /// chunk by chunk as pages need them.
    pub one_pass_records: usize,
    /// The most records of one chunk of a tenant larger than `one_pass_records`.
    pub chunk_records: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            events: 1000,
            seed: 1,
            token_ttl: Duration::from_secs(900),
            credentials: Credentials::default(),
            end_time: None,
            span: Duration::from_secs(24 * 3600),
            faults: FaultConfig::default(),
            issuance_share: 0.0,
            login_events: true,
            accept_credentials_header: false,
            max_body_bytes: 1 << 20,
            page_latency: Duration::ZERO,
            one_pass_records: DEFAULT_ONE_PASS_RECORDS,
            chunk_records: DEFAULT_CHUNK_RECORDS,
        }
    }
}

impl SimConfig {
    /// Checks settings that would make the simulator misbehave.
    pub fn validate(&self) -> Result<(), String> {
        if self.token_ttl.is_zero() {
            return Err("token_ttl must be positive".into());
        }
        if self.credentials.application_id.is_empty() || self.credentials.shared_secret.is_empty() {
            return Err("credentials need an application id and a shared secret".into());
        }
        if !(0.0..=1.0).contains(&self.issuance_share) {
            return Err("issuance_share must be between 0 and 1".into());
        }
        if !(0.0..=1.0).contains(&self.faults.rate) {
            return Err("the fault rate must be between 0 and 1".into());
        }
        if let Some(v) =
            self.faults.poison_variants.iter().find(|v| !super::faults::POISON_VARIANTS.contains(&v.as_str()))
        {
            return Err(format!("unknown poison variant `{v}`; known: {}", super::faults::POISON_VARIANTS.join(", ")));
        }
        if self.chunk_records == 0 {
            return Err("chunk_records must be positive".into());
        }
        if self.events > 10_000_000 {
            return Err("at most 10,000,000 events".into());
        }
        Ok(())
    }
}
