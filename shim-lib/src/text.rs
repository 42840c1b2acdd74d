//! Messages without `core::fmt`.
//!
//! `core::fmt` (its formatter, padding and integer code, plus one
//! `Display` body per type) would be most of rld-loader's size, and every
//! program on the machine maps the loader. So messages are built from
//! [`Piece`]s and written by [`Show`] into an [`Out`]: a fixed buffer in the
//! loader, a `fmt::Formatter` everywhere else (each `Show` type also
//! implements `Display` through it, so the CLI and tests see ordinary
//! `Display` values).

use core::fmt;

/// Somewhere message bytes go.
pub trait Out {
    fn write(&mut self, bytes: &[u8]);
}

/// A part of a message.
#[derive(Clone, Copy, Debug)]
pub enum Piece<'a> {
    /// Text.
    S(&'a str),
    /// A number in decimal.
    D(u64),
    /// A number in hex, `0x` first.
    X(u64),
    /// A path or variable value: shown lossily, escaped, elided when long
    /// (see [`show_bytes`]).
    B(&'a [u8]),
}

/// A value that can write itself as a message.
pub trait Show {
    fn show(&self, out: &mut dyn Out);
}

/// Writes `template` to `out`, each `\x01` in it replaced by the next of
/// `args`. One template string per message keeps the loader small: a
/// message is one constant and a few values, not a piece per phrase.
pub fn fill(out: &mut dyn Out, template: &str, args: &[Piece<'_>]) {
    let mut args = args.iter();
    for (i, part) in template.split('\x01').enumerate() {
        if i > 0
            && let Some(arg) = args.next()
        {
            render(out, core::slice::from_ref(arg));
        }
        out.write(part.as_bytes());
    }
}

/// Writes `pieces` to `out`.
pub fn render(out: &mut dyn Out, pieces: &[Piece<'_>]) {
    for piece in pieces {
        match *piece {
            Piece::S(s) => out.write(s.as_bytes()),
            Piece::D(n) => number(out, n, 10),
            Piece::X(n) => {
                out.write(b"0x");
                number(out, n, 16);
            }
            Piece::B(b) => show_bytes(out, b),
        }
    }
}

fn number(out: &mut dyn Out, mut n: u64, base: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(n % base) as usize];
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
/// characters as `\xNN` so a hostile value cannot add lines to rld's
/// messages, invalid bytes as U+FFFD, and the middle of a long value elided.
pub fn show_bytes(out: &mut dyn Out, b: &[u8]) {
    if b.len() <= SHOWN {
        return escape(out, b);
    }
    escape(out, &b[..SHOWN / 2]);
    render(
        out,
        &[
            Piece::S("…("),
            Piece::D(b.len() as u64),
            Piece::S(" bytes)…"),
        ],
    );
    escape(out, &b[b.len() - SHOWN / 4..]);
}

fn escape(out: &mut dyn Out, b: &[u8]) {
    for chunk in b.utf8_chunks() {
        let valid = chunk.valid().as_bytes();
        let mut start = 0;
        for (i, &c) in valid.iter().enumerate() {
            if c < 0x20 || c == 0x7f {
                out.write(&valid[start..i]);
                out.write(&[
                    b'\\',
                    b'x',
                    b"0123456789abcdef"[(c >> 4) as usize],
                    b"0123456789abcdef"[(c & 15) as usize],
                ]);
                start = i + 1;
            }
        }
        out.write(&valid[start..]);
        if !chunk.invalid().is_empty() {
            out.write("\u{FFFD}".as_bytes());
        }
    }
}

/// Bytes shown with [`show_bytes`], as a value.
#[derive(Clone, Copy, Debug)]
pub struct Shown<'a>(pub &'a [u8]);

impl Show for Shown<'_> {
    fn show(&self, out: &mut dyn Out) {
        show_bytes(out, self.0)
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

    pub fn push(&mut self, bytes: &[u8]) {
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
        self.push(tail);
    }
}

impl Out for BufWriter<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.push(bytes)
    }
}

/// Adapts a `fmt::Formatter` as an [`Out`]. Everything [`Show`] writes is
/// UTF-8 ([`show_bytes`] replaces invalid bytes), but a value cut in the
/// middle of a character would not be: such a piece is replaced.
pub struct FmtOut<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    pub result: fmt::Result,
}

impl<'a, 'b> FmtOut<'a, 'b> {
    pub fn new(f: &'a mut fmt::Formatter<'b>) -> Self {
        FmtOut { f, result: Ok(()) }
    }
}

impl Out for FmtOut<'_, '_> {
    fn write(&mut self, bytes: &[u8]) {
        if self.result.is_ok() {
            self.result = self
                .f
                .write_str(core::str::from_utf8(bytes).unwrap_or("\u{FFFD}"));
        }
    }
}

/// Implements `Display` for [`Show`] types.
#[macro_export]
macro_rules! display_via_show {
    ($($t:ty),* $(,)?) => {$(
        impl ::core::fmt::Display for $t {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut out = $crate::text::FmtOut::new(f);
                $crate::text::Show::show(self, &mut out);
                out.result
            }
        }
    )*};
}

display_via_show!(Shown<'_>);

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn shown_escapes_control_and_invalid_bytes() {
        assert_eq!(format!("{}", Shown(b"a\nb\xffc")), "a\\x0ab\u{FFFD}c");
        assert_eq!(format!("{}", Shown("é\u{7f}".as_bytes())), "é\\x7f");
    }

    #[test]
    fn shown_elides_long_values() {
        let long = [b'x'; 5000];
        let s = format!("{}", Shown(&long));
        assert!(s.len() < 300, "{s}");
        assert!(s.contains("…(5000 bytes)…"));
    }

    #[test]
    fn fill_replaces_markers_in_order() {
        let mut buf = [0u8; 64];
        let mut w = BufWriter::new(&mut buf);
        fill(
            &mut w,
            "a \x01 b \x01\x01.",
            &[Piece::D(1), Piece::X(2), Piece::S("z")],
        );
        assert_eq!(w.as_bytes(), b"a 1 b 0x2z.");
    }

    #[test]
    fn pieces_render_numbers() {
        let mut buf = [0u8; 64];
        let mut w = BufWriter::new(&mut buf);
        render(
            &mut w,
            &[
                Piece::S("a "),
                Piece::D(0),
                Piece::S(" "),
                Piece::D(18446744073709551615),
                Piece::S(" "),
                Piece::X(0x1f),
            ],
        );
        assert_eq!(w.as_bytes(), b"a 0 18446744073709551615 0x1f");
    }

    #[test]
    fn bufwriter_truncates() {
        let mut buf = [0u8; 6];
        let mut w = BufWriter::new(&mut buf);
        w.push(b"abcdefgh");
        assert_eq!(w.as_bytes(), b"abcdef");
        assert!(w.truncated);
        w.end_line();
        assert_eq!(w.as_bytes(), b"ab...\n");
        let mut buf = [0u8; 6];
        let mut w = BufWriter::new(&mut buf);
        w.push(b"ab");
        w.end_line();
        assert_eq!(w.as_bytes(), b"ab\n");
    }
}
