//! Applies rld-loader's own relocations.
//!
//! A static-pie is linked at address 0 and loaded anywhere, and nothing but
//! the program itself applies its `R_*_RELATIVE` relocations. Until this is
//! done, every pointer stored in a static (string tables, the vtables
//! behind a `&dyn Show` or `core::fmt`) is wrong.
//!
//! # Contract
//!
//! [`relocate`] runs first thing in [`crate::start::rld_start`]. It and
//! everything before it may not touch a static holding a pointer, may not
//! panic (the panic path formats) and may not call through a trait object.
//! It therefore reads the dynamic section through raw pointers only.
//!
//! # Safety
//!
//! `base` is the address the kernel loaded us at and `dynamic` our own
//! `_DYNAMIC`, both taken PC-relative in `_start`; every address written is
//! one our own linker chose inside our writable segment.

#![expect(
    unsafe_code,
    reason = "relocations are applied through raw pointers before anything else runs"
)]

use linux_raw_sys::elf_uapi::DT_NULL;

/// `DT_RELRSZ`, `DT_RELR`: packed relative relocations.
const DT_RELRSZ: usize = 35;
const DT_RELR: usize = 36;

/// Bytes in one `DT_RELR` entry: a machine word.
const RELR_ENTRY_BYTES: usize = core::mem::size_of::<usize>();

/// Applies our relocations.
///
/// # Safety
///
/// Must run once, before anything reads a relocated static; see the module
/// contract.
#[inline(always)]
pub unsafe fn relocate(base: usize, dynamic: *const usize) {
    // Both linkers are asked for packed relocations (build.rs), so every
    // relocation is in DT_RELR; link.ld fails the link if any other kind
    // appears.
    let mut relr = (0, 0);
    let mut d = dynamic;
    loop {
        // SAFETY: `_DYNAMIC` is a DT_NULL-terminated array of (tag, value).
        let (tag, val) = unsafe { (*d, *d.add(1)) };
        match tag {
            t if t == DT_NULL as usize => break,
            DT_RELR => relr.0 = val,
            DT_RELRSZ => relr.1 = val,
            _ => {}
        }
        // SAFETY: still inside the array: we stop at DT_NULL.
        d = unsafe { d.add(2) };
    }
    // RELR: an address entry, then bitmaps of the following words.
    let mut where_: *mut usize = core::ptr::null_mut();
    let mut off = 0;
    while off < relr.1 {
        // SAFETY: walking our own DT_RELR table.
        let entry = unsafe { *((base + relr.0 + off) as *const usize) };
        if entry & 1 == 0 {
            where_ = (base + entry) as *mut usize;
            // SAFETY: the linker put this word inside our writable segment.
            unsafe {
                *where_ += base;
                where_ = where_.add(1);
            }
        } else {
            let mut bits = entry >> 1;
            let mut i = 0;
            while bits != 0 {
                if bits & 1 != 0 {
                    // SAFETY: as above: a word of our writable segment.
                    unsafe { *where_.add(i) += base };
                }
                bits >>= 1;
                i += 1;
            }
            // SAFETY: advances within our data segment.
            where_ = unsafe { where_.add(usize::BITS as usize - 1) };
        }
        off += RELR_ENTRY_BYTES;
    }
}
