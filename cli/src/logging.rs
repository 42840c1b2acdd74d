//! rld's log lines on stderr, `rld: LEVEL: message` as rld-loader writes
//! them, through `log` and env_logger.
//!
//! The level starts where rld-loader's does, from `RLD_LOG` then
//! `NIX_LD_LOG` (rld-shim's [`Config::resolve`] reads them), and each `-v`
//! or `-q` moves it one step. goblin logs its own parsing (`NoteIterator -
//! 0x238`): those records are for debugging goblin, so they show only at
//! `trace`. A failure that ends rld (`rld: cannot run …`) is not a log line:
//! `main` prints it whatever the level.

use std::io::Write;

use log::{Level, LevelFilter};
use rld_shim::config::Config;

use crate::settings::Env;

/// rld-shim's levels, in the same order, Off first.
const LEVELS: [LevelFilter; 6] = [
    LevelFilter::Off,
    LevelFilter::Error,
    LevelFilter::Warn,
    LevelFilter::Info,
    LevelFilter::Debug,
    LevelFilter::Trace,
];

/// The variables that set the level, first found wins.
const VARIABLES: [&str; 2] = ["RLD_LOG", "NIX_LD_LOG"];

/// Starts logging at the configured level moved by `verbosity` steps, and
/// warns about a level variable that names no level. Call it once.
pub fn init(env: &Env, verbosity: i32) {
    let level = level(env, verbosity);
    // goblin's records only where everything is asked for.
    let goblin = if level == LevelFilter::Trace {
        LevelFilter::Trace
    } else {
        LevelFilter::Off
    };
    let started = env_logger::Builder::new()
        .target(env_logger::Target::Stderr)
        .filter_level(level)
        .filter_module("goblin", goblin)
        .format(|out, record| writeln!(out, "rld: {}: {}", name(record.level()), record.args()))
        .try_init();
    if started.is_err() {
        return;
    }
    if let Some((var, value)) = unknown_level(env) {
        log::warn!(
            "{var}={value:?} is not a log level (one of off, error, warn, info, debug, trace); using warn"
        );
    }
}

/// The level after `verbosity` steps from the configured one.
pub fn level(env: &Env, verbosity: i32) -> LevelFilter {
    let base = Config::resolve(|n| env.get(n), false).log_level;
    LEVELS[(base as i32 + verbosity).clamp(0, 5) as usize]
}

/// The variable that sets the level and its value, when rld-shim does not
/// know that level (and so uses `warn`, as rld-loader does, silently).
fn unknown_level(env: &Env) -> Option<(&'static str, String)> {
    let (var, value) = VARIABLES.iter().find_map(|var| {
        // As rld-shim reads it: an empty value is unset, a trailing
        // newline does not count.
        let mut value = env.get(var)?;
        while let [rest @ .., b'\n' | b'\r'] = value {
            value = rest;
        }
        (!value.is_empty()).then_some((*var, value))
    })?;
    match rld_shim::logging::Level::parse(value) {
        Some(_) => None,
        None => Some((var, String::from_utf8_lossy(value).into_owned())),
    }
}

/// A level as rld-loader spells it in its lines.
fn name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_line_up_with_rld_shims() {
        for (i, level) in rld_shim::logging::Level::ALL.into_iter().enumerate() {
            assert_eq!(level as usize, i);
            assert_eq!(LEVELS[i].as_str().to_ascii_lowercase(), level.name());
        }
    }
}
