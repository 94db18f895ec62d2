//! Vocabularies: Entrust's event-type and entity-type lists, authenticator names and per-type rules.
//!
//! The three lists are copies of the Administration API 5.46 reference data (the AWS CloudWatch
//! `entrust_idaas` source page and the OpenAPI `Permission.entityType` enum). Neither list is
//! a closed set: `eventType` and `entityType` are free strings in the OpenAPI document.

/// The authentication `eventType` values AWS maps to OCSF Authentication (3002) (56 values).
pub const AUTHENTICATION_EVENT_TYPES: [&str; 56] = [
    "AuthenticationAdminApiSuccessEvent",
    "AuthenticationDeniedEvent",
    "AuthenticationExternalSecondFactorBypassEvent",
    "AuthenticationExternalSuccessEvent",
    "AuthenticationFaceSuccessEvent",
    "AuthenticationFidoSuccessEvent",
    "AuthenticationFirstFactorExternalSuccessEvent",
    "AuthenticationFirstFactorIdpSuccessEvent",
    "AuthenticationFirstFactorPasswordSuccessEvent",
    "AuthenticationGridSuccessEvent",
    "AuthenticationGridWithTempAccessCodeSuccessEvent",
    "AuthenticationIdpSuccessEvent",
    "AuthenticationKbaSuccessEvent",
    "AuthenticationLockedEvent",
    "AuthenticationMagicLinkSuccessEvent",
    "AuthenticationOtpCreatedEvent",
    "AuthenticationOtpEmailSentEvent",
    "AuthenticationOtpNoCreditEvent",
    "AuthenticationOtpSentToAllEvent",
    "AuthenticationOtpSmsSentEvent",
    "AuthenticationOtpSuccessEvent",
    "AuthenticationOtpUnavailableEvent",
    "AuthenticationOtpVoiceSentEvent",
    "AuthenticationOtpWithTempAccessCodeSuccessEvent",
    "AuthenticationPasskeySuccessEvent",
    "AuthenticationPasswordSuccessEvent",
    "AuthenticationSecondFactorFaceSuccessEvent",
    "AuthenticationSecondFactorFIDOSuccessEvent",
    "AuthenticationSecondFactorGridSuccessEvent",
    "AuthenticationSecondFactorGridWithTempAccessCodeSuccessEvent",
    "AuthenticationSecondFactorKbaSuccessEvent",
    "AuthenticationSecondFactorMagicLinkSuccessEvent",
    "AuthenticationSecondFactorOtpSuccessEvent",
    "AuthenticationSecondFactorOtpWithTempAccessCodeSuccessEvent",
    "AuthenticationSecondFactorSmartCredentialPushSuccessEvent",
    "AuthenticationSecondFactorTempAccessCodeSuccessEvent",
    "AuthenticationSecondFactorTokenSuccessEvent",
    "AuthenticationSecondFactorTokenWithTempAccessCodeSuccessEvent",
    "AuthenticationSecondFactorUserCertificateSuccessEvent",
    "AuthenticationSmartCredentialPushSuccessEvent",
    "AuthenticationSmartLoginSuccessEvent",
    "AuthenticationTempAccessCodeSuccessEvent",
    "AuthenticationTokenPushSuccessEvent",
    "AuthenticationTokenSuccessEvent",
    "AuthenticationTokenWithTempAccessCodeSuccessEvent",
    "AuthenticationUserCertificateSuccessEvent",
    "MachineLockedEvent",
    "OidcAuthenticationFailedEvent",
    "OidcAuthenticationSuccessEvent",
    "SamlAuthenticationFailedEvent",
    "SamlAuthenticationSuccessEvent",
    "UserPasswordChangeFailedEvent",
    "UserPasswordChangeLockedEvent",
    "UserStepUpAuthenticationSuccessEvent",
    "VerificationDeniedEvent",
    "VerificationIdpSuccessEvent",
];

