//! Fields the engine derives from the OCSF dictionary so that no mapping writes them by hand:
//! `class_uid`, `category_uid`, `type_uid`, and every caption sibling (`class_name`,
//! `category_name`, `activity_name`, `type_name`, `status`, `severity`, `user.type`, …).

use super::catalog::{AttributeSet, Catalog, Class, catalog};
use serde_json::{Map, Value};

/// The enum id meaning "Other": its caption sibling keeps the label the mapping gave.
pub const OTHER: i64 = 99;

/// Fills in the class, category and type identifiers and every caption sibling of `event`.
///
/// `activity_id` defaults to 0 (Unknown) when the mapping produced none. Where an enum id is 99
/// (Other), a caption the mapping wrote is kept as the source's own label; elsewhere the caption
/// is the dictionary's.
pub fn derive(event: &mut Map<String, Value>, class: &Class) {
    let activity_id = event.get("activity_id").and_then(Value::as_i64).unwrap_or(0);
    event.insert("activity_id".into(), activity_id.into());
    event.insert("class_uid".into(), class.uid.into());
    event.insert("class_name".into(), class.caption().into());
    event.insert("category_uid".into(), class.category_uid.into());
    event.insert("category_name".into(), class.category_caption.as_str().into());
    let type_uid = class.uid * 100 + activity_id;
    event.insert("type_uid".into(), type_uid.into());
    if let Some(caption) = class.type_captions.get(&type_uid) {
        event.insert("type_name".into(), caption.as_str().into());
    }
    derive_siblings(catalog(), event, &class.attrs);
}

/// Sets the caption sibling of every enum id in `map`, recursing into known objects.
pub fn derive_siblings(cat: &Catalog, map: &mut Map<String, Value>, set: &AttributeSet) {
    let mut captions: Vec<(String, &str, bool)> = Vec::new();
    for (key, value) in map.iter_mut() {
        let Some(attr) = set.get(key) else { continue };
        if let (Some(sibling), Some(enum_captions)) = (&attr.sibling, &attr.enum_captions) {
            if let Some(id) = value.as_i64()
                && let Some(caption) = enum_captions.get(&id)
            {
                captions.push((sibling.clone(), caption, id == OTHER));
            }
            continue;
        }
        if attr.is_open() {
            continue;
        }
        let Some(object) = cat.object_of(attr) else {
            continue;
        };
        derive_in(cat, value, object);
    }
    for (sibling, caption, is_other) in captions {
        let has_label = map.get(&sibling).is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
        if !(is_other && has_label) {
            map.insert(sibling, caption.into());
        }
    }
}

/// [`derive_siblings`] for a value of an attribute whose object is `set`: an object, or each
/// object of a list.
pub fn derive_in(cat: &Catalog, value: &mut Value, set: &AttributeSet) {
    match value {
        Value::Object(child) => derive_siblings(cat, child, set),
        Value::Array(items) => {
            for item in items {
                if let Value::Object(child) = item {
                    derive_siblings(cat, child, set);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn derived(mut ev: Value, class: &str) -> Value {
        let class = catalog().class(class).unwrap();
        derive(ev.as_object_mut().unwrap(), class);
        ev
    }

    #[test]
    fn derives_uids_and_captions() {
        let ev = derived(
            json!({"activity_id": 1, "status_id": 2, "severity_id": 1, "user": {"type_id": 1}}),
            "Authentication",
        );
        assert_eq!(ev["class_uid"], 3002);
        assert_eq!(ev["category_uid"], 3);
        assert_eq!(ev["category_name"], "Identity & Access Management");
        assert_eq!(ev["type_uid"], 300201);
        assert_eq!(ev["type_name"], "Authentication: Logon");
        assert_eq!(ev["activity_name"], "Logon");
        assert_eq!(ev["status"], "Failure");
        assert_eq!(ev["severity"], "Informational");
        assert_eq!(ev["user"]["type"], "User");
    }

    #[test]
    fn other_keeps_the_source_label_and_others_are_overwritten() {
        let ev = derived(
            json!({"activity_id": 99, "activity_name": "OTP Delivery", "status_id": 1, "status": "Yes"}),
            "Authentication",
        );
        assert_eq!(ev["activity_name"], "OTP Delivery");
        assert_eq!(ev["type_name"], "Authentication: Other");
        assert_eq!(ev["status"], "Success");
    }

    #[test]
    fn other_without_label_gets_the_caption() {
        let ev = derived(json!({"activity_id": 99}), "Entity Management");
        assert_eq!(ev["activity_name"], "Other");
    }

    #[test]
    fn missing_activity_is_unknown() {
        let ev = derived(json!({}), "Entity Management");
        assert_eq!(ev["activity_id"], 0);
        assert_eq!(ev["type_uid"], 300400);
    }

    #[test]
    fn captions_inside_lists() {
        let ev = derived(
            json!({"auth_factors": [{"factor_type_id": 11}], "observables": [{"type_id": 2}]}),
            "Authentication",
        );
        assert_eq!(ev["auth_factors"][0]["factor_type"], "Password");
        assert_eq!(ev["observables"][0]["type"], "IP Address");
    }
}
