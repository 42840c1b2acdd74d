//! Which `ld.so`, which library path and which log level: resolved from the
//! environment, first found wins, as the README's Configuration table says.

use core::ffi::CStr;

use crate::libpath::{split_entry, value_of};
use crate::logging::Level;
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

/// The first bytes of [`VARIABLES`]: the loader measures only environment
/// entries that start with one of them, so a start does not pay a `strlen`
/// for every variable of a large environment.
const FIRST_BYTES: [u8; 2] = [b'N', b'R'];

const _: () = {
    let mut i = 0;
    while i < VARIABLES.len() {
        let first = VARIABLES[i].as_bytes()[0];
        assert!(
            first == FIRST_BYTES[0] || first == FIRST_BYTES[1],
            "every variable rld reads must start with a byte of FIRST_BYTES"
        );
        i += 1;
    }
};

/// Whether an environment entry starting with `byte` can set one of
/// [`VARIABLES`].
pub fn may_be_ours(byte: u8) -> bool {
    FIRST_BYTES.contains(&byte)
}

/// The environment entries that set [`VARIABLES`], the first of each (as
/// `getenv(3)` finds it), found in one pass over the environment.
///
/// Whole entries are kept, not just values: [`crate::libpath::choose`]
/// reuses an entry's bytes for the library path `ld.so` gets.
#[derive(Clone, Copy, Debug, Default)]
pub struct Vars<'e> {
    /// `NIX_LD_{system}`
    pub ld_so_system: Option<&'e CStr>,
    /// `NIX_LD`
    pub ld_so: Option<&'e CStr>,
    /// `NIX_LD_LIBRARY_PATH_{system}`
    pub library_path_system: Option<&'e CStr>,
    /// `NIX_LD_LIBRARY_PATH`
    pub library_path: Option<&'e CStr>,
    /// `RLD_LOG`
    pub rld_log: Option<&'e CStr>,
    /// `NIX_LD_LOG`
    pub nix_ld_log: Option<&'e CStr>,
}

impl<'e> Vars<'e> {
    /// Takes in one `NAME=value` entry, if it sets a variable not seen
    /// before.
    #[inline(never)]
    pub fn add(&mut self, entry: &'e CStr) {
        let Some((name, _)) = split_entry(entry.to_bytes()) else {
            return;
        };
        if let Some(i) = VARIABLES.iter().position(|v| v.as_bytes() == name) {
            self.slots_mut()[i].get_or_insert(entry);
        }
    }

    /// The whole entry that set `name`, one of [`VARIABLES`].
    pub fn entry(&self, name: &str) -> Option<&'e CStr> {
        let i = VARIABLES.iter().position(|&v| v == name)?;
        self.in_order()[i]
    }

    /// The fields in the order of [`VARIABLES`].
    fn in_order(&self) -> [Option<&'e CStr>; 6] {
        [
            self.ld_so_system,
            self.ld_so,
            self.library_path_system,
            self.library_path,
            self.rld_log,
            self.nix_ld_log,
        ]
    }

    /// [`in_order`](Self::in_order), to fill in.
    fn slots_mut(&mut self) -> [&mut Option<&'e CStr>; 6] {
        [
            &mut self.ld_so_system,
            &mut self.ld_so,
            &mut self.library_path_system,
            &mut self.library_path,
            &mut self.rld_log,
            &mut self.nix_ld_log,
        ]
    }

    /// The value of `name`, one of [`VARIABLES`].
    pub fn value(&self, name: &str) -> Option<&'e [u8]> {
        value_of(self.entry(name)?.to_bytes(), name.as_bytes())
    }
}

/// The `ld.so` and library path a loader uses when no variable names one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Defaults<'e> {
    pub ld_so: &'e [u8],
    pub library_path: &'e [u8],
}

impl Defaults<'static> {
    /// This build's, under [`crate::DEFAULT_PREFIX`].
    pub const THIS_BUILD: Defaults<'static> = Defaults {
        ld_so: DEFAULT_LD_SO.as_bytes(),
        library_path: DEFAULT_LIBRARY_PATH.as_bytes(),
    };
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
    /// The variable's name, if the setting came from one.
    pub fn variable(&self) -> Option<&'static str> {
        match self {
            Source::Var(name) => Some(name),
            Source::Default => None,
        }
    }

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
        Config::from_values(&VARIABLES.map(getenv), secure, Defaults::THIS_BUILD)
    }

    /// [`resolve`](Self::resolve) from the variables found in the
    /// environment.
    pub fn from_vars(vars: &Vars<'e>, secure: bool) -> Config<'e> {
        Config::resolve(|name| vars.value(name), secure)
    }

    /// [`resolve`](Self::resolve) for a loader built with other `defaults`
    /// than this build's: the `rld` tool modelling the rld-loader installed
    /// at another architecture's interpreter path.
    pub fn resolve_with(
        getenv: impl Fn(&str) -> Option<&'e [u8]>,
        secure: bool,
        defaults: Defaults<'e>,
    ) -> Config<'e> {
        Config::from_values(&VARIABLES.map(getenv), secure, defaults)
    }

    /// [`resolve`](Self::resolve) from the values of [`VARIABLES`], in order.
    #[inline(never)]
    fn from_values(
        values: &[Option<&'e [u8]>; 6],
        secure: bool,
        defaults: Defaults<'e>,
    ) -> Config<'e> {
        let default_ld = Candidate {
            path: defaults.ld_so,
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
            path: defaults.library_path,
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
fn parse_level(v: &[u8]) -> Level {
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
        let mut vars = Vars::default();
        for entry in [
            c"NIX_LD=/a",
            c"HOME=/",
            c"NIX_LD=/b",
            c"RLD_LOG=debug",
            c"NIX_LDX=/c",
            c"NIX_LD_LOG",
        ] {
            vars.add(entry);
        }
        assert_eq!(vars.value("NIX_LD"), Some(&b"/a"[..]));
        assert_eq!(vars.entry("NIX_LD"), Some(c"NIX_LD=/a"));
        assert_eq!(vars.value("RLD_LOG"), Some(&b"debug"[..]));
        assert_eq!(vars.value("NIX_LD_LOG"), None, "an entry without '='");
        assert_eq!(vars.value("HOME"), None, "only the variables rld reads");
        let c = Config::from_vars(&vars, false);
        assert_eq!(c.log_level, Level::Debug);
        assert_eq!(c.candidates().next().unwrap().path, b"/a");
    }

    #[test]
    fn every_variable_passes_the_first_byte_filter() {
        for name in VARIABLES {
            assert!(may_be_ours(name.as_bytes()[0]), "{name}");
        }
        assert!(!may_be_ours(b'L'));
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
