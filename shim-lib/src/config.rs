//! Which `ld.so`, which library path and which log level: resolved from the
//! environment, first found wins, exactly as DESIGN.md's table says.

use crate::logging::Level;
use crate::stack::value_of;
use crate::text::Piece;
use crate::text::{Out, Show, fill};
use crate::{DEFAULT_LD_SO, DEFAULT_LIBRARY_PATH};

pub use crate::arch::{NIX_LD_LIBRARY_PATH_SYSTEM, NIX_LD_SYSTEM};

/// Every variable [`Config::resolve`] reads.
pub const VARIABLES: [&str; 6] = [
    NIX_LD_SYSTEM,
    "NIX_LD",
    NIX_LD_LIBRARY_PATH_SYSTEM,
    "NIX_LD_LIBRARY_PATH",
    "RLD_LOG",
    "NIX_LD_LOG",
];

/// The first value of each of [`VARIABLES`], found in one pass over an
/// environment: the loader's `getenv` for [`Config::from_values`], which
/// would otherwise scan the environment once per variable on every start.
#[derive(Clone, Copy, Debug, Default)]
pub struct Vars<'e>(pub [Option<&'e [u8]>; 6]);

impl<'e> Vars<'e> {
    /// Scans `NAME=VALUE` entries; the first occurrence wins, as getenv.
    pub fn scan(env: impl IntoIterator<Item = &'e [u8]>) -> Self {
        let mut vars = Vars::default();
        for entry in env {
            vars.add(entry);
        }
        vars
    }

    /// Takes in one entry, if it sets a variable not seen before. The
    /// loader calls this in place: a `Vars` returned by value was a copy.
    pub fn add(&mut self, entry: &'e [u8]) {
        // Borrowed: iterating the array by value copied it.
        for (slot, name) in self.0.iter_mut().zip(&VARIABLES) {
            if slot.is_none() {
                *slot = value_of(entry, name.as_bytes());
            }
        }
    }

    /// The value of `name`; the loader reads the array by position.
    #[cfg(test)]
    fn get(&self, name: &str) -> Option<&'e [u8]> {
        VARIABLES
            .iter()
            .position(|&n| n == name)
            .and_then(|i| self.0[i])
    }
}

/// Where a setting came from; shown in messages so users know what to change.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Source {
    /// A variable, by name.
    Var(&'static str),
    /// The compiled-in default.
    Default,
}

impl Source {
    /// The variable's name, or `rld's default`.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Var(name) => name,
            Source::Default => "rld's default",
        }
    }
}

impl Show for Source {
    fn show(&self, out: &mut Out<'_>) {
        out.write(self.name().as_bytes())
    }
}

impl Show for Candidate<'_> {
    /// `PATH (from SOURCE)`, as every message names a setting.
    fn show(&self, out: &mut Out<'_>) {
        fill(
            out,
            b"{} (from {})",
            &[
                Piece::Bytes(self.path),
                Piece::Bytes(self.source.name().as_bytes()),
            ],
        )
    }
}

crate::display_via_show!(Source, Candidate<'_>);

/// A path and where it came from: an `ld.so` to try, or the library path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Candidate<'e> {
    pub path: &'e [u8],
    pub source: Source,
}

/// The resolved configuration.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Config<'e> {
    /// `ld.so` candidates in the order they are tried; the last, the
    /// compiled-in default, is always there.
    pub(crate) candidates: [Option<Candidate<'e>>; 3],
    /// The library path rld adds, and where it came from; `None` in a
    /// privileged process, where nothing is added.
    pub library_path: Option<Candidate<'e>>,
    pub log_level: Level,
    /// `AT_SECURE` was set: no variable was honoured.
    pub secure: bool,
}

