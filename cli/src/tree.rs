//! `rld doctor` on several paths and on whole trees: an unpacked app, a
//! `node_modules` with `.node` addons, a `site-packages` with extension
//! modules.
//!
//! The walk finds every ELF file by its first four bytes (other files are
//! opened once and never parsed), follows symlinks to directories once
//! (each directory is walked once, by device and inode, so a loop ends) and
//! examines each file once however many names it has. Each ELF file gets the
//! single-file answer ([`doctor::elf_report`], from bounded reads), so its
//! libraries are resolved as ld.so would for it, with its own
//! `RPATH`/`RUNPATH` and `$ORIGIN`: a library shipped inside the tree
//! counts as found. The answer is the union: each missing soname once, with
//! the files that need it; files for another machine, musl and static
//! programs in a note; one verdict, one snippet.
//!
//! A single path that is not a directory gets the single-file report, plus
//! the run-time library hints of [`dlopen`].

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::dlopen::{self, Hint};
use crate::doctor;
use crate::elfread;
use crate::error::io_words;
use crate::inspect;
use crate::nixpkgs;
use crate::render;
use crate::report::{Fix, Missing, Report, Verdict};
use crate::settings::{Env, LdSoFix};
use crate::system::System;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub doctor: doctor::Options,
    /// Look for libraries loaded at run time.
    pub hints: bool,
}

/// `rld doctor`'s answer: on one file, or on a tree.
#[derive(Debug)]
pub enum Answer {
    File {
        report: Box<Report>,
        /// `None` with `--no-hints`.
        hints: Option<Vec<Hint>>,
    },
    Tree(Box<TreeReport>),
}

/// The answer on several paths or a directory.
#[derive(Debug, Serialize)]
pub struct TreeReport {
    pub paths: Vec<String>,
    pub verdict: Verdict,
    pub exit_code: i32,
    /// Regular files looked at, ELF or not.
    pub files: usize,
    /// ELF files among them, of every kind.
    pub elf_files: usize,
    /// The ELF files examined (dynamically linked, for this machine), each
    /// with its own verdict.
    pub examined: Vec<Examined>,
    /// Each missing soname once; `needed_by` names the files that need it.
    pub missing: Vec<Missing>,
    /// Absent with `--no-hints`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub may_load_at_run_time: Option<Vec<Hint>>,
    pub not_for_this_machine: Vec<Skipped>,
    pub musl: Vec<Skipped>,
    pub statically_linked: Vec<String>,
    /// ELF files that are neither programs nor libraries, damaged or
    /// unreadable files, symlinks that lead nowhere.
    pub skipped: Vec<Skipped>,
    pub problems: Vec<String>,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

#[derive(Debug, Serialize)]
pub struct Examined {
    pub path: String,
    pub file: String,
    pub verdict: Verdict,
    pub exit_code: i32,
    pub missing: Vec<String>,
}

/// A file left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub path: String,
    pub why: String,
}

impl Answer {
    pub fn verdict(&self) -> Verdict {
        match self {
            Answer::File { report, .. } => report.verdict,
            Answer::Tree(t) => t.verdict,
        }
    }

    /// What the answer is about, for logs.
    pub fn subject(&self) -> String {
        match self {
            Answer::File { report, .. } => report.program.clone(),
            Answer::Tree(t) => t.paths.join(", "),
        }
    }

    /// The answer for people.
    pub fn text(&self) -> String {
        match self {
            Answer::File { report, hints } => {
                render::doctor(report) + &dlopen::render(hints.as_deref().unwrap_or_default())
            }
            Answer::Tree(t) => render_tree(t),
        }
    }

    /// The answer as one JSON object, with a newline.
    pub fn json(&self) -> String {
        #[derive(Serialize)]
        struct WithHints<'a> {
            #[serde(flatten)]
            report: &'a Report,
            #[serde(skip_serializing_if = "Option::is_none")]
            may_load_at_run_time: Option<&'a [Hint]>,
        }
        let json = match self {
            Answer::File { report, hints } => serde_json::to_string_pretty(&WithHints {
                report,
                may_load_at_run_time: hints.as_deref(),
            }),
            Answer::Tree(t) => serde_json::to_string_pretty(t),
        };
        json.expect("reports serialise: no maps with non-string keys") + "\n"
    }
}

