//! The mapping engine: YAML mapping rules loaded from `mappings/<source>/**.yaml` at run time,
//! compiled once, then applied to records with no I/O, no clock and no network.
//!
//! Load: parse every file → decode ([`decl`]) → merge bases ([`inherit`]) → compile against
//! OCSF ([`compile`]) → index matchers ([`dispatch`]). Map: dispatch → rules ([`program`]) →
//! `unmapped` → derived fields → validation, or a dead letter.

mod coerce;
mod compile;
mod decl;
mod dispatch;
mod explain;
mod expr;
mod got;
mod inherit;
mod lint;
mod path;
mod program;
mod provenance;
mod recommended;
mod schema;
mod shape;
mod template;
mod unmapped;

pub use crate::source::timefmt::parse_datetime;
pub use explain::{Explanation, FieldOrigin, Provenance};
pub use program::Mapping;
pub use recommended::Recommended;
pub use schema::mapping_schema;
pub use shape::Written;

use crate::deadletter::{DeadLetter, Reason};
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind, SourceFile};
use crate::json::access::Json;
use crate::json::doc::Doc;
use crate::ocsf;
use decl::{FileDecl, TableDecl};
use dispatch::Dispatch;
use got::Got;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use template::Templates;

/// A mapped record: the event, the mapping that made it, and (when traced) which of the
/// mapping's rules gave a value.
pub(crate) struct Done<'m> {
    pub event: Value,
    pub mapping: &'m Mapping,
    pub produced: Vec<usize>,
    /// For a record only a fallback mapping took, its type (see [`MappingSet::unknown_type`]).
    pub unknown_type: Option<String>,
}

/// What [`MappingSet::map_to`] gives: what the caller needs of the event it wrote and, for a
/// record only a fallback mapping took, its type; or the dead letter.
pub type MapToResult = Result<(Written, Option<String>), Box<DeadLetter>>;

/// Options for producing events.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// Put the original record, as JSON text, in `raw_data`.
    pub keep_raw: bool,
    /// Leave out the OCSF validation of produced events (for measuring what it costs; every
    /// command validates).
    pub skip_validation: bool,
}

/// All mappings of one source, ready to map records.
pub struct MappingSet {
    root: PathBuf,
    mappings: Vec<Mapping>,
    dispatch: Dispatch,
    templates: Templates,
    options: MapOptions,
}

impl std::fmt::Debug for MappingSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappingSet").field("root", &self.root).field("mappings", &self.mappings.len()).finish()
    }
}

