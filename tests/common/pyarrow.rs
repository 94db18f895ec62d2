//! An independent Parquet reader for tests: pyarrow, installed on first use into a virtualenv
//! under `target/pyarrow-venv` (as tests/common/moto.rs installs moto), and a small script that
//! reads Parquet files and prints what a reader sees as JSON: the schema as pyarrow and as
//! Parquet types it (logical annotations included), each column chunk's compression, the row
//! groups' sizes and every row.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The pyarrow release the tests are written against.
pub const PYARROW_VERSION: &str = "26.0.1";

static INSTALL: Mutex<()> = Mutex::new(());

fn venv_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("pyarrow-venv")
}

fn python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

fn works(venv: &Path) -> bool {
    Command::new(python(venv))
        .args(["-c", &format!("import pyarrow.parquet; assert pyarrow.__version__ == '{PYARROW_VERSION}'")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn step(what: &str, cmd: &mut Command) -> Result<(), String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("pyarrow harness: cannot run {what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "pyarrow harness: {what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Makes sure `target/pyarrow-venv` holds pyarrow; returns its python.
pub fn ensure_installed() -> Result<PathBuf, String> {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let venv = venv_dir();
    if works(&venv) {
        return Ok(python(&venv));
    }
    eprintln!("pyarrow harness: installing pyarrow=={PYARROW_VERSION} into {}", venv.display());
    let _ = std::fs::remove_dir_all(&venv);
    step("python3 -m venv", Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    step(
        "pip install",
        Command::new(python(&venv))
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet"])
            .args(["--timeout", "30", "--retries", "2"])
            .arg(format!("pyarrow=={PYARROW_VERSION}"))
            .env("PIP_NO_INPUT", "1"),
    )?;
    if !works(&venv) {
        return Err("pyarrow harness: pyarrow was installed but does not import".into());
    }
    Ok(python(&venv))
}

const READER: &str = r#"
import json, sys
import pyarrow.parquet as pq

out = []
for path in sys.argv[1:]:
    f = pq.ParquetFile(path)
    md = f.metadata
    groups = []
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        cols = [rg.column(j) for j in range(rg.num_columns)]
        groups.append({
            "rows": rg.num_rows,
            "total_byte_size": rg.total_byte_size,
            "compressions": sorted(set(c.compression for c in cols)),
        })
    table = f.read()
    out.append({
        "path": path,
        "arrow_schema": table.schema.to_string(show_schema_metadata=False),
        "parquet_schema": str(f.schema),
        "row_groups": groups,
        "rows": table.to_pylist(),
    })
json.dump(out, sys.stdout)
"#;

/// What pyarrow reads in each of `files`.
pub fn read(files: &[PathBuf]) -> Result<serde_json::Value, String> {
    let python = ensure_installed()?;
    let out = Command::new(python)
        .arg("-c")
        .arg(READER)
        .args(files)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("pyarrow harness: {e}"))?;
    if !out.status.success() {
        return Err(format!("pyarrow harness: the reader failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("pyarrow harness: unreadable output: {e}"))
}
