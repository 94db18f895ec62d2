//! "Did you mean" suggestions: the closest valid name to a misspelt one.

/// Returns the candidate closest to `wrong`, if one is close enough to be a likely typo.
///
/// Case differences alone always qualify; otherwise the edit distance (with transpositions
/// counting as one edit) must be small relative to the length of the word: at most a third of
/// it, and at least 1.
pub fn did_you_mean<'a, I>(wrong: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = wrong.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        if cand == wrong {
            continue;
        }
        let dist = if cand.to_lowercase() == lower { 0 } else { strsim::osa_distance(&lower, &cand.to_lowercase()) };
        if best.is_none_or(|(d, c)| dist < d || (dist == d && cand < c)) {
            best = Some((dist, cand));
        }
    }
    let (dist, cand) = best?;
    let limit = (wrong.chars().count() / 3).max(1);
    (dist <= limit).then(|| cand.to_string())
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn finds_close_names() {
        assert_eq!(did_you_mean("Logn", ["Logon", "Logoff", "Preauth"]), Some("Logon".into()));
        assert_eq!(did_you_mean("src_endpont", ["src_endpoint", "dst_endpoint"]), Some("src_endpoint".into()));
        assert_eq!(did_you_mean("logon", ["Logon", "Logoff"]), Some("Logon".into()));
        assert_eq!(did_you_mean("form", ["from", "value"]), Some("from".into()));
        assert_eq!(did_you_mean("nmae", ["name", "uid"]), Some("name".into()));
    }

    #[test]
    fn rejects_far_names() {
        assert_eq!(did_you_mean("banana", ["Logon", "Logoff"]), None);
        assert_eq!(did_you_mean("x", std::iter::empty()), None);
    }
}
