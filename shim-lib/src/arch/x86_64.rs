//! x86_64: the ELF identity rld accepts and the raw `syscall` instruction.
//!
//! # Safety
//!
//! `syscall` and `syscall3` execute `syscall` with the registers the Linux
//! x86_64 ABI assigns (number in rax, arguments in rdi, rsi, rdx, r10, r8,
//! r9; rcx and r11 clobbered). They are sound exactly when the system call
//! they name is sound for the arguments given, which each caller must
//! establish.

#![expect(unsafe_code, reason = "system calls are inline asm")]

use core::arch::asm;

/// The `{system}` suffix of `NIX_LD_{system}` and `NIX_LD_LIBRARY_PATH_{system}`.
pub const SYSTEM: &str = "x86_64_linux";
pub const NIX_LD_SYSTEM: &str = "NIX_LD_x86_64_linux";
pub const NIX_LD_LIBRARY_PATH_SYSTEM: &str = "NIX_LD_LIBRARY_PATH_x86_64_linux";
pub const ELF_CLASS: u8 = linux_raw_sys::elf_uapi::ELFCLASS64 as u8;
pub const ELF_MACHINE: u16 = linux_raw_sys::elf_uapi::EM_X86_64 as u16;

/// Executes system call `nr` with up to six arguments (unused ones are
/// ignored by the kernel).
///
/// # Safety
///
/// System call `nr` must be sound with these arguments.
#[inline(always)]
pub unsafe fn syscall(nr: u32, a: [usize; 6]) -> isize {
    let ret;
    // SAFETY: the caller guarantees the call itself is sound; the asm only
    // clobbers what the kernel ABI says it clobbers.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret,
             in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3], in("r8") a[4], in("r9") a[5],
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
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
    // SAFETY: the caller guarantees the call itself is sound; the asm only
    // clobbers what the kernel ABI says it clobbers.
    unsafe {
        asm!("syscall", inlateout("rax") nr as isize => ret,
             in("rdi") a0, in("rsi") a1, in("rdx") a2,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}
