//! The `log` backend: one line per record on standard error, `rld: ` first.

use core::fmt::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};
use rld_shim::sys;
use rld_shim::text::BufWriter;

struct Stderr;

static LOGGER: Stderr = Stderr;

impl Log for Stderr {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        let mut buf = [0u8; 1024];
        let mut w = BufWriter::new(&mut buf);
        let tag = match record.level() {
            Level::Error => "",
            Level::Warn => "warning: ",
            Level::Info => "info: ",
            Level::Debug => "debug: ",
            Level::Trace => "trace: ",
        };
        let _ = write!(w, "rld: {tag}{}", record.args());
        if w.truncated {
            w.push(b"...");
        }
        w.push(b"\n");
        sys::write_stderr(w.as_bytes());
    }

    fn flush(&self) {}
}

/// Installs the backend at `level`. Must run after relocation: `LOGGER` is
/// reached through a `&dyn Log`.
#[allow(unsafe_code)]
pub fn init(level: LevelFilter) {
    // The racy setters use plain stores, not compare-and-swap: on aarch64 a
    // CAS links out-of-line atomics whose constructor needs libc.
    // SAFETY: the loader is single-threaded and calls this once, before any
    // logging.
    unsafe {
        let _ = log::set_logger_racy(&LOGGER);
        log::set_max_level_racy(level);
    }
}
