//! The loader's start-up path, from the kernel's stack to `ld.so`'s entry,
//! and the trampoline's way back.
//!
//! # Safety
//!
//! `rld_start` is called once, by `_start`, with the kernel's initial stack
//! pointer and our own load address and dynamic section. `rld_restore` is
//! called once, by the trampoline, after `ld.so` has finished and before
//! the program runs; it only touches the stack words recorded in
//! [`raw::PENDING`].

#![allow(unsafe_code)]

use core::sync::atomic::{Ordering, compiler_fence};

use linux_raw_sys::auxvec::{
    AT_BASE, AT_ENTRY, AT_EXECFN, AT_PAGESZ, AT_PHDR, AT_PHNUM, AT_SECURE,
};
use rld_shim::config::{Candidate, Config, Source, Vars};
use rld_shim::ldso::{self, Loaded};
use rld_shim::logging::{self, Level};
use rld_shim::stack::{self, EnvSlot, Stack, StackError};
use rld_shim::sys;
use rld_shim::text::Piece;
use rld_shim::text::{Msg, Show};

use crate::arch::{self, HEADROOM};
use crate::raw::{self, PENDING, cstr};
use crate::relocate;

/// Called by `_start`.
///
/// # Safety
///
/// See the module docs.
pub unsafe extern "C" fn rld_start(sp: *mut usize, base: usize, dynamic: *const usize) -> ! {
    // SAFETY: first thing, as the relocation contract requires.
    unsafe { relocate::relocate(base, dynamic) };
    // Keep the compiler from hoisting loads of relocated statics above this.
    compiler_fence(Ordering::SeqCst);
    // SAFETY: `sp` is the kernel's and `_start` left the headroom free.
    let words = unsafe { raw::stack_words(sp) };
    let (entry, sp) = start(words);
    // SAFETY: `entry` is the mapped ld.so's entry and `sp` points at argc of
    // a stack in the kernel's layout.
    unsafe { arch::jump_to(entry, sp) }
}

/// Called by the trampoline; returns the program's entry point.
pub extern "C" fn rld_restore() -> usize {
    // SAFETY: single-threaded (the program has not run yet); only reference.
    let pending = unsafe { PENDING.get() };
    // SAFETY: the same stack words `start` recorded; they are still the
    // process's initial stack, which nothing has freed.
    let words = unsafe { core::slice::from_raw_parts_mut(pending.words, pending.len) };
    pending.undo.apply(words);
    pending.entry
}

/// Prints `message` (one or two lines, each starting `rld:`) and exits 127.
fn fail(message: &dyn Show) -> ! {
    logging::print(2, b"{}", &[Piece::Show(message)]);
    sys::exit(127)
}

/// The kernel builds the initial stack, so a real exec never gets here;
/// which part was malformed (what [`StackError`] says, for the tests) would
/// tell a user nothing, and saying it cost the loader 400 bytes.
fn stack_fail(_: StackError) -> ! {
    fail(&Msg(
        b"rld: cannot start the program: the kernel or the program that ran it passed a malformed process stack",
        &[],
    ))
}

