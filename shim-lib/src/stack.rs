//! The initial process stack as the kernel lays it out (argc, argv, envp,
//! the auxiliary vector), seen as a slice of machine words, and the few
//! rewrites rld makes to it before `ld.so` runs and undoes before the program
//! runs.
//!
//! `ld.so` and the C library keep pointers into this block (`__environ`,
//! `_dl_argv`, `_dl_auxv`), so nothing here ever moves: rld only swaps the
//! value of single words and records the originals in an [`Undo`].

use linux_raw_sys::auxvec::{AT_ENTRY, AT_NULL};

use crate::text::Piece;
use crate::text::{Out, Show, fill};

/// More auxiliary vector entries than any kernel passes (Linux has ~30).
pub const MAX_AUXV: usize = 256;

/// What is wrong with a stack that does not have the kernel's shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StackError {
    ArgvUnterminated,
    EnvUnterminated,
    AuxvUnterminated,
    MissingAux(usize),
    NoRoom,
}

impl Show for StackError {
    fn show(&self, out: &mut Out<'_>) {
        let (template, key): (&[u8], usize) = match *self {
            StackError::ArgvUnterminated => (b"the argument vector has no terminator", 0),
            StackError::EnvUnterminated => (b"the environment has no terminator", 0),
            StackError::AuxvUnterminated => (b"the auxiliary vector has no AT_NULL entry", 0),
            StackError::MissingAux(key) => (b"the auxiliary vector has no entry {}", key),
            StackError::NoRoom => (b"there is no room below the stack for extra arguments", 0),
        };
        fill(out, template, &[Piece::Num(key)]);
    }
}

crate::display_via_show!(StackError);

/// The parsed initial stack. Indices are word offsets into `words`.
#[derive(Debug)]
pub struct Stack<'w> {
    words: &'w mut [usize],
    sp: usize,
    argc: usize,
    env: usize,
    env_end: usize,
    auxv: usize,
    auxv_end: usize,
}

/// Where the library path goes in the environment `ld.so` reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EnvSlot<'s> {
    /// Point environment word `index` at the new entry. `user` is the
    /// `LD_LIBRARY_PATH` value that word held, if it held one.
    Replace {
        index: usize,
        user: Option<&'s [u8]>,
    },
    /// No word can be lent without hiding a variable from `ld.so`, glibc's
    /// start-up or the libraries' constructors (or there is no environment
    /// at all): start `ld.so` as if it were run directly on the program,
    /// with the library path as `--library-path` (see
    /// [`Stack::rebuild_argv`]). `ld.so` maps the program again and
    /// rewrites the stack itself, so nothing needs undoing.
    Relaunch,
    /// Nowhere (no environment and no arguments at all).
    Nowhere,
}

/// Words to put back, as (index, original value).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Undo {
    saved: [(usize, usize); 4],
    len: usize,
}

impl Undo {
    pub const fn new() -> Self {
        Undo {
            saved: [(0, 0); 4],
            len: 0,
        }
    }

    fn save(&mut self, words: &[usize], index: usize) {
        self.saved[self.len] = (index, words[index]);
        self.len += 1;
    }

    /// Restores every saved word, last change first.
    pub fn apply(&self, words: &mut [usize]) {
        for &(index, value) in self.saved[..self.len].iter().rev() {
            words[index] = value;
        }
    }
}

/// `name=value` → `value`, if the entry is for `name`.
pub fn value_of<'s>(entry: &'s [u8], name: &[u8]) -> Option<&'s [u8]> {
    match entry.strip_prefix(name)? {
        [b'=', value @ ..] => Some(value),
        _ => None,
    }
}

/// The variable name of an environment entry.
fn name_of(entry: &[u8]) -> &[u8] {
    entry.split(|&b| b == b'=').next().unwrap_or(entry)
}

impl<'w> Stack<'w> {
    /// Parses the block starting at word `sp` (argc). Words before `sp` are
    /// free headroom that [`rebuild_argv`](Self::rebuild_argv) may use.
    #[inline(never)]
    pub fn parse(words: &'w mut [usize], sp: usize) -> Result<Self, StackError> {
        let argc = *words.get(sp).ok_or(StackError::ArgvUnterminated)?;
        let argv_end = sp
            .checked_add(1)
            .and_then(|i| i.checked_add(argc))
            .filter(|&i| i < words.len() && words[i] == 0)
            .ok_or(StackError::ArgvUnterminated)?;
        let env = argv_end + 1;
        let env_end = env
            + words
                .get(env..)
                .and_then(|w| w.iter().position(|&p| p == 0))
                .ok_or(StackError::EnvUnterminated)?;
        let auxv = env_end + 1;
        let mut i = auxv;
        loop {
            if i + 1 >= words.len() || (i - auxv) / 2 >= MAX_AUXV {
                return Err(StackError::AuxvUnterminated);
            }
            if words[i] == AT_NULL as usize {
                break;
            }
            i += 2;
        }
        Ok(Stack {
            words,
            sp,
            argc,
            env,
            env_end,
            auxv,
            auxv_end: i,
        })
    }

