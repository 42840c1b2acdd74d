//! Walking the paths given: every ELF file by its first four bytes, each
//! directory once (by device and inode, so a symlink loop ends), each file
//! once however many names it has, examined on every core.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// Whether an argument names a directory to walk. A name without a slash is
/// a program in `PATH` first, as the shell would take it; only when there
/// is none is it a directory here (give `./name` to be sure).
pub(super) fn is_directory_argument(arg: &Path, env: &Env) -> bool {
    let has_slash = arg.as_os_str().as_bytes().contains(&b'/');
    if !has_slash && inspect::find_program(arg, env.get_os("PATH").as_deref()).is_some() {
        return false;
    }
    arg.is_dir()
}

/// What the walk found.
#[derive(Default)]
pub(super) struct Walk {
    /// Regular files, each once, in walk order.
    pub(super) files: Vec<PathBuf>,
    /// Symlinks not followed and directories not read.
    pub(super) unfollowed: Vec<Skipped>,
    dirs: HashSet<(u64, u64)>,
    inodes: HashSet<(u64, u64)>,
}

impl Walk {
    /// Walks `root` depth first, in name order.
    pub(super) fn walk(&mut self, root: &Path) {
        let Ok(meta) = fs::metadata(root) else {
            return;
        };
        if !self.dirs.insert((meta.dev(), meta.ino())) {
            return;
        }
        let mut stack = vec![(root.to_path_buf(), meta.dev())];
        while let Some((dir, dev)) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    self.unfollowed.push(Skipped {
                        path: dir.display().to_string(),
                        why: format!("cannot read the directory: {}", io_words(&e)),
                    });
                    continue;
                }
            };
            let mut entries: Vec<fs::DirEntry> = entries.flatten().collect();
            entries.sort_by_key(|e| e.file_name());
            let mut subdirs = Vec::new();
            for e in entries {
                let Ok(ft) = e.file_type() else {
                    continue;
                };
                let path = e.path();
                if ft.is_file() {
                    // A regular file lies on its directory's device.
                    if self.inodes.insert((dev, e.ino())) {
                        self.files.push(path);
                    }
                } else if ft.is_dir() {
                    // Stat it: it may be a mount point, on another device.
                    if let Ok(m) = fs::symlink_metadata(&path)
                        && self.dirs.insert((m.dev(), m.ino()))
                    {
                        subdirs.push((path, m.dev()));
                    }
                } else if ft.is_symlink() {
                    match fs::metadata(&path) {
                        Err(err) => self.unfollowed.push(Skipped {
                            path: path.display().to_string(),
                            why: format!(
                                "a symlink that leads nowhere or into a loop: {}",
                                io_words(&err)
                            ),
                        }),
                        Ok(m) if m.is_dir() => {
                            if self.dirs.insert((m.dev(), m.ino())) {
                                subdirs.push((path, m.dev()));
                            }
                        }
                        Ok(m) if m.is_file() => {
                            if self.inodes.insert((m.dev(), m.ino())) {
                                self.files.push(path);
                            }
                        }
                        // A FIFO, socket or device: never opened (a FIFO
                        // would block).
                        Ok(_) => {}
                    }
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
    }
}

/// Whether the file starts with the ELF magic; reads four bytes.
pub(super) fn is_elf(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 4];
    match File::open(path)?.read_exact(&mut magic) {
        Ok(()) => Ok(&magic == b"\x7fELF"),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// One file of the tree, looked at.
pub(super) enum Found {
    NotElf,
    /// A dynamically linked ELF file for this machine, and its answer.
    Examined {
        report: Box<Report>,
        system: &'static System,
        hints: Vec<&'static str>,
    },
    Static(String),
    Foreign(Skipped),
    Musl(Skipped),
    /// Left out; `elf` when it is an ELF file.
    Skipped {
        skipped: Skipped,
        elf: bool,
    },
    /// A path given on the command line that is not an ELF file (a script,
    /// a missing file): its own report counts as it is.
    Argument(Box<Report>),
}

/// Looks at a file found by the walk.
pub(super) fn look_at(path: &Path, env: &Env, opts: Options) -> Found {
    match is_elf(path) {
        Ok(false) => Found::NotElf,
        Ok(true) => examine(path, env, opts),
        Err(e) => Found::Skipped {
            skipped: Skipped {
                path: path.display().to_string(),
                why: format!("cannot read it: {}", io_words(&e)),
            },
            elf: false,
        },
    }
}

/// Looks at a file named on the command line.
pub(super) fn look_at_argument(arg: &Path, env: &Env, opts: Options) -> Found {
    let found = inspect::find_program(arg, env.get_os("PATH").as_deref());
    match found {
        Some(path) if is_elf(&path).unwrap_or(false) => examine(&path, env, opts),
        _ => {
            let opts = doctor::Options {
                locate: false,
                ..opts.doctor
            };
            Found::Argument(Box::new(doctor::doctor(arg, env, opts)))
        }
    }
}

/// The answer on one ELF file, sorted into what the tree report says.
pub(super) fn examine(path: &Path, env: &Env, opts: Options) -> Found {
    let shown = path.display().to_string();
    let skipped = |why: String| Skipped {
        path: shown.clone(),
        why,
    };
    let facts = match elfread::read_facts(path) {
        Ok(f) => f,
        Err(e) => {
            return Found::Skipped {
                skipped: skipped(format!("a damaged ELF file: {e}")),
                elf: true,
            };
        }
    };
    // A program of another system counts when the kernel starts it through
    // an emulator, as the single-file answer examines it then.
    let Some(system) = facts
        .system()
        .filter(|s| s.runs_here() || doctor::emulated_here(path))
    else {
        return Found::Foreign(skipped(format!("{}-bit {}", facts.class, facts.machine)));
    };
    if matches!(facts.kind, "object" | "core" | "unknown") {
        return Found::Skipped {
            skipped: skipped(format!("an ELF {}, not a program or a library", facts.kind)),
            elf: true,
        };
    }
    if facts.is_static {
        return Found::Static(shown);
    }
    if facts.is_musl {
        let interp = facts.interpreter.as_deref().unwrap_or("libc.so");
        return Found::Musl(skipped(format!("linked against musl ({interp})")));
    }
    // Packages are looked up once per soname for the whole tree.
    let per_file = doctor::Options {
        locate: false,
        ..opts.doctor
    };
    let report = doctor::elf_report(path, facts, env, per_file);
    let hints = if opts.hints {
        dlopen::unfound(path, &report, env)
    } else {
        vec![]
    };
    Found::Examined {
        report: Box::new(report),
        system,
        hints,
    }
}

/// Maps `items` with `f` on every core, keeping the order.
pub(super) fn map_in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads == 1 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            break mine;
                        };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker does not panic"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}
