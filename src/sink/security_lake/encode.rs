//! Events to Parquet: a row of the class's fixed schema per OCSF 1.3.0 event (checked first, so
//! that a value the schema has no place for refuses that event, never trims it), rows sorted by
//! `time`, written with zstd, data pages of at most 1 MB and row groups of at most 256 MB.

use super::schema::OCSF_TYPE_KEY;
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, ListArray, RecordBatch, StringArray, StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use std::sync::Arc;

/// The uncompressed size a data page is cut at. A page closes once it passes this after a
/// write batch of [`WRITE_BATCH_ROWS`] values, so that with strings of at most 64 KiB (1.3.0's
/// `string_t` limit) a page stays under 1 MB.
pub const DATA_PAGE_BYTES: usize = 512 * 1024;
pub const WRITE_BATCH_ROWS: usize = 4;
/// The largest row group.
pub const ROW_GROUP_BYTES: usize = 256 * 1024 * 1024;

/// Checks that `event` fits `fields`: every attribute has a column of its type. Returns the
/// dotted path and the problem.
pub fn check(fields: &Fields, event: &Value) -> Result<(), String> {
    let Value::Object(map) = event else { return Err("the event is not a JSON object".into()) };
    check_object(fields, map, "")
}

fn check_object(fields: &Fields, map: &serde_json::Map<String, Value>, path: &str) -> Result<(), String> {
    for (key, value) in map {
        let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        let Some(field) = fields.iter().find(|f| f.name() == key) else {
            return Err(format!("`{here}` has no column in the Security Lake schema"));
        };
        check_value(field, value, &here)?;
    }
    Ok(())
}

fn is_json(field: &Field) -> bool {
    field.metadata().get(OCSF_TYPE_KEY).is_some_and(|t| t == "json_t")
}

fn check_value(field: &Field, value: &Value, path: &str) -> Result<(), String> {
    let bad = |want: &str| Err(format!("`{path}` is not {want}"));
    match (field.data_type(), value) {
        (_, Value::Null) => Ok(()),
        (DataType::Utf8, _) if is_json(field) => Ok(()),
        (DataType::Utf8, Value::String(_)) => Ok(()),
        (DataType::Utf8, _) => bad("a string"),
        (DataType::Int32, v) => match v.as_i64() {
            Some(n) if i32::try_from(n).is_ok() => Ok(()),
            _ => bad("a 32-bit integer"),
        },
        (DataType::Int64, v) if v.is_i64() => Ok(()),
        (DataType::Int64, _) => bad("a 64-bit integer"),
        (DataType::Float64, v) if v.is_number() => Ok(()),
        (DataType::Float64, _) => bad("a number"),
        (DataType::Boolean, Value::Bool(_)) => Ok(()),
        (DataType::Boolean, _) => bad("a boolean"),
        (DataType::Struct(children), Value::Object(map)) => check_object(children, map, path),
        (DataType::Struct(_), _) => bad("an object"),
        (DataType::List(item), Value::Array(items)) => {
            items.iter().try_for_each(|v| check_value(item, v, &format!("{path}[]")))
        }
        (DataType::List(_), _) => bad("a list"),
        (other, _) => Err(format!("`{path}`: column type {other} is not written by this engine")),
    }
}

/// A present, non-null value.
fn some<'v>(v: &Option<&'v Value>) -> Option<&'v Value> {
    v.filter(|v| !v.is_null())
}

