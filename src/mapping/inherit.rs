//! `extends`: a mapping is the merge of its bases (in the order listed, each with its own bases
//! first) and then its own lines. Later layers override earlier ones key by key; a field rule
//! that gives only modifiers (say `default:`) keeps the base's source.

use super::decl::{FieldDecl, FileDecl, RuleDecl};
use crate::diagnostic::{Diagnostic, Diagnostics, ErrorKind, did_you_mean};
use std::collections::HashMap;

/// Resolves every non-base file against its bases. Bases are checked as part of the mappings
/// that use them (a base nobody extends is only read for its syntax and tables).
pub fn resolve(files: &[FileDecl], diags: &mut Diagnostics) -> Vec<FileDecl> {
    let by_name: HashMap<&str, usize> = files.iter().enumerate().map(|(i, f)| (f.name.as_str(), i)).collect();
    let mut out = Vec::new();
    for (i, file) in files.iter().enumerate() {
        if file.is_base {
            continue;
        }
        let mut order = Vec::new();
        if linearize(files, &by_name, i, &mut Vec::new(), &mut order, diags) {
            out.push(merge(files, &order));
        }
    }
    out
}

/// Finds the file a base name refers to: looked up beside the extending file, then in each
/// parent directory up to the mapping root. `.yaml` may be left out.
fn find_base(by_name: &HashMap<&str, usize>, from: &str, base: &str) -> Option<usize> {
    let base = base.trim_end_matches(".yaml").trim_end_matches(".yml").trim_start_matches("./");
    let mut dir = from.rsplit_once('/').map(|(d, _)| d.to_string());
    loop {
        let candidate = match &dir {
            Some(d) => format!("{d}/{base}"),
            None => base.to_string(),
        };
        if let Some(i) = by_name.get(normalize(&candidate).as_str()) {
            return Some(*i);
        }
        dir = match dir {
            Some(d) => d.rsplit_once('/').map(|(p, _)| p.to_string()),
            None => return None,
        };
    }
}

/// Resolves `..` segments.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Appends `i`'s layers (bases first) to `order`. Returns false after reporting a problem.
fn linearize(
    files: &[FileDecl],
    by_name: &HashMap<&str, usize>,
    i: usize,
    stack: &mut Vec<usize>,
    order: &mut Vec<usize>,
    diags: &mut Diagnostics,
) -> bool {
    if stack.contains(&i) {
        let chain: Vec<&str> = stack.iter().chain(std::iter::once(&i)).map(|&j| files[j].name.as_str()).collect();
        let span = files[*stack.last().unwrap_or(&i)].extends.first().map(|(_, s)| s.clone());
        diags.push(Diagnostic::new(ErrorKind::ExtendsCycle { chain: chain.join(" → ") }).at_opt(span));
        return false;
    }
    if order.contains(&i) {
        return true;
    }
    stack.push(i);
    let mut ok = true;
    for (base, span) in &files[i].extends {
        match find_base(by_name, &files[i].name, base) {
            Some(j) if !files[j].is_base => {
                diags.push(
                    Diagnostic::new(ErrorKind::MissingBase { name: base.clone() })
                        .at(span.clone())
                        .help("only files whose name starts with `_` can be extended"),
                );
                ok = false;
            }
            Some(j) => ok &= linearize(files, by_name, j, stack, order, diags),
            None => {
                let bases = files.iter().filter(|f| f.is_base).map(|f| f.name.rsplit('/').next().unwrap_or(&f.name));
                let help = did_you_mean(base, bases).map(|s| format!("did you mean `{s}`?"));
                diags.push(
                    Diagnostic::new(ErrorKind::MissingBase { name: base.clone() }).at(span.clone()).help_opt(help),
                );
                ok = false;
            }
        }
    }
    stack.pop();
    order.push(i);
    ok
}

/// Merges layers, earliest first, into one declaration named after the last.
fn merge(files: &[FileDecl], order: &[usize]) -> FileDecl {
    let leaf = &files[*order.last().expect("a file is its own last layer")];
    let mut merged = FileDecl {
        extends: Vec::new(),
        class: None,
        activity: None,
        matchers: Vec::new(),
        match_span: None,
        fallback: None,
        observables: Vec::new(),
        fields: Vec::new(),
        tables: Vec::new(),
        layers: order.iter().map(|&i| std::sync::Arc::clone(&files[i].file)).collect(),
        ..leaf.clone()
    };
    for &i in order {
        let layer = &files[i];
        if layer.class.is_some() {
            merged.class = layer.class.clone();
        }
        if layer.activity.is_some() {
            merged.activity = layer.activity.clone();
        }
        if layer.fallback.is_some() {
            merged.fallback = layer.fallback;
        }
        if layer.match_span.is_some() {
            merged.match_span = layer.match_span.clone();
        }
        for m in &layer.matchers {
            match merged.matchers.iter_mut().find(|x| x.field == m.field) {
                Some(existing) => *existing = m.clone(),
                None => merged.matchers.push(m.clone()),
            }
        }
        for o in &layer.observables {
            if !merged.observables.iter().any(|(x, _)| x == &o.0) {
                merged.observables.push(o.clone());
            }
        }
        for field in &layer.fields {
            merge_field(&mut merged.fields, field);
        }
    }
    merged
}

fn merge_field(fields: &mut Vec<FieldDecl>, over: &FieldDecl) {
    let Some(existing) = fields.iter_mut().find(|f| f.target == over.target) else {
        fields.push(over.clone());
        return;
    };
    match (&existing.rule, &over.rule) {
        (RuleDecl::One(base), RuleDecl::One(child)) if !child.has_source() => {
            existing.rule = RuleDecl::One(Box::new(base.overlay(child)));
            existing.origins.push(over.span.clone());
        }
        _ => {
            existing.rule = over.rule.clone();
            existing.origins = vec![over.span.clone()];
        }
    }
    existing.span = over.span.clone();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_relative_names() {
        assert_eq!(normalize("a/b/../_base"), "a/_base");
        assert_eq!(normalize("./_base"), "_base");
    }

    #[test]
    fn finds_bases_beside_then_above() {
        let names = HashMap::from([("_base", 0), ("auth/_logon", 1)]);
        assert_eq!(find_base(&names, "auth/x", "_logon"), Some(1));
        assert_eq!(find_base(&names, "auth/x", "_base.yaml"), Some(0));
        assert_eq!(find_base(&names, "auth/deep/x", "_logon"), Some(1));
        assert_eq!(find_base(&names, "x", "_logon"), None);
        assert_eq!(find_base(&names, "mgmt/x", "../auth/_logon"), Some(1));
    }
}