/// Decides, maps `ld.so`, rewrites the stack; returns where to jump and the
/// stack pointer to jump with.
fn start(words: &'static mut [usize]) -> (usize, *const usize) {
    let words_ptr = words.as_mut_ptr();
    let words_len = words.len();
    // Borrowed out of the result, like `loaded` below: a move was a copy.
    let mut parsed = Stack::parse(words, HEADROOM);
    let stack = match &mut parsed {
        Ok(stack) => stack,
        Err(e) => stack_fail(*e),
    };
    // Fail safe: without AT_SECURE, assume the process is privileged.
    let secure = stack.aux(AT_SECURE).is_none_or(|v| v != 0);
    // One pass over the environment; only entries that can be rld's
    // variables (all start with N or R) are measured at all.
    let mut vars = Vars::default();
    for &p in stack.env() {
        if matches!(raw::byte_at(p), b'N' | b'R') {
            vars.add(cstr(p));
        }
    }
    let config = Config::from_values(&vars.0, secure);
    logging::set_level(config.log_level);

    let direct = stack.aux(AT_ENTRY) == Some(arch::_start as *const () as usize);
    let page = stack
        .aux(AT_PAGESZ)
        .filter(|p| p.is_power_of_two() && *p >= 4096)
        .unwrap_or(4096);
    let argv = stack.argv();
    let argv0 = argv.first().copied().unwrap_or(0);
    let first = argv.get(1).copied();
    let execfn = stack.aux(AT_EXECFN).unwrap_or(argv0);
    let program = match (direct, first) {
        (true, Some(p)) => cstr(p),
        (true, None) => b"rld-loader",
        (false, _) if execfn != 0 => cstr(execfn),
        (false, _) => b"the program",
    };
    // Borrowed out of the result: moving it out was a copy.
    let result = ldso::load(&config, page);
    let loaded = match &result {
        Ok(loaded) => loaded,
        Err(e) => fail(&e.report(program)),
    };
    let mapped = &loaded.mapped;
    let mut library_path = config.library_path;
    // Privileged (no library path): the environment stays exactly as the
    // kernel gave it, and no trampoline is needed.
    let slot = match library_path {
        Some(_) => stack.choose_env_slot(cstr),
        None => EnvSlot::Nowhere,
    };
    // The user's LD_LIBRARY_PATH (the last one, which ld.so uses) goes first.
    let user = match slot {
        EnvSlot::Replace { user, .. } => user,
        _ => None,
    };
    if direct {
        let first = first.map(cstr);
        if first == Some(b"--version") {
            print_version(loaded);
        }
        // Options that print something and exit take no library path;
        // adding one would change what `ld.so` prints.
        if first.is_none_or(|arg| {
            listed(
                arg,
                b"--help\0--version\0--list-tunables\0--list-diagnostics\0",
            )
        }) {
            library_path = None;
        }
    } else if slot != EnvSlot::Relaunch {
        trace(
            program,
            loaded,
            library_path,
            match slot {
                EnvSlot::Replace { user: Some(_), .. } => b"in LD_LIBRARY_PATH, after the user's",
                EnvSlot::Replace { user: None, .. } => {
                    b"in LD_LIBRARY_PATH until the program's entry"
                }
                // A privileged start (no library path) logs nothing at
                // debug level: its log level is fixed at warn.
                _ => b"nowhere (no arguments, no environment)",
            },
        );
        set_aux(stack, AT_BASE, mapped.base);
        if let (Some(lib), EnvSlot::Replace { .. }) = (library_path, slot) {
            let entry = compose(true, user, lib);
            // SAFETY: single-threaded; the only reference. Filled in
            // place: a local `Undo` moved in afterwards was a copy.
            let pending = unsafe { PENDING.get() };
            stack.apply_env(slot, entry, &mut pending.undo);
            pending.entry = stack
                .redirect_entry(arch::trampoline as *const () as usize, &mut pending.undo)
                .unwrap_or_else(|e| stack_fail(e));
            pending.words = words_ptr;
            pending.len = words_len;
        }
        return (mapped.entry, stack.sp_ptr());
    }

    // `ld.so` is started as if run by hand: directly, or on the program
    // when no environment word can be lent (it then maps the program again
    // and rewrites the stack itself: the only way to add a library path
    // without hiding a variable). The library path goes as
    // `--library-path`, so no environment is changed and nothing needs
    // undoing; the user's LD_LIBRARY_PATH, which that option overrides,
    // comes first in it.
    let mut head = [
        argv0,
        c"--library-path".as_ptr() as usize,
        0,
        c"--argv0".as_ptr() as usize,
        argv0,
        execfn,
    ];
    let mut len = 1;
    if !direct {
        head[0] = execfn;
        len = head.len();
    }
    if let Some(lib) = library_path {
        head[2] = compose(false, user, lib);
        len = len.max(3);
    }
    trace(
        program,
        loaded,
        library_path,
        if head[2] != 0 {
            b"as --library-path (ld.so run by hand)"
        } else {
            b"(an option that only prints)"
        },
    );
    stack
        .rebuild_argv(&head[..len], 1)
        .unwrap_or_else(|e| stack_fail(e));
    // `ld.so` recognises being run by hand by AT_ENTRY being its own entry.
    set_aux(stack, AT_ENTRY, mapped.entry);
    set_aux(stack, AT_PHDR, mapped.phdr.unwrap_or(0));
    set_aux(stack, AT_PHNUM, mapped.phnum);
    set_aux(stack, AT_BASE, 0);
    (mapped.entry, stack.sp_ptr())
}