impl MappingSet {
    /// Loads and compiles every mapping under `root`. `params` are the source parameters the
    /// mappings may use (`None` for a parameter without a value). Returns every problem found.
    pub fn load(
        root: &Path,
        params: &BTreeMap<String, Option<String>>,
        options: MapOptions,
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut diags = Diagnostics::default();
        let files = yaml_files(root, &mut diags);
        if files.is_empty() && diags.is_empty() {
            diags.push(Diagnostic::new(ErrorKind::NoMappings { dir: root.display().to_string() }));
        }
        let mut decls = Vec::new();
        for (name, path) in files {
            let file = match SourceFile::read(&path) {
                Ok(f) => f,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            match crate::yaml::parse(&file) {
                Ok(node) => decls.extend(decl::decode_file(name, file, &node, &mut diags)),
                Err(d) => diags.push(d),
            }
        }
        let tables = collect_tables(&decls, &mut diags);
        let resolved = inherit::resolve(&decls, &mut diags);
        let ocsf_params: BTreeMap<String, String> =
            params.iter().filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone()))).collect();
        let mut templates = Templates::new(&ocsf_params);
        let mut mappings = Vec::new();
        let mut kept = Vec::new();
        {
            let mut compiler = compile::Compiler::new(ocsf::catalog(), params, &mut templates, tables, &mut diags);
            for decl in &resolved {
                if let Some(m) = compiler.mapping(decl) {
                    mappings.push(m);
                    kept.push(decl);
                }
            }
        }
        let dispatch = Dispatch::build(&mappings, &kept, &mut diags);
        ocsf::validate::warm_up();
        for m in &mut mappings {
            m.shape = shape::Shape::compile(m);
        }
        diags.finish(MappingSet { root: root.to_path_buf(), mappings, dispatch, templates, options })
    }

    /// The static checks of what these mappings can produce (errors and warnings; see
    /// [`lint`]): `engine check` runs them once the files load.
    pub fn lint(&self) -> Vec<Diagnostic> {
        let mut out = lint::lint(&self.mappings);
        crate::diagnostic::sort_and_dedup(&mut out);
        out
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    /// The mapping a record would be mapped with.
    pub fn dispatch(&self, record: &Value) -> Option<&Mapping> {
        self.dispatch.find(record).map(|i| &self.mappings[i])
    }

    /// For a record that only a fallback mapping takes (a type no mapping names), the values of
    /// the fields mappings are chosen by, e.g. `eventCategory=AUTHENTICATION, eventType=X`, so
    /// that operators can count what to map next. `None` for every other record.
    pub fn unknown_type(&self, record: &Value) -> Option<String> {
        let mapping = self.dispatch(record)?;
        mapping.fallback.then(|| self.dispatch.describe_present(record))
    }

    /// Maps one record to a validated OCSF event, or explains why it cannot be.
    pub fn map(&self, record: Value) -> Result<Value, Box<DeadLetter>> {
        self.run(record, false).map(|done| done.event)
    }

    /// Like [`MappingSet::map`], and also gives the record's type when no mapping names it
    /// (as [`MappingSet::unknown_type`] would), from the same dispatch.
    pub fn map_counted(&self, record: Value) -> Result<(Value, Option<String>), Box<DeadLetter>> {
        self.run(record, false).map(|done| (done.event, done.unknown_type))
    }

    /// Maps one record and appends its event's JSON to `out`: the bytes `serde_json` would write
    /// for the event [`MappingSet::map_counted`] gives, the same verdict and the same dead
    /// letter. A mapping with a layout fills it, derives, validates and writes in one walk;
    /// anything that walk does not prove valid, and every other mapping, goes the `Value` way.
    pub fn map_to(&self, record: Value, out: &mut Vec<u8>) -> MapToResult {
        self.map_to_traced(record, out).0
    }

    /// [`MappingSet::map_to`], and whether the event's layout decided (`false`: the `Value`
    /// path did), for the tests that compare both.
    #[doc(hidden)]
    pub fn map_to_traced(&self, record: Value, out: &mut Vec<u8>) -> (MapToResult, bool) {
        let record = Arc::new(record);
        if let Some(done) = self.laid_out(&*record, Some(Arc::clone(&record)), out) {
            return (Ok(done), true);
        }
        let record = Arc::try_unwrap(record).unwrap_or_else(|shared| (*shared).clone());
        (self.map_to_value(record, out), false)
    }

    /// [`MappingSet::map_to`] for a record parsed into a [`Doc`] (see [`crate::json::doc`]):
    /// rules read its text in place, and only what they give is copied.
    pub fn map_doc(&self, doc: &Doc, out: &mut Vec<u8>) -> MapToResult {
        self.map_doc_traced(doc, out).0
    }

    /// [`MappingSet::map_doc`], and whether the event's layout decided.
    #[doc(hidden)]
    pub fn map_doc_traced(&self, doc: &Doc, out: &mut Vec<u8>) -> (MapToResult, bool) {
        match self.laid_out(doc.root(), None, out) {
            Some(done) => (Ok(done), true),
            None => (self.map_to_value(doc.to_value(), out), false),
        }
    }

    /// The event of a record whose mapping has a layout, filled, derived, checked and written
    /// in one walk; `None`, with `out` as it was, when the record is not an object, its
    /// mapping has no layout, or the walk does not prove the event valid (the `Value` path
    /// then decides). `whole` is the record as a `Value`, when the caller has it.
    fn laid_out<'a, J: Json<'a>>(
        &self,
        record: J,
        whole: Option<Arc<Value>>,
        out: &mut Vec<u8>,
    ) -> Option<(Written, Option<String>)> {
        let index = record.is_object().then(|| self.dispatch.find(record)).flatten()?;
        let mapping = &self.mappings[index];
        let shape = mapping.shape.as_ref()?;
        let mut run = program::Run::new(&self.templates, record, whole);
        run.shaped = Some((shape, std::iter::repeat_with(|| None).take(shape.slot_count).collect()));
        run.apply(mapping);
        let (_, mut values) = run.shaped.take().expect("set above");
        let value_of = |record: J| record.as_value().map_or_else(|| Cow::Owned(record.to_value()), Cow::Borrowed);
        let mut text = Vec::with_capacity(1024);
        let plain = if shape.unmapped_as_text {
            unmapped::write(record, &run.consumed, &run.members, &mut text)
        } else {
            values[shape.unmapped] = unmapped::unmapped(&value_of(record), &run.consumed).map(Got::Owned);
            None
        };
        drop(run);
        if self.options.keep_raw {
            values[shape.raw_data] = Some(Got::Owned(Value::String(value_of(record).to_string())));
        }
        let unmapped_text = plain.map(|plain| shape::Unmapped { text: &text, plain });
        let written = shape.write(&mut values, unmapped_text.as_ref(), !self.options.skip_validation, out)?;
        let unknown_type = mapping.fallback.then(|| self.dispatch.describe_present(record));
        Some((written, unknown_type))
    }

    /// [`MappingSet::map_to`] through the `Value` event.
    fn map_to_value(&self, record: Value, out: &mut Vec<u8>) -> MapToResult {
        let done = self.run(record, false)?;
        serde_json::to_writer(&mut *out, &done.event).expect("an event serializes");
        let text = |key: &str| done.event.get(key).and_then(Value::as_str).map(str::to_string);
        let written = Written {
            time: done.event.get("time").and_then(Value::as_i64),
            class_name: text("class_name"),
            type_name: text("type_name"),
        };
        Ok((written, done.unknown_type))
    }

    /// Maps one record and keeps which rule produced each field (`engine explain`).
    pub(crate) fn run(&self, record: Value, trace: bool) -> Result<Done<'_>, Box<DeadLetter>> {
        if !record.is_object() {
            let kind = match &record {
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            };
            return Err(Box::new(DeadLetter::new(
                Reason::InvalidRecord,
                format!("a record must be a JSON object, not {kind}"),
                record,
            )));
        }
        let Some(index) = self.dispatch.find(&record) else {
            let message = format!("no mapping matches this record ({})", self.dispatch.describe(&record));
            return Err(Box::new(DeadLetter::new(Reason::NoMapping, message, record)));
        };
        let mapping = &self.mappings[index];
        let unknown_type = mapping.fallback.then(|| self.dispatch.describe_present(&record));
        let record = Arc::new(record);
        let mut run = program::Run::new(&self.templates, &*record, Some(Arc::clone(&record)));
        if trace {
            run.produced = Some(Vec::new());
        }
        run.apply(mapping);
        let mut event = std::mem::take(&mut run.out);
        let notes = std::mem::take(&mut run.notes);
        let produced = run.produced.take().unwrap_or_default();
        if let Some(rest) = unmapped::unmapped(&record, &run.consumed) {
            program::insert_path(&mut event, &["unmapped".to_string()], rest);
        }
        drop(run);
        if self.options.keep_raw {
            event.insert("raw_data".into(), Value::String(record.to_string()));
        }
        provenance::stamp(&mut event, &mapping.transformation);
        ocsf::derive(&mut event, mapping.class);
        let event = Value::Object(event);
        let verdict = if self.options.skip_validation { Ok(()) } else { ocsf::validate::validate_derived(&event) };
        match verdict {
            Ok(()) => Ok(Done { event, mapping, produced, unknown_type }),
            Err(mut details) => {
                details.extend(notes.into_iter().map(|n| format!("note: {n}")));
                let record = Arc::try_unwrap(record).unwrap_or_else(|shared| (*shared).clone());
                Err(Box::new(DeadLetter {
                    reason: Reason::InvalidOcsf,
                    message: format!(
                        "mapping `{}` produced an event that is not valid OCSF {}",
                        mapping.name,
                        ocsf::OCSF_VERSION
                    ),
                    details,
                    mapping: Some(mapping.name.clone()),
                    record,
                }))
            }
        }
    }
}