    /// Word index of argc: what the stack pointer must point at.
    pub fn sp(&self) -> usize {
        self.sp
    }

    /// Address of argc: the stack pointer to hand on.
    pub fn sp_ptr(&self) -> *const usize {
        &self.words[self.sp]
    }

    pub fn argc(&self) -> usize {
        self.argc
    }

    /// The argument pointers.
    pub fn argv(&self) -> &[usize] {
        &self.words[self.sp + 1..self.sp + 1 + self.argc]
    }

    /// The environment pointers.
    pub fn env(&self) -> &[usize] {
        &self.words[self.env..self.env_end]
    }

    /// All words, for [`Undo::apply`] and for handing the block on.
    pub fn words(&mut self) -> &mut [usize] {
        self.words
    }

    fn aux_index(&self, key: u32) -> Option<usize> {
        // A plain loop: `step_by` cost the loader three times as much.
        let mut i = self.auxv;
        while i < self.auxv_end {
            if self.words[i] == key as usize {
                return Some(i + 1);
            }
            i += 2;
        }
        None
    }

    /// The value of auxiliary vector entry `key`.
    pub fn aux(&self, key: u32) -> Option<usize> {
        self.aux_index(key).map(|i| self.words[i])
    }

    /// Sets entry `key`, recording the old value in `undo` when given.
    pub fn set_aux(
        &mut self,
        key: u32,
        value: usize,
        undo: Option<&mut Undo>,
    ) -> Result<(), StackError> {
        let i = self
            .aux_index(key)
            .ok_or(StackError::MissingAux(key as usize))?;
        if let Some(undo) = undo {
            undo.save(self.words, i);
        }
        self.words[i] = value;
        Ok(())
    }

    /// Chooses the environment word that will carry `LD_LIBRARY_PATH` for
    /// `ld.so`, preferring words whose absence during start-up nobody notices:
    ///
    /// 1. the user's own `LD_LIBRARY_PATH` (the last one: `ld.so` uses the
    ///    last), whose value is kept in front of rld's;
    /// 2. one of rld's own variables (`NIX_LD*`, `RLD_*`), which `ld.so` and
    ///    the program's libraries ignore;
    /// 3. `_`, which shells set to the program's path and nothing reads at
    ///    start-up;
    /// 4. otherwise [`EnvSlot::Relaunch`]: any other variable may be read
    ///    by `ld.so` (`LD_*`), by glibc's tunables (`GLIBC_TUNABLES`,
    ///    `MALLOC_*`) or by a library's constructor, all before the
    ///    program's entry point, so none is lent.
    ///
    /// Every word lent is put back before the program's entry point.
    #[inline(never)]
    pub fn choose_env_slot<'s>(&self, strings: impl Fn(usize) -> &'s [u8]) -> EnvSlot<'s> {
        let env = self.env();
        let at = |k: usize| self.env + k;
        if let Some((k, user)) = env
            .iter()
            .enumerate()
            .rev()
            .find_map(|(k, &p)| value_of(strings(p), b"LD_LIBRARY_PATH").map(|v| (k, v)))
        {
            return EnvSlot::Replace {
                index: at(k),
                user: Some(user),
            };
        }
        let lendable = |e: &[u8]| {
            let n = name_of(e);
            n.starts_with(b"NIX_LD") || n.starts_with(b"RLD_") || n == b"_"
        };
        match env.iter().position(|&p| lendable(strings(p))) {
            Some(k) => EnvSlot::Replace {
                index: at(k),
                user: None,
            },
            None if self.argc > 0 => EnvSlot::Relaunch,
            None => EnvSlot::Nowhere,
        }
    }

    /// Makes `ld.so` see the environment entry at address `entry` through
    /// `slot`, recording what it changed in `undo`. [`EnvSlot::Relaunch`]
    /// and [`EnvSlot::Nowhere`] change nothing here.
    #[inline(never)]
    pub fn apply_env(&mut self, slot: EnvSlot<'_>, entry: usize, undo: &mut Undo) {
        if let EnvSlot::Replace { index, .. } = slot {
            undo.save(self.words, index);
            self.words[index] = entry;
        }
    }

    /// Points `AT_ENTRY` at `trampoline`, recording the program's entry in
    /// `undo`; returns the program's entry.
    pub fn redirect_entry(
        &mut self,
        trampoline: usize,
        undo: &mut Undo,
    ) -> Result<usize, StackError> {
        let entry = self
            .aux(AT_ENTRY)
            .ok_or(StackError::MissingAux(AT_ENTRY as usize))?;
        self.set_aux(AT_ENTRY, trampoline, Some(undo))?;
        Ok(entry)
    }

    /// Replaces `argv[..skip]` with `head`: the new arguments are
    /// `head ++ argv[skip..]`. argc, the arguments and everything after them
    /// move down into the headroom by as many words as needed, rounded up so
    /// that the stack pointer keeps the 16-byte alignment the ABIs require
    /// at process entry; the strings they point to stay where they are.
    pub fn rebuild_argv(&mut self, head: &[usize], skip: usize) -> Result<(), StackError> {
        let skip = skip.min(self.argc);
        let grow = head.len().checked_sub(skip).ok_or(StackError::NoRoom)?;
        let align = 16 / core::mem::size_of::<usize>();
        let shift = grow.div_ceil(align) * align;
        let new_sp = self.sp.checked_sub(shift).ok_or(StackError::NoRoom)?;
        let down = shift - grow;
        let tail = self.sp + 1 + skip;
        let end = self.auxv_end + 2;
        self.words.copy_within(tail..end, tail - down);
        self.words[new_sp] = self.argc + grow;
        self.words[new_sp + 1..new_sp + 1 + head.len()].copy_from_slice(head);
        self.sp = new_sp;
        self.argc += grow;
        self.env -= down;
        self.env_end -= down;
        self.auxv -= down;
        self.auxv_end -= down;
        Ok(())
    }
}

