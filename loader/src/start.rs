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
use log::Level;
use rld_shim::config::{Config, Vars};
use rld_shim::ldso::{self, Loaded, Problem};
use rld_shim::logging;
use rld_shim::stack::{self, EnvSlot, Stack, StackError, Undo};
use rld_shim::sys;
use rld_shim::text::Piece::{B, N, V};
use rld_shim::text::{BufWriter, Msg, Show, fill};

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
    let mut buf = [0u8; 2048];
    let mut w = BufWriter::new(&mut buf);
    message.show(&mut w);
    w.end_line();
    sys::write_stderr(w.as_bytes());
    sys::exit(127)
}

fn stack_fail(e: StackError) -> ! {
    fail(&Msg(
        "rld: cannot start the program: \x01\nrld: the kernel or the program that ran it passed a malformed process stack",
        &[V(&e)],
    ))
}

/// Decides, maps `ld.so`, rewrites the stack; returns where to jump and the
/// stack pointer to jump with.
fn start(words: &'static mut [usize]) -> (usize, *const usize) {
    let words_ptr = words.as_mut_ptr();
    let words_len = words.len();
    let mut stack = Stack::parse(words, HEADROOM).unwrap_or_else(|e| stack_fail(e));
    // Fail safe: without AT_SECURE, assume the process is privileged.
    let secure = stack.aux(AT_SECURE).is_none_or(|v| v != 0);
    // One pass over the environment; only entries that can be rld's
    // variables (all start with N or R) are measured at all.
    let vars = Vars::scan(
        stack
            .env()
            .iter()
            .filter(|&&p| matches!(raw::first_byte(p), b'N' | b'R'))
            .map(|&p| cstr(p)),
    );
    let config = Config::resolve(|name| vars.get(name), secure);
    logging::set_level(config.log_level);

    let direct = stack.aux(AT_ENTRY) == Some(arch::_start as *const () as usize);
    let page = stack
        .aux(AT_PAGESZ)
        .filter(|p| p.is_power_of_two() && *p >= 4096)
        .unwrap_or(4096);
    let program = if direct {
        stack.argv().get(1).map_or(&b"rld-loader"[..], |&p| cstr(p))
    } else {
        stack.aux(AT_EXECFN).map_or(&b"the program"[..], cstr)
    };
    logging::log(
        Level::Debug,
        if direct {
            "invoked directly for \x01"
        } else if secure {
            "starting \x01 (privileged: variables ignored)"
        } else {
            "starting \x01"
        },
        &[B(program)],
    );
    if let Some((path, source)) = config.library_path {
        logging::log(
            Level::Debug,
            "library path \x01 (from \x01)",
            &[B(path), B(source.name().as_bytes())],
        );
    }

    let loaded = ldso::load(&config, page).unwrap_or_else(|e| fail(&e.report(program)));
    warn_if_fell_back(&loaded);

    if direct {
        return start_direct(stack, &config, &loaded);
    }

    let mapped = loaded.mapped;
    let Some((ours, _)) = config.library_path else {
        // Privileged: the environment stays exactly as the kernel gave it.
        stack
            .set_aux(AT_BASE, mapped.base, None)
            .unwrap_or_else(|e| stack_fail(e));
        return (mapped.entry, stack.sp_ptr());
    };
    let slot = stack.choose_env_slot(cstr);
    logging::log(
        Level::Debug,
        "library path set through \x01",
        &[B(slot_name(slot).as_bytes())],
    );
    let user = match slot {
        EnvSlot::Replace { user, .. } => user,
        EnvSlot::Relaunch => {
            // ld.so is started as if run directly on the program (it maps
            // the program again and rewrites the stack itself): the only
            // way to add a library path without hiding a variable.
            let argv0 = stack.argv()[0];
            let execfn = stack.aux(AT_EXECFN).unwrap_or(argv0);
            let path = compose(b"", None, ours);
            let head = [
                execfn,
                c"--library-path".as_ptr() as usize,
                path,
                c"--argv0".as_ptr() as usize,
                argv0,
                execfn,
            ];
            return hand_over_directly(stack, &head, &loaded);
        }
        EnvSlot::Nowhere => None,
    };
    stack
        .set_aux(AT_BASE, mapped.base, None)
        .unwrap_or_else(|e| stack_fail(e));
    let entry = compose(b"LD_LIBRARY_PATH=", user, ours);
    let mut undo = Undo::new();
    stack.apply_env(slot, entry, &mut undo);
    let program_entry = stack
        .redirect_entry(arch::trampoline as *const () as usize, &mut undo)
        .unwrap_or_else(|e| stack_fail(e));
    // SAFETY: single-threaded; the only reference.
    let pending = unsafe { PENDING.get() };
    *pending = raw::Pending {
        words: words_ptr,
        len: words_len,
        undo,
        entry: program_entry,
    };
    (mapped.entry, stack.sp_ptr())
}

