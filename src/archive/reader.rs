//! Reading the archive back: a directory's day files in date order, or one day file, each a
//! series of gzip members read as one NDJSON text.

use flate2::read::MultiGzDecoder;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Whether `path` is an archive day file (`*.ndjson.gz`) or a directory holding some.
pub fn is_archive(path: &Path) -> bool {
    if path.is_dir() {
        return day_files(path).is_ok_and(|f| !f.is_empty());
    }
    path.to_string_lossy().ends_with(".gz")
}

/// The day files of `path`: a directory's `*.ndjson.gz`, by name (that is, by date), or
/// `path` itself.
pub fn day_files(path: &Path) -> Result<Vec<PathBuf>, std::io::Error> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(".ndjson.gz"))
        .collect();
    files.sort();
    Ok(files)
}

/// A day file's lines, decompressed.
pub fn open_day(path: &Path) -> Result<BufReader<MultiGzDecoder<std::fs::File>>, std::io::Error> {
    Ok(BufReader::new(MultiGzDecoder::new(std::fs::File::open(path)?)))
}
