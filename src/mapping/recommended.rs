//! Which of its class's recommended OCSF attributes a mapping fills, found from its rules
//! (no record needed): a rule's target, an enum id's caption, or the observables list.

use super::program::Mapping;

/// The class's recommended top-level attributes, split by whether the mapping sets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommended {
    pub filled: Vec<String>,
    pub missing: Vec<String>,
}

impl Mapping {
    /// Recommended attributes of the class this mapping sets (directly, or as the caption of an
    /// id it sets), and those it leaves out.
    pub fn recommended(&self) -> Recommended {
        let attrs = &self.class.attrs;
        let mut set: Vec<&str> = self.rules.iter().filter_map(|r| r.target.first().map(String::as_str)).collect();
        if !self.observables.is_empty() {
            set.push("observables");
        }
        let captions: Vec<&str> =
            set.iter().filter_map(|name| attrs.get(name).and_then(|a| a.sibling.as_deref())).collect();
        set.extend(captions);
        let (filled, missing): (Vec<String>, Vec<String>) = attrs
            .attributes
            .iter()
            .filter(|a| a.requirement == "recommended")
            .map(|a| a.name.clone())
            .partition(|name| set.contains(&name.as_str()));
        Recommended { filled, missing }
    }

    /// `field=value` descriptions of every record key this mapping matches, leaving out the
    /// fields listed in `common` (e.g. a category every mapping of the class shares).
    pub fn match_keys(&self, common: &[String]) -> Vec<String> {
        let mut keys = vec![String::new()];
        for (field, values) in self.matchers.iter().filter(|(f, _)| !common.contains(f)) {
            keys = keys
                .iter()
                .flat_map(|k| {
                    values
                        .iter()
                        .map(move |v| if k.is_empty() { format!("{field}={v}") } else { format!("{k}, {field}={v}") })
                })
                .collect();
        }
        keys.retain(|k| !k.is_empty());
        keys
    }
}
