//! Resolving `DT_NEEDED` the way glibc's ld.so does, without loading
//! anything.
//!
//! glibc's order for a soname needed by object `L` (`elf/dl-load.c`):
//!
//! 1. if `L` has no `DT_RUNPATH`: the `DT_RPATH` of `L`, then of the object
//!    that loaded `L`, and so on up to the program (an object's `DT_RPATH`
//!    counts only if it has no `DT_RUNPATH`);
//! 2. `LD_LIBRARY_PATH` (under rld: the user's value, then rld's library
//!    path);
//! 3. the `DT_RUNPATH` of `L` alone;
//! 4. `/etc/ld.so.cache`, then the default directories, unless `L` is
//!    `DF_1_NODEFLIB`.
//!
//! On NixOS, glibc reads no system `ld.so.cache` and its only default
//! directory is its own `lib/`, the directory holding `ld.so` and
//! `libc.so.6`. rld's answer models exactly that: step 4 is the chosen
//! ld.so's directory (after symlinks). `/etc/ld.so.cache` is never read, so on
//! a distribution that relies on it (not NixOS) a library found only through
//! the cache is reported missing.
//!
//! Dependencies load breadth first, and a soname already loaded (by name or
//! `DT_SONAME`) is reused whoever needs it, as in ld.so. A candidate of the
//! wrong class or machine is skipped and the search goes on; a file that is
//! not ELF at all stops ld.so with "invalid ELF header". Unlike ld.so, which
//! stops at the first missing library, every missing one is reported.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::elfread;
use crate::error::io_words;
use crate::inspect::{self, ElfFacts};
use crate::system::{System, machine_name};

/// A library ld.so would load.
#[derive(Debug, Serialize)]
pub struct Library {
    pub soname: String,
    /// Where it is found; `None` when missing.
    pub path: Option<PathBuf>,
    /// Which search step found it (`RUNPATH of app`, `LD_LIBRARY_PATH`, …),
    /// or why it is missing.
    pub found_via: String,
    /// Objects that list it in `DT_NEEDED`, first one first.
    pub needed_by: Vec<String>,
    /// For a missing library: every path ld.so would have tried.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tried: Vec<PathBuf>,
}

/// A file with the right name that ld.so passes over.
#[derive(Debug, Serialize)]
pub struct Skipped {
    pub soname: String,
    pub path: PathBuf,
    pub reason: String,
}

