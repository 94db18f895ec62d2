//! Writing to standard output from commands whose output is often piped (`| head`, `| jq`):
//! a reader that goes away ends the command quietly instead of a panic.

use std::fmt::Display;
use std::io::Write;

/// Prints `text` and a newline; exits with status 0 if standard output has been closed.
pub fn line(text: impl Display) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write output: {e}");
        std::process::exit(3);
    }
}