/// The management `entityType` values AWS maps to OCSF Entity Management (3004) (120 values).
pub const ENTITY_TYPES_AWS: [&str; 120] = [
    "ACTIVESYNC",
    "AD_CONNECTOR_DIRECTORIES",
    "AGENTS",
    "APPLICATIONS",
    "ARCHIVES",
    "AUTHENTICATIONFLOWS",
    "AUTHORIZATIONGROUPS",
    "AZURE_DIRECTORIES",
    "BLACKLISTEDPASSWORDS",
    "BULKENROLLMENTS",
    "BULKGROUPS",
    "BULKHARDWARETOKENS",
    "BULKIDENTITYGUARD",
    "BULKSMARTCARDS",
    "BULKUSERS",
    "CAS",
    "CERTIFICATES",
    "CLAIMS",
    "CONTACTVERIFICATION",
    "CONTEXTRULES",
    "CREATETENANT",
    "CREDENTIALDESIGNS",
    "CUSTOMIZATIONVARIABLES",
    "DIGITALIDCERTIFICATES",
    "DIGITALIDCONFIGCERTTEMPS",
    "DIGITALIDCONFIGS",
    "DIGITALIDCONFIGSANS",
    "DIGITALIDCONFIGVARIABLES",
    "DIRECTORIES",
    "DIRECTORYATTRIBUTES",
    "DIRECTORYCONNECTIONS",
    "DIRECTORYPASSWORD",
    "DIRECTORYSEARCHATTRIBUTES",
    "DIRECTORYSYNC",
    "DOMAINCONTROLLERCERTS",
    "EMAILTEMPLATES",
    "EMAILVARIABLES",
    "ENROLLMENTDESIGNS",
    "ENROLLMENTS",
    "ENTITLEMENTS",
    "EXPECTEDLOCATIONS",
    "EXPORTREPORTS",
    "FACE",
    "FIDOTOKENS",
    "GATEWAYCSRS",
    "GATEWAYS",
    "GRIDCONTENTS",
    "GRIDS",
    "GROUPPOLICIES",
    "GROUPS",
    "HIGH_AVAILABILITY_GROUPS",
    "HOSTNAMESETTINGS",
    "IDENTITYPROVIDERS",
    "IDPROOFING",
    "IDPROOFINGLICENSE",
    "INTELLITRUSTDESKTOPS",
    "IPLISTS",
    "ISSUANCE",
    "MAGICLINKCONTENTS",
    "MAGICLINKS",
    "OAUTHROLES",
    "ORGANIZATIONS",
    "OTPPROVIDERS",
    "OTPS",
    "PIVCONTENTSIGNER",
    "PKIAASCREDENTIALS",
    "POLICYOVERRIDE",
    "PREFERREDOTPPROVIDERS",
    "PRINTERS",
    "PUSHCREDENTIALS",
    "QUESTIONS",
    "RATELIMITING",
    "REPORTS",
    "RESOURCESERVERAPIS",
    "RESOURCESERVERSCOPES",
    "RISKENGINES",
    "ROLES",
    "SCDEFNPIVAPPLETCONFIGS",
    "SCDEFNS",
    "SCDEFNVARIABLES",
    "SCHEDULEDTASKS",
    "SCIMPROVISIONINGS",
    "SENDAZUREAD",
    "SENDEMAIL",
    "SENDSCIM",
    "SERVICEPROVIDERACCOUNTS",
    "SERVICEPROVIDERS",
    "SETTINGS",
    "SMARTCARDS",
    "SMARTCREDENTIALS",
    "SMARTCREDENTIALSSIGNATURE",
    "SPCLIENTCREDENTIALS",
    "SPENTITLEMENTS",
    "SPIDENTITYPROVIDERS",
    "SPMANAGEMENTPLATFORM",
    "SPROLES",
    "SPUSERMGMT",
    "SUBSCRIBERS",
    "TEMPACCESSCODECONTENTS",
    "TEMPACCESSCODES",
    "TEMPLATES",
    "TENANTS",
    "TOKENACTIVATIONCONTENTS",
    "TOKENS",
    "TRANSACTIONITEMS",
    "TRANSACTIONRULES",
    "USERATTRIBUTES",
    "USERATTRIBUTEVALUES",
    "USERKBACHALLENGES",
    "USERLOCATIONS",
    "USERMACHINES",
    "USEROAUTHTOKENS",
    "USERPASSWORDS",
    "USERQUESTIONANSWERS",
    "USERQUESTIONS",
    "USERRBASETTINGS",
    "USERS",
    "USERSITEROLES",
    "USERSPROLES",
    "WORDSYNONYMS",
];

