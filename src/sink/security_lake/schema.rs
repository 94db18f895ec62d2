//! The fixed Arrow schema of one OCSF class at one OCSF version, generated from the bundled
//! dictionary, never inferred from data: every object of a class gets byte for byte the same
//! schema, which is the Glue table's.
//!
//! Types: integers (`integer_t`, `port_t`, enums) `Int32`; `long_t` and `timestamp_t` `Int64`
//! (epoch milliseconds); `float_t` `Float64`; `boolean_t` `Boolean`; every string type `Utf8`;
//! `json_t` and open objects (`unmapped`) `Utf8` holding JSON text (field metadata
//! `ocsf_type = json_t`); objects structs of their attributes; arrays LIST with the Parquet
//! spec's `element` name. Every field is nullable. Columns are the class's core attributes and
//! those of the `host` profile (the one the 1.3.0 profile declares). An object type already
//! open on the path (`user.groups[].…user`, a process's parent) is cut there: the attribute
//! has no column, and an event holding a value for it is refused rather than trimmed.

use crate::ocsf::dictionary::{AttrDef, Dictionary};
use arrow_schema::{DataType, Field, Fields, Schema};
use std::collections::HashMap;
use std::sync::Arc;

/// Profiles whose attributes have columns.
pub const PROFILES: &[&str] = &["host"];

/// Field metadata key naming columns that hold JSON text.
pub const OCSF_TYPE_KEY: &str = "ocsf_type";

/// The Arrow schema for `class` (a name such as `authentication` or a caption) at `version`.
pub fn class_schema(version: &str, class: &str) -> Result<Schema, String> {
    let dict = Dictionary::of(version).ok_or_else(|| format!("OCSF {version} is not bundled"))?;
    let (_, def) = dict.class_named(class).ok_or_else(|| {
        let known: Vec<&str> = dict.classes.keys().map(String::as_str).collect();
        format!("`{class}` is not a class of OCSF {version} here (known: {})", known.join(", "))
    })?;
    let mut stack = Vec::new();
    let fields: Vec<Field> =
        def.attributes.iter().filter_map(|(name, attr)| field(dict, name, attr, &mut stack)).collect();
    let mut meta = HashMap::new();
    meta.insert("ocsf_version".to_string(), version.to_string());
    meta.insert("ocsf_class_uid".to_string(), def.uid.to_string());
    Ok(Schema::new_with_metadata(fields, meta))
}

fn wanted(attr: &AttrDef) -> bool {
    attr.profile.as_deref().is_none_or(|p| PROFILES.contains(&p))
}

fn json_field(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
        .with_metadata(HashMap::from([(OCSF_TYPE_KEY.to_string(), "json_t".to_string())]))
}

/// The column of one attribute; `None` when it has none (another profile, or a cut recursion).
fn field(dict: &Dictionary, name: &str, attr: &AttrDef, stack: &mut Vec<String>) -> Option<Field> {
    if !wanted(attr) {
        return None;
    }
    let element = if attr.is_open() {
        json_field(if attr.is_array { "element" } else { name })
    } else if let Some(object) = attr.object_type.as_deref() {
        if stack.iter().any(|o| o == object) {
            return None;
        }
        let def = dict.objects.get(object)?;
        stack.push(object.to_string());
        let children: Vec<Field> = def.attributes.iter().filter_map(|(n, a)| field(dict, n, a, stack)).collect();
        stack.pop();
        if children.is_empty() {
            return None;
        }
        Field::new(if attr.is_array { "element" } else { name }, DataType::Struct(Fields::from(children)), true)
    } else {
        Field::new(if attr.is_array { "element" } else { name }, scalar(&attr.ocsf_type), true)
    };
    Some(if attr.is_array { Field::new(name, DataType::List(Arc::new(element)), true) } else { element })
}

