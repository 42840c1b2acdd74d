//! The handful of system calls rld-loader makes, with typed results.
//!
//! # Safety
//!
//! Each wrapper passes the kernel only pointers derived from live Rust
//! references of the right length, or (for `mmap`/`munmap`) addresses whose
//! validity the `unsafe fn`'s caller vouches for. Nothing here allocates.

#![expect(unsafe_code, reason = "system calls and the buffers they fill")]

use core::mem::MaybeUninit;

use linux_raw_sys::errno;
use linux_raw_sys::general as k;

use crate::arch::{syscall, syscall3};
use crate::text::Piece::Num;
use crate::text::{Out, Show, fill, lookup};

/// Defines [`ERRNO_TEXT`] from one line per error: its name, its number
/// and its usual message. The numbers are the asm-generic ones every
/// architecture rld supports shares; [`ERRNO_NUMBERS`] lets a unit test
/// check them against linux-raw-sys.
macro_rules! errno_table {
    ($($name:ident = $number:literal => $message:literal,)*) => {
        /// "NUMBER message (NAME)" per line for the errors opening,
        /// inspecting, reading and mapping a file can give, looked up with
        /// [`lookup`]; any other shows as its number.
        const ERRNO_TEXT: &[u8] = concat!(
            $($number, " ", $message, " (", stringify!($name), ")\n",)*
        )
        .as_bytes();

        /// The kernel's number for each name in [`ERRNO_TEXT`], and the
        /// number the table gives it.
        #[cfg(test)]
        const ERRNO_NUMBERS: &[(&str, u32, u32)] =
            &[$((stringify!($name), errno::$name, $number),)*];
    };
}

errno_table! {
    EPERM = 1 => "Operation not permitted",
    ENOENT = 2 => "No such file or directory",
    EIO = 5 => "Input/output error",
    ENXIO = 6 => "No such device or address",
    EAGAIN = 11 => "Resource temporarily unavailable",
    ENOMEM = 12 => "Cannot allocate memory",
    EACCES = 13 => "Permission denied",
    ENODEV = 19 => "No such device",
    ENOTDIR = 20 => "Not a directory",
    EISDIR = 21 => "Is a directory",
    EINVAL = 22 => "Invalid argument",
    ENFILE = 23 => "Too many open files in system",
    EMFILE = 24 => "Too many open files",
    ETXTBSY = 26 => "Text file busy",
    ENAMETOOLONG = 36 => "File name too long",
    ELOOP = 40 => "Too many levels of symbolic links",
    EOVERFLOW = 75 => "Value too large for defined data type",
    ESTALE = 116 => "Stale file handle",
}

/// A Linux error number that can say its name and meaning without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Errno(pub u32);

impl Errno {
    pub const ENOENT: Errno = Errno(errno::ENOENT);
    pub const ENOTDIR: Errno = Errno(errno::ENOTDIR);
    pub const ENAMETOOLONG: Errno = Errno(errno::ENAMETOOLONG);
    pub const EINVAL: Errno = Errno(errno::EINVAL);
    pub const EIO: Errno = Errno(errno::EIO);

    /// The symbolic name (`ENOENT`) and the usual message, where known:
    /// what the tests check the table with.
    #[cfg(test)]
    fn describe(self) -> (&'static str, &'static str) {
        let line = lookup(ERRNO_TEXT, self.0 as usize).unwrap_or(b"");
        let line = core::str::from_utf8(line).unwrap();
        match line.strip_suffix(')').and_then(|l| l.rsplit_once(" (")) {
            Some((msg, name)) => (name, msg),
            None => ("", "Unknown error"),
        }
    }

    /// Whether this error means "nothing is there" rather than "something is
    /// there and is wrong": the case where rld falls back to the next candidate.
    pub fn is_missing(self) -> bool {
        self == Errno::ENOENT || self == Errno::ENOTDIR
    }
}

impl Show for Errno {
    fn show(&self, out: &mut Out<'_>) {
        match lookup(ERRNO_TEXT, self.0 as usize) {
            Some(line) => fill(out, line, &[]),
            None => fill(out, b"Unknown error (errno {})", &[Num(self.0 as usize)]),
        }
    }
}

crate::display_via_show!(Errno);

/// Turns a raw system call return into `Ok(value)` or `Err(errno)`.
fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno((-ret) as u32))
    } else {
        Ok(ret as usize)
    }
}

/// What `fstat` says about an open file, as far as rld cares.
#[derive(Clone, Copy, Debug)]
pub struct FileInfo {
    pub mode: u32,
    pub size: u64,
}