/// `Permission.entityType` in the Administration API 5.46 OpenAPI document, including the `ALL` wildcard (131 values).
pub const ENTITY_TYPES_PERMISSION_ENUM: [&str; 131] = [
    "ALL",
    "SUBSCRIBERS",
    "USERS",
    "APPLICATIONS",
    "TOKENS",
    "ROLES",
    "SPROLES",
    "CONTEXTRULES",
    "AUTHORIZATIONGROUPS",
    "USERATTRIBUTES",
    "USERATTRIBUTEVALUES",
    "AGENTS",
    "GROUPS",
    "SETTINGS",
    "DIRECTORIES",
    "DIRECTORYSYNC",
    "DIRECTORYCONNECTIONS",
    "TEMPLATES",
    "USERSITEROLES",
    "REPORTS",
    "BULKUSERS",
    "BULKGROUPS",
    "USERPASSWORDS",
    "SERVICEPROVIDERS",
    "SERVICEPROVIDERACCOUNTS",
    "USERMACHINES",
    "CAS",
    "BULKHARDWARETOKENS",
    "BULKSMARTCARDS",
    "DIGITALIDCONFIGS",
    "DIGITALIDCONFIGVARIABLES",
    "DIGITALIDCONFIGCERTTEMPS",
    "DIGITALIDCONFIGSANS",
    "SCDEFNS",
    "SCDEFNPIVAPPLETCONFIGS",
    "SCDEFNVARIABLES",
    "SMARTCREDENTIALS",
    "SMARTCREDENTIALSSIGNATURE",
    "USERSPROLES",
    "EXPECTEDLOCATIONS",
    "USERLOCATIONS",
    "USERRBASETTINGS",
    "SPCLIENTCREDENTIALS",
    "SPMANAGEMENTPLATFORM",
    "ENTITLEMENTS",
    "QUESTIONS",
    "USERQUESTIONS",
    "USERQUESTIONANSWERS",
    "USERKBACHALLENGES",
    "WORDSYNONYMS",
    "GATEWAYS",
    "GATEWAYCSRS",
    "SPUSERMGMT",
    "BULKIDENTITYGUARD",
    "TEMPACCESSCODES",
    "TEMPACCESSCODECONTENTS",
    "GRIDS",
    "GRIDCONTENTS",
    "FIDOTOKENS",
    "EXPORTREPORTS",
    "CUSTOMIZATIONVARIABLES",
    "BLACKLISTEDPASSWORDS",
    "SPENTITLEMENTS",
    "CREATETENANT",
    "TENANTS",
    "ARCHIVES",
    "CERTIFICATES",
    "INTELLITRUSTDESKTOPS",
    "ACTIVESYNC",
    "PRINTERS",
    "ISSUANCE",
    "OTPS",
    "AD_CONNECTOR_DIRECTORIES",
    "AZURE_DIRECTORIES",
    "SCHEDULEDTASKS",
    "CREDENTIALDESIGNS",
    "ENROLLMENTS",
    "BULKENROLLMENTS",
    "EMAILTEMPLATES",
    "EMAILVARIABLES",
    "SENDEMAIL",
    "SENDSCIM",
    "SENDAZUREAD",
    "DIRECTORYPASSWORD",
    "TRANSACTIONITEMS",
    "TRANSACTIONRULES",
    "ENROLLMENTDESIGNS",
    "HIGH_AVAILABILITY_GROUPS",
    "PKIAASCREDENTIALS",
    "DIGITALIDCERTIFICATES",
    "PIVCONTENTSIGNER",
    "RESOURCESERVERAPIS",
    "RESOURCESERVERSCOPES",
    "USEROAUTHTOKENS",
    "GROUPPOLICIES",
    "OAUTHROLES",
    "IDENTITYPROVIDERS",
    "SMARTCARDS",
    "IPLISTS",
    "DOMAINCONTROLLERCERTS",
    "OTPPROVIDERS",
    "PREFERREDOTPPROVIDERS",
    "SPIDENTITYPROVIDERS",
    "PUSHCREDENTIALS",
    "DIRECTORYSEARCHATTRIBUTES",
    "DIRECTORYATTRIBUTES",
    "RISKENGINES",
    "SCIMPROVISIONINGS",
    "RATELIMITING",
    "CLAIMS",
    "CONTACTVERIFICATION",
    "HOSTNAMESETTINGS",
    "MAGICLINKS",
    "MAGICLINKCONTENTS",
    "AUTHENTICATIONFLOWS",
    "FACE",
    "TOKENACTIVATIONCONTENTS",
    "PASSTHROUGH",
    "POLICYOVERRIDE",
    "ORGANIZATIONS",
    "WEBHOOKS",
    "WEBHOOK_NOTIFICATION",
    "VCDEFNS",
    "VCS",
    "PLAYINTEGRITYCREDENTIALS",
    "VPDEFNS",
    "ACRS",
    "FLEET_MANAGEMENT_ALERT",
    "VERIFYUSER",
    "USER_PRINTER_PREFERENCE",
    "NAMEDPASSWORDS",
];