impl<'e> Config<'e> {
    /// Resolves the configuration. `getenv` returns a variable's value as
    /// `getenv(3)` would (the first occurrence); `secure` is `AT_SECURE`.
    pub fn resolve(getenv: impl Fn(&str) -> Option<&'e [u8]>, secure: bool) -> Config<'e> {
        Config::from_values(&VARIABLES.map(getenv), secure)
    }

    /// [`resolve`](Self::resolve) from the values of [`VARIABLES`], in order.
    #[inline(never)]
    pub fn from_values(values: &[Option<&'e [u8]>; 6], secure: bool) -> Config<'e> {
        let default_ld = Candidate {
            path: DEFAULT_LD_SO.as_bytes(),
            source: Source::Default,
        };
        let mut config = Config {
            candidates: [None, None, Some(default_ld)],
            library_path: None,
            log_level: Level::Warn,
            secure,
        };
        if secure {
            // A user must never choose the code a privileged program runs,
            // and glibc's secure mode strips LD_LIBRARY_PATH anyway.
            return config;
        }
        let var = |i: usize| {
            let path = trim_newline(values[i]?);
            (!path.is_empty()).then_some(Candidate {
                path,
                source: Source::Var(VARIABLES[i]),
            })
        };
        config.candidates[0] = var(0);
        config.candidates[1] = var(1);
        let library_path = var(2).or_else(|| var(3)).unwrap_or(Candidate {
            path: DEFAULT_LIBRARY_PATH.as_bytes(),
            source: Source::Default,
        });
        config.library_path = Some(library_path);
        if let Some(level) = var(4).or_else(|| var(5)) {
            config.log_level = parse_level(level.path);
        }
        config
    }

    /// The `ld.so` candidates, in order.
    pub fn candidates(&self) -> impl Iterator<Item = Candidate<'e>> + '_ {
        self.candidates.iter().flatten().copied()
    }
}

/// People paste the contents of `nix-support/dynamic-linker`, newline included.
fn trim_newline(v: &[u8]) -> &[u8] {
    let mut v = v;
    while let [rest @ .., b'\n' | b'\r'] = v {
        v = rest;
    }
    v
}

/// Parses a log level name; anything unknown keeps the default (`warn`).
pub fn parse_level(v: &[u8]) -> Level {
    Level::parse(v).unwrap_or(Level::Warn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a [u8]> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_bytes())
        }
    }

    fn paths<'a>(c: &Config<'a>) -> Vec<(&'a [u8], Source)> {
        c.candidates().map(|c| (c.path, c.source)).collect()
    }

    #[test]
    fn vars_scan_keeps_first_occurrences_like_getenv() {
        let env: [&[u8]; 5] = [
            b"NIX_LD=/a",
            b"HOME=/",
            b"NIX_LD=/b",
            b"RLD_LOG=debug",
            b"NIX_LDX=/c",
        ];
        let vars = Vars::scan(env);
        assert_eq!(vars.get("NIX_LD"), Some(&b"/a"[..]));
        assert_eq!(vars.get("RLD_LOG"), Some(&b"debug"[..]));
        assert_eq!(vars.get("NIX_LD_LOG"), None);
        assert_eq!(vars.get("HOME"), None, "only the variables rld reads");
        let c = Config::resolve(|n| vars.get(n), false);
        assert_eq!(c.log_level, Level::Debug);
        assert_eq!(c.candidates().next().unwrap().path, b"/a");
    }

    #[test]
    fn system_suffix_matches_arch() {
        assert_eq!(NIX_LD_SYSTEM, std::format!("NIX_LD_{}", crate::SYSTEM));
        assert_eq!(
            NIX_LD_LIBRARY_PATH_SYSTEM,
            std::format!("NIX_LD_LIBRARY_PATH_{}", crate::SYSTEM)
        );
    }

    #[test]
    fn nothing_set_uses_defaults() {
        let c = Config::resolve(env(&[]), false);
        assert_eq!(paths(&c), [(DEFAULT_LD_SO.as_bytes(), Source::Default)]);
        assert_eq!(
            c.library_path.map(|l| (l.path, l.source)),
            Some((DEFAULT_LIBRARY_PATH.as_bytes(), Source::Default))
        );
        assert_eq!(c.log_level, Level::Warn);
    }

