//! How `ld.so` is started, decided from the parsed stack and the
//! configuration: which environment word carries the library path until the
//! program's entry, or the arguments `ld.so` gets when it is run as if by
//! hand, and what the debug line says about it. Pure: the loader's start-up
//! code maps `ld.so` and carries a [`Plan`] out.
//!
//! There are two ways to hand over:
//!
//! - **In place** (nearly every start): `ld.so` continues the kernel's start
//!   of the program. The library path reaches it as `LD_LIBRARY_PATH` on one
//!   environment word lent for the purpose (`choose_lend` says which), and
//!   the trampoline puts that word and `AT_ENTRY` back before the program's
//!   entry point runs.
//! - **By hand**: `ld.so` is started as if run from a shell, on the program,
//!   with the library path as `--library-path`. This is what running
//!   `rld-loader PROG` directly means, and the fallback when no environment
//!   word can be lent: `ld.so` then maps the program again and builds its
//!   stack itself, so no environment is changed and nothing needs undoing.

use core::ffi::CStr;

use linux_raw_sys::auxvec::{AT_ENTRY, AT_EXECFN, AT_PAGESZ, AT_SECURE};

use crate::config::{Candidate, Config, Vars};
use crate::libpath::{self, Form, LD_LIBRARY_PATH, LibraryPath};
use crate::stack::Stack;

/// Whether the process is privileged (`AT_SECURE`: setuid, setgid, file
/// capabilities). Fails safe: without `AT_SECURE`, assume it is.
pub fn is_privileged(stack: &Stack<'_>) -> bool {
    stack.aux(AT_SECURE).is_none_or(|v| v != 0)
}

/// The page size the kernel reports, or 4 KiB when it reports none that
/// makes sense.
pub fn page_size(stack: &Stack<'_>) -> usize {
    stack
        .aux(AT_PAGESZ)
        .filter(|p| p.is_power_of_two() && *p >= 4096)
        .unwrap_or(4096)
}

/// What the loader does to start `ld.so`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Plan<'e> {
    /// The program's name, for messages.
    pub program: &'e [u8],
    /// What to do when no `ld.so` is usable (and whether rld-loader was
    /// run for its version: see [`print_version`](Self::print_version)).
    pub if_no_ld_so: IfNoLdSo,
    /// The library path added, and where it came from; `None` when none is.
    pub library_path: Option<Candidate<'e>>,
    /// The string `ld.so` gets the library path as: the entry a lent word
    /// points at, or the argument of `--library-path`.
    pub path_string: Option<LibraryPath<'e>>,
    pub handover: Handover,
    /// How the library path reaches `ld.so`, for the debug line.
    pub reach: Reach,
}

impl Plan<'_> {
    /// `rld-loader --version`: rld's version line goes before `ld.so`'s.
    pub fn print_version(&self) -> bool {
        self.if_no_ld_so == IfNoLdSo::PrintVersion
    }
}

/// What the loader does when no `ld.so` candidate is usable.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IfNoLdSo {
    /// Say why (two `rld:` lines) and exit 127.
    Fail,
    /// `rld-loader --version`: rld's version line all the same, then why
    /// no `ld.so` can run; exit 0.
    PrintVersion,
    /// `rld-loader` with no program: a usage line, then why no `ld.so` can
    /// run; exit 1, `ld.so`'s status without a program.
    Usage,
}

/// See the module docs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Handover {
    /// `ld.so` continues the kernel's start; `AT_BASE` becomes its load
    /// address. `lend` is the index, in the stack's words, of the
    /// environment word that points at [`Plan::path_string`] until the
    /// program's entry.
    InPlace { lend: Option<usize> },
    /// `ld.so` as if run by hand: the arguments before `argv[1]` are
    /// replaced by `head`, and `AT_ENTRY`, `AT_PHDR` and `AT_PHNUM` describe
    /// `ld.so` itself (that is how it recognises being run directly), with
    /// `AT_BASE` 0.
    ByHand { head: Head },
}

/// The arguments that replace `argv[0]` when `ld.so` is run by hand.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Head {
    args: [Arg; 6],
    len: usize,
}

impl Head {
    fn new(args: &[Arg]) -> Self {
        let mut head = Head {
            args: [Arg::Existing(0); 6],
            len: args.len(),
        };
        head.args[..args.len()].copy_from_slice(args);
        head
    }

    pub fn args(&self) -> &[Arg] {
        &self.args[..self.len]
    }
}

