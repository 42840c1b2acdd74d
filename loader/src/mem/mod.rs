//! The memory functions the compiler may call: `memcpy`, `memmove`,
//! `memset`, `memcmp`, `bcmp` and `strlen`. It lowers copies, fills and
//! comparisons to calls to them and, with no libc, rld provides them:
//! string instructions on x86_64, byte loops elsewhere. Each is written so
//! that the compiler cannot turn it into a call to itself.

#[cfg_attr(target_arch = "x86_64", path = "x86_64.rs")]
#[cfg_attr(not(target_arch = "x86_64"), path = "generic.rs")]
mod imp;
