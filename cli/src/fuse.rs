//! `rld fuse`: one interpreter file holding rld-loader and the system's
//! `ld.so` (experimental; rld_shim::fused says how the loader uses it).
//!
//! The output is a configured rld-loader (as `rld configure-loader` writes
//! it, its payload ending in an rld_shim::fused::Embedded record), padded
//! to a page boundary `D`, then the `ld.so` byte for byte. The loader's
//! spare `PT_NULL` program headers become the `ld.so`'s `PT_LOAD`s with
//! their offsets shifted by `D` and their addresses by `V`, the first
//! multiple of the alignment past the loader's memory image, so that the
//! kernel maps both in the one exec and the `ld.so`'s load bias is the
//! loader's plus `V`. The `ld.so`'s section headers are copied, shifted
//! the same way, so that debuggers find its symbols (`_dl_debug_state`,
//! `_r_debug`) at the addresses they have in memory.

use goblin::elf::Elf;
use goblin::elf::header::{EI_CLASS, ELFCLASS64, ET_DYN};
use goblin::elf::program_header::{PF_X, PT_INTERP, PT_LOAD, PT_NULL};
use goblin::elf::section_header::{
    SHF_ALLOC, SHN_LORESERVE, SHN_UNDEF, SHT_DYNSYM, SHT_NULL, SHT_SYMTAB,
};
use rld_shim::fused::{Embedded, FUSABLE_MARK, RECORD_LEN};

use crate::loader::{self, Writer};

/// Why a fused file could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FuseError {
    /// The loader cannot be fused: not rld-loader, built without the
    /// `fused` feature, configured already, or paths not absolute.
    Loader(String),
    /// The `ld.so` cannot be embedded as it is laid out.
    LdSo(String),
}

/// The smallest page size a kernel of this machine can have: the file
/// offsets and addresses of every segment must agree modulo the page size
/// the kernel runs with, and aarch64 kernels may use 64 KiB pages.
fn page_for(machine: u16) -> u64 {
    match machine {
        goblin::elf::header::EM_AARCH64 => 0x10000,
        _ => 0x1000,
    }
}

/// Field offsets that differ between ELF classes.
struct Layout {
    is_64: bool,
}

impl Layout {
    fn phentsize(&self) -> usize {
        if self.is_64 { 56 } else { 32 }
    }

    /// Writes a program header at `at`.
    fn put_phdr(&self, out: &mut [u8], at: usize, p: &goblin::elf::ProgramHeader) {
        let mut w = Writer {
            out,
            is_64: self.is_64,
        };
        w.u32(at, p.p_type);
        if self.is_64 {
            w.u32(at + 4, p.p_flags);
            for (i, v) in [
                p.p_offset, p.p_vaddr, p.p_paddr, p.p_filesz, p.p_memsz, p.p_align,
            ]
            .into_iter()
            .enumerate()
            {
                w.word(at + 8 + i * 8, v);
            }
        } else {
            for (i, v) in [p.p_offset, p.p_vaddr, p.p_paddr, p.p_filesz, p.p_memsz]
                .into_iter()
                .enumerate()
            {
                w.word(at + 4 + i * 4, v);
            }
            w.u32(at + 24, p.p_flags);
            w.word(at + 28, p.p_align);
        }
    }

    /// A section header, as the file has it.
    fn shdr(&self, sh: &goblin::elf::SectionHeader) -> Vec<u8> {
        let size = if self.is_64 { 64 } else { 40 };
        let mut out = vec![0; size];
        let mut w = Writer {
            out: &mut out,
            is_64: self.is_64,
        };
        let n = if self.is_64 { 8 } else { 4 };
        w.u32(0, sh.sh_name as u32);
        w.u32(4, sh.sh_type);
        let words = [sh.sh_flags, sh.sh_addr, sh.sh_offset, sh.sh_size];
        for (i, v) in words.into_iter().enumerate() {
            w.word(8 + i * n, v);
        }
        let at = 8 + 4 * n;
        w.u32(at, sh.sh_link);
        w.u32(at + 4, sh.sh_info);
        w.word(at + 8, sh.sh_addralign);
        w.word(at + 8 + n, sh.sh_entsize);
        out
    }