/// A symbol version an object needs that the library it comes from lacks:
/// ld.so stops with "version `GLIBC_2.38' not found".
#[derive(Debug, Serialize)]
pub struct MissingVersion {
    pub library: String,
    pub version: String,
    pub required_by: String,
    pub library_path: PathBuf,
    /// The newest version of the same family the library does define.
    pub newest: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Resolution {
    pub libraries: Vec<Library>,
    pub skipped: Vec<Skipped>,
    pub missing_versions: Vec<MissingVersion>,
    /// Set when `libc.so.6` and ld.so come from different directories.
    pub mismatched_libc: Option<String>,
}

impl Resolution {
    pub fn missing(&self) -> impl Iterator<Item = &Library> {
        self.libraries.iter().filter(|l| l.path.is_none())
    }
}

/// Where ld.so looks, besides each object's own `DT_RPATH`/`DT_RUNPATH`.
pub struct SearchPath {
    /// `LD_LIBRARY_PATH` as ld.so sees it, each directory with a label.
    pub library_path: Vec<(String, &'static str)>,
    /// The default directories (the chosen ld.so's own).
    pub default_dirs: Vec<PathBuf>,
    /// The chosen ld.so, which is loaded before anything else.
    pub ld_so: Option<PathBuf>,
}

struct Object {
    /// How messages name it: the program path, or the soname it was loaded as.
    name: String,
    /// Names it matches for later `DT_NEEDED` entries.
    aliases: Vec<String>,
    canonical: Option<PathBuf>,
    facts: ElfFacts,
    origin: PathBuf,
    loader: Option<usize>,
}

impl Object {
    fn matches(&self, soname: &str) -> bool {
        self.aliases.iter().any(|a| a == soname) || self.facts.soname.as_deref() == Some(soname)
    }
}

enum Outcome {
    Found(PathBuf, String),
    Missing(Vec<PathBuf>, String),
}

/// Resolves every `DT_NEEDED` of `program` (already parsed into `facts`).
pub fn resolve(
    program: &Path,
    facts: &ElfFacts,
    system: &System,
    search: &SearchPath,
) -> Resolution {
    let mut res = Resolution::default();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let mut objects = vec![program_object(program, facts, &cwd)];
    if let Some(ld_so) = &search.ld_so
        && let Ok(ld_facts) = elfread::read_facts(ld_so)
    {
        let name = ld_facts
            .soname
            .clone()
            .unwrap_or_else(|| ld_so.display().to_string());
        objects.push(Object {
            name,
            aliases: vec![],
            canonical: fs::canonicalize(ld_so).ok(),
            origin: ld_so.parent().unwrap_or(Path::new("/")).to_path_buf(),
            facts: ld_facts,
            loader: None,
        });
    }
    let mut queue = VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        let requester = objects[i].name.clone();
        for soname in objects[i].facts.needed.clone() {
            if let Some(lib) = res.libraries.iter_mut().find(|l| l.soname == soname) {
                if !lib.needed_by.contains(&requester) {
                    lib.needed_by.push(requester.clone());
                }
                continue;
            }
            if let Some(j) = objects.iter().position(|o| o.matches(&soname)) {
                // The ld.so itself (libc needs ld-linux-x86-64.so.2), or the
                // program's own soname: already there.
                res.libraries.push(Library {
                    soname,
                    path: objects[j].canonical.clone(),
                    found_via: "already loaded".into(),
                    needed_by: vec![requester.clone()],
                    tried: vec![],
                });
                continue;
            }
            match find(&objects, i, &soname, system, search, &mut res.skipped) {
                Outcome::Missing(tried, why) => res.libraries.push(Library {
                    soname,
                    path: None,
                    found_via: why,
                    needed_by: vec![requester.clone()],
                    tried,
                }),
                Outcome::Found(path, via) => {
                    let canonical = fs::canonicalize(&path).ok();
                    if let Some(j) = objects
                        .iter()
                        .position(|o| o.canonical.is_some() && o.canonical == canonical)
                    {
                        // The same file under another name: ld.so reuses it.
                        objects[j].aliases.push(soname.clone());
                        res.libraries.push(Library {
                            soname,
                            path: Some(path),
                            found_via: via,
                            needed_by: vec![requester.clone()],
                            tried: vec![],
                        });
                        continue;
                    }
                    match elfread::read_facts(&path) {
                        Err(e) => res.libraries.push(Library {
                            soname,
                            path: None,
                            found_via: format!("{} cannot be loaded: {e}", path.display()),
                            needed_by: vec![requester.clone()],
                            tried: vec![path],
                        }),
                        Ok(lib_facts) => {
                            let abs = cwd.join(&path);
                            objects.push(Object {
                                name: soname.clone(),
                                aliases: vec![soname.clone()],
                                canonical,
                                facts: lib_facts,
                                origin: abs.parent().unwrap_or(Path::new("/")).to_path_buf(),
                                loader: Some(i),
                            });
                            queue.push_back(objects.len() - 1);
                            res.libraries.push(Library {
                                soname,
                                path: Some(path),
                                found_via: via,
                                needed_by: vec![requester.clone()],
                                tried: vec![],
                            });
                        }
                    }
                }
            }
        }
    }
    res.missing_versions = check_versions(&objects);
    res.mismatched_libc = check_libc(&objects, search);
    res
}

/// The program (or the shared object examined) as the first object loaded.
fn program_object(program: &Path, facts: &ElfFacts, cwd: &Path) -> Object {
    let canonical = fs::canonicalize(program).ok();
    // glibc takes the program's $ORIGIN from /proc/self/exe: symlinks resolved.
    let origin = canonical
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cwd.join(program).parent().unwrap_or(cwd).to_path_buf());
    Object {
        name: program.display().to_string(),
        aliases: vec![],
        canonical,
        facts: facts.clone(),
        origin,
        loader: None,
    }
}

