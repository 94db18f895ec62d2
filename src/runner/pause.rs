//! A test hook that makes a crash land exactly between a sink's write and its commit:
//! with `ENGINE_PAUSE_AT=sent:N` in the environment, a run parks for ever (until it is killed)
//! once the sink has acknowledged its Nth batch, before the checkpoint records it; with
//! `ENGINE_PAUSE_AT=intent:N`, once the write-ahead intent of its Nth batch is saved, before
//! the batch is sent. The crash tests use it for kills whose moment does not depend on the
//! machine's pace. Unset (the normal case) it costs one comparison per batch.

use std::sync::OnceLock;

/// Where a run may be parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// After the write-ahead intent of a batch is saved, before the batch is sent.
    Intent,
    /// After the sink acknowledged a batch, before the checkpoint commits it.
    Sent,
}

/// The name of the environment variable.
pub const VAR: &str = "ENGINE_PAUSE_AT";

fn configured() -> Option<(Point, u64)> {
    static AT: OnceLock<Option<(Point, u64)>> = OnceLock::new();
    *AT.get_or_init(|| parse(&std::env::var(VAR).ok()?))
}

/// `sent:N` or `intent:N` (N ≥ 1); anything else is ignored.
fn parse(text: &str) -> Option<(Point, u64)> {
    let (point, n) = text.split_once(':')?;
    let point = match point {
        "sent" => Point::Sent,
        "intent" => Point::Intent,
        _ => return None,
    };
    let n: u64 = n.parse().ok().filter(|n| *n >= 1)?;
    Some((point, n))
}

/// Parks for ever when `point` of the `nth` batch (counted from 1 in this process) is the
/// configured one; returns at once otherwise.
pub async fn at(point: Point, nth: u64) {
    if configured() == Some((point, nth)) {
        eprintln!("{VAR}: parked at {point:?} of batch {nth}");
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_known_point_and_a_positive_count_are_taken() {
        assert_eq!(parse("sent:3"), Some((Point::Sent, 3)));
        assert_eq!(parse("intent:1"), Some((Point::Intent, 1)));
        assert_eq!(parse("sent:0"), None);
        assert_eq!(parse("sent"), None);
        assert_eq!(parse("commit:2"), None);
        assert_eq!(parse("sent:x"), None);
    }
}
