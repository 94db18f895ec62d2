//! A JSON Schema of the source-spec language, for editors (yaml-language-server completes and
//! checks keys with it). It is generated from the same key lists the decoder accepts, with a
//! description of every key; `engine schema source` prints it and `sources/_source.schema.json`
//! is its committed copy.

use super::auth::{API_KEY_KEYS, CLIENT_AUTH, HEADER_KEYS, LOGIN_KEYS, OAUTH2_KEYS, STRATEGIES as AUTH_STRATEGIES};
use super::paging::{COUNTER_KEYS, CURSOR_KEYS, LINK_KEYS, STRATEGIES as PAGING_STRATEGIES};
use super::spec::{PARAM_KEYS, ParamFormat, SPEC_KEYS};
use super::stream::{LOOKBACK_KEYS, RECONCILE_KEYS, STREAM_KEYS};
use super::timefmt::TimeFormat;
use crate::yaml::schema::{doc, object, with_doc};
use serde_json::{Value, json};

const DURATION: &str = "An ISO-8601 duration: `PT5M`, `PT1H`, `P7D`.";

/// What each key means (shown by editors on hover), by the object that holds it.
const DOCS: &[(&str, &str)] = &[
    ("spec.name", "The source's name: names checkpoints (`<state-dir>/<name>/…`) and summaries."),
    ("spec.description", "Free text about the source."),
    ("spec.mappings", "The directory of the source's mapping rules, relative to this file."),
    ("spec.params", "Parameters a run is given (`--set name=value`); templates see them as `params.<name>`."),
    (
        "spec.base_url",
        "Where the API lives: a template over `params`, e.g. `https://{{ params.hostname }}`. TLS is required except for loopback.",
    ),
    ("spec.auth", "How requests are authenticated: one strategy."),
    ("spec.streams", "What `engine run` pulls, by stream name."),
    ("param.description", "What the parameter is, for help texts."),
    ("param.required", "`engine run` refuses to start without a value."),
    ("param.secret", "A credential: never printed, logged or stored (`***`)."),
    ("param.default", "The value when none is given."),
    ("param.example", "A sample value used offline (`engine map`, `engine check`) when none is given."),
    ("param.placeholder", "What to write after `--set name=` in help texts."),
    ("param.format", "A shape the value must have; `hostname`: a bare host name, optionally with `:port`."),
    ("auth.login", "Send credentials, read a token and its expiry, send the token with every request."),
    ("auth.api_key", "A header built from parameters, sent with every request."),
    (
        "auth.oauth2_client_credentials",
        "OAuth 2.0 client credentials (RFC 6749 §4.4): a token from the token endpoint, renewed before it \
         expires and once on a 401.",
    ),
    ("oauth2.token_url", "The token endpoint: a path under `base_url` or an https URL (a template over `params`)."),
    ("oauth2.client_id", "The client id (a template over `params`)."),
    ("oauth2.client_secret", "The client secret (a template over `params`; make its parameter `secret`)."),
    ("oauth2.scopes", "Scopes asked for, a string or a list (sent space-separated); none: the server's default."),
    ("oauth2.client_auth", "`basic` (HTTP Basic, the default) or `post` (id and secret in the form body)."),
    ("oauth2.ttl", "The token's lifetime when the answer gives no `expires_in` (default PT1H)."),
    ("oauth2.renew_before", "Ask for a new token this long before the expiry (default PT1M)."),
    ("oauth2.header", "The header that carries the token (default `Authorization: Bearer {{ token }}`)."),
    ("login.method", "`POST` (default) or `GET`."),
    ("login.path", "The login endpoint's path."),
    ("login.body", "The request body: YAML whose strings are templates over `params`."),
    ("login.token", "Dotted path of the token in the response."),
    ("login.expires_at", "Dotted path of the token's expiry instant in the response."),
    ("login.ttl", "The token's lifetime when the response gives no expiry (default PT15M)."),
    ("login.renew_before", "Log in again this long before the expiry (default PT1M)."),
    ("login.header", "The header that carries the token; its value template sees `token`."),
    ("api_key.header", "The header that carries the key; its value template sees `params`."),
    ("header.name", "The header's name, e.g. `Authorization`."),
    ("header.value", "A template: `{{ token }}`, `Bearer {{ token }}`, `{{ params.api_key }}`."),
    ("stream.description", "Free text about the stream."),
    ("stream.method", "`POST` (default) or `GET`."),
    ("stream.path", "The endpoint's path, appended to `base_url`."),
    (
        "stream.body",
        "The request body: YAML whose strings are templates over `params`, `window.start`, `window.end` and `page_size`.",
    ),
    ("stream.query", "Query parameters: `name: template`."),
    ("stream.paging", "How the next page is asked for; without it a window is one request."),
    ("stream.records", "Dotted path of the record list in a response, e.g. `results`."),
    ("stream.record_id", "Dotted path of a record's unique id: records already delivered are dropped by it."),
    ("stream.event_time", "Dotted path of a record's time: windows and checkpoints follow it."),
    ("stream.dispatch", "The record field the mappings dispatch on first (informative)."),
    ("stream.time_format", "How window bounds are written in requests."),
    ("stream.page_size", "Records per page (1–100000), given to templates as `page_size`."),
    ("stream.window", "One query covers at most this much time (default PT1H)."),
    ("stream.overlap", "Each window re-reads this much before the checkpoint for late records (default PT5M)."),
    ("stream.settle_delay", "Read up to now minus this (default PT1M)."),
    ("stream.poll_interval", "Without `--once`, look for new records this often (default PT1M)."),
    ("stream.lookback", "The parameter holding the first run's look-back, and its maximum."),
    (
        "stream.stall_pages",
        "Pages in a row that bring no new record before paging a window counts as stalled: it is queried \
         again from the newest record delivered, or ends with a warning (1–10000, default 10).",
    ),
    (
        "stream.reconcile",
        "A periodic re-read of the recent past, for records written later than `overlap` covers: \
         every `every`, the last `span` is read again and what was not delivered yet is delivered.",
    ),
    (
        "stream.concurrency",
        "Windows read at once during a catch-up (1–64, default 1): each by its own task with its own \
         cursor, delivered in order. `engine run --concurrency` and a pipeline's `concurrency` override it.",
    ),
    (
        "stream.requests_per_second",
        "At most this many requests per second to the API's host, shared by every stream and pipeline \
         of the process that talks to it (default: no limit but `concurrency`).",
    ),
    ("reconcile.every", "How often, e.g. `PT1H` (at least PT1M)."),
    ("reconcile.span", "How far back each re-read reaches, e.g. `P1D`; longer than `overlap`."),
    ("paging.cursor", "Cursor paging: the request field that carries the cursor ← the response path of the next one."),
    (
        "paging.offset",
        "Offset paging: the request field that carries how many records came before the page; a page \
         without records ends the window.",
    ),
    (
        "paging.page",
        "Page-number paging: the request field that carries the page number; a page without records ends the window.",
    ),
    (
        "paging.link_header",
        "RFC 8288 `Link` header paging (GET): the next page is the target of the link of relation `rel`, \
         on the API's own origin; none ends the window.",
    ),
    ("link.rel", "The link relation of the next page (default `next`)."),
    (
        "counter.request",
        "The request field (dotted, in the body as a number; a query parameter for GET) that carries the count.",
    ),
    ("counter.start", "The count of a window's first request: default 0 for `offset`, 1 for `page`."),
    ("cursor.request", "The request field (dotted, in the body; a query parameter for GET) that carries the cursor."),
    ("cursor.response", "Dotted path of the next cursor in a response; absent, null or empty ends the window."),
    ("lookback.param", "The parameter, e.g. `range`."),
    ("lookback.max", "The longest look-back accepted, e.g. `P90D`."),
];

