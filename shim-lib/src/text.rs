//! Messages without `core::fmt`.
//!
//! `core::fmt` (its formatter, padding and integer code, plus one
//! `Display` body per type) would be most of rld-loader's size, and every
//! program on the machine maps the loader. So a message is a template, plain
//! text with a `{}` where each value goes, filled with a few [`Piece`]s
//! ([`fill`]), written by [`Show`] into an [`Out`], a fixed buffer. Each
//! `Show` type also implements `Display` through one, so the CLI and tests
//! see ordinary `Display` values.

use core::fmt;

/// Where message bytes go: a fixed buffer, in the loader and (through
/// [`display_via_show!`](crate::display_via_show!)) everywhere else. One concrete type rather than a
/// trait object, so that every write is a direct call.
pub type Out<'b> = BufWriter<'b>;

/// A value in a message: what fills one `{}` of a template, and how it is
/// shown.
#[derive(Clone, Copy)]
pub enum Piece<'a> {
    /// A number, in decimal. Word-sized: everything rld counts fits (an ELF
    /// word of the class it serves, a length, an errno), and 32-bit targets
    /// need no 64-bit division.
    Num(usize),
    /// A number in hex, `0x` first: addresses, offsets, alignments.
    Hex(usize),
    /// Text, a path or a variable's value: shown escaped, and elided when
    /// long (see `show_bytes`).
    Bytes(&'a [u8]),
    /// Anything that shows itself (a nested message, an error, a setting).
    Show(&'a dyn Show),
}

impl Piece<'_> {
    fn show(&self, out: &mut Out<'_>) {
        match *self {
            Piece::Num(n) => number(out, n, 10),
            Piece::Hex(n) => {
                out.write(b"0x");
                number(out, n, 16)
            }
            Piece::Bytes(b) => show_bytes(out, b),
            Piece::Show(v) => v.show(out),
        }
    }
}

/// A value that can write itself as a message.
pub trait Show {
    fn show(&self, out: &mut Out<'_>);
}

/// Writes `template` to `out`, each `{}` in it replaced by the next of
/// `args` (a `{}` past the last value is dropped). Nothing else in a
/// template is special: a lone `{` or `}` is written as is, and a message
/// that must show `{}` itself passes it as a value
/// (`fill(out, b"{}", &[Piece::Bytes(b"{}")])`).
pub fn fill(out: &mut Out<'_>, template: &[u8], args: &[Piece<'_>]) {
    let mut args = args.iter();
    let mut rest = template;
    while let Some(at) = rest.windows(2).position(|pair| pair == b"{}") {
        out.write(&rest[..at]);
        if let Some(piece) = args.next() {
            piece.show(out);
        }
        rest = &rest[at + 2..];
    }
    out.write(rest);
}

/// A template and its values, as one [`Show`] value.
pub struct Msg<'a>(pub &'a [u8], pub &'a [Piece<'a>]);

impl Show for Msg<'_> {
    fn show(&self, out: &mut Out<'_>) {
        fill(out, self.0, self.1)
    }
}

/// The rest of the line of `table` that starts with the decimal `key` and
/// a space (`"2 No such file or directory (ENOENT)\n"`): one string
/// searched on the error path, for tables keyed by numbers with gaps (errno
/// values, ELF machine numbers), where a `match` would be a jump table.
pub fn lookup(table: &'static [u8], key: usize) -> Option<&'static [u8]> {
    // Byte by byte: `str::split` and `str::parse` would bring in their
    // panicking and UTF-8 paths for nothing: keys are ASCII digits.
    let t = table;
    let mut i = 0;
    while i < t.len() {
        let start = i;
        let mut n: usize = 0;
        while let Some(&c @ b'0'..=b'9') = t.get(i) {
            n = n.wrapping_mul(10).wrapping_add((c - b'0') as usize);
            i += 1;
        }
        let mut end = i;
        while end < t.len() && t[end] != b'\n' {
            end += 1;
        }
        if i > start && n == key && t.get(i) == Some(&b' ') {
            return t.get(i + 1..end);
        }
        i = end + 1;
    }
    None
}

#[inline(never)]
fn number(out: &mut Out<'_>, mut n: usize, base: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[n % base];
        n /= base;
        if n == 0 {
            break;
        }
    }
    out.write(&digits[at..]);
}