/// Where ld.so would find `soname` if `program` itself asked for it (a
/// `dlopen` from its code searches as a `DT_NEEDED` entry of it would):
/// its own `DT_RPATH`/`DT_RUNPATH`, the library path, the default
/// directories. `None`: not found.
pub fn find_one(
    program: &Path,
    facts: &ElfFacts,
    system: &System,
    search: &SearchPath,
    soname: &str,
) -> Option<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let objects = [program_object(program, facts, &cwd)];
    match find(&objects, 0, soname, system, search, &mut Vec::new()) {
        Outcome::Found(path, _) => Some(path),
        Outcome::Missing(..) => None,
    }
}

/// Searches for `soname` on behalf of `objects[i]`.
fn find(
    objects: &[Object],
    i: usize,
    soname: &str,
    system: &System,
    search: &SearchPath,
    skipped: &mut Vec<Skipped>,
) -> Outcome {
    if soname.contains('/') {
        // A path in DT_NEEDED is opened as it is, relative to the cwd.
        let path = PathBuf::from(soname);
        return match probe(&path, system) {
            Probe::Usable => Outcome::Found(path, "the path in DT_NEEDED".into()),
            Probe::Absent => Outcome::Missing(vec![path], "not found".into()),
            Probe::Foreign(reason) | Probe::Invalid(reason) => Outcome::Missing(vec![path], reason),
        };
    }
    let requester = &objects[i];
    let mut dirs: Vec<(PathBuf, String)> = Vec::new();
    if requester.facts.runpath.is_empty() {
        let mut chain = Some(i);
        let mut seen_program = false;
        while let Some(k) = chain {
            let o = &objects[k];
            seen_program |= k == 0;
            if o.facts.runpath.is_empty() {
                for d in &o.facts.rpath {
                    dirs.push((expand(d, &o.origin, system), format!("RPATH of {}", o.name)));
                }
            }
            chain = o.loader;
        }
        let program = &objects[0];
        if !seen_program && program.facts.runpath.is_empty() {
            for d in &program.facts.rpath {
                dirs.push((
                    expand(d, &program.origin, system),
                    format!("RPATH of {}", program.name),
                ));
            }
        }
    }
    for (d, label) in &search.library_path {
        let label = if *label == "rld" {
            "rld's library path"
        } else {
            label
        };
        dirs.push((dir_or_cwd(d), label.to_owned()));
    }
    for d in &requester.facts.runpath {
        dirs.push((
            expand(d, &requester.origin, system),
            format!("RUNPATH of {}", requester.name),
        ));
    }
    if !requester.facts.nodeflib {
        for d in &search.default_dirs {
            dirs.push((d.clone(), "ld.so's own directory".into()));
        }
    }
    let mut tried = Vec::new();
    for (dir, label) in dirs {
        let path = dir.join(soname);
        if tried.contains(&path) {
            continue;
        }
        tried.push(path.clone());
        match probe(&path, system) {
            Probe::Absent => {}
            Probe::Usable => return Outcome::Found(path, label),
            Probe::Foreign(reason) => skipped.push(Skipped {
                soname: soname.to_owned(),
                path,
                reason,
            }),
            Probe::Invalid(reason) => {
                return Outcome::Missing(
                    tried,
                    format!("{} stops ld.so: {reason}", path.display()),
                );
            }
        }
    }
    Outcome::Missing(tried, "not found".into())
}

enum Probe {
    Absent,
    Usable,
    Foreign(String),
    Invalid(String),
}

fn probe(path: &Path, system: &System) -> Probe {
    match fs::metadata(path) {
        Err(_) => return Probe::Absent,
        Ok(m) if m.is_dir() => return Probe::Absent,
        Ok(_) => {}
    }
    match inspect::elf_identity(path) {
        Err(e) => Probe::Invalid(io_words(&e)),
        Ok(None) => Probe::Invalid("invalid ELF header (not an ELF file)".into()),
        Ok(Some((is_64, machine))) if is_64 != system.is_64 || machine != system.machine => {
            Probe::Foreign(format!(
                "{}-bit {}, not {}-bit {}",
                if is_64 { 64 } else { 32 },
                machine_name(machine),
                if system.is_64 { 64 } else { 32 },
                system.platform
            ))
        }
        Ok(Some(_)) => Probe::Usable,
    }
}

