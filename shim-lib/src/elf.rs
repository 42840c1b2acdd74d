//! Validation of the `ld.so` rld is about to map: every field the mapping
//! relies on is checked against the file, so a malformed or hostile file is
//! an [`ElfError`], never a bad pointer.

use linux_raw_sys::elf_uapi as e;

use crate::text::Piece::{Bytes, Hex, Num};
use crate::text::{Out, Show, fill, lookup};

use crate::{ELF_CLASS, ELF_MACHINE};

pub use layout::{EHDR_SIZE, MAX_END, PHDR_SIZE, Word};

/// Where the fields rld reads sit in the ELF class this build accepts
/// (`ELFCLASS64` on 64-bit targets, `ELFCLASS32` on i686), and how wide its
/// addresses, offsets and sizes are.
#[cfg(target_pointer_width = "64")]
mod layout {
    /// An `ElfN_Addr`, `ElfN_Off` or address-sized size of this class. The
    /// checks compute in it: 64-bit arithmetic costs i686 pairs of
    /// instructions and helper calls for every addition and comparison.
    pub type Word = u64;
    /// Segments may lie anywhere below this link-time address (64 times
    /// [`MAX_SPAN`](super::MAX_SPAN)), as long as they span at most
    /// `MAX_SPAN`: far above any `ld.so`'s addresses, and low enough that
    /// rounding an end up to a page cannot overflow.
    pub const MAX_END: Word = super::MAX_SPAN * 64;
    pub const EHDR_SIZE: usize = 64;
    pub const PHDR_SIZE: usize = 56;
    pub const E_ENTRY: usize = 24;
    pub const E_PHOFF: usize = 32;
    pub const E_PHENTSIZE: usize = 54;
    pub const E_PHNUM: usize = 56;
    pub const P_FLAGS: usize = 4;
    pub const P_OFFSET: usize = 8;
    pub const P_VADDR: usize = 16;
    pub const P_FILESZ: usize = 32;
    pub const P_MEMSZ: usize = 40;
    pub const P_ALIGN: usize = 48;
}

#[cfg(target_pointer_width = "32")]
mod layout {
    /// See the 64-bit `Word`.
    pub type Word = u32;
    /// The 64-bit limit does not fit 32 bits. This one leaves room below
    /// `Word::MAX` for rounding up by any page up to
    /// [`MAX_SPAN`](super::MAX_SPAN): 3 GiB, the most a 32-bit process has
    /// under a 32-bit kernel.
    pub const MAX_END: Word = Word::MAX - super::MAX_SPAN + 1;
    pub const EHDR_SIZE: usize = 52;
    pub const PHDR_SIZE: usize = 32;
    pub const E_ENTRY: usize = 24;
    pub const E_PHOFF: usize = 28;
    pub const E_PHENTSIZE: usize = 42;
    pub const E_PHNUM: usize = 44;
    pub const P_OFFSET: usize = 4;
    pub const P_VADDR: usize = 8;
    pub const P_FILESZ: usize = 16;
    pub const P_MEMSZ: usize = 20;
    pub const P_FLAGS: usize = 24;
    pub const P_ALIGN: usize = 28;
}

#[cfg(test)]
pub(crate) use layout::E_PHOFF;
#[cfg(test)]
pub(crate) use layout::P_VADDR;
use layout::*;

/// Bytes in a [`Word`].
const WORD_BYTES: usize = core::mem::size_of::<Word>();
// A `Word` converts to and from `usize` with `as`, losing nothing.
const _: () = assert!(WORD_BYTES == core::mem::size_of::<usize>());

/// A [`Word`] as the `usize` messages print.
fn wide(w: Word) -> usize {
    w as usize
}

/// The size `fstat` reports, as a [`Word`]: on 32-bit, a file of 4 GiB or
/// more counts as `Word::MAX` bytes. That changes no outcome: every check
/// against the size is `end <= size` for an `end` that is itself a `Word`
/// (an overflowing one is an error before it is compared), and such an
/// `end` is at most `Word::MAX`, so within the clamped size exactly when
/// within the real one.
pub fn clamp_size(size: u64) -> Word {
    Word::try_from(size).unwrap_or(Word::MAX)
}

/// More program headers than any real `ld.so` has (glibc's have about 12).
pub const MAX_PHNUM: usize = 64;
/// More loadable segments than any real `ld.so` has (glibc's have 4).
pub const MAX_LOADS: usize = 8;
/// An `ld.so` spans a few hundred KiB; anything past this is not one.
pub const MAX_SPAN: Word = 1 << 30;

