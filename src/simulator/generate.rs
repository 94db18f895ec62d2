//! Synthetic tenant data: realistic authentication, management (and optional issuance) events from a seed.
//!
//! Values are invented but shaped like the OpenAPI `AccountAuditEvent`: UUID ids, one account
//! id per tenant, pools of users, administrators, Admin API applications, service providers
//! and agents, mostly IPv4 source addresses with some IPv6 and rare junk, and `message` keys
//! of the simulator's own invention (Entrust's real keys are not public).

use std::collections::{BTreeMap, HashMap};

use super::config::{Credentials, SimConfig};
use super::faults::Fault;
use super::record::{AuditDetails, AuditEvent, EntityAttribute, ModifiedEntityAttribute, StoredEvent};
use super::rng::{Rng, mix64};
use super::time;
use super::vocab::{self, TokenRule};

/// Generation sub-streams, so that one part's draws never shift another part's values.
const STREAM_POOLS: u64 = 1;
const STREAM_SLOTS: u64 = 2;
const STREAM_TIMES: u64 = 3;
const STREAM_FIELDS: u64 = 4;
const STREAM_FORMATS: u64 = 5;
const STREAM_LATER: u64 = 6;
const STREAM_LATER_FORMATS: u64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Authentication,
    Management,
    Issuance,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Authentication => "AUTHENTICATION",
            Category::Management => "MANAGEMENT",
            Category::Issuance => "ISSUANCE",
        }
    }
}

/// What a generated event must satisfy (used for late records that must match a query).
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub category: Option<String>,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    user_id: String,
    first: &'static str,
    last: &'static str,
    home_ip: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubjectType {
    User,
    AdminApi,
    ServiceProvider,
    Agent,
}

impl SubjectType {
    fn as_str(self) -> &'static str {
        match self {
            SubjectType::User => "USER",
            SubjectType::AdminApi => "ADMIN_API",
            SubjectType::ServiceProvider => "SERVICE_PROVIDER",
            SubjectType::Agent => "AGENT",
        }
    }
}

#[derive(Debug, Clone)]
struct Actor {
    id: String,
    name: String,
    kind: SubjectType,
    ip: String,
    subscriber_role: Option<(String, String)>,
    service_provider_role: Option<(String, String)>,
}

#[derive(Debug, Clone)]
struct Resource {
    id: String,
    name: String,
}

/// The tenant's cast: who acts, on what, from where.
#[derive(Debug)]
struct Pools {
    users: Vec<User>,
    admins: Vec<Actor>,
    admin_apps: Vec<Actor>,
    service_providers: Vec<Actor>,
    agents: Vec<Actor>,
    user_portal: Resource,
    admin_portal: Resource,
    apps: Vec<Resource>,
    subscriber_roles: Vec<(String, String)>,
}

/// A stable UUID for a label, so that the same named entity keeps its id.
fn stable_uuid(seed: u64, label: &str) -> String {
    Rng::derive(seed, mix64(super::rng::hash_str(label))).uuid()
}

fn doc_ipv4(rng: &mut Rng) -> String {
    const NETS: [&str; 3] = ["203.0.113", "198.51.100", "192.0.2"];
    let net = rng.pick(&NETS).copied().unwrap_or("192.0.2");
    format!("{net}.{}", rng.range_i64(1, 254))
}

fn private_ipv4(rng: &mut Rng) -> String {
    format!("10.{}.{}.{}", rng.range_i64(0, 255), rng.range_i64(0, 255), rng.range_i64(1, 254))
}

fn doc_ipv6(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!("::ffff:{}", doc_ipv4(rng)),
        1 => format!("2001:db8:{:x}::{:x}", rng.below(0x1_0000), rng.below(0x1_0000)),
        _ => format!(
            "2001:db8:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
            rng.below(0x1_0000),
            rng.below(0x1_0000),
            rng.below(0x1_0000),
            rng.below(0x1_0000),
            rng.below(0x1_0000),
            rng.below(0x1_0000)
        ),
    }
}

/// Values seen in real `sourceIp` fields that are not one IP address.
fn junk_ip(rng: &mut Rng) -> String {
    const JUNK: [&str; 5] = ["unknown", "-", "", "203.0.113.77, 10.20.0.4", "localhost"];
    rng.pick(&JUNK).copied().unwrap_or("unknown").to_string()
}