fn dir_or_cwd(d: &str) -> PathBuf {
    if d.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(d)
    }
}

/// Expands `$ORIGIN`, `$LIB` and `$PLATFORM` as NixOS's glibc does (`$LIB`
/// is `lib` there).
pub fn expand(dir: &str, origin: &Path, system: &System) -> PathBuf {
    let origin = origin.to_string_lossy();
    let mut out = dir.to_owned();
    for (token, value) in [
        ("${ORIGIN}", origin.as_ref()),
        ("$ORIGIN", origin.as_ref()),
        ("${LIB}", "lib"),
        ("$LIB", "lib"),
        ("${PLATFORM}", system.platform),
        ("$PLATFORM", system.platform),
    ] {
        out = out.replace(token, value);
    }
    dir_or_cwd(&out)
}

fn check_versions(objects: &[Object]) -> Vec<MissingVersion> {
    let mut out: Vec<MissingVersion> = Vec::new();
    for o in objects {
        for (file, version, weak) in &o.facts.version_needs {
            let Some(target) = objects.iter().find(|t| t.matches(file)) else {
                continue; // missing altogether: reported as a missing library
            };
            // No version definitions at all: ld.so only warns.
            if *weak
                || target.facts.version_defs.is_empty()
                || target.facts.version_defs.contains(version)
            {
                continue;
            }
            if out
                .iter()
                .any(|m| &m.library == file && &m.version == version && m.required_by == o.name)
            {
                continue;
            }
            out.push(MissingVersion {
                library: file.clone(),
                version: version.clone(),
                required_by: o.name.clone(),
                library_path: target.canonical.clone().unwrap_or_default(),
                newest: newest_of_family(&target.facts.version_defs, version),
            });
        }
    }
    out
}

/// `GLIBC_2.38` → the highest `GLIBC_x.y` in `defs`.
pub fn newest_of_family(defs: &[String], version: &str) -> Option<String> {
    let (family, _) = version.rsplit_once('_')?;
    let key = |v: &str| -> Option<Vec<u64>> {
        let (f, n) = v.rsplit_once('_')?;
        if f != family {
            return None;
        }
        n.split('.').map(|p| p.parse().ok()).collect()
    };
    defs.iter()
        .filter_map(|d| key(d).map(|k| (k, d)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, d)| d.clone())
}

fn check_libc(objects: &[Object], search: &SearchPath) -> Option<String> {
    let ld_dir = fs::canonicalize(search.ld_so.as_ref()?)
        .ok()?
        .parent()?
        .to_path_buf();
    let libc = objects
        .iter()
        .find(|o| o.matches("libc.so.6") && o.loader.is_some())?;
    let libc_dir = libc.canonical.as_ref()?.parent()?.to_path_buf();
    (libc_dir != ld_dir).then(|| {
        format!(
            "libc.so.6 comes from {} but ld.so from {}; they must come from the same glibc, or the program may crash at start",
            libc_dir.display(),
            ld_dir.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_friends_expand() {
        let sys = System::by_name("x86_64_linux").unwrap();
        assert_eq!(
            expand("$ORIGIN/../lib", Path::new("/opt/app/bin"), sys),
            Path::new("/opt/app/bin/../lib")
        );
        assert_eq!(
            expand("${ORIGIN}/x:", Path::new("/a"), sys),
            Path::new("/a/x:")
        );
        assert_eq!(
            expand("/p/$LIB/$PLATFORM", Path::new("/a"), sys),
            Path::new("/p/lib/x86_64")
        );
        assert_eq!(expand("", Path::new("/a"), sys), Path::new("."));
    }

    #[test]
    fn newest_version_compares_numerically() {
        let defs: Vec<String> = [
            "GLIBC_2.2.5",
            "GLIBC_2.9",
            "GLIBC_2.36",
            "GLIBC_PRIVATE",
            "GLIBCXX_3.4",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            newest_of_family(&defs, "GLIBC_2.38").as_deref(),
            Some("GLIBC_2.36")
        );
        assert_eq!(
            newest_of_family(&defs, "GLIBCXX_3.4.30").as_deref(),
            Some("GLIBCXX_3.4")
        );
        assert_eq!(newest_of_family(&defs, "CXXABI_1.3"), None);
    }
}
