//! Messages without `core::fmt`.
//!
//! `core::fmt` (its formatter, padding and integer code, plus one
//! `Display` body per type) would be most of rld-loader's size, and every
//! program on the machine maps the loader. So a message is a template with
//! markers filled with a few [`Piece`]s ([`fill`]), written by [`Show`] into
//! an [`Out`], a fixed buffer. Each `Show` type also implements `Display`
//! through one, so the CLI and tests see ordinary `Display` values.

use core::fmt;

/// Where message bytes go: a fixed buffer, in the loader and (through
/// [`display_via_show!`]) everywhere else. One concrete type: a trait object
/// cost the loader a vtable and an indirect call at every write.
pub type Out<'b> = BufWriter<'b>;

/// A value in a message.
#[derive(Clone, Copy)]
pub enum Piece<'a> {
    /// A number: decimal at a `\x01` marker, hex (`0x` first) at `\x02`.
    /// Word-sized: everything rld counts fits (an ELF word of the class it
    /// serves, a length, an errno), and 32-bit targets need no 64-bit
    /// division.
    N(usize),
    /// Text, a path or a variable's value: shown escaped, and elided when
    /// long (see [`show_bytes`]).
    B(&'a [u8]),
    /// Anything that shows itself (a nested message).
    V(&'a dyn Show),
}

/// A value that can write itself as a message.
pub trait Show {
    fn show(&self, out: &mut Out<'_>);
}

/// Writes `template` to `out`, each `\x01` or `\x02` in it replaced by the
/// next of `args`, and each word code (see [`pack`]) by its word. A message
/// is one template constant and a few values: building a piece per phrase
/// costs the loader several instructions each.
pub fn fill(out: &mut Out<'_>, template: &[u8], args: &[Piece<'_>]) {
    let t = template;
    let mut args = args.iter();
    let mut start = 0;
    let mut i = 0;
    while let Some(&c) = t.get(i) {
        i += 1;
        if (3..WORD).contains(&c) {
            continue;
        }
        out.write(&t[start..i - 1]);
        start = i;
        if c >= WORD {
            out.write(word(c));
        } else {
            match args.next() {
                Some(&Piece::N(n)) if c == 2 => {
                    out.write(b"0x");
                    number(out, n, 16)
                }
                Some(&Piece::N(n)) => number(out, n, 10),
                Some(&Piece::B(b)) => show_bytes(out, b),
                Some(Piece::V(v)) => v.show(out),
                None => {}
            }
        }
    }
    out.write(&t[start..]);
}

/// A template and its values, as one [`Show`] value.
pub struct Msg<'a>(pub &'a [u8], pub &'a [Piece<'a>]);

impl Show for Msg<'_> {
    fn show(&self, out: &mut Out<'_>) {
        fill(out, self.0, self.1)
    }
}

/// The words a template names by one byte each: the phrases rld's messages
/// repeat, separated by NULs. Message text was a fifth of rld-loader, which
/// every program on the machine maps; this halves it while the source keeps
/// plain English (see [`text!`](crate::text!)). Any choice is correct; this
/// one was chosen by the packed size it gives the loader's messages (words
/// added one at a time, each the one that shrank text plus dictionary
/// most, then any whose removal helped dropped).
const WORDS: &[u8] = b" to the ld.so of a glibc for \0loadable segment\0LD_LIBRARY_PATH\0\
No such device\0 (truncated?)\0rld-loader \0 directory\0Too many \0 program\0\
address \0 header\0 system\0library\0it is \0memory\0 (ENO\0 file\0 for \0 has \0 not \0 too \0\
ld.so\0rld: \0short\0 is \0DIR)\0NIX_\0a po\0able\0byte\0ile \0ing \0\
ment\0not \0run \0type\0 (E\0 or\0 pa\0 th\0's \0ELF\0LE)\0an \0ion\0\
nam\0no \0of \0s a\0the\0 (\0 s\0 u\0: \0an\0ar\0bu\0d \0de\0ed\0en\0\
er\0es\0ex\0il\0in\0is\0it\0le\0li\0on\0or\0ou\0se\0t \0te\0th\0tr\0y ";

/// The first word code; codes run up to 255, which is why templates are
/// ASCII.
const WORD: u8 = 0x80;

/// The word `code` stands for.
#[inline(never)]
fn word(code: u8) -> &'static [u8] {
    let mut rest = WORDS;
    let mut n = code - WORD;
    loop {
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        if n == 0 {
            return &rest[..end];
        }
        rest = rest.get(end + 1..).unwrap_or(b"");
        n -= 1;
    }
}

