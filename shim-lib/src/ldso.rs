//! Finding, checking and mapping the real glibc `ld.so`: the candidates of a
//! [`Config`] are tried in order; a missing one, or one built for another
//! architecture, gives way to the next.

use core::mem::MaybeUninit;

use crate::config::{Candidate, Config, Source};
use crate::elf::{self, EHDR_SIZE, ElfError, MAX_PHNUM, PHDR_SIZE};
use crate::logging::{self, Level};
use crate::map;
pub use crate::map::Mapped;
use crate::sys::{Errno, Fd};
use crate::text::Piece;
use crate::text::{Msg, Out, Show, fill};

pub use crate::sys::PATH_MAX;

/// Why one candidate could not be used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Problem {
    /// Opening, inspecting or reading the file failed.
    Os(Errno),
    /// It exists but is not a regular file (a directory, a FIFO, a device).
    NotRegular(&'static str),
    /// It is not an `ld.so` rld can map.
    Elf(ElfError),
    /// The kernel refused a mapping.
    Map(Errno),
    /// A relative path: it would depend on the program's working directory.
    NotAbsolute,
}

impl Problem {
    /// Whether the next candidate should be tried rather than failing.
    pub fn falls_through(&self) -> bool {
        match self {
            Problem::Os(e) => e.is_missing(),
            Problem::Elf(e) => e.is_foreign_arch(),
            _ => false,
        }
    }
}

impl Show for Problem {
    fn show(&self, out: &mut Out<'_>) {
        match self {
            Problem::Os(e) => e.show(out),
            Problem::NotRegular(kind) => fill(
                out,
                b"it is {}, not a file",
                &[Piece::Bytes(kind.as_bytes())],
            ),
            Problem::Elf(e) => e.show(out),
            Problem::Map(e) => fill(out, b"mapping it failed: {}", &[Piece::Show(e)]),
            Problem::NotAbsolute => fill(out, b"it is not an absolute path", &[]),
        }
    }
}

/// A candidate and what was wrong with it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Rejected<'e> {
    /// Borrowed from the [`Config`], which outlives every report.
    pub candidate: &'e Candidate<'e>,
    pub problem: Problem,
}

impl Show for Rejected<'_> {
    fn show(&self, out: &mut Out<'_>) {
        fill(
            out,
            b"{}: {}",
            &[Piece::Show(self.candidate), Piece::Show(&self.problem)],
        )
    }
}

crate::display_via_show!(Problem, Rejected<'_>);

/// No candidate could be used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LoadError<'e> {
    /// The candidate whose problem ended the search.
    pub last: Rejected<'e>,
    /// The first candidate skipped before it, if any.
    pub skipped: Option<Rejected<'e>>,
}

impl LoadError<'_> {
    /// What to tell the user to do about it: a template, and the variable
    /// it names first if it names one (the architecture comes after).
    fn hint(&self) -> (&'static [u8], &'static str) {
        match (self.last.candidate.source, self.last.problem) {
            (_, Problem::Map(_)) => (
                b"the system is out of memory or address space; try again",
                "",
            ),
            (Source::Default, Problem::Os(e)) if e.is_missing() => (
                b"enable programs.rld in configuration.nix, or set NIX_LD to the ld.so of a glibc for {}",
                "",
            ),
            (Source::Default, _) => (
                b"rld's default ld.so is damaged: rebuild the system, or set NIX_LD to the ld.so of a glibc for {}",
                "",
            ),
            (Source::Var(name), _) => (
                b"set {} to the ld.so of a glibc for {} (the path in $NIX_CC/nix-support/dynamic-linker), or unset it",
                name,
            ),
        }
    }

    /// The message rld prints before exiting 127: two lines, each starting
    /// `rld:`, naming `program` (when one was to run), the path, where it
    /// came from, the problem and what to do.
    pub fn report<'a>(&'a self, program: Option<&'a [u8]>) -> Report<'a> {
        Report {
            program,
            error: self,
        }
    }
}

/// See [`LoadError::report`].
pub struct Report<'a> {
    program: Option<&'a [u8]>,
    error: &'a LoadError<'a>,
}

