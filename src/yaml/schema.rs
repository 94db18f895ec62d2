//! Building blocks of the editor schemas (JSON Schema of YAML configuration files): key
//! descriptions looked up by name and closed objects built from a decoder's key list.

use serde_json::{Map, Value, json};

/// The description of `key` in a `(key, description)` table; empty when there is none.
pub fn doc(table: &[(&str, &str)], key: &str) -> String {
    table.iter().find(|(k, _)| *k == key).map(|(_, d)| (*d).to_string()).unwrap_or_default()
}

/// `body` with a `description`, unless the description is empty.
pub fn with_doc(mut body: Value, description: &str) -> Value {
    if let (Value::Object(map), false) = (&mut body, description.is_empty()) {
        map.insert("description".into(), Value::String(description.into()));
    }
    body
}

/// An object schema that takes exactly these properties (editors flag any other key).
pub fn object(properties: impl IntoIterator<Item = (String, Value)>) -> Value {
    let properties: Map<String, Value> = properties.into_iter().collect();
    json!({ "type": "object", "additionalProperties": false, "properties": properties })
}
