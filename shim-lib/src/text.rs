//! Small text helpers that need no allocation: showing raw bytes (paths,
//! variable values) in messages, and writing into a fixed buffer.

use core::fmt;

/// Displays bytes as UTF-8, replacing invalid sequences with U+FFFD and
/// control characters with `\n`-style escapes so a hostile value cannot add
/// lines to rld's messages.
pub struct Lossy<'a>(pub &'a [u8]);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if (c as u32) < 0x20 || c == '\u{7f}' {
                    // Hex escapes rather than char::escape_default, whose
                    // Unicode tables would cost the loader kilobytes.
                    write!(f, "\\x{:02x}", c as u32)?;
                } else {
                    fmt::Write::write_char(f, c)?;
                }
            }
            if !chunk.invalid().is_empty() {
                f.write_str("\u{FFFD}")?;
            }
        }
        Ok(())
    }
}

/// Longest part of a value shown in a message; the rest is elided so that a
/// 100 KiB variable still gives a one-line error.
const SHOWN: usize = 160;

/// Like [`Lossy`], but shortens long values to their start and end.
pub struct Shown<'a>(pub &'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b.len() <= SHOWN {
            return Lossy(b).fmt(f);
        }
        write!(
            f,
            "{}…({} bytes)…{}",
            Lossy(&b[..SHOWN / 2]),
            b.len(),
            Lossy(&b[b.len() - SHOWN / 4..])
        )
    }
}

/// A `fmt::Write` into a fixed byte buffer that keeps what fits and records
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
}

impl fmt::Write for BufWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn lossy_escapes_control_and_invalid_bytes() {
        assert_eq!(format!("{}", Lossy(b"a\nb\xffc")), "a\\x0ab\u{FFFD}c");
    }

    #[test]
    fn shown_elides_long_values() {
        let long = [b'x'; 5000];
        let s = format!("{}", Shown(&long));
        assert!(s.len() < 300, "{s}");
        assert!(s.contains("(5000 bytes)"));
    }

    #[test]
    fn bufwriter_truncates() {
        let mut buf = [0u8; 4];
        let mut w = BufWriter::new(&mut buf);
        w.push(b"abcdef");
        assert_eq!(w.as_bytes(), b"abcd");
        assert!(w.truncated);
    }
}
