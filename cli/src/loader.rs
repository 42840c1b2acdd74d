//! Recognising rld-loader in a file and reading what its note says: the
//! prefix it was built with, under which its default `ld.so` and library
//! directory are (rld_shim::elf::RldNote).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// What a file's rld note says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// Not rld-loader: no rld note (glibc's ld.so, nix-ld, any other file).
    Absent,
    /// rld-loader from before the note named its prefix.
    WithoutPrefix,
    /// rld-loader built with this prefix.
    Prefix(PathBuf),
}

/// The rld note of the ELF file `bytes`, if it has one.
pub fn note(bytes: &[u8]) -> Note {
    let Ok(elf) = goblin::elf::Elf::parse(bytes) else {
        return Note::Absent;
    };
    let Some(notes) = elf.iter_note_headers(bytes) else {
        return Note::Absent;
    };
    let found = notes
        .flatten()
        .find(|n| n.name == "rld" && n.n_type == rld_shim::elf::RLD_NOTE_TYPE);
    match found {
        None => Note::Absent,
        Some(n) => match rld_shim::elf::prefix_in_rld_note(n.desc) {
            Some(prefix) => Note::Prefix(PathBuf::from(OsStr::from_bytes(prefix))),
            None => Note::WithoutPrefix,
        },
    }
}
