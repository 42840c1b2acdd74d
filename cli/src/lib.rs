//! rld: the command-line tool beside rld-loader.
//!
//! `rld doctor` says why a downloaded binary will or will not run on NixOS
//! and which packages to add; `rld env` shows what rld-loader would use now;
//! `rld run` runs a program through the configured ld.so without anything at
//! `/lib64`. The decisions it shares with the loader (which `ld.so`, which
//! library path) come from rld-shim.

#![deny(unsafe_code)]

pub mod args;
pub mod doctor;
pub mod inspect;
pub mod nixpkgs;
pub mod render;
pub mod run;
pub mod search;
pub mod settings;
pub mod system;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use args::Command;
use settings::{Env, Settings};
use system::System;

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

/// Whether the current user may execute `path` (access(2) with `X_OK`).
pub fn is_executable(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

/// Runs rld with `args` (without `argv[0]`); returns the exit status.
pub fn run(args: Vec<OsString>) -> Result<i32, Error> {
    let args = args::parse(args)?;
    let env = Env::from_process();
    init_logging(&env, args.verbosity);
    match args.command {
        Command::Version => {
            out(&format!(
                "rld {} ({}; default ld.so {})\n",
                rld_shim::VERSION,
                rld_shim::SYSTEM,
                rld_shim::DEFAULT_LD_SO
            ))?;
            Ok(0)
        }
        Command::Help(topic) => {
            out(&args::help(topic))?;
            Ok(0)
        }
        Command::Doctor {
            program,
            json,
            assume_rld,
            locate,
        } => {
            let report = doctor::doctor(
                Path::new(&program),
                &env,
                doctor::Options { assume_rld, locate },
            );
            log::debug!("verdict for {}: {}", report.program, report.verdict);
            if json {
                out(&(to_json(&report) + "\n"))?;
            } else {
                out(&render::doctor(&report))?;
            }
            Ok(report.exit_code)
        }
        Command::Env { json, system } => {
            let system = match system {
                None => System::host(),
                Some(name) => System::by_name(&name).ok_or_else(|| {
                    Error::Usage(format!(
                        "unknown system {name:?}: one of x86_64_linux, i686_linux, aarch64_linux, riscv64_linux"
                    ))
                })?,
            };
            let settings = Settings::resolve(&env, system);
            if json {
                out(&(to_json(&settings) + "\n"))?;
            } else {
                out(&render::env(&settings))?;
            }
            Ok(if settings.ld_so().is_some() { 0 } else { 1 })
        }
        Command::Run { program, args } => Err(run::run(&program, &args, &env)),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("reports serialise: no maps with non-string keys")
}

/// Writes to stdout; a closed pipe (`rld doctor x | head`) is not an error.
fn out(s: &str) -> Result<(), Error> {
    match io::stdout().lock().write_all(s.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Output(e)),
        _ => Ok(()),
    }
}

/// `RLD_LOG` (then `NIX_LD_LOG`) as the loader reads it, moved by `-v`/`-q`.
fn init_logging(env: &Env, verbosity: i32) {
    use log::LevelFilter::*;
    let base = rld_shim::config::Config::resolve(|n| env.get(n), false).log_level;
    // rld-shim's levels are in the same order, Off first.
    let levels = [Off, Error, Warn, Info, Debug, Trace];
    let at = base as i32;
    let level = levels[(at + verbosity).clamp(0, 5) as usize];
    // Only the first call wins; `run` is called once per process.
    if log::set_logger(&STDERR_LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

/// Logs to stderr as `rld: LEVEL: message`, like rld-loader.
///
/// Not env_logger: it needs `log/std`, and cargo unifies features across
/// the workspace, so a std `log` would be linked into the no_std loader.
struct StderrLogger;

static STDERR_LOGGER: StderrLogger = StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = record.level().as_str().to_ascii_lowercase();
            // A closed stderr is no reason to fail.
            let _ = writeln!(io::stderr().lock(), "rld: {level}: {}", record.args());
        }
    }

    fn flush(&self) {}
}
