//! A bundled OCSF dictionary read as it is (`data/<version>/classes.json`): every class's and
//! object's attributes with their OCSF types, profiles, enums and constraints, for any of the
//! bundled versions. The Parquet schemas and the 1.3.0 profile are derived from it.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

const CLASSES_1_3_0: &str = include_str!("data/1.3.0/classes.json");
const CLASSES_1_5_0: &str = include_str!("data/1.5.0/classes.json");

/// The OCSF versions whose dictionaries are bundled.
pub const VERSIONS: [&str; 2] = ["1.3.0", "1.5.0"];

/// One OCSF version's dictionary for the bundled classes.
#[derive(Debug, Deserialize)]
pub struct Dictionary {
    pub ocsf_version: String,
    /// By class name (`authentication`).
    pub classes: BTreeMap<String, ClassDef>,
    /// By object name (`network_endpoint`).
    pub objects: BTreeMap<String, ObjectDef>,
}

#[derive(Debug, Deserialize)]
pub struct ClassDef {
    pub uid: i64,
    pub caption: String,
    #[serde(default)]
    pub profiles: Vec<String>,
    pub attributes: BTreeMap<String, AttrDef>,
}

#[derive(Debug, Deserialize)]
pub struct ObjectDef {
    pub caption: String,
    #[serde(default)]
    pub constraints: Constraints,
    pub attributes: BTreeMap<String, AttrDef>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Constraints {
    /// Exactly one of these attributes must be present.
    #[serde(default)]
    pub just_one: Vec<String>,
    #[serde(default)]
    pub at_least_one: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct AttrDef {
    /// The OCSF type (`string_t`, `timestamp_t`, `object`, ...).
    #[serde(rename = "type")]
    pub ocsf_type: String,
    pub object_type: Option<String>,
    #[serde(default)]
    pub is_array: bool,
    /// The profile that brings the attribute in, if any.
    pub profile: Option<String>,
    pub sibling: Option<String>,
    /// Enum id (as text) → caption.
    #[serde(rename = "enum")]
    pub enum_values: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub requirement: String,
}

impl AttrDef {
    /// True for attributes whose content has no fixed shape (`unmapped`, `json_t` data).
    pub fn is_open(&self) -> bool {
        self.ocsf_type == "json_t" || self.object_type.as_deref() == Some("object")
    }

    /// Whether `id` is one of the enum's values (true for attributes without an enum).
    pub fn allows_id(&self, id: i64) -> bool {
        self.enum_values.as_ref().is_none_or(|e| e.contains_key(&id.to_string()))
    }
}

impl Dictionary {
    /// The dictionary of a bundled version, parsed on first use.
    pub fn of(version: &str) -> Option<&'static Dictionary> {
        static V1_3_0: LazyLock<Dictionary> = LazyLock::new(|| parse(CLASSES_1_3_0));
        static V1_5_0: LazyLock<Dictionary> = LazyLock::new(|| parse(CLASSES_1_5_0));
        match version {
            "1.3.0" => Some(&V1_3_0),
            "1.5.0" => Some(&V1_5_0),
            _ => None,
        }
    }

    pub fn class_by_uid(&self, uid: i64) -> Option<(&str, &ClassDef)> {
        self.classes.iter().find(|(_, c)| c.uid == uid).map(|(n, c)| (n.as_str(), c))
    }

    /// A class by its name (`authentication`) or its caption (`Entity Management`), any case.
    pub fn class_named(&self, name: &str) -> Option<(&str, &ClassDef)> {
        let wanted = name.to_ascii_lowercase().replace([' ', '-'], "_");
        self.classes
            .iter()
            .find(|(n, c)| **n == wanted || c.caption.to_ascii_lowercase().replace(' ', "_") == wanted)
            .map(|(n, c)| (n.as_str(), c))
    }
}

fn parse(text: &str) -> Dictionary {
    serde_json::from_str(text).expect("bundled classes.json matches Dictionary")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_versions_load_with_both_classes() {
        for v in VERSIONS {
            let d = Dictionary::of(v).unwrap();
            assert_eq!(d.ocsf_version, v);
            assert_eq!(d.class_by_uid(3002).unwrap().0, "authentication");
            assert_eq!(d.class_named("Entity Management").unwrap().1.uid, 3004);
        }
    }

    #[test]
    fn the_differences_the_profile_relies_on_are_there() {
        let (old, new) = (Dictionary::of("1.3.0").unwrap(), Dictionary::of("1.5.0").unwrap());
        let actor = |d: &Dictionary| d.classes["entity_management"].attributes["actor"].profile.clone();
        assert_eq!(actor(old).as_deref(), Some("host"));
        assert_eq!(actor(new), None);
        assert!(!old.objects["metadata"].attributes.contains_key("transformation_info_list"));
        assert!(!old.objects["managed_entity"].attributes["type_id"].allows_id(7));
        assert!(new.objects["managed_entity"].attributes["type_id"].allows_id(7));
        assert_eq!(old.objects["auth_factor"].constraints.just_one.len(), 3);
    }
}