/// The type of the ELF note (owner `rld`) that marks rld-loader itself.
pub const RLD_NOTE_TYPE: u32 = 0x524c_4431;

/// Defines [`ElfError`] from one line per error: the variant, its fields,
/// its message (each `{}` filled by [`fill`]) and the values that fill it,
/// in order. The message is also the variant's documentation.
macro_rules! elf_errors {
    ($(
        $name:ident $({ $($field:ident: $ty:ty),* $(,)? })? => $text:literal $(, $value:expr)* ;
    )*) => {
        /// What is wrong with a file offered as `ld.so`.
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub enum ElfError {
            $(
                #[doc = $text]
                $name $({ $($field: $ty),* })?,
            )*
        }

        impl Show for ElfError {
            fn show(&self, out: &mut Out<'_>) {
                match *self {
                    $(
                        ElfError::$name $({ $($field),* })? => {
                            fill(out, $text.as_bytes(), &[$($value),*])
                        }
                    )*
                }
            }
        }
    };
}

elf_errors! {
    Empty => "the file is empty";
    TooShort { len: Word } =>
        "the file is only {} bytes, too short for an ELF header", Num(wide(len));
    NotElf => "not an ELF file";
    WrongClass { found: u8 } =>
        "it is a {} ELF; this program needs a {} {} ld.so",
        Bytes(class_name(found)), Bytes(OWN_CLASS), Bytes(own_arch());
    WrongEndian => "the ELF has the wrong byte order";
    WrongVersion => "the ELF version is not 1";
    WrongMachine { found: u16 } =>
        "it is an ld.so for {} ({}); this program needs one for {}",
        Bytes(machine_name(found)), Num(found as usize), Bytes(own_arch());
    NotDynamic { found: u16 } =>
        "it is {} (e_type {}), not a position-independent ld.so (ET_DYN)",
        Bytes(type_name(found)), Num(found as usize);
    BadPhentsize { found: u16 } =>
        "its program header size is {}, not {}", Num(found as usize), Num(PHDR_SIZE);
    BadPhnum { found: u16 } =>
        "it has {} program headers (expected 1 to {})", Num(found as usize), Num(MAX_PHNUM);
    PhdrsPastEof { phoff: Word, end: Word, size: Word } =>
        "its program headers ({}..{}) lie past the end of the {}-byte file (truncated?)",
        Hex(wide(phoff)), Hex(wide(end)), Num(wide(size));
    NoLoadSegment => "it has no loadable segment";
    TooManyLoadSegments => "it has more than {} loadable segments", Num(MAX_LOADS);
    SegmentsOutOfOrder { index: usize } =>
        "loadable segment {} is out of address order", Num(index);
    SegmentsOverlap { index: usize } =>
        "loadable segment {} overlaps the one before it", Num(index);
    BadMemSize { index: usize } =>
        "loadable segment {} has p_memsz 0 or below p_filesz", Num(index);
    SegmentPastEof { index: usize, end: Word, size: Word } =>
        "loadable segment {} ends at byte {}, past the end of the {}-byte file (truncated?)",
        Num(index), Hex(wide(end)), Num(wide(size));
    BadAlignment { index: usize, align: Word } =>
        "loadable segment {} has alignment {}, not a power of two",
        Num(index), Hex(wide(align));
    OffsetMisaligned { index: usize } =>
        "loadable segment {} has an address and file offset that differ modulo the page size",
        Num(index);
    SpanTooLarge { span: Word } =>
        "its segments span {} bytes, far more than any ld.so", Hex(wide(span));
    EntryOutsideCode { entry: Word } =>
        "its entry point {} is not inside an executable segment", Hex(wide(entry));
    ReadOnlyBss { index: usize } =>
        "loadable segment {} has a bss but is not writable", Num(index);
    HasInterpreter => "it names an interpreter itself: it is a program, not an ld.so";
    IsRld => "it is rld-loader itself, not glibc's ld.so";
}

impl ElfError {
    /// Whether the file is a sound ELF for another architecture: such a
    /// candidate is skipped like a missing one (one `NIX_LD` often serves
    /// 32- and 64-bit programs).
    pub fn is_foreign_arch(self) -> bool {
        matches!(
            self,
            ElfError::WrongClass { .. } | ElfError::WrongMachine { .. }
        )
    }
}

/// A human name for an ELF machine number.
pub fn machine_name(m: u16) -> &'static [u8] {
    // One string of `NUMBER name` lines (see `lookup`); a unit test checks
    // the numbers.
    lookup(
        b"3 i686\n62 x86_64\n183 aarch64\n40 arm\n243 riscv64\n21 ppc64\n22 s390",
        m as usize,
    )
    .unwrap_or(b"an unknown machine")
}

