use super::*;
use std::string::ToString;
use std::vec::Vec;

const PAGE: Word = 4096;

/// (flags, offset, vaddr, filesz, memsz, align) of one PT_LOAD.
pub(crate) type Load = (u32, Word, Word, Word, Word, Word);

fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
    b[at..at + bytes.len()].copy_from_slice(bytes);
}

/// A minimal `ld.so`-shaped image of this build's ELF class and
/// machine: the header (entry 0x1100), a program header per load, and
/// room for three pages of segments.
pub(crate) fn image(loads: &[Load]) -> Vec<u8> {
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
            (P_VADDR + WORD_BYTES, vaddr),
            (P_FILESZ, filesz),
            (P_MEMSZ, memsz),
            (P_ALIGN, align),
        ] {
            put(&mut b, p + at, &v.to_le_bytes());
        }
    }
    b
}

pub(crate) fn with_entry(mut b: Vec<u8>, entry: Word) -> Vec<u8> {
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
            ElfError::BadMemSize { index: 0 },
        ),
        (
            &[
                (R, 0, 0x800, 0, 0, PAGE),
                (RX, 0, 0x1000, 0x2000, 0x2000, PAGE),
            ],
            ElfError::BadMemSize { index: 0 },
        ),
        (
            &[(RX, 0, 0, 0x2000, 0x2000, PAGE), (R, 0, 0x2800, 0, 0, PAGE)],
            ElfError::BadMemSize { index: 1 },
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
fn rlds_note_names_its_prefix() {
    // This build's note, as the loader embeds it, is recognised whatever
    // its description's length.
    let note = RldNote::THIS_BUILD;
    let size = core::mem::size_of::<RldNote>();
    #[expect(
        unsafe_code,
        reason = "the note's bytes, as the loader's file holds them"
    )]
    // SAFETY: RldNote is repr(C) of u32s and byte arrays with no padding
    // (the description's length is a multiple of 4), so every byte is
    // initialised.
    let bytes = unsafe { core::slice::from_raw_parts(&note as *const RldNote as *const u8, size) };
    assert_eq!(size, 16 + RLD_NOTE_DESC_LEN);
    let mut b = good();
    let h = parse_header(&b, b.len() as Word).unwrap();
    let at = EHDR_SIZE + 3 * PHDR_SIZE;
    b.resize(b.len().max(at + size), 0);
    b[at..at + size].copy_from_slice(bytes);
    assert!(is_rld(&b, &h));
    let desc = &bytes[16..];
    assert_eq!(
        prefix_in_rld_note(desc),
        Some(crate::DEFAULT_PREFIX.as_bytes())
    );
    assert_eq!(
        prefix_in_rld_note(b"/opt/rld\0\0\0\0"),
        Some(&b"/opt/rld"[..])
    );
    assert_eq!(
        prefix_in_rld_note(b""),
        None,
        "a loader from before the prefix"
    );
    assert_eq!(prefix_in_rld_note(b"rld\0"), None, "not an absolute path");
}

