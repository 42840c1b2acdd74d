//! aarch64: process entry, the jump to `ld.so` and the trampoline back into
//! the program.
//!
//! # Safety
//!
//! `_start` is entered by the kernel with `sp` at argc. The trampoline is
//! entered by `ld.so` as a program's entry point is: `sp` at argc, `x0`
//! holding the function to register with `atexit`. Both gather those
//! values and call into Rust on a 16-byte aligned stack.

#![expect(
    unsafe_code,
    reason = "the entry point, trampoline and jump are naked asm"
)]

use core::arch::{asm, naked_asm};

use super::HEADROOM_BYTES;

/// The kernel enters here.
///
/// # Safety
///
/// Only the kernel may call this, at process start.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "mov x0, sp",
        "adrp x1, __ehdr_start",
        "add x1, x1, :lo12:__ehdr_start",
        "adrp x2, _DYNAMIC",
        "add x2, x2, :lo12:_DYNAMIC",
        // Rust's frames start below the headroom words.
        "sub x9, x0, #{headroom}",
        "and sp, x9, #-16",
        "mov x29, #0",
        "mov x30, #0",
        "bl {entry}",
        "brk #0",
        headroom = const HEADROOM_BYTES,
        entry = sym crate::start::rld_start,
    )
}

/// `ld.so` jumps here instead of the program's entry point.
///
/// # Safety
///
/// Only `ld.so` may jump here, as to a program's entry point.
#[unsafe(naked)]
pub unsafe extern "C" fn trampoline() -> ! {
    naked_asm!(
        "mov x19, x0",
        "mov x20, sp",
        "and x9, x20, #-16",
        "mov sp, x9",
        "bl {restore}",
        "mov x9, x0",
        "mov sp, x20",
        "mov x0, x19",
        "br x9",
        restore = sym crate::start::rld_restore,
    )
}

/// Enters `ld.so` at `entry` with `sp` at argc, as the kernel would (`x0`
/// zero).
///
/// # Safety
///
/// `entry` must be the entry point of a mapped `ld.so` and `sp` a process
/// stack in the kernel's layout.
pub unsafe fn jump_to(entry: usize, sp: *const usize) -> ! {
    // SAFETY: per the function's contract; nothing of ours runs afterwards.
    unsafe {
        asm!(
            "mov sp, x9",
            "mov x0, #0",
            "mov x29, #0",
            "mov x30, #0",
            "br x10",
            in("x9") sp,
            in("x10") entry,
            options(noreturn),
        )
    }
}