/// Longest part of a value shown in a message; the rest is elided so that a
/// 100 KiB variable still gives a one-line error.
const SHOWN: usize = 160;

/// Shows raw bytes (a path, a variable's value): valid UTF-8 as is, control
/// characters and bytes that are not UTF-8 as `\xNN`, so a hostile value
/// cannot add lines to rld's messages, and the middle of a long value
/// elided.
fn show_bytes(out: &mut Out<'_>, b: &[u8]) {
    if b.len() <= SHOWN {
        return escape(out, b);
    }
    escape(out, &b[..SHOWN / 2]);
    out.write("…(".as_bytes());
    number(out, b.len(), 10);
    out.write(" bytes)…".as_bytes());
    escape(out, &b[b.len() - SHOWN / 4..]);
}

fn escape(out: &mut Out<'_>, b: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let n = char_len(&b[i..]);
        if n > 0 {
            i += n;
            continue;
        }
        out.write(&b[start..i]);
        let c = b[i];
        out.write(&[
            b'\\',
            b'x',
            b"0123456789abcdef"[(c >> 4) as usize],
            b"0123456789abcdef"[(c & 15) as usize],
        ]);
        i += 1;
        start = i;
    }
    out.write(&b[start..]);
}

/// The length of the UTF-8 character `s` starts with, or 0 if it starts
/// with a control character (C0, DEL or C1) or with bytes that are not
/// UTF-8. Written out rather than `utf8_chunks`, which brings the loader
/// a general decoder for the one question asked here.
fn char_len(s: &[u8]) -> usize {
    let c = s[0];
    let (n, lo, hi) = match c {
        0x20..0x7f => return 1,
        // U+0080..U+009F are the C1 controls: terminals act on some (CSI).
        0xc2 => (2, 0xa0, 0xbf),
        0xc3..=0xdf => (2, 0x80, 0xbf),
        0xe0 => (3, 0xa0, 0xbf),
        0xed => (3, 0x80, 0x9f),
        0xe1..=0xef => (3, 0x80, 0xbf),
        0xf0 => (4, 0x90, 0xbf),
        0xf1..=0xf3 => (4, 0x80, 0xbf),
        0xf4 => (4, 0x80, 0x8f),
        _ => return 0,
    };
    match s.get(1..n) {
        Some([second, rest @ ..])
            if (lo..=hi).contains(second) && rest.iter().all(|&b| b & 0xc0 == 0x80) =>
        {
            n
        }
        _ => 0,
    }
}

/// An [`Out`] into a fixed byte buffer that keeps what fits and records
/// whether anything was cut.
pub struct BufWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
    pub truncated: bool,
}

impl<'b> BufWriter<'b> {
    pub fn new(buf: &'b mut [u8]) -> Self {
        BufWriter {
            buf,
            len: 0,
            truncated: false,
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        let room = self.buf.len() - self.len;
        let n = bytes.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        self.truncated |= n < bytes.len();
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Ends the text with a newline, giving up its last bytes if needed;
    /// a cut text ends in `...`.
    pub fn end_line(&mut self) {
        let tail: &[u8] = if self.truncated { b"...\n" } else { b"\n" };
        self.len = self.len.min(self.buf.len().saturating_sub(tail.len()));
        self.write(tail);
    }
}

/// Writes `value` to `f`, through a buffer longer than any message (values
/// are elided past 160 bytes, see `show_bytes`).
pub fn display(value: &dyn Show, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut buf = [0u8; 4096];
    let mut out = BufWriter::new(&mut buf);
    value.show(&mut out);
    // Everything `Show` writes is UTF-8 unless the buffer cut a character.
    f.write_str(valid_prefix(out.as_bytes()))
}

/// The valid UTF-8 prefix of `b` (a cut character at the end is dropped).
fn valid_prefix(b: &[u8]) -> &str {
    match core::str::from_utf8(b) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
    }
}

/// Implements `Display` for [`Show`] types.
#[macro_export]
macro_rules! display_via_show {
    ($($t:ty),* $(,)?) => {$(
        impl ::core::fmt::Display for $t {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                $crate::text::display(self, f)
            }
        }
    )*};
}

display_via_show!(Msg<'_>);

#[cfg(test)]
mod tests;
