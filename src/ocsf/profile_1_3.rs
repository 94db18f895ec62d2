//! The OCSF 1.3.0 profile of a validated 1.5.0 event (what Amazon Security Lake takes): the
//! same event with what 1.3.0 cannot hold moved to `unmapped`, never dropped or made up, and
//! then validated against 1.3.0. An event that still cannot be expressed is refused with a
//! reason.
//!
//! The rules, walked over the event against the 1.3.0 dictionary (docs/operations.md lists
//! them with the reasons):
//! - `metadata.version` becomes `1.3.0`;
//! - an attribute 1.3.0 does not have (`metadata.transformation_info_list`, `raw_data_size`,
//!   ...) moves to `unmapped` under its dotted path (`unmapped["metadata.transformation_info_list"]`);
//!   inside a list item it cannot move, and the event is refused;
//! - an attribute 1.3.0 has only under a profile (the Entity Management `actor`, a `host`
//!   attribute in 1.3.0) stays, and the profile is declared in `metadata.profiles`;
//! - an enum id 1.3.0 does not know (entity `type_id` 7 "Network Zone") becomes 99 "Other" and
//!   its caption attribute keeps the 1.5.0 caption, so that nothing is lost;
//! - a `hostname_t` value with a port (`host:8443`; 1.3.0's `hostname_t` has a pattern that
//!   1.5.0 dropped) is split into `hostname` and the object's `port`, when the object has one
//!   and holds no other port;
//! - an object 1.3.0 constrains with `just_one` (every `auth_factors` item must carry exactly
//!   one of `email_addr`, `phone_number`, `security_questions`, which Entrust never gives)
//!   is not given a made-up contact: the attribute that holds it moves to `unmapped`.

use super::dictionary::{AttrDef, Dictionary};
use super::validate_1_3::validate_1_3;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The version of the profile.
pub const VERSION: &str = "1.3.0";

/// The 1.3.0 event and what was changed to make it.
#[derive(Debug, Clone, PartialEq)]
pub struct Profiled {
    pub event: Value,
    /// Dotted paths of the attributes moved to `unmapped`.
    pub moved: Vec<String>,
    /// Enum ids replaced by 99 (path and the 1.5.0 id).
    pub recoded: Vec<(String, i64)>,
    /// Profiles declared in `metadata.profiles`.
    pub profiles: Vec<String>,
    /// Paths of hostnames whose port moved to the object's `port`.
    pub ports_split: Vec<String>,
}

/// Why an event has no 1.3.0 profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Inexpressible {
    #[error("the event has no class_uid of a class OCSF 1.3.0 defines here")]
    UnknownClass,
    #[error("`{0}` is not in OCSF 1.3.0 and sits inside a list item, where it cannot be moved to unmapped")]
    InsideList(String),
    #[error("`{path}` = {id} is not a 1.3.0 value and there is no caption attribute to keep its meaning")]
    EnumWithoutCaption { path: String, id: i64 },
    #[error("`{0}` would be moved to unmapped, which already holds a value under that name")]
    UnmappedTaken(String),
    #[error("the 1.3.0 event is not valid OCSF 1.3.0: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// The 1.3.0 profile of `event` (a valid OCSF 1.5.0 event).