impl Pools {
    fn new(seed: u64, credentials: &Credentials) -> Self {
        let mut rng = Rng::derive(seed, STREAM_POOLS);
        let mut users = Vec::new();
        let mut taken = std::collections::HashSet::new();
        while users.len() < 40 {
            let first = *rng.pick(&vocab::FIRST_NAMES).unwrap_or(&"John");
            let last = *rng.pick(&vocab::LAST_NAMES).unwrap_or(&"Smith");
            let user_id = match rng.below(3) {
                0 => format!("{}{}", first[..1].to_ascii_lowercase(), last.to_ascii_lowercase()),
                1 => format!("{}.{}", first.to_ascii_lowercase(), last.to_ascii_lowercase()),
                _ => format!("{}.{}@example.com", first.to_ascii_lowercase(), last.to_ascii_lowercase()),
            };
            if !taken.insert(user_id.clone()) {
                continue;
            }
            let home_ip = doc_ipv4(&mut rng);
            users.push(User { id: rng.uuid(), user_id, first, last, home_ip });
        }
        let subscriber_roles: Vec<(String, String)> = vocab::SUBSCRIBER_ADMIN_ROLES
            .iter()
            .map(|r| (stable_uuid(seed, &format!("role:{r}")), (*r).to_string()))
            .collect();
        let role = |i: usize| subscriber_roles.get(i).cloned();
        let admins = users
            .iter()
            .take(5)
            .enumerate()
            .map(|(i, u)| Actor {
                id: u.id.clone(),
                name: u.user_id.clone(),
                kind: SubjectType::User,
                ip: u.home_ip.clone(),
                subscriber_role: role(i.min(subscriber_roles.len() - 1)),
                service_provider_role: None,
            })
            .collect();
        let mut admin_apps = vec![Actor {
            id: credentials.application_id.clone(),
            name: credentials.name.clone(),
            kind: SubjectType::AdminApi,
            ip: doc_ipv4(&mut rng),
            subscriber_role: role(0),
            service_provider_role: None,
        }];
        for name in vocab::OTHER_ADMIN_API_APPS {
            admin_apps.push(Actor {
                id: rng.uuid(),
                name: name.to_string(),
                kind: SubjectType::AdminApi,
                ip: if rng.chance(0.5) { private_ipv4(&mut rng) } else { doc_ipv4(&mut rng) },
                subscriber_role: role(1),
                service_provider_role: None,
            });
        }
        let service_providers = vocab::SERVICE_PROVIDER_NAMES
            .iter()
            .zip(vocab::SERVICE_PROVIDER_ADMIN_ROLES.iter().cycle())
            .map(|(name, role_name)| Actor {
                id: rng.uuid(),
                name: format!("{}.admin", name.split(' ').next().unwrap_or("sp").to_ascii_lowercase()),
                kind: SubjectType::ServiceProvider,
                ip: doc_ipv4(&mut rng),
                subscriber_role: None,
                service_provider_role: Some((
                    stable_uuid(seed, &format!("sprole:{role_name}")),
                    (*role_name).to_string(),
                )),
            })
            .collect();
        let agents = vocab::AGENT_NAMES
            .iter()
            .map(|name| Actor {
                id: rng.uuid(),
                name: (*name).to_string(),
                kind: SubjectType::Agent,
                ip: private_ipv4(&mut rng),
                subscriber_role: None,
                service_provider_role: None,
            })
            .collect();
        let apps =
            vocab::APPLICATION_NAMES.iter().map(|n| Resource { id: rng.uuid(), name: (*n).to_string() }).collect();
        Pools {
            users,
            admins,
            admin_apps,
            service_providers,
            agents,
            user_portal: Resource { id: rng.uuid(), name: "User Portal".into() },
            admin_portal: Resource { id: rng.uuid(), name: "Administration Portal".into() },
            apps,
            subscriber_roles,
        }
    }
}

/// Entity types whose entity is a user's own record, named by the user's id.
fn is_user_owned(entity_type: &str) -> bool {
    matches!(
        entity_type,
        "USERS"
            | "USERPASSWORDS"
            | "USERATTRIBUTEVALUES"
            | "USERSITEROLES"
            | "USERSPROLES"
            | "USERQUESTIONANSWERS"
            | "USERKBACHALLENGES"
            | "USERLOCATIONS"
            | "USERRBASETTINGS"
            | "USERQUESTIONS"
            | "TEMPACCESSCODES"
            | "MAGICLINKS"
            | "USEROAUTHTOKENS"
            | "EXPECTEDLOCATIONS"
            | "FACE"
            | "OTPS"
            | "USER_PRINTER_PREFERENCE"
            | "VERIFYUSER"
            | "NAMEDPASSWORDS"
    )
}

/// Builds events. Holds its own random streams so that events created after start-up
/// (logins, late and appended records) are reproducible too.
#[derive(Debug)]
pub struct Generator {
    seed: u64,
    /// The seed the generation streams are derived from: the tenant's seed for a tenant of
    /// one chunk (and for records created after start-up), the chunk's own otherwise.
    streams: u64,
    pub account_id: String,
    pools: Pools,
    fields: Rng,
    formats: Rng,
    variant_rate: f64,
    no_zone_rate: f64,
    issuance_share: f64,
    /// Records shaped by data faults.
    pub data_fault_counts: BTreeMap<Fault, u64>,
    named_entities: HashMap<String, (String, String)>,
}

impl Generator {
    pub fn new(config: &SimConfig) -> Self {
        Self::with_streams(config, config.seed)
    }

    /// A generator of the tenant `config` describes (its account and cast come from its seed)
    /// whose random streams are derived from `streams` (a chunk's own seed).
    pub fn with_streams(config: &SimConfig, streams: u64) -> Self {
        let seed = config.seed;
        let (variant_rate, no_zone_rate) = time_fault_rates(config);
        Generator {
            seed,
            streams,
            account_id: stable_uuid(seed, "account"),
            pools: Pools::new(seed, &config.credentials),
            fields: Rng::derive(streams, STREAM_FIELDS),
            formats: Rng::derive(streams, STREAM_FORMATS),
            variant_rate,
            no_zone_rate,
            issuance_share: config.issuance_share.clamp(0.0, 1.0),
            data_fault_counts: BTreeMap::new(),
            named_entities: HashMap::new(),
        }
    }

    /// The generator of the records created after start-up (logins, late and appended
    /// records): the streams a tenant's generator switched to once its records were built.
    pub fn later(config: &SimConfig) -> Self {
        let mut g = Self::new(config);
        g.switch_to_later_streams();
        g
    }

    /// Switches to the streams used after the initial tenant is built.
    fn switch_to_later_streams(&mut self) {
        self.fields = Rng::derive(self.seed, STREAM_LATER);
        self.formats = Rng::derive(self.seed, STREAM_LATER_FORMATS);
    }

