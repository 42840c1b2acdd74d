//! Leveled messages on standard error, `rld: ` first, for the loader.
//!
//! The `log` facade would need `core::fmt` (see [`crate::text`]); this keeps
//! its levels (`log::LevelFilter`, set from `RLD_LOG`/`NIX_LD_LOG`) and
//! writes templates filled with [`Piece`]s instead. Off until [`set_level`]
//! is called, so the `rld` tool, which links this crate too, prints nothing
//! from here.

use core::sync::atomic::{AtomicUsize, Ordering};

use log::{Level, LevelFilter};

use crate::sys;
use crate::text::{BufWriter, Piece, fill, lookup};

static LEVEL: AtomicUsize = AtomicUsize::new(0);

/// Sets the most verbose level that is written.
pub fn set_level(level: LevelFilter) {
    // A plain store: a compare-and-swap would link aarch64's out-of-line
    // atomics, whose constructor needs libc.
    LEVEL.store(level as usize, Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    level as usize <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line at `level`, if enabled: `template` filled with `args`
/// (see [`fill`]).
pub fn log(level: Level, template: &[u8], args: &[Piece<'_>]) {
    if !enabled(level) {
        return;
    }
    // Keyed text, like the messages: a `match` cost a table of slices.
    let prefix = lookup(
        crate::text!(table: "1 rld: \n2 rld: warning: \n3 rld: info: \n4 rld: debug: \n5 rld: trace: "),
        level as usize,
    );
    print(2, prefix.unwrap_or(b""), template, args);
}

/// Writes `prefix` and `template` filled with `args` to descriptor `fd`
/// as one line: every line the loader prints goes through here.
#[inline(never)]
pub fn print(fd: i32, prefix: &[u8], template: &[u8], args: &[Piece<'_>]) {
    let mut buf = [0u8; 2048];
    let mut w = BufWriter::new(&mut buf);
    fill(&mut w, prefix, &[]);
    fill(&mut w, template, args);
    w.end_line();
    sys::write_all(fd, w.as_bytes());
}
