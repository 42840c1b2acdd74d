//! Maps a validated `ld.so` into the running process the way the kernel maps
//! an ELF interpreter: the first `PT_LOAD` with the length of the whole span,
//! at an address the kernel chooses, then each later one over it with its own
//! protection, and a zeroed bss.
//!
//! A later segment that the first mapping already shows as it should be (the
//! same protection, at the same distance from its file offset) is not mapped
//! again. In glibc's `ld.so` that is the read-only data after the code: three
//! `mmap`s for its four segments, where a reservation and one mapping per
//! segment took five.
//!
//! # Safety
//!
//! Every fixed mapping lands inside the first one, made here at an address
//! the kernel chose, which nothing else uses; the only memory written
//! directly is the bss tail of a writable segment that was just mapped from
//! the file. The plan was checked by [`crate::elf::plan`], so all sizes and
//! offsets are in range.

#![expect(unsafe_code, reason = "mapping memory and zeroing the bss tail")]

use linux_raw_sys::elf_uapi as e;
use linux_raw_sys::general as k;

use crate::elf::{LoadPlan, Segment};
use crate::sys::{self, Errno, Fd};

/// Where the `ld.so` landed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Mapped {
    /// Load bias: runtime address minus link-time address.
    pub base: usize,
    pub entry: usize,
    /// Runtime address of its program headers, if they are mapped.
    pub phdr: Option<usize>,
    pub phnum: usize,
}

/// The `mmap` protection for `seg`'s `PF_*` flags.
fn prot(seg: &Segment) -> u32 {
    let mut prot = k::PROT_NONE;
    for (flag, bit) in [
        (e::PF_R, k::PROT_READ),
        (e::PF_W, k::PROT_WRITE),
        (e::PF_X, k::PROT_EXEC),
    ] {
        if seg.flags & flag != 0 {
            prot |= bit;
        }
    }
    prot
}

/// Maps `plan` from `fd`; `page` is the one the plan was made for.
///
/// The base is only page-aligned, whatever `p_align` asks: the kernel maps
/// an interpreter so too, and `ld.so` runs there when it is one. A failure
/// leaves what was mapped: the loader exits on it.
pub fn map(fd: &Fd, plan: &LoadPlan, page: usize) -> Result<Mapped, Errno> {
    let mask = !(page - 1);
    let (mut base, mut done, mut shown) = (0, 0, (0, 0));
    for seg in plan.segments() {
        let prot = prot(&seg);
        // Where the file is shown from, relative to the segment's address.
        let view = (seg.vaddr.wrapping_sub(seg.offset), prot);
        let offset = seg.offset as usize & mask;
        if done == 0 {
            // The first segment, mapped with the length of the whole span:
            // until a later segment is mapped over it, the rest of the span
            // shows the file with this view.
            // SAFETY: a fresh mapping at an address the kernel chooses
            // replaces nothing. A `Word` is as wide as a `usize`: the casts
            // lose nothing.
            let at = unsafe {
                sys::mmap(
                    0,
                    plan.span as usize,
                    prot,
                    k::MAP_PRIVATE,
                    fd.raw(),
                    offset,
                )?
            };
            (base, done, shown) = (at.wrapping_sub(plan.start as usize), at, view);
        }
        let vaddr = base + seg.vaddr as usize;
        let page_start = vaddr & mask;
        if page_start > done {
            // A hole between two segments: the kernel leaves it unmapped.
            // Only the limit on the number of mappings can fail this, and a
            // hole left mapped only shows the file's bytes: not worth a
            // failed start.
            // SAFETY: part of the span mapped above, which nothing uses.
            let _ = unsafe { sys::munmap(done, page_start - done) };
        }
        if seg.filesz > 0 && view != shown {
            // SAFETY: the range lies inside the span mapped above (checked
            // plan).
            unsafe {
                sys::mmap(
                    page_start,
                    vaddr + seg.filesz as usize - page_start,
                    prot,
                    k::MAP_PRIVATE | k::MAP_FIXED,
                    fd.raw(),
                    offset,
                )?;
            }
        }
        if seg.memsz > seg.filesz {
            zero_bss(&seg, vaddr, page, prot)?;
        }
        done = (vaddr + seg.memsz as usize + page - 1) & mask;
    }
    Ok(Mapped {
        base,
        entry: base.wrapping_add(plan.entry as usize),
        phdr: plan.phdr_vaddr.map(|v| base.wrapping_add(v as usize)),
        phnum: plan.phnum,
    })
}

/// Zeroes the bss of `seg`, mapped at `vaddr` with `prot`: the rest of its
/// last file page (which holds whatever follows in the file), then fresh
/// zero pages for the rest. Up to the page end, not just to `p_memsz`, as
/// the kernel does: glibc's early allocator takes memory past `_end` and
/// assumes it is zero. The plan guarantees the segment is writable.
#[inline(never)]
fn zero_bss(seg: &Segment, vaddr: usize, page: usize, prot: u32) -> Result<(), Errno> {
    let mask = !(page - 1);
    let file_end = vaddr + seg.filesz as usize;
    let file_page_end = (file_end + page - 1) & mask;
    if seg.filesz > 0 && file_page_end > file_end {
        let tail = file_page_end - file_end;
        // SAFETY: [file_end, file_end + tail) is inside the writable page
        // mapped from the file, before its end.
        unsafe { core::ptr::write_bytes(file_end as *mut u8, 0, tail) };
    }
    let zero_start = if seg.filesz > 0 {
        file_page_end
    } else {
        vaddr & mask
    };
    let zero_end = (vaddr + seg.memsz as usize + page - 1) & mask;
    if zero_end > zero_start {
        // SAFETY: inside the span, past the file-backed pages.
        unsafe {
            sys::mmap(
                zero_start,
                zero_end - zero_start,
                prot,
                k::MAP_PRIVATE | k::MAP_FIXED | k::MAP_ANONYMOUS,
                -1,
                0,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prot_has_each_flag_in_its_place() {
        let (r, w, x) = (k::PROT_READ, k::PROT_WRITE, k::PROT_EXEC);
        for (flags, want) in [
            (0, k::PROT_NONE),
            (e::PF_R, r),
            (e::PF_R | e::PF_X, r | x),
            (e::PF_R | e::PF_W, r | w),
            (e::PF_R | e::PF_W | e::PF_X, r | w | x),
            (e::PF_X, x),
            (e::PF_W, w),
            (e::PF_W | e::PF_X, w | x),
        ] {
            let seg = Segment {
                vaddr: 0,
                memsz: 0,
                offset: 0,
                filesz: 0,
                flags,
            };
            assert_eq!(prot(&seg), want, "flags {flags:#x}");
        }
    }
}
