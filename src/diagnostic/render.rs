//! Renders diagnostics the way rustc does: `error` or `warning`, code, message, `--> file:line:col`, a code frame
//! with a caret under the offending text, notes pointing at related places, and `help:`.

use super::{Diagnostic, Span};
use std::fmt::Write;

/// Renders one diagnostic.
pub fn render(d: &Diagnostic) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}[{}]: {}", d.label(), d.code(), d.kind);
    let gutter = gutter_width(d);
    if let Some(span) = &d.span {
        frame(&mut out, span, None, gutter);
    }
    for (span, text) in &d.notes {
        frame(&mut out, span, Some(text), gutter);
    }
    if let Some(help) = &d.help {
        if d.span.is_some() || !d.notes.is_empty() {
            let _ = writeln!(out, "{:w$}= help: {help}", "", w = gutter);
        } else {
            let _ = writeln!(out, "  = help: {help}");
        }
    }
    out
}

/// Renders many diagnostics, separated by blank lines, with a closing count.
pub fn render_all(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&render(d));
        out.push('\n');
    }
    let n = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - n;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match (n, warnings) {
        (_, 0) => writeln!(out, "error: {n} error{} found", plural(n)),
        (0, w) => writeln!(out, "warning: {w} warning{} found", plural(w)),
        (n, w) => writeln!(out, "error: {n} error{} and {w} warning{} found", plural(n), plural(w)),
    }
    .ok();
    out
}

fn gutter_width(d: &Diagnostic) -> usize {
    let max_line = d.span.iter().chain(d.notes.iter().map(|(s, _)| s)).map(|s| s.line).max().unwrap_or(1);
    max_line.to_string().len() + 1
}

fn frame(out: &mut String, span: &Span, note: Option<&String>, gutter: usize) {
    let arrow = if note.is_some() { "::: " } else { "--> " };
    let _ = writeln!(out, "{:w$}{arrow}{}", "", span.location(), w = gutter - 1);
    let Some(line_text) = span.file.text.lines().nth(span.line.saturating_sub(1) as usize) else {
        return;
    };
    let line_text = line_text.replace('\t', " ");
    let _ = writeln!(out, "{:w$} |", "", w = gutter - 1);
    let _ = writeln!(out, "{:>w$} | {line_text}", span.line, w = gutter - 1);
    let start = span.column.saturating_sub(1) as usize;
    let available = line_text.chars().count().saturating_sub(start).max(1);
    let carets = "^".repeat((span.len as usize).clamp(1, available));
    let label = note.map(|n| format!(" {n}")).unwrap_or_default();
    let _ = writeln!(out, "{:w$} | {:start$}{carets}{label}", "", "", w = gutter - 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{ErrorKind, SourceFile};

    #[test]
    fn renders_frame_with_caret_and_help() {
        let file = SourceFile::new("m.yaml", "class: Authentication\nactivity: Logn\n");
        let d = Diagnostic::new(ErrorKind::UnknownActivity { name: "Logn".into(), class: "Authentication".into() })
            .at(Span::new(&file, 2, 11, 4))
            .help("did you mean `Logon`?");
        let expected = "\
error[E102]: unknown activity `Logn` for class `Authentication`
 --> m.yaml:2:11
  |
2 | activity: Logn
  |           ^^^^
  = help: did you mean `Logon`?
";
        assert_eq!(render(&d), expected);
    }
}
