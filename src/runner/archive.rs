//! The runner's side of the raw archive (`--archive DIR`, src/archive): each record taken once
//! (past the dedup check) is kept for its day; before a batch is sent the archive's lines are
//! written, the day files the checkpoint does not name yet named first (write-ahead); the
//! commit records how long each written file is.

use super::Run;
use crate::archive::Archive;
use crate::sink::mark::FileMark;
use crate::source::timefmt::iso_millis;

impl Run<'_> {
    /// Keeps a record's bytes (`None` without an archive) for the day of `time`, or of now (its
    /// receipt) when it has none. Called where the record joins the batch or the dead letters,
    /// so that the archive commits with it.
    pub(super) fn archive_record(&mut self, bytes: Option<Vec<u8>>, time: Option<i64>) {
        let now = self.opts.clock.now_ms();
        if let (Some(archive), Some(bytes)) = (&mut self.archive, bytes) {
            archive.add(&bytes, time.unwrap_or(now));
        }
    }

    /// Writes what the archive gathered, after naming in the checkpoint every day file it
    /// appends to that the committed checkpoint does not name. Returns the marks the commit
    /// records (none without an archive).
    pub(super) fn write_archive(&mut self) -> Result<Option<Vec<FileMark>>, String> {
        let Some(archive) = &mut self.archive else { return Ok(None) };
        let committed = self.committed.archive.clone().unwrap_or_default();
        let new = archive.unmarked(&committed);
        if !new.is_empty() {
            let mut ahead = self.committed.clone();
            ahead.archive = Some([committed, new].concat());
            ahead.updated = iso_millis(self.opts.clock.now_ms());
            self.out.store.save(&ahead)?;
            self.committed = ahead;
        }
        archive.write().map(Some)
    }
}

/// Before anything is written (a restart): cuts the archive day files back to what the
/// checkpoint committed, whether or not this run archives.
pub(super) fn restore(marks: Option<&[FileMark]>) -> Result<(), String> {
    marks.map_or(Ok(()), Archive::restore)
}