/// Every `.yaml`/`.yml` file below `root`, sorted, with its name relative to `root`.
fn yaml_files(root: &Path, diags: &mut Diagnostics) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                diags.push(Diagnostic::new(ErrorKind::Io { path: dir.display().to_string(), reason: e.to_string() }));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(stem) = path.extension().filter(|e| *e == "yaml" || *e == "yml").and(path.file_stem()) {
                let rel_dir = path.parent().and_then(|p| p.strip_prefix(root).ok()).unwrap_or(Path::new(""));
                let mut name: Vec<String> =
                    rel_dir.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                name.push(stem.to_string_lossy().into_owned());
                out.push((name.join("/"), path));
            }
        }
    }
    out.sort();
    out
}

/// Gathers the named tables of every file; a name may be defined once.
fn collect_tables(decls: &[FileDecl], diags: &mut Diagnostics) -> HashMap<String, TableDecl> {
    let mut tables: HashMap<String, TableDecl> = HashMap::new();
    for decl in decls {
        for t in &decl.tables {
            if let Some(first) = tables.get(&t.name) {
                diags.push(
                    Diagnostic::new(ErrorKind::DuplicateTable { name: t.name.clone() })
                        .at(t.span.clone())
                        .note(first.span.clone(), "first defined here"),
                );
            } else {
                tables.insert(t.name.clone(), t.clone());
            }
        }
    }
    tables
}