fn slot_name(slot: EnvSlot<'_>) -> &'static str {
    match slot {
        EnvSlot::Replace { user: Some(_), .. } => "the user's LD_LIBRARY_PATH",
        EnvSlot::Replace { user: None, .. } => {
            "a lent environment word, restored before the program runs"
        }
        EnvSlot::Relaunch => "--library-path, with ld.so started as if run directly on the program",
        EnvSlot::Nowhere => "nowhere (no arguments, no environment)",
    }
}

/// Builds `prefix` + user path + `:` + ours in memory that outlives us;
/// returns its address.
fn compose(prefix: &[u8], user: Option<&[u8]>, ours: &[u8]) -> usize {
    let len = stack::library_path_len(prefix, user, ours);
    let buf = raw::scratch(len).unwrap_or_else(|e| {
        fail(&Msg(
            "rld: cannot run the program: no memory for a \x01-byte library path: \x01\nrld: shorten NIX_LD_LIBRARY_PATH",
            &[N(len as u64), V(&e)],
        ))
    });
    match stack::compose_library_path(prefix, user, ours, buf) {
        Some(s) => s.as_ptr() as usize,
        None => fail(&Msg("rld: internal error composing the library path", &[])),
    }
}

#[inline(never)]
fn warn_if_fell_back(loaded: &Loaded<'_>) {
    let Some(skipped) = loaded.skipped else {
        return;
    };
    if let Problem::Os(e) = skipped.problem
        && e.is_missing()
    {
        logging::log(
            Level::Warn,
            "\x01 (from \x01) does not exist (garbage-collected?); using \x01 (from \x01)",
            &[
                B(skipped.candidate.path),
                B(skipped.candidate.source.name().as_bytes()),
                B(loaded.candidate.path),
                B(loaded.candidate.source.name().as_bytes()),
            ],
        );
    }
}

/// `rld-loader [OPTIONS] PROGRAM [ARGS]`: behave like `ld.so` run directly.
/// The library path goes to `ld.so` as `--library-path`, so the program's
/// environment is never touched and no trampoline is needed.
#[inline(never)]
fn start_direct(
    stack: Stack<'_>,
    config: &Config<'_>,
    loaded: &Loaded<'_>,
) -> (usize, *const usize) {
    let first = stack.argv().get(1).map(|&p| cstr(p));
    if first == Some(b"--version") {
        let mut buf = [0u8; 256];
        let mut w = BufWriter::new(&mut buf);
        fill(
            &mut w,
            concat!(
                "rld-loader ",
                env!("CARGO_PKG_VERSION"),
                " (rld), running \x01 (from \x01)\n"
            ),
            &[
                B(loaded.candidate.path),
                B(loaded.candidate.source.name().as_bytes()),
            ],
        );
        sys::write_all(1, w.as_bytes());
    }
    // Options that print something and exit take no library path; adding
    // one would change what `ld.so` prints.
    let informational = matches!(
        first,
        None | Some(b"--help" | b"--version" | b"--list-tunables" | b"--list-diagnostics")
    );
    let argv0 = stack.argv()[0];
    let mut head = [argv0, 0, 0];
    let mut len = 1;
    if let (Some((ours, source)), false) = (config.library_path, informational) {
        let user = stack
            .env()
            .iter()
            .rev()
            .find_map(|&p| stack::value_of(cstr(p), b"LD_LIBRARY_PATH"));
        let path = compose(b"", user, ours);
        head = [argv0, c"--library-path".as_ptr() as usize, path];
        len = 3;
        logging::log(
            Level::Debug,
            "passing --library-path \x01 (from \x01)",
            &[B(cstr(path)), B(source.name().as_bytes())],
        );
    }
    hand_over_directly(stack, &head[..len], loaded)
}

/// Starts `ld.so` the way the kernel starts it when it is run by hand, with
/// `head` in place of argv\[0\]: `ld.so` recognises that case by
/// `AT_ENTRY` being its own entry, and then loads the program named by its
/// arguments itself.
fn hand_over_directly(
    mut stack: Stack<'_>,
    head: &[usize],
    loaded: &Loaded<'_>,
) -> (usize, *const usize) {
    stack
        .rebuild_argv(head, 1)
        .unwrap_or_else(|e| stack_fail(e));
    let m = loaded.mapped;
    let aux = [
        (AT_ENTRY, m.entry),
        (AT_PHDR, m.phdr.unwrap_or(0)),
        (AT_PHNUM, m.phnum),
        (AT_BASE, 0),
    ];
    for (key, value) in aux {
        stack
            .set_aux(key, value, None)
            .unwrap_or_else(|e| stack_fail(e));
    }
    (m.entry, stack.sp_ptr())
}