impl FileInfo {
    pub fn is_regular(&self) -> bool {
        self.mode & k::S_IFMT == k::S_IFREG
    }

    /// A word for a file that is not a regular file, for error messages.
    pub fn kind(&self) -> &'static str {
        match self.mode & k::S_IFMT {
            k::S_IFDIR => "a directory",
            k::S_IFIFO => "a FIFO",
            k::S_IFCHR => "a character device",
            k::S_IFBLK => "a block device",
            k::S_IFSOCK => "a socket",
            _ => "a regular file",
        }
    }
}

/// Longest path rld opens (Linux's `PATH_MAX`, NUL included).
pub const PATH_MAX: usize = 4096;

/// An open file descriptor, closed when dropped.
#[derive(Debug)]
pub struct Fd(i32);

impl Fd {
    /// Opens the NUL-terminated `path` read-only. `O_NONBLOCK` keeps a FIFO
    /// from blocking the open; rld rejects anything but a regular file
    /// right after.
    ///
    /// # Safety
    ///
    /// `path` points at a NUL-terminated string.
    unsafe fn open_raw(path: *const u8) -> Result<Fd, Errno> {
        let flags = k::O_RDONLY | k::O_CLOEXEC | k::O_NONBLOCK;
        // SAFETY: the caller passes a valid NUL-terminated string.
        let ret = unsafe {
            syscall(
                k::__NR_openat,
                [k::AT_FDCWD as usize, path as usize, flags as usize, 0, 0, 0],
            )
        };
        check(ret).map(|fd| Fd(fd as i32))
    }

    /// Opens `path` (bytes without a NUL) read-only, copying it into an
    /// uninitialised stack buffer to add the NUL: zeroing it first would be
    /// most of the loader's own instructions. A NUL inside `path` would
    /// open a shorter path than the one shown in messages: `EINVAL`.
    pub fn open_path(path: &[u8]) -> Result<Fd, Errno> {
        // Store paths fit the small buffer. Every stack page the loader
        // touches below the kernel's is a page fault at every program
        // start, so the 4 KiB one is in a frame of its own, used only for
        // long paths.
        if path.len() < 256 {
            Fd::open_copy::<256>(path)
        } else {
            Fd::open_long(path)
        }
    }

    #[inline(never)]
    fn open_long(path: &[u8]) -> Result<Fd, Errno> {
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Fd::open_copy::<PATH_MAX>(path)
    }

    /// `path` must be shorter than `N`.
    fn open_copy<const N: usize>(path: &[u8]) -> Result<Fd, Errno> {
        let mut buf = [MaybeUninit::<u8>::uninit(); N];
        for (slot, &b) in buf.iter_mut().zip(path) {
            if b == 0 {
                return Err(Errno::EINVAL);
            }
            slot.write(b);
        }
        buf[path.len()].write(0);
        // SAFETY: the bytes up to and including that NUL were just written.
        unsafe { Fd::open_raw(buf.as_ptr().cast()) }
    }

    pub fn raw(&self) -> i32 {
        self.0
    }

    /// `fstat` (`fstat64` on i686): every kernel and qemu-user has it,
    /// where `statx` needs Linux 4.11 and a fallback.
    pub fn stat(&self) -> Result<FileInfo, Errno> {
        // The 32-bit call with 64-bit sizes on i686.
        #[cfg(target_arch = "x86")]
        let (nr, mut st) = (k::__NR_fstat64, MaybeUninit::<k::stat64>::uninit());
        #[cfg(not(target_arch = "x86"))]
        let (nr, mut st) = (k::__NR_fstat, MaybeUninit::<k::stat>::uninit());
        // SAFETY: `st` is writable memory of the size the kernel fills in.
        check(unsafe { syscall3(nr, self.0 as usize, st.as_mut_ptr() as usize, 0) })?;
        // SAFETY: the call succeeded, so the kernel initialised the struct.
        let st = unsafe { st.assume_init() };
        Ok(FileInfo {
            mode: st.st_mode,
            size: st.st_size as u64,
        })
    }

