//! Leveled messages on standard error, `rld: ` first, for the loader.
//!
//! The `log` facade would need `core::fmt` (see [`crate::text`]), and
//! depending on it at all would let cargo unify `log/std` into the no_std
//! loader whenever the `rld` tool enables it; so this crate has its own
//! [`Level`] (set from `RLD_LOG`/`NIX_LD_LOG`) and writes templates filled
//! with [`Piece`]s. Off until [`set_level`] is called, so the `rld` tool,
//! which links this crate too, prints nothing from here.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::sys;
use crate::text::{BufWriter, Piece, fill};

/// How much the loader says, least first: the names `RLD_LOG` takes, in
/// the order of the `log` crate's `LevelFilter`, so the `rld` tool can map
/// one onto the other by position.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    /// Every level, least verbose first.
    pub const ALL: [Level; 6] = [
        Level::Off,
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
        Level::Trace,
    ];

    /// The name `RLD_LOG` takes for this level.
    pub fn name(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }

    /// The level named `name`, exactly as [`name`](Self::name) spells it.
    pub fn parse(name: &[u8]) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|level| level.name().as_bytes() == name)
    }
}

static LEVEL: AtomicUsize = AtomicUsize::new(0);

/// Sets the most verbose level that is written.
pub fn set_level(level: Level) {
    // A plain store: a compare-and-swap would link aarch64's out-of-line
    // atomics, whose constructor needs libc.
    LEVEL.store(level as usize, Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    level as usize <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line at `level`, if enabled: `template` filled with `args`
/// (see [`fill`]). The template starts with the level's prefix
/// (`rld: warning: `, `rld: debug: `), written out, so that the source
/// and `strings` show each line whole.
pub fn log(level: Level, template: &[u8], args: &[Piece<'_>]) {
    if enabled(level) {
        print(2, template, args);
    }
}

/// Writes `template` filled with `args` to descriptor `fd` as one line:
/// every line the loader prints goes through here.
#[inline(never)]
pub fn print(fd: i32, template: &[u8], args: &[Piece<'_>]) {
    let mut buf = [0u8; 2048];
    let mut w = BufWriter::new(&mut buf);
    fill(&mut w, template, args);
    w.end_line();
    sys::write_all(fd, w.as_bytes());
}