impl Show for Report<'_> {
    fn show(&self, out: &mut Out<'_>) {
        let (last, skipped) = (&self.error.last, &self.error.skipped);
        // The parts as `Msg`s, which the loader has anyway: a `Show` type
        // per part cost a function and a vtable each.
        let (hint, var) = self.error.hint();
        let hint_args = [Piece::Bytes(var.as_bytes()), Piece::Bytes(elf::own_arch())];
        let hint = Msg(
            hint,
            if var.is_empty() {
                &hint_args[1..]
            } else {
                &hint_args
            },
        );
        let skipped_args;
        let skipped = match skipped {
            Some(s) => {
                skipped_args = [Piece::Show(s.candidate), Piece::Show(&s.problem)];
                Msg(b"{}: {}; then ", &skipped_args)
            }
            None => Msg(b"", &[]),
        };
        let program_args;
        let lead = match self.program {
            Some(program) => {
                program_args = [Piece::Bytes(program)];
                Msg(b"cannot run {}: ", &program_args)
            }
            None => Msg(b"no usable ", &[]),
        };
        fill(
            out,
            b"rld: {}ld.so {}{}: {}\nrld: {}",
            &[
                Piece::Show(&lead),
                Piece::Show(&skipped),
                Piece::Show(last.candidate),
                Piece::Show(&last.problem),
                Piece::Show(&hint),
            ],
        );
    }
}

crate::display_via_show!(Report<'_>);

/// A mapped `ld.so`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Loaded<'e> {
    pub mapped: Mapped,
    pub candidate: &'e Candidate<'e>,
}

/// What came of a [`walk`] over the candidates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Walk<'e, T, E> {
    /// The value and candidate used, or the error and candidate that ended
    /// the walk.
    pub result: Result<(T, &'e Candidate<'e>), (E, &'e Candidate<'e>)>,
    /// The first candidate passed over before that, and why.
    pub skipped: Option<(E, &'e Candidate<'e>)>,
}

/// The loader's walk over the `ld.so` candidates of `config`, in order:
/// `try_one` each; the first `Ok` is used; an error that `falls_through`
/// (a missing file, another architecture) gives way to the next candidate,
/// unless none is left; any other error ends the walk. `on_skip` hears of
/// each candidate passed over. The loader maps with it ([`load`]); the
/// `rld` tool checks with it, for this architecture or another.
pub fn walk<'e, T, E>(
    config: &'e Config<'e>,
    mut try_one: impl FnMut(&'e Candidate<'e>) -> Result<T, E>,
    falls_through: impl Fn(&E) -> bool,
    mut on_skip: impl FnMut(&'e Candidate<'e>, &E),
) -> Walk<'e, T, E> {
    let mut skipped = None;
    // The last candidate, the compiled-in default, is always there.
    let last = config.candidates.len() - 1;
    let mut i = 0;
    loop {
        let Some(candidate) = &config.candidates[i] else {
            i += 1;
            continue;
        };
        let error = match try_one(candidate) {
            Ok(value) => {
                return Walk {
                    result: Ok((value, candidate)),
                    skipped,
                };
            }
            Err(error) => error,
        };
        if i == last || !falls_through(&error) {
            return Walk {
                result: Err((error, candidate)),
                skipped,
            };
        }
        on_skip(candidate, &error);
        if skipped.is_none() {
            skipped = Some((error, candidate));
        }
        i += 1;
    }
}

/// Tries each candidate of `config` in order and maps the first usable one.
/// A configured `ld.so` that does not exist (garbage-collected after an
/// upgrade) gives one warning naming it and the one used instead.
#[inline(never)]
pub fn load<'e>(config: &'e Config<'e>, page: usize) -> Result<Loaded<'e>, LoadError<'e>> {
    load_with(config, |candidate| load_one(candidate.path, page))
}

/// [`load`] for a fused interpreter (see [`crate::fused`]): a candidate
/// whose path is `embedded`'s is not opened; the `ld.so` the kernel mapped
/// with the loader is used as it is.
#[cfg(feature = "fused")]
#[inline(never)]
pub fn load_fused<'e>(
    config: &'e Config<'e>,
    page: usize,
    embedded: Option<(&[u8], Mapped)>,
) -> Result<Loaded<'e>, LoadError<'e>> {
    load_with(config, |candidate| match embedded {
        Some((path, mapped)) if path == candidate.path => Ok(mapped),
        _ => load_one(candidate.path, page),
    })
}

/// The walk of [`load`] with `try_one` to get each candidate's mapping.
#[inline(always)]
fn load_with<'e>(
    config: &'e Config<'e>,
    try_one: impl FnMut(&'e Candidate<'e>) -> Result<Mapped, Problem>,
) -> Result<Loaded<'e>, LoadError<'e>> {
    let walk = walk(
        config,
        try_one,
        Problem::falls_through,
        |candidate, problem| {
            logging::log(
                Level::Debug,
                b"rld: debug: skipping {}: {}",
                &[Piece::Show(candidate), Piece::Show(problem)],
            )
        },
    );
    let skipped = walk
        .skipped
        .map(|(problem, candidate)| Rejected { candidate, problem });
    match walk.result {
        Ok((mapped, candidate)) => {
            if let Some(s) = &skipped {
                warn_if_gone(s, candidate);
            }
            Ok(Loaded { mapped, candidate })
        }
        Err((problem, candidate)) => Err(LoadError {
            last: Rejected { candidate, problem },
            skipped,
        }),
    }
}