pub fn to_1_3(event: &Value) -> Result<Profiled, Inexpressible> {
    let dict = Dictionary::of(VERSION).expect("1.3.0 is bundled");
    let class_uid = event.get("class_uid").and_then(Value::as_i64).ok_or(Inexpressible::UnknownClass)?;
    let (_, class) = dict.class_by_uid(class_uid).ok_or(Inexpressible::UnknownClass)?;
    let Value::Object(mut root) = event.clone() else { return Err(Inexpressible::UnknownClass) };
    let unmapped = root.remove("unmapped");
    let mut walk =
        Walk { dict, moves: Vec::new(), recoded: Vec::new(), profiles: BTreeSet::new(), ports_split: Vec::new() };
    walk.object(&mut root, &class.attributes, "", false)?;
    let Walk { moves, recoded, mut profiles, ports_split, .. } = walk;
    let metadata = root.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(m) = metadata {
        m.insert("version".into(), VERSION.into());
        if !profiles.is_empty() {
            if let Some(Value::Array(given)) = m.get("profiles") {
                profiles.extend(given.iter().filter_map(Value::as_str).map(str::to_string));
            }
            m.insert("profiles".into(), profiles.iter().cloned().map(Value::String).collect());
        }
    }
    let moved: Vec<String> = moves.iter().map(|(p, _)| p.clone()).collect();
    let mut unmapped = match unmapped {
        Some(Value::Object(m)) => m,
        Some(other) => Map::from_iter([("unmapped".to_string(), other)]),
        None => Map::new(),
    };
    for (path, value) in moves {
        if unmapped.contains_key(&path) {
            return Err(Inexpressible::UnmappedTaken(path));
        }
        unmapped.insert(path, value);
    }
    if !unmapped.is_empty() {
        root.insert("unmapped".into(), Value::Object(unmapped));
    }
    let event = Value::Object(root);
    validate_1_3(&event).map_err(Inexpressible::Invalid)?;
    Ok(Profiled { event, moved, recoded, profiles: profiles.into_iter().collect(), ports_split })
}

struct Walk<'d> {
    dict: &'d Dictionary,
    moves: Vec<(String, Value)>,
    recoded: Vec<(String, i64)>,
    profiles: BTreeSet<String>,
    ports_split: Vec<String>,
}

