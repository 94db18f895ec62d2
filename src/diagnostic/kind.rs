//! What went wrong in a configuration file: one variant per kind of error, each with a stable
//! code that tests and users can search for (`engine check` prints it as `error[E103]`).

/// The kinds of configuration error. The message names the offending key or value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    // ---- files and YAML structure: E0xx
    #[error("{message}")]
    YamlSyntax { message: String },
    #[error("unknown key `{key}` in {context}")]
    UnknownKey { key: String, context: String },
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType { key: String, expected: String, found: String },
    #[error("missing key `{key}` in {context}")]
    MissingKey { key: String, context: String },
    #[error("`{first}` and `{second}` cannot be used together in {context}")]
    ConflictingKeys { first: String, second: String, context: String },
    #[error("cannot read `{path}`: {reason}")]
    Io { path: String, reason: String },
    #[error("no mapping files found under `{dir}`")]
    NoMappings { dir: String },
    #[error("`{key}`: {reason}")]
    InvalidValue { key: String, reason: String },

    // ---- OCSF names and types: E1xx
    #[error("unknown OCSF class `{name}`")]
    UnknownClass { name: String },
    #[error("unknown activity `{name}` for class `{class}`")]
    UnknownActivity { name: String, class: String },
    #[error("unknown OCSF attribute `{name}` in `{object}`")]
    UnknownAttribute { name: String, object: String },
    #[error("`{value}` is not a value of `{field}`")]
    UnknownCaption { value: String, field: String },
    #[error("`{field}` is {expected} in OCSF, but this value is {found}")]
    LiteralType { field: String, expected: String, found: String },
    #[error("`{field}` is derived by the engine and cannot be set by a mapping")]
    DerivedField { field: String },
    #[error("`{field}` is a list in OCSF: build it whole with `list`, `each` or a list `value`")]
    ThroughList { field: String },
    #[error("`{field}` is not a list in OCSF, but this rule builds a list")]
    NotAList { field: String },
    #[error("`{field}` is the caption of `{id}`: set `{id}` (a `{field}` you set is only used as the label of Other)")]
    SiblingWithoutId { field: String, id: String },
    #[error("mapping `{mapping}` does not name its OCSF class")]
    MissingClass { mapping: String },
    #[error("the activity is given both by `activity` and by `fields.activity_id`")]
    ActivityTwice,
    #[error("`{value}` cannot go into `{field}`: {reason}")]
    LiteralOutOfRange { field: String, value: String, reason: String },
    #[error("mapping `{mapping}` can only dead-letter: OCSF requires `{field}` in `{object}` and no rule sets it")]
    CanOnlyDeadLetter { mapping: String, field: String, object: String },
    #[error(
        "mapping `{mapping}` can only dead-letter: OCSF requires one of {fields} in `{object}` and no rule sets any"
    )]
    NoneOfRequired { mapping: String, fields: String, object: String },
    #[error("`{field}` is required in `{object}` and no rule sets it: every event with `{parent}` is refused")]
    RequiredInObject { field: String, object: String, parent: String },
    #[error("`{field}` is {expected} in OCSF, but {source_kind} gives a string")]
    StringIntoScalar { field: String, expected: String, source_kind: String },
    #[error("`{field}` is {expected} in OCSF, and `{path}` is copied from the record as it is")]
    MaybeUncoerced { field: String, expected: String, path: String },

    // ---- field rules: E2xx
    #[error("invalid source path `{path}`: {reason}")]
    BadPath { path: String, reason: String },
    #[error("invalid template: {reason}")]
    BadTemplate { reason: String },
    #[error("invalid `when` condition: {reason}")]
    BadExpression { reason: String },
    #[error("unknown lookup table `{name}`")]
    UnknownTable { name: String },
    #[error("unknown source parameter `{name}`")]
    UnknownParam { name: String },
    #[error(
        "the rule for `{field}` has no source: give one of `from`, `value`, `template`, `param`, `from_ocsf`, `list`, `each` or `fields`"
    )]
    NoSource { field: String },
    #[error("unknown coercion `{name}`")]
    UnknownCoercion { name: String },
    #[error("lookup table `{name}` is defined twice")]
    DuplicateTable { name: String },
    #[error("`{field}` has no OCSF observable type")]
    NotObservable { field: String },
    #[error("parameter `{name}` has no value: pass `--set {name}=VALUE`")]
    ParamMissing { name: String },

    // ---- dispatch and inheritance: E3xx
    #[error("the matchers of `{first}` and `{second}` overlap: a record can match both")]
    OverlappingMatchers { first: String, second: String },
    #[error("base `{name}` not found")]
    MissingBase { name: String },
    #[error("`extends` forms a cycle: {chain}")]
    ExtendsCycle { chain: String },
    #[error("mapping `{mapping}` has no `match`: every file not starting with `_` must say which records it maps")]
    NoMatcher { mapping: String },
    #[error("`{key}` is matched on both as `{first}` and as `{second}`")]
    MatchConflict { key: String, first: String, second: String },

    // ---- source specs: E4xx
    #[error("invalid source spec: {reason}")]
    BadSpec { reason: String },
    #[error("`--set {arg}` is not of the form KEY=VALUE")]
    BadSetArg { arg: String },
    #[error("`{key}`: {}", crate::source::duration::problem(.value))]
    BadDuration { key: String, value: String },
    #[error("the source cannot run: {reason}")]
    NotRunnable { reason: String },
    #[error("parameter `{name}`: {reason}")]
    BadValueRef { name: String, reason: String },
    #[error("parameter `{name}`: `${{{{{scheme}:…}}}}` references are not supported yet")]
    UnsupportedValueRef { name: String, scheme: String },
    #[error("TLS is required: `{url}` is not https and not a loopback address")]
    InsecureUrl { url: String },
    #[error("parameter `{name}` is required and has no value")]
    RequiredParam { name: String },
    #[error("parameter `{name}`: {reason}")]
    BadParamValue { name: String, reason: String },
    #[error("stream `{second}`: a pipeline runs a spec of one stream (`{first}` is the first)")]
    SeveralStreams { first: String, second: String },
}