    /// The initial tenant: `count` events in `[end_ms - span_ms, end_ms]`, sorted by
    /// `(time, id)` (a tenant of one chunk).
    #[cfg(test)]
    pub fn initial(&mut self, count: usize, end_ms: i64, span_ms: i64) -> Vec<StoredEvent> {
        self.chunk(count, end_ms - span_ms.max(0), end_ms, end_ms)
    }

    /// One chunk of the initial tenant: `count` events in `[lo_ms, hi_ms]` (a second-precision
    /// `eventTime` rounds down, staying at or after `lo_ms` when it is a whole second), sorted
    /// by `(time, id)`, busier in the working hours of a tenant whose span ends at `day_end_ms`.
    /// Every authentication event type and every management entity type appears at least
    /// once when `count` allows.
    pub fn chunk(&mut self, count: usize, lo_ms: i64, hi_ms: i64, day_end_ms: i64) -> Vec<StoredEvent> {
        let (start_ms, end_ms) = (lo_ms, hi_ms.max(lo_ms));
        let mut slots_rng = Rng::derive(self.streams, STREAM_SLOTS);
        let mut times = Rng::derive(self.streams, STREAM_TIMES);
        let mut coverage: Vec<Slot> = vocab::AUTHENTICATION_EVENT_TYPES
            .iter()
            .map(|t| Slot::Auth(t))
            .chain(vocab::management_entity_types().into_iter().map(Slot::Management))
            .collect();
        slots_rng.shuffle(&mut coverage);
        coverage.truncate(count);
        let auth_types: Vec<&'static str> = vocab::AUTHENTICATION_EVENT_TYPES.to_vec();
        let auth_weights: Vec<u32> = auth_types.iter().map(|t| vocab::event_type_weight(t)).collect();
        let entity_types = vocab::management_entity_types();
        let entity_weights: Vec<u32> = entity_types.iter().map(|t| vocab::entity_type_weight(t)).collect();

        let mut out = Vec::with_capacity(count);
        let mut coverage = coverage.into_iter();
        while out.len() < count {
            let t = draw_time(&mut times, start_ms, end_ms, day_end_ms);
            let slot = match coverage.next() {
                Some(s) => s,
                None if slots_rng.chance(self.issuance_share) => Slot::Issuance,
                None if slots_rng.chance(0.65) => Slot::Auth(auth_types[slots_rng.weighted(&auth_weights)]),
                None => Slot::Management(entity_types[slots_rng.weighted(&entity_weights)]),
            };
            match slot {
                Slot::Auth(event_type) => {
                    let (first, user) = self.authentication(t, event_type, None);
                    out.push(first);
                    // Most first-factor logins are followed by the second factor seconds later.
                    let room = out.len() < count;
                    if room && event_type.contains("FirstFactor") && slots_rng.chance(0.7) {
                        let second = second_factor_type(&mut slots_rng);
                        let t2 = (t + times.range_i64(3_000, 25_000)).min(end_ms);
                        let (ev, _) = self.authentication(t2, second, user);
                        out.push(ev);
                    }
                }
                Slot::Management(entity_type) => {
                    out.push(self.management(t, entity_type, Category::Management));
                }
                Slot::Issuance => {
                    let entity_type = *slots_rng
                        .pick(&["SMARTCARDS", "CERTIFICATES", "DIGITALIDCERTIFICATES", "ISSUANCE", "PRINTERS"])
                        .unwrap_or(&"ISSUANCE");
                    out.push(self.management(t, entity_type, Category::Issuance));
                }
            }
        }
        out.sort_by(|a, b| a.position().cmp(&b.position()));
        self.switch_to_later_streams();
        out
    }

    /// One event at `time_ms`, honouring a wanted category and outcome where possible.
    pub fn event(&mut self, time_ms: i64, wanted: &Wanted) -> StoredEvent {
        let category = match wanted.category.as_deref() {
            Some("MANAGEMENT") => Category::Management,
            Some("ISSUANCE") => Category::Issuance,
            Some(_) => Category::Authentication,
            None if self.fields.chance(0.65) => Category::Authentication,
            None => Category::Management,
        };
        let want_fail = wanted.outcome.as_deref().map(|o| o == "FAIL");
        match category {
            Category::Authentication => {
                let candidates: Vec<&'static str> = vocab::AUTHENTICATION_EVENT_TYPES
                    .iter()
                    .copied()
                    .filter(|t| want_fail.is_none_or(|f| vocab::is_failure_event_type(t) == f))
                    .collect();
                let weights: Vec<u32> = candidates.iter().map(|t| vocab::event_type_weight(t)).collect();
                let event_type = candidates
                    .get(self.fields.weighted(&weights))
                    .copied()
                    .unwrap_or("AuthenticationPasswordSuccessEvent");
                self.authentication(time_ms, event_type, None).0
            }
            Category::Management | Category::Issuance => {
                let types = vocab::management_entity_types();
                let weights: Vec<u32> = types.iter().map(|t| vocab::entity_type_weight(t)).collect();
                let entity_type = types.get(self.fields.weighted(&weights)).copied().unwrap_or("USERS");
                let mut ev = self.management(time_ms, entity_type, category);
                if let Some(f) = want_fail {
                    ev.event.event_outcome = Some(if f { "FAIL" } else { "SUCCESS" }.into());
                }
                ev
            }
        }
    }