/// One argument of a [`Head`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arg {
    /// A string by address: one the kernel passed (`argv[0]`,
    /// `AT_EXECFN`), or [`SELF_EXE`].
    Existing(usize),
    /// An option of `ld.so`'s.
    Option(&'static CStr),
    /// The library path: [`Plan::path_string`].
    LibraryPath,
}

/// How the library path reaches `ld.so`; the debug line says it in words.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Reach {
    /// In `LD_LIBRARY_PATH`, after the user's own value.
    AfterUsers,
    /// In `LD_LIBRARY_PATH`, on a word lent until the program's entry.
    UntilEntry,
    /// Nowhere: no argument and no environment word to carry it, or a
    /// privileged start, which adds none.
    Nowhere,
    /// As `--library-path`.
    AsArgument,
    /// Not at all: `ld.so` was run directly with an option that only prints.
    PrintOnly,
}

impl Reach {
    pub fn describe(self) -> &'static [u8] {
        match self {
            Reach::AfterUsers => b"in LD_LIBRARY_PATH, after the user's",
            Reach::UntilEntry => b"in LD_LIBRARY_PATH until the program's entry",
            Reach::Nowhere => b"nowhere (no arguments, no environment)",
            Reach::AsArgument => b"as --library-path (ld.so run by hand)",
            Reach::PrintOnly => b"(an option that only prints)",
        }
    }
}

/// Options of a directly run `ld.so` that print something and exit: they
/// take no library path, which would change what `ld.so` prints.
const PRINT_ONLY: [&[u8]; 4] = [
    b"--help",
    b"--version",
    b"--list-tunables",
    b"--list-diagnostics",
];

/// Decides how to start `ld.so`. `strings` reads the C string at an address
/// the stack holds (0 reads as empty); `vars` are the variables `config`
/// was resolved from; `own_entry` is the loader's entry point, which
/// `AT_ENTRY` names when the loader itself was run.
pub fn plan<'e>(
    stack: &Stack<'_>,
    strings: impl Fn(usize) -> &'e CStr,
    config: &Config<'e>,
    vars: &Vars<'e>,
    own_entry: usize,
) -> Plan<'e> {
    let argv = stack.argv();
    let argv0 = argv.first().copied().unwrap_or(0);
    let execfn = stack.aux(AT_EXECFN).unwrap_or(argv0);
    let library_path = config.library_path;
    // The string for the library path in `form`, after the user's value.
    let path_string = |form, user| {
        library_path.map(|ours: Candidate<'e>| {
            let entry = match ours.source.variable() {
                Some(name) => vars.entry(name),
                None => Some(config.defaults.library_path_entry),
            };
            libpath::choose(form, user, ours, entry)
        })
    };

    if stack.aux(AT_ENTRY) == Some(own_entry) {
        // Run directly: `rld-loader [OPTIONS] PROGRAM [ARGS]`.
        let first = argv.get(1).map(|&p| strings(p).to_bytes());
        let print_only = first.is_none_or(|arg| PRINT_ONLY.contains(&arg));
        let library_path = library_path.filter(|_| !print_only);
        let version = first == Some(b"--version");
        return Plan {
            program: first.unwrap_or(b"rld-loader"),
            if_no_ld_so: match first {
                None => IfNoLdSo::Usage,
                Some(_) if version => IfNoLdSo::PrintVersion,
                Some(_) => IfNoLdSo::Fail,
            },
            library_path,
            path_string: library_path.and(path_string(Form::Argument, user_value(stack, &strings))),
            handover: Handover::ByHand {
                head: match library_path {
                    Some(_) => Head::new(&[
                        Arg::Existing(argv0),
                        Arg::Option(c"--library-path"),
                        Arg::LibraryPath,
                    ]),
                    None => Head::new(&[Arg::Existing(argv0)]),
                },
            },
            reach: match library_path {
                Some(_) => Reach::AsArgument,
                None => Reach::PrintOnly,
            },
        };
    }

    let program = match execfn {
        0 => &b"the program"[..],
        p => strings(p).to_bytes(),
    };
    let in_place = |lend, path_string, reach| Plan {
        program,
        if_no_ld_so: IfNoLdSo::Fail,
        library_path,
        path_string,
        handover: Handover::InPlace { lend },
        reach,
    };
    if library_path.is_none() {
        // Privileged: the environment stays exactly as the kernel gave it.
        return in_place(None, None, Reach::Nowhere);
    }
    match choose_lend(stack, &strings) {
        Slot::Word { index, user } => in_place(
            Some(index),
            path_string(Form::Entry, user),
            if user.is_some() {
                Reach::AfterUsers
            } else {
                Reach::UntilEntry
            },
        ),
        Slot::None if argv.is_empty() => in_place(None, None, Reach::Nowhere),
        Slot::None => Plan {
            handover: Handover::ByHand {
                // PROG ARGS -> ld.so [--argv0 PROG] --library-path LP PATH ARGS.
                // `ld.so` gives the program the path as `argv[0]`, so
                // `--argv0`, which `ld.so` learned in glibc 2.33, is only
                // passed when `argv[0]` is something else (`exec -a`,
                // binfmt_misc's preserve-argv[0], a name found on `PATH`).
                // `ld.so` ignores its own `argv[0]`, so the form without is
                // the tail of the other.
                head: {
                    // A program started through a descriptor (`fexecve`,
                    // which systemd uses for services) is named
                    // `/dev/fd/N` by the kernel (or `/proc/self/fd/N` by
                    // the caller), a descriptor closed at the exec: `ld.so`
                    // opens the same file as `/proc/self/exe`.
                    let by_fd =
                        program.starts_with(b"/dev/fd/") || program.starts_with(b"/proc/self/fd/");
                    let path = Arg::Existing(if by_fd {
                        SELF_EXE.as_ptr() as usize
                    } else {
                        execfn
                    });
                    let args = [
                        path,
                        Arg::Option(ARGV0),
                        Arg::Existing(argv0),
                        Arg::Option(c"--library-path"),
                        Arg::LibraryPath,
                        path,
                    ];
                    let plain = !by_fd && strings(argv0).to_bytes() == program;
                    Head::new(&args[if plain { 2 } else { 0 }..])
                },
            },
            ..in_place(None, path_string(Form::Argument, None), Reach::AsArgument)
        },
    }
}