    /// Points the ELF header at `shnum` section headers at `shoff`.
    fn put_sections(&self, out: &mut [u8], shoff: u64, shnum: u16, shstrndx: u16) {
        let (shoff_at, entsize_at) = if self.is_64 {
            (0x28, 0x3a)
        } else {
            (0x20, 0x2e)
        };
        let entsize: u16 = if self.is_64 { 64 } else { 40 };
        let mut w = Writer {
            out,
            is_64: self.is_64,
        };
        w.word(shoff_at, shoff);
        for (i, v) in [entsize, shnum, shstrndx].into_iter().enumerate() {
            w.out[entsize_at + 2 * i..entsize_at + 2 * i + 2].copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// What fusing needs to know of the `ld.so`.
struct LdSo<'a> {
    bytes: &'a [u8],
    loads: Vec<goblin::elf::ProgramHeader>,
    entry: u64,
    phoff: u64,
    phnum: u64,
    sections: Vec<goblin::elf::SectionHeader>,
    shstrndx: u16,
}

/// Checks that `bytes` is an `ld.so` the kernel can map inside the fused
/// file, for the loader of `machine` and class `is_64`, with at most
/// `slots` `PT_LOAD`s.
fn check_ld_so(bytes: &[u8], machine: u16, is_64: bool, slots: usize) -> Result<LdSo<'_>, String> {
    let elf = Elf::parse(bytes).map_err(|e| format!("not an ELF file: {e}"))?;
    if elf.is_64 != is_64 || elf.header.e_machine != machine || !elf.little_endian {
        return Err(format!(
            "it is for another architecture (ELF machine {}, {}-bit) than the loader (machine {machine}, {}-bit)",
            elf.header.e_machine,
            if elf.is_64 { 64 } else { 32 },
            if is_64 { 64 } else { 32 },
        ));
    }
    if loader::note(bytes) != loader::Note::Absent {
        return Err("it is rld-loader, not glibc's ld.so".into());
    }
    if elf.header.e_type != ET_DYN {
        return Err("it is not a position-independent ld.so (ELF type is not ET_DYN)".into());
    }
    if elf.program_headers.iter().any(|p| p.p_type == PT_INTERP) {
        return Err("it has an interpreter of its own: it is a program, not an ld.so".into());
    }
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .cloned()
        .collect();
    if loads.is_empty() || loads.len() > slots {
        return Err(format!(
            "it has {} loadable segments; the loader has room for 1 to {slots}",
            loads.len()
        ));
    }
    let page = page_for(machine);
    let first = &loads[0];
    let headers_end =
        elf.header.e_phoff + u64::from(elf.header.e_phnum) * u64::from(elf.header.e_phentsize);
    // ld.so finds its own headers through `__ehdr_start`: they must be
    // mapped, at the start of its first segment.
    if first.p_offset != 0 || first.p_vaddr != 0 || first.p_filesz < headers_end {
        return Err(
            "its first segment does not map its ELF and program headers at address 0".into(),
        );
    }
    for (i, p) in loads.iter().enumerate() {
        let file_end = p.p_offset.checked_add(p.p_filesz);
        if p.p_offset % page != p.p_vaddr % page
            || p.p_filesz > p.p_memsz
            || file_end.is_none_or(|end| end > bytes.len() as u64)
            || !p.p_align.is_power_of_two()
        {
            return Err(format!(
                "its segment {i} is not mappable at a {page}-byte page (offset {:#x}, address {:#x})",
                p.p_offset, p.p_vaddr
            ));
        }
        if i > 0 && p.p_vaddr < loads[i - 1].p_vaddr + loads[i - 1].p_memsz {
            return Err("its loadable segments overlap or are not in address order".into());
        }
        // Kernels before 6.7 zero the bss of an interpreter's last segment
        // only.
        if p.p_memsz > p.p_filesz && i + 1 != loads.len() {
            return Err(format!(
                "its segment {i} has a bss but is not its last; kernels before 6.7 would leave it unzeroed"
            ));
        }
    }
    let entry = elf.header.e_entry;
    if !loads
        .iter()
        .any(|p| p.p_flags & PF_X != 0 && (p.p_vaddr..p.p_vaddr + p.p_memsz).contains(&entry))
    {
        return Err(format!(
            "its entry point {entry:#x} is not in an executable segment"
        ));
    }
    Ok(LdSo {
        bytes,
        loads,
        entry,
        phoff: elf.header.e_phoff,
        phnum: u64::from(elf.header.e_phnum),
        sections: elf.section_headers.clone(),
        shstrndx: elf.header.e_shstrndx,
    })
}

/// The fused interpreter: the unconfigured rld-loader `loader_bytes`
/// (built with the `fused` feature), configured with `ld_so_path` and
/// `library_path` as `rld configure-loader` would, with the `ld.so`
/// `ld_so` (the file at `ld_so_path`) embedded.
pub fn fuse(
    loader_bytes: &[u8],
    ld_so_path: &[u8],
    ld_so: &[u8],
    library_path: &[u8],
) -> Result<Vec<u8>, FuseError> {
    let not_loader = |why: String| FuseError::Loader(why);
    let elf = Elf::parse(loader_bytes).map_err(|e| not_loader(format!("not an ELF file: {e}")))?;
    if loader::note(loader_bytes) == loader::Note::Absent {
        return Err(not_loader("not rld-loader (it has no rld note)".into()));
    }
    let marks = loader_bytes
        .windows(FUSABLE_MARK.len())
        .filter(|w| *w == FUSABLE_MARK)
        .count();
    if marks != 1 {
        return Err(not_loader(
            "it was built without the `fused` feature (cargo build -p rld-loader --features fused)"
                .into(),
        ));
    }
    let slots: Vec<usize> = elf
        .program_headers
        .iter()
        .enumerate()
        .filter(|(_, p)| p.p_type == PT_NULL)
        .map(|(i, _)| i)
        .collect();
    let is_64 = loader_bytes.get(EI_CLASS) == Some(&ELFCLASS64);
    let machine = elf.header.e_machine;
    // The layout depends on the record's length, not its values: configure
    // once to measure (and to refuse a configured loader before the ld.so
    // is looked at), then again with the real record.
    let placeholder = [0; RECORD_LEN];
    let measured = loader::configure_with(loader_bytes, ld_so_path, library_path, &placeholder)
        .map_err(not_loader)?;
    let ld = check_ld_so(ld_so, machine, is_64, slots.len()).map_err(FuseError::LdSo)?;
    let configured_elf = Elf::parse(&measured).map_err(|e| not_loader(e.to_string()))?;
    let own_loads = configured_elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD);
    let mem_end = own_loads
        .clone()
        .map(|p| p.p_vaddr + p.p_memsz)
        .max()
        .unwrap_or(0);
    let align = own_loads
        .chain(ld.loads.iter())
        .map(|p| p.p_align)
        .fold(page_for(machine), u64::max);
    let at = (measured.len() as u64).next_multiple_of(align);
    let shift = mem_end.next_multiple_of(align);
    let image_end = shift + ld.loads.last().map_or(0, |p| p.p_vaddr + p.p_memsz);
    if !is_64
        && (image_end > u64::from(u32::MAX) || at + ld.bytes.len() as u64 > u64::from(u32::MAX))
    {
        return Err(FuseError::LdSo(
            "the fused image would not fit 32-bit addresses".into(),
        ));
    }
    let record = Embedded {
        offset: shift,
        entry: ld.entry,
        phdr: ld.phoff,
        phnum: ld.phnum,
    };
    let mut out = loader::configure_with(loader_bytes, ld_so_path, library_path, &record.encode())
        .map_err(not_loader)?;
    assert_eq!(out.len(), measured.len(), "the record's length is fixed");