fn scalar(ocsf_type: &str) -> DataType {
    match ocsf_type {
        "integer_t" | "port_t" => DataType::Int32,
        "long_t" | "timestamp_t" => DataType::Int64,
        "float_t" => DataType::Float64,
        "boolean_t" => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

/// The Hive type a Glue table gives `data_type` (`struct<name:string,…>`, `array<int>`).
pub fn glue_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float64 => "double".into(),
        DataType::Boolean => "boolean".into(),
        DataType::List(item) => format!("array<{}>", glue_type(item.data_type())),
        DataType::Struct(fields) => {
            let parts: Vec<String> =
                fields.iter().map(|f| format!("{}:{}", f.name(), glue_type(f.data_type()))).collect();
            format!("struct<{}>", parts.join(","))
        }
        _ => "string".into(),
    }
}

/// The schema as text, one field a line, indented by depth: `name: type`, `[json]` for JSON
/// text columns.
pub fn describe(schema: &Schema) -> String {
    fn walk(out: &mut String, field: &Field, depth: usize) {
        let json = field.metadata().get(OCSF_TYPE_KEY).is_some_and(|t| t == "json_t");
        let kind = match field.data_type() {
            DataType::Struct(_) => "struct".to_string(),
            DataType::List(_) => "list".to_string(),
            other => format!("{other}"),
        };
        out.push_str(&format!("{}{}: {kind}{}\n", "  ".repeat(depth), field.name(), if json { " [json]" } else { "" }));
        match field.data_type() {
            DataType::Struct(children) => children.iter().for_each(|c| walk(out, c, depth + 1)),
            DataType::List(item) => walk(out, item, depth + 1),
            _ => {}
        }
    }
    let mut out = String::new();
    for f in schema.fields() {
        walk(&mut out, f, 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(fields: &'a Fields, name: &str) -> &'a Field {
        fields.iter().find(|f| f.name() == name).unwrap_or_else(|| panic!("no {name}")).as_ref()
    }

    #[test]
    fn types_follow_the_rules() {
        let s = class_schema("1.3.0", "authentication").unwrap();
        let f = s.fields();
        assert_eq!(find(f, "activity_id").data_type(), &DataType::Int32);
        assert_eq!(find(f, "time").data_type(), &DataType::Int64);
        assert_eq!(find(f, "is_mfa").data_type(), &DataType::Boolean);
        assert_eq!(find(f, "unmapped").data_type(), &DataType::Utf8);
        assert_eq!(find(f, "unmapped").metadata()[OCSF_TYPE_KEY], "json_t");
        let DataType::List(item) = find(f, "auth_factors").data_type() else { panic!("auth_factors is not a list") };
        assert_eq!(item.name(), "element");
        assert!(matches!(item.data_type(), DataType::Struct(_)));
        assert!(s.fields().iter().all(|f| f.is_nullable()));
        // A host-profile attribute has a column; another profile's does not.
        assert!(f.iter().any(|x| x.name() == "device"));
        assert!(!f.iter().any(|x| x.name() == "cloud"));
        let em = class_schema("1.3.0", "Entity Management").unwrap();
        assert!(em.fields().iter().any(|x| x.name() == "actor"));
    }

    #[test]
    fn recursion_is_cut_at_a_repeated_object() {
        let s = class_schema("1.3.0", "authentication").unwrap();
        let DataType::Struct(actor) = find(s.fields(), "actor").data_type() else { panic!("actor is not a struct") };
        let DataType::Struct(process) = find(actor, "process").data_type() else { panic!("no actor.process") };
        // process.parent_process is a process again: cut; its other attributes stay.
        assert!(process.iter().any(|f| f.name() == "pid"));
        assert!(!process.iter().any(|f| f.name() == "parent_process"));
        // A user's groups hold no user, but an actor's user still has its groups.
        let DataType::Struct(user) = find(actor, "user").data_type() else { panic!("no actor.user") };
        assert!(matches!(find(user, "groups").data_type(), DataType::List(_)));
    }

    #[test]
    fn the_schema_is_the_same_each_time() {
        let a = class_schema("1.3.0", "authentication").unwrap();
        let b = class_schema("1.3.0", "authentication").unwrap();
        assert_eq!(a, b);
        assert_eq!(describe(&a), describe(&b));
        assert!(glue_type(find(a.fields(), "auth_factors").data_type()).starts_with("array<struct<"));
    }
}
