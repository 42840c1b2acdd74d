//! The library path rld hands `ld.so`: reading `NAME=value` environment
//! entries, composing `USER:OURS`, and the rule for reusing a string that
//! already exists instead of building one.
//!
//! `ld.so` takes the path either as the environment entry
//! `LD_LIBRARY_PATH=…` or as the argument of `--library-path`, in both cases
//! a NUL-terminated string that must outlive its start-up. Building one
//! costs the loader a system call (memory for it), so [`choose`] points at a
//! string that is already there whenever one has exactly the right bytes.
//!
//! # Safety
//!
//! Two functions make a `CStr` from bytes without scanning them again: a
//! tail of a C string (which ends at the same NUL and holds no other), and a
//! composed string whose parts were checked to hold no NUL before the one
//! that ends it.

use core::ffi::CStr;

use crate::config::Candidate;

/// The variable glibc's `ld.so` reads its extra library directories from.
pub const LD_LIBRARY_PATH: &[u8] = b"LD_LIBRARY_PATH";

/// `LD_LIBRARY_PATH=` followed by the compiled-in default library path.
pub const DEFAULT_ENTRY: &CStr = match CStr::from_bytes_with_nul(
    concat!("LD_LIBRARY_PATH=", env!("RLD_PREFIX"), "/lib\0").as_bytes(),
) {
    Ok(entry) => entry,
    Err(_) => panic!("the default library path contains a NUL"),
};

/// Splits an environment entry into its name and value; `None` for an
/// entry without `=`, which sets nothing.
pub fn split_entry(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = entry.iter().position(|&b| b == b'=')?;
    Some((&entry[..eq], &entry[eq + 1..]))
}

/// `NAME=value` → `value`, if the entry sets `name`.
pub fn value_of<'s>(entry: &'s [u8], name: &[u8]) -> Option<&'s [u8]> {
    match entry.strip_prefix(name)? {
        [b'=', value @ ..] => Some(value),
        _ => None,
    }
}

/// How `ld.so` is given the library path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Form {
    /// The environment entry `LD_LIBRARY_PATH=PATH`, for an `ld.so` the
    /// kernel's start continues into.
    Entry,
    /// The bare `PATH`, for `--library-path` when `ld.so` is run as if by
    /// hand.
    Argument,
}

impl Form {
    fn prefix(self) -> &'static [u8] {
        match self {
            Form::Entry => b"LD_LIBRARY_PATH=",
            Form::Argument => b"",
        }
    }
}

/// The NUL-terminated string `ld.so` gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LibraryPath<'e> {
    /// A string that is already in memory for the life of the process: the
    /// compiled-in default, or (part of) the environment entry the path came
    /// from.
    Existing(&'e CStr),
    /// A string to build, in memory that outlives the loader.
    Composed(Composition<'e>),
}

/// `USER:OURS` (or just `OURS` without a user path), in a [`Form`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Composition<'e> {
    pub form: Form,
    /// The user's own `LD_LIBRARY_PATH` value; empty when there is none.
    pub user: &'e [u8],
    /// The library path rld adds.
    pub ours: &'e [u8],
}

impl<'e> Composition<'e> {
    fn parts(&self) -> [&'e [u8]; 5] {
        let colon: &[u8] = if self.user.is_empty() { b"" } else { b":" };
        [self.form.prefix(), self.user, colon, self.ours, b"\0"]
    }

    /// Bytes the string needs, its NUL included.
    pub fn bytes_needed(&self) -> usize {
        self.parts().iter().map(|part| part.len()).sum()
    }

    /// Writes the string into the start of `out`; `None` if `out` is
    /// shorter than [`bytes_needed`](Self::bytes_needed) or a part holds a NUL.
    #[expect(unsafe_code, reason = "a C string made without a second scan")]
    #[expect(
        clippy::manual_contains,
        reason = "contains() on bytes brings memchr, 230 bytes the loader's budget has no room for"
    )]
    pub fn write_into<'o>(&self, out: &'o mut [u8]) -> Option<&'o CStr> {
        let parts = self.parts();
        if parts[..parts.len() - 1]
            .iter()
            .any(|part| part.iter().any(|&b| b == 0))
        {
            return None;
        }
        let mut at = 0;
        for part in parts {
            out.get_mut(at..at + part.len())?.copy_from_slice(part);
            at += part.len();
        }
        // SAFETY: every part but the last, a single NUL, holds no NUL.
        Some(unsafe { CStr::from_bytes_with_nul_unchecked(&out[..at]) })
    }
}