/// `host:port` as its two parts, when the port is a number and the host has no other `:`.
fn host_and_port(value: &str) -> Option<(&str, u16)> {
    let (host, port) = value.rsplit_once(':')?;
    (!host.is_empty() && !host.contains(':')).then_some(())?;
    Some((host, port.parse().ok()?))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

impl Walk<'_> {
    /// Rewrites one object in place against the attributes 1.3.0 gives it.
    fn object(
        &mut self,
        map: &mut Map<String, Value>,
        attrs: &std::collections::BTreeMap<String, AttrDef>,
        path: &str,
        in_list: bool,
    ) -> Result<(), Inexpressible> {
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            let here = join(path, &key);
            let Some(attr) = attrs.get(&key) else {
                if in_list {
                    return Err(Inexpressible::InsideList(here));
                }
                let value = map.remove(&key).expect("key listed");
                self.moves.push((here, value));
                continue;
            };
            if let Some(profile) = &attr.profile {
                self.profiles.insert(profile.clone());
            }
            if attr.is_open() {
                continue;
            }
            if let Some(object) = attr.object_type.as_deref().and_then(|o| self.dict.objects.get(o)) {
                let value = map.get_mut(&key).expect("key listed");
                let items: Vec<&mut Value> = match value {
                    Value::Array(items) => items.iter_mut().collect(),
                    single => vec![single],
                };
                let breaks_just_one = !object.constraints.just_one.is_empty()
                    && items.iter().any(|item| {
                        let present = object.constraints.just_one.iter().filter(|k| item.get(k.as_str()).is_some());
                        present.count() != 1
                    });
                if breaks_just_one {
                    if in_list {
                        return Err(Inexpressible::InsideList(here));
                    }
                    let value = map.remove(&key).expect("key listed");
                    self.moves.push((here, value));
                    continue;
                }
                let nested = in_list || attr.is_array;
                let item_path = if attr.is_array { format!("{here}[]") } else { here.clone() };
                for item in items {
                    if let Value::Object(child) = item {
                        self.object(child, &object.attributes, &item_path, nested)?;
                    }
                }
                continue;
            }
            if attr.ocsf_type == "hostname_t"
                && attrs.contains_key("port")
                && let Some((host, port)) = map.get(&key).and_then(Value::as_str).and_then(host_and_port)
                && map.get("port").is_none_or(|p| p.as_u64() == Some(u64::from(port)))
            {
                let host = host.to_string();
                map.insert(key.clone(), host.into());
                map.insert("port".into(), port.into());
                self.ports_split.push(here);
                continue;
            }
            if let (Some(_), Some(id)) = (&attr.enum_values, map.get(&key).and_then(Value::as_i64))
                && !attr.allows_id(id)
            {
                let caption_kept = attr.sibling.as_ref().is_some_and(|s| map.get(s).is_some_and(Value::is_string));
                if !caption_kept || !attr.allows_id(99) {
                    return Err(Inexpressible::EnumWithoutCaption { path: here, id });
                }
                map.insert(key.clone(), 99.into());
                self.recoded.push((here, id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn em_event() -> Value {
        json!({
            "activity_id": 3, "activity_name": "Update", "category_uid": 3,
            "category_name": "Identity & Access Management", "class_uid": 3004,
            "class_name": "Entity Management", "type_uid": 300403, "type_name": "Entity Management: Update",
            "severity_id": 1, "severity": "Informational", "time": 1764619804000i64,
            "actor": {"user": {"name": "admin", "uid": "u1"}},
            "entity": {"name": "office", "type_id": 7, "type": "Network Zone"},
            "metadata": {
                "version": "1.5.0", "uid": "e1",
                "product": {"name": "Entrust Identity as a Service", "vendor_name": "Entrust"},
                "transformation_info_list": [{"name": "m", "uid": "sha256:x", "lang": "ocsf-engine mapping"}]
            },
            "unmapped": {"extra": "kept"}
        })
    }

    #[test]
    fn the_entity_management_cases_are_rewritten_and_valid() {
        let p = to_1_3(&em_event()).unwrap();
        assert_eq!(p.event["metadata"]["version"], "1.3.0");
        assert_eq!(p.event["metadata"]["profiles"], json!(["host"]));
        assert_eq!(p.event["actor"], em_event()["actor"]);
        assert_eq!(p.event["entity"], json!({"name": "office", "type_id": 99, "type": "Network Zone"}));
        assert_eq!(p.recoded, vec![("entity.type_id".to_string(), 7)]);
        assert_eq!(p.moved, vec!["metadata.transformation_info_list".to_string()]);
        assert_eq!(
            p.event["unmapped"],
            json!({"extra": "kept", "metadata.transformation_info_list": em_event()["metadata"]["transformation_info_list"]})
        );
    }

    #[test]
    fn auth_factors_without_a_contact_move_to_unmapped() {
        let mut ev: Value =
            serde_json::from_str(include_str!("data/1.3.0/examples/authentication_logon_mfa_success.json")).unwrap();
        ev["metadata"]["version"] = "1.5.0".into();
        let with_contact = to_1_3(&ev).unwrap();
        assert!(with_contact.moved.is_empty() && with_contact.event.get("auth_factors").is_some());
        let factors = json!([{"factor_type": "Password", "factor_type_id": 11}]);
        ev["auth_factors"] = factors.clone();
        let p = to_1_3(&ev).unwrap();
        assert!(p.event.get("auth_factors").is_none());
        assert_eq!(p.event["unmapped"]["auth_factors"], factors);
    }

    #[test]
    fn a_port_in_a_hostname_moves_to_the_port() {
        let mut ev = em_event();
        ev["src_endpoint"] = json!({"hostname": "127.0.0.1:8443"});
        let p = to_1_3(&ev).unwrap();
        assert_eq!(p.event["src_endpoint"], json!({"hostname": "127.0.0.1", "port": 8443}));
        assert_eq!(p.ports_split, vec!["src_endpoint.hostname".to_string()]);
        ev["src_endpoint"] = json!({"hostname": "127.0.0.1:8443", "port": 443});
        assert!(matches!(to_1_3(&ev), Err(Inexpressible::Invalid(_))));
    }

    #[test]
    fn what_cannot_be_expressed_is_refused_with_a_reason() {
        let mut ev = em_event();
        ev["unmapped"]["metadata.transformation_info_list"] = "taken".into();
        assert!(matches!(to_1_3(&ev), Err(Inexpressible::UnmappedTaken(_))));
        let mut ev = em_event();
        ev["entity"].as_object_mut().unwrap().remove("type");
        assert!(matches!(to_1_3(&ev), Err(Inexpressible::EnumWithoutCaption { .. })));
        let mut ev = em_event();
        ev["metadata"]["product"]["vendor_name"] = Value::Null;
        ev["metadata"]["product"].as_object_mut().unwrap().remove("vendor_name");
        let err = to_1_3(&ev).unwrap_err();
        assert!(err.to_string().contains("vendor_name"), "{err}");
    }
}
