//! The asm each architecture needs: `_start`, where the kernel enters rld;
//! `jump_to`, which enters `ld.so`; and `trampoline`, where `ld.so` enters
//! the program and rld puts back what it changed. One file per
//! architecture, each with the same three functions; the rest of the
//! loader never names an architecture.

#[cfg_attr(target_arch = "x86_64", path = "x86_64.rs")]
#[cfg_attr(target_arch = "x86", path = "x86.rs")]
#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
mod imp;

pub use imp::{_start, jump_to, trampoline};

/// Words `_start` leaves free below the kernel's argc, so the loader can
/// put arguments in front of the program's (`--library-path DIR`) and keep
/// the stack pointer 16-byte aligned without touching its own frames.
pub const HEADROOM: usize = 8;

/// [`HEADROOM`] in bytes: what each `_start` takes off the stack pointer
/// (a `const` operand of its asm) before it aligns it and calls into Rust.
const HEADROOM_BYTES: usize = HEADROOM * size_of::<usize>();
