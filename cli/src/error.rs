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

/// An I/O error in words, with its errno name as rld-loader prints it
/// (`No such file or directory (ENOENT)`) in place of Rust's `(os error 2)`.
pub fn io_words(e: &io::Error) -> String {
    let s = e.to_string();
    let words = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    match e.raw_os_error().map(nix::errno::Errno::from_raw) {
        Some(errno) if errno != nix::errno::Errno::UnknownErrno => format!("{words} ({errno:?})"),
        _ => words.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_as_words() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(io_words(&e), "No such file or directory (ENOENT)");
        let e = io::Error::from_raw_os_error(nix::errno::Errno::EACCES as i32);
        assert_eq!(io_words(&e), "Permission denied (EACCES)");
        let e = io::Error::other("not an OS error");
        assert_eq!(io_words(&e), "not an OS error");
        assert_eq!(Error::Output(e).exit_code(), USAGE);
        assert_eq!(Error::CannotStart("x".into()).exit_code(), CANNOT_START);
    }
}