#[test]
fn a_large_alignment_is_accepted() {
    // Mapped at a page boundary only, as the kernel maps an interpreter.
    let b = image(&[(RX, 0, 0, 0x2000, 0x2000, 0x20_0000)]);
    assert!(check(&b).is_ok());
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
    let own = std::str::from_utf8(own_arch()).unwrap();
    let own_class = std::str::from_utf8(OWN_CLASS).unwrap();
    let all = [
        (Empty, "the file is empty".to_string()),
        (
            TooShort { len: 5 },
            "the file is only 5 bytes, too short for an ELF header".into(),
        ),
        (NotElf, "not an ELF file".into()),
        (
            WrongClass { found: 1 },
            std::format!("it is a 32-bit ELF; this program needs a {own_class} {own} ld.so"),
        ),
        (WrongEndian, "the ELF has the wrong byte order".into()),
        (WrongVersion, "the ELF version is not 1".into()),
        (
            WrongMachine { found: 183 },
            std::format!("it is an ld.so for aarch64 (183); this program needs one for {own}"),
        ),
        (
            NotDynamic { found: 1 },
            "it is an object file (e_type 1), not a position-independent ld.so (ET_DYN)".into(),
        ),
        (
            BadPhentsize { found: 32 },
            std::format!("its program header size is 32, not {PHDR_SIZE}"),
        ),
        (
            BadPhnum { found: 0 },
            "it has 0 program headers (expected 1 to 64)".into(),
        ),
        (
            PhdrsPastEof {
                phoff: 64,
                end: 0x1000,
                size: 100,
            },
            "its program headers (0x40..0x1000) lie past the end of the 100-byte file (truncated?)"
                .into(),
        ),
        (NoLoadSegment, "it has no loadable segment".into()),
        (
            TooManyLoadSegments,
            "it has more than 8 loadable segments".into(),
        ),
        (
            SegmentsOutOfOrder { index: 1 },
            "loadable segment 1 is out of address order".into(),
        ),
        (
            SegmentsOverlap { index: 1 },
            "loadable segment 1 overlaps the one before it".into(),
        ),
        (
            BadMemSize { index: 1 },
            "loadable segment 1 has p_memsz 0 or below p_filesz".into(),
        ),
        (
            SegmentPastEof {
                index: 1,
                end: 9,
                size: 3,
            },
            "loadable segment 1 ends at byte 0x9, past the end of the 3-byte file (truncated?)"
                .into(),
        ),
        (
            BadAlignment { index: 1, align: 3 },
            "loadable segment 1 has alignment 0x3, not a power of two".into(),
        ),
        (
            OffsetMisaligned { index: 1 },
            "loadable segment 1 has an address and file offset that differ modulo the page size"
                .into(),
        ),
        (
            SpanTooLarge { span: 0x4000_0001 },
            "its segments span 0x40000001 bytes, far more than any ld.so".into(),
        ),
        (
            EntryOutsideCode { entry: 0x10 },
            "its entry point 0x10 is not inside an executable segment".into(),
        ),
        (
            ReadOnlyBss { index: 1 },
            "loadable segment 1 has a bss but is not writable".into(),
        ),
        (
            HasInterpreter,
            "it names an interpreter itself: it is a program, not an ld.so".into(),
        ),
        (IsRld, "it is rld-loader itself, not glibc's ld.so".into()),
    ];
    for (err, want) in all {
        let s = std::format!("{err}");
        assert!(!s.contains('\n') && !s.contains("{}"), "{s}");
        assert_eq!(s, want);
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
        // An alignment that is not a power of two (the largest one that
        // is, is accepted: see below).
        (
            &[(RX, 0, 0, 0x2000, 0x2000, Word::MAX)],
            SMALL,
            ElfError::BadAlignment {
                index: 0,
                align: Word::MAX,
            },
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
    let largest = image(&[(RX, 0, 0, 0x2000, 0x2000, 1 << (Word::BITS - 1))]);
    assert!(check_as(&largest, SMALL, PAGE).is_ok());
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
        let step = prop_oneof![8 => 0..3 as Word, 1 => Just(Word::MAX), 1 => Just(Word::MAX - 1)];
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
        let mut prev: Option<(u128, u128)> = None;
        for (index, &(flags, offset, vaddr, filesz, memsz, a)) in loads.iter().enumerate() {
            let (vaddr, offset) = (wide(vaddr), wide(offset));
            if index == MAX_LOADS {
                return Err(TooManyLoadSegments);
            }
            if a > 1 && !a.is_power_of_two() {
                return Err(BadAlignment { index, align: a });
            }
            if filesz > memsz || memsz == 0 {
                return Err(BadMemSize { index });
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
            prev = Some((vaddr, mem_end));
        }
        let Some((_, end)) = prev else {
            return Err(NoLoadSegment);
        };
        let span = up(end) - down(wide(loads[0].2));
        if span > wide(MAX_SPAN) {
            return Err(SpanTooLarge { span: shown(span) });
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
