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

/// The defaults a configured rld-loader carries in its configuration area
/// (rld_shim::config::Area), as `rld configure-loader` wrote them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configured {
    pub ld_so: PathBuf,
    pub library_path: String,
}

/// Where the area's header is and what its fields say.
struct Header {
    /// File offset of the header.
    at: usize,
    /// Its address in memory.
    vaddr: u64,
    payload_offset: u32,
    payload_len: u32,
}

/// The loadable segments of `elf`, as (file offset, address, file size,
/// memory size, flags, index).
fn loads(elf: &goblin::elf::Elf<'_>) -> Vec<(u64, u64, u64, u64, u32, usize)> {
    elf.program_headers
        .iter()
        .enumerate()
        .filter(|(_, p)| p.p_type == goblin::elf::program_header::PT_LOAD)
        .map(|(i, p)| (p.p_offset, p.p_vaddr, p.p_filesz, p.p_memsz, p.p_flags, i))
        .collect()
}

fn header(bytes: &[u8], elf: &goblin::elf::Elf<'_>) -> Result<Header, String> {
    let magic = rld_shim::config::Area::MAGIC;
    let mut found = bytes
        .windows(magic.len())
        .enumerate()
        .filter(|(_, w)| *w == magic)
        .map(|(i, _)| i);
    let at = found
        .next()
        .ok_or("it has no configuration area (an rld-loader from before them?)")?;
    if found.next().is_some() {
        return Err("it has more than one configuration area header".into());
    }
    let vaddr = loads(elf)
        .into_iter()
        .find(|&(off, _, filesz, ..)| (off..off + filesz).contains(&(at as u64)))
        .map(|(off, vaddr, ..)| vaddr + (at as u64 - off))
        .ok_or("its configuration area is outside its loadable segments")?;
    let word = |i: usize| u32::from_le_bytes(bytes[at + i..at + i + 4].try_into().unwrap());
    Ok(Header {
        at,
        vaddr,
        payload_offset: word(8),
        payload_len: word(12),
    })
}

/// The configuration of the rld-loader `bytes`; `Ok(None)` when it is
/// not configured.
pub fn configured(bytes: &[u8]) -> Result<Option<Configured>, String> {
    let elf = goblin::elf::Elf::parse(bytes).map_err(|e| e.to_string())?;
    let h = header(bytes, &elf)?;
    if h.payload_len == 0 {
        return Ok(None);
    }
    let vaddr = h.vaddr + u64::from(h.payload_offset);
    let payload = loads(&elf)
        .into_iter()
        .find(|&(_, v, filesz, ..)| (v..v + filesz).contains(&vaddr))
        .and_then(|(off, v, ..)| {
            let start = usize::try_from(off + (vaddr - v)).ok()?;
            bytes.get(start..start.checked_add(h.payload_len as usize)?)
        })
        .ok_or("its configuration lies outside the file")?;
    let d = rld_shim::config::Defaults::from_area(payload)
        .ok_or("its configuration is not an ld.so and a library path")?;
    Ok(Some(Configured {
        ld_so: PathBuf::from(OsStr::from_bytes(d.ld_so)),
        library_path: String::from_utf8_lossy(d.library_path()).into_owned(),
    }))
}

/// A copy of the rld-loader `bytes` configured with `ld_so` and
/// `library_path` (directories separated by `:`): the payload is appended
/// to its data segment, after its bss (written out as zeros), and the
/// area's header points at it. The section headers, which would lie past
/// the grown segment, are dropped: nothing at run time reads them.
pub fn configure(bytes: &[u8], ld_so: &[u8], library_path: &[u8]) -> Result<Vec<u8>, String> {
    configure_with(bytes, ld_so, library_path, &[])
}

/// [`configure`], with `tail` after the payload's two paths, which
/// rld_shim::config::Defaults::from_area ignores (`rld fuse`'s record).
pub fn configure_with(
    bytes: &[u8],
    ld_so: &[u8],
    library_path: &[u8],
    tail: &[u8],
) -> Result<Vec<u8>, String> {
    let elf = goblin::elf::Elf::parse(bytes).map_err(|e| format!("not an ELF file: {e}"))?;
    if note(bytes) == Note::Absent {
        return Err("not rld-loader (it has no rld note)".into());
    }
    if !elf.little_endian {
        return Err("a big-endian rld-loader: none is built".into());
    }
    let h = header(bytes, &elf)?;
    if h.payload_len != 0 {
        return Err("it is configured already: configure the loader as it was built".into());
    }
    let mut payload = b"LD_LIBRARY_PATH=".to_vec();
    payload.extend_from_slice(library_path);
    payload.push(0);
    payload.extend_from_slice(ld_so);
    payload.push(0);
    let every_dir_absolute = library_path
        .split(|&b| b == b':')
        .all(|d| d.starts_with(b"/"));
    let well_formed = every_dir_absolute
        && rld_shim::config::Defaults::from_area(&payload).is_some_and(|d| {
            d.ld_so == ld_so && d.library_path() == library_path && !library_path.contains(&0)
        });
    if !well_formed {
        return Err(
            "the ld.so and every library directory must be absolute paths without a NUL".into(),
        );
    }
    payload.extend_from_slice(tail);
    let loads = loads(&elf);
    let &(off, vaddr, filesz, memsz, _, index) = loads
        .iter()
        .rfind(|l| l.4 & goblin::elf::program_header::PF_W != 0)
        .ok_or("it has no writable segment")?;
    if loads.iter().any(|l| l.1 > vaddr) {
        return Err("its writable segment is not its last".into());
    }
    let payload_vaddr = (vaddr + memsz).next_multiple_of(8);
    let payload_offset = u32::try_from(payload_vaddr - h.vaddr)
        .map_err(|_| "its data lies too far from its configuration header")?;
    let size = payload_vaddr - vaddr + payload.len() as u64;
    let data_end = usize::try_from(off + filesz).map_err(|e| e.to_string())?;
    let mut out = bytes
        .get(..data_end)
        .ok_or("its writable segment lies past the end of the file")?
        .to_vec();
    out.resize(data_end + (payload_vaddr - vaddr - filesz) as usize, 0);
    out.extend_from_slice(&payload);

    let is_64 = elf.is_64;
    let mut w = Writer {
        out: &mut out,
        is_64,
    };
    let phdr = elf.header.e_phoff as usize + index * elf.header.e_phentsize as usize;
    let (filesz_at, memsz_at) = if is_64 { (32, 40) } else { (16, 20) };
    w.word(phdr + filesz_at, size);
    w.word(phdr + memsz_at, size);
    // No section headers: e_shoff, e_shnum and e_shstrndx all 0.
    let (shoff_at, shnum_at) = if is_64 { (0x28, 0x3c) } else { (0x20, 0x30) };
    w.word(shoff_at, 0);
    w.out[shnum_at..shnum_at + 4].fill(0);
    w.u32(h.at + 8, payload_offset);
    w.u32(h.at + 12, payload.len() as u32);
    Ok(out)
}

/// Little-endian fields of one ELF class, written into a file's bytes.
pub struct Writer<'a> {
    pub out: &'a mut [u8],
    pub is_64: bool,
}

impl Writer<'_> {
    pub fn u32(&mut self, at: usize, v: u32) {
        self.out[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// An address-sized field; the caller checked that 32-bit values fit.
    pub fn word(&mut self, at: usize, v: u64) {
        if self.is_64 {
            self.out[at..at + 8].copy_from_slice(&v.to_le_bytes());
        } else {
            self.u32(at, v as u32);
        }
    }
}
