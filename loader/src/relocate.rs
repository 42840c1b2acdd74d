//! Applies rld-loader's own relocations.
//!
//! A static-pie is linked at address 0 and loaded anywhere, and nothing but
//! the program itself applies its `R_*_RELATIVE` relocations. Until this is
//! done, every pointer stored in a static (string tables, the `log` facade's
//! `&dyn Log`, `core::fmt` vtables) is wrong.
//!
//! # Contract
//!
//! [`relocate`] runs first thing in [`crate::start::rld_start`]. It and
//! everything before it may not touch a static holding a pointer, may not
//! panic (the panic path formats) and may not call through a trait object.
//! It therefore reads the dynamic section through raw pointers only and
//! reports a malformed one with a plain string and a raw exit.
//!
//! # Safety
//!
//! `base` is the address the kernel loaded us at and `dynamic` our own
//! `_DYNAMIC`, both taken PC-relative in `_start`; every address written is
//! one our own linker chose inside our writable segment.

#![allow(unsafe_code)]

use linux_raw_sys::elf_uapi::{
    DT_NULL, DT_REL, DT_RELA, DT_RELAENT, DT_RELASZ, DT_RELENT, DT_RELSZ,
};

use crate::arch::RELOC_RELATIVE;

/// `DT_RELRSZ`, `DT_RELR`: packed relative relocations (newer linkers).
const DT_RELRSZ: usize = 35;
const DT_RELR: usize = 36;

const WORD: usize = core::mem::size_of::<usize>();

/// The relocation type in `r_info`: the low 32 bits on 64-bit targets, the
/// low 8 on 32-bit ones.
fn reloc_type(info: usize) -> u32 {
    if WORD == 8 {
        info as u32
    } else {
        info as u32 & 0xff
    }
}

/// Applies our relocations.
///
/// # Safety
///
/// Must run once, before anything reads a relocated static; see the module
/// contract.
#[inline(always)]
pub unsafe fn relocate(base: usize, dynamic: *const usize) {
    // (table, size in bytes, entry size) for RELA, REL and RELR.
    let mut rela = (0, 0, 3 * WORD);
    let mut rel = (0, 0, 2 * WORD);
    let mut relr = (0, 0);
    let mut d = dynamic;
    loop {
        // SAFETY: `_DYNAMIC` is a DT_NULL-terminated array of (tag, value).
        let (tag, val) = unsafe { (*d, *d.add(1)) };
        match tag {
            t if t == DT_NULL as usize => break,
            t if t == DT_RELA as usize => rela.0 = val,
            t if t == DT_RELASZ as usize => rela.1 = val,
            t if t == DT_RELAENT as usize => rela.2 = val,
            t if t == DT_REL as usize => rel.0 = val,
            t if t == DT_RELSZ as usize => rel.1 = val,
            t if t == DT_RELENT as usize => rel.2 = val,
            DT_RELR => relr.0 = val,
            DT_RELRSZ => relr.1 = val,
            _ => {}
        }
        // SAFETY: still inside the array: we stop at DT_NULL.
        d = unsafe { d.add(2) };
    }
    if rela.2 != 3 * WORD || rel.2 != 2 * WORD {
        fail();
    }
    let mut off = 0;
    while off < rela.1 {
        let r = (base + rela.0 + off) as *const usize;
        // SAFETY: `r` walks our own ElfN_Rela table (offset, info, addend).
        let (offset, info, addend) = unsafe { (*r, *r.add(1), *r.add(2)) };
        if reloc_type(info) != RELOC_RELATIVE {
            fail();
        }
        // SAFETY: the linker put this word inside our writable segment.
        unsafe { *((base + offset) as *mut usize) = base.wrapping_add(addend) };
        off += rela.2;
    }
    let mut off = 0;
    while off < rel.1 {
        let r = (base + rel.0 + off) as *const usize;
        // SAFETY: `r` walks our own ElfN_Rel table (offset, info); the
        // addend is the word being relocated.
        let (offset, info) = unsafe { (*r, *r.add(1)) };
        if reloc_type(info) != RELOC_RELATIVE {
            fail();
        }
        // SAFETY: the linker put this word inside our writable segment.
        unsafe { *((base + offset) as *mut usize) += base };
        off += rel.2;
    }
    // RELR: an address entry, then bitmaps of the following words.
    let mut where_: *mut usize = core::ptr::null_mut();
    let mut off = 0;
    while off < relr.1 {
        // SAFETY: walking our own DT_RELR table.
        let entry = unsafe { *((base + relr.0 + off) as *const usize) };
        if entry & 1 == 0 {
            where_ = (base + entry) as *mut usize;
            // SAFETY: as for RELA above.
            unsafe {
                *where_ += base;
                where_ = where_.add(1);
            }
        } else {
            let mut bits = entry >> 1;
            let mut i = 0;
            while bits != 0 {
                if bits & 1 != 0 {
                    // SAFETY: as for RELA above.
                    unsafe { *where_.add(i) += base };
                }
                bits >>= 1;
                i += 1;
            }
            // SAFETY: advances within our data segment.
            where_ = unsafe { where_.add(usize::BITS as usize - 1) };
        }
        off += WORD;
    }
}

#[cold]
fn fail() -> ! {
    rld_shim::sys::write_stderr(
        b"rld: rld-loader has a relocation it cannot apply; the build is broken\n",
    );
    rld_shim::sys::exit(127)
}
