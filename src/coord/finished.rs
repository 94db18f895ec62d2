//! Finish marks (`finished/<unit>.json`): with `--once`, the worker that caught a unit up says
//! so, with the moment (its clock) its run began, so that the other workers of the fleet know
//! the unit needs no run of theirs. A unit counts as finished for a worker when a run that
//! began after that worker started caught it up; a mark from before (an earlier `--once`
//! round of the fleet) does not count, and the unit is run again from its checkpoint.

use super::error::{CoordError, CoordErrorKind};
use super::store::{Cas, Store, StoreError};
use crate::source::timefmt::iso_millis;
use serde::{Deserialize, Serialize};

/// Where finish marks are.
pub const FINISHED_PREFIX: &str = "finished/";

/// The key of a unit's finish mark.
pub fn finished_key(unit: &str) -> String {
    format!("{FINISHED_PREFIX}{}.json", super::safe(unit))
}

/// A finish mark as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finished {
    pub unit: String,
    pub worker: String,
    /// When the run that caught the unit up began (the finishing worker's clock, ms since the
    /// epoch): it read up to about then.
    pub since_ms: i64,
    pub since: String,
}

fn err(store: &dyn Store, key: &str, e: StoreError) -> CoordError {
    CoordError::new(store, key, CoordErrorKind::Store(e))
}

/// When the latest run that caught `unit` up began; `None` when no worker finished it.
pub async fn finished_since(store: &dyn Store, unit: &str) -> Result<Option<i64>, CoordError> {
    let key = finished_key(unit);
    let Some(v) = store.get(&key).await.map_err(|e| err(store, &key, e))? else { return Ok(None) };
    // A damaged mark says nothing: the unit is run again.
    Ok(serde_json::from_slice::<Finished>(&v.body).ok().map(|f| f.since_ms))
}

/// Records that `worker` caught `unit` up with a run begun at `since_ms`; a later mark already
/// there is kept.
pub async fn mark_finished(store: &dyn Store, unit: &str, worker: &str, since_ms: i64) -> Result<(), CoordError> {
    let key = finished_key(unit);
    let mark = Finished { unit: unit.to_string(), worker: worker.to_string(), since_ms, since: iso_millis(since_ms) };
    let body = serde_json::to_vec(&mark).unwrap_or_default();
    for _ in 0..5 {
        let current = store.get(&key).await.map_err(|e| err(store, &key, e))?;
        let written = match &current {
            None => store.put_if_absent(&key, body.clone()).await,
            Some(v) => {
                let later = serde_json::from_slice::<Finished>(&v.body).is_ok_and(|f| f.since_ms >= since_ms);
                if later {
                    return Ok(());
                }
                store.put_if_match(&key, body.clone(), &v.etag).await
            }
        };
        match written {
            Ok(Cas::Written(_)) => return Ok(()),
            // Another worker's mark came first, or the answer was lost: look again.
            Ok(Cas::Conflict) | Err(StoreError::Unknown(_)) | Err(StoreError::Retryable(_)) => {}
            Err(e) => return Err(err(store, &key, e)),
        }
    }
    Err(err(store, &key, StoreError::Retryable("the finish mark kept changing".into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coord::memory::MemoryStore;

    #[tokio::test]
    async fn a_mark_keeps_the_latest_run() {
        let store = MemoryStore::default();
        assert_eq!(finished_since(&store, "t01").await.unwrap(), None);
        mark_finished(&store, "t01", "a", 2_000).await.unwrap();
        assert_eq!(finished_since(&store, "t01").await.unwrap(), Some(2_000));
        // An older run's mark does not replace a later one; a later one does.
        mark_finished(&store, "t01", "b", 1_000).await.unwrap();
        assert_eq!(finished_since(&store, "t01").await.unwrap(), Some(2_000));
        mark_finished(&store, "t01", "c", 3_000).await.unwrap();
        assert_eq!(finished_since(&store, "t01").await.unwrap(), Some(3_000));
        assert_eq!(finished_since(&store, "t02").await.unwrap(), None);
    }
}
