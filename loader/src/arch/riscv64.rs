//! riscv64: process entry, the jump to `ld.so` and the trampoline back into
//! the program.
//!
//! # Safety
//!
//! `_start` is entered by the kernel with `sp` at argc. The trampoline is
//! entered by `ld.so` as a program's entry point is: `sp` at argc, `a0`
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
        "mv a0, sp",
        "lla a1, __ehdr_start",
        "lla a2, _DYNAMIC",
        // Rust's frames start below the headroom words.
        "addi sp, sp, -{headroom}",
        "andi sp, sp, -16",
        "mv s0, zero",
        "mv ra, zero",
        "call {entry}",
        "unimp",
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
        "mv s1, a0",
        "mv s2, sp",
        "andi sp, sp, -16",
        "call {restore}",
        "mv t0, a0",
        "mv sp, s2",
        "mv a0, s1",
        "jr t0",
        restore = sym crate::start::rld_restore,
    )
}

/// Enters `ld.so` at `entry` with `sp` at argc, as the kernel would (`a0`
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
            "mv sp, t1",
            "li a0, 0",
            "mv s0, zero",
            "mv ra, zero",
            "jr t2",
            in("t1") sp,
            in("t2") entry,
            options(noreturn),
        )
    }
}