    /// Fills the uninitialised `buf` from `offset` (a short read is
    /// truncation: `EIO`) and returns it, initialised. The offset is a
    /// `usize`, as wide as the offsets of the ELF class rld accepts, so
    /// 32-bit targets pass no high word; `offset + buf.len()` must not
    /// overflow it (the ELF checks ensure that for every read rld makes).
    pub fn pread_into<'b>(
        &self,
        buf: &'b mut [MaybeUninit<u8>],
        offset: usize,
    ) -> Result<&'b [u8], Errno> {
        let mut done = 0;
        while done < buf.len() {
            let rest = &mut buf[done..];
            // 32-bit kernels take the offset as two words, low first: the
            // high one stays 0.
            let args = [
                self.0 as usize,
                rest.as_mut_ptr() as usize,
                rest.len(),
                offset + done,
                0,
                0,
            ];
            // SAFETY: `rest` is valid for writes of `rest.len()` bytes; the
            // kernel only writes into it.
            let n = check(unsafe { syscall(k::__NR_pread64, args) })?;
            if n == 0 {
                return Err(Errno::EIO);
            }
            done += n;
        }
        // SAFETY: the loop above filled every byte.
        Ok(unsafe { core::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), buf.len()) })
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own this descriptor and nothing uses it after drop.
        unsafe { syscall3(k::__NR_close, self.0 as usize, 0, 0) };
    }
}

/// `mmap(2)`.
///
/// # Safety
///
/// With `MAP_FIXED` the range `[addr, addr + len)` must not hold anything the
/// running program still uses.
pub unsafe fn mmap(
    addr: usize,
    len: usize,
    prot: u32,
    flags: u32,
    fd: i32,
    offset: usize,
) -> Result<usize, Errno> {
    // 32-bit kernels take the offset in pages (mmap2); rld only passes
    // page-aligned offsets, and only offsets of its ELF class, which fit
    // a `usize`.
    #[cfg(target_pointer_width = "32")]
    let (nr, offset) = (k::__NR_mmap2, offset / 4096);
    #[cfg(target_pointer_width = "64")]
    let nr = k::__NR_mmap;
    let args = [
        addr,
        len,
        prot as usize,
        flags as usize,
        fd as usize,
        offset,
    ];
    // SAFETY: the caller guarantees the replaced range is unused.
    let ret = unsafe { syscall(nr, args) };
    check(ret)
}

/// `munmap(2)`.
///
/// # Safety
///
/// Nothing may use `[addr, addr + len)` afterwards.
pub unsafe fn munmap(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the range is no longer used.
    check(unsafe { syscall3(k::__NR_munmap, addr, len, 0) }).map(drop)
}

/// Writes all of `bytes` to standard error, ignoring failures: there is
/// nowhere else to report them.
pub fn write_stderr(bytes: &[u8]) {
    write_all(2, bytes)
}

/// Writes all of `bytes` to descriptor `fd`, ignoring failures.
pub fn write_all(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for reads of `bytes.len()` bytes.
        let ret = unsafe {
            syscall3(
                k::__NR_write,
                fd as usize,
                bytes.as_ptr() as usize,
                bytes.len(),
            )
        };
        match check(ret) {
            Ok(0) => return,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.0 == errno::EINTR => {}
            Err(_) => return,
        }
    }
}

/// Ends the process with `code`.
pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes a plain integer and does not return.
        unsafe { syscall3(k::__NR_exit_group, code as usize, 0, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstat_agrees_with_std() {
        use std::os::unix::fs::MetadataExt;
        let path = crate::REAL_LD_SO;
        let fd = Fd::open_path(path.as_bytes()).unwrap();
        let a = fd.stat().unwrap();
        let m = std::fs::metadata(path).unwrap();
        assert_eq!((a.mode, a.size), (m.mode(), m.len()));
        assert!(a.is_regular() && a.size > 0);
        let dir = Fd::open_path(b"/etc").unwrap();
        assert_eq!(dir.stat().unwrap().kind(), "a directory");
    }

    #[test]
    fn errno_table_numbers_match_the_kernels() {
        assert_eq!(
            ERRNO_TEXT.split(|&b| b == b'\n').count(),
            ERRNO_NUMBERS.len() + 1
        );
        for &(name, kernel, ours) in ERRNO_NUMBERS {
            assert_eq!(ours, kernel, "{name}");
            assert_eq!(Errno(ours).describe().0, name);
        }
    }

    #[test]
    fn errno_names_and_messages_line_up() {
        assert_eq!(
            Errno::ENOENT.describe(),
            ("ENOENT", "No such file or directory")
        );
        assert_eq!(
            Errno(errno::ESTALE).describe(),
            ("ESTALE", "Stale file handle")
        );
        assert_eq!(
            Errno(errno::EPERM).describe(),
            ("EPERM", "Operation not permitted")
        );
        assert_eq!(Errno(4000).describe(), ("", "Unknown error"));
        assert_eq!(
            std::format!("{}", Errno(errno::ELOOP)),
            "Too many levels of symbolic links (ELOOP)"
        );
        assert_eq!(
            std::format!("{}", Errno(4000)),
            "Unknown error (errno 4000)"
        );
    }
}
