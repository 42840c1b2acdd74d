//! Maps a validated `ld.so` into the running process the way the kernel maps
//! an ELF interpreter: one reservation for the whole span, each `PT_LOAD` on
//! top of it with its own protection, and a zeroed bss.
//!
//! # Safety
//!
//! Every fixed mapping lands inside the reservation made here, which nothing
//! else uses; the only memory written directly is the bss tail of a writable
//! segment that was just mapped from the file. The plan was checked by
//! [`crate::elf::plan`], so all sizes and offsets are in range.

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

/// Maps `plan` from `fd`; `page` is the one the plan was made for. On
/// failure nothing stays mapped.
pub fn map(fd: &Fd, plan: &LoadPlan, page: usize) -> Result<Mapped, Errno> {
    // A `Word` is as wide as a `usize`: these casts lose nothing.
    let span = plan.span as usize;
    let align = plan.align as usize;
    // Reserve more than the span when the segments ask for an alignment above
    // the page size, then pick the aligned start inside.
    let slack = align - page;
    // SAFETY: a fresh anonymous mapping at an address the kernel chooses
    // replaces nothing.
    let reserved = unsafe {
        sys::mmap(
            0,
            span + slack,
            k::PROT_NONE,
            k::MAP_PRIVATE | k::MAP_ANONYMOUS,
            -1,
            0,
        )?
    };
    let start = (reserved + slack) & !(align - 1);
    let base = start.wrapping_sub(plan.start as usize);
    if let Err(e) = map_segments(fd, plan, base, page) {
        // SAFETY: the reservation is ours and nothing points into it yet.
        let _ = unsafe { sys::munmap(reserved, span + slack) };
        return Err(e);
    }
    Ok(Mapped {
        base,
        entry: base.wrapping_add(plan.entry as usize),
        phdr: plan.phdr_vaddr.map(|v| base.wrapping_add(v as usize)),
        phnum: plan.phnum,
    })
}

fn map_segments(fd: &Fd, plan: &LoadPlan, base: usize, page: usize) -> Result<(), Errno> {
    let mask = !(page - 1);
    for seg in plan.segments() {
        let vaddr = base + seg.vaddr as usize;
        let page_start = vaddr & mask;
        let file_end = vaddr + seg.filesz as usize;
        let mem_end = vaddr + seg.memsz as usize;
        let prot = prot(&seg);
        if seg.filesz > 0 {
            let len = file_end - page_start;
            let offset = seg.offset as usize & !(page - 1);
            // SAFETY: the range lies inside our reservation (checked plan).
            unsafe {
                sys::mmap(
                    page_start,
                    len,
                    prot,
                    k::MAP_PRIVATE | k::MAP_FIXED,
                    fd.raw(),
                    offset,
                )?;
            }
        }
        if seg.memsz > seg.filesz {
            // The plan guarantees a segment with a bss is writable. Zero the
            // rest of the last file page (it holds whatever follows in the
            // file), then map fresh zero pages for the rest. Zero up to the
            // page end, not just to p_memsz, as the kernel does: glibc's
            // early allocator takes memory past `_end` and assumes it is zero.
            let file_page_end = (file_end + page - 1) & mask;
            if seg.filesz > 0 && file_page_end > file_end {
                let tail = file_page_end - file_end;
                // SAFETY: [file_end, file_end + tail) is inside the writable
                // page just mapped from the file, before its end.
                unsafe { core::ptr::write_bytes(file_end as *mut u8, 0, tail) };
            }
            let zero_start = if seg.filesz > 0 {
                file_page_end
            } else {
                page_start
            };
            let zero_end = (mem_end + page - 1) & mask;
            if zero_end > zero_start {
                // SAFETY: inside our reservation, past the file-backed pages.
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