/// The permission wildcard, which never appears as an audited entity type.
pub const PERMISSION_WILDCARD: &str = "ALL";

/// Every audited management entity type from both lists, without [`PERMISSION_WILDCARD`],
/// deduplicated and sorted.
pub fn management_entity_types() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = ENTITY_TYPES_AWS
        .iter()
        .chain(ENTITY_TYPES_PERMISSION_ENUM.iter())
        .copied()
        .filter(|t| *t != PERMISSION_WILDCARD)
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The authenticator names of the `authenticator` search filter and the Authentication API,
/// which are the values of an audit record's `token` field.
#[cfg(test)]
pub const AUTHENTICATORS: [&str; 21] = [
    "MACHINE",
    "PASSWORD",
    "EXTERNAL",
    "KBA",
    "TEMP_ACCESS_CODE",
    "OTP",
    "GRID",
    "TOKEN",
    "TOKENCR",
    "TOKENPUSH",
    "FIDO",
    "SMARTCREDENTIALPUSH",
    "PASSWORD_AND_SECONDFACTOR",
    "SMART_LOGIN",
    "IDP",
    "PASSKEY",
    "IDP_AND_SECONDFACTOR",
    "USER_CERTIFICATE",
    "FACE",
    "PASSTHROUGH",
    "MAGICLINK",
];

/// The value of `token` for an authentication event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRule {
    /// The record carries no authenticator (`token` is null).
    None,
    /// The event type names its authenticator.
    Fixed(&'static str),
    /// The event type does not name it; one of these is drawn.
    OneOf(&'static [&'static str]),
}

const FEDERATION_FACTORS: &[&str] = &["PASSWORD", "PASSWORD_AND_SECONDFACTOR", "IDP", "PASSKEY", "FIDO", "SMART_LOGIN"];
const STEP_UP_FACTORS: &[&str] = &["OTP", "TOKENPUSH", "TOKEN", "FIDO", "SMARTCREDENTIALPUSH"];
const DENIAL_FACTORS: &[&str] = &["PASSWORD", "OTP", "TOKEN", "TOKENPUSH", "KBA", "GRID", "FIDO"];