    #[test]
    fn system_variable_beats_plain_and_default() {
        let vars = [
            ("NIX_LD", "/b/ld.so"),
            (NIX_LD_SYSTEM, "/a/ld.so"),
            ("NIX_LD_LIBRARY_PATH", "/lib/b"),
            (NIX_LD_LIBRARY_PATH_SYSTEM, "/lib/a"),
        ];
        let c = Config::resolve(env(&vars), false);
        assert_eq!(
            paths(&c),
            [
                (&b"/a/ld.so"[..], Source::Var(NIX_LD_SYSTEM)),
                (b"/b/ld.so", Source::Var("NIX_LD")),
                (DEFAULT_LD_SO.as_bytes(), Source::Default),
            ]
        );
        assert_eq!(
            c.library_path.map(|l| (l.path, l.source)),
            Some((&b"/lib/a"[..], Source::Var(NIX_LD_LIBRARY_PATH_SYSTEM)))
        );
    }

    #[test]
    fn plain_variable_when_system_one_is_absent() {
        let c = Config::resolve(env(&[("NIX_LD_LIBRARY_PATH", "/lib/b")]), false);
        assert_eq!(
            c.library_path.map(|l| (l.path, l.source)),
            Some((&b"/lib/b"[..], Source::Var("NIX_LD_LIBRARY_PATH")))
        );
    }

    #[test]
    fn empty_counts_as_unset() {
        let vars = [
            (NIX_LD_SYSTEM, ""),
            ("NIX_LD", "/b/ld.so"),
            (NIX_LD_LIBRARY_PATH_SYSTEM, ""),
            ("NIX_LD_LIBRARY_PATH", "\n"),
        ];
        let c = Config::resolve(env(&vars), false);
        assert_eq!(paths(&c)[0], (&b"/b/ld.so"[..], Source::Var("NIX_LD")));
        assert_eq!(paths(&c).len(), 2);
        assert_eq!(c.library_path.unwrap().source, Source::Default);
    }

    #[test]
    fn trailing_newline_is_ignored() {
        let c = Config::resolve(env(&[("NIX_LD", "/nix/store/x/ld.so\n")]), false);
        assert_eq!(paths(&c)[0].0, b"/nix/store/x/ld.so");
        let c = Config::resolve(env(&[("NIX_LD", "/x/ld.so\r\n")]), false);
        assert_eq!(paths(&c)[0].0, b"/x/ld.so");
    }

    #[test]
    fn secure_ignores_every_variable() {
        let vars = [
            ("NIX_LD", "/evil/ld.so"),
            (NIX_LD_SYSTEM, "/evil/ld.so"),
            ("NIX_LD_LIBRARY_PATH", "/evil"),
            ("RLD_LOG", "trace"),
        ];
        let c = Config::resolve(env(&vars), true);
        assert_eq!(paths(&c), [(DEFAULT_LD_SO.as_bytes(), Source::Default)]);
        assert_eq!(c.library_path, None);
        assert_eq!(c.log_level, Level::Warn);
        assert!(c.secure);
    }

    #[test]
    fn log_level_rld_log_beats_nix_ld_log() {
        let c = Config::resolve(env(&[("RLD_LOG", "debug"), ("NIX_LD_LOG", "error")]), false);
        assert_eq!(c.log_level, Level::Debug);
        let c = Config::resolve(env(&[("NIX_LD_LOG", "error")]), false);
        assert_eq!(c.log_level, Level::Error);
        let c = Config::resolve(env(&[("RLD_LOG", "loud")]), false);
        assert_eq!(c.log_level, Level::Warn);
    }

    #[test]
    fn levels_parse() {
        for (s, l) in [
            ("off", Level::Off),
            ("error", Level::Error),
            ("warn", Level::Warn),
            ("info", Level::Info),
            ("debug", Level::Debug),
            ("trace", Level::Trace),
        ] {
            assert_eq!(parse_level(s.as_bytes()), l);
        }
    }
}
