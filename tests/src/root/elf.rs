//! Just enough ELF reading to find what a binary needs: its interpreter,
//! `DT_NEEDED` names and `RUNPATH`. Reads headers with `pread`, so a 120 MB
//! Node.js binary costs a few small reads. x86_64 (ELF64, little-endian) only.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;

/// What the dynamic loader will be asked to do for one ELF file.
#[derive(Debug, Default, Clone)]
pub struct Elf {
    pub e_type: u16,
    pub machine: u16,
    /// `PT_INTERP`, if any: a static binary or a shared library has none.
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    /// `DT_RUNPATH`, else `DT_RPATH`, split on `:`.
    pub runpath: Vec<String>,
    /// Whether it has a `PT_DYNAMIC` segment.
    pub dynamic: bool,
}

fn bad(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

fn read_at(f: &File, path: &Path, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    if len > 64 << 20 {
        return Err(bad(path, "implausibly large header table"));
    }
    let mut buf = vec![0; len as usize];
    f.read_exact_at(&mut buf, offset)
        .map_err(|e| bad(path, &format!("reading {len} bytes at {offset}: {e}")))?;
    Ok(buf)
}

struct Segment {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// Reads `path`; `Ok(None)` when it is not an ELF file at all.
pub fn read(path: &Path) -> io::Result<Option<Elf>> {
    let f = File::open(path)?;
    let mut header = [0u8; 64];
    match f.read_exact_at(&mut header, 0) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    if &header[..4] != b"\x7fELF" {
        return Ok(None);
    }
    if header[4] != 2 || header[5] != 1 {
        return Err(bad(path, "not ELF64 little-endian"));
    }
    let phoff = u64_at(&header, 32);
    let phentsize = u16_at(&header, 54) as u64;
    let phnum = u16_at(&header, 56) as u64;
    if phentsize < 56 {
        return Err(bad(path, "program header entries too small"));
    }
    let table = read_at(&f, path, phoff, phentsize * phnum)?;
    let segments: Vec<Segment> = table
        .chunks_exact(phentsize as usize)
        .map(|p| Segment {
            kind: u32_at(p, 0),
            offset: u64_at(p, 8),
            vaddr: u64_at(p, 16),
            filesz: u64_at(p, 32),
        })
        .collect();
    let mut elf = Elf {
        e_type: u16_at(&header, 16),
        machine: u16_at(&header, 18),
        ..Elf::default()
    };
    for s in &segments {
        if s.kind == PT_INTERP {
            let bytes = read_at(&f, path, s.offset, s.filesz)?;
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            elf.interpreter = Some(String::from_utf8_lossy(&bytes[..end]).into_owned());
        }
    }
    let Some(dynamic) = segments.iter().find(|s| s.kind == PT_DYNAMIC) else {
        return Ok(Some(elf));
    };
    elf.dynamic = true;
    let entries = read_at(&f, path, dynamic.offset, dynamic.filesz)?;
    let mut strtab = None;
    let mut strsz = 0;
    let mut needed = Vec::new();
    let mut runpath = None;
    let mut rpath = None;
    for e in entries.chunks_exact(16) {
        let (tag, val) = (u64_at(e, 0), u64_at(e, 8));
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed.push(val),
            DT_STRTAB => strtab = Some(val),
            DT_STRSZ => strsz = val,
            DT_RUNPATH => runpath = Some(val),
            DT_RPATH => rpath = Some(val),
            _ => {}
        }
    }
    let Some(strtab) = strtab else {
        return Err(bad(path, "PT_DYNAMIC without DT_STRTAB"));
    };
    // DT_STRTAB is an address; find the file offset of the segment holding it.
    let file_offset = segments
        .iter()
        .filter(|s| s.kind == PT_LOAD)
        .find(|s| s.vaddr <= strtab && strtab < s.vaddr + s.filesz)
        .map(|s| s.offset + (strtab - s.vaddr))
        .ok_or_else(|| bad(path, "DT_STRTAB outside every PT_LOAD"))?;
    let strings = read_at(&f, path, file_offset, strsz)?;
    let string = |off: u64| -> io::Result<String> {
        let tail = strings
            .get(off as usize..)
            .ok_or_else(|| bad(path, "string offset past DT_STRSZ"))?;
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        Ok(String::from_utf8_lossy(&tail[..end]).into_owned())
    };
    elf.needed = needed.into_iter().map(string).collect::<io::Result<_>>()?;
    if let Some(off) = runpath.or(rpath) {
        elf.runpath = string(off)?
            .split(':')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
    }
    Ok(Some(elf))
}
