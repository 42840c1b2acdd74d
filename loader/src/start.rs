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

#![expect(
    unsafe_code,
    reason = "the start-up path hands raw stack words to ld.so and the trampoline"
)]

use core::sync::atomic::{Ordering, compiler_fence};

use linux_raw_sys::auxvec::{AT_BASE, AT_ENTRY, AT_PHDR, AT_PHNUM};
use rld_shim::config::{self, Config, Defaults, Vars};
use rld_shim::launch::{self, Arg, Handover, IfNoLdSo, Plan};
use rld_shim::ldso::{self, LoadError, Loaded};
use rld_shim::libpath::LibraryPath;
use rld_shim::logging::{self, Level};
use rld_shim::stack::{Stack, StackError};
use rld_shim::sys;
use rld_shim::text::Piece;
use rld_shim::text::{Msg, Show};

use crate::arch::{self, HEADROOM};
use crate::area;
use crate::raw::{self, PENDING, c_str};
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
    #[cfg(not(feature = "fused"))]
    let (entry, sp) = start(words);
    #[cfg(feature = "fused")]
    let (entry, sp) = start(words, base);
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

/// No `ld.so` is usable: fails, unless rld-loader was run directly for its
/// version or with no program, which need no `ld.so` to answer.
fn without_ld_so(plan: &Plan<'_>, error: &LoadError<'_>) -> ! {
    let status = match plan.if_no_ld_so {
        IfNoLdSo::Fail => fail(&error.report(Some(plan.program))),
        IfNoLdSo::PrintVersion => {
            print_version(None);
            0
        }
        IfNoLdSo::Usage => {
            logging::print(
                2,
                b"rld: missing program name; usage: rld-loader [LD.SO OPTIONS] PROGRAM [ARGUMENTS]",
                &[],
            );
            1
        }
    };
    logging::print(2, b"{}", &[Piece::Show(&error.report(None))]);
    sys::exit(status)
}

/// The kernel builds the initial stack, so a real exec never gets here;
/// which part was malformed (what [`StackError`] says, for the tests) would
/// tell a user nothing they could act on.
fn stack_fail(_: StackError) -> ! {
    fail(&Msg(
        b"rld: cannot start the program: the kernel or the program that ran it passed a malformed process stack",
        &[],
    ))
}

/// Decides (in [`launch::plan`]), maps `ld.so` and carries the plan out;
/// returns where to jump and the stack pointer to jump with.
/// With the `fused` feature, `base` is the loader's own load bias, from
/// which the embedded `ld.so`'s addresses are reckoned.
fn start(
    words: &'static mut [usize],
    #[cfg(feature = "fused")] base: usize,
) -> (usize, *const usize) {
    let words_ptr = words.as_mut_ptr();
    let words_len = words.len();
    let mut parsed = Stack::parse(words, HEADROOM);
    let stack = match &mut parsed {
        Ok(stack) => stack,
        Err(e) => stack_fail(*e),
    };
    // One pass over the environment; only entries that can be rld's
    // variables are measured at all.
    let mut vars = Vars::default();
    for &p in stack.env() {
        if config::may_be_ours(raw::byte_at(p)) {
            vars.add(c_str(p));
        }
    }
    let payload = area::payload();
    let defaults = payload
        .and_then(Defaults::from_area)
        .unwrap_or(Defaults::THIS_BUILD);
    let config = Config::from_vars_with(&vars, launch::is_privileged(stack), defaults);
    logging::set_level(config.log_level);
    let own_entry = arch::_start as *const () as usize;
    let plan = launch::plan(stack, c_str, &config, &vars, own_entry);

    #[cfg(not(feature = "fused"))]
    let result = ldso::load(&config, launch::page_size(stack));
    // The embedded `ld.so` is the area's default: no system call finds it.
    #[cfg(feature = "fused")]
    let result = ldso::load_fused(
        &config,
        launch::page_size(stack),
        payload
            .and_then(rld_shim::fused::Embedded::from_area)
            .map(|e| (defaults.ld_so, e.mapped(base))),
    );
    let loaded = match &result {
        Ok(loaded) => loaded,
        Err(e) => without_ld_so(&plan, e),
    };
    if plan.print_version() {
        print_version(Some(loaded));
    }
    trace(&plan, loaded);
    let mapped = &loaded.mapped;
    let path_string = plan.path_string.map(library_path_string);
    match plan.handover {
        Handover::InPlace { lend } => {
            set_aux(stack, AT_BASE, mapped.base);
            if let (Some(index), Some(entry)) = (lend, path_string) {
                // SAFETY: single-threaded; the only reference.
                let pending = unsafe { PENDING.get() };
                stack.lend_env(index, entry, &mut pending.undo);
                pending.entry = stack
                    .redirect_entry(arch::trampoline as *const () as usize, &mut pending.undo)
                    .unwrap_or_else(|e| stack_fail(e));
                pending.words = words_ptr;
                pending.len = words_len;
            }
        }
        Handover::ByHand { head } => {
            let mut argv = [0; 6];
            for (word, arg) in argv.iter_mut().zip(head.args()) {
                *word = match *arg {
                    Arg::Existing(string) => string,
                    Arg::Option(option) => option.as_ptr() as usize,
                    Arg::LibraryPath => path_string.unwrap_or(0),
                };
            }
            stack
                .rebuild_argv(&argv[..head.args().len()], 1)
                .unwrap_or_else(|e| stack_fail(e));
            // `ld.so` recognises being run by hand by AT_ENTRY being its
            // own entry.
            set_aux(stack, AT_ENTRY, mapped.entry);
            set_aux(stack, AT_PHDR, mapped.phdr.unwrap_or(0));
            set_aux(stack, AT_PHNUM, mapped.phnum);
            set_aux(stack, AT_BASE, 0);
        }
    }
    (mapped.entry, stack.sp_ptr())
}

