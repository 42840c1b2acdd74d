//! i686: process entry, the jump to `ld.so` and the trampoline back into
//! the program.
//!
//! # Safety
//!
//! `_start` is entered by the kernel with the stack pointer at argc. The
//! trampoline is entered by `ld.so` as a program's entry point is: stack
//! pointer at argc, `edx` holding the function to register with `atexit`.
//! Both gather those values and call into Rust (cdecl, arguments on the
//! stack) on a 16-byte aligned stack.

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
        "movl %esp, %eax",
        // No PC-relative `lea` on i686: find our own address with a call.
        "calll 2f",
        "2:",
        "popl %ecx",
        "leal _DYNAMIC-2b(%ecx), %edx",
        "leal __ehdr_start-2b(%ecx), %ecx",
        // Rust's frames start below the headroom words.
        "subl ${headroom}, %esp",
        "andl $-16, %esp",
        "xorl %ebp, %ebp",
        "subl $4, %esp",
        "pushl %edx",
        "pushl %ecx",
        "pushl %eax",
        "calll {entry}",
        "ud2",
        headroom = const HEADROOM_BYTES,
        entry = sym crate::start::rld_start,
        options(att_syntax),
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
        "mov ebx, edx",
        "mov esi, esp",
        "and esp, -16",
        "call {restore}",
        "mov esp, esi",
        "mov edx, ebx",
        "jmp eax",
        restore = sym crate::start::rld_restore,
    )
}

/// Enters `ld.so` at `entry` with the stack pointer at `sp`, as the kernel
/// would (`edx` zero).
///
/// # Safety
///
/// `entry` must be the entry point of a mapped `ld.so` and `sp` a process
/// stack in the kernel's layout.
pub unsafe fn jump_to(entry: usize, sp: *const usize) -> ! {
    // SAFETY: per the function's contract; nothing of ours runs afterwards.
    unsafe {
        asm!(
            "mov esp, ecx",
            "xor edx, edx",
            "xor ebp, ebp",
            "jmp eax",
            in("eax") entry,
            in("ecx") sp,
            options(noreturn),
        )
    }
}
