//! The OCSF 1.5.0 dictionary: classes, activities, objects, attributes, enums and captions,
//! read once from the bundled `classes.json`. Profile attributes are left out: events are
//! validated against the core schemas, which reject them.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

const CLASSES_JSON: &str = include_str!("data/1.5.0/classes.json");

/// The OCSF version the bundled data describes.
pub const OCSF_VERSION: &str = "1.5.0";

/// The dictionary, parsed on first use.
pub fn catalog() -> &'static Catalog {
    static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::load);
    &CATALOG
}

/// The JSON type an attribute's values must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Any,
}

impl JsonType {
    pub fn describe(self) -> &'static str {
        match self {
            JsonType::String => "a string",
            JsonType::Integer => "an integer",
            JsonType::Number => "a number",
            JsonType::Boolean => "a boolean",
            JsonType::Object => "an object",
            JsonType::Any => "any value",
        }
    }
}

/// One attribute of a class or object.
#[derive(Debug)]
pub struct Attribute {
    pub name: String,
    /// The OCSF type name, e.g. `string_t`, `ip_t`, `object`.
    pub ocsf_type: String,
    pub json_type: JsonType,
    /// For `object` attributes, the object's name (e.g. `network_endpoint`).
    pub object_type: Option<String>,
    /// For `object` attributes, the object's index in [`Catalog::objects`].
    object: Option<usize>,
    pub is_array: bool,
    pub requirement: String,
    /// For enum attributes, the attribute holding the caption (e.g. `activity_id` → `activity_name`).
    pub sibling: Option<String>,
    /// For enum attributes, id → caption.
    pub enum_captions: Option<BTreeMap<i64, String>>,
    /// The observable type of values of this attribute, if any.
    pub observable_type_id: Option<i64>,
}

impl Attribute {
    /// True for attributes whose content is free-form (`unmapped`, `json_t` data).
    pub fn is_open(&self) -> bool {
        self.json_type == JsonType::Any || self.object_type.as_deref() == Some("object")
    }

    /// The id of an enum caption, matched exactly.
    pub fn enum_id(&self, caption: &str) -> Option<i64> {
        self.enum_captions.as_ref()?.iter().find(|(_, c)| c.as_str() == caption).map(|(id, _)| *id)
    }

    pub fn captions(&self) -> impl Iterator<Item = &str> {
        self.enum_captions.iter().flat_map(|m| m.values().map(String::as_str))
    }
}

/// A set of attributes: a class or an object.
#[derive(Debug)]
pub struct AttributeSet {
    pub name: String,
    pub caption: String,
    /// Sorted by name.
    pub attributes: Vec<Attribute>,
    /// Groups of attributes of which at least one must be present.
    pub at_least_one: Vec<Vec<String>>,
    /// Name → position in `attributes`; looked up for every key of every event.
    index: HashMap<String, usize, BuildHasherDefault<FxHasher>>,
}

impl AttributeSet {
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.index.get(name).map(|&i| &self.attributes[i])
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.attributes.iter().map(|a| a.name.as_str())
    }
}

/// A hash map keyed by dictionary or schema names, with [`FxHasher`].
pub(crate) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The Fx hash (as in rustc): fast on the short attribute names looked up per event. The keys
/// are the dictionary's own, so there is no hash flooding to fear.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// An event class.
#[derive(Debug)]
pub struct Class {
    pub uid: i64,
    pub category_uid: i64,
    pub category_caption: String,
    pub activities: BTreeMap<i64, String>,
    pub type_captions: BTreeMap<i64, String>,
    pub attrs: AttributeSet,
}

impl Class {
    pub fn caption(&self) -> &str {
        &self.attrs.caption
    }

    pub fn name(&self) -> &str {
        &self.attrs.name
    }

    pub fn activity_id(&self, caption: &str) -> Option<i64> {
        self.activities.iter().find(|(_, c)| c.as_str() == caption).map(|(id, _)| *id)
    }
}

/// All classes and objects.
#[derive(Debug)]
pub struct Catalog {
    pub classes: Vec<Class>,
    pub objects: Vec<AttributeSet>,
    object_names: HashMap<String, usize>,
}

impl Catalog {
    /// Finds a class by caption (`Authentication`, `Entity Management`) or name
    /// (`authentication`, `entity_management`).
    pub fn class(&self, name: &str) -> Option<&Class> {
        self.classes.iter().find(|c| c.caption() == name || c.name() == name)
    }

    pub fn class_by_uid(&self, uid: i64) -> Option<&Class> {
        self.classes.iter().find(|c| c.uid == uid)
    }

    pub fn object(&self, name: &str) -> Option<&AttributeSet> {
        self.object_names.get(name).map(|&i| &self.objects[i])
    }

    /// The attribute set an object-typed attribute points at.
    pub fn object_of(&self, attr: &Attribute) -> Option<&AttributeSet> {
        attr.object.map(|i| &self.objects[i])
    }