/// Which authenticator an event type was about, read from its name. Ordered: the more specific
/// name parts are tested first (`TokenPush` before `Token`, `WithTempAccessCode` before `Otp`).
pub fn token_rule(event_type: &str) -> TokenRule {
    const BY_NAME_PART: &[(&str, &str)] = &[
        ("MachineLocked", "MACHINE"),
        ("UserPasswordChange", "PASSWORD"),
        ("WithTempAccessCode", "TEMP_ACCESS_CODE"),
        ("SmartCredentialPush", "SMARTCREDENTIALPUSH"),
        ("TokenPush", "TOKENPUSH"),
        ("TempAccessCode", "TEMP_ACCESS_CODE"),
        ("UserCertificate", "USER_CERTIFICATE"),
        ("SmartLogin", "SMART_LOGIN"),
        ("MagicLink", "MAGICLINK"),
        ("Passkey", "PASSKEY"),
        ("Fido", "FIDO"),
        ("FIDO", "FIDO"),
        ("Face", "FACE"),
        ("Grid", "GRID"),
        ("Kba", "KBA"),
        ("Otp", "OTP"),
        ("Token", "TOKEN"),
        ("Password", "PASSWORD"),
        ("VerificationIdp", "IDP"),
        ("Idp", "IDP"),
        ("External", "EXTERNAL"),
    ];
    if event_type.contains("AdminApi") || event_type.starts_with("Verification") {
        return TokenRule::None;
    }
    for (part, token) in BY_NAME_PART {
        if event_type.contains(part) {
            return TokenRule::Fixed(token);
        }
    }
    if event_type.starts_with("Saml") || event_type.starts_with("Oidc") {
        TokenRule::OneOf(FEDERATION_FACTORS)
    } else if event_type.contains("StepUp") {
        TokenRule::OneOf(STEP_UP_FACTORS)
    } else if event_type.contains("Denied") || event_type.contains("Locked") {
        TokenRule::OneOf(DENIAL_FACTORS)
    } else {
        TokenRule::None
    }
}

/// Whether an authentication event type records a failure (`eventOutcome` FAIL).
pub fn is_failure_event_type(event_type: &str) -> bool {
    event_type.contains("Failed")
        || event_type.contains("Denied")
        || event_type.contains("Locked")
        || event_type.ends_with("OtpNoCreditEvent")
        || event_type.ends_with("OtpUnavailableEvent")
}

/// Relative frequency of an authentication event type in a synthetic tenant.
pub fn event_type_weight(event_type: &str) -> u32 {
    match event_type {
        "AuthenticationFirstFactorPasswordSuccessEvent" => 40,
        "SamlAuthenticationSuccessEvent" | "OidcAuthenticationSuccessEvent" => 30,
        "AuthenticationPasswordSuccessEvent" => 25,
        "AuthenticationSecondFactorOtpSuccessEvent" => 20,
        "AuthenticationSecondFactorSmartCredentialPushSuccessEvent" => 14,
        "AuthenticationTokenPushSuccessEvent" | "AuthenticationSecondFactorTokenSuccessEvent" => 12,
        "AuthenticationDeniedEvent" => 14,
        "AuthenticationOtpSmsSentEvent" | "AuthenticationOtpEmailSentEvent" => 10,
        "AuthenticationOtpCreatedEvent" => 8,
        "AuthenticationFidoSuccessEvent" | "AuthenticationPasskeySuccessEvent" => 8,
        "AuthenticationAdminApiSuccessEvent" => 6,
        "SamlAuthenticationFailedEvent" | "OidcAuthenticationFailedEvent" => 4,
        "AuthenticationLockedEvent" | "UserStepUpAuthenticationSuccessEvent" => 4,
        "AuthenticationIdpSuccessEvent" | "AuthenticationFirstFactorIdpSuccessEvent" => 4,
        _ => 1,
    }
}

