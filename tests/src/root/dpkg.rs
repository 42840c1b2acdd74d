//! Debian's package database, read once: which package ships each shared
//! library and each program, and at which version. The NixOS-like root turns
//! every Debian package a program needs into one `/nix/store` path, so what
//! goes into the store is found from the binaries, not from a list kept by
//! hand.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The directories Debian's `ld.so` searches by default (multiarch).
pub const LIB_DIRS: [&str; 2] = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"];

#[derive(Debug, Default)]
pub struct Dpkg {
    /// Shared object file name (in [`LIB_DIRS`]) → owning package.
    pub library_owner: HashMap<String, String>,
    /// Package → its shared objects (file names in [`LIB_DIRS`]), sorted.
    pub libraries: HashMap<String, BTreeSet<String>>,
    /// Package → the programs it installs in `/bin`, `/usr/bin`, by name.
    pub programs: HashMap<String, BTreeSet<String>>,
    /// Program path as dpkg records it → owning package.
    pub program_owner: HashMap<String, String>,
    /// Package → version (amd64 or all).
    pub versions: HashMap<String, String>,
}

impl Dpkg {
    /// The machine's package database, read on first use.
    pub fn get() -> &'static Dpkg {
        static DB: OnceLock<Dpkg> = OnceLock::new();
        DB.get_or_init(|| Dpkg::read(Path::new("/var/lib/dpkg")))
    }

    fn read(root: &Path) -> Dpkg {
        let mut db = Dpkg::default();
        let status = fs::read_to_string(root.join("status"))
            .unwrap_or_else(|e| panic!("reading {}/status: {e}", root.display()));
        for block in status.split("\n\n") {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
            };
            if let (Some(p), Some(v), Some(a)) =
                (field("Package"), field("Version"), field("Architecture"))
                && (a == "amd64" || a == "all")
            {
                db.versions.insert(p.to_owned(), v.to_owned());
            }
        }
        let info = root.join("info");
        let lists =
            fs::read_dir(&info).unwrap_or_else(|e| panic!("reading {}: {e}", info.display()));
        for entry in lists.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str().and_then(|n| n.strip_suffix(".list")) else {
                continue;
            };
            let package = match name.split_once(':') {
                Some((p, "amd64")) => p,
                Some(_) => continue,
                None => name,
            };
            let Ok(list) = fs::read_to_string(entry.path()) else {
                continue;
            };
            for path in list.lines() {
                let Some((dir, file)) = path.rsplit_once('/') else {
                    continue;
                };
                if LIB_DIRS.contains(&dir) && file.contains(".so") {
                    db.library_owner.insert(file.to_owned(), package.to_owned());
                    db.libraries
                        .entry(package.to_owned())
                        .or_default()
                        .insert(file.to_owned());
                } else if matches!(dir, "/bin" | "/usr/bin") {
                    db.program_owner.insert(path.to_owned(), package.to_owned());
                    db.programs
                        .entry(package.to_owned())
                        .or_default()
                        .insert(file.to_owned());
                }
            }
        }
        db
    }

    pub fn version(&self, package: &str) -> &str {
        self.versions
            .get(package)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("dpkg knows no version of {package}"))
    }

    /// Where a library of [`LIB_DIRS`] is on this machine.
    pub fn library_path(&self, file: &str) -> Option<PathBuf> {
        LIB_DIRS
            .iter()
            .map(|d| Path::new(d).join(file))
            .find(|p| p.symlink_metadata().is_ok())
    }
}

/// A store path name for a Debian package: `<package>-<version>`, with the
/// epoch dropped and characters Nix does not allow in names replaced.
pub fn store_name(package: &str, version: &str) -> String {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    format!("{package}-{version}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-._?=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A 32-character hash in Nix's base-32 alphabet, derived from `name` so a
/// store path is the same in every root and every run (not cryptographic).
pub fn store_hash(name: &str) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";
    let words = [
        0xcbf29ce484222325u64,
        0x84222325cbf29ce4,
        0x9e3779b97f4a7c15,
    ]
    .map(|seed| {
        name.bytes().fold(seed, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3).rotate_left(5)
        })
    });
    let bit = |b: usize| (words[b / 64] >> (b % 64)) as usize & 1;
    (0..32)
        .map(|i| ALPHABET[(0..5).fold(0, |v, j| v | bit(i * 5 + j) << j)] as char)
        .collect()
}

/// Every Debian package whose libraries a set of ELF files needs, following
/// `DT_NEEDED` through the libraries Debian installs, as `ld.so` would. A
/// library found next to the program (`RUNPATH` outside the system
/// directories, `$ORIGIN`) travels with it and names no package.
pub fn closure(files: &[PathBuf]) -> Result<BTreeSet<String>, String> {
    let db = Dpkg::get();
    let mut packages = BTreeSet::new();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut queue: Vec<PathBuf> = files.to_vec();
    while let Some(file) = queue.pop() {
        let real = fs::canonicalize(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        if !seen.insert(real.clone()) {
            continue;
        }
        let Some(elf) =
            super::elf::read(&real).map_err(|e| format!("reading {}: {e}", file.display()))?
        else {
            continue;
        };
        let origin = real.parent().unwrap_or(Path::new("/"));
        'needed: for soname in &elf.needed {
            for dir in &elf.runpath {
                let dir = dir.replace("$ORIGIN", &origin.to_string_lossy());
                let candidate = Path::new(&dir).join(soname);
                if !LIB_DIRS.contains(&dir.as_str()) && candidate.exists() {
                    queue.push(candidate);
                    continue 'needed;
                }
            }
            let package = db.library_owner.get(soname).ok_or_else(|| {
                format!(
                    "{} needs {soname}, which no Debian package installs in {}",
                    file.display(),
                    LIB_DIRS.join(" or ")
                )
            })?;
            let path = db
                .library_path(soname)
                .ok_or_else(|| format!("{soname} ({package}) is in dpkg's list but not on disk"))?;
            packages.insert(package.clone());
            queue.push(path);
        }
    }
    Ok(packages)
}
