//! The fused interpreter (the loader's cargo feature `fused`, off by
//! default; this record format is always built, for the `rld` tool): an
//! rld-loader file that also holds the system's `ld.so`, byte for byte,
//! with that `ld.so`'s `PT_LOAD`s among its own program headers, so that
//! the kernel maps both in the one exec. `rld fuse` writes such a file and
//! appends an [`Embedded`] record to the configuration area's payload,
//! after the default `ld.so`'s path; when the `ld.so` a start would use is
//! that default (compared by path), the loader takes its mapping from the
//! record instead of opening and mapping the file.
//!
//! The record is read from the payload's tail, which [`crate::config::Defaults::from_area`]
//! ignores: a merely configured loader has none and takes today's path.

use crate::map::Mapped;

/// Bytes that a loader built with the feature carries in its read-only
/// data, so that `rld fuse` can refuse one built without it.
pub const FUSABLE_MARK: [u8; 16] = *b"RLD-FUSABLE-v1\0\0";

/// Program header slots a loader built with the feature keeps free (as
/// `PT_NULL`) between its own headers and its note, for the embedded
/// `ld.so`'s `PT_LOAD`s (glibc's has 2 to 4). The note must stay right
/// behind the program headers: every rld-loader refuses a candidate `ld.so`
/// that has it there ([`crate::elf::is_rld`]), the fused file included.
pub const SPARE_PHDRS: usize = 6;

/// The start of an [`Embedded`] record.
pub const RECORD_MAGIC: [u8; 8] = *b"RLDFUSE1";

/// An [`Embedded`] record's length in the payload: the magic, then four
/// little-endian 64-bit words.
pub const RECORD_LEN: usize = RECORD_MAGIC.len() + 4 * 8;

/// Where the embedded `ld.so` is in the fused image, as link-time values
/// of the `ld.so` and its offset from the loader's own.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Embedded {
    /// The `ld.so`'s load bias minus the loader's: where its address 0 is,
    /// from the loader's (the `V` its `PT_LOAD`s were shifted by).
    pub offset: u64,
    /// Its `e_entry`.
    pub entry: u64,
    /// The link-time address of its program headers.
    pub phdr: u64,
    pub phnum: u64,
}

impl Embedded {
    /// The record at the tail of a configuration area's `payload`, after
    /// the library path entry and the `ld.so`'s path (each ending in a NUL).
    pub fn from_area(payload: &[u8]) -> Option<Embedded> {
        let mut nuls = payload
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == 0)
            .map(|(i, _)| i);
        nuls.next()?;
        let tail = payload.get(nuls.next()? + 1..)?;
        let (magic, words) = tail.split_at_checked(RECORD_MAGIC.len())?;
        if magic != RECORD_MAGIC || words.len() < 32 {
            return None;
        }
        let word = |i: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&words[i * 8..i * 8 + 8]);
            u64::from_le_bytes(b)
        };
        Some(Embedded {
            offset: word(0),
            entry: word(1),
            phdr: word(2),
            phnum: word(3),
        })
    }

    /// The record as [`from_area`](Self::from_area) reads it.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut out = [0; RECORD_LEN];
        out[..8].copy_from_slice(&RECORD_MAGIC);
        for (i, w) in [self.offset, self.entry, self.phdr, self.phnum]
            .iter()
            .enumerate()
        {
            out[8 + i * 8..16 + i * 8].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Where the kernel mapped the embedded `ld.so`, given the loader's own
    /// load bias. The words are truncated to the address width: `rld fuse`
    /// writes only values that fit it.
    pub fn mapped(&self, own_base: usize) -> Mapped {
        let base = own_base.wrapping_add(self.offset as usize);
        Mapped {
            base,
            entry: base.wrapping_add(self.entry as usize),
            phdr: Some(base.wrapping_add(self.phdr as usize)),
            phnum: self.phnum as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_follows_the_defaults_and_round_trips() {
        let e = Embedded {
            offset: 0x7000,
            entry: 0x1ab70,
            phdr: 0x40,
            phnum: 9,
        };
        let mut payload = b"LD_LIBRARY_PATH=/l\0/nix/store/x/ld.so\0".to_vec();
        assert_eq!(Embedded::from_area(&payload), None, "configured, not fused");
        payload.extend_from_slice(&e.encode());
        assert_eq!(Embedded::from_area(&payload), Some(e));
        let d = crate::config::Defaults::from_area(&payload).unwrap();
        assert_eq!(d.ld_so, b"/nix/store/x/ld.so", "the defaults ignore it");
        let m = e.mapped(0x10_0000);
        assert_eq!(
            (m.base, m.entry, m.phdr, m.phnum),
            (0x10_7000, 0x12_1b70, Some(0x10_7040), 9)
        );
        // Cut short, or another magic: no record.
        assert_eq!(Embedded::from_area(&payload[..payload.len() - 1]), None);
        let mut other = payload.clone();
        let at = other.len() - RECORD_LEN;
        other[at] = b'X';
        assert_eq!(Embedded::from_area(&other), None);
    }
}
