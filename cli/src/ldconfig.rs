//! `rld ldconfig -p`: the libraries rld's configuration provides, printed
//! the way glibc's `ldconfig -p` prints `/etc/ld.so.cache`.
//!
//! NixOS has no cache and no `/sbin/ldconfig`, yet programs ask for one:
//! Python's `ctypes.util.find_library` runs `/sbin/ldconfig -p` and takes
//! the first line matching `\s+(libNAME\.[^\s]+)\s+\(libc6,x86-64`;
//! Playwright, TensorFlow and Lutris read the same listing. The listing is
//! built live from the directories the loader gives `ld.so` (its library
//! path, then the directory of the `ld.so` it uses, where glibc's own
//! libraries are), so a name found here is one a program started through
//! rld can `dlopen`.
//!
//! The entries follow glibc's `ldconfig` (elf/ldconfig.c, `search_dir`):
//! which files count, which name each is listed under, and the order
//! (elf/cache.c, `compare`). Nothing is written: with no `-p` the command
//! only says that there is no cache to rebuild.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use goblin::elf::header::{EM_386, EM_AARCH64, EM_RISCV, EM_X86_64};

use crate::elfread;
use crate::settings::{Env, LoaderDefaults, Settings};
use crate::system::{SYSTEMS, System};

/// The first line of `ldconfig -p`, with glibc's wording and the cache
/// glibc names, so that a program checking the header sees what it expects.
/// There is no such file on NixOS; the count is of the entries below it.
pub fn header(count: usize) -> String {
    format!("{count} libs found in cache `/etc/ld.so.cache'\n")
}

/// One library as `ldconfig -p` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The name a program asks for (`libz.so.1`).
    pub name: String,
    pub system: &'static System,
    /// Where `ld.so` finds it: the directory joined with `name`.
    pub path: PathBuf,
}

impl Entry {
    /// `\tlibz.so.1 (libc6,x86-64) => /dir/libz.so.1`, as glibc's
    /// `print_entry` writes it for an entry without hwcaps or OS ABI note.
    pub fn line(&self) -> String {
        format!(
            "\t{} ({}) => {}\n",
            self.name,
            cache_flags(self.system).0,
            self.path.display()
        )
    }
}

/// The flags glibc's `ldconfig` records for a libc6 library of `system`:
/// as printed, and as the number entries of the same name are ordered by
/// (`FLAG_ELF_LIBC6` with the architecture's `FLAG_*` bits, from glibc's
/// `ldconfig.h`). The 32-bit x86 tag is plain `libc6`.
pub fn cache_flags(system: &System) -> (&'static str, u32) {
    match system.machine {
        EM_X86_64 => ("libc6,x86-64", 0x0303),
        EM_AARCH64 => ("libc6,AArch64", 0x0a03),
        // rld serves riscv64's lp64d ABI only.
        EM_RISCV => ("libc6,double-float", 0x1003),
        EM_386 => ("libc6", 0x0003),
        _ => unreachable!("SYSTEMS holds only these machines"),
    }
}

/// The directories to list, each with the system whose `ld.so` searches it,
/// in the order it searches them. The host's library path is always
/// listed; its `ld.so`'s directory when one is usable. Another system this
/// machine runs (i686 on x86_64) is listed only when its loader would find
/// a usable `ld.so`: without one, none of its programs start.
pub fn directories(env: &Env) -> Vec<(PathBuf, &'static System)> {
    let mut dirs = Vec::new();
    let host = System::host();
    let others = SYSTEMS.iter().filter(|s| *s != host && s.runs_here());
    for system in std::iter::once(host).chain(others) {
        let settings = Settings::resolve_with(env, system, LoaderDefaults::find(system, None));
        let ld_so = settings.ld_so().map(|c| c.path.clone());
        if ld_so.is_none() {
            if system != host {
                log::debug!(
                    "ldconfig: no {} libraries: no usable ld.so for them ({})",
                    system.nix,
                    settings.tried("; ")
                );
                continue;
            }
            log::warn!(
                "ldconfig: no usable ld.so for {} programs ({}); listing the library path only",
                system.nix,
                settings.tried("; ")
            );
        }
        let library_path = settings.library_path.split(':').filter(|d| !d.is_empty());
        dirs.extend(library_path.map(|d| (PathBuf::from(d), system)));
        if let Some(dir) = ld_so.as_deref().and_then(ld_so_dir) {
            dirs.push((dir, system));
        }
    }
    dirs
}

/// The directory glibc's own libraries are in: that of the `ld.so` file
/// itself, after following symbolic links (the module's default `ld.so` is
/// a link into glibc's store path).
fn ld_so_dir(ld_so: &Path) -> Option<PathBuf> {
    let real = std::fs::canonicalize(ld_so).ok()?;
    real.parent().map(Path::to_path_buf)
}

