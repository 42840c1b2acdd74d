//! The ELF note that marks this file as rld-loader and names its
//! compiled-in prefix ([`rld_shim::elf::RldNote`]). rld-shim refuses a
//! candidate `ld.so` that carries it (on NixOS,
//! /lib64/ld-linux-x86-64.so.2 *is* rld, and a `NIX_LD` pointing there
//! would map rld into itself again and again), and the `rld` tool reads it
//! to know the loader installed at an interpreter path and its defaults.
//!
//! # Safety
//!
//! Placing a static in a section of its own is unsafe only in that the
//! section's name must not clash with one the linker treats specially;
//! `.note.rld` is ours, and link.ld puts it first after the program
//! headers, in a `PT_NOTE` of its own. The static is plain bytes: nothing
//! runs, nothing is relocated.

#![expect(unsafe_code, reason = "a static in a section of its own")]

use rld_shim::elf::RldNote;

#[used]
#[unsafe(link_section = ".note.rld")]
static NOTE: RldNote = RldNote::THIS_BUILD;
