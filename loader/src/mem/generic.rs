//! The memory functions of every architecture but x86_64: byte loops.
//! Volatile accesses keep the compiler from recognising a loop as a copy
//! or a fill and turning it back into a call to the function it
//! implements; rld only copies a few hundred bytes, so their speed does
//! not matter.
//!
//! # Safety
//!
//! Each function has the contract of its C namesake.

#![expect(
    unsafe_code,
    reason = "the memory functions the compiler calls work on raw pointers"
)]

use core::ptr::{read_volatile, write_volatile};

/// # Safety
///
/// As C's `memcpy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: both ranges are valid for `n` bytes per the caller.
        unsafe { write_volatile(dest.add(i), read_volatile(src.add(i))) };
    }
    dest
}

/// # Safety
///
/// As C's `memmove`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // SAFETY: a forward copy never overwrites unread source bytes here.
        return unsafe { memcpy(dest, src, n) };
    }
    for i in (0..n).rev() {
        // SAFETY: both ranges are valid for `n` bytes per the caller.
        unsafe { write_volatile(dest.add(i), read_volatile(src.add(i))) };
    }
    dest
}

/// # Safety
///
/// As C's `memset`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: the range is valid for `n` bytes per the caller.
        unsafe { write_volatile(dest.add(i), c as u8) };
    }
    dest
}

/// # Safety
///
/// As C's `memcmp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: both ranges are valid for `n` bytes per the caller.
        let (x, y) = unsafe { (read_volatile(a.add(i)), read_volatile(b.add(i))) };
        if x != y {
            return x as i32 - y as i32;
        }
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
/// As C's `strlen`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees a NUL terminator.
    while unsafe { read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
}