/// Every library in `dirs`, one entry per name and system, the first
/// directory winning as it does for `ld.so`; in glibc's order.
pub fn entries(dirs: &[(PathBuf, &'static System)]) -> Vec<Entry> {
    let mut seen = BTreeSet::new();
    let mut entries = Vec::new();
    for (dir, system) in dirs {
        for entry in scan(dir, system) {
            if seen.insert((entry.name.clone(), entry.system.name)) {
                entries.push(entry);
            }
        }
    }
    entries.sort_by(compare);
    entries
}

/// The libraries of `system` in one directory, as glibc's `ldconfig` would
/// add them to its cache, keeping only those `ld.so` can open by that name.
fn scan(dir: &Path, system: &'static System) -> Vec<Entry> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) => {
            log::debug!(
                "ldconfig: skipping {}: {}",
                dir.display(),
                crate::error::io_words(&e)
            );
            return Vec::new();
        }
    };
    let mut names = BTreeSet::new();
    for dirent in read.flatten() {
        let file_name = dirent.file_name();
        let Some(d_name) = file_name.to_str() else {
            continue;
        };
        if !is_dso(d_name) {
            continue;
        }
        let path = dir.join(d_name);
        let is_link = dirent.file_type().is_ok_and(|t| t.is_symlink());
        // A link to a directory, a dangling link, a FIFO: not a library.
        if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let facts = match elfread::read_facts(&path) {
            Ok(f) => f,
            Err(why) => {
                log::debug!("ldconfig: skipping {}: {why}", path.display());
                continue;
            }
        };
        if facts.system() != Some(system) || !is_dynamic_object(facts.kind) {
            continue;
        }
        names.insert(listed_name(d_name, is_link, facts.soname.as_deref()));
    }
    names
        .into_iter()
        .filter_map(|name| {
            let path = dir.join(&name);
            // glibc's ldconfig would create this link; rld creates nothing,
            // so a soname without its file is not listed.
            if !path.exists() {
                log::debug!(
                    "ldconfig: {} has no file named after its soname",
                    path.display()
                );
                return None;
            }
            Some(Entry { name, system, path })
        })
        .collect()
}

/// glibc's `_dl_is_dso`: the names `ldconfig` looks at (`lib*.so*`,
/// `ld-*.so*`, `ld.so.*`, `ld64.so.*`). rld's own `ld.so` link is not one.
pub fn is_dso(name: &str) -> bool {
    ((name.starts_with("lib") || name.starts_with("ld-")) && name.contains(".so"))
        || name.starts_with("ld.so.")
        || name.starts_with("ld64.so.")
}

fn is_dynamic_object(kind: &str) -> bool {
    matches!(
        kind,
        "shared-object" | "pie-executable" | "static-pie-executable"
    )
}

/// The name glibc's `ldconfig` lists a file under: its soname (the file
/// name when it has none), except for a symbolic link named after that
/// soname or the `.so` development link to it (`libz.so` for `libz.so.1`),
/// which is listed under its own name.
pub fn listed_name(d_name: &str, is_link: bool, soname: Option<&str>) -> String {
    let soname = soname.unwrap_or(d_name);
    let own_name = d_name == soname || (d_name.ends_with(".so") && soname.starts_with(d_name));
    if is_link && own_name {
        d_name.to_owned()
    } else {
        soname.to_owned()
    }
}

/// glibc's order for the cache (elf/cache.c, `compare`): names by
/// [`libcmp`], highest first, then the higher flags first.
fn compare(a: &Entry, b: &Entry) -> Ordering {
    libcmp(&b.name, &a.name).then_with(|| cache_flags(b.system).1.cmp(&cache_flags(a.system).1))
}

/// glibc's `_dl_cache_libcmp`: byte by byte, except that runs of digits
/// compare as numbers and sort after any other byte (`libz3` after
/// `libz.so`, `libz.so.10` after `libz.so.9`).
pub fn libcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() {
        let (ca, cb) = (a[i], b.get(j).copied().unwrap_or(0));
        match (ca.is_ascii_digit(), cb.is_ascii_digit()) {
            (true, true) => {
                let (va, ni) = number(a, i);
                let (vb, nj) = number(b, j);
                if va != vb {
                    return va.cmp(&vb);
                }
                (i, j) = (ni, nj);
            }
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) if ca != cb => return ca.cmp(&cb),
            (false, false) => (i, j) = (i + 1, j + 1),
        }
    }
    // `a` is used up: equal if `b` is too, else `b` is greater.
    0u8.cmp(&b.get(j).copied().unwrap_or(0))
}