/// Relative frequency of a management entity type in a synthetic tenant.
pub fn entity_type_weight(entity_type: &str) -> u32 {
    match entity_type {
        "USERS" => 40,
        "USERATTRIBUTEVALUES" | "USERPASSWORDS" | "GROUPS" => 12,
        "TOKENS" | "APPLICATIONS" | "DIRECTORYSYNC" => 8,
        "ROLES" | "USERSITEROLES" | "GRIDS" | "FIDOTOKENS" | "TEMPACCESSCODES" => 6,
        "SETTINGS" | "CONTEXTRULES" | "AUTHENTICATIONFLOWS" | "REPORTS" | "EXPORTREPORTS" => 4,
        "IDENTITYPROVIDERS" | "IPLISTS" | "RATELIMITING" | "WEBHOOKS" | "SMARTCREDENTIALS" => 3,
        _ => 1,
    }
}

/// Plausible `entityAction` values (with relative weights) for a management entity type.
pub fn entity_actions(entity_type: &str) -> &'static [(&'static str, u32)] {
    const USER: &[(&str, u32)] =
        &[("ADD", 4), ("EDIT", 8), ("REMOVE", 2), ("UNLOCK", 2), ("ENABLE", 1), ("DISABLE", 1)];
    const PASSWORD: &[(&str, u32)] = &[("RESET", 5), ("EDIT", 2), ("UNLOCK", 1)];
    const CREDENTIAL: &[(&str, u32)] = &[
        ("ADD", 3),
        ("ASSIGN", 3),
        ("UNASSIGN", 2),
        ("ACTIVATE", 2),
        ("RESET", 1),
        ("UNLOCK", 1),
        ("ENABLE", 1),
        ("DISABLE", 1),
        ("EDIT", 1),
        ("REMOVE", 2),
    ];
    const FIDO: &[(&str, u32)] = &[("ADD", 3), ("EDIT", 1), ("REMOVE", 2), ("ENABLE", 1), ("DISABLE", 1)];
    const MEMBERSHIP: &[(&str, u32)] = &[("ASSIGN", 3), ("UNASSIGN", 2)];
    const GROUP: &[(&str, u32)] = &[("ADD", 2), ("EDIT", 3), ("REMOVE", 1), ("ASSIGN", 3), ("UNASSIGN", 2)];
    const ADD_REMOVE: &[(&str, u32)] = &[("ADD", 4), ("REMOVE", 2)];
    const EDIT_ONLY: &[(&str, u32)] = &[("EDIT", 1)];
    const SYNC: &[(&str, u32)] = &[("SYNC", 4), ("EDIT", 1), ("ADD", 1)];
    const VIEW: &[(&str, u32)] = &[("VIEW", 3), ("ADD", 1)];
    const SWITCHABLE: &[(&str, u32)] = &[("ADD", 2), ("EDIT", 4), ("REMOVE", 1), ("ENABLE", 1), ("DISABLE", 1)];
    const ANSWERS: &[(&str, u32)] = &[("RESET", 2), ("EDIT", 2), ("REMOVE", 1)];
    const BULK: &[(&str, u32)] = &[("ADD", 1)];
    const DEFAULT: &[(&str, u32)] = &[("ADD", 2), ("EDIT", 3), ("REMOVE", 1)];
    match entity_type {
        "USERS" => USER,
        "USERPASSWORDS" | "DIRECTORYPASSWORD" | "NAMEDPASSWORDS" => PASSWORD,
        "TOKENS" | "GRIDS" | "SMARTCREDENTIALS" | "SMARTCARDS" | "PUSHCREDENTIALS" => CREDENTIAL,
        "FIDOTOKENS" | "FACE" | "USERMACHINES" => FIDO,
        "USERSITEROLES" | "USERSPROLES" | "ENTITLEMENTS" | "SPENTITLEMENTS" => MEMBERSHIP,
        "GROUPS" | "AUTHORIZATIONGROUPS" => GROUP,
        "TEMPACCESSCODES" | "MAGICLINKS" | "OTPS" | "BLACKLISTEDPASSWORDS" => ADD_REMOVE,
        "SETTINGS" | "HOSTNAMESETTINGS" | "USERRBASETTINGS" | "RATELIMITING" => EDIT_ONLY,
        "DIRECTORYSYNC" | "ACTIVESYNC" | "SCIMPROVISIONINGS" => SYNC,
        "REPORTS" | "EXPORTREPORTS" => VIEW,
        "APPLICATIONS"
        | "IDENTITYPROVIDERS"
        | "WEBHOOKS"
        | "CONTEXTRULES"
        | "AUTHENTICATIONFLOWS"
        | "RISKENGINES"
        | "OTPPROVIDERS"
        | "GATEWAYS" => SWITCHABLE,
        "USERQUESTIONANSWERS" | "USERKBACHALLENGES" => ANSWERS,
        t if t.starts_with("BULK") || t.starts_with("SEND") || t == "CREATETENANT" => BULK,
        _ => DEFAULT,
    }
}