/// One column's array from the values of its rows (`None`: absent).
fn build(field: &Field, values: &[Option<&Value>]) -> Result<ArrayRef, String> {
    let present = || NullBuffer::from(values.iter().map(|v| v.is_some_and(|v| !v.is_null())).collect::<Vec<bool>>());
    Ok(match field.data_type() {
        DataType::Utf8 if is_json(field) => Arc::new(
            values
                .iter()
                .map(|v| some(v).map(|v| serde_json::to_string(v).unwrap_or_default()))
                .collect::<StringArray>(),
        ),
        DataType::Utf8 => Arc::new(values.iter().map(|v| some(v).and_then(Value::as_str)).collect::<StringArray>()),
        DataType::Int32 => Arc::new(
            values
                .iter()
                .map(|v| some(v).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok()))
                .collect::<Int32Array>(),
        ),
        DataType::Int64 => Arc::new(values.iter().map(|v| some(v).and_then(Value::as_i64)).collect::<Int64Array>()),
        DataType::Float64 => Arc::new(values.iter().map(|v| some(v).and_then(Value::as_f64)).collect::<Float64Array>()),
        DataType::Boolean => {
            Arc::new(values.iter().map(|v| some(v).and_then(Value::as_bool)).collect::<BooleanArray>())
        }
        DataType::Struct(children) => {
            let columns = children
                .iter()
                .map(|child| {
                    let vals: Vec<Option<&Value>> =
                        values.iter().map(|v| some(v).and_then(|o| o.get(child.name().as_str()))).collect();
                    build(child, &vals)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Arc::new(StructArray::try_new(children.clone(), columns, Some(present())).map_err(|e| e.to_string())?)
        }
        DataType::List(item) => {
            let mut offsets = Vec::with_capacity(values.len() + 1);
            let mut flat: Vec<Option<&Value>> = Vec::new();
            offsets.push(0i32);
            for v in values {
                if let Some(Value::Array(items)) = some(v) {
                    flat.extend(items.iter().map(Some));
                }
                offsets.push(i32::try_from(flat.len()).map_err(|_| "a list column over 2^31 items".to_string())?);
            }
            let child = build(item, &flat)?;
            let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
            Arc::new(ListArray::try_new(Arc::clone(item), offsets, child, Some(present())).map_err(|e| e.to_string())?)
        }
        other => return Err(format!("column type {other} is not written by this engine")),
    })
}

/// The record batch of `events` (each already [`check`]ed), in the order given.
pub fn record_batch(schema: &SchemaRef, events: &[&Value]) -> Result<RecordBatch, String> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let vals: Vec<Option<&Value>> = events.iter().map(|e| e.get(field.name().as_str())).collect();
            build(field, &vals)
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| e.to_string())
}

/// The writer settings Security Lake asks for.
pub fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("zstd level 3 exists")))
        .set_data_page_size_limit(DATA_PAGE_BYTES)
        .set_dictionary_page_size_limit(DATA_PAGE_BYTES)
        .set_write_batch_size(WRITE_BATCH_ROWS)
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_created_by(format!("ocsf-engine {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A Parquet file of `events` (checked, in the order given), with `key_values` in its footer.
pub fn parquet(schema: &SchemaRef, events: &[&Value]) -> Result<Vec<u8>, String> {
    let batch = record_batch(schema, events)?;
    let mut writer =
        ArrowWriter::try_new(Vec::new(), Arc::clone(schema), Some(properties())).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.into_inner().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::security_lake::schema::class_schema;
    use serde_json::json;

    #[test]
    fn values_without_a_column_are_refused() {
        let schema = class_schema("1.3.0", "authentication").unwrap();
        assert!(check(schema.fields(), &json!({"time": 1, "user": {"name": "a"}})).is_ok());
        let err = check(schema.fields(), &json!({"user": {"nickname": "a"}})).unwrap_err();
        assert!(err.contains("user.nickname"), "{err}");
        let err = check(schema.fields(), &json!({"activity_id": "1"})).unwrap_err();
        assert!(err.contains("activity_id"), "{err}");
    }

    #[test]
    fn a_parquet_file_is_written() {
        let schema = Arc::new(class_schema("1.3.0", "authentication").unwrap());
        let a = json!({"time": 2, "auth_factors": [{"factor_type_id": 11}], "unmapped": {"k": [1]}});
        let b = json!({"time": 1, "user": {"name": "b", "groups": [{"name": "g"}]}});
        let bytes = parquet(&schema, &[&a, &b]).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
        let batch = record_batch(&schema, &[&a, &b]).unwrap();
        assert_eq!(batch.num_rows(), 2);
    }
}