/// `rld doctor PATH…`.
pub fn doctor(paths: &[PathBuf], env: &Env, opts: Options) -> Answer {
    if let [one] = paths
        && !is_directory_argument(one, env)
    {
        let report = doctor::doctor(one, env, opts.doctor);
        let hints =
            opts.hints.then(
                || match inspect::find_program(one, env.get_os("PATH").as_deref()) {
                    Some(found) => dlopen::hints(&found, &report, env, opts.doctor.locate),
                    None => vec![],
                },
            );
        return Answer::File {
            report: Box::new(report),
            hints,
        };
    }
    Answer::Tree(Box::new(tree(paths, env, opts)))
}

/// Whether an argument names a directory to walk. A name without a slash is
/// a program in `PATH` first, as the shell would take it; only when there
/// is none is it a directory here (give `./name` to be sure).
fn is_directory_argument(arg: &Path, env: &Env) -> bool {
    let has_slash = arg.as_os_str().as_bytes().contains(&b'/');
    if !has_slash && inspect::find_program(arg, env.get_os("PATH").as_deref()).is_some() {
        return false;
    }
    arg.is_dir()
}

/// What the walk found.
#[derive(Default)]
struct Walk {
    /// Regular files, each once, in walk order.
    files: Vec<PathBuf>,
    /// Symlinks not followed and directories not read.
    unfollowed: Vec<Skipped>,
    dirs: HashSet<(u64, u64)>,
    inodes: HashSet<(u64, u64)>,
}

