//! A unified diff between a snapshot and what its fixture gives now, as `diff -u` and code
//! review tools show it.

/// `old` → `new` with three lines of context, headed `--- old_name` and `+++ new_name`.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    let (old, new) = (with_newline(old), with_newline(new));
    similar::TextDiff::from_lines(&old, &new).unified_diff().context_radius(3).header(old_name, new_name).to_string()
}

fn with_newline(text: &str) -> String {
    let trimmed = text.trim_end();
    if trimmed.is_empty() { String::new() } else { format!("{trimmed}\n") }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_changed_line_is_shown_with_its_context() {
        let diff = super::unified("a\nb\nc\n", "a\nB\nc", "old.snap", "now");
        assert_eq!(diff, "--- old.snap\n+++ now\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    }
}