    /// The record of a successful Admin API login.
    pub fn admin_api_login(&mut self, time_ms: i64, app: &Credentials, source_ip: &str) -> StoredEvent {
        let event_type = "AuthenticationAdminApiSuccessEvent";
        let (time_ms, event_time) = self.stamp(time_ms);
        let event = AuditEvent {
            id: self.fields.uuid(),
            account_id: Some(self.account_id.clone()),
            event_time,
            event_category: Some(Category::Authentication.as_str().into()),
            event_outcome: Some("SUCCESS".into()),
            event_type: Some(event_type.into()),
            event_version: None,
            message: Some(format!("audit.{event_type}")),
            subject: Some(app.application_id.clone()),
            subject_name: Some(app.name.clone()),
            subject_type: Some(SubjectType::AdminApi.as_str().into()),
            source_ip: Some(source_ip.to_string()),
            resource_id: Some(app.application_id.clone()),
            resource_name: Some(app.name.clone()),
            ..empty_event()
        };
        StoredEvent { time_ms, event, late: false }
    }

    /// Renders `eventTime`, returning the instant it denotes (second-precision forms drop
    /// the milliseconds) and the string.
    fn stamp(&mut self, time_ms: i64) -> (i64, String) {
        let form = stamp_form(&mut self.formats, self.variant_rate, self.no_zone_rate);
        if let Some(fault) = form.fault() {
            *self.data_fault_counts.entry(fault).or_insert(0) += 1;
        }
        match form {
            Form::PlusZero => (time_ms, time::format_millis_plus0000(time_ms)),
            Form::NoZone => {
                let t = time_ms - time_ms.rem_euclid(1000);
                (t, time::format_seconds_no_zone(t))
            }
            Form::SecondsZ => {
                let t = time_ms - time_ms.rem_euclid(1000);
                (t, time::format_seconds_z(t))
            }
            Form::MillisZ => (time_ms, time::format_millis_z(time_ms)),
        }
    }

    /// The `time-variant` and `time-no-zone` counts of the chunk [`Generator::chunk`] makes
    /// of `count` events from `streams`, without generating it: every event draws its
    /// `eventTime` form, and nothing else, from the formats stream.
    pub fn time_fault_counts(config: &SimConfig, streams: u64, count: usize) -> (u64, u64) {
        let (variant_rate, no_zone_rate) = time_fault_rates(config);
        if variant_rate == 0.0 && no_zone_rate == 0.0 {
            return (0, 0);
        }
        let mut formats = Rng::derive(streams, STREAM_FORMATS);
        let (mut variant, mut no_zone) = (0, 0);
        for _ in 0..count {
            match stamp_form(&mut formats, variant_rate, no_zone_rate).fault() {
                Some(Fault::TimeVariant) => variant += 1,
                Some(_) => no_zone += 1,
                None => {}
            }
        }
        (variant, no_zone)
    }

    fn user_ip(&mut self, user_index: usize) -> String {
        let roll = self.fields.unit();
        if roll < 0.01 {
            junk_ip(&mut self.fields)
        } else if roll < 0.09 {
            doc_ipv6(&mut self.fields)
        } else if roll < 0.75 {
            self.pools.users.get(user_index).map(|u| u.home_ip.clone()).unwrap_or_else(|| doc_ipv4(&mut self.fields))
        } else {
            doc_ipv4(&mut self.fields)
        }
    }

    fn actor_ip(&mut self, base: &str) -> String {
        let roll = self.fields.unit();
        if roll < 0.01 {
            junk_ip(&mut self.fields)
        } else if roll < 0.06 {
            doc_ipv6(&mut self.fields)
        } else {
            base.to_string()
        }
    }

    /// An authentication event; returns it and the user it is about (for follow-ups).
    fn authentication(
        &mut self,
        time_ms: i64,
        event_type: &'static str,
        user: Option<usize>,
    ) -> (StoredEvent, Option<usize>) {
        let (time_ms, event_time) = self.stamp(time_ms);
        let id = self.fields.uuid();
        let failed = vocab::is_failure_event_type(event_type);
        let token = match vocab::token_rule(event_type) {
            TokenRule::None => None,
            TokenRule::Fixed(t) => Some(t.to_string()),
            TokenRule::OneOf(ts) => self.fields.pick(ts).map(|t| (*t).to_string()),
        };
        let mut event = AuditEvent {
            id,
            account_id: Some(self.account_id.clone()),
            event_time,
            event_category: Some(Category::Authentication.as_str().into()),
            event_outcome: Some(if failed { "FAIL" } else { "SUCCESS" }.into()),
            event_type: Some(event_type.into()),
            message: Some(format!("audit.{event_type}")),
            token,
            ..empty_event()
        };
        let mut user_used = None;
        if event_type == "AuthenticationAdminApiSuccessEvent" {
            let i = self.fields.index(self.pools.admin_apps.len());
            let app = self.pools.admin_apps[i].clone();
            event.subject = Some(app.id.clone());
            event.subject_name = Some(app.name.clone());
            event.subject_type = Some(SubjectType::AdminApi.as_str().into());
            event.source_ip = Some(self.actor_ip(&app.ip));
            event.resource_id = Some(app.id);
            event.resource_name = Some(app.name);
        } else {
            let i = user.unwrap_or_else(|| self.fields.index(self.pools.users.len()));
            user_used = Some(i);
            let u = self.pools.users[i].clone();
            let unknown_user = event_type == "AuthenticationDeniedEvent" && self.fields.chance(0.2);
            if unknown_user {
                // A login attempt for a user id the tenant does not have.
                event.subject = None;
                event.subject_name = Some(format!("{}.{}", u.last.to_ascii_lowercase(), u.first.to_ascii_lowercase()));
            } else {
                event.subject = Some(u.id.clone());
                event.subject_name = Some(u.user_id.clone());
            }
            event.subject_type = Some(SubjectType::User.as_str().into());
            event.source_ip = Some(self.user_ip(i));
            let resource = if event_type.starts_with("Saml") || event_type.starts_with("Oidc") {
                self.app_resource()
            } else if event_type.starts_with("UserPasswordChange") || event_type.starts_with("Verification") {
                self.pools.user_portal.clone()
            } else {
                match self.fields.below(20) {
                    0..=9 => self.pools.user_portal.clone(),
                    10..=12 => self.pools.admin_portal.clone(),
                    _ => self.app_resource(),
                }
            };
            if self.fields.chance(0.3) {
                event.audit_details = Some(AuditDetails {
                    entity_attributes: None,
                    modified_entity_attributes: None,
                    message_tokens: Some(vec![event.subject_name.clone().unwrap_or_default(), resource.name.clone()]),
                });
            }
            event.resource_id = Some(resource.id);
            event.resource_name = Some(resource.name);
        }
        (StoredEvent { time_ms, event, late: false }, user_used)
    }

