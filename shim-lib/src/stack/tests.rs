use super::*;
use std::ffi::CString;
use std::vec;
use std::vec::Vec;

pub(crate) const AT_PAGESZ: usize = 6;
pub(crate) const AT_BASE: usize = 7;
const ENTRY: usize = AT_ENTRY as usize;
/// The program's entry in a [`Fake`] stack.
pub(crate) const PROGRAM_ENTRY: usize = 0x401000;
/// Headroom words below argc, as the loader leaves them.
pub(crate) const H: usize = 8;

/// A fake stack: strings are numbered from 1 and [`Fake::string`] looks up
/// number `p`, so the tests need no raw pointers.
pub(crate) struct Fake {
    pub strings: Vec<CString>,
    pub words: Vec<usize>,
}

impl Fake {
    pub fn new(args: &[&str], env: &[&str]) -> Fake {
        Fake::with_aux(args, env, &[])
    }

    /// With auxiliary vector entries `aux` after the usual `AT_PAGESZ`,
    /// `AT_BASE` and `AT_ENTRY` (and before them, so they win a lookup).
    pub fn with_aux(args: &[&str], env: &[&str], aux: &[(usize, usize)]) -> Fake {
        let mut strings = Vec::new();
        let mut words = vec![0; H];
        words.push(args.len());
        for a in args {
            strings.push(CString::new(*a).unwrap());
            words.push(strings.len());
        }
        words.push(0);
        for e in env {
            strings.push(CString::new(*e).unwrap());
            words.push(strings.len());
        }
        words.push(0);
        for &(key, value) in aux {
            words.extend([key, value]);
        }
        words.extend([AT_PAGESZ, 4096, AT_BASE, 0x7000, ENTRY, PROGRAM_ENTRY, 0, 0]);
        Fake { strings, words }
    }

    /// The string at "address" `p`; 0 reads as empty, as in the loader.
    pub fn string(strings: &[CString], p: usize) -> &core::ffi::CStr {
        match p {
            0 => c"",
            p => &strings[p - 1],
        }
    }
}

/// Reads the environment the way the C library does: from the word after
/// argv's terminator up to the first NULL.
fn env_as_seen(words: &[usize], environ_index: usize) -> Vec<usize> {
    words[environ_index..]
        .iter()
        .take_while(|&&p| p != 0)
        .copied()
        .collect()
}

#[test]
fn parses_the_kernel_layout() {
    let mut f = Fake::new(&["prog", "a"], &["A=1", "B=2"]);
    let s = Stack::parse(&mut f.words, H).unwrap();
    assert_eq!(s.argv().len(), 2);
    assert_eq!(s.argv(), &[1, 2]);
    assert_eq!(s.env(), &[3, 4]);
    assert_eq!(s.env_index(), H + 4);
    assert_eq!(s.aux(AT_PAGESZ as u32), Some(4096));
    assert_eq!(s.aux(99), None);
}

#[test]
fn rejects_malformed_stacks() {
    let mut w = vec![0, 0, 5, 1, 2];
    assert_eq!(
        Stack::parse(&mut w, 2).unwrap_err(),
        StackError::ArgvUnterminated
    );
    let mut w = vec![0, 0, 1, 1, 0, 3, 4];
    assert_eq!(
        Stack::parse(&mut w, 2).unwrap_err(),
        StackError::EnvUnterminated
    );
    let mut w = vec![0, 0, 1, 1, 0, 0, 6, 4096, 7];
    assert_eq!(
        Stack::parse(&mut w, 2).unwrap_err(),
        StackError::AuxvUnterminated
    );
    let mut w = vec![usize::MAX];
    assert_eq!(
        Stack::parse(&mut w, 0).unwrap_err(),
        StackError::ArgvUnterminated
    );
}

