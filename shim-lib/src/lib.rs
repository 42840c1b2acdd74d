//! rld-shim: everything rld-loader decides and does, as a `no_std` library.
//!
//! The loader binary is a thin shell around this crate: it collects the
//! kernel's stack pointer, applies its own relocations and calls in here. The
//! decisions (which `ld.so`, which library path, how the stack is rewritten)
//! are plain functions over plain data so that the loader, the `rld` tool and
//! the unit tests all run the same code.
//!
//! Unsafe code is confined to the modules that touch the kernel or raw memory
//! ([`sys`], `map` and the per-arch system call file) and to [`libpath`]'s
//! two C strings made without a second scan; each states the invariants it
//! relies on.
//!
//! `#[inline(never)]` on a function of the loader's start-up path marks one
//! that LTO would otherwise copy into several callers: without those marks
//! the loader grows by about a kilobyte, past its size budget.

#![no_std]
#![deny(unsafe_code)]

#[cfg(test)]
extern crate std;

#[cfg(test)]
#[test]
fn defaults_are_under_the_prefix() {
    assert_eq!(
        DEFAULT_LD_SO,
        std::format!("{DEFAULT_PREFIX}{LD_SO_UNDER_PREFIX}")
    );
    assert_eq!(
        DEFAULT_LIBRARY_PATH,
        std::format!("{DEFAULT_PREFIX}{LIBRARY_PATH_UNDER_PREFIX}")
    );
}

#[cfg(test)]
#[test]
fn default_entry_holds_the_default_path() {
    assert_eq!(
        libpath::DEFAULT_ENTRY.to_bytes(),
        std::format!("LD_LIBRARY_PATH={DEFAULT_LIBRARY_PATH}").as_bytes()
    );
}

/// A glibc `ld.so` of the architecture the unit tests run on: the host's
/// on x86_64; on i686, Debian's cross glibc (scripts/build-arches.sh
/// installs it), which also runs the i686 test binaries.
#[cfg(all(test, target_arch = "x86_64"))]
const REAL_LD_SO: &str = "/lib64/ld-linux-x86-64.so.2";
#[cfg(all(test, target_arch = "x86"))]
const REAL_LD_SO: &str = "/usr/i686-linux-gnu/lib/ld-linux.so.2";

#[cfg_attr(target_arch = "x86_64", path = "arch/x86_64.rs")]
#[cfg_attr(target_arch = "x86", path = "arch/x86.rs")]
#[cfg_attr(target_arch = "aarch64", path = "arch/aarch64.rs")]
#[cfg_attr(target_arch = "riscv64", path = "arch/riscv64.rs")]
mod arch;

pub mod config;
pub mod elf;
pub mod fused;
pub mod launch;
pub mod ldso;
pub mod libpath;
pub mod logging;
mod map;
pub mod stack;
pub mod sys;
pub mod text;

pub use arch::{ELF_CLASS, ELF_MACHINE, SYSTEM};

/// The compiled-in prefix: the default `ld.so` and library directory are
/// under it ([`DEFAULT_LD_SO`], [`DEFAULT_LIBRARY_PATH`]), and rld-loader's
/// note names it ([`elf::RldNote`]).
///
/// Fixed at build time (`RLD_DEFAULT_PREFIX`); the NixOS module links the
/// system's glibc loader and default libraries there.
pub const DEFAULT_PREFIX: &str = env!("RLD_PREFIX");

/// Where the default `ld.so` is, under a prefix.
pub const LD_SO_UNDER_PREFIX: &str = "/lib/ld.so";

/// Where the default library directory is, under a prefix.
pub const LIBRARY_PATH_UNDER_PREFIX: &str = "/lib";

/// Where the loader looks when no variable names an `ld.so`.
///
/// The prefix is fixed at build time (`RLD_DEFAULT_PREFIX`); the NixOS module
/// links the system's glibc loader and default libraries there.
pub const DEFAULT_LD_SO: &str = concat!(env!("RLD_PREFIX"), "/lib/ld.so");

/// The library directory used when no variable names one.
pub const DEFAULT_LIBRARY_PATH: &str = concat!(env!("RLD_PREFIX"), "/lib");

/// rld's version, printed by `rld-loader --version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