/// The warning for a configured `ld.so` that is gone.
fn warn_if_gone(skipped: &Rejected<'_>, used: &Candidate<'_>) {
    if let Problem::Os(e) = skipped.problem
        && e.is_missing()
    {
        logging::log(
            Level::Warn,
            b"rld: warning: {} does not exist (garbage-collected?); using {}",
            &[Piece::Show(skipped.candidate), Piece::Show(used)],
        );
    }
}

/// Opens, checks and maps one `ld.so`.
#[inline(never)]
pub fn load_one(path: &[u8], page: usize) -> Result<Mapped, Problem> {
    let (fd, size) = open(path)?;
    let mut buf = HeaderBuf::new();
    let plan = read_plan(&fd, size, page, &mut buf)?;
    map::map(&fd, &plan, page).map_err(Problem::Map)
}

/// Everything [`load_one`] checks, without mapping anything: what the `rld`
/// tool reports for a candidate.
pub fn check_one(path: &[u8], page: usize) -> Result<(), Problem> {
    let (fd, size) = open(path)?;
    read_plan(&fd, size, page, &mut HeaderBuf::new()).map(drop)
}

/// Opens `path`, a regular file, and returns it with its size.
fn open(path: &[u8]) -> Result<(Fd, u64), Problem> {
    if !path.starts_with(b"/") {
        return Err(Problem::NotAbsolute);
    }
    let fd = Fd::open_path(path).map_err(Problem::Os)?;
    let info = fd.stat().map_err(Problem::Os)?;
    if !info.is_regular() {
        return Err(Problem::NotRegular(info.kind()));
    }
    Ok((fd, info.size))
}

/// Program headers read with the ELF header: real `ld.so`s have about 12.
const FIRST_PHDRS: usize = 16;

/// Memory for an `ld.so`'s headers, owned by the caller of [`read_plan`]
/// so that the plan can borrow the program headers from it.
///
/// Uninitialised: zeroing it would cost more than everything else rld
/// does. `first` is last so that it lies at the higher addresses, nearest
/// the caller's frame: `rest` is rarely touched, and each stack page the
/// loader touches is a page fault at every start.
#[repr(C)]
struct HeaderBuf {
    /// Program headers that lie elsewhere in the file (more of them than
    /// `first` holds, or `e_phoff` is not 64), read on their own.
    rest: [MaybeUninit<u8>; MAX_PHNUM * PHDR_SIZE],
    /// One read covers the ELF header and, in every real `ld.so`, the
    /// program headers right behind it.
    first: [MaybeUninit<u8>; EHDR_SIZE + FIRST_PHDRS * PHDR_SIZE],
}

impl HeaderBuf {
    fn new() -> Self {
        HeaderBuf {
            rest: [MaybeUninit::uninit(); MAX_PHNUM * PHDR_SIZE],
            first: [MaybeUninit::uninit(); EHDR_SIZE + FIRST_PHDRS * PHDR_SIZE],
        }
    }
}