    fn load() -> Catalog {
        let raw: RawCatalog = serde_json::from_str(CLASSES_JSON).expect("bundled classes.json is valid");
        let types = &raw.json_type_of_ocsf_type;
        let classes = raw
            .classes
            .iter()
            .map(|(name, c)| Class {
                uid: c.uid,
                category_uid: c.category.uid,
                category_caption: c.category.caption.clone(),
                activities: parse_enum(&c.activities),
                type_captions: parse_enum(&c.type_uids),
                attrs: attribute_set(name, &c.caption, &c.attributes, &c.constraints, types),
            })
            .collect();
        let mut objects: Vec<AttributeSet> = raw
            .objects
            .iter()
            .map(|(name, o)| attribute_set(name, &o.caption, &o.attributes, &o.constraints, types))
            .collect();
        let object_names: HashMap<String, usize> =
            objects.iter().enumerate().map(|(i, o)| (o.name.clone(), i)).collect();
        let mut classes: Vec<Class> = classes;
        let link = |set: &mut AttributeSet| {
            for a in &mut set.attributes {
                a.object = a.object_type.as_deref().and_then(|o| object_names.get(o).copied());
            }
        };
        classes.iter_mut().for_each(|c| link(&mut c.attrs));
        objects.iter_mut().for_each(link);
        Catalog { classes, objects, object_names }
    }
}

fn attribute_set(
    name: &str,
    caption: &str,
    attrs: &BTreeMap<String, RawAttribute>,
    constraints: &RawConstraints,
    types: &BTreeMap<String, RawType>,
) -> AttributeSet {
    let attributes: Vec<Attribute> = attrs
        .iter()
        .filter(|(_, a)| a.profile.is_none())
        .map(|(n, a)| {
            let ty = types.get(&a.r#type);
            let json_type = match (a.r#type.as_str(), ty.map(|t| t.json_type.as_str())) {
                ("object", _) => JsonType::Object,
                (_, Some("string")) => JsonType::String,
                (_, Some("integer")) => JsonType::Integer,
                (_, Some("number")) => JsonType::Number,
                (_, Some("boolean")) => JsonType::Boolean,
                _ => JsonType::Any,
            };
            Attribute {
                name: n.clone(),
                ocsf_type: a.r#type.clone(),
                json_type,
                object_type: a.object_type.clone(),
                object: None,
                is_array: a.is_array,
                requirement: a.requirement.clone(),
                sibling: a.sibling.clone(),
                enum_captions: a.r#enum.as_ref().map(parse_enum),
                observable_type_id: a.observable_type_id.or_else(|| ty.and_then(|t| t.observable_type_id)),
            }
        })
        .collect();
    let index = attributes.iter().enumerate().map(|(i, a)| (a.name.clone(), i)).collect();
    AttributeSet {
        name: name.to_string(),
        caption: caption.to_string(),
        attributes,
        at_least_one: constraints.at_least_one.iter().cloned().collect(),
        index,
    }
}

fn parse_enum(map: &BTreeMap<String, String>) -> BTreeMap<i64, String> {
    map.iter().filter_map(|(k, v)| k.parse().ok().map(|id| (id, v.clone()))).collect()
}

#[derive(Deserialize)]
struct RawCatalog {
    json_type_of_ocsf_type: BTreeMap<String, RawType>,
    classes: BTreeMap<String, RawClass>,
    objects: BTreeMap<String, RawObject>,
}

#[derive(Deserialize)]
struct RawType {
    json_type: String,
    observable_type_id: Option<i64>,
}

#[derive(Deserialize)]
struct RawClass {
    uid: i64,
    caption: String,
    category: RawCategory,
    #[serde(default)]
    constraints: RawConstraints,
    activities: BTreeMap<String, String>,
    type_uids: BTreeMap<String, String>,
    attributes: BTreeMap<String, RawAttribute>,
}

#[derive(Deserialize)]
struct RawCategory {
    uid: i64,
    caption: String,
}

#[derive(Deserialize, Default)]
struct RawConstraints {
    #[serde(default)]
    at_least_one: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawObject {
    caption: String,
    #[serde(default)]
    constraints: RawConstraints,
    attributes: BTreeMap<String, RawAttribute>,
}

#[derive(Deserialize)]
struct RawAttribute {
    r#type: String,
    #[serde(default)]
    requirement: String,
    object_type: Option<String>,
    #[serde(default)]
    is_array: bool,
    profile: Option<String>,
    sibling: Option<String>,
    r#enum: Option<BTreeMap<String, String>>,
    observable_type_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_both_classes() {
        let cat = catalog();
        let auth = cat.class("Authentication").unwrap();
        assert_eq!((auth.uid, auth.category_uid), (3002, 3));
        assert_eq!(auth.activity_id("Preauth"), Some(6));
        assert_eq!(cat.class("entity_management").unwrap().uid, 3004);
        assert_eq!(auth.type_captions.get(&300201).map(String::as_str), Some("Authentication: Logon"));
    }

    #[test]
    fn attributes_carry_types_siblings_and_observables() {
        let cat = catalog();
        let auth = cat.class("Authentication").unwrap();
        let status = auth.attrs.get("status_id").unwrap();
        assert_eq!(status.sibling.as_deref(), Some("status"));
        assert_eq!(status.enum_id("Failure"), Some(2));
        let ep = cat.object_of(auth.attrs.get("src_endpoint").unwrap()).unwrap();
        assert_eq!(ep.get("ip").unwrap().observable_type_id, Some(2));
        assert!(auth.attrs.get("cloud").is_none(), "profile attributes are not part of the core class");
        assert!(auth.attrs.get("unmapped").unwrap().is_open());
        assert_eq!(auth.attrs.at_least_one, vec![vec!["service".to_string(), "dst_endpoint".to_string()]]);
    }
}
