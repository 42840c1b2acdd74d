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

    /// The argument pointers.
    pub fn argv(&self) -> &[usize] {
        &self.words[self.sp + 1..self.sp + 1 + self.argc]
    }

    /// The environment pointers.
    pub fn env(&self) -> &[usize] {
        &self.words[self.env..self.env_end]
    }

    /// Word index of the first environment pointer.
    pub fn env_index(&self) -> usize {
        self.env
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

    /// Points environment word `index` (see [`env_index`](Self::env_index))
    /// at the string at address `entry`, recording the old value in `undo`.
    pub fn lend_env(&mut self, index: usize, entry: usize, undo: &mut Undo) {
        undo.save(self.words, index);
        self.words[index] = entry;
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

#[cfg(test)]
pub(crate) mod tests;
