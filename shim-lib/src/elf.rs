//! Validation of the `ld.so` rld is about to map: every field the mapping
//! relies on is checked against the file, so a malformed or hostile file is
//! an [`ElfError`], never a bad pointer.

use linux_raw_sys::elf_uapi as e;

use crate::text::Piece::{B, N};
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
use layout::*;

/// Bytes in a [`Word`].
const WORD: usize = core::mem::size_of::<Word>();
// A `Word` converts to and from `usize` with `as`, losing nothing.
const _: () = assert!(WORD == core::mem::size_of::<usize>());

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

/// What is wrong with a file offered as `ld.so`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ElfError {
    Empty,
    TooShort { len: Word },
    NotElf,
    WrongClass { found: u8 },
    WrongEndian,
    WrongVersion,
    WrongMachine { found: u16 },
    NotDynamic { found: u16 },
    BadPhentsize { found: u16 },
    BadPhnum { found: u16 },
    PhdrsPastEof { phoff: Word, end: Word, size: Word },
    NoLoadSegment,
    TooManyLoadSegments,
    SegmentsOutOfOrder { index: usize },
    SegmentsOverlap { index: usize },
    FileSizeExceedsMemSize { index: usize },
    SegmentPastEof { index: usize, end: Word, size: Word },
    BadAlignment { index: usize, align: Word },
    OffsetMisaligned { index: usize },
    SpanTooLarge { span: Word },
    EntryOutsideCode { entry: Word },
    ReadOnlyBss { index: usize },
    HasInterpreter,
    IsRld,
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
    // Keyed text, like the messages: a `match` costs a jump table and a
    // pointer per name. A unit test checks the numbers.
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

/// The architecture this build of rld serves, in the words of [`machine_name`].
pub fn own_arch() -> &'static [u8] {
    machine_name(ELF_MACHINE)
}

/// One line per [`ElfError`], keyed by [`ElfError::key`]; `\x01` is a
/// value in decimal, `\x02` in hex (see [`fill`]).
const ELF_TEXT: &[u8] = crate::text!(table: concat!(
    "0 the file is empty\n",
    "1 the file is only \x01 bytes, too short for an ELF header\n",
    "2 not an ELF file\n",
    "3 it is a \x01 ELF; this program needs a \x01 \x01 ld.so\n",
    "4 the ELF has the wrong byte order\n",
    "5 the ELF version is not 1\n",
    "6 it is an ld.so for \x01 (\x01); this program needs one for \x01\n",
    "7 it is \x01 (e_type \x01), not a position-independent ld.so (ET_DYN)\n",
    "8 its program header size is \x01, not \x01\n",
    "9 it has \x01 program headers (expected 1 to \x01)\n",
    "10 its program headers (\x02..\x02) lie past the end of the \x01-byte file (truncated?)\n",
    "11 it has no loadable segment\n",
    "12 it has more than \x01 loadable segments\n",
    "13 loadable segment \x01 is out of address order\n",
    "14 loadable segment \x01 overlaps the one before it\n",
    "15 loadable segment \x01 has p_filesz larger than p_memsz\n",
    "16 loadable segment \x01 ends at byte \x02, past the end of the \x01-byte file (truncated?)\n",
    "17 loadable segment \x01 has alignment \x02, not a power of two\n",
    "18 loadable segment \x01 has an address and file offset that differ modulo the page size\n",
    "19 its segments span \x02 bytes, far more than any ld.so\n",
    "20 its entry point \x02 is not inside an executable segment\n",
    "21 loadable segment \x01 has a bss but is not writable\n",
    "22 it names an interpreter itself: it is a program, not an ld.so\n",
    "23 it is rld-loader itself, not glibc's ld.so",
));

impl ElfError {
    /// The line of [`ELF_TEXT`]: the variants in order, which the compiler
    /// turns into a read of the discriminant.
    fn key(&self) -> usize {
        use ElfError::*;
        match self {
            Empty => 0,
            TooShort { .. } => 1,
            NotElf => 2,
            WrongClass { .. } => 3,
            WrongEndian => 4,
            WrongVersion => 5,
            WrongMachine { .. } => 6,
            NotDynamic { .. } => 7,
            BadPhentsize { .. } => 8,
            BadPhnum { .. } => 9,
            PhdrsPastEof { .. } => 10,
            NoLoadSegment => 11,
            TooManyLoadSegments => 12,
            SegmentsOutOfOrder { .. } => 13,
            SegmentsOverlap { .. } => 14,
            FileSizeExceedsMemSize { .. } => 15,
            SegmentPastEof { .. } => 16,
            BadAlignment { .. } => 17,
            OffsetMisaligned { .. } => 18,
            SpanTooLarge { .. } => 19,
            EntryOutsideCode { .. } => 20,
            ReadOnlyBss { .. } => 21,
            HasInterpreter => 22,
            IsRld => 23,
        }
    }