/// The permission action an `entityAction` needs (the spec's permission actions are
/// VIEW, ADD, EDIT and REMOVE).
pub fn permission_action(entity_action: &str) -> &'static str {
    match entity_action {
        "ADD" => "ADD",
        "REMOVE" => "REMOVE",
        "VIEW" => "VIEW",
        _ => "EDIT",
    }
}

/// Attribute names recorded in `auditDetails` for an entity type.
pub fn entity_attribute_names(entity_type: &str) -> &'static [&'static str] {
    match entity_type {
        "USERS" => &["userId", "firstName", "lastName", "email", "mobile", "state", "locale", "externalId"],
        "GROUPS" | "AUTHORIZATIONGROUPS" => &["name", "description", "externalId", "type"],
        "APPLICATIONS" => &["name", "description", "applicationType", "enabled"],
        "ROLES" | "SPROLES" | "OAUTHROLES" => &["name", "description", "roleType"],
        "TOKENS" | "SMARTCREDENTIALS" | "GRIDS" => &["serialNumber", "type", "state", "label"],
        "FIDOTOKENS" => &["name", "origin", "state", "userVerification"],
        "USERPASSWORDS" => &["expiryDate", "forceChange", "state"],
        "USERATTRIBUTEVALUES" => &["attributeName", "value"],
        "SETTINGS" => {
            &["adminUserAuthenticationSessionLifetime", "lockoutCount", "passwordExpiryDays", "userSessionIdleTimeout"]
        }
        "IPLISTS" => &["name", "ipAddresses", "enabled"],
        _ => &["name", "description", "enabled"],
    }
}

/// Applications users sign in to through SAML or OIDC.
pub const APPLICATION_NAMES: [&str; 10] = [
    "Salesforce",
    "Microsoft 365",
    "Workday",
    "ServiceNow",
    "GitHub Enterprise",
    "Slack",
    "AWS IAM Identity Center",
    "Zoom",
    "Atlassian Cloud",
    "Box",
];

pub const FIRST_NAMES: [&str; 24] = [
    "John", "Maria", "Wei", "Aisha", "Liam", "Sofia", "Noah", "Emma", "Ravi", "Olga", "Kenji", "Fatima", "Lucas",
    "Chloe", "Mateo", "Ingrid", "Omar", "Yuki", "Pierre", "Nadia", "Diego", "Hannah", "Arjun", "Zoe",
];

pub const LAST_NAMES: [&str; 24] = [
    "Smith", "Garcia", "Chen", "Khan", "Brown", "Rossi", "Muller", "Dubois", "Patel", "Ivanova", "Tanaka", "Haddad",
    "Silva", "Martin", "Lopez", "Larsen", "Farouk", "Sato", "Lefebvre", "Novak", "Torres", "Schmidt", "Sharma",
    "Walker",
];

/// Subscriber administrator roles (`subscriberAdminRoleName`).
pub const SUBSCRIBER_ADMIN_ROLES: [&str; 5] = [
    "Super Administrator",
    "Administrator",
    "Help Desk Administrator",
    "Read Only Administrator",
    "Enrollment Administrator",
];

/// Service provider administrator roles (`serviceProviderAdminRoleName`).
pub const SERVICE_PROVIDER_ADMIN_ROLES: [&str; 2] = ["Service Provider Administrator", "Service Provider Help Desk"];

