//! An ELF file's [`ElfFacts`] from bounded reads: the header, the program
//! headers, the interpreter, the dynamic segment, its string table and the
//! symbol-version sections, each read where it lies (`pread`), never the
//! whole file.
//!
//! The library search reads every library it finds and `rld doctor` on a
//! tree reads every ELF file in it; an Electron app's main program alone is
//! 150 MiB, of which these parts are a few hundred KiB. The pieces are
//! parsed with goblin's own parsers and put into an [`Elf`], from which
//! [`inspect::facts_of`] draws the same facts as from a whole-file parse
//! (a test below compares the two on real files).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::dynamic::Dynamic;
use goblin::elf::header::{EI_CLASS, EI_DATA, ELFCLASS64, ELFDATA2LSB};
use goblin::elf::program_header::{PT_DYNAMIC, PT_INTERP, ProgramHeader};
use goblin::elf::section_header::{SHT_GNU_VERDEF, SHT_GNU_VERNEED, SectionHeader};
use goblin::elf::symver::{VerdefSection, VerneedSection};
use goblin::elf::{Elf, Header};
use goblin::strtab::Strtab;

use crate::error::io_words;
use crate::inspect::{self, ElfFacts, FileKind};

/// No single piece rld reads is larger: a dynamic string table of a large
/// C++ library (libLLVM) is about 10 MiB.
const MAX_PIECE: u64 = 64 << 20;

/// A file read piece by piece.
pub struct Pieces {
    file: File,
    len: u64,
}