#[test]
fn set_aux_changes_one_entry_and_records_it() {
    let mut f = Fake::new(&["p"], &[]);
    let original = f.words.clone();
    let mut s = Stack::parse(&mut f.words, H).unwrap();
    let mut undo = Undo::new();
    s.set_aux(AT_BASE as u32, 0x1234, Some(&mut undo)).unwrap();
    assert_eq!(s.aux(AT_BASE as u32), Some(0x1234));
    assert_eq!(s.aux(AT_PAGESZ as u32), Some(4096));
    assert_eq!(s.set_aux(99, 1, None), Err(StackError::MissingAux(99)));
    undo.apply(s.words());
    assert_eq!(f.words, original);
}

/// For every environment word lent: ld.so sees the new entry, and after the
/// undo every word is as the kernel left it.
#[test]
fn lend_then_undo_restores_every_word() {
    let env = ["LD_LIBRARY_PATH=/u", "A=1", "_=/bin/prog"];
    for k in 0..env.len() {
        let mut f = Fake::new(&["prog", "arg1"], &env);
        let original = f.words.clone();
        let new_entry = 1000;
        let mut s = Stack::parse(&mut f.words, H).unwrap();
        let mut undo = Undo::default();
        let index = s.env_index() + k;
        s.lend_env(index, new_entry, &mut undo);
        let real_entry = s.redirect_entry(0x9999, &mut undo).unwrap();
        assert_eq!(real_entry, PROGRAM_ENTRY);
        assert_eq!(s.aux(AT_ENTRY), Some(0x9999));
        // What ld.so sees: argc from the stack, environ after argv.
        let words = s.words();
        let argc = words[H];
        let seen = env_as_seen(words, H + argc + 2);
        assert_eq!(seen[k], new_entry, "word {k}: {seen:?}");
        assert_eq!(seen.len(), env.len());
        undo.apply(words);
        assert_eq!(words, &original[..], "word {k}");
    }
}

/// Checks that the stack at `sp` parses with `argv`, the environment
/// and auxiliary vector of `f`, and a 16-byte aligned stack pointer.
fn check_rebuilt(s: &mut Stack<'_>, argv: &[usize], env: &[usize]) {
    let sp = s.sp();
    assert_eq!((sp * core::mem::size_of::<usize>()) % 16, 0, "alignment");
    let words = s.words();
    let again = Stack::parse(words, sp).unwrap();
    assert_eq!(again.argv(), argv);
    assert_eq!(again.env(), env);
    assert_eq!(again.aux(AT_PAGESZ as u32), Some(4096));
    assert_eq!(again.aux(AT_ENTRY), Some(PROGRAM_ENTRY));
}

#[test]
fn rebuild_argv_for_direct_invocation_and_relaunch() {
    // rld-loader ./prog x  ->  rld-loader --library-path LP ./prog x
    let mut f = Fake::new(&["rld-loader", "./prog", "x"], &["A=1"]);
    let mut s = Stack::parse(&mut f.words, H).unwrap();
    s.rebuild_argv(&[1, 100, 101], 1).unwrap();
    check_rebuilt(&mut s, &[1, 100, 101, 2, 3], &[4]);
    // prog a b  ->  prog --library-path LP --argv0 prog PATH a b
    let mut f = Fake::new(&["prog", "a", "b"], &["HOME=/"]);
    let mut s = Stack::parse(&mut f.words, H).unwrap();
    s.rebuild_argv(&[9, 100, 101, 102, 1, 9], 1).unwrap();
    check_rebuilt(&mut s, &[9, 100, 101, 102, 1, 9, 2, 3], &[4]);
    // An empty environment and one argument.
    let mut f = Fake::new(&["prog"], &[]);
    let mut s = Stack::parse(&mut f.words, H).unwrap();
    s.rebuild_argv(&[9, 100, 101, 102, 1, 9], 1).unwrap();
    check_rebuilt(&mut s, &[9, 100, 101, 102, 1, 9], &[]);
    // Not enough headroom.
    let mut f = Fake::new(&["a"], &[]);
    let mut s = Stack::parse(&mut f.words[H - 2..], 2).unwrap();
    assert_eq!(
        s.rebuild_argv(&[1, 2, 3, 4, 5, 6], 1),
        Err(StackError::NoRoom)
    );
}
