//! What can go wrong in rld itself (not in the program it examines), the
//! exit status each failure maps to, and I/O errors in words.
//!
//! The bottom of the crate: it imports nothing from the modules above it.

use std::fmt;
use std::io;

/// Exit status for a usage error or a failure of rld itself.
pub const USAGE: i32 = 2;
/// Exit status when `rld run` cannot start the program (as rld-loader).
pub const CANNOT_START: i32 = 127;

/// What can go wrong in rld itself (not in the program it examines).
#[derive(Debug)]
pub enum Error {
    /// Bad arguments.
    Usage(String),
    /// `rld run` could not start the program.
    CannotStart(String),
    /// Writing the answer failed.
    Output(io::Error),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Output(_) => USAGE,
            Error::CannotStart(_) => CANNOT_START,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::CannotStart(m) => f.write_str(m),
            Error::Output(e) => write!(f, "cannot write the answer: {}", io_words(e)),
        }
    }
}

/// An I/O error in words, without Rust's `(os error 2)` suffix.
pub fn io_words(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_as_words() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(io_words(&e), "No such file or directory");
        assert_eq!(Error::Output(e).exit_code(), USAGE);
        assert_eq!(Error::CannotStart("x".into()).exit_code(), CANNOT_START);
    }
}