impl Walk {
    /// Walks `root` depth first, in name order.
    fn walk(&mut self, root: &Path) {
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
fn is_elf(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 4];
    match File::open(path)?.read_exact(&mut magic) {
        Ok(()) => Ok(&magic == b"\x7fELF"),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// One file of the tree, looked at.
enum Found {
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
fn look_at(path: &Path, env: &Env, opts: Options) -> Found {
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
fn look_at_argument(arg: &Path, env: &Env, opts: Options) -> Found {
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
fn examine(path: &Path, env: &Env, opts: Options) -> Found {
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
    let Some(system) = facts.system().filter(|s| s.runs_here()) else {
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
fn map_in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
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

/// Problems or notes of many files, each sentence once: sentences that
/// differ only in the file they name are one, with the other files listed.
#[derive(Default)]
struct Sentences {
    /// (the sentence with its file replaced by a mark, the first file, the
    /// sentence as said of it, every file).
    groups: Vec<(String, String, String, Vec<String>)>,
}

impl Sentences {
    const MARK: &str = "\u{0}FILE\u{0}";

    fn add(&mut self, file: &str, text: &str) {
        let key = if file.is_empty() {
            text.to_owned()
        } else {
            text.replace(file, Self::MARK)
        };
        match self.groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => {
                if !g.3.iter().any(|f| f == file) {
                    g.3.push(file.to_owned());
                }
            }
            None => {
                self.groups
                    .push((key, file.to_owned(), text.to_owned(), vec![file.to_owned()]))
            }
        }
    }

    fn into_lines(self) -> Vec<String> {
        self.groups
            .into_iter()
            .map(|(key, first, text, files)| {
                let mut line = if key.contains(Self::MARK) || first.is_empty() {
                    text
                } else {
                    format!("{first}: {text}")
                };
                if files.len() > 1 {
                    line.push_str(&format!(
                        " (the same for {} more: {})",
                        files.len() - 1,
                        dlopen::shorten(&files[1..], 3)
                    ));
                }
                line
            })
            .collect()
    }
}

/// The answer on several paths or a tree.
fn tree(paths: &[PathBuf], env: &Env, opts: Options) -> TreeReport {
    let mut walk = Walk::default();
    let mut arguments = Vec::new();
    for p in paths {
        if is_directory_argument(p, env) {
            walk.walk(p);
        } else {
            arguments.push(p.clone());
        }
    }
    let mut found = map_in_parallel(&arguments, |p| look_at_argument(p, env, opts));
    found.extend(map_in_parallel(&walk.files, |p| look_at(p, env, opts)));

    let mut t = TreeReport {
        paths: paths.iter().map(|p| p.display().to_string()).collect(),
        verdict: Verdict::Runs,
        exit_code: 0,
        files: walk.files.len() + arguments.len(),
        elf_files: 0,
        examined: vec![],
        missing: vec![],
        may_load_at_run_time: None,
        not_for_this_machine: vec![],
        musl: vec![],
        statically_linked: vec![],
        skipped: vec![],
        problems: vec![],
        notes: vec![],
        fix: None,
    };
    let mut problems = Sentences::default();
    let mut notes = Sentences::default();
    // Per soname: files that need it themselves, and files that need it
    // through a library from outside the tree.
    let mut missing: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    let mut hints: Vec<Hint> = Vec::new();
    // Per system: the sonames missing, whether rld must be installed first,
    // and the fix for a missing ld.so (as the single-file doctor gives it).
    #[allow(
        clippy::type_complexity,
        reason = "a local tally, named where it is filled"
    )]
    let mut systems: Vec<(&'static System, Vec<String>, bool, Option<LdSoFix>)> = Vec::new();
    let mut not_executable = false;
    let mut argument_reports = 0;
    let mut worst = Verdict::Runs;
    for f in found {
        let (report, system, file_hints) = match f {
            Found::NotElf => continue,
            Found::Static(p) => {
                t.elf_files += 1;
                t.statically_linked.push(p);
                continue;
            }
            Found::Foreign(s) => {
                t.elf_files += 1;
                t.not_for_this_machine.push(s);
                continue;
            }
            Found::Musl(s) => {
                t.elf_files += 1;
                t.musl.push(s);
                continue;
            }
            Found::Skipped { skipped, elf } => {
                t.elf_files += usize::from(elf);
                t.skipped.push(skipped);
                continue;
            }
            Found::Argument(r) => {
                argument_reports += 1;
                (r, None, vec![])
            }
            Found::Examined {
                report,
                system,
                hints,
            } => {
                t.elf_files += 1;
                (report, Some(system), hints)
            }
        };
        let file = report.program.clone();
        match report.verdict {
            Verdict::NotExecutable => not_executable = true,
            v => worst = worse(worst, v),
        }
        let names: Vec<&str> = report.missing.iter().map(|m| m.soname.as_str()).collect();
        for p in &report.problems {
            // The file's own "N libraries are missing: …" is said once for
            // the tree, below.
            if !names.is_empty() && p.ends_with(&names.join(", ")) {
                continue;
            }
            problems.add(&file, p);
        }
        for n in &report.notes {
            notes.add(&file, n);
        }
        for m in &report.missing {
            let at = match missing.iter().position(|(s, ..)| *s == m.soname) {
                Some(i) => i,
                None => {
                    missing.push((m.soname.clone(), vec![], vec![]));
                    missing.len() - 1
                }
            };
            if m.needed_by.contains(&file) {
                missing[at].1.push(file.clone());
            } else {
                missing[at]
                    .2
                    .push(format!("{file} (through {})", m.needed_by.join(", ")));
            }
        }
        for s in file_hints {
            match hints.iter_mut().find(|h| h.soname == s) {
                Some(h) => h.named_by.push(file.clone()),
                None => hints.push(Hint {
                    soname: s.to_owned(),
                    named_by: vec![file.clone()],
                    providers: vec![],
                    gpu: dlopen::is_gpu(s),
                }),
            }
        }
        if let Some(system) = system {
            let needs_rld = report
                .interpreter
                .as_ref()
                .is_some_and(|i| !i.exists && i.path == system.interpreter);
            let ld_so_fix = report.settings.as_ref().and_then(|s| s.no_ld_so_fix());
            match systems.iter_mut().find(|(s, ..)| *s == system) {
                Some(entry) => {
                    entry.1.extend(names.iter().map(|s| s.to_string()));
                    entry.2 |= needs_rld;
                    if entry.3.is_none() {
                        entry.3 = ld_so_fix;
                    }
                }
                None => systems.push((
                    system,
                    names.iter().map(|s| s.to_string()).collect(),
                    needs_rld,
                    ld_so_fix,
                )),
            }
            t.examined.push(Examined {
                path: file,
                file: report.file.clone(),
                verdict: report.verdict,
                exit_code: report.verdict.exit_code(),
                missing: names.iter().map(|s| s.to_string()).collect(),
            });
        }
    }
    t.skipped.extend(walk.unfollowed);

    for (soname, direct, through) in missing {
        t.missing.push(Missing {
            providers: nixpkgs::providers(&soname, opts.doctor.locate),
            soname,
            needed_by: if direct.is_empty() { through } else { direct },
        });
    }
    for h in &mut hints {
        h.providers = nixpkgs::providers(&h.soname, opts.doctor.locate);
    }
    t.may_load_at_run_time = opts.hints.then_some(hints);

    let mut lines = Vec::new();
    if !t.missing.is_empty() {
        let names: Vec<&str> = t.missing.iter().map(|m| m.soname.as_str()).collect();
        let are = if names.len() == 1 {
            "library is"
        } else {
            "libraries are"
        };
        lines.push(format!(
            "{} {are} missing: {}",
            names.len(),
            names.join(", ")
        ));
    }
    lines.extend(problems.into_lines());

    let runnable = t.examined.len() + t.statically_linked.len();
    if t.elf_files > 0 && runnable == 0 && argument_reports == 0 {
        worst = Verdict::CannotRun;
        lines.push(format!(
            "none of the {} ELF files can run on this machine (see the notes)",
            t.elf_files
        ));
    }
    t.verdict = match (worst, not_executable) {
        (Verdict::Runs, true) => Verdict::NotExecutable,
        (Verdict::NeedsLibraries, true) => Verdict::NeedsConfiguration,
        (v, _) => v,
    };
    t.exit_code = t.verdict.exit_code();
    t.problems = lines;

    let mut tree_notes = Vec::new();
    let list = |items: &[Skipped]| {
        let named: Vec<String> = items
            .iter()
            .map(|s| format!("{} ({})", s.path, s.why))
            .collect();
        dlopen::shorten(&named, 5)
    };
    if t.elf_files == 0 && t.files > 0 && arguments.is_empty() {
        tree_notes.push(format!(
            "no ELF file among {} files: nothing here needs rld",
            t.files
        ));
    }
    if !t.not_for_this_machine.is_empty() {
        tree_notes.push(format!(
            "{} for another machine, not counted: {}",
            count(t.not_for_this_machine.len(), "ELF file is", "ELF files are"),
            list(&t.not_for_this_machine)
        ));
    }
    if !t.musl.is_empty() {
        tree_notes.push(format!(
            "{} against musl, which rld does not serve; not counted: {}",
            count(t.musl.len(), "ELF file is linked", "ELF files are linked"),
            list(&t.musl)
        ));
    }
    if !t.statically_linked.is_empty() {
        tree_notes.push(format!(
            "{} linked and run as they are, without ld.so or rld: {}",
            count(
                t.statically_linked.len(),
                "program is statically",
                "programs are statically"
            ),
            dlopen::shorten(&t.statically_linked, 5)
        ));
    }
    if !t.skipped.is_empty() {
        tree_notes.push(format!(
            "{} left out: {}",
            count(t.skipped.len(), "file was", "files were"),
            list(&t.skipped)
        ));
    }
    tree_notes.extend(notes.into_lines());
    t.notes = tree_notes;

    if matches!(
        t.verdict,
        Verdict::NeedsLibraries | Verdict::NeedsConfiguration
    ) {
        let fixes: Vec<Fix> = systems
            .iter()
            .map(|(system, sonames, needs_rld, ld_so_fix)| {
                let of_system: Vec<Missing> = t
                    .missing
                    .iter()
                    .filter(|m| sonames.contains(&m.soname))
                    .map(|m| Missing {
                        soname: m.soname.clone(),
                        needed_by: m.needed_by.clone(),
                        providers: m.providers.clone(),
                    })
                    .collect();
                // Files started by their own ld.so say in their problem
                // what reaches them; the tree's snippet is rld's.
                doctor::fix(
                    &of_system,
                    system,
                    *needs_rld,
                    ld_so_fix.as_ref(),
                    None,
                    false,
                )
            })
            .collect();
        t.fix = merge_fixes(fixes);
    }
    t
}

/// "1 file is", "3 files are".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The worse of two verdicts: what stops more.
fn worse(a: Verdict, b: Verdict) -> Verdict {
    let rank = |v: Verdict| match v {
        Verdict::Runs => 0,
        Verdict::NotExecutable => 1,
        Verdict::NeedsLibraries => 2,
        Verdict::NeedsConfiguration => 3,
        Verdict::CannotRun => 4,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// One snippet for programs of several systems (64- and 32-bit in one
/// tree): each system's lines once, in one `mkShell`.
fn merge_fixes(mut fixes: Vec<Fix>) -> Option<Fix> {
    if fixes.len() <= 1 {
        return fixes.pop();
    }
    let mut merged = Fix {
        attributes: vec![],
        unknown: vec![],
        nixos: String::new(),
        dev_shell: String::new(),
        dev_shell_requires: None,
        applies_when: None,
        ld_library_path: String::new(),
    };
    let mut shell_lines: Vec<String> = Vec::new();
    for f in fixes {
        for a in f.attributes {
            if !merged.attributes.contains(&a) {
                merged.attributes.push(a);
            }
        }
        for u in f.unknown {
            if !merged.unknown.contains(&u) {
                merged.unknown.push(u);
            }
        }
        for line in f.nixos.lines() {
            if !merged.nixos.lines().any(|l| l == line) {
                merged.nixos.push_str(line);
                merged.nixos.push('\n');
            }
        }
        if let Some(requires) = f.dev_shell_requires {
            match &mut merged.dev_shell_requires {
                Some(all) if !all.contains(&requires) => {
                    all.push_str("; ");
                    all.push_str(&requires);
                }
                Some(_) => {}
                none => *none = Some(requires),
            }
        }
        let body: Vec<&str> = f.dev_shell.lines().collect();
        for line in body.iter().skip(1).take(body.len().saturating_sub(2)) {
            if !shell_lines.iter().any(|l| l == line) {
                shell_lines.push((*line).to_owned());
            }
        }
    }
    if !shell_lines.is_empty() {
        merged.dev_shell = format!("pkgs.mkShell {{\n{}\n}}\n", shell_lines.join("\n"));
    }
    Some(merged)
}

/// The tree report for people: the union of missing libraries, then the
/// notes, problems, verdict and snippets as the single-file report prints
/// them, then the run-time hints.
fn render_tree(t: &TreeReport) -> String {
    let words = if t.paths.len() == 1 {
        format!(
            "a directory of {} files, {} of them ELF",
            t.files, t.elf_files
        )
    } else {
        format!(
            "{} paths, {} files, {} of them ELF",
            t.paths.len(),
            t.files,
            t.elf_files
        )
    };
    let mut summary = Report::new(Path::new(&t.paths.join(", ")), words);
    summary.verdict = t.verdict;
    summary.problems = t.problems.clone();
    summary.notes = t.notes.clone();
    summary.fix = t.fix.as_ref().map(|f| Fix {
        attributes: f.attributes.clone(),
        unknown: f.unknown.clone(),
        nixos: f.nixos.clone(),
        dev_shell: f.dev_shell.clone(),
        dev_shell_requires: f.dev_shell_requires.clone(),
        applies_when: f.applies_when.clone(),
        ld_library_path: f.ld_library_path.clone(),
    });
    let body = render::doctor(&summary);
    let (head, rest) = body.split_once('\n').unwrap_or((&body, ""));
    let mut o = format!("{head}\n");
    let programs = t
        .examined
        .iter()
        .filter(|e| e.file.contains("executable"))
        .count();
    let mut parts = vec![format!(
        "{} examined ({programs} programs, {} shared objects)",
        t.examined.len(),
        t.examined.len() - programs
    )];
    for (n, what) in [
        (t.statically_linked.len(), "statically linked"),
        (t.not_for_this_machine.len(), "for another machine"),
        (t.musl.len(), "musl"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    o.push_str(&format!("ELF files: {}\n", parts.join(", ")));
    if !t.examined.is_empty() {
        o.push_str(&format!("\nlibraries: {} missing\n", t.missing.len()));
    }
    let width = t.missing.iter().map(|m| m.soname.len()).max().unwrap_or(0);
    for m in &t.missing {
        let providers: Vec<String> = m
            .providers
            .iter()
            .map(|p| match p {
                nixpkgs::Provider::Attribute { attribute, from } => {
                    format!("{attribute} ({from})")
                }
                nixpkgs::Provider::Note { note } => note.clone(),
            })
            .collect();
        let providers = if providers.is_empty() {
            "no known package".to_owned()
        } else {
            providers.join(" or ")
        };
        o.push_str(&format!(
            "  {:width$}  MISSING, needed by {} -> {providers}\n",
            m.soname,
            dlopen::shorten(&m.needed_by, 3)
        ));
    }
    o.push_str(rest);
    if let Some(hints) = &t.may_load_at_run_time {
        o.push_str(&dlopen::render(hints));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_about_many_files_are_said_once() {
        let mut s = Sentences::default();
        s.add("/t/a", "/t/a is not executable; fix: chmod +x /t/a");
        s.add("/t/b", "/t/b is not executable; fix: chmod +x /t/b");
        s.add("/t/c", "it is a shared object");
        s.add("/t/d", "it is a shared object");
        assert_eq!(
            s.into_lines(),
            [
                "/t/a is not executable; fix: chmod +x /t/a (the same for 1 more: /t/b)",
                "/t/c: it is a shared object (the same for 1 more: /t/d)",
            ]
        );
    }

    #[test]
    fn verdicts_combine() {
        assert_eq!(
            worse(Verdict::Runs, Verdict::NeedsLibraries),
            Verdict::NeedsLibraries
        );
        assert_eq!(
            worse(Verdict::NeedsConfiguration, Verdict::NeedsLibraries),
            Verdict::NeedsConfiguration
        );
    }

    #[test]
    fn fixes_of_two_systems_make_one_shell() {
        let f = |attr: &str, var: &str| Fix {
            attributes: vec![attr.into()],
            unknown: vec![],
            nixos: format!("programs.rld.enable = true;\nprograms.rld.{var} = [ {attr} ];\n"),
            dev_shell: format!("pkgs.mkShell {{\n  NIX_LD{var} = x;\n}}\n"),
            dev_shell_requires: Some(std::format!("rld for {var}")),
            applies_when: None,
            ld_library_path: String::new(),
        };
        let m = merge_fixes(vec![f("zlib", "libraries"), f("zlib", "libraries32")]).unwrap();
        assert_eq!(m.attributes, ["zlib"]);
        assert_eq!(
            m.nixos,
            "programs.rld.enable = true;\nprograms.rld.libraries = [ zlib ];\nprograms.rld.libraries32 = [ zlib ];\n"
        );
        assert_eq!(
            m.dev_shell,
            "pkgs.mkShell {\n  NIX_LDlibraries = x;\n  NIX_LDlibraries32 = x;\n}\n"
        );
        assert_eq!(
            m.dev_shell_requires.as_deref(),
            Some("rld for libraries; rld for libraries32")
        );
    }
}
