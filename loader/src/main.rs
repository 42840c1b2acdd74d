//! rld-loader: the ELF interpreter of unpatched programs on NixOS.
//!
//! The kernel starts it in place of `/lib64/ld-linux-x86-64.so.2`. It picks
//! the real glibc `ld.so` (`NIX_LD`), maps it into this same process, adds
//! the library path (`NIX_LD_LIBRARY_PATH`) to the environment `ld.so`
//! reads, and jumps to it. When `ld.so` is done it jumps to rld's trampoline,
//! which puts the environment and auxiliary vector back exactly as the
//! kernel gave them before entering the program.
//!
//! Everything beyond the entry asm and self-relocation lives in `rld-shim`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod arch;
mod area;
mod mem;
mod note;
mod raw;
mod relocate;
mod start;

use core::panic::PanicInfo;

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    // No formatting here: a panic may come before relocation is complete.
    rld_shim::sys::write_stderr(b"rld: internal error (this is a bug in rld; please report it)\n");
    rld_shim::sys::exit(127)
}

/// `core` is prebuilt with unwinding tables that name this symbol; nothing in
/// rld unwinds (`panic = "abort"`), so it is never called.
#[expect(
    unsafe_code,
    reason = "an exported symbol that core's unwinding tables name"
)]
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
