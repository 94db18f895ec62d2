//! Writing to standard output and standard error without ever panicking: a closed pipe
//! (`engine … 2>&1 | head`) or a full disk loses the text, not the run. The crate's
//! `println!`, `print!`, `eprintln!` and `eprint!` (defined in `lib.rs`) write through here, so
//! that a run whose terminal went away still commits its checkpoint and exits with its code.

use std::io::Write;

/// Writes to standard error; errors are dropped.
pub fn err(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Writes to standard output; errors are dropped.
pub fn out(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(args);
}