    fn app_resource(&mut self) -> Resource {
        let i = self.fields.index(self.pools.apps.len());
        self.pools.apps[i].clone()
    }

    fn pick_actor(&mut self, entity_type: &str) -> Actor {
        let agent_heavy = matches!(
            entity_type,
            "DIRECTORYSYNC"
                | "DIRECTORIES"
                | "AD_CONNECTOR_DIRECTORIES"
                | "AZURE_DIRECTORIES"
                | "ACTIVESYNC"
                | "SCIMPROVISIONINGS"
        );
        let weights: [u32; 4] = if agent_heavy { [30, 15, 5, 50] } else { [60, 30, 6, 4] };
        let pool = match self.fields.weighted(&weights) {
            0 => &self.pools.admins,
            1 => &self.pools.admin_apps,
            2 => &self.pools.service_providers,
            _ => &self.pools.agents,
        };
        let i = self.fields.index(pool.len());
        pool[i].clone()
    }

    /// `(entityId, entityName)` for an entity of the given type.
    fn entity(&mut self, entity_type: &str) -> (String, String) {
        if is_user_owned(entity_type) {
            let i = self.fields.index(self.pools.users.len());
            let u = &self.pools.users[i];
            return (u.id.clone(), u.user_id.clone());
        }
        let fixed_names: &[&str] = match entity_type {
            "GROUPS" | "AUTHORIZATIONGROUPS" => {
                &["Engineering", "Finance", "Sales", "Contractors", "VPN Users", "Helpdesk"]
            }
            "FIDOTOKENS" => &["YubiKey 5 NFC", "Windows Hello", "iCloud Keychain", "Google Password Manager"],
            "IDENTITYPROVIDERS" | "SPIDENTITYPROVIDERS" => &["Azure AD", "Google Workspace", "Okta"],
            "DIRECTORIES" | "AD_CONNECTOR_DIRECTORIES" | "DIRECTORYSYNC" => &["corp.example.com", "emea.example.com"],
            "AZURE_DIRECTORIES" => &["example.onmicrosoft.com"],
            "ROLES" => &vocab::SUBSCRIBER_ADMIN_ROLES,
            "SPROLES" => &vocab::SERVICE_PROVIDER_ADMIN_ROLES,
            "APPLICATIONS" => &vocab::APPLICATION_NAMES,
            _ => &[],
        };
        if entity_type == "APPLICATIONS" {
            let r = self.app_resource();
            return (r.id, r.name);
        }
        if entity_type == "ROLES" {
            let i = self.fields.index(self.pools.subscriber_roles.len());
            return self.pools.subscriber_roles[i].clone();
        }
        let name = if let Some(n) = self.fields.pick(fixed_names) {
            (*n).to_string()
        } else if matches!(entity_type, "TOKENS" | "GRIDS" | "SMARTCREDENTIALS" | "SMARTCARDS") {
            format!("{:010}", self.fields.below(10_000_000_000))
        } else {
            format!("{}-{:02}", entity_type.to_ascii_lowercase().replace('_', "-"), self.fields.range_i64(1, 8))
        };
        if matches!(entity_type, "TOKENS" | "GRIDS" | "SMARTCREDENTIALS" | "SMARTCARDS") {
            return (self.fields.uuid(), name);
        }
        let key = format!("{entity_type}:{name}");
        let seed = self.seed;
        self.named_entities.entry(key.clone()).or_insert_with(|| (stable_uuid(seed, &key), name)).clone()
    }