/// Reads and checks the headers of an open file of `size` bytes into
/// `buf`; returns what to map.
// Inlined into `load_one`, unlike most of the start-up path (see the crate
// docs), as are `parse_header` and `is_rld`: one frame less deep.
fn read_plan<'b>(
    fd: &Fd,
    size: u64,
    page: usize,
    buf: &'b mut HeaderBuf,
) -> Result<elf::LoadPlan<'b>, Problem> {
    let size = elf::clamp_size(size);
    let want = buf.first.len().min(size as usize);
    let head = fd
        .pread_into(&mut buf.first[..want], 0)
        .map_err(Problem::Os)?;
    let header = elf::parse_header(head, size).map_err(Problem::Elf)?;
    if elf::is_rld(head, &header) {
        return Err(Problem::Elf(ElfError::IsRld));
    }
    let (start, len) = (header.phoff as usize, header.phnum * PHDR_SIZE);
    let phdrs = match start.checked_add(len).and_then(|end| head.get(start..end)) {
        Some(phdrs) => phdrs,
        None => fd
            .pread_into(&mut buf.rest[..len], start)
            .map_err(Problem::Os)?,
    };
    elf::plan(&header, phdrs, size, page as elf::Word).map_err(Problem::Elf)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{DEFAULT_LD_SO, REAL_LD_SO};
    use std::vec::Vec;

    const PAGE: usize = 4096;

    #[test]
    fn maps_the_real_ld_so_into_this_process() {
        let m = load_one(REAL_LD_SO.as_bytes(), PAGE).unwrap();
        assert_eq!(m.base % PAGE, 0);
        // The mapped header is the file's header.
        let file = std::fs::read(REAL_LD_SO).unwrap();
        #[expect(unsafe_code, reason = "reads the mapped header")]
        // SAFETY: load_one mapped the first segment, which starts with the
        // ELF header, readable, at `base`.
        let head = unsafe { core::slice::from_raw_parts(m.base as *const u8, EHDR_SIZE) };
        assert_eq!(head, &file[..EHDR_SIZE]);
        assert!(m.phdr.is_some());
    }

    /// The segments and entry point `path` would be mapped with.
    fn planned(path: &[u8]) -> Result<(Vec<elf::Segment>, elf::Word), Problem> {
        let (fd, size) = open(path)?;
        let mut buf = HeaderBuf::new();
        let plan = read_plan(&fd, size, PAGE, &mut buf)?;
        Ok((plan.segments().collect(), plan.entry))
    }

    /// The mappings of this process that overlap `[start, end)`: their
    /// bounds and permissions (`r-xp` and so on), from `/proc/self/maps`.
    fn mappings_in(start: usize, end: usize) -> Vec<(usize, usize, std::string::String)> {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let (lo, hi) = fields.next()?.split_once('-')?;
                let lo = usize::from_str_radix(lo, 16).ok()?;
                let hi = usize::from_str_radix(hi, 16).ok()?;
                let perms = fields.next()?.into();
                (lo < end && hi > start).then_some((lo, hi, perms))
            })
            .collect()
    }

    /// Maps the `ld.so` at `path` and checks every segment: its pages hold
    /// the file's bytes, with the segment's protection and no other, and
    /// the holes between segments are not mapped at all.
    fn check_mapped_segments(path: &[u8]) {
        let (segments, _) = planned(path).unwrap();
        let file = std::fs::read(std::str::from_utf8(path).unwrap()).unwrap();
        let m = load_one(path, PAGE).unwrap();
        let page_down = |a: usize| a & !(PAGE - 1);
        let page_up = |a: usize| (a + PAGE - 1) & !(PAGE - 1);
        let mut prev_end = None;
        for seg in &segments {
            let at = m.base + seg.vaddr as usize;
            let (offset, filesz) = (seg.offset as usize, seg.filesz as usize);
            #[expect(unsafe_code, reason = "reads the mapped segment")]
            // SAFETY: load_one mapped the segment readable, `filesz` bytes
            // from the file at `at`.
            let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, filesz) };
            assert!(
                bytes == &file[offset..offset + filesz],
                "segment at {:#x}",
                seg.vaddr
            );
            let want = std::format!(
                "{}{}{}p",
                if seg.flags & 4 != 0 { 'r' } else { '-' },
                if seg.writable() { 'w' } else { '-' },
                if seg.executable() { 'x' } else { '-' },
            );
            let (lo, hi) = (page_down(at), page_up(at + seg.memsz as usize));
            let found = mappings_in(lo, hi);
            assert!(
                found.iter().all(|(_, _, perms)| *perms == want),
                "{found:x?}, want {want}"
            );
            assert_eq!(found.first().map(|f| f.0), Some(lo), "{found:x?}");
            assert!(found.windows(2).all(|w| w[0].1 == w[1].0), "{found:x?}");
            assert!(found.last().is_some_and(|f| f.1 >= hi), "{found:x?}");
            if let Some(prev_end) = prev_end {
                assert_eq!(
                    mappings_in(prev_end, lo),
                    std::vec![],
                    "the hole before {lo:#x}"
                );
            }
            prev_end = Some(hi);
        }
    }

    #[test]
    fn segments_are_mapped_with_their_bytes_and_protection() {
        check_mapped_segments(REAL_LD_SO.as_bytes());
    }

    #[test]
    fn a_hole_between_segments_is_left_unmapped() {
        // The real ld.so with the segments after its code moved four pages
        // up (aarch64's ld.so has such a hole before its data): the first
        // mapping covers the hole until it is unmapped, and shows a moved
        // read-only segment at the wrong distance from the file.
        let mut b = std::fs::read(REAL_LD_SO).unwrap();
        let header = elf::parse_header(&b, b.len() as elf::Word).unwrap();
        let loads: Vec<usize> = (0..header.phnum)
            .map(|i| header.phoff as usize + i * PHDR_SIZE)
            .filter(|&at| b[at..at + 4] == 1u32.to_le_bytes())
            .collect();
        assert!(loads.len() >= 3, "the real ld.so has data after its code");
        for &load in &loads[2..] {
            const WORD: usize = core::mem::size_of::<elf::Word>();
            let at = load + elf::P_VADDR;
            let mut word = [0; WORD];
            word.copy_from_slice(&b[at..at + WORD]);
            let moved = elf::Word::from_le_bytes(word) + 4 * PAGE as elf::Word;
            b[at..at + WORD].copy_from_slice(&moved.to_le_bytes());
        }
        let path = std::env::temp_dir().join(std::format!("rld-hole-{}", std::process::id()));
        std::fs::write(&path, &b).unwrap();
        check_mapped_segments(path.to_str().unwrap().as_bytes());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn check_one_checks_without_mapping() {
        assert_eq!(check_one(REAL_LD_SO.as_bytes(), PAGE), Ok(()));
        let (segments, _) = planned(REAL_LD_SO.as_bytes()).unwrap();
        assert!(segments.iter().any(|s| s.executable()));
        assert_eq!(
            check_one(b"/etc/passwd", PAGE),
            Err(Problem::Elf(ElfError::NotElf))
        );
        assert!(Problem::Os(Errno::ENOENT).falls_through());
        assert!(!Problem::NotAbsolute.falls_through());
    }

    #[test]
    fn program_headers_elsewhere_in_the_file_are_read() {
        // The real ld.so with its program headers copied to the end of the
        // file and e_phoff pointing there: past the first read.
        let mut b = std::fs::read(REAL_LD_SO).unwrap();
        let header = elf::parse_header(&b, b.len() as elf::Word).unwrap();
        let phoff = header.phoff as usize;
        let table = b[phoff..phoff + header.phnum * PHDR_SIZE].to_vec();
        let moved = (b.len() as elf::Word).to_le_bytes();
        b.extend_from_slice(&table);
        b[elf::E_PHOFF..elf::E_PHOFF + moved.len()].copy_from_slice(&moved);
        let path = std::env::temp_dir().join(std::format!("rld-phoff-{}", std::process::id()));
        std::fs::write(&path, &b).unwrap();
        let got = planned(path.to_str().unwrap().as_bytes());
        std::fs::remove_file(&path).unwrap();
        assert_eq!(got.unwrap(), planned(REAL_LD_SO.as_bytes()).unwrap());
    }

    #[test]
    fn missing_file_is_enoent() {
        assert_eq!(
            load_one(b"/nonexistent/ld.so", PAGE),
            Err(Problem::Os(Errno::ENOENT))
        );
    }

    #[test]
    fn relative_path_is_refused() {
        assert_eq!(load_one(b"ld.so", PAGE), Err(Problem::NotAbsolute));
        assert_eq!(load_one(b"", PAGE), Err(Problem::NotAbsolute));
    }

    #[test]
    fn nul_inside_the_path_is_refused() {
        // Opening would stop at the NUL: a different file than the one named.
        assert_eq!(
            load_one(b"/etc/passwd\0/x", PAGE),
            Err(Problem::Os(Errno::EINVAL))
        );
    }

    #[test]
    fn directory_is_not_regular() {
        assert_eq!(
            load_one(b"/etc", PAGE),
            Err(Problem::NotRegular("a directory"))
        );
    }

    #[test]
    fn text_file_is_not_elf() {
        assert_eq!(
            load_one(b"/etc/passwd", PAGE),
            Err(Problem::Elf(ElfError::NotElf))
        );
    }

    #[test]
    fn overlong_path_is_enametoolong() {
        let mut long = [b'a'; 5000];
        long[0] = b'/';
        assert_eq!(load_one(&long, PAGE), Err(Problem::Os(Errno::ENAMETOOLONG)));
        // One byte short of PATH_MAX still fits with its NUL (short
        // components: the kernel limits those to 255 bytes itself).
        let fits: std::vec::Vec<u8> = b"/a".iter().copied().cycle().take(PATH_MAX - 1).collect();
        assert_eq!(load_one(&fits, PAGE), Err(Problem::Os(Errno::ENOENT)));
    }

    #[test]
    fn falls_back_past_missing_and_stops_at_broken() {
        let getenv = |name: &str| match name {
            crate::config::NIX_LD_SYSTEM => Some(&b"/nonexistent/ld.so"[..]),
            "NIX_LD" => Some(&b"/etc/passwd"[..]),
            _ => None,
        };
        let config = Config::resolve(getenv, false);
        let err = load(&config, PAGE).unwrap_err();
        assert_eq!(err.last.candidate.path, b"/etc/passwd");
        assert_eq!(err.last.problem, Problem::Elf(ElfError::NotElf));
        assert_eq!(err.skipped.unwrap().candidate.path, b"/nonexistent/ld.so");
    }

    #[test]
    fn report_is_two_lines_naming_everything() {
        let getenv = |name: &str| match name {
            "NIX_LD" => Some(&b"/nonexistent/ld.so"[..]),
            _ => None,
        };
        let config = Config::resolve(getenv, false);
        let err = load(&config, PAGE).unwrap_err();
        let text = std::format!("{}", err.report(Some(b"./hello")));
        let lines: std::vec::Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines.iter().all(|l| l.starts_with("rld: ")), "{text}");
        assert!(lines[0].contains("./hello"), "{text}");
        assert!(
            lines[0].contains("/nonexistent/ld.so (from NIX_LD)"),
            "{text}"
        );
        assert!(
            lines[0].contains("No such file or directory (ENOENT)"),
            "{text}"
        );
        assert!(lines[0].contains(crate::DEFAULT_LD_SO), "{text}");
        assert!(lines[1].contains("programs.rld"), "{text}");
        // Without a program (rld-loader run for its version): the same
        // problem and hint.
        let text = std::format!("{}", err.report(None));
        assert!(
            text.starts_with("rld: no usable ld.so /nonexistent/ld.so (from NIX_LD): "),
            "{text}"
        );
        assert_eq!(text.lines().nth(1), Some(lines[1]));
    }

    #[test]
    fn the_walk_skips_what_falls_through_and_stops_at_the_rest() {
        let getenv = |name: &str| match name {
            crate::config::NIX_LD_SYSTEM => Some(&b"/a"[..]),
            "NIX_LD" => Some(&b"/b"[..]),
            _ => None,
        };
        let config = Config::resolve(getenv, false);
        // Err(true) falls through, Err(false) does not.
        let run = |answers: [Result<u8, bool>; 3]| {
            let mut tried = Vec::new();
            let mut skips = Vec::new();
            let walk = walk(
                &config,
                |c| {
                    tried.push(c.path);
                    answers[tried.len() - 1]
                },
                |&through| through,
                |c, _| skips.push(c.path),
            );
            let result = walk
                .result
                .map(|(v, c)| (v, c.path))
                .map_err(|(e, c)| (e, c.path));
            (result, walk.skipped.map(|(_, c)| c.path), tried, skips)
        };
        let default = DEFAULT_LD_SO.as_bytes();
        let (result, skipped, tried, skips) = run([Err(true), Ok(7), Ok(8)]);
        assert_eq!(result, Ok((7, &b"/b"[..])));
        assert_eq!(skipped, Some(&b"/a"[..]));
        assert_eq!((tried.len(), skips), (2, std::vec![&b"/a"[..]]));
        let (result, skipped, tried, _) = run([Err(true), Err(false), Ok(8)]);
        assert_eq!(result, Err((false, &b"/b"[..])), "a broken one ends it");
        assert_eq!(skipped, Some(&b"/a"[..]));
        assert_eq!(tried.len(), 2);
        let (result, skipped, _, skips) = run([Err(true), Err(true), Err(true)]);
        assert_eq!(result, Err((true, default)), "the last one ends it");
        assert_eq!(skipped, Some(&b"/a"[..]), "the first skipped is kept");
        assert_eq!(skips.len(), 2);
    }

    #[test]
    fn falls_back_to_a_working_candidate() {
        let getenv = |name: &str| match name {
            crate::config::NIX_LD_SYSTEM => Some(&b"/nonexistent/ld.so"[..]),
            "NIX_LD" => Some(REAL_LD_SO.as_bytes()),
            _ => None,
        };
        let config = Config::resolve(getenv, false);
        let loaded = load(&config, PAGE).unwrap();
        assert_eq!(loaded.candidate.source, Source::Var("NIX_LD"));
    }

    /// rld's mapping compared, page by page, with the kernel's
    /// (`elf_load` in `fs/binfmt_elf.c`) for generated layouts: each
    /// segment's file pages with its protection, its bss zeroed to the end
    /// of its last page, and nothing else mapped in the span.
    mod as_the_kernel_maps {
        use super::*;
        use crate::elf::Word;
        use crate::elf::tests::{Load, image, with_entry};
        use linux_raw_sys::elf_uapi as e;
        use proptest::prelude::*;
        use std::string::String;

        /// What one page of the span should be: unmapped, or mapped with
        /// these permissions (`r-xp`) and bytes.
        #[derive(Clone, PartialEq, Eq, Debug)]
        enum Page {
            Unmapped,
            Mapped(String, Vec<u8>),
        }

        /// A byte for each file offset that differs from page to page, so
        /// that a page shown from the wrong offset is seen.
        fn pattern(offset: usize) -> u8 {
            ((offset as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8
        }

        fn perms(flags: u32) -> String {
            std::format!(
                "{}{}{}p",
                if flags & e::PF_R != 0 { 'r' } else { '-' },
                if flags & e::PF_W != 0 { 'w' } else { '-' },
                if flags & e::PF_X != 0 { 'x' } else { '-' },
            )
        }

        /// The pages of `[start, start + span)` as the kernel leaves them.
        fn kernel(loads: &[Load], file: &[u8], start: usize, span: usize) -> Vec<Page> {
            let mut pages = std::vec![Page::Unmapped; span / PAGE];
            let down = |a: usize| a & !(PAGE - 1);
            let up = |a: usize| (a + PAGE - 1) & !(PAGE - 1);
            for &(flags, offset, vaddr, filesz, memsz, _) in loads {
                let (offset, vaddr) = (offset as usize, vaddr as usize);
                let (filesz, memsz) = (filesz as usize, memsz as usize);
                let file_end = vaddr + filesz;
                let mut at = down(vaddr);
                if filesz > 0 {
                    while at < up(file_end) {
                        let bytes = (at..at + PAGE)
                            .map(|a| match a + offset - vaddr {
                                // padzero: the rest of the last file page.
                                _ if a >= file_end && memsz > filesz => 0,
                                o => file.get(o).copied().unwrap_or(0),
                            })
                            .collect();
                        pages[(at - start) / PAGE] = Page::Mapped(perms(flags), bytes);
                        at += PAGE;
                    }
                }
                while memsz > filesz && at < up(vaddr + memsz) {
                    let zeros = std::vec![0; PAGE];
                    pages[(at - start) / PAGE] = Page::Mapped(perms(flags), zeros);
                    at += PAGE;
                }
            }
            pages
        }

        /// The pages of `[lo, lo + len)` in this process.
        fn found(lo: usize, len: usize) -> Vec<Page> {
            let maps = mappings_in(lo, lo + len);
            (lo..lo + len)
                .step_by(PAGE)
                .map(|at| match maps.iter().find(|m| m.0 <= at && at < m.1) {
                    None => Page::Unmapped,
                    Some((_, _, perms)) => {
                        #[expect(unsafe_code, reason = "reads a mapped page")]
                        // SAFETY: the page is mapped, and readable: every
                        // generated segment has PF_R. Its bytes are in the
                        // file (the kernel's model says which).
                        let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, PAGE) };
                        Page::Mapped(perms.clone(), bytes.to_vec())
                    }
                })
                .collect()
        }

        /// Segments in address order: for each, the pages skipped before
        /// it, where in its page it starts, how many pages its file offset
        /// lies below its address (0 for all: one distance for the whole
        /// file), its file and bss sizes, and whether it is writable or
        /// executable. The file ends `extra` bytes after the last segment's
        /// file part.
        fn layout() -> impl Strategy<Value = (Vec<Load>, usize)> {
            let seg = (
                0..3usize,
                prop_oneof![Just(0usize), 1..PAGE],
                prop_oneof![Just(0usize), Just(0), 1..3usize],
                prop_oneof![Just(0usize), Just(PAGE), Just(2 * PAGE), 1..3 * PAGE],
                prop_oneof![Just(0usize), Just(PAGE), 1..3 * PAGE],
                any::<(bool, bool)>(),
            );
            let extra = prop_oneof![Just(0usize), 1..PAGE, Just(3 * PAGE)];
            (prop::collection::vec(seg, 1..5), extra).prop_map(|(segs, extra)| {
                let mut loads: Vec<Load> = Vec::new();
                let mut next = 0;
                for (gap, within, below, filesz, bss, (w, x)) in segs {
                    let vaddr = next + gap * PAGE + within;
                    let below = if below * PAGE <= vaddr { below } else { 0 };
                    let mut flags = e::PF_R;
                    // A bss must be writable (`elf::plan` refuses others).
                    if w || bss > 0 {
                        flags |= e::PF_W;
                    }
                    if x {
                        flags |= e::PF_X;
                    }
                    let offset = vaddr - below * PAGE;
                    let memsz = filesz + bss;
                    loads.push((
                        flags,
                        offset as Word,
                        vaddr as Word,
                        filesz as Word,
                        memsz as Word,
                        PAGE as Word,
                    ));
                    next = (vaddr + memsz + PAGE - 1) & !(PAGE - 1);
                }
                let end = loads
                    .iter()
                    .map(|l| (l.1 + l.3) as usize)
                    .max()
                    .unwrap_or(0);
                (loads, end + extra)
            })
        }

        /// The pages of the span of `loads` as rld left them at `base` and
        /// as the kernel would leave them from `file`; rld's are unmapped
        /// after reading.
        fn pages_both_ways(loads: &[Load], file: &[u8], base: usize) -> (Vec<Page>, Vec<Page>) {
            let start = loads[0].2 as usize & !(PAGE - 1);
            let last = loads[loads.len() - 1];
            let span = ((last.2 + last.4) as usize).next_multiple_of(PAGE) - start;
            let got = found(base + start, span);
            #[expect(unsafe_code, reason = "unmaps what load_one mapped")]
            // SAFETY: the span is what load_one mapped for this test and
            // nothing points into it.
            let _ = unsafe { crate::sys::munmap(base + start, span) };
            (got, kernel(loads, file, start, span))
        }

        /// The real `ld.so`s of this machine's architectures, as this
        /// build's machine where they are of its class (their layouts are
        /// what matters: aarch64's hole before its data, riscv64's data at
        /// the code's distance): each page as the kernel leaves it.
        #[test]
        fn real_ld_sos_are_mapped_as_the_kernel_maps_them() {
            #[cfg(target_pointer_width = "64")]
            const OTHERS: &[&str] = &[
                "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1",
                "/usr/riscv64-linux-gnu/lib/ld-linux-riscv64-lp64d.so.1",
            ];
            #[cfg(target_pointer_width = "32")]
            const OTHERS: &[&str] = &[];
            for source in core::iter::once(&REAL_LD_SO).chain(OTHERS) {
                let mut file = std::fs::read(source)
                    .unwrap_or_else(|e| panic!("{source} ({e}): run scripts/build-arches.sh"));
                file[18..20].copy_from_slice(&crate::ELF_MACHINE.to_le_bytes());
                let path = std::env::temp_dir()
                    .join(std::format!("rld-real-layout-{}", std::process::id()));
                std::fs::write(&path, &file).unwrap();
                let bytes = path.to_str().unwrap().as_bytes();
                let segments = planned(bytes).unwrap().0;
                let m = load_one(bytes, PAGE);
                std::fs::remove_file(&path).unwrap();
                let m = m.unwrap();
                let loads: Vec<Load> = segments
                    .iter()
                    .map(|s| (s.flags, s.offset, s.vaddr, s.filesz, s.memsz, 0))
                    .collect();
                let (got, want) = pages_both_ways(&loads, &file, m.base);
                let wrong = got.iter().zip(&want).position(|(g, w)| g != w);
                assert_eq!(wrong, None, "{source}: first page that differs");
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 512,
                max_global_rejects: 1 << 16,
                ..ProptestConfig::default()
            })]

            #[test]
            fn every_page_is_as_the_kernel_leaves_it((mut loads, size) in layout()) {
                // The entry point in the first segment with code in the
                // file, made executable if none is.
                let Some(code) = loads
                    .iter()
                    .position(|l| l.0 & e::PF_X != 0 && l.3 > 0)
                    .or_else(|| loads.iter().position(|l| l.3 > 0))
                else {
                    return Err(TestCaseError::reject("no segment with file bytes"));
                };
                loads[code].0 |= e::PF_X;
                let mut file = with_entry(image(&loads), loads[code].2);
                let headers = EHDR_SIZE + loads.len() * PHDR_SIZE;
                file.resize(size.max(headers), 0);
                for (offset, byte) in file.iter_mut().enumerate().skip(headers) {
                    *byte = pattern(offset);
                }
                let path = std::env::temp_dir().join(std::format!(
                    "rld-layout-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                std::fs::write(&path, &file).unwrap();
                let mapped = load_one(path.to_str().unwrap().as_bytes(), PAGE);
                std::fs::remove_file(&path).unwrap();
                // The kernel maps nothing for an empty segment, where rld
                // would leave the first mapping: rld refuses the file.
                if let Some(index) = loads.iter().position(|l| l.4 == 0) {
                    prop_assert_eq!(mapped, Err(Problem::Elf(ElfError::BadMemSize { index })));
                    return Ok(());
                }
                let m = mapped.unwrap();
                let (got, want) = pages_both_ways(&loads, &file, m.base);
                let start = loads[0].2 as usize & !(PAGE - 1);
                for (i, (got, want)) in got.iter().zip(&want).enumerate() {
                    let show = |p: &Page| match p {
                        Page::Unmapped => String::from("unmapped"),
                        Page::Mapped(perms, bytes) => std::format!(
                            "{perms} {:02x?}..{:02x?}",
                            &bytes[..4],
                            &bytes[PAGE - 4..]
                        ),
                    };
                    prop_assert!(
                        got == want,
                        "page {:#x}: rld {}, kernel {}",
                        start + i * PAGE,
                        show(got),
                        show(want)
                    );
                }
            }
        }
    }
}