/// Writes `prefix`, then `user` and `:` if `user` is non-empty, then `ours`
/// and a NUL into `out`; returns the bytes written (NUL included), or `None`
/// if `out` is too small.
pub fn compose_library_path<'o>(
    prefix: &[u8],
    user: Option<&[u8]>,
    ours: &[u8],
    out: &'o mut [u8],
) -> Option<&'o [u8]> {
    let user = user.unwrap_or(b"");
    let colon: &[u8] = if user.is_empty() { b"" } else { b":" };
    let mut at = 0;
    for part in [prefix, user, colon, ours, b"\0"] {
        out.get_mut(at..at + part.len())?.copy_from_slice(part);
        at += part.len();
    }
    Some(&out[..at])
}

/// Bytes [`compose_library_path`] needs.
pub fn library_path_len(prefix: &[u8], user: Option<&[u8]>, ours: &[u8]) -> usize {
    prefix.len() + user.filter(|u| !u.is_empty()).map_or(0, |u| u.len() + 1) + ours.len() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    const AT_PAGESZ: usize = 6;
    const AT_BASE: usize = 7;
    const ENTRY: usize = AT_ENTRY as usize;
    /// Headroom words below argc, as the loader leaves them.
    const H: usize = 8;

    /// A fake stack: strings are numbered from 1 and `strings(p)` looks up
    /// number `p`, so the tests need no raw pointers.
    struct Fake {
        strings: Vec<&'static [u8]>,
        words: Vec<usize>,
    }

    impl Fake {
        fn new(args: &[&'static str], env: &[&'static str]) -> Fake {
            let mut strings = Vec::new();
            let mut words = vec![0; H];
            words.push(args.len());
            for a in args {
                strings.push(a.as_bytes());
                words.push(strings.len());
            }
            words.push(0);
            for e in env {
                strings.push(e.as_bytes());
                words.push(strings.len());
            }
            words.push(0);
            words.extend([AT_PAGESZ, 4096, AT_BASE, 0x7000, ENTRY, 0x401000, 0, 0]);
            Fake { strings, words }
        }
    }

    /// Reads the environment the way the C library does: from the word after
    /// argv's terminator up to the first NULL.
    fn env_as_seen(words: &[usize], sp: usize, environ_index: usize) -> Vec<usize> {
        let _ = sp;
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
        assert_eq!(s.argc(), 2);
        assert_eq!(s.argv(), &[1, 2]);
        assert_eq!(s.env(), &[3, 4]);
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

    fn slot_for(env: &[&'static str]) -> (EnvSlot<'static>, usize) {
        let mut f = Fake::new(&["p"], env);
        let strings = f.strings.clone();
        let s = Stack::parse(&mut f.words, H).unwrap();
        let slot = s.choose_env_slot(|p| strings[p - 1]);
        (slot, s.env)
    }

    #[test]
    fn slot_prefers_the_users_last_ld_library_path() {
        let (slot, env) = slot_for(&[
            "LD_LIBRARY_PATH=/a",
            "X=1",
            "LD_LIBRARY_PATH=/b",
            "NIX_LD=/l",
        ]);
        assert_eq!(
            slot,
            EnvSlot::Replace {
                index: env + 2,
                user: Some(b"/b")
            }
        );
    }

    #[test]
    fn slot_then_prefers_rlds_own_variables() {
        let (slot, env) = slot_for(&["HOME=/root", "NIX_LD_LIBRARY_PATH=/l", "RLD_LOG=debug"]);
        assert_eq!(
            slot,
            EnvSlot::Replace {
                index: env + 1,
                user: None
            }
        );
    }

    #[test]
    fn slot_lends_only_words_nothing_reads_at_startup() {
        let (slot, env) = slot_for(&["HOME=/root", "_=/usr/bin/prog", "MALLOC_ARENA_MAX=2"]);
        assert_eq!(
            slot,
            EnvSlot::Replace {
                index: env + 1,
                user: None
            }
        );
        for env in [
            &["HOME=/root", "PATH=/bin"][..],
            &["LD_PRELOAD=/x.so", "GLIBC_TUNABLES=a=b"],
            &["MALLOC_PERTURB_=85"],
            &["LD_BIND_NOW=1"],
        ] {
            assert_eq!(slot_for(env).0, EnvSlot::Relaunch, "{env:?}");
        }
    }

    #[test]
    fn slot_for_an_empty_environment() {
        assert_eq!(slot_for(&[]).0, EnvSlot::Relaunch);
        let mut f = Fake::new(&[], &[]);
        let s = Stack::parse(&mut f.words, H).unwrap();
        assert_eq!(s.choose_env_slot(|_| b""), EnvSlot::Nowhere);
    }

    /// For every environment with a word to lend: ld.so sees the new entry,
    /// and after the undo every word is as the kernel left it.
    #[test]
    fn apply_then_undo_restores_every_word() {
        let envs: &[&[&'static str]] = &[
            &["LD_LIBRARY_PATH=/u", "A=1"],
            &["LD_LIBRARY_PATH="],
            &["NIX_LD=/x"],
            &["HOME=/", "_=/bin/prog", "PATH=/bin"],
        ];
        for env in envs {
            let mut f = Fake::new(&["prog", "arg1"], env);
            let original = f.words.clone();
            let strings = f.strings.clone();
            let new_entry = 1000;
            let mut s = Stack::parse(&mut f.words, H).unwrap();
            let mut undo = Undo::default();
            let slot = s.choose_env_slot(|p| strings[p - 1]);
            assert!(matches!(slot, EnvSlot::Replace { .. }), "{env:?}");
            s.apply_env(slot, new_entry, &mut undo);
            let real_entry = s.redirect_entry(0x9999, &mut undo).unwrap();
            assert_eq!(real_entry, 0x401000);
            // What ld.so sees: argc from the stack, environ after argv.
            let words = s.words();
            let argc = words[H];
            let seen = env_as_seen(words, H, H + argc + 2);
            assert!(seen.contains(&new_entry), "{env:?}: {seen:?}");
            assert_eq!(seen.len(), env.len(), "{env:?}");
            undo.apply(words);
            assert_eq!(words, &original[..], "{env:?}");
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
        assert_eq!(again.aux(AT_ENTRY), Some(0x401000));
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

    #[test]
    fn library_path_composition() {
        let mut out = [0u8; 64];
        let p = b"LD_LIBRARY_PATH=";
        assert_eq!(
            compose_library_path(p, Some(b"/u"), b"/r", &mut out).unwrap(),
            b"LD_LIBRARY_PATH=/u:/r\0"
        );
        assert_eq!(
            compose_library_path(p, Some(b""), b"/r", &mut out).unwrap(),
            b"LD_LIBRARY_PATH=/r\0"
        );
        assert_eq!(
            compose_library_path(b"", None, b"/r", &mut out).unwrap(),
            b"/r\0"
        );
        assert_eq!(library_path_len(p, Some(b"/u"), b"/r"), 22);
        let mut small = [0u8; 4];
        assert_eq!(compose_library_path(p, None, b"/r", &mut small), None);
    }
}