fn set_aux(stack: &mut Stack<'_>, key: u32, value: usize) {
    stack
        .set_aux(key, value, None)
        .unwrap_or_else(|e| stack_fail(e))
}

/// The debug log's one line about what rld decided.
#[inline(never)]
fn trace(plan: &Plan<'_>, loaded: &Loaded<'_>) {
    logging::log(
        Level::Debug,
        b"rld: debug: {}: ld.so {} at {}; library path {} {}",
        &[
            Piece::Bytes(plan.program),
            Piece::Show(loaded.candidate),
            Piece::Hex(loaded.mapped.base),
            plan.library_path
                .as_ref()
                .map_or(Piece::Bytes(b"none"), |lib| Piece::Show(lib)),
            Piece::Bytes(plan.reach.describe()),
        ],
    );
}

/// The address of the NUL-terminated library path `ld.so` gets: where it
/// is, or in memory that outlives the loader, built there.
#[inline(never)]
fn library_path_string(path: LibraryPath<'_>) -> usize {
    let composition = match path {
        LibraryPath::Existing(string) => return string.as_ptr() as usize,
        LibraryPath::Composed(composition) => composition,
    };
    let len = composition.bytes_needed();
    let buf = raw::scratch(len).unwrap_or_else(|e| {
        fail(&Msg(
            b"rld: cannot run the program: no memory for a {}-byte library path: {}\nrld: shorten NIX_LD_LIBRARY_PATH",
            &[Piece::Num(len), Piece::Show(&e)],
        ))
    });
    // `buf` has exactly the length needed; the panic handler would report
    // a bug in rld otherwise.
    composition
        .write_into(buf)
        .map(|s| s.as_ptr() as usize)
        .unwrap_or_else(|| unreachable!())
}

/// `rld-loader --version`: rld's line, before `ld.so` prints its own (when
/// one is usable).
#[inline(never)]
fn print_version(loaded: Option<&Loaded<'_>>) {
    match loaded {
        Some(loaded) => logging::print(
            1,
            concat!(
                "rld-loader ",
                env!("CARGO_PKG_VERSION"),
                " (rld), running {}"
            )
            .as_bytes(),
            &[Piece::Show(loaded.candidate)],
        ),
        None => logging::print(
            1,
            concat!("rld-loader ", env!("CARGO_PKG_VERSION"), " (rld)").as_bytes(),
            &[],
        ),
    }
}