/// The words of [`class_name`] for this build's class.
const OWN_CLASS: &[u8] = if ELF_CLASS == 2 { b"64-bit" } else { b"32-bit" };

fn class_name(class: u8) -> &'static [u8] {
    lookup(b"1 32-bit\n2 64-bit", class as usize).unwrap_or(b"unknown-class")
}

/// What an ELF file of type `e_type` is, in words.
fn type_name(e_type: u16) -> &'static [u8] {
    lookup(
        b"1 an object file\n2 a fixed-address executable\n4 a core dump",
        e_type as usize,
    )
    .unwrap_or(b"an unknown kind of ELF")
}

/// The architecture this build of rld serves, in the words of [`machine_name`].
pub fn own_arch() -> &'static [u8] {
    machine_name(ELF_MACHINE)
}

crate::display_via_show!(ElfError);

/// The fields of the ELF header rld uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    pub entry: Word,
    pub phoff: Word,
    pub phnum: usize,
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    let mut a = [0; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_le_bytes(a)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// An address-sized field (`ElfN_Addr`, `ElfN_Off`, address-sized sizes)
/// of this build's ELF class.
fn word_at(b: &[u8], off: usize) -> Word {
    let mut a = [0; WORD_BYTES];
    a.copy_from_slice(&b[off..off + WORD_BYTES]);
    Word::from_le_bytes(a)
}

/// Checks the ELF header in `head` (the first bytes of a file of
/// `file_size` bytes, see [`clamp_size`]) and returns where the program
/// headers are.
pub fn parse_header(head: &[u8], file_size: Word) -> Result<Header, ElfError> {
    if file_size == 0 {
        return Err(ElfError::Empty);
    }
    if !head.starts_with(&e::ELFMAG[..4]) {
        return Err(ElfError::NotElf);
    }
    if head.len() < EHDR_SIZE {
        return Err(ElfError::TooShort { len: file_size });
    }
    let class = head[e::EI_CLASS as usize];
    if class != ELF_CLASS {
        return Err(ElfError::WrongClass { found: class });
    }
    if head[e::EI_DATA as usize] != e::ELFDATA2LSB as u8 {
        return Err(ElfError::WrongEndian);
    }
    if head[e::EI_VERSION as usize] != e::EV_CURRENT as u8 {
        return Err(ElfError::WrongVersion);
    }
    let machine = u16_at(head, 18);
    if machine != ELF_MACHINE {
        return Err(ElfError::WrongMachine { found: machine });
    }
    let kind = u16_at(head, 16);
    if kind != e::ET_DYN as u16 {
        return Err(ElfError::NotDynamic { found: kind });
    }
    let phentsize = u16_at(head, E_PHENTSIZE);
    if phentsize as usize != PHDR_SIZE {
        return Err(ElfError::BadPhentsize { found: phentsize });
    }
    let phnum = u16_at(head, E_PHNUM);
    if phnum == 0 || phnum as usize > MAX_PHNUM {
        return Err(ElfError::BadPhnum { found: phnum });
    }
    let phoff = word_at(head, E_PHOFF);
    // At most 64 headers of 56 bytes: the product fits any Word. A sum
    // that wraps is refused even when the size is `Word::MAX` (a clamped
    // one, see `clamp_size`); the message shows it as `Word::MAX`.
    let (end, wrapped) = phoff.overflowing_add((phnum as usize * PHDR_SIZE) as Word);
    if wrapped || end > file_size {
        return Err(ElfError::PhdrsPastEof {
            phoff,
            end: if wrapped { Word::MAX } else { end },
            size: file_size,
        });
    }
    Ok(Header {
        entry: word_at(head, E_ENTRY),
        phoff,
        phnum: phnum as usize,
    })
}

/// One `PT_LOAD`, as its program header has it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Segment {
    pub vaddr: Word,
    pub memsz: Word,
    pub offset: Word,
    pub filesz: Word,
    /// `PF_*` flags.
    pub flags: u32,
}

impl Segment {
    /// The fields of the program header `raw` (one entry). Always inlined:
    /// called, it returns the segment through memory and both callers
    /// reload every field from there.
    #[inline(always)]
    fn read(raw: &[u8]) -> Segment {
        Segment {
            flags: u32_at(raw, P_FLAGS),
            offset: word_at(raw, P_OFFSET),
            vaddr: word_at(raw, P_VADDR),
            filesz: word_at(raw, P_FILESZ),
            memsz: word_at(raw, P_MEMSZ),
        }
    }

