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

use std::path::PathBuf;

use serde::Serialize;

use crate::dlopen::{self, Hint};
use crate::doctor;
use crate::elfread;
use crate::error::io_words;
use crate::inspect;
use crate::nixpkgs;
use crate::render;
use crate::report::{Fix, Missing, Report, Verdict};
use crate::settings::{Env, LdSoFix, Settings};
use crate::system::System;

mod human;
mod walk;

use human::{count, render_tree};
use walk::{Found, Walk, is_directory_argument, look_at, look_at_argument, map_in_parallel};

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
    // through a library they load (with that library).
    #[allow(
        clippy::type_complexity,
        reason = "a local tally, named where it is filled"
    )]
    let mut missing: Vec<(String, Vec<String>, Vec<(String, String)>)> = Vec::new();
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
                missing[at].2.push((file.clone(), m.needed_by.join(", ")));
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
                    system,
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
        // When no file of the tree needs it itself (a library from outside
        // does), the files that load that library are the ones to name.
        let (needed_by, also_fail) = if direct.is_empty() {
            let named = through
                .into_iter()
                .map(|(file, via)| format!("{file} (through {via})"))
                .collect();
            (named, vec![])
        } else {
            (direct, through.into_iter().map(|(file, _)| file).collect())
        };
        t.missing.push(Missing {
            providers: nixpkgs::providers(&soname, opts.doctor.locate),
            soname,
            needed_by,
            also_fail,
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
    if t.elf_files == 0 && arguments.is_empty() {
        tree_notes.push(if t.files == 0 {
            "it holds no file at all: nothing to examine".to_owned()
        } else {
            format!(
                "no ELF file among {}: nothing here needs rld",
                count(t.files, "file", "files")
            )
        });
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
            "{}, without ld.so or rld: {}",
            count(
                t.statically_linked.len(),
                "program is statically linked and runs as it is",
                "programs are statically linked and run as they are"
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
                        also_fail: m.also_fail.clone(),
                        providers: m.providers.clone(),
                    })
                    .collect();
                // Files started by their own ld.so say in their problem
                // what reaches them; the tree's snippet is rld's.
                let settings = Settings::resolve(env, system);
                doctor::fix(
                    &of_system,
                    system,
                    *needs_rld,
                    ld_so_fix.as_ref(),
                    None,
                    false,
                    settings.library_variable_hiding_default(),
                )
            })
            .collect();
        t.fix = merge_fixes(fixes);
    }
    t
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
