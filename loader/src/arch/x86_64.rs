//! x86_64: process entry, the jump to `ld.so` and the trampoline back into
//! the program.
//!
//! # Safety
//!
//! `_start` is entered by the kernel with the stack pointer at argc and no
//! other register defined. The trampoline is entered by `ld.so` exactly as a
//! program's entry point is: stack pointer at argc, `rdx` holding the
//! function to register with `atexit`. Both only gather those values and
//! call into Rust on a 16-byte aligned stack.

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
        "mov rdi, rsp",
        "lea rsi, [rip + __ehdr_start]",
        "lea rdx, [rip + _DYNAMIC]",
        // Rust's frames start below the headroom words.
        "sub rsp, {headroom}",
        "and rsp, -16",
        "xor ebp, ebp",
        "call {entry}",
        "ud2",
        headroom = const HEADROOM_BYTES,
        entry = sym crate::start::rld_start,
    )
}

/// `ld.so` jumps here instead of the program's entry point (rld points
/// `AT_ENTRY` here). Restores what rld changed, then enters the program with
/// the stack and `rdx` `ld.so` provided.
///
/// # Safety
///
/// Only `ld.so` may jump here, as to a program's entry point.
#[unsafe(naked)]
pub unsafe extern "C" fn trampoline() -> ! {
    naked_asm!(
        "mov rbx, rdx",
        "mov r12, rsp",
        "and rsp, -16",
        "call {restore}",
        "mov rsp, r12",
        "mov rdx, rbx",
        "jmp rax",
        restore = sym crate::start::rld_restore,
    )
}

/// Enters `ld.so` at `entry` with the stack pointer at `sp` (argc), as the
/// kernel would: `rdx` zero (no function for `atexit`).
///
/// # Safety
///
/// `entry` must be the entry point of a mapped `ld.so` and `sp` a process
/// stack in the kernel's layout.
pub unsafe fn jump_to(entry: usize, sp: *const usize) -> ! {
    // SAFETY: per the function's contract; nothing of ours runs afterwards.
    unsafe {
        asm!(
            "mov rsp, rsi",
            "xor edx, edx",
            "xor ebp, ebp",
            "jmp rax",
            // Fixed registers: the asm zeroes rdx and rbp, so neither may
            // carry an operand.
            in("rsi") sp,
            in("rax") entry,
            options(noreturn),
        )
    }
}
