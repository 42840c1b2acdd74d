//! Raw access to what the kernel handed us: the initial stack as a word
//! slice, the C strings it points to, and static scratch memory.
//!
//! # Safety
//!
//! The kernel lays out argc, argv, envp and auxv contiguously from the
//! initial stack pointer and keeps every string they point to alive for the
//! life of the process. The loader is single-threaded until it jumps to
//! `ld.so`, and the trampoline runs before the program can start threads, so
//! the statics here are never accessed concurrently.

#![expect(
    unsafe_code,
    reason = "raw access to the kernel's stack, its strings and static cells"
)]

use core::cell::UnsafeCell;
use core::ffi::CStr;

use linux_raw_sys::auxvec::AT_NULL;
use linux_raw_sys::general as k;
use rld_shim::stack::{MAX_AUXV, Undo};
use rld_shim::sys::{self, Errno};

use crate::arch::HEADROOM;

/// The initial stack from `HEADROOM` words below `sp` to the auxiliary
/// vector's `AT_NULL` entry.
///
/// # Safety
///
/// `sp` must be the stack pointer the kernel started the process with, and
/// `_start` must have left the headroom words unused.
pub unsafe fn stack_words(sp: *mut usize) -> &'static mut [usize] {
    // SAFETY: the kernel's layout: argc, argc pointers, NULL, pointers up to
    // NULL, then (type, value) pairs up to AT_NULL. The walk of the auxiliary
    // vector is bounded in case a foreign kernel (or qemu) omits AT_NULL.
    unsafe {
        let argc = *sp;
        let mut p = sp.add(argc + 2);
        while *p != 0 {
            p = p.add(1);
        }
        p = p.add(1);
        let mut n = 0;
        while *p != AT_NULL as usize && n < MAX_AUXV {
            p = p.add(2);
            n += 1;
        }
        let start = sp.sub(HEADROOM);
        let len = p.add(2).offset_from(start) as usize;
        core::slice::from_raw_parts_mut(start, len)
    }
}

/// The NUL-terminated string at `ptr` (empty for a null pointer).
pub fn c_str(ptr: usize) -> &'static CStr {
    if ptr == 0 {
        return c"";
    }
    // SAFETY: every non-null pointer we pass here comes from argv, envp or
    // AT_EXECFN, which the kernel points at live NUL-terminated strings.
    unsafe { CStr::from_ptr(ptr as *const core::ffi::c_char) }
}

/// The byte at `ptr`, which points into a string the kernel passed (an
/// entry's start, or any byte up to its NUL; 0 at the end).
pub fn byte_at(ptr: usize) -> u8 {
    // SAFETY: as for `cstr`: the pointer is within a live NUL-terminated
    // string, its NUL included, so one byte is readable.
    unsafe { *(ptr as *const u8) }
}

/// A static cell for data that must outlive `ld.so`'s start-up.
pub struct Static<T>(UnsafeCell<T>);

// SAFETY: accessed only while the process is single-threaded (module docs).
unsafe impl<T> Sync for Static<T> {}

impl<T> Static<T> {
    pub const fn new(v: T) -> Self {
        Static(UnsafeCell::new(v))
    }

    /// # Safety
    ///
    /// No other reference to the contents may be live.
    #[expect(
        clippy::mut_from_ref,
        reason = "exclusive access is the caller's guarantee, as for UnsafeCell::get"
    )]
    pub unsafe fn get(&self) -> &mut T {
        // SAFETY: exclusive per the caller.
        unsafe { &mut *self.0.get() }
    }
}

/// What the trampoline needs: the stack words to restore and the program's
/// real entry point.
pub struct Pending {
    pub words: *mut usize,
    pub len: usize,
    pub undo: Undo,
    pub entry: usize,
}

pub static PENDING: Static<Pending> = Static::new(Pending {
    words: core::ptr::null_mut(),
    len: 0,
    undo: Undo::new(),
    entry: 0,
});

/// Memory for a string of `len` bytes that outlives the loader: a fresh
/// anonymous mapping. Only a library path that must be built (a user's
/// `LD_LIBRARY_PATH` in front of it, or a value with a trailing newline)
/// needs one; a static buffer instead would be a 4 KiB `.bss`, which the
/// kernel maps and zeroes at every exec of every program.
pub fn scratch(len: usize) -> Result<&'static mut [u8], Errno> {
    // SAFETY: a fresh mapping at a kernel-chosen address replaces nothing.
    let addr = unsafe {
        sys::mmap(
            0,
            len,
            k::PROT_READ | k::PROT_WRITE,
            k::MAP_PRIVATE | k::MAP_ANONYMOUS,
            -1,
            0,
        )?
    };
    // SAFETY: the mapping is `len` bytes, writable, and never unmapped.
    Ok(unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) })
}