fn key_doc(context: &str, key: &str) -> String {
    doc(DOCS, &format!("{context}.{key}"))
}

/// An object schema over `keys`, each key's body from `body` and its description from `DOCS`.
fn keyed(context: &str, keys: &[&str], body: impl Fn(&str) -> Value) -> Value {
    object(keys.iter().map(|key| ((*key).to_string(), with_doc(body(key), &key_doc(context, key)))))
}

/// The JSON Schema (draft-07, which yaml-language-server understands) of a source spec.
pub fn source_schema() -> Value {
    let string = || json!({ "type": "string" });
    let duration = || json!({ "type": "string", "description": DURATION, "pattern": "^P" });
    let template = || json!({ "description": "YAML whose strings are minijinja templates." });
    let header = keyed("header", HEADER_KEYS, |_| string());
    let param = keyed("param", PARAM_KEYS, |key| match key {
        "required" | "secret" => json!({ "type": "boolean" }),
        "default" | "example" => json!({ "type": ["string", "number", "boolean"] }),
        "format" => json!({ "enum": ParamFormat::NAMES }),
        _ => string(),
    });
    let login = keyed("login", LOGIN_KEYS, |key| match key {
        "method" => json!({ "enum": ["POST", "GET", "post", "get"] }),
        "body" => template(),
        "ttl" | "renew_before" => duration(),
        "header" => json!({ "$ref": "#/definitions/header" }),
        _ => string(),
    });
    let auth = keyed("auth", AUTH_STRATEGIES, |key| match key {
        "login" => json!({ "$ref": "#/definitions/login" }),
        "oauth2_client_credentials" => keyed("oauth2", OAUTH2_KEYS, |key| match key {
            "scopes" => json!({ "type": ["string", "array"], "items": { "type": "string" } }),
            "client_auth" => json!({ "enum": CLIENT_AUTH }),
            "ttl" | "renew_before" => duration(),
            "header" => json!({ "$ref": "#/definitions/header" }),
            _ => string(),
        }),
        "api_key" => keyed("api_key", API_KEY_KEYS, |_| json!({ "$ref": "#/definitions/header" })),
        _ => json!({}),
    });
    let paging = keyed("paging", PAGING_STRATEGIES, |key| match key {
        "cursor" => keyed("cursor", CURSOR_KEYS, |_| string()),
        "link_header" => keyed("link", LINK_KEYS, |_| string()),
        "offset" | "page" => keyed("counter", COUNTER_KEYS, |key| match key {
            "start" => json!({ "type": "integer", "minimum": 0 }),
            _ => string(),
        }),
        _ => json!({}),
    });
    let stream = keyed("stream", STREAM_KEYS, |key| match key {
        "method" => json!({ "enum": ["POST", "GET", "post", "get"] }),
        "body" => template(),
        "query" => json!({ "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"] } }),
        "paging" => json!({ "$ref": "#/definitions/paging" }),
        "time_format" => json!({ "enum": TimeFormat::NAMES }),
        "page_size" => json!({ "type": "integer", "minimum": 1, "maximum": 100_000 }),
        "window" | "overlap" | "settle_delay" | "poll_interval" => duration(),
        "lookback" => keyed("lookback", LOOKBACK_KEYS, |key| match key {
            "max" => duration(),
            _ => string(),
        }),
        "stall_pages" => json!({ "type": "integer", "minimum": 1, "maximum": 10_000 }),
        "concurrency" => json!({ "type": "integer", "minimum": 1, "maximum": super::stream::MAX_CONCURRENCY }),
        "requests_per_second" => json!({ "type": "number", "exclusiveMinimum": 0 }),
        "reconcile" => keyed("reconcile", RECONCILE_KEYS, |_| duration()),
        _ => string(),
    });
    let mut root = keyed("spec", SPEC_KEYS, |key| match key {
        "params" => json!({ "type": "object", "additionalProperties": { "$ref": "#/definitions/param" } }),
        "auth" => json!({ "$ref": "#/definitions/auth" }),
        "streams" => json!({ "type": "object", "additionalProperties": { "$ref": "#/definitions/stream" } }),
        _ => string(),
    });
    let map = root.as_object_mut().expect("an object schema");
    map.insert("required".into(), json!(["name", "mappings"]));
    let mut out = serde_json::Map::new();
    out.insert("$schema".into(), json!("http://json-schema.org/draft-07/schema#"));
    out.insert("$comment".into(), json!("Generated by `engine schema source`; do not edit."));
    out.insert("title".into(), json!("ocsf-engine source spec"));
    out.extend(std::mem::take(map));
    out.insert(
        "definitions".into(),
        json!({ "param": param, "auth": auth, "login": login, "header": header, "stream": stream, "paging": paging }),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_documented() {
        let lists: &[(&str, &[&str])] = &[
            ("spec", SPEC_KEYS),
            ("param", PARAM_KEYS),
            ("auth", AUTH_STRATEGIES),
            ("login", LOGIN_KEYS),
            ("oauth2", OAUTH2_KEYS),
            ("api_key", API_KEY_KEYS),
            ("header", HEADER_KEYS),
            ("stream", STREAM_KEYS),
            ("paging", PAGING_STRATEGIES),
            ("cursor", CURSOR_KEYS),
            ("counter", COUNTER_KEYS),
            ("link", LINK_KEYS),
            ("lookback", LOOKBACK_KEYS),
            ("reconcile", RECONCILE_KEYS),
        ];
        for (context, keys) in lists {
            for key in *keys {
                assert!(!key_doc(context, key).is_empty(), "{context}.{key}");
            }
        }
        let documented = lists.iter().map(|(_, keys)| keys.len()).sum::<usize>();
        assert_eq!(documented, DOCS.len(), "a description for a key no decoder accepts");
    }

    #[test]
    fn the_schema_is_a_valid_schema_that_refuses_unknown_keys() {
        let s = source_schema();
        let v = jsonschema::validator_for(&s).unwrap();
        assert!(v.is_valid(&json!({ "name": "x", "mappings": "m", "streams": { "a": { "page_size": 10 } } })));
        assert!(!v.is_valid(&json!({ "name": "x", "mappings": "m", "stream": {} })));
        assert!(!v.is_valid(&json!({ "name": "x", "mappings": "m", "streams": { "a": { "page_size": 0 } } })));
        assert!(!v.is_valid(&json!({ "name": "x", "mappings": "m", "params": { "p": { "format": "url" } } })));
    }
}