/// Writes the ASCII text `s` packed into `out` (as far as it reaches) and
/// returns the packed length: at each position the longest word of
/// [`WORDS`] becomes its code, and in a `table` (see [`lookup`]) each
/// line's key stays as it is. Run by the compiler, through
/// [`text!`](crate::text!).
pub const fn pack(s: &[u8], table: bool, out: &mut [u8]) -> usize {
    let mut i = 0;
    let mut n = 0;
    let mut line_start = true;
    while i < s.len() {
        let c = s[i];
        if table && line_start {
            // The key: digits and one space, copied.
            line_start = c != b' ';
            put(out, n, c);
            n += 1;
            i += 1;
            continue;
        }
        line_start = c == b'\n';
        let (mut best, mut best_len) = (0, 0);
        let (mut w, mut code, mut at) = (0, 0, 0);
        while w <= WORDS.len() {
            if w == WORDS.len() || WORDS[w] == 0 {
                let len = w - at;
                if len > best_len && starts_with_at(s, i, at, len) {
                    (best, best_len) = (code, len);
                }
                code += 1;
                at = w + 1;
            }
            w += 1;
        }
        if best_len > 0 {
            put(out, n, WORD + best);
            n += 1;
            i += best_len;
            continue;
        }
        assert!(c < 0x80, "a template must be ASCII");
        put(out, n, c);
        n += 1;
        i += 1;
    }
    n
}

const fn put(out: &mut [u8], n: usize, c: u8) {
    if n < out.len() {
        out[n] = c;
    }
}

/// Whether `s[i..]` starts with the `len` bytes of [`WORDS`] at `at`.
const fn starts_with_at(s: &[u8], i: usize, at: usize, len: usize) -> bool {
    if i + len > s.len() {
        return false;
    }
    let mut k = 0;
    while k < len {
        if s[i + k] != WORDS[at + k] {
            return false;
        }
        k += 1;
    }
    true
}

/// A message template, packed by the compiler (see [`pack`]): a
/// `&'static [u8]` for [`fill`]. `text!(table: ...)` packs a [`lookup`]
/// table.
#[macro_export]
macro_rules! text {
    (table: $s:expr) => {
        $crate::text!(@ $s, true)
    };
    ($s:expr) => {
        $crate::text!(@ $s, false)
    };
    (@ $s:expr, $table:expr) => {{
        const S: &[u8] = $s.as_bytes();
        const N: usize = $crate::text::pack(S, $table, &mut []);
        const P: [u8; N] = {
            let mut p = [0; N];
            $crate::text::pack(S, $table, &mut p);
            p
        };
        &P as &'static [u8]
    }};
}