    let layout = Layout { is_64 };
    let phoff = elf.header.e_phoff as usize;
    for (slot, p) in slots.iter().zip(&ld.loads) {
        let mut shifted = p.clone();
        shifted.p_offset += at;
        shifted.p_vaddr += shift;
        shifted.p_paddr += shift;
        layout.put_phdr(&mut out, phoff + slot * layout.phentsize(), &shifted);
    }
    out.resize(at as usize, 0);
    out.extend_from_slice(ld.bytes);

    // The ld.so's section headers, for debuggers: file offsets into the
    // embedded copy, addresses where the kernel maps it. A symbol's value
    // is an address, not an offset into its section, so the symbol tables
    // are copies with shifted values (gdb sets its shared-library
    // breakpoint on `_dl_debug_state` from them); the mapped `.dynsym`
    // stays as it was, for ld.so's own lookups.
    if !ld.sections.is_empty() {
        let mut moved = vec![None; ld.sections.len()];
        for (i, sh) in ld.sections.iter().enumerate() {
            if sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM {
                continue;
            }
            let table = usize::try_from(sh.sh_offset)
                .ok()
                .zip(usize::try_from(sh.sh_size).ok())
                .and_then(|(off, size)| ld.bytes.get(off..off.checked_add(size)?))
                .ok_or_else(|| FuseError::LdSo(format!("its symbol table {i} lies outside it")))?;
            let start = out.len().next_multiple_of(8);
            out.resize(start, 0);
            out.extend_from_slice(table);
            shift_symbols(&mut out[start..], is_64, shift);
            moved[i] = Some(start as u64);
        }
        let shoff = (out.len() as u64).next_multiple_of(8);
        out.resize(shoff as usize, 0);
        for (sh, moved) in ld.sections.iter().zip(moved) {
            let mut sh = sh.clone();
            if let Some(offset) = moved {
                // Not mapped: an allocated section outside every segment
                // draws a warning from gdb.
                sh.sh_offset = offset;
                sh.sh_flags &= !u64::from(SHF_ALLOC);
                sh.sh_addr = 0;
            } else if sh.sh_type != SHT_NULL {
                sh.sh_offset += at;
            }
            if sh.sh_flags & u64::from(SHF_ALLOC) != 0 {
                sh.sh_addr += shift;
            }
            out.extend_from_slice(&layout.shdr(&sh));
        }
        let shnum = u16::try_from(ld.sections.len())
            .map_err(|_| FuseError::LdSo("it has too many sections".into()))?;
        layout.put_sections(&mut out, shoff, shnum, ld.shstrndx);
    }
    Ok(out)
}

