//! x86_64's memory functions: `rep movsb`, `rep stosb` and `repne scasb`
//! are short and fast on every x86_64 that runs Linux today and, unlike a
//! Rust loop, the compiler cannot turn them back into a call to the
//! function they implement.
//!
//! # Safety
//!
//! Each function has the contract of its C namesake. `memmove`'s backward
//! copy sets the direction flag and clears it again before it returns, as
//! the ABI requires.

#![expect(
    unsafe_code,
    reason = "the memory functions the compiler calls work on raw pointers"
)]

use core::arch::asm;

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
