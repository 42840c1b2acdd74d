//! aarch64: the ELF identity rld accepts and the `svc 0` system call.
//!
//! # Safety
//!
//! `syscall` puts the number in x8 and the arguments in x0-x5, as the Linux
//! aarch64 ABI says (`syscall3` only x0-x2); the kernel returns in x0 and
//! preserves everything else. Each is sound exactly when the system call
//! it names is sound for the arguments given, which each caller must
//! establish.

#![expect(unsafe_code, reason = "system calls are inline asm")]

use core::arch::asm;

/// The `{system}` suffix of `NIX_LD_{system}` and `NIX_LD_LIBRARY_PATH_{system}`.
pub const SYSTEM: &str = "aarch64_linux";
pub const NIX_LD_SYSTEM: &str = "NIX_LD_aarch64_linux";
pub const NIX_LD_LIBRARY_PATH_SYSTEM: &str = "NIX_LD_LIBRARY_PATH_aarch64_linux";
pub const ELF_CLASS: u8 = linux_raw_sys::elf_uapi::ELFCLASS64 as u8;
pub const ELF_MACHINE: u16 = linux_raw_sys::elf_uapi::EM_AARCH64 as u16;

/// Executes system call `nr` with up to six arguments.
///
/// # Safety
///
/// System call `nr` must be sound with these arguments.
#[inline(always)]
pub unsafe fn syscall(nr: u32, a: [usize; 6]) -> isize {
    let ret;
    // SAFETY: the caller guarantees the call is sound.
    unsafe {
        asm!("svc 0", in("x8") nr as usize,
             inlateout("x0") a[0] as isize => ret, in("x1") a[1], in("x2") a[2],
             in("x3") a[3], in("x4") a[4], in("x5") a[5], options(nostack, preserves_flags));
    }
    ret
}

/// Executes system call `nr` with at most three arguments.
///
/// # Safety
///
/// System call `nr` must be sound with these arguments.
#[inline(always)]
pub unsafe fn syscall3(nr: u32, a0: usize, a1: usize, a2: usize) -> isize {
    let ret;
    // SAFETY: the caller guarantees the call is sound.
    unsafe {
        asm!("svc 0", in("x8") nr as usize,
             inlateout("x0") a0 as isize => ret, in("x1") a1, in("x2") a2,
             options(nostack, preserves_flags));
    }
    ret
}