    fn attribute_value(&mut self, attribute: &str, entity_name: &str) -> String {
        let r = &mut self.fields;
        match attribute {
            "userId" | "name" => entity_name.to_string(),
            "firstName" => r.pick(&vocab::FIRST_NAMES).copied().unwrap_or("John").into(),
            "lastName" => r.pick(&vocab::LAST_NAMES).copied().unwrap_or("Smith").into(),
            "email" => format!("{}@example.com", entity_name.split('@').next().unwrap_or(entity_name)),
            "mobile" => format!("+1613555{:04}", r.below(10_000)),
            "state" => r.pick(&["ACTIVE", "INACTIVE", "LOCKED"]).copied().unwrap_or("ACTIVE").into(),
            "locale" => r.pick(&["en", "fr", "de", "es", "ja"]).copied().unwrap_or("en").into(),
            "externalId" => r.uuid(),
            "description" => r
                .pick(&[
                    "Synced from Active Directory",
                    "Created by the help desk",
                    "Managed by HR Provisioning",
                    "Pilot",
                ])
                .copied()
                .unwrap_or("Pilot")
                .into(),
            "enabled" | "forceChange" => (if r.chance(0.5) { "true" } else { "false" }).into(),
            "serialNumber" => format!("{:010}", r.below(10_000_000_000)),
            "type" => r
                .pick(&["ENTRUST_SOFT_TOKEN", "GOOGLE_AUTHENTICATOR", "ENTRUST_PHYSICAL_TOKEN", "STATIC"])
                .copied()
                .unwrap_or("STATIC")
                .into(),
            "origin" => "https://example.us.trustedauth.com".into(),
            "userVerification" => {
                r.pick(&["required", "preferred", "discouraged"]).copied().unwrap_or("preferred").into()
            }
            "label" => r.pick(&["Work phone", "Backup", "Laptop"]).copied().unwrap_or("Backup").into(),
            "roleType" => "SITE_ADMINISTRATOR".into(),
            "applicationType" => r.pick(&["SAML20", "OIDC", "RADIUS"]).copied().unwrap_or("OIDC").into(),
            "expiryDate" => time::format_seconds_z(1_767_225_600_000 + r.range_i64(0, 400) * 86_400_000),
            "attributeName" => r.pick(&["department", "costCenter", "title"]).copied().unwrap_or("title").into(),
            "value" => {
                r.pick(&["Finance", "Engineering", "Sales", "CC-1042", "Manager"]).copied().unwrap_or("Sales").into()
            }
            "ipAddresses" => format!("{}/32", doc_ipv4(r)),
            "adminUserAuthenticationSessionLifetime" => (r.range_i64(1, 60) * 60).to_string(),
            "lockoutCount" => r.range_i64(3, 10).to_string(),
            "passwordExpiryDays" => (r.range_i64(3, 12) * 30).to_string(),
            "userSessionIdleTimeout" => (r.range_i64(5, 60) * 60).to_string(),
            _ => format!("value-{:02}", r.below(100)),
        }
    }