/// Other Administration API applications of the tenant (the configured one is added to these).
pub const OTHER_ADMIN_API_APPS: [&str; 3] = ["HR Provisioning", "ServiceNow Integration", "Terraform Automation"];

pub const SERVICE_PROVIDER_NAMES: [&str; 2] = ["Acme Managed Services", "Northwind IT Partners"];

pub const AGENT_NAMES: [&str; 3] = ["Gateway gw-01", "AD Connector dc-02", "Directory Sync Agent"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_sizes_match_the_sources() {
        assert_eq!(AUTHENTICATION_EVENT_TYPES.len(), 56);
        assert_eq!(ENTITY_TYPES_AWS.len(), 120);
        assert_eq!(ENTITY_TYPES_PERMISSION_ENUM.len(), 131);
        // 130 spec values without ALL, plus the two only AWS lists.
        let all = management_entity_types();
        assert_eq!(all.len(), 132);
        assert!(!all.contains(&"ALL"));
        assert!(all.contains(&"IDPROOFING") && all.contains(&"WEBHOOKS"));
    }

    #[test]
    fn failure_types() {
        let fails: Vec<&str> =
            AUTHENTICATION_EVENT_TYPES.iter().copied().filter(|t| is_failure_event_type(t)).collect();
        assert_eq!(
            fails,
            [
                "AuthenticationDeniedEvent",
                "AuthenticationLockedEvent",
                "AuthenticationOtpNoCreditEvent",
                "AuthenticationOtpUnavailableEvent",
                "MachineLockedEvent",
                "OidcAuthenticationFailedEvent",
                "SamlAuthenticationFailedEvent",
                "UserPasswordChangeFailedEvent",
                "UserPasswordChangeLockedEvent",
                "VerificationDeniedEvent",
            ]
        );
    }

    #[test]
    fn tokens_follow_the_event_type_name() {
        use TokenRule::*;
        let cases = [
            ("AuthenticationPasswordSuccessEvent", Fixed("PASSWORD")),
            ("AuthenticationOtpSmsSentEvent", Fixed("OTP")),
            ("AuthenticationTokenPushSuccessEvent", Fixed("TOKENPUSH")),
            ("AuthenticationTokenSuccessEvent", Fixed("TOKEN")),
            ("AuthenticationSecondFactorFIDOSuccessEvent", Fixed("FIDO")),
            ("AuthenticationFidoSuccessEvent", Fixed("FIDO")),
            ("AuthenticationPasskeySuccessEvent", Fixed("PASSKEY")),
            ("AuthenticationOtpWithTempAccessCodeSuccessEvent", Fixed("TEMP_ACCESS_CODE")),
            ("AuthenticationSecondFactorSmartCredentialPushSuccessEvent", Fixed("SMARTCREDENTIALPUSH")),
            ("AuthenticationFirstFactorIdpSuccessEvent", Fixed("IDP")),
            ("AuthenticationExternalSecondFactorBypassEvent", Fixed("EXTERNAL")),
            ("MachineLockedEvent", Fixed("MACHINE")),
            ("AuthenticationAdminApiSuccessEvent", None),
            ("SamlAuthenticationSuccessEvent", OneOf(FEDERATION_FACTORS)),
            ("AuthenticationDeniedEvent", OneOf(DENIAL_FACTORS)),
        ];
        for (t, want) in cases {
            assert_eq!(token_rule(t), want, "{t}");
        }
        for t in AUTHENTICATION_EVENT_TYPES {
            match token_rule(t) {
                Fixed(v) => assert!(AUTHENTICATORS.contains(&v), "{t}: {v}"),
                OneOf(vs) => assert!(vs.iter().all(|v| AUTHENTICATORS.contains(v))),
                None => {}
            }
        }
    }

    #[test]
    fn every_entity_type_has_actions_and_attributes() {
        for t in management_entity_types() {
            assert!(!entity_actions(t).is_empty());
            assert!(!entity_attribute_names(t).is_empty());
            assert!(entity_type_weight(t) > 0);
        }
        assert_eq!(permission_action("UNASSIGN"), "EDIT");
    }
}
