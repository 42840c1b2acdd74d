use super::*;

/// Bytes shown with [`show_bytes`], as a value.
struct Shown<'a>(&'a [u8]);

impl Show for Shown<'_> {
    fn show(&self, out: &mut Out<'_>) {
        show_bytes(out, self.0)
    }
}

display_via_show!(Shown<'_>);
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
fn fill_replaces_placeholders_in_order() {
    let inner = Msg(b"[{}]", &[Piece::Num(7)]);
    let out = written(|w| {
        fill(
            w,
            b"a {} b {}{}{}.",
            &[
                Piece::Num(1),
                Piece::Hex(0x1f),
                Piece::Bytes(b"z"),
                Piece::Show(&inner),
            ],
        )
    });
    assert_eq!(out, b"a 1 b 0x1fz[7].");
    // A placeholder past the last value is dropped.
    let out = written(|w| fill(w, b"{} {} {}", &[Piece::Num(0), Piece::Num(usize::MAX)]));
    assert_eq!(out, format!("0 {} ", usize::MAX).as_bytes());
    assert_eq!(written(|w| fill(w, b"{}", &[Piece::Hex(0)])), b"0x0");
}

#[test]
fn fill_writes_lone_braces_as_they_are() {
    let out = written(|w| fill(w, b"{ {x} }{ {", &[Piece::Num(1)]));
    assert_eq!(out, b"{ {x} }{ {");
    let out = written(|w| fill(w, b"{{}} {}", &[Piece::Num(1), Piece::Num(2)]));
    assert_eq!(out, b"{1} 2");
    // `{}` itself, shown as a value.
    let out = written(|w| fill(w, b"use {}", &[Piece::Bytes(b"{}")]));
    assert_eq!(out, b"use {}");
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