/// The rest of the line of `table` that starts with the decimal `key` and
/// a space (`"2 No such file or directory (ENOENT)\n"`): one string
/// searched on the error path, where a table of `&str`s would be a pointer
/// and a relocation per entry and a `match` a jump table. Works on packed
/// tables too (their keys stay plain).
pub fn lookup(table: &'static [u8], key: usize) -> Option<&'static [u8]> {
    // Byte by byte: `str::split` and `str::parse` would cost the loader
    // more than the tables themselves.
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
pub fn show_bytes(out: &mut Out<'_>, b: &[u8]) {
    if b.len() <= SHOWN {
        return escape(out, b);
    }
    escape(out, &b[..SHOWN / 2]);
    // Not a template: templates are ASCII.
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
/// UTF-8. Written out
/// rather than `utf8_chunks`, which costs the loader three times as much.
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

/// Bytes shown with [`show_bytes`], as a value.
#[derive(Clone, Copy, Debug)]
pub struct Shown<'a>(pub &'a [u8]);

impl Show for Shown<'_> {
    fn show(&self, out: &mut Out<'_>) {
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
/// are elided past 160 bytes, see [`show_bytes`]).
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

display_via_show!(Shown<'_>, Msg<'_>);

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::ToString;

    fn written(f: impl Fn(&mut Out<'_>)) -> std::vec::Vec<u8> {
        let mut buf = [0u8; 512];
        let mut w = BufWriter::new(&mut buf);
        f(&mut w);
        w.as_bytes().to_vec()
    }

    #[test]
    fn shown_escapes_control_and_invalid_bytes() {
        assert_eq!(format!("{}", Shown(b"a\nb\xffc")), "a\\x0ab\\xffc");
        assert_eq!(format!("{}", Shown("é\u{7f}".as_bytes())), "é\\x7f");
        // A truncated character, a surrogate, an overlong form.
        assert_eq!(format!("{}", Shown(b"\xe2\x82")), "\\xe2\\x82");
        assert_eq!(format!("{}", Shown(b"\xed\xa0\x80")), "\\xed\\xa0\\x80");
        assert_eq!(format!("{}", Shown(b"\xc0\xaf")), "\\xc0\\xaf");
        // A C1 control (CSI) would let a value drive the terminal.
        assert_eq!(
            format!("{}", Shown("a\u{9b}31m".as_bytes())),
            "a\\xc2\\x9b31m"
        );
    }

    #[test]
    fn char_len_agrees_with_core_on_every_short_sequence() {
        let check = |s: &[u8]| {
            let want = match core::str::from_utf8(s) {
                Ok(c) if !c.chars().next().unwrap().is_control() => s.len(),
                _ => 0,
            };
            assert_eq!(char_len(s), want, "{s:x?}");
        };
        for a in 0..=255u8 {
            check(&[a]);
            for b in 0..=255u8 {
                if a >= 0xc0 {
                    check(&[a, b]);
                }
                if a >= 0xe0 {
                    for c in [0x00, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xff] {
                        check(&[a, b, c]);
                        if a >= 0xf0 {
                            for d in [0x00, 0x80, 0xbf, 0xc0] {
                                check(&[a, b, c, d]);
                            }
                        }
                    }
                }
            }
        }
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
        let inner = Msg(b"[\x01]", &[Piece::N(7)]);
        let out = written(|w| {
            fill(
                w,
                b"a \x01 b \x02\x01\x01.",
                &[
                    Piece::N(1),
                    Piece::N(0x1f),
                    Piece::B(b"z"),
                    Piece::V(&inner),
                ],
            )
        });
        assert_eq!(out, b"a 1 b 0x1fz[7].");
        let out = written(|w| fill(w, b"\x01 \x01 \x01", &[Piece::N(0), Piece::N(usize::MAX)]));
        assert_eq!(out, format!("0 {} ", usize::MAX).as_bytes());
    }

    #[test]
    fn numbers_in_every_base_and_width() {
        for n in [
            0,
            9,
            10,
            0xffff,
            0x1_0000,
            u32::MAX as usize,
            usize::MAX >> 8,
            usize::MAX - 1,
            usize::MAX,
        ] {
            let dec = written(|w| number(w, n, 10));
            assert_eq!(dec, n.to_string().as_bytes());
            let hex = written(|w| number(w, n, 16));
            assert_eq!(hex, format!("{n:x}").as_bytes());
        }
    }

    #[test]
    fn lookup_finds_whole_numbers_only() {
        let table = b"1 one\n12 twelve\n3 three";
        assert_eq!(lookup(table, 1), Some(&b"one"[..]));
        assert_eq!(lookup(table, 12), Some(&b"twelve"[..]));
        assert_eq!(lookup(table, 3), Some(&b"three"[..]));
        assert_eq!(lookup(table, 2), None);
        assert_eq!(lookup(b"x 1\n 2", 0), None);
    }

    #[test]
    fn packed_text_reads_back_as_written() {
        let unpacked = |t: &[u8]| written(|w| fill(w, t, &[]));
        const T: &[u8] = crate::text!("it is rld-loader itself, not glibc's ld.so");
        assert!(T.len() < 30, "{}", T.len());
        assert_eq!(unpacked(T), b"it is rld-loader itself, not glibc's ld.so");
        // Every word is one code, and reads back.
        for (k, w) in WORDS.split(|&b| b == 0).enumerate() {
            let mut one = [0; 1];
            assert_eq!(pack(w, false, &mut one), 1, "{w:?}");
            assert_eq!(one[0] as usize, WORD as usize + k, "{w:?}");
            assert_eq!(unpacked(&one), w);
        }
        assert!(WORDS.split(|&b| b == 0).count() <= 128);
        // A table's keys and the space after them stay plain.
        const TABLE: &[u8] = crate::text!(table: "3 it is\n12 ELF the end");
        assert_eq!(
            lookup(TABLE, 3).map(unpacked).as_deref(),
            Some(&b"it is"[..])
        );
        assert_eq!(
            lookup(TABLE, 12).map(unpacked).as_deref(),
            Some(&b"ELF the end"[..])
        );
        // Markers pass through.
        const M: &[u8] = crate::text!("the \x01 ld.so \x02");
        assert_eq!(
            written(|w| fill(w, M, &[Piece::N(5), Piece::N(16)])),
            b"the 5 ld.so 0x10"
        );
    }

    #[test]
    fn display_drops_a_character_the_buffer_cut() {
        assert_eq!(valid_prefix("aé".as_bytes()), "aé");
        assert_eq!(valid_prefix(&"aé".as_bytes()[..2]), "a");
        // Longer than the buffer: cut, still UTF-8.
        let long = Msg(&[b'x'; 5000], &[]);
        assert_eq!(format!("{long}").len(), 4096);
    }

    #[test]
    fn bufwriter_truncates() {
        let mut buf = [0u8; 6];
        let mut w = BufWriter::new(&mut buf);
        w.write(b"abcdefgh");
        assert_eq!(w.as_bytes(), b"abcdef");
        assert!(w.truncated);
        w.end_line();
        assert_eq!(w.as_bytes(), b"ab...\n");
        let mut buf = [0u8; 6];
        let mut w = BufWriter::new(&mut buf);
        w.write(b"ab");
        w.end_line();
        assert_eq!(w.as_bytes(), b"ab\n");
    }
}