    fn management(&mut self, time_ms: i64, entity_type: &'static str, category: Category) -> StoredEvent {
        let (time_ms, event_time) = self.stamp(time_ms);
        let id = self.fields.uuid();
        let actor = self.pick_actor(entity_type);
        let action: &'static str = if category == Category::Issuance {
            let acts: &[(&'static str, u32)] = &[("ADD", 3), ("PRINT", 2), ("REMOVE", 1)];
            acts[self.fields.weighted(&acts.iter().map(|a| a.1).collect::<Vec<_>>())].0
        } else {
            let acts = vocab::entity_actions(entity_type);
            acts[self.fields.weighted(&acts.iter().map(|a| a.1).collect::<Vec<_>>())].0
        };
        let (entity_id, entity_name) = self.entity(entity_type);
        let failed = self.fields.chance(0.04);
        let attribute_names = vocab::entity_attribute_names(entity_type);
        let (entity_attributes, modified) = match action {
            "ADD" | "REMOVE" => {
                let n = 2 + self.fields.index(attribute_names.len().saturating_sub(1).max(1));
                let attrs = attribute_names
                    .iter()
                    .take(n)
                    .map(|a| EntityAttribute { name: (*a).to_string(), value: self.attribute_value(a, &entity_name) })
                    .collect::<Vec<_>>();
                (Some(attrs), None)
            }
            "EDIT" => {
                let n = 1 + self.fields.index(attribute_names.len().min(3));
                let mut names: Vec<&str> = attribute_names.to_vec();
                self.fields.shuffle(&mut names);
                let mods = names
                    .into_iter()
                    .filter(|a| (*a != "userId" && *a != "name") || attribute_names.len() == 1)
                    .take(n)
                    .map(|a| {
                        let old_value = self.attribute_value(a, &entity_name);
                        let mut new_value = self.attribute_value(a, &entity_name);
                        if new_value == old_value {
                            new_value = format!("{old_value}-updated");
                        }
                        ModifiedEntityAttribute { name: a.to_string(), old_value, new_value }
                    })
                    .collect::<Vec<_>>();
                (None, Some(mods))
            }
            _ => (None, None),
        };
        let event = AuditEvent {
            id,
            account_id: Some(self.account_id.clone()),
            event_time,
            event_category: Some(category.as_str().into()),
            event_outcome: Some(if failed { "FAIL" } else { "SUCCESS" }.into()),
            event_type: None,
            event_version: None,
            message: Some(format!(
                "audit.{}.{}.{}",
                category.as_str().to_ascii_lowercase(),
                entity_type.to_ascii_lowercase(),
                action.to_ascii_lowercase()
            )),
            subject: Some(actor.id.clone()),
            subject_name: Some(actor.name.clone()),
            subject_type: Some(actor.kind.as_str().into()),
            source_ip: Some(self.actor_ip(&actor.ip)),
            resource_id: None,
            resource_name: None,
            token: None,
            entity_type: Some(entity_type.into()),
            entity_id: Some(entity_id),
            entity_name: Some(entity_name.clone()),
            entity_action: Some(action.into()),
            required_permission: Some(format!("{entity_type}:{}", vocab::permission_action(action))),
            subscriber_admin_role_id: actor.subscriber_role.as_ref().map(|r| r.0.clone()),
            subscriber_admin_role_name: actor.subscriber_role.as_ref().map(|r| r.1.clone()),
            service_provider_admin_role_id: actor.service_provider_role.as_ref().map(|r| r.0.clone()),
            service_provider_admin_role_name: actor.service_provider_role.as_ref().map(|r| r.1.clone()),
            audit_details: Some(AuditDetails {
                entity_attributes,
                modified_entity_attributes: modified,
                message_tokens: Some(vec![entity_name, actor.name.clone()]),
            }),
        };
        let mut event = event;
        if matches!(actor.kind, SubjectType::User | SubjectType::ServiceProvider) {
            event.resource_id = Some(self.pools.admin_portal.id.clone());
            event.resource_name = Some(self.pools.admin_portal.name.clone());
        }
        StoredEvent { time_ms, event, late: false }
    }
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Auth(&'static str),
    Management(&'static str),
    Issuance,
}

fn second_factor_type(rng: &mut Rng) -> &'static str {
    const SECOND: [(&str, u32); 6] = [
        ("AuthenticationSecondFactorOtpSuccessEvent", 10),
        ("AuthenticationSecondFactorSmartCredentialPushSuccessEvent", 8),
        ("AuthenticationSecondFactorTokenSuccessEvent", 6),
        ("AuthenticationSecondFactorFIDOSuccessEvent", 4),
        ("AuthenticationSecondFactorGridSuccessEvent", 2),
        ("AuthenticationSecondFactorKbaSuccessEvent", 1),
    ];
    let weights: Vec<u32> = SECOND.iter().map(|s| s.1).collect();
    SECOND[rng.weighted(&weights)].0
}

/// The tenant's local time of day at its end time (20:10:04): its working day is placed
/// relative to the end, not to the wall clock, so that a seed and a span name the same records,
/// at the same distances from the end, whenever the tenant is generated (tests fix their clocks
/// from the end). The value is the UTC time of day of the end the pinned digests use, so those
/// tenants are the ones they were when the working day followed UTC.
const LOCAL_TIME_AT_END_MS: i64 = (20 * 3600 + 10 * 60 + 4) * 1000;

/// The tenant's working hours (local time), when it is busiest.
pub const WORKING_HOURS: std::ops::Range<i64> = 8..18;
/// How busy a night hour is, relative to a working hour.
pub const NIGHT_WEIGHT: f64 = 0.35;

/// The tenant's local time of day (ms since its midnight) at `t_ms`, for a span ending at
/// `day_end_ms`.
pub fn local_time_of_day(t_ms: i64, day_end_ms: i64) -> i64 {
    (t_ms - day_end_ms + LOCAL_TIME_AT_END_MS).rem_euclid(86_400_000)
}

/// The tenant's busyness from a fixed origin up to `t_ms` (working hours weigh 1 an ms, night
/// hours [`NIGHT_WEIGHT`]), for a span ending at `day_end_ms`: the expected share of records
/// [`draw_time`] places in `[a, b)` is `(busyness(b) - busyness(a)) / (busyness(end) -
/// busyness(start))`.
pub fn busyness(t_ms: i64, day_end_ms: i64) -> f64 {
    const DAY: i64 = 86_400_000;
    const HOUR: i64 = 3_600_000;
    let (open, close) = (WORKING_HOURS.start * HOUR, WORKING_HOURS.end * HOUR);
    let of_day = |y: i64| {
        NIGHT_WEIGHT * y.min(open) as f64
            + (y.min(close) - open).max(0) as f64
            + NIGHT_WEIGHT * (y - close).max(0) as f64
    };
    let x = t_ms - day_end_ms + LOCAL_TIME_AT_END_MS;
    x.div_euclid(DAY) as f64 * of_day(DAY) + of_day(x.rem_euclid(DAY))
}

/// A time in `[start, end]`, denser during the working hours of a tenant whose span ends at
/// `day_end_ms` than at night.
fn draw_time(rng: &mut Rng, start_ms: i64, end_ms: i64, day_end_ms: i64) -> i64 {
    for _ in 0..8 {
        let t = rng.range_i64(start_ms, end_ms);
        let hour = local_time_of_day(t, day_end_ms) / 3_600_000;
        let weight = if WORKING_HOURS.contains(&hour) { 1.0 } else { NIGHT_WEIGHT };
        if rng.chance(weight) {
            return t;
        }
    }
    rng.range_i64(start_ms, end_ms)
}

/// The `eventTime` form of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `…+0000` (the `time-variant` fault).
    PlusZero,
    /// Seconds, no zone (the `time-no-zone` fault).
    NoZone,
    SecondsZ,
    MillisZ,
}

impl Form {
    fn fault(self) -> Option<Fault> {
        match self {
            Form::PlusZero => Some(Fault::TimeVariant),
            Form::NoZone => Some(Fault::TimeNoZone),
            Form::SecondsZ | Form::MillisZ => None,
        }
    }
}

/// Draws one record's `eventTime` form (two draws, always).
fn stamp_form(formats: &mut Rng, variant_rate: f64, no_zone_rate: f64) -> Form {
    let style = formats.unit();
    let precision = formats.unit();
    if style < variant_rate {
        Form::PlusZero
    } else if style < variant_rate + no_zone_rate {
        Form::NoZone
    } else if precision < 0.35 {
        Form::SecondsZ
    } else {
        Form::MillisZ
    }
}

/// The shares of `time-variant` and `time-no-zone` records a configuration asks for.
fn time_fault_rates(config: &SimConfig) -> (f64, f64) {
    let rate = config.faults.rate.clamp(0.0, 1.0);
    let kinds = &config.faults.kinds;
    (
        if kinds.contains(&Fault::TimeVariant) { rate } else { 0.0 },
        if kinds.contains(&Fault::TimeNoZone) { rate } else { 0.0 },
    )
}

/// An event with every optional field null.
pub(super) fn empty_event() -> AuditEvent {
    AuditEvent {
        id: String::new(),
        account_id: None,
        event_time: String::new(),
        event_category: None,
        event_outcome: None,
        event_type: None,
        event_version: None,
        message: None,
        subject: None,
        subject_name: None,
        subject_type: None,
        source_ip: None,
        resource_id: None,
        resource_name: None,
        token: None,
        entity_type: None,
        entity_id: None,
        entity_name: None,
        entity_action: None,
        required_permission: None,
        subscriber_admin_role_id: None,
        subscriber_admin_role_name: None,
        service_provider_admin_role_id: None,
        service_provider_admin_role_name: None,
        audit_details: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn config(seed: u64) -> SimConfig {
        SimConfig { seed, ..SimConfig::default() }
    }

    const END: i64 = 1_764_619_804_000; // 2025-12-01T20:10:04Z
    const DAY: i64 = 86_400_000;

    #[test]
    fn deterministic_and_seed_sensitive() {
        let a = Generator::new(&config(5)).initial(300, END, DAY);
        let b = Generator::new(&config(5)).initial(300, END, DAY);
        let c = Generator::new(&config(6)).initial(300, END, DAY);
        let ev = |v: &[StoredEvent]| v.iter().map(|e| e.event.clone()).collect::<Vec<_>>();
        assert_eq!(ev(&a), ev(&b));
        assert_ne!(ev(&a), ev(&c));
    }

    #[test]
    fn covers_every_type_and_stays_in_range() {
        let events = Generator::new(&config(1)).initial(1000, END, DAY);
        assert_eq!(events.len(), 1000);
        let ids: HashSet<&str> = events.iter().map(|e| e.event.id.as_str()).collect();
        assert_eq!(ids.len(), 1000);
        let types: HashSet<&str> = events.iter().filter_map(|e| e.event.event_type.as_deref()).collect();
        for t in vocab::AUTHENTICATION_EVENT_TYPES {
            assert!(types.contains(t), "{t}");
        }
        let entities: HashSet<&str> = events.iter().filter_map(|e| e.event.entity_type.as_deref()).collect();
        assert_eq!(entities.len(), vocab::management_entity_types().len());
        for w in events.windows(2) {
            assert!(w[0].position() < w[1].position());
        }
        for e in &events {
            assert!((END - DAY..=END).contains(&e.time_ms));
            assert_eq!(time::parse_timestamp(&e.event.event_time), Ok(e.time_ms));
            let failed = e.event.event_outcome.as_deref() == Some("FAIL");
            if let Some(t) = e.event.event_type.as_deref() {
                assert_eq!(failed, vocab::is_failure_event_type(t), "{t}");
            }
        }
    }

    #[test]
    fn management_records_are_complete() {
        let events = Generator::new(&config(2)).initial(1000, END, DAY);
        let mut edits = 0;
        for e in events.iter().filter(|e| e.event.event_category.as_deref() == Some("MANAGEMENT")) {
            let ev = &e.event;
            let action = ev.entity_action.as_deref().expect("action");
            let perm = ev.required_permission.as_deref().expect("permission");
            assert!(perm.starts_with(ev.entity_type.as_deref().expect("type")));
            let details = ev.audit_details.as_ref().expect("details");
            assert!(details.message_tokens.is_some());
            match action {
                "ADD" | "REMOVE" => assert!(details.entity_attributes.as_ref().is_some_and(|a| !a.is_empty())),
                "EDIT" => {
                    edits += 1;
                    let mods = details.modified_entity_attributes.as_ref().expect("mods");
                    assert!(!mods.is_empty());
                    assert!(mods.iter().all(|m| m.old_value != m.new_value));
                }
                _ => {}
            }
            assert!(ev.token.is_none());
        }
        assert!(edits > 10);
    }

    #[test]
    fn time_variants_only_when_enabled() {
        let mut cfg = config(3);
        let plain = Generator::new(&cfg).initial(500, END, DAY);
        assert!(plain.iter().all(|e| e.event.event_time.ends_with('Z')));
        cfg.faults.kinds = [Fault::TimeVariant, Fault::TimeNoZone].into_iter().collect();
        cfg.faults.rate = 0.2;
        let mut g = Generator::new(&cfg);
        let varied = g.initial(500, END, DAY);
        assert!(varied.iter().any(|e| e.event.event_time.ends_with("+0000")));
        assert!(varied.iter().any(|e| e.event.event_time.len() == 19));
        assert!(g.data_fault_counts.get(&Fault::TimeVariant).copied().unwrap_or(0) > 0);
        // The ids do not depend on the fault settings.
        let ids = |v: &[StoredEvent]| v.iter().map(|e| e.event.id.clone()).collect::<HashSet<_>>();
        assert_eq!(ids(&plain), ids(&varied));
    }

    #[test]
    fn issuance_only_when_asked() {
        let is_issuance = |e: &StoredEvent| e.event.event_category.as_deref() == Some("ISSUANCE");
        let plain = Generator::new(&config(8)).initial(1000, END, DAY);
        assert!(!plain.iter().any(is_issuance));
        let cfg = SimConfig { issuance_share: 0.2, ..config(8) };
        let with = Generator::new(&cfg).initial(1000, END, DAY);
        let n = with.iter().filter(|e| is_issuance(e)).count();
        assert!((80..=250).contains(&n), "{n} issuance events");
        assert!(with.iter().filter(|e| is_issuance(e)).all(|e| e.event.entity_action.is_some()));
    }

    #[test]
    fn wanted_category_and_outcome_are_honoured() {
        let mut g = Generator::new(&config(4));
        for (cat, out) in [("AUTHENTICATION", "FAIL"), ("MANAGEMENT", "SUCCESS"), ("AUTHENTICATION", "SUCCESS")] {
            let w = Wanted { category: Some(cat.into()), outcome: Some(out.into()) };
            let e = g.event(END, &w);
            assert_eq!(e.event.event_category.as_deref(), Some(cat));
            assert_eq!(e.event.event_outcome.as_deref(), Some(out));
        }
    }
}