fn set_aux(stack: &mut Stack<'_>, key: u32, value: usize) {
    stack
        .set_aux(key, value, None)
        .unwrap_or_else(|e| stack_fail(e))
}

/// The debug log's one line about what rld decided.
#[inline(never)]
fn trace(program: &[u8], loaded: &Loaded<'_>, library_path: Option<Candidate<'_>>, how: &[u8]) {
    logging::log(
        Level::Debug,
        b"rld: debug: {}: ld.so {} at {}; library path {} {}",
        &[
            Piece::Bytes(program),
            Piece::Show(loaded.candidate),
            Piece::Hex(loaded.mapped.base),
            library_path
                .as_ref()
                .map_or(Piece::Bytes(b"none"), |lib| Piece::Show(lib)),
            Piece::Show(&Msg(how, &[])),
        ],
    );
}

/// Whether `arg` is one of the NUL-terminated words of `list`.
fn listed(arg: &[u8], list: &[u8]) -> bool {
    list.split(|&b| b == 0).any(|word| word == arg)
}

/// The address of the NUL-terminated library path `ld.so` gets: the
/// environment entry `LD_LIBRARY_PATH=USER:OURS` (`entry`) or the bare path
/// `USER:OURS` for `--library-path`. Without a user path the string exists
/// already, and pointing at it saves building it: the compiled-in entry, or
/// `ours` itself when it is a whole variable's value (no newline trimmed
/// off, so its NUL follows), and for `NIX_LD_LIBRARY_PATH=VALUE` even the
/// entry, which is its tail from the fifth byte on.
fn compose(entry: bool, user: Option<&[u8]>, ours: Candidate<'_>) -> usize {
    const PREFIX: &str = "LD_LIBRARY_PATH=";
    let prefix = if entry { PREFIX.as_bytes() } else { b"" };
    if user.is_none_or(|u| u.is_empty()) {
        let at = ours.path.as_ptr() as usize;
        if ours.source == Source::Default {
            let s = rld_shim::DEFAULT_LIBRARY_PATH_ENTRY.as_ptr() as usize;
            return if entry { s } else { s + PREFIX.len() };
        }
        // A variable's value (from the environment, so NUL-terminated)
        // with no newline trimmed off: its NUL follows.
        let as_set = raw::byte_at(at + ours.path.len()) == 0;
        if as_set && !entry {
            return at;
        }
        if as_set && ours.source == Source::Var("NIX_LD_LIBRARY_PATH") {
            return at - PREFIX.len();
        }
    }
    let len = stack::library_path_len(prefix, user, ours.path);
    let buf = raw::scratch(len).unwrap_or_else(|e| {
        fail(&Msg(
            b"rld: cannot run the program: no memory for a {}-byte library path: {}\nrld: shorten NIX_LD_LIBRARY_PATH",
            &[Piece::Num(len), Piece::Show(&e)],
        ))
    });
    // `buf` has exactly the length needed; the panic handler would report
    // a bug in rld otherwise.
    stack::compose_library_path(prefix, user, ours.path, buf)
        .map(|s| s.as_ptr() as usize)
        .unwrap_or_else(|| unreachable!())
}

/// `rld-loader --version`: rld's line, before `ld.so` prints its own.
#[inline(never)]
fn print_version(loaded: &Loaded<'_>) {
    logging::print(
        1,
        concat!(
            "rld-loader ",
            env!("CARGO_PKG_VERSION"),
            " (rld), running {}"
        )
        .as_bytes(),
        &[Piece::Show(loaded.candidate)],
    );
}
