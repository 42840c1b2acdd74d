//! The tree report for people.

use std::path::Path;

use super::*;

/// "1 file is", "3 files are".
pub(super) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The tree report for people: the union of missing libraries, then the
/// notes, problems, verdict and snippets as the single-file report prints
/// them, then the run-time hints.
pub(super) fn render_tree(t: &TreeReport) -> String {
    let words = if t.paths.len() == 1 {
        format!(
            "a directory of {}, {} of them ELF",
            count(t.files, "file", "files"),
            t.elf_files
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
    let shared_objects = t.examined.len() - programs;
    let mut parts = vec![format!(
        "{} examined ({}, {})",
        t.examined.len(),
        count(programs, "program", "programs"),
        count(shared_objects, "shared object", "shared objects")
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
        // What fails to load is more than its direct users: every file that
        // loads one of them (numpy's modules, through OpenBLAS, for the libz
        // of its bundled gfortran), unless the process has it loaded already.
        let also = if m.also_fail.is_empty() {
            String::new()
        } else {
            format!(
                ", and through it by {}: {}",
                count(m.also_fail.len(), "more file", "more files"),
                dlopen::shorten(&m.also_fail, 3)
            )
        };
        o.push_str(&format!(
            "  {:width$}  MISSING, needed by {}{also} -> {providers}\n",
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
