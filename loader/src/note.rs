//! The ELF note that marks this file as rld-loader: owner `rld`, type
//! [`rld_shim::elf::RLD_NOTE_TYPE`]. rld-shim refuses a candidate `ld.so`
//! that carries it (on NixOS, /lib64/ld-linux-x86-64.so.2 *is* rld, and a
//! `NIX_LD` pointing there would map rld into itself again and again), and
//! the `rld` tool recognises the loader by it. `%note` rather than `@note`:
//! `@` starts a comment in aarch64 assembly.
//!
//! # Safety
//!
//! The assembly only emits sixteen bytes of data into a note section of
//! its own; no code, nothing that runs.

#![expect(unsafe_code, reason = "global_asm! emits the note")]

core::arch::global_asm!(
    ".pushsection .note.rld,\"aR\",%note",
    ".balign 4",
    ".long 4",
    ".long 0",
    ".long {kind}",
    ".asciz \"rld\"",
    ".popsection",
    kind = const rld_shim::elf::RLD_NOTE_TYPE,
);