    pub fn writable(&self) -> bool {
        self.flags & e::PF_W != 0
    }
    pub fn executable(&self) -> bool {
        self.flags & e::PF_X != 0
    }
}

/// Everything needed to map an `ld.so`, checked: where its segments go,
/// its entry point and where its program headers land in
/// memory. The segments stay in the program headers [`plan`] checked, and
/// are read from there again to map them: a copy of them would be moved
/// through every caller.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LoadPlan<'p> {
    phdrs: &'p [u8],
    /// First page-aligned address the segments use.
    pub start: Word,
    /// Bytes from `start` to the end of the last segment's last page.
    pub span: Word,
    pub entry: Word,
    /// Virtual address of the program headers, if a segment maps them.
    pub phdr_vaddr: Option<Word>,
    pub phnum: usize,
}

impl LoadPlan<'_> {
    /// The `PT_LOAD`s, in order.
    pub fn segments(&self) -> impl Iterator<Item = Segment> + '_ {
        self.phdrs
            .chunks_exact(PHDR_SIZE)
            .filter(|raw| u32_at(raw, 0) == e::PT_LOAD)
            .map(Segment::read)
    }
}

/// `x` rounded up to a multiple of `page`; `x` is at most [`MAX_END`] and
/// `page` at most [`MAX_SPAN`], so it does not overflow.
fn page_up(x: Word, page: Word) -> Word {
    (x + page - 1) & !(page - 1)
}

/// Checks the program headers `phdrs` (exactly `header.phnum` entries) of a
/// `file_size`-byte file (see [`clamp_size`]) and builds the mapping plan.
/// `page` is the system page size: a power of two, at most [`MAX_SPAN`].
pub fn plan<'p>(
    header: &Header,
    phdrs: &'p [u8],
    file_size: Word,
    page: Word,
) -> Result<LoadPlan<'p>, ElfError> {
    let entry = header.entry;
    // `parse_header` checked that this sum is within the file.
    let phdrs_end = header.phoff + (header.phnum * PHDR_SIZE) as Word;
    let mut phdr_segment = None;
    // Without PT_PHDR, the headers are in memory if a segment maps their
    // file offset (as the kernel assumes for AT_PHDR).
    let mut phdrs_mapped_at = None;
    let mut entry_in_code = false;
    let mut index = 0;
    // The first segment's page, the last one's address and end so far.
    let (mut start, mut prev_vaddr, mut prev_end) = (0, 0, 0);
    for raw in phdrs.chunks_exact(PHDR_SIZE) {
        match u32_at(raw, 0) {
            e::PT_INTERP => return Err(ElfError::HasInterpreter),
            e::PT_PHDR => {
                phdr_segment = Some(word_at(raw, P_VADDR));
                continue;
            }
            e::PT_LOAD => {}
            _ => continue,
        }
        if index == MAX_LOADS {
            return Err(ElfError::TooManyLoadSegments);
        }
        let seg = Segment::read(raw);
        let seg_align = word_at(raw, P_ALIGN);
        // 0 and 1 mean no alignment; any other value must be a power of
        // two: either way, at most one bit set.
        if seg_align & seg_align.wrapping_sub(1) != 0 {
            return Err(ElfError::BadAlignment {
                index,
                align: seg_align,
            });
        }
        // An empty segment too: the kernel maps nothing for it, but its
        // page would stay in `map`'s first mapping, showing the file with
        // the first segment's protection. No ld.so has one.
        if seg.filesz.max(1) > seg.memsz {
            return Err(ElfError::BadMemSize { index });
        }
        let file_end = match seg.offset.checked_add(seg.filesz) {
            Some(end) if end <= file_size => end,
            end => {
                return Err(ElfError::SegmentPastEof {
                    index,
                    end: end.unwrap_or(Word::MAX),
                    size: file_size,
                });
            }
        };
        // `page` is a power of two: a mask, not a division.
        if (seg.vaddr ^ seg.offset) & (page - 1) != 0 {
            return Err(ElfError::OffsetMisaligned { index });
        }
        // Every later sum of a segment's address and size is at most its
        // `mem_end`, so this bound keeps them all from overflowing.
        let mem_end = match seg.vaddr.checked_add(seg.memsz) {
            Some(end) if end <= MAX_END => end,
            end => {
                return Err(ElfError::SpanTooLarge {
                    span: end.unwrap_or(Word::MAX),
                });
            }
        };
        if seg.memsz > seg.filesz && !seg.writable() {
            return Err(ElfError::ReadOnlyBss { index });
        }
        if index == 0 {
            start = seg.vaddr & !(page - 1);
        } else {
            if seg.vaddr < prev_vaddr {
                return Err(ElfError::SegmentsOutOfOrder { index });
            }
            if seg.vaddr & !(page - 1) < page_up(prev_end, page) {
                return Err(ElfError::SegmentsOverlap { index });
            }
        }
        // Below `vaddr`, the difference wraps to more than any `filesz`.
        entry_in_code |= seg.executable() && entry.wrapping_sub(seg.vaddr) < seg.filesz;
        if phdrs_mapped_at.is_none() && header.phoff >= seg.offset && phdrs_end <= file_end {
            phdrs_mapped_at = Some(header.phoff - seg.offset + seg.vaddr);
        }
        (prev_vaddr, prev_end) = (seg.vaddr, mem_end);
        index += 1;
    }
    if index == 0 {
        return Err(ElfError::NoLoadSegment);
    }
    // The segments are in address order: the last one ends highest.
    let span = page_up(prev_end, page) - start;
    if span > MAX_SPAN {
        return Err(ElfError::SpanTooLarge { span });
    }
    if !entry_in_code {
        return Err(ElfError::EntryOutsideCode { entry });
    }
    Ok(LoadPlan {
        phdrs,
        start,
        span,
        entry,
        phdr_vaddr: phdr_segment.or(phdrs_mapped_at),
        phnum: header.phnum,
    })
}

