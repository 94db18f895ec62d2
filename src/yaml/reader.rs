//! [`MapReader`]: decodes a YAML mapping into typed values, reporting unknown keys (with the
//! closest valid one), wrong types and missing keys as located diagnostics.

use super::{Key, Node, NodeValue};
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind, Span, did_you_mean};

/// Reads the keys of one YAML mapping. Unknown keys are reported when the reader is created.
pub struct MapReader<'a> {
    entries: &'a [(Key, Node)],
    context: String,
    span: Span,
    unknown_keys: usize,
}

impl<'a> MapReader<'a> {
    /// Starts reading `node`, which must be a mapping whose keys are all in `allowed`.
    /// Returns `None` (after reporting) when the node is not a mapping.
    pub fn new(node: &'a Node, context: impl Into<String>, allowed: &[&str], diags: &mut Diagnostics) -> Option<Self> {
        let context = context.into();
        let NodeValue::Map(entries) = &node.value else {
            diags.push(
                Diagnostic::new(ErrorKind::WrongType {
                    key: context.clone(),
                    expected: "a mapping".into(),
                    found: node.type_name().into(),
                })
                .at(node.span.clone()),
            );
            return None;
        };
        let mut unknown_keys = 0;
        for (key, _) in entries {
            if !allowed.contains(&key.name.as_str()) {
                unknown_keys += 1;
                let help = did_you_mean(&key.name, allowed.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("valid keys here: {}", allowed.join(", ")));
                diags.push(
                    Diagnostic::new(ErrorKind::UnknownKey { key: key.name.clone(), context: context.clone() })
                        .at(key.span.clone())
                        .help(help),
                );
            }
        }
        Some(Self { entries, context, span: node.span.clone(), unknown_keys })
    }

    /// True when some key of the mapping was not allowed (and has been reported).
    pub fn had_unknown_keys(&self) -> bool {
        self.unknown_keys > 0
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    /// The place of the mapping itself.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// The key and value of `key`, if present.
    pub fn entry(&self, key: &str) -> Option<(&'a Key, &'a Node)> {
        self.entries.iter().find(|(k, _)| k.name == key).map(|(k, v)| (k, v))
    }

    pub fn node(&self, key: &str) -> Option<&'a Node> {
        self.entry(key).map(|(_, v)| v)
    }

    pub fn has(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }

    /// A string value (numbers and booleans are not accepted as strings).
    pub fn str(&self, key: &str, diags: &mut Diagnostics) -> Option<(String, Span)> {
        let node = self.node(key)?;
        match &node.value {
            NodeValue::Str(s) => Some((s.clone(), node.span.clone())),
            _ => {
                diags.push(wrong_type(key, "a string", node));
                None
            }
        }
    }

    pub fn bool(&self, key: &str, diags: &mut Diagnostics) -> Option<bool> {
        let node = self.node(key)?;
        match &node.value {
            NodeValue::Bool(b) => Some(*b),
            _ => {
                diags.push(wrong_type(key, "`true` or `false`", node));
                None
            }
        }
    }

    /// The entries of a mapping value.
    pub fn map(&self, key: &str, diags: &mut Diagnostics) -> Option<&'a [(Key, Node)]> {
        let node = self.node(key)?;
        match &node.value {
            NodeValue::Map(entries) => Some(entries),
            NodeValue::Null => Some(&[]),
            _ => {
                diags.push(wrong_type(key, "a mapping", node));
                None
            }
        }
    }

    /// A string or a list of strings.
    pub fn strings(&self, key: &str, diags: &mut Diagnostics) -> Vec<(String, Span)> {
        let Some(node) = self.node(key) else {
            return Vec::new();
        };
        match &node.value {
            NodeValue::Str(s) => vec![(s.clone(), node.span.clone())],
            NodeValue::Seq(items) => items
                .iter()
                .filter_map(|item| match &item.value {
                    NodeValue::Str(s) => Some((s.clone(), item.span.clone())),
                    _ => {
                        diags.push(wrong_type(key, "a string or a list of strings", item));
                        None
                    }
                })
                .collect(),
            _ => {
                diags.push(wrong_type(key, "a string or a list of strings", node));
                Vec::new()
            }
        }
    }

    /// Reports that `key` is required but absent.
    pub fn missing(&self, key: &str) -> Diagnostic {
        Diagnostic::new(ErrorKind::MissingKey { key: key.into(), context: self.context.clone() }).at(self.span.clone())
    }
}

/// A "wrong type" diagnostic for `key`, pointing at the value.
pub fn wrong_type(key: &str, expected: &str, node: &Node) -> Diagnostic {
    Diagnostic::new(ErrorKind::WrongType { key: key.into(), expected: expected.into(), found: node.type_name().into() })
        .at(node.span.clone())
}