impl ErrorKind {
    /// The stable code of this kind of error.
    pub fn code(&self) -> &'static str {
        use ErrorKind::*;
        match self {
            YamlSyntax { .. } => "E001",
            UnknownKey { .. } => "E002",
            WrongType { .. } => "E003",
            MissingKey { .. } => "E004",
            ConflictingKeys { .. } => "E005",
            Io { .. } => "E006",
            NoMappings { .. } => "E007",
            InvalidValue { .. } => "E008",
            UnknownClass { .. } => "E101",
            UnknownActivity { .. } => "E102",
            UnknownAttribute { .. } => "E103",
            UnknownCaption { .. } => "E104",
            LiteralType { .. } => "E105",
            DerivedField { .. } => "E106",
            ThroughList { .. } => "E107",
            NotAList { .. } => "E108",
            SiblingWithoutId { .. } => "E109",
            MissingClass { .. } => "E110",
            ActivityTwice => "E111",
            LiteralOutOfRange { .. } => "E112",
            CanOnlyDeadLetter { .. } => "E113",
            RequiredInObject { .. } => "E114",
            NoneOfRequired { .. } => "E117",
            StringIntoScalar { .. } => "E115",
            MaybeUncoerced { .. } => "E116",
            BadPath { .. } => "E201",
            BadTemplate { .. } => "E202",
            BadExpression { .. } => "E203",
            UnknownTable { .. } => "E204",
            UnknownParam { .. } => "E205",
            NoSource { .. } => "E206",
            UnknownCoercion { .. } => "E207",
            DuplicateTable { .. } => "E208",
            NotObservable { .. } => "E209",
            ParamMissing { .. } => "E210",
            OverlappingMatchers { .. } => "E301",
            MissingBase { .. } => "E302",
            ExtendsCycle { .. } => "E303",
            NoMatcher { .. } => "E304",
            MatchConflict { .. } => "E305",
            BadSpec { .. } => "E401",
            BadSetArg { .. } => "E402",
            BadDuration { .. } => "E403",
            NotRunnable { .. } => "E404",
            BadValueRef { .. } => "E405",
            UnsupportedValueRef { .. } => "E406",
            InsecureUrl { .. } => "E407",
            RequiredParam { .. } => "E408",
            BadParamValue { .. } => "E409",
            SeveralStreams { .. } => "E410",
        }
    }
}
