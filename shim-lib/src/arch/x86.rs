//! i686: the ELF identity rld accepts and the `int 0x80` system call.
//!
//! # Safety
//!
//! `syscall` loads the Linux i386 argument registers (ebx, ecx, edx, esi,
//! edi, ebp) from an array, since LLVM reserves ebx, esi and ebp and inline
//! asm may not name them as operands; it saves and restores them around
//! `int 0x80`. `syscall3` passes its first argument through edi instead,
//! so a call with at most three arguments needs no array in memory. Each is
//! sound exactly when the system call it names is sound for the arguments
//! given, which each caller must establish.

#![expect(unsafe_code, reason = "system calls are inline asm")]

use core::arch::asm;

/// The `{system}` suffix of `NIX_LD_{system}` and `NIX_LD_LIBRARY_PATH_{system}`.
pub const SYSTEM: &str = "i686_linux";
pub const NIX_LD_SYSTEM: &str = "NIX_LD_i686_linux";
pub const NIX_LD_LIBRARY_PATH_SYSTEM: &str = "NIX_LD_LIBRARY_PATH_i686_linux";
pub const ELF_CLASS: u8 = linux_raw_sys::elf_uapi::ELFCLASS32 as u8;
pub const ELF_MACHINE: u16 = linux_raw_sys::elf_uapi::EM_386 as u16;

/// Executes system call `nr` with up to six arguments.
///
/// # Safety
///
/// System call `nr` must be sound with these arguments.
#[inline(always)]
pub unsafe fn syscall(nr: u32, a: [usize; 6]) -> isize {
    let ret;
    // SAFETY: the caller guarantees the call is sound; the reserved
    // registers are pushed before and popped after, so LLVM sees them
    // unchanged.
    unsafe {
        asm!(
            "push ebp",
            "push esi",
            "push ebx",
            "mov ebx, [edi]",
            "mov ecx, [edi + 4]",
            "mov edx, [edi + 8]",
            "mov esi, [edi + 12]",
            "mov ebp, [edi + 20]",
            "mov edi, [edi + 16]",
            "int 0x80",
            "pop ebx",
            "pop esi",
            "pop ebp",
            inlateout("eax") nr as isize => ret,
            inlateout("edi") a.as_ptr() => _,
            lateout("ecx") _,
            lateout("edx") _,
        );
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
    // SAFETY: the caller guarantees the call is sound; ebx is pushed
    // before and popped after, so LLVM sees it unchanged.
    unsafe {
        asm!(
            "push ebx",
            "mov ebx, edi",
            "int 0x80",
            "pop ebx",
            inlateout("eax") nr as isize => ret,
            in("edi") a0,
            in("ecx") a1,
            in("edx") a2,
        );
    }
    ret
}