    /// The values the line shows, grouped by the fields' shapes so that
    /// variants alike share one arm.
    fn values(&self) -> [usize; 3] {
        use ElfError::*;
        match *self {
            TooShort { len: a } | SpanTooLarge { span: a } | EntryOutsideCode { entry: a } => {
                [wide(a), 0, 0]
            }
            WrongClass { found } => [found as usize, 0, 0],
            WrongMachine { found } | NotDynamic { found } => [found as usize, found as usize, 0],
            BadPhentsize { found } => [found as usize, PHDR_SIZE, 0],
            BadPhnum { found } => [found as usize, MAX_PHNUM, 0],
            PhdrsPastEof { phoff, end, size } => [wide(phoff), wide(end), wide(size)],
            TooManyLoadSegments => [MAX_LOADS, 0, 0],
            SegmentsOutOfOrder { index }
            | SegmentsOverlap { index }
            | FileSizeExceedsMemSize { index }
            | OffsetMisaligned { index }
            | ReadOnlyBss { index } => [index, 0, 0],
            SegmentPastEof { index, end, size } => [index, wide(end), wide(size)],
            BadAlignment { index, align } => [index, wide(align), 0],
            _ => [0; 3],
        }
    }
}

impl Show for ElfError {
    fn show(&self, out: &mut Out<'_>) {
        let (key, [a, b, c]) = (self.key(), self.values());
        let own = B(own_arch());
        let mut args = [N(a), N(b), N(c)];
        // The values that are shown as words.
        match *self {
            ElfError::WrongClass { found } => args = [B(class_name(found)), B(OWN_CLASS), own],
            ElfError::WrongMachine { found } => {
                args[0] = B(machine_name(found));
                args[2] = own;
            }
            ElfError::NotDynamic { found } => {
                args[0] = B(lookup(
                    b"1 an object file\n2 a fixed-address executable\n4 a core dump",
                    found as usize,
                )
                .unwrap_or(b"an unknown kind of ELF"))
            }
            _ => {}
        }
        fill(out, lookup(ELF_TEXT, key).unwrap_or(b""), &args);
    }
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
    let mut a = [0; WORD];
    a.copy_from_slice(&b[off..off + WORD]);
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
    /// reload every field from there (200 bytes more in the loader).
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
/// its alignment, entry point and where its program headers land in
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
    /// Largest `p_align`, at least the page size: the base must honour it.
    pub align: Word,
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
    let mut align = page;
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
        if seg.filesz > seg.memsz {
            return Err(ElfError::FileSizeExceedsMemSize { index });
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
        align = align.max(seg_align);
        (prev_vaddr, prev_end) = (seg.vaddr, mem_end);
        index += 1;
    }
    if index == 0 {
        return Err(ElfError::NoLoadSegment);
    }
    // The segments are in address order: the last one ends highest.
    let span = page_up(prev_end, page) - start;
    if span > MAX_SPAN || align > MAX_SPAN {
        return Err(ElfError::SpanTooLarge {
            span: span.max(align),
        });
    }
    if !entry_in_code {
        return Err(ElfError::EntryOutsideCode { entry });
    }
    Ok(LoadPlan {
        phdrs,
        start,
        span,
        align,
        entry,
        phdr_vaddr: phdr_segment.or(phdrs_mapped_at),
        phnum: header.phnum,
    })
}

