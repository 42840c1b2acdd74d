//! Which `ld.so`, which library path and which log level: resolved from the
//! environment, first found wins, as the README's Configuration table says.

use core::ffi::CStr;

use crate::DEFAULT_LD_SO;
use crate::libpath::{LD_LIBRARY_PATH, split_entry, value_of};
use crate::logging::Level;
use crate::text::Piece;
use crate::text::{Out, Show, fill};

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
    /// `LD_LIBRARY_PATH=` and the library path: stored as a whole entry, so
    /// that `ld.so` can be pointed at it as it is (see
    /// [`crate::libpath::choose`]).
    pub library_path_entry: &'e CStr,
}

impl Defaults<'static> {
    /// This build's, under [`crate::DEFAULT_PREFIX`].
    pub const THIS_BUILD: Defaults<'static> = Defaults {
        ld_so: DEFAULT_LD_SO.as_bytes(),
        library_path_entry: crate::libpath::DEFAULT_ENTRY,
    };
}

impl<'e> Defaults<'e> {
    /// The library path.
    pub fn library_path(&self) -> &'e [u8] {
        value_of(self.library_path_entry.to_bytes(), LD_LIBRARY_PATH).unwrap_or(b"")
    }

    /// The defaults a configuration area's payload names (see [`Area`]):
    /// `LD_LIBRARY_PATH=DIRS`, a NUL, the `ld.so`'s path, a NUL. `None` if
    /// the payload does not have that shape, both paths absolute.
    #[expect(unsafe_code, reason = "a C string made without a second scan")]
    pub fn from_area(payload: &'e [u8]) -> Option<Defaults<'e>> {
        let end = payload.iter().position(|&b| b == 0)?;
        // SAFETY: `end` is the first NUL: the bytes up to it hold no other.
        let library_path_entry = unsafe { CStr::from_bytes_with_nul_unchecked(&payload[..=end]) };
        let ld_so = payload[end + 1..].split(|&b| b == 0).next()?;
        let dirs = value_of(library_path_entry.to_bytes(), LD_LIBRARY_PATH)?;
        (dirs.starts_with(b"/") && ld_so.starts_with(b"/")).then_some(Defaults {
            ld_so,
            library_path_entry,
        })
    }
}

/// The header of rld-loader's configuration area: where the payload that
/// [`Defaults::from_area`] reads lies, relative to the header itself. An
/// unconfigured loader has an empty one; `rld configure-loader` writes a
/// configured copy whose payload names the system's own `ld.so` and
/// library path (store paths of one system generation), so that every
/// start through that copy, with no variable at all, uses them.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Area {
    /// [`Area::MAGIC`], by which the rld tool finds the header in the file.
    pub magic: [u8; 8],
    /// From the header's address to the payload's.
    pub payload_offset: u32,
    /// The payload's length; 0 in an unconfigured loader.
    pub payload_len: u32,
}

impl Area {
    pub const MAGIC: [u8; 8] = *b"RLDAREA1";

    pub const EMPTY: Area = Area {
        magic: Area::MAGIC,
        payload_offset: 0,
        payload_len: 0,
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

    /// The name of the environment entry the setting is read from: the
    /// variable's, or `LD_LIBRARY_PATH` for the defaults' library path,
    /// which is stored as such an entry.
    pub fn entry_name(&self) -> &'static str {
        match self {
            Source::Var(name) => name,
            Source::Default => "LD_LIBRARY_PATH",
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
    /// What applies where no variable does.
    pub defaults: Defaults<'e>,
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
        Config::from_vars_with(vars, secure, Defaults::THIS_BUILD)
    }

    /// [`from_vars`](Self::from_vars) with other `defaults` than this
    /// build's: a configured loader's.
    pub fn from_vars_with(vars: &Vars<'e>, secure: bool, defaults: Defaults<'e>) -> Config<'e> {
        Config::resolve_with(|name| vars.value(name), secure, defaults)
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
            defaults,
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
            path: defaults.library_path(),
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
    use crate::DEFAULT_LIBRARY_PATH;
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
    fn a_configuration_area_names_both_defaults() {
        let payload = b"LD_LIBRARY_PATH=/nix/store/a-libs/lib:/run/opengl-driver/lib\0/nix/store/b-glibc/lib/ld.so\0";
        let d = Defaults::from_area(payload).unwrap();
        assert_eq!(d.ld_so, b"/nix/store/b-glibc/lib/ld.so");
        assert_eq!(
            d.library_path(),
            b"/nix/store/a-libs/lib:/run/opengl-driver/lib"
        );
        // Whatever the variables, with the area's defaults in force.
        let c = Config::resolve_with(env(&[("NIX_LD", "/x/ld.so")]), false, d);
        assert_eq!(
            paths(&c),
            [
                (&b"/x/ld.so"[..], Source::Var("NIX_LD")),
                (&b"/nix/store/b-glibc/lib/ld.so"[..], Source::Default),
            ]
        );
        assert_eq!(c.library_path.unwrap().path, d.library_path());
        // A privileged start takes the area's ld.so, never a variable's.
        let c = Config::resolve_with(env(&[("NIX_LD", "/evil/ld.so")]), true, d);
        assert_eq!(
            paths(&c),
            [(&b"/nix/store/b-glibc/lib/ld.so"[..], Source::Default)]
        );
        for bad in [
            &b""[..],
            b"LD_LIBRARY_PATH=/l",
            b"LD_LIBRARY_PATH=/l\0",
            b"LD_LIBRARY_PATH=/l\0relative/ld.so\0",
            b"LD_LIBRARY_PATH=relative\0/ld.so\0",
            b"PATH=/l\0/ld.so\0",
        ] {
            assert_eq!(Defaults::from_area(bad), None, "{bad:?}");
        }
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