/// The string `ld.so` gets for `ours` in `form`, after `user`, the value of
/// the user's own `LD_LIBRARY_PATH` (which ours must not hide: `ld.so` reads
/// one value, and `--library-path` overrides the variable). `entry` is the
/// whole environment entry `ours` came from, when it came from one.
///
/// Without a user path, an existing string is reused when it has exactly
/// the bytes needed:
/// - a value, as set (no trailing newline trimmed off), is the tail of its
///   entry, so its NUL follows it;
/// - and when the entry's name ends in `LD_LIBRARY_PATH`, the entry's tail
///   from there on is already `LD_LIBRARY_PATH=value`: the defaults' entry
///   ([`crate::config::Defaults`]) whole, `NIX_LD_LIBRARY_PATH=value` from
///   its fifth byte.
pub fn choose<'e>(
    form: Form,
    user: Option<&'e [u8]>,
    ours: Candidate<'e>,
    entry: Option<&'e CStr>,
) -> LibraryPath<'e> {
    let user = user.unwrap_or(b"");
    let composed = LibraryPath::Composed(Composition {
        form,
        user,
        ours: ours.path,
    });
    if !user.is_empty() {
        return composed;
    }
    entry
        .and_then(|entry| {
            reusable_tail(form, ours.source.entry_name().as_bytes(), ours.path, entry)
        })
        .map_or(composed, LibraryPath::Existing)
}

/// The tail of `entry` (which sets `name`) that reads as `path` in `form`,
/// if there is one.
fn reusable_tail<'e>(form: Form, name: &[u8], path: &[u8], entry: &'e CStr) -> Option<&'e CStr> {
    if value_of(entry.to_bytes(), name)? != path {
        // Trimmed: the value's NUL does not follow `path`.
        return None;
    }
    let skip = match form {
        Form::Argument => name.len() + 1,
        Form::Entry if name.ends_with(LD_LIBRARY_PATH) => name.len() - LD_LIBRARY_PATH.len(),
        Form::Entry => return None,
    };
    Some(tail(entry, skip))
}