impl Pieces {
    pub fn open(path: &Path) -> Result<Pieces, String> {
        let file = File::open(path).map_err(|e| io_words(&e))?;
        let len = file.metadata().map_err(|e| io_words(&e))?.len();
        Ok(Pieces { file, len })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `size` bytes at `offset`, which must lie inside the file.
    pub fn read(&self, what: &str, offset: u64, size: u64) -> Result<Vec<u8>, String> {
        let end = offset.checked_add(size);
        if end.is_none_or(|end| end > self.len) {
            return Err(format!(
                "the file ({} bytes) ends before the end of its {what} (offset {offset:#x}, {size} bytes): an incomplete download or copy?",
                self.len
            ));
        }
        if size > MAX_PIECE {
            return Err(format!(
                "its {what} is {size} bytes, more than rld reads ({MAX_PIECE})"
            ));
        }
        let mut buf = vec![0; size as usize];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(|e| io_words(&e))?;
        Ok(buf)
    }

    /// The ELF header and the parsing context it implies.
    pub fn header(&self) -> Result<(Header, Ctx), String> {
        let head = self.read("ELF header", 0, self.len.min(64))?;
        let header =
            Elf::parse_header(&head).map_err(|e| format!("goblin could not parse it: {e}"))?;
        // As goblin: an unknown class is an error; the data byte picks the
        // byte order.
        Elf::lazy_parse(header).map_err(|e| format!("goblin could not parse it: {e}"))?;
        let container = if header.e_ident[EI_CLASS] == ELFCLASS64 {
            Container::Big
        } else {
            Container::Little
        };
        let endian = Endian::from(header.e_ident[EI_DATA] == ELFDATA2LSB);
        Ok((header, Ctx::new(container, endian)))
    }

    pub fn program_headers(&self, h: &Header, ctx: Ctx) -> Result<Vec<ProgramHeader>, String> {
        let size = ProgramHeader::size(ctx) as u64 * u64::from(h.e_phnum);
        let buf = self.read("program headers", h.e_phoff, size)?;
        ProgramHeader::parse(&buf, 0, h.e_phnum as usize, ctx).map_err(|e| e.to_string())
    }

    /// The section headers; none when there are none, or more than 65,279
    /// (their count is then elsewhere, and rld needs no section of such a
    /// file).
    pub fn section_headers(&self, h: &Header, ctx: Ctx) -> Result<Vec<SectionHeader>, String> {
        if h.e_shoff == 0 || h.e_shnum == 0 {
            return Ok(vec![]);
        }
        let size = SectionHeader::size(ctx) as u64 * u64::from(h.e_shnum);
        let buf = self.read("section headers", h.e_shoff, size)?;
        SectionHeader::parse_from(&buf, 0, h.e_shnum as usize, ctx).map_err(|e| e.to_string())
    }
}

/// What the file at `path` is, as [`inspect::classify`] says of its whole
/// contents, but from its first bytes and, for an ELF file, the bounded
/// reads of [`read_facts`]: `rld doctor` on a 500 MB program reads a few
/// hundred KiB of it.
pub fn inspect(path: &Path) -> FileKind {
    let head = match inspect::read_head(path) {
        Ok(head) => head,
        Err(kind) => return kind,
    };
    if !head.starts_with(b"\x7fELF") {
        return inspect::classify(&head);
    }
    match read_facts(path) {
        Ok(facts) => FileKind::Elf(Box::new(facts)),
        Err(e) => FileKind::BadElf(e),
    }
}

/// The facts of the ELF file at `path`, from its header, program headers,
/// dynamic segment and version sections only. `Err`: the file cannot be
/// read, or these parts are damaged, in words.
pub fn read_facts(path: &Path) -> Result<ElfFacts, String> {
    let file = Pieces::open(path)?;
    let (header, ctx) = file.header()?;
    let program_headers = file.program_headers(&header, ctx)?;
    let section_headers = file.section_headers(&header, ctx)?;

    // Each piece is parsed from its own buffer, so goblin sees it at offset 0.
    let interp = match program_headers
        .iter()
        .find(|ph| ph.p_type == PT_INTERP && ph.p_filesz != 0)
    {
        Some(ph) => Some(file.read("interpreter", ph.p_offset, ph.p_filesz)?),
        None => None,
    };
    let dynamic = match program_headers
        .iter()
        .position(|ph| ph.p_type == PT_DYNAMIC)
    {
        Some(i) => {
            let ph = &program_headers[i];
            let bytes = file.read("dynamic section", ph.p_offset, ph.p_filesz)?;
            let mut rebased = program_headers.clone();
            rebased[i].p_offset = 0;
            // The addresses in the dynamic section are turned into file
            // offsets through the PT_LOAD headers, which keep theirs.
            Dynamic::parse(&bytes, &rebased, ctx).map_err(|e| e.to_string())?
        }
        None => None,
    };
    let dynstr = match &dynamic {
        Some(d) => file.read(
            "dynamic string table",
            d.info.strtab as u64,
            d.info.strsz as u64,
        )?,
        None => vec![],
    };
    let version_section =
        |kind: u32, what: &str| -> Result<Option<(Vec<u8>, SectionHeader)>, String> {
            let Some(sh) = section_headers.iter().find(|sh| sh.sh_type == kind) else {
                return Ok(None);
            };
            let bytes = file.read(what, sh.sh_offset, sh.sh_size)?;
            let mut rebased = sh.clone();
            rebased.sh_offset = 0;
            Ok(Some((bytes, rebased)))
        };
    let verneed = version_section(SHT_GNU_VERNEED, "version needs")?;
    let verdef = version_section(SHT_GNU_VERDEF, "version definitions")?;

    let mut elf = Elf::lazy_parse(header).map_err(|e| e.to_string())?;
    elf.interpreter = interp.as_deref().and_then(|b| {
        // As goblin: the path without its terminating NUL.
        std::str::from_utf8(&b[..b.len() - 1]).ok()
    });
    elf.dynstrtab = Strtab::parse(&dynstr, 0, dynstr.len(), 0x0).map_err(|e| e.to_string())?;
    if let Some(d) = &dynamic {
        if d.info.soname != 0 {
            elf.soname = elf.dynstrtab.get_at(d.info.soname);
        }
        elf.libraries = d.get_libraries(&elf.dynstrtab);
        for entry in &d.dyns {
            let value = elf.dynstrtab.get_at(entry.d_val as usize);
            match (entry.d_tag, value) {
                (goblin::elf::dynamic::DT_RPATH, Some(v)) => elf.rpaths.push(v),
                (goblin::elf::dynamic::DT_RUNPATH, Some(v)) => elf.runpaths.push(v),
                _ => {}
            }
        }
    }
    if let Some((bytes, sh)) = &verneed {
        elf.verneed = VerneedSection::parse(bytes, std::slice::from_ref(sh), ctx)
            .map_err(|e| e.to_string())?;
    }
    if let Some((bytes, sh)) = &verdef {
        elf.verdef = VerdefSection::parse(bytes, std::slice::from_ref(sh), ctx)
            .map_err(|e| e.to_string())?;
    }
    elf.dynamic = dynamic;
    elf.program_headers = program_headers;
    inspect::facts_of(&elf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounded reads give the same facts as goblin's whole-file parse.
    #[test]
    fn the_same_facts_as_a_whole_file_parse() {
        let mut compared = 0;
        for path in [
            "/proc/self/exe",
            "/lib64/ld-linux-x86-64.so.2",
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libz.so.1",
            "/usr/bin/git",
            "/usr/bin/python3.11",
            "/usr/bin/perl",
        ] {
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            let whole = inspect::parse_elf(&bytes).unwrap();
            let bounded = read_facts(Path::new(path)).unwrap();
            assert_eq!(format!("{whole:?}"), format!("{bounded:?}"), "{path}");
            compared += 1;
        }
        assert!(compared >= 3, "only {compared} files compared");
    }

    #[test]
    fn truncated_and_foreign_files_are_errors_not_panics() {
        let dir = std::env::temp_dir().join(format!("rld-elfread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let real = std::fs::read("/proc/self/exe").unwrap();
        for len in [0, 4, 20, 63, 64, 200, 4096] {
            let p = dir.join(format!("cut{len}"));
            std::fs::write(&p, &real[..len.min(real.len())]).unwrap();
            assert!(read_facts(&p).is_err(), "{len} bytes");
        }
        let p = dir.join("text");
        std::fs::write(&p, b"hello, this is not an ELF file at all, but long enough to parse a header from it; really it is just words").unwrap();
        assert!(read_facts(&p).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