/// The length of [`RldNote`]'s description: this build's prefix, its NUL,
/// and NULs up to a multiple of four, as notes are padded.
pub const RLD_NOTE_DESC_LEN: usize = (crate::DEFAULT_PREFIX.len() + 1).next_multiple_of(4);

/// rld-loader's note: owner `rld`, type [`RLD_NOTE_TYPE`], and as its
/// description the compiled-in prefix, NUL-terminated. It marks the file
/// as rld-loader, and it tells the `rld` tool where the loader installed at
/// an interpreter path looks by default, whatever it was built with (the
/// NixOS module's 32-bit loader has a prefix of its own).
#[repr(C, align(4))]
pub struct RldNote {
    namesz: u32,
    descsz: u32,
    kind: u32,
    name: [u8; 4],
    desc: [u8; RLD_NOTE_DESC_LEN],
}

impl RldNote {
    /// This build's note.
    pub const THIS_BUILD: RldNote = {
        let prefix = crate::DEFAULT_PREFIX.as_bytes();
        let mut desc = [0; RLD_NOTE_DESC_LEN];
        let mut i = 0;
        while i < prefix.len() {
            desc[i] = prefix[i];
            i += 1;
        }
        RldNote {
            namesz: 4,
            descsz: RLD_NOTE_DESC_LEN as u32,
            kind: RLD_NOTE_TYPE,
            name: *b"rld\0",
            desc,
        }
    };
}

/// The prefix an rld note's description names: the bytes before its first
/// NUL, if they are an absolute path. `None` for a loader built before the
/// note carried its prefix (an empty description).
pub fn prefix_in_rld_note(desc: &[u8]) -> Option<&[u8]> {
    let prefix = desc.split(|&b| b == 0).next()?;
    prefix.starts_with(b"/").then_some(prefix)
}

/// How rld's note starts in the file, but for `descsz` (bytes 4 to 7),
/// which depends on the prefix: `namesz` 4, then the type and the name
/// `rld`.
const RLD_NOTE_NAMESZ: [u8; 4] = 4u32.to_le_bytes();
const RLD_NOTE_TYPE_AND_NAME: [u8; 8] = {
    let t = RLD_NOTE_TYPE.to_le_bytes();
    [t[0], t[1], t[2], t[3], b'r', b'l', b'd', 0]
};

/// Whether `head` (the file's first bytes) holds rld's marker note where
/// rld-loader has it: first thing after its program headers (`.note.rld`
/// leads its first segment with both linkers, on every arch; the arch
/// tests refuse each built loader as its own `ld.so`). One comparison: a
/// search of the whole header buffer cost every start microseconds.
pub fn is_rld(head: &[u8], header: &Header) -> bool {
    // Within `head` before the padding to the note's 4-byte alignment is
    // added, so that nothing can overflow.
    let note = (header.phoff as usize)
        .checked_add(header.phnum * PHDR_SIZE)
        .and_then(|end| head.get(end..)?.get(end.wrapping_neg() % 4..));
    note.is_some_and(|rest| {
        rest.starts_with(&RLD_NOTE_NAMESZ) && rest.get(8..16) == Some(&RLD_NOTE_TYPE_AND_NAME[..])
    })
}

#[cfg(test)]
pub(crate) mod tests;