/// `s` from byte `skip` on; `skip` is at most its length.
#[expect(unsafe_code, reason = "a C string made without a second scan")]
fn tail(s: &CStr, skip: usize) -> &CStr {
    let bytes = &s.to_bytes_with_nul()[skip..];
    // SAFETY: a tail of a C string ends at the same NUL and holds no other.
    unsafe { CStr::from_bytes_with_nul_unchecked(bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    const DEFAULT: Candidate<'static> = Candidate {
        path: crate::DEFAULT_LIBRARY_PATH.as_bytes(),
        source: Source::Default,
    };

    fn from_var<'e>(name: &'static str, path: &'e [u8]) -> Candidate<'e> {
        Candidate {
            path,
            source: Source::Var(name),
        }
    }

    fn existing(lp: LibraryPath<'_>) -> &CStr {
        match lp {
            LibraryPath::Existing(s) => s,
            other => panic!("expected an existing string, got {other:?}"),
        }
    }

    #[test]
    fn entries_split_at_the_first_equals_sign() {
        assert_eq!(
            split_entry(b"A=b=c"),
            Some((&b"A"[..], &b"b=c"[..])),
            "the value may hold '='"
        );
        assert_eq!(split_entry(b"A="), Some((&b"A"[..], &b""[..])));
        assert_eq!(split_entry(b"NIX_LD"), None);
        assert_eq!(value_of(b"NIX_LD=/x", b"NIX_LD"), Some(&b"/x"[..]));
        assert_eq!(value_of(b"NIX_LDX=/x", b"NIX_LD"), None);
        assert_eq!(value_of(b"NIX_LD", b"NIX_LD"), None);
    }

    #[test]
    fn the_default_is_reused_in_both_forms() {
        let entry = existing(choose(Form::Entry, None, DEFAULT, Some(DEFAULT_ENTRY)));
        assert!(core::ptr::eq(entry, DEFAULT_ENTRY));
        let argument = existing(choose(
            Form::Argument,
            Some(b""),
            DEFAULT,
            Some(DEFAULT_ENTRY),
        ));
        assert_eq!(argument.to_bytes(), crate::DEFAULT_LIBRARY_PATH.as_bytes());
        assert_eq!(
            argument.as_ptr() as usize - entry.as_ptr() as usize,
            LD_LIBRARY_PATH.len() + 1,
            "the argument is the entry's tail"
        );
    }

    #[test]
    fn another_loaders_default_is_composed() {
        let other = Candidate {
            path: b"/opt/rld32/lib",
            source: Source::Default,
        };
        assert_eq!(
            choose(Form::Argument, None, other, None),
            LibraryPath::Composed(Composition {
                form: Form::Argument,
                user: b"",
                ours: b"/opt/rld32/lib"
            })
        );
    }

    #[test]
    fn nix_ld_library_path_is_reused_as_an_entry_from_its_fifth_byte() {
        let entry = c"NIX_LD_LIBRARY_PATH=/nix/store/x/lib";
        let ours = from_var("NIX_LD_LIBRARY_PATH", b"/nix/store/x/lib");
        let got = existing(choose(Form::Entry, None, ours, Some(entry)));
        assert_eq!(got, c"LD_LIBRARY_PATH=/nix/store/x/lib");
        assert_eq!(got.as_ptr() as usize, entry.as_ptr() as usize + 4);
        let got = existing(choose(Form::Argument, None, ours, Some(entry)));
        assert_eq!(got, c"/nix/store/x/lib");
        assert_eq!(got.as_ptr() as usize, entry.as_ptr() as usize + 20);
    }

    #[test]
    fn the_system_variable_is_reused_only_as_an_argument() {
        let name = crate::config::NIX_LD_LIBRARY_PATH_SYSTEM;
        let mut bytes = std::vec::Vec::from(name.as_bytes());
        bytes.extend_from_slice(b"=/l\0");
        let entry = CStr::from_bytes_with_nul(&bytes).unwrap();
        let ours = from_var(name, b"/l");
        assert_eq!(
            choose(Form::Entry, None, ours, Some(entry)),
            LibraryPath::Composed(Composition {
                form: Form::Entry,
                user: b"",
                ours: b"/l"
            })
        );
        assert_eq!(
            existing(choose(Form::Argument, None, ours, Some(entry))),
            c"/l"
        );
    }

    #[test]
    fn a_trimmed_value_is_composed() {
        let entry = c"NIX_LD_LIBRARY_PATH=/l\n";
        let ours = from_var("NIX_LD_LIBRARY_PATH", b"/l");
        for form in [Form::Entry, Form::Argument] {
            assert!(matches!(
                choose(form, None, ours, Some(entry)),
                LibraryPath::Composed(_)
            ));
        }
    }

    #[test]
    fn a_user_path_goes_first() {
        let ours = from_var("NIX_LD_LIBRARY_PATH", b"/r");
        let entry = c"NIX_LD_LIBRARY_PATH=/r";
        let LibraryPath::Composed(c) = choose(Form::Entry, Some(b"/u"), ours, Some(entry)) else {
            panic!("a user path cannot be reused");
        };
        let mut out = [0u8; 64];
        assert_eq!(c.write_into(&mut out).unwrap(), c"LD_LIBRARY_PATH=/u:/r");
        assert_eq!(c.bytes_needed(), "LD_LIBRARY_PATH=/u:/r\0".len());
        let c = Composition {
            form: Form::Argument,
            user: b"",
            ours: b"/r",
        };
        assert_eq!(c.write_into(&mut out).unwrap(), c"/r");
        assert_eq!(c.write_into(&mut out[..2]), None, "no room for the NUL");
    }

    #[test]
    fn a_value_from_elsewhere_is_composed() {
        // The rld tool resolves from values, with no entry to point into.
        let ours = from_var("NIX_LD_LIBRARY_PATH", b"/r");
        assert!(matches!(
            choose(Form::Argument, None, ours, None),
            LibraryPath::Composed(_)
        ));
    }
}
