//! The `--simulate --simulate-faults LIST` demo: the simulator's fault settings for a run that
//! starts its own, shaped so that a default run (1,000 events over a day) meets every fault the
//! list names, and the closing line that says how often each was injected.
//!
//! A day of 1,000 records fills one page of 100 per hourly window, so a plain demo would send
//! no cursor at all, and the cursor faults (`late-records`, `edge-duplicates`,
//! `invalid-cursor`) would have nothing to act on; at the default rate (one request in ten)
//! its sixty-odd requests would meet three or four faults. The demo reads pages of
//! [`DEMO_PAGE_SIZE`] and injects a fault into one request in [`DEMO_RATE`].

use crate::simulator::{Fault, FaultConfig};
use crate::source::stream::StreamSpec;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Records per page of a demo run with faults.
pub const DEMO_PAGE_SIZE: u32 = 20;

/// The share of a demo run's requests that get a fault.
pub const DEMO_RATE: f64 = 0.3;

/// The simulator's faults for a run that starts its own: short delays, and with faults the
/// demo's rate.
pub fn fault_config(kinds: BTreeSet<Fault>) -> FaultConfig {
    let rate = if kinds.is_empty() { FaultConfig::default().rate } else { DEMO_RATE };
    FaultConfig { kinds, rate, slow_delay: Duration::from_millis(300), ..FaultConfig::default() }
}

/// With faults: smaller pages, so that windows span several and cursors are sent.
pub fn shape_stream(stream: &mut StreamSpec, kinds: &BTreeSet<Fault>) {
    if !kinds.is_empty() {
        stream.page_size = stream.page_size.min(DEMO_PAGE_SIZE);
    }
}

/// Every fault asked for, with how often the simulator injected it (time-variant and
/// time-no-zone count the records they shaped): by name for the JSON summary, and as the line
/// `simulated faults: 429 ×2, 500 ×1, …`.
pub fn fault_report(kinds: &BTreeSet<Fault>, counts: &BTreeMap<Fault, u64>) -> Option<(Map<String, Value>, String)> {
    if kinds.is_empty() {
        return None;
    }
    let n = |k: &Fault| counts.get(k).copied().unwrap_or(0);
    let each: Vec<String> = kinds.iter().map(|k| format!("{k} \u{d7}{}", n(k))).collect();
    let fields = kinds.iter().map(|k| (k.name().to_string(), Value::from(n(k)))).collect();
    Some((fields, format!("simulated faults:   {}", each.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_every_fault_asked_for_even_those_never_injected() {
        let kinds: BTreeSet<Fault> = [Fault::TooManyRequests, Fault::Slow].into();
        let counts = BTreeMap::from([(Fault::TooManyRequests, 2)]);
        let (fields, line) = fault_report(&kinds, &counts).unwrap();
        assert_eq!(line, "simulated faults:   429 \u{d7}2, slow \u{d7}0");
        assert_eq!(Value::Object(fields), serde_json::json!({ "429": 2, "slow": 0 }));
        assert_eq!(fault_report(&BTreeSet::new(), &counts), None);
        assert_eq!(fault_config(BTreeSet::new()).rate, FaultConfig::default().rate);
        assert_eq!(fault_config(kinds).rate, DEMO_RATE);
    }
}