/// The number in the run of digits starting at `at`, and where it ends.
fn number(s: &[u8], at: usize) -> (u128, usize) {
    let end = at + s[at..].iter().take_while(|c| c.is_ascii_digit()).count();
    let value = s[at..end].iter().fold(0u128, |v, c| {
        v.saturating_mul(10).saturating_add(u128::from(*c - b'0'))
    });
    (value, end)
}

/// `rld ldconfig -p`'s whole output.
pub fn print_cache(env: &Env) -> String {
    let entries = entries(&directories(env));
    let mut out = header(entries.len());
    for e in &entries {
        out.push_str(&e.line());
    }
    out
}

/// What `rld ldconfig` without `-p` says on stderr, once, before exiting 0:
/// scripts run `ldconfig` after installing a library and must not fail.
pub const NOTHING_TO_REBUILD: &str = "ldconfig: NixOS has no library cache to rebuild; nothing done (rld-loader finds libraries through its library path: see `rld env`; `rld ldconfig -p` lists them)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libcmp_is_glibcs_order() {
        use Ordering::*;
        assert_eq!(libcmp("libz.so.1", "libz.so"), Greater);
        assert_eq!(libcmp("libz3.so.4", "libz.so.1"), Greater);
        assert_eq!(libcmp("libzstd.so.1", "libz.so.1"), Greater);
        assert_eq!(libcmp("libz.so.10", "libz.so.9"), Greater);
        assert_eq!(libcmp("libz.so.1", "libz.so.1"), Equal);
        assert_eq!(
            libcmp("libBrokenLocale.so", "ld-linux-x86-64.so.2"),
            Greater
        );
        assert_eq!(libcmp("libc.so.6", "libc.so.06"), Equal);
        assert_eq!(libcmp("libz.so", "libz.so.1"), Less);
    }

    /// The order of real glibc's `ldconfig -p` on Debian 12 (a slice of
    /// `/sbin/ldconfig -p` on the machine this was written on).
    #[test]
    fn entries_sort_as_glibc_prints_them() {
        let glibc = [
            "libz3.so.4",
            "libz3.so",
            "libzstd.so.1",
            "libz.so.1",
            "libz.so",
            "libyuv.so.0",
            "libyaml-0.so.2",
            "libx265.so.199",
            "libxxhash.so.0",
            "libxmlsec1.so.1",
            "libxmlsec1.so",
            "libxmlsec1-openssl.so.1",
            "libBrokenLocale.so",
            "ld-linux-x86-64.so.2",
        ];
        let host = System::host();
        let mut entries: Vec<Entry> = glibc
            .iter()
            .rev()
            .map(|n| Entry {
                name: n.to_string(),
                system: host,
                path: PathBuf::from("/l").join(n),
            })
            .collect();
        entries.sort_by(compare);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, glibc);
    }

    #[test]
    fn the_64_bit_entry_comes_before_the_32_bit_one() {
        let x86_64 = System::by_name("x86_64-linux").unwrap();
        let i686 = System::by_name("i686-linux").unwrap();
        let e = |system| Entry {
            name: "libc.so.6".into(),
            system,
            path: "/l/libc.so.6".into(),
        };
        let mut v = [e(i686), e(x86_64)];
        v.sort_by(compare);
        assert_eq!(v[0].system, x86_64);
        assert_eq!(
            v[1].line(),
            "\tlibc.so.6 (libc6) => /l/libc.so.6\n",
            "glibc tags i386 libraries plain libc6"
        );
        assert_eq!(v[0].line(), "\tlibc.so.6 (libc6,x86-64) => /l/libc.so.6\n");
    }

    #[test]
    fn names_are_listed_as_glibc_lists_them() {
        // The real file: under its soname.
        assert_eq!(
            listed_name("libz.so.1.3.1", false, Some("libz.so.1")),
            "libz.so.1"
        );
        // A Nix buildEnv links every file: a link not named after the
        // soname counts as the file.
        assert_eq!(
            listed_name("libz.so.1.3.1", true, Some("libz.so.1")),
            "libz.so.1"
        );
        assert_eq!(
            listed_name("libz.so.1", true, Some("libz.so.1")),
            "libz.so.1"
        );
        // The development link: under its own name, as Debian's cache has
        // `libz.so`.
        assert_eq!(listed_name("libz.so", true, Some("libz.so.1")), "libz.so");
        // No soname: the file name.
        assert_eq!(listed_name("libfoo.so.2", false, None), "libfoo.so.2");
        assert!(is_dso("ld-linux-x86-64.so.2") && is_dso("libc.so.6"));
        assert!(!is_dso("ld.so") && !is_dso("libfoo.a") && !is_dso("foo.so.1"));
    }
}