/// Adds `shift` to the value of every symbol of the table `table` that is
/// an address: defined in a section, and not a thread-local offset.
fn shift_symbols(table: &mut [u8], is_64: bool, shift: u64) {
    let (size, value_at, shndx_at, info_at) = if is_64 {
        (24, 8, 6, 4)
    } else {
        (16, 4, 14, 12)
    };
    for sym in table.chunks_exact_mut(size) {
        let shndx = u16::from_le_bytes([sym[shndx_at], sym[shndx_at + 1]]);
        let is_tls = sym[info_at] & 0xf == goblin::elf::sym::STT_TLS;
        if shndx == SHN_UNDEF as u16 || shndx >= SHN_LORESERVE as u16 || is_tls {
            continue;
        }
        let mut w = Writer { out: sym, is_64 };
        let value = if is_64 {
            u64::from_le_bytes(w.out[value_at..value_at + 8].try_into().unwrap())
        } else {
            u64::from(u32::from_le_bytes(
                w.out[value_at..value_at + 4].try_into().unwrap(),
            ))
        };
        w.word(value_at, value + shift);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_rld_loader_is_refused() {
        // This test binary is no rld-loader at all: refused before anything
        // else is read.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let ld = std::fs::read("/lib64/ld-linux-x86-64.so.2").unwrap();
        let err = fuse(&me, b"/ld.so", &ld, b"/lib").unwrap_err();
        assert!(
            matches!(err, FuseError::Loader(ref m) if m.contains("rld note")),
            "{err:?}"
        );
    }

    #[test]
    fn the_systems_ld_so_fits_and_a_program_does_not() {
        let ld = std::fs::read("/lib64/ld-linux-x86-64.so.2").unwrap();
        let x86_64 = goblin::elf::header::EM_X86_64;
        let checked = check_ld_so(&ld, x86_64, true, 6).unwrap();
        assert!(checked.loads.len() >= 2);
        let err = check_ld_so(&ld, goblin::elf::header::EM_AARCH64, true, 6)
            .err()
            .unwrap();
        assert!(err.contains("another architecture"), "{err}");
        let err = check_ld_so(&ld, x86_64, true, 1).err().unwrap();
        assert!(err.contains("room for 1 to 1"), "{err}");
        let sh = std::fs::read("/bin/sh").unwrap();
        let err = check_ld_so(&sh, x86_64, true, 6).err().unwrap();
        assert!(err.contains("interpreter"), "{err}");
    }
}
