//! The configuration area: an empty [`rld_shim::config::Area`] header in
//! the shipped loader, which `rld configure-loader` fills in a configured
//! copy, pointing it at a payload appended to the data segment. Through
//! that copy, a start with no variable at all (a service, `env -i`, a
//! sandbox, a setuid program) gets the system's own `ld.so` and library
//! path, with no system call to find them.
//!
//! # Safety
//!
//! The header is read with a volatile load: the compiler sees the shipped,
//! empty value and would otherwise fold every read of it away. The payload
//! it points at is part of this same file's image, mapped by the kernel
//! with the data segment whose size `rld configure-loader` grew to hold it;
//! the file is the loader's own code, so its header is trusted as the code
//! is.

#![expect(
    unsafe_code,
    reason = "the header is read as the file has it, the payload through it"
)]

use rld_shim::config::Area;

#[used]
#[unsafe(link_section = ".rodata.rld_area")]
static AREA: Area = Area::EMPTY;

/// Tells `rld fuse` that this loader can use an embedded `ld.so`.
#[cfg(feature = "fused")]
#[used]
static FUSABLE: [u8; 16] = rld_shim::fused::FUSABLE_MARK;

/// The payload of a configured loader; `None` in an unconfigured one.
pub fn payload() -> Option<&'static [u8]> {
    // SAFETY: a static, always readable; volatile so that the value in
    // the file, not the one compiled in, is read.
    let area = unsafe { core::ptr::read_volatile(&AREA) };
    if area.payload_len == 0 {
        return None;
    }
    let start = (&AREA as *const Area as usize).wrapping_add(area.payload_offset as usize);
    // SAFETY: rld configure-loader placed `payload_len` bytes at that
    // offset from the header, inside the data segment it grew (module
    // docs).
    Some(unsafe { core::slice::from_raw_parts(start as *const u8, area.payload_len as usize) })
}