/// rld's marker note as it appears in the file: `namesz` 4, `descsz` 0,
/// the type, and the name `rld`.
const RLD_NOTE: [u8; 16] = {
    let t = RLD_NOTE_TYPE.to_le_bytes();
    [
        4, 0, 0, 0, 0, 0, 0, 0, t[0], t[1], t[2], t[3], b'r', b'l', b'd', 0,
    ]
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
    note.is_some_and(|rest| rest.starts_with(&RLD_NOTE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const PAGE: Word = 4096;

    /// (flags, offset, vaddr, filesz, memsz, align) of one PT_LOAD.
    type Load = (u32, Word, Word, Word, Word, Word);

    fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
        b[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// A minimal `ld.so`-shaped image of this build's ELF class and
    /// machine: the header (entry 0x1100), a program header per load, and
    /// room for three pages of segments.
    fn image(loads: &[Load]) -> Vec<u8> {
        let mut b = std::vec![0u8; 3 * PAGE as usize];
        put(&mut b, 0, b"\x7fELF");
        b[4] = ELF_CLASS;
        b[5] = 1;
        b[6] = 1;
        put(&mut b, 16, &3u16.to_le_bytes());
        put(&mut b, 18, &ELF_MACHINE.to_le_bytes());
        put(&mut b, 20, &1u32.to_le_bytes());
        put(&mut b, E_ENTRY, &(0x1100 as Word).to_le_bytes());
        put(&mut b, E_PHOFF, &(EHDR_SIZE as Word).to_le_bytes());
        // e_ehsize, just before e_phentsize in both classes.
        put(&mut b, E_PHENTSIZE - 2, &(EHDR_SIZE as u16).to_le_bytes());
        put(&mut b, E_PHENTSIZE, &(PHDR_SIZE as u16).to_le_bytes());
        put(&mut b, E_PHNUM, &(loads.len() as u16).to_le_bytes());
        for (i, &(flags, offset, vaddr, filesz, memsz, align)) in loads.iter().enumerate() {
            let p = EHDR_SIZE + i * PHDR_SIZE;
            put(&mut b, p, &e::PT_LOAD.to_le_bytes());
            put(&mut b, p + P_FLAGS, &flags.to_le_bytes());
            // p_paddr follows p_vaddr.
            for (at, v) in [
                (P_OFFSET, offset),
                (P_VADDR, vaddr),
                (P_VADDR + WORD, vaddr),
                (P_FILESZ, filesz),
                (P_MEMSZ, memsz),
                (P_ALIGN, align),
            ] {
                put(&mut b, p + at, &v.to_le_bytes());
            }
        }
        b
    }

    fn with_entry(mut b: Vec<u8>, entry: Word) -> Vec<u8> {
        put(&mut b, E_ENTRY, &entry.to_le_bytes());
        b
    }

    const R: u32 = e::PF_R;
    const RX: u32 = e::PF_R | e::PF_X;
    const RW: u32 = e::PF_R | e::PF_W;
    const RWX: u32 = RW | e::PF_X;

    fn good() -> Vec<u8> {
        image(&[
            (R, 0, 0, 0x1000, 0x1000, PAGE),
            (RX, 0x1000, 0x1000, 0x800, 0x800, PAGE),
            (RW, 0x2000, 0x2000, 0x100, 0x3000, PAGE),
        ])
    }

    fn check(b: &[u8]) -> Result<LoadPlan<'_>, ElfError> {
        check_as(b, b.len() as Word, PAGE)
    }

    /// As [`check`], for a file of `size` bytes that starts with `b`.
    fn check_as(b: &[u8], size: Word, page: Word) -> Result<LoadPlan<'_>, ElfError> {
        let h = parse_header(b, size)?;
        let start = h.phoff as usize;
        plan(&h, &b[start..start + h.phnum * PHDR_SIZE], size, page)
    }

    #[test]
    fn accepts_a_well_formed_image() {
        let b = good();
        let p = check(&b).unwrap();
        assert_eq!(p.segments().count(), 3);
        assert_eq!(p.span, 0x5000);
        assert_eq!(p.entry, 0x1100);
        assert_eq!(p.phdr_vaddr, Some(EHDR_SIZE as Word));
    }

    #[test]
    fn accepts_the_machines_real_ld_so() {
        let b = std::fs::read(crate::REAL_LD_SO).unwrap();
        let p = check(&b).unwrap();
        assert!(p.segments().count() >= 2);
        assert!(p.segments().any(|s| s.executable()));
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(parse_header(b"", 0), Err(ElfError::Empty));
        assert_eq!(parse_header(b"root:x:0:0", 10), Err(ElfError::NotElf));
        assert_eq!(
            parse_header(b"\x7fELF\x02", 5),
            Err(ElfError::TooShort { len: 5 })
        );
        let g = good();
        let mut b = g.clone();
        let other = 3 - ELF_CLASS;
        b[4] = other;
        assert_eq!(check(&b), Err(ElfError::WrongClass { found: other }));
        let mut b = g.clone();
        b[5] = 2;
        assert_eq!(check(&b), Err(ElfError::WrongEndian));
        let mut b = g.clone();
        b[6] = 0;
        assert_eq!(check(&b), Err(ElfError::WrongVersion));
        let mut b = g.clone();
        b[18..20].copy_from_slice(&183u16.to_le_bytes());
        assert_eq!(check(&b), Err(ElfError::WrongMachine { found: 183 }));
        assert!(check(&b).unwrap_err().is_foreign_arch());
        let mut b = g.clone();
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(check(&b), Err(ElfError::NotDynamic { found: 2 }));
        // The other class's program header size.
        let other = 88 - PHDR_SIZE as u16;
        let mut b = g.clone();
        put(&mut b, E_PHENTSIZE, &other.to_le_bytes());
        assert_eq!(check(&b), Err(ElfError::BadPhentsize { found: other }));
        let mut b = g.clone();
        put(&mut b, E_PHNUM, &0u16.to_le_bytes());
        assert_eq!(check(&b), Err(ElfError::BadPhnum { found: 0 }));
        let mut b = g.clone();
        put(&mut b, E_PHOFF, &Word::MAX.to_le_bytes());
        assert!(matches!(check(&b), Err(ElfError::PhdrsPastEof { .. })));
    }

    #[test]
    fn rejects_truncated_files() {
        let g = good();
        // Cut inside the program headers, then inside a segment's file data.
        let cut = &g[..100];
        assert!(matches!(check(cut), Err(ElfError::PhdrsPastEof { .. })));
        let cut = &g[..0x2050];
        assert!(matches!(
            check(cut),
            Err(ElfError::SegmentPastEof { index: 2, .. })
        ));
    }

    #[test]
    fn rejects_bad_segments() {
        let cases: &[(&[Load], ElfError)] = &[
            (
                &[(RX, 0, 0, 0x2000, 0x1000, PAGE)],
                ElfError::FileSizeExceedsMemSize { index: 0 },
            ),
            (
                &[(RX, 0, 0, 0x2000, 0x2000, 3)],
                ElfError::BadAlignment { index: 0, align: 3 },
            ),
            (
                &[
                    (RX, 0, 0, 0x2000, 0x2000, PAGE),
                    (RW, 0x2000, 0x1000, 0x10, 0x10, PAGE),
                ],
                ElfError::SegmentsOverlap { index: 1 },
            ),
            (
                &[
                    (RW, 0x2000, 0x2000, 0x10, 0x10, PAGE),
                    (RX, 0, 0, 0x2000, 0x2000, PAGE),
                ],
                ElfError::SegmentsOutOfOrder { index: 1 },
            ),
            (
                &[(RX, 0x10, 0x1000, 0x2000, 0x2000, PAGE)],
                ElfError::OffsetMisaligned { index: 0 },
            ),
            (
                &[
                    (RX, 0, 0, 0x2000, 0x2000, PAGE),
                    (RW, 0, 0x7000_0000, 0x10, 0x10, PAGE),
                ],
                ElfError::SpanTooLarge { span: 0x7000_1000 },
            ),
            (
                &[(RX, 0, 0, 0x2000, Word::MAX, PAGE)],
                ElfError::SpanTooLarge { span: Word::MAX },
            ),
            (
                &[(R, 0, 0, 0x2000, 0x2000, PAGE)],
                ElfError::EntryOutsideCode { entry: 0x1100 },
            ),
            (
                &[(RX, 0, 0, 0x2000, 0x3000, PAGE)],
                ElfError::ReadOnlyBss { index: 0 },
            ),
            (
                &[(RX, 0, 0, 0x8000_0000, 0x8000_0000, PAGE)],
                ElfError::SegmentPastEof {
                    index: 0,
                    end: 0x8000_0000,
                    size: 3 * PAGE,
                },
            ),
        ];
        for (loads, want) in cases {
            assert_eq!(check(&image(loads)), Err(*want), "{loads:x?}");
        }
    }

    #[test]
    fn rejects_an_image_without_load_segments() {
        let mut b = good();
        for i in 0..3 {
            let p = EHDR_SIZE + i * PHDR_SIZE;
            b[p..p + 4].copy_from_slice(&e::PT_NOTE.to_le_bytes());
        }
        assert_eq!(check(&b), Err(ElfError::NoLoadSegment));
    }

    #[test]
    fn rejects_a_program_with_an_interpreter() {
        let mut b = good();
        put(&mut b, EHDR_SIZE, &e::PT_INTERP.to_le_bytes());
        assert_eq!(check(&b), Err(ElfError::HasInterpreter));
    }

    #[test]
    fn recognises_rlds_note() {
        let mut b = good();
        let h = parse_header(&b, b.len() as Word).unwrap();
        assert!(!is_rld(&b, &h));
        // rld's note right behind the three program headers.
        let at = EHDR_SIZE + 3 * PHDR_SIZE;
        let rld = [
            4u32.to_le_bytes(),
            0u32.to_le_bytes(),
            RLD_NOTE_TYPE.to_le_bytes(),
        ]
        .concat();
        b[at..at + 12].copy_from_slice(&rld);
        b[at + 12..at + 16].copy_from_slice(b"rld\0");
        assert!(is_rld(&b, &h));
        assert!(!is_rld(&b[..at + 15], &h), "only a whole note counts");
        let far = Header {
            phoff: Word::MAX - 8,
            ..h
        };
        assert!(!is_rld(&b, &far), "offsets that overflow are no note");
        // Behind headers that end unaligned, at the next multiple of 4.
        for (phoff, found) in [
            (h.phoff - 3, true),
            (h.phoff - 1, true),
            (h.phoff + 1, false),
        ] {
            assert_eq!(is_rld(&b, &Header { phoff, ..h }), found, "{phoff}");
        }
        b[at + 12] = b'x';
        assert!(!is_rld(&b, &h));
    }

    #[test]
    fn large_alignment_is_kept() {
        let b = image(&[(RX, 0, 0, 0x2000, 0x2000, 0x20_0000)]);
        assert_eq!(check(&b).unwrap().align, 0x20_0000);
    }

    #[test]
    fn names_match_the_elf_numbers() {
        for (m, name) in [
            (e::EM_386, "i686"),
            (e::EM_X86_64, "x86_64"),
            (e::EM_AARCH64, "aarch64"),
            (e::EM_ARM, "arm"),
            (e::EM_RISCV, "riscv64"),
            (e::EM_PPC64, "ppc64"),
            (e::EM_S390, "s390"),
            (0xbeef, "an unknown machine"),
        ] {
            assert_eq!(machine_name(m as u16), name.as_bytes());
        }
        assert_eq!(class_name(e::ELFCLASS32 as u8), b"32-bit");
        assert_eq!(class_name(e::ELFCLASS64 as u8), b"64-bit");
        assert_eq!(class_name(ELF_CLASS), OWN_CLASS);
        assert_eq!(
            std::format!(
                "{}",
                ElfError::NotDynamic {
                    found: e::ET_EXEC as u16
                }
            ),
            "it is a fixed-address executable (e_type 2), not a position-independent ld.so (ET_DYN)"
        );
        assert_eq!(
            std::format!(
                "{}",
                ElfError::NotDynamic {
                    found: e::ET_CORE as u16
                }
            ),
            "it is a core dump (e_type 4), not a position-independent ld.so (ET_DYN)"
        );
    }

    #[test]
    fn every_error_displays_as_one_line() {
        use ElfError::*;
        let all = [
            Empty,
            TooShort { len: 5 },
            NotElf,
            WrongClass { found: 1 },
            WrongEndian,
            WrongVersion,
            WrongMachine { found: 183 },
            NotDynamic { found: 2 },
            BadPhentsize { found: 32 },
            BadPhnum { found: 0 },
            PhdrsPastEof {
                phoff: 64,
                end: 0x1000,
                size: 100,
            },
            NoLoadSegment,
            TooManyLoadSegments,
            SegmentsOutOfOrder { index: 1 },
            SegmentsOverlap { index: 1 },
            FileSizeExceedsMemSize { index: 1 },
            SegmentPastEof {
                index: 1,
                end: 9,
                size: 3,
            },
            BadAlignment { index: 1, align: 3 },
            OffsetMisaligned { index: 1 },
            SpanTooLarge { span: Word::MAX },
            EntryOutsideCode { entry: 0x10 },
            ReadOnlyBss { index: 1 },
            HasInterpreter,
            IsRld,
        ];
        let mut keys: Vec<usize> = all.iter().map(|e| e.key()).collect();
        keys.dedup();
        assert_eq!(
            keys.len(),
            ELF_TEXT.split(|&b| b == b'\n').count(),
            "one line per error"
        );
        for err in all {
            let s = std::format!("{err}");
            assert!(!s.contains(['\n', '\x01', '\x02']) && s.len() > 10, "{s}");
        }
        assert_eq!(
            std::format!("{}", WrongMachine { found: 183 }),
            std::format!(
                "it is an ld.so for aarch64 (183); this program needs one for {}",
                std::str::from_utf8(own_arch()).unwrap()
            )
        );
        assert_eq!(
            std::format!(
                "{}",
                SegmentPastEof {
                    index: 2,
                    end: 0x1f,
                    size: 3
                }
            ),
            "loadable segment 2 ends at byte 0x1f, past the end of the 3-byte file (truncated?)"
        );
    }

    #[test]
    fn file_sizes_past_a_word_clamp() {
        assert_eq!(clamp_size(0), 0);
        assert_eq!(clamp_size(4096), 4096);
        assert_eq!(clamp_size(Word::MAX as usize as u64), Word::MAX);
        assert_eq!(clamp_size(u64::MAX), Word::MAX);
        #[cfg(target_pointer_width = "32")]
        assert_eq!(clamp_size(1 << 32), Word::MAX);
    }

    /// The sums the checks make, at the edges of a `Word`: each must be
    /// refused with the error a check in unbounded arithmetic gives, on
    /// every target, and never overflow (the tests build with overflow
    /// checks). A file of `Word::MAX` bytes is what a clamped size gives.
    #[test]
    fn sums_at_the_top_of_a_word() {
        // The last page a Word can name; the test image's size.
        const TOP: Word = Word::MAX & !(PAGE - 1);
        const SMALL: Word = 3 * PAGE;
        let cases: &[(&[Load], Word, ElfError)] = &[
            // p_offset + p_filesz wraps: past the end of any file.
            (
                &[(RX, TOP, TOP, 2 * PAGE, 2 * PAGE, PAGE)],
                Word::MAX,
                ElfError::SegmentPastEof {
                    index: 0,
                    end: Word::MAX,
                    size: Word::MAX,
                },
            ),
            (
                &[(RX, TOP, TOP, 2 * PAGE, 2 * PAGE, PAGE)],
                SMALL,
                ElfError::SegmentPastEof {
                    index: 0,
                    end: Word::MAX,
                    size: SMALL,
                },
            ),
            // Ending at the last byte a Word can name does not wrap: past
            // a small file, inside one of Word::MAX bytes (where the
            // address is what is wrong).
            (
                &[(RX, TOP, TOP, PAGE - 1, PAGE - 1, PAGE)],
                SMALL,
                ElfError::SegmentPastEof {
                    index: 0,
                    end: Word::MAX,
                    size: SMALL,
                },
            ),
            (
                &[(RX, TOP, TOP, PAGE - 1, PAGE - 1, PAGE)],
                Word::MAX,
                ElfError::SpanTooLarge { span: Word::MAX },
            ),
            // p_vaddr + p_memsz wraps.
            (
                &[(RW, 0, TOP, 0x10, 2 * PAGE, PAGE)],
                SMALL,
                ElfError::SpanTooLarge { span: Word::MAX },
            ),
            // It does not wrap, but rounding it up to a page would.
            (
                &[(RW, 0, TOP, 0x10, PAGE - 1, PAGE)],
                SMALL,
                ElfError::SpanTooLarge { span: Word::MAX },
            ),
            // One byte past MAX_END, and a segment after one that ends
            // there.
            (
                &[(RWX, 0, MAX_END - PAGE, 0x10, PAGE + 1, PAGE)],
                SMALL,
                ElfError::SpanTooLarge { span: MAX_END + 1 },
            ),
            (
                &[
                    (RWX, 0, MAX_END - PAGE, 0x10, PAGE, PAGE),
                    (RW, 0, MAX_END, 0x10, 0x10, PAGE),
                ],
                SMALL,
                ElfError::SpanTooLarge {
                    span: MAX_END + 0x10,
                },
            ),
            // The largest alignment a Word holds, and one that is not a
            // power of two.
            (
                &[(RX, 0, 0, 0x2000, 0x2000, 1 << (Word::BITS - 1))],
                SMALL,
                ElfError::SpanTooLarge {
                    span: 1 << (Word::BITS - 1),
                },
            ),
            (
                &[(RX, 0, 0, 0x2000, 0x2000, Word::MAX)],
                SMALL,
                ElfError::BadAlignment {
                    index: 0,
                    align: Word::MAX,
                },
            ),
            (
                &[(RX, 0, 0, 0x2000, 0x2000, MAX_SPAN * 2)],
                SMALL,
                ElfError::SpanTooLarge { span: MAX_SPAN * 2 },
            ),
            // Segments far apart: the span, not the end, is too large.
            (
                &[
                    (RX, 0, 0, 0x2000, 0x2000, PAGE),
                    (RW, 0, MAX_END - PAGE, 0x10, 0x10, PAGE),
                ],
                SMALL,
                ElfError::SpanTooLarge { span: MAX_END },
            ),
        ];
        for &(loads, size, want) in cases {
            let got = check_as(&image(loads), size, PAGE).map(drop);
            assert_eq!(got, Err(want), "{loads:x?} in {size:#x} bytes");
        }
    }

    /// Addresses past 4 GiB, which only 64-bit words hold.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_span_past_4_gib_is_too_large() {
        let b = image(&[
            (RX, 0, 0, 0x2000, 0x2000, PAGE),
            (RW, 0, 0x7_0000_0000, 0x10, 0x10, PAGE),
        ]);
        assert_eq!(
            check(&b),
            Err(ElfError::SpanTooLarge {
                span: 0x7_0000_1000
            })
        );
    }

    #[test]
    fn segments_up_to_max_end_are_mapped() {
        // The highest segment allowed, with the largest page allowed: its
        // end rounds up to MAX_END without overflowing.
        let at = MAX_END - MAX_SPAN;
        let b = with_entry(image(&[(RWX, 0, at, 0x10, MAX_SPAN - 1, 0)]), at);
        let p = check_as(&b, b.len() as Word, MAX_SPAN).unwrap();
        assert_eq!((p.start, p.span), (at, MAX_SPAN));
        assert_eq!(p.align, MAX_SPAN);
        let b = with_entry(image(&[(RWX, 0, MAX_END - PAGE, 0x10, PAGE, 0)]), 0);
        assert_eq!(
            check(&b),
            Err(ElfError::EntryOutsideCode { entry: 0 }),
            "only an entry point was wrong"
        );
        let b = with_entry(b, Word::MAX);
        assert_eq!(
            check(&b),
            Err(ElfError::EntryOutsideCode { entry: Word::MAX })
        );
    }

    #[test]
    fn program_headers_at_the_top_of_a_word() {
        let g = good();
        let table = (3 * PHDR_SIZE) as Word;
        let at = |phoff: Word| {
            let mut b = g.clone();
            put(&mut b, E_PHOFF, &phoff.to_le_bytes());
            b
        };
        // Wrapping: refused even by a file of Word::MAX bytes.
        for size in [Word::MAX, 3 * PAGE] {
            assert_eq!(
                parse_header(&at(Word::MAX - 8), size),
                Err(ElfError::PhdrsPastEof {
                    phoff: Word::MAX - 8,
                    end: Word::MAX,
                    size,
                })
            );
        }
        // Ending on the last byte: inside such a file, past a small one.
        let phoff = Word::MAX - table;
        assert_eq!(
            parse_header(&at(phoff), Word::MAX).map(|h| h.phoff),
            Ok(phoff)
        );
        assert_eq!(
            parse_header(&at(phoff), 3 * PAGE),
            Err(ElfError::PhdrsPastEof {
                phoff,
                end: Word::MAX,
                size: 3 * PAGE,
            })
        );
    }

    /// The checks of `parse_header` and `plan` restated in `u128`, where
    /// nothing a `Word` holds can overflow: any `Word` input must give the
    /// same answer (and no overflow panic) on every target.
    mod props {
        use super::*;
        use proptest::prelude::*;
        use std::vec::Vec;

        /// An alignment that suits every page size tried.
        const G: Word = 0x1_0000;

        /// Values where `Word` arithmetic could go wrong, and any.
        fn word() -> impl Strategy<Value = Word> {
            let near = |at: Word| {
                (0..0x4000 as Word).prop_map(move |d| at.wrapping_sub(0x2000).wrapping_add(d))
            };
            prop_oneof![
                0..0x4000 as Word,
                near(Word::MAX),
                near(MAX_END),
                near(MAX_SPAN),
                near(1 << (Word::BITS - 1)),
                any::<Word>(),
            ]
        }

        fn flags() -> impl Strategy<Value = u32> {
            prop_oneof![Just(R), Just(RX), Just(RW), Just(RWX)]
        }

        fn align() -> impl Strategy<Value = Word> {
            prop_oneof![
                Just(0),
                Just(1),
                Just(PAGE),
                Just(G),
                Just(MAX_SPAN),
                Just(MAX_SPAN * 2),
                Just(1 << (Word::BITS - 1)),
                Just(Word::MAX),
                word(),
            ]
        }

        /// One segment of edge values; its offset often agrees with its
        /// address modulo the page, and its memsz often extends filesz.
        fn segment() -> impl Strategy<Value = Load> {
            (
                flags(),
                word(),
                word(),
                any::<bool>(),
                word(),
                prop_oneof![word(), 0..0x4000 as Word],
                any::<bool>(),
                align(),
            )
                .prop_map(
                    |(flags, vaddr, off, congruent, filesz, more, extend, align)| {
                        let offset = if congruent {
                            (off & !(G - 1)) | (vaddr & (G - 1))
                        } else {
                            off
                        };
                        let memsz = if extend {
                            filesz.saturating_add(more)
                        } else {
                            more
                        };
                        (flags, offset, vaddr, filesz, memsz, align)
                    },
                )
        }

        /// Up to nine plausible segments from an edge value, mostly in
        /// address order, a few a step or two back: these pass the
        /// per-segment checks often enough to reach the order, overlap,
        /// count, span and entry checks.
        fn chain() -> impl Strategy<Value = Vec<Load>> {
            let step =
                prop_oneof![8 => 0..3 as Word, 1 => Just(Word::MAX), 1 => Just(Word::MAX - 1)];
            let parts = (flags(), step, 0..0x3000 as Word, 0..0x3000 as Word);
            let base = prop_oneof![Just(0), 0..MAX_END, word()];
            (base, prop::collection::vec(parts, 1..=MAX_LOADS + 1)).prop_map(|(base, parts)| {
                let mut at = base & !(G - 1);
                let mut loads = Vec::new();
                for (flags, step, filesz, bss) in parts {
                    // A step of Word::MAX is one G back, wrapping.
                    let vaddr = at.wrapping_add(step.wrapping_mul(G));
                    let memsz = if flags & e::PF_W != 0 {
                        filesz + bss
                    } else {
                        filesz
                    };
                    loads.push((flags, 0, vaddr, filesz, memsz, G));
                    at = vaddr
                        .wrapping_add(memsz)
                        .checked_next_multiple_of(G)
                        .unwrap_or(0);
                }
                loads
            })
        }

        fn wide(w: Word) -> u128 {
            w as u128
        }

        /// The `Word` an unbounded value shows as: `Word::MAX` past it.
        fn shown(x: u128) -> Word {
            Word::try_from(x).unwrap_or(Word::MAX)
        }

        fn model(loads: &[Load], entry: Word, size: Word, page: Word) -> Result<(), ElfError> {
            use ElfError::*;
            let p = wide(page);
            let down = |x: u128| x / p * p;
            let up = |x: u128| x.div_ceil(p) * p;
            let mut align = p;
            let mut prev: Option<(u128, u128)> = None;
            for (index, &(flags, offset, vaddr, filesz, memsz, a)) in loads.iter().enumerate() {
                let (vaddr, offset) = (wide(vaddr), wide(offset));
                if index == MAX_LOADS {
                    return Err(TooManyLoadSegments);
                }
                if a > 1 && !a.is_power_of_two() {
                    return Err(BadAlignment { index, align: a });
                }
                if filesz > memsz {
                    return Err(FileSizeExceedsMemSize { index });
                }
                let file_end = offset + wide(filesz);
                if file_end > wide(size) {
                    return Err(SegmentPastEof {
                        index,
                        end: shown(file_end),
                        size,
                    });
                }
                if vaddr % p != offset % p {
                    return Err(OffsetMisaligned { index });
                }
                let mem_end = vaddr + wide(memsz);
                if mem_end > wide(MAX_END) {
                    return Err(SpanTooLarge {
                        span: shown(mem_end),
                    });
                }
                if memsz > filesz && flags & e::PF_W == 0 {
                    return Err(ReadOnlyBss { index });
                }
                if let Some((prev_vaddr, prev_end)) = prev {
                    if vaddr < prev_vaddr {
                        return Err(SegmentsOutOfOrder { index });
                    }
                    if down(vaddr) < up(prev_end) {
                        return Err(SegmentsOverlap { index });
                    }
                }
                align = align.max(wide(a));
                prev = Some((vaddr, mem_end));
            }
            let Some((_, end)) = prev else {
                return Err(NoLoadSegment);
            };
            let span = up(end) - down(wide(loads[0].2));
            if span > wide(MAX_SPAN) || align > wide(MAX_SPAN) {
                return Err(SpanTooLarge {
                    span: shown(span.max(align)),
                });
            }
            let at = wide(entry);
            if !loads.iter().any(|&(flags, _, vaddr, filesz, ..)| {
                flags & e::PF_X != 0 && at >= wide(vaddr) && at < wide(vaddr) + wide(filesz)
            }) {
                return Err(EntryOutsideCode { entry });
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4096))]

            #[test]
            fn plan_agrees_with_unbounded_arithmetic(
                loads in prop_oneof![chain(), prop::collection::vec(segment(), 1..4)],
                inside in any::<Option<(prop::sample::Index, Word)>>(),
                entry in word(),
                size in prop_oneof![Just(3 * PAGE), Just(Word::MAX), word()],
                page in prop_oneof![Just(PAGE), Just(16 * 1024), Just(G), Just(MAX_SPAN)],
            ) {
                // An entry point inside a segment, or anywhere.
                let entry = match inside {
                    Some((i, d)) => loads[i.index(loads.len())].2.wrapping_add(d % 0x1000),
                    None => entry,
                };
                let b = with_entry(image(&loads), entry);
                let header = parse_header(&b, b.len() as Word).unwrap();
                let phdrs = &b[EHDR_SIZE..EHDR_SIZE + loads.len() * PHDR_SIZE];
                let got = plan(&header, phdrs, size, page);
                prop_assert_eq!(got.map(drop), model(&loads, entry, size, page));
                if let Ok(p) = got {
                    let first = wide(loads[0].2) / wide(page) * wide(page);
                    let last = loads[loads.len() - 1];
                    let end = (wide(last.2) + wide(last.4)).div_ceil(wide(page)) * wide(page);
                    prop_assert_eq!(wide(p.start), first);
                    prop_assert_eq!(wide(p.span), end - first);
                    prop_assert_eq!(p.segments().count(), loads.len());
                }
            }

            #[test]
            fn header_agrees_with_unbounded_arithmetic(
                phoff in word(),
                phnum in 1..=MAX_PHNUM as u16,
                size in prop_oneof![Just(Word::MAX), word()],
            ) {
                let mut b = good();
                put(&mut b, E_PHOFF, &phoff.to_le_bytes());
                put(&mut b, E_PHNUM, &phnum.to_le_bytes());
                let end = wide(phoff) + phnum as u128 * PHDR_SIZE as u128;
                let want = if size == 0 {
                    Err(ElfError::Empty)
                } else if end > wide(size) {
                    Err(ElfError::PhdrsPastEof { phoff, end: shown(end), size })
                } else {
                    Ok(Header { entry: 0x1100, phoff, phnum: phnum as usize })
                };
                prop_assert_eq!(parse_header(&b, size), want);
            }
        }
    }
}