/// The path by which `ld.so` opens a program started through a descriptor.
pub const SELF_EXE: &CStr = c"/proc/self/exe";

/// `ld.so`'s option that sets the program's `argv[0]` (glibc 2.33 and later).
const ARGV0: &CStr = c"--argv0";

/// The environment word to lend, if any.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slot<'e> {
    /// Word `index` of the stack; `user` is the `LD_LIBRARY_PATH` value it
    /// held, if it held one.
    Word {
        index: usize,
        user: Option<&'e [u8]>,
    },
    /// None can be lent.
    None,
}

/// The value of the user's `LD_LIBRARY_PATH` that `ld.so` would use (the
/// last one).
fn user_value<'e>(stack: &Stack<'_>, strings: &impl Fn(usize) -> &'e CStr) -> Option<&'e [u8]> {
    match choose_lend(stack, strings) {
        Slot::Word { user, .. } => user,
        Slot::None => None,
    }
}

/// Chooses the environment word that carries `LD_LIBRARY_PATH` for
/// `ld.so`, preferring words whose absence during start-up nobody notices:
///
/// 1. the user's own `LD_LIBRARY_PATH` (the last one: `ld.so` uses the
///    last), whose value is kept in front of rld's;
/// 2. one of rld's own variables (`NIX_LD*`, `RLD_*`), which `ld.so` and
///    the program's libraries ignore;
/// 3. `_`, which shells set to the program's path and nothing reads at
///    start-up;
/// 4. otherwise none: any other variable may be read by `ld.so` (`LD_*`),
///    by glibc's tunables (`GLIBC_TUNABLES`, `MALLOC_*`) or by a library's
///    constructor, all before the program's entry point.
fn choose_lend<'e>(stack: &Stack<'_>, strings: &impl Fn(usize) -> &'e CStr) -> Slot<'e> {
    let env = stack.env();
    let index = |k: usize| stack.env_index() + k;
    let entry = |p: usize| strings(p).to_bytes();
    if let Some((k, user)) = env
        .iter()
        .enumerate()
        .rev()
        .find_map(|(k, &p)| libpath::value_of(entry(p), LD_LIBRARY_PATH).map(|v| (k, v)))
    {
        return Slot::Word {
            index: index(k),
            user: Some(user),
        };
    }
    let lendable = |e: &[u8]| match libpath::split_entry(e) {
        Some((name, _)) => name.starts_with(b"NIX_LD") || name.starts_with(b"RLD_") || name == b"_",
        None => false,
    };
    match env.iter().position(|&p| lendable(entry(p))) {
        Some(k) => Slot::Word {
            index: index(k),
            user: None,
        },
        None => Slot::None,
    }
}

#[cfg(test)]
mod tests;
