//! x86_64: process entry, the jump to `ld.so`, the trampoline back into the
//! program, and the memory functions the compiler may call.
//!
//! # Safety
//!
//! `_start` is entered by the kernel with the stack pointer at argc and no
//! other register defined. The trampoline is entered by `ld.so` exactly as a
//! program's entry point is: stack pointer at argc, `rdx` holding the
//! function to register with `atexit`. Both only gather those values and
//! call into Rust on a 16-byte aligned stack.

#![allow(unsafe_code)]

use core::arch::{asm, naked_asm};

/// Words of headroom `_start` leaves below the kernel's argc, so the loader
/// can put arguments in front of the program's (`--library-path DIR`) and
/// keep the stack pointer 16-byte aligned without touching its own frames.
pub const HEADROOM: usize = 8;

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
        // Keep the headroom words (and a little more) out of Rust's frames.
        "sub rsp, 64",
        "and rsp, -16",
        "xor ebp, ebp",
        "call {entry}",
        "ud2",
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

// The compiler lowers copies and fills to these calls; with no libc, rld
// provides them. `rep movsb`/`rep stosb` are short and fast on every x86_64
// that runs Linux today, and, unlike a Rust loop, the compiler cannot turn
// them back into a call to themselves.

/// # Safety
///
/// As C's `memcpy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller passes valid, non-overlapping ranges of `n` bytes.
    unsafe {
        asm!("rep movsb", inout("rcx") n => _, inout("rdi") dest => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
    dest
}

/// # Safety
///
/// As C's `memmove`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // Forward copy cannot overwrite unread source bytes.
        // SAFETY: valid ranges per the caller, and dest is not inside
        // [src, src + n), so the forward copy reads every byte before
        // overwriting it.
        return unsafe { memcpy(dest, src, n) };
    }
    // SAFETY: copy backwards from the last byte; the direction flag is
    // restored before returning, as the ABI requires.
    unsafe {
        asm!("std", "rep movsb", "cld",
             inout("rcx") n => _, inout("rdi") dest.add(n).wrapping_sub(1) => _,
             inout("rsi") src.add(n).wrapping_sub(1) => _, options(nostack));
    }
    dest
}

/// # Safety
///
/// As C's `memset`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller passes a valid range of `n` bytes.
    unsafe {
        asm!("rep stosb", inout("rcx") n => _, inout("rdi") dest => _, in("al") c as u8,
             options(nostack, preserves_flags));
    }
    dest
}

/// # Safety
///
/// As C's `memcmp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: both ranges are valid for `n` bytes per the caller.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
///
/// As C's `bcmp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// # Safety
///
/// As C's `strlen`: `s` points at a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let left: usize;
    // SAFETY: scans forward until the NUL the caller guarantees.
    unsafe {
        asm!("repne scasb", inout("rdi") s => _, inout("rcx") usize::MAX => left, in("al") 0u8,
             options(nostack, readonly));
    }
    !left - 1
}
