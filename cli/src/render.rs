//! Human output of `rld doctor` and `rld env`. No colour: the output is
//! meant to be pasted into issues and chats as it is.

use std::fmt::Write;

use crate::nixpkgs::Provider;
use crate::report::{Report, Verdict};
use crate::settings::Settings;
use crate::system::System;

/// `rld doctor`'s report for people.
pub fn doctor(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}: {}", r.program, r.file);
    if let Some(elf) = &r.elf {
        let mut traits = vec![];
        if elf.is_static {
            traits.push("statically linked".to_owned());
        }
        if elf.is_musl {
            traits.push("musl".to_owned());
        }
        if let Some(s) = &elf.soname {
            traits.push(format!("soname {s}"));
        }
        if !elf.runpath.is_empty() {
            traits.push(format!("RUNPATH {}", elf.runpath.join(":")));
        }
        if !elf.rpath.is_empty() {
            traits.push(format!("RPATH {}", elf.rpath.join(":")));
        }
        if !traits.is_empty() {
            let _ = writeln!(o, "  {}", traits.join(", "));
        }
    }
    if let Some(i) = &r.interpreter {
        let state = match (i.exists, i.is) {
            (false, _) => "MISSING".to_owned(),
            (true, Some("ld.so")) => "exists (a real ld.so, not rld)".to_owned(),
            (true, Some(shim)) => format!("exists ({shim})"),
            (true, None) => "exists".to_owned(),
        };
        let _ = writeln!(o, "interpreter  {} {state}", i.path);
    }
    if let Some(l) = &r.ld_so {
        match &l.path {
            Some(p) => {
                let _ = writeln!(o, "ld.so        {} (from {})", p.display(), l.source);
            }
            None => {
                let _ = writeln!(o, "ld.so        none usable");
            }
        }
    }
    if let Some(s) = &r.settings {
        for c in &s.candidates {
            if let Some(p) = c.problem.as_deref()
                && c.falls_through
                && !p.starts_with("not tried")
            {
                let verb = if s.ld_so().is_some() {
                    "skipped"
                } else {
                    "failed "
                };
                let _ = writeln!(
                    o,
                    "  {verb}    {} (from {}): {p}",
                    c.path.display(),
                    c.source
                );
            }
        }
        if let Some(u) = &s.user_library_path {
            let _ = writeln!(o, "LD_LIBRARY_PATH {u}");
        }
        let _ = writeln!(
            o,
            "library path {} (from {})",
            s.library_path, s.library_path_source
        );
    }
    if r.resolved_as.is_some() {
        let found = r.libraries.iter().filter(|l| l.path.is_some()).count();
        let unresolved = if r.unresolved.is_empty() {
            String::new()
        } else {
            format!(
                ", {} unresolved until an ld.so is configured",
                r.unresolved.len()
            )
        };
        let from_glibc = if r.missing_from_glibc.is_empty() {
            String::new()
        } else {
            format!(
                ", {} missing from the ld.so's glibc",
                r.missing_from_glibc.len()
            )
        };
        let _ = writeln!(
            o,
            "\nlibraries: {} needed, {found} found, {} missing{unresolved}{from_glibc}",
            r.libraries.len(),
            r.missing.len()
        );
        let width = r
            .libraries
            .iter()
            .map(|l| l.soname.len())
            .max()
            .unwrap_or(0);
        for l in &r.libraries {
            match &l.path {
                Some(p) => {
                    let _ = writeln!(
                        o,
                        "  {:width$}  {}  ({})",
                        l.soname,
                        p.display(),
                        l.found_via
                    );
                }
                None if r.unresolved.contains(&l.soname) => {
                    let _ = writeln!(
                        o,
                        "  {:width$}  UNRESOLVED: comes with the ld.so's glibc, and no ld.so is usable",
                        l.soname
                    );
                }
                None if r.missing_from_glibc.contains(&l.soname) => {
                    let _ = writeln!(
                        o,
                        "  {:width$}  MISSING from the ld.so's glibc, needed by {}: it comes with glibc, not from the library list",
                        l.soname,
                        l.needed_by.join(", ")
                    );
                }
                None => {
                    let m = r.missing.iter().find(|m| m.soname == l.soname);
                    let providers = m.map(|m| providers(&m.providers)).unwrap_or_default();
                    let _ = writeln!(
                        o,
                        "  {:width$}  MISSING, needed by {}{}{}",
                        l.soname,
                        l.needed_by.join(", "),
                        if l.found_via == "not found" {
                            String::new()
                        } else {
                            format!(" ({})", l.found_via)
                        },
                        providers
                    );
                }
            }
        }
        for s in &r.skipped {
            let _ = writeln!(o, "  skipped {}: {}", s.path.display(), s.reason);
        }
        for v in &r.missing_versions {
            let _ = writeln!(
                o,
                "  version {} of {} MISSING, needed by {} ({} has up to {})",
                v.version,
                v.library,
                v.required_by,
                v.library_path.display(),
                v.newest.as_deref().unwrap_or("none of that family")
            );
        }
    }
    if !r.notes.is_empty() {
        o.push('\n');
        for n in &r.notes {
            let _ = writeln!(o, "note: {n}");
        }
    }
    o.push('\n');
    for p in &r.problems {
        let _ = writeln!(o, "problem: {p}");
    }
    let verdict = match r.verdict {
        Verdict::Runs => "it will run",
        // Libraries are not all it lacks when other problems come first.
        Verdict::NeedsLibraries if r.problems.len() > 1 => {
            "it will not run until the problems above are fixed"
        }
        Verdict::NeedsLibraries => "it will not run until the missing libraries are added",
        Verdict::NeedsConfiguration if r.problems.len() == 1 => {
            "it will not run until the problem above is fixed"
        }
        Verdict::NeedsConfiguration => "it will not run until the problems above are fixed",
        Verdict::NotExecutable => "it will not run until it is made executable (chmod +x)",
        Verdict::CannotRun => "it cannot run on this machine",
    };
    let _ = writeln!(o, "verdict: {verdict} (exit {})", r.verdict.exit_code());
    if r.verdict == Verdict::Runs && !r.libraries.is_empty() {
        // Only the names in the file are checked: a program that builds a
        // library's name at run time can still fail.
        let _ = writeln!(
            o,
            "  rld checked the libraries it names, not one it may load while running (dlopen) under a name rld does not know; if it fails anyway, run it with LD_DEBUG=libs set to see where ld.so looks"
        );
    }
    if let Some(fix) = &r.fix {
        if !fix.ld_library_path.is_empty() {
            let label = if r.interpreter.is_none() {
                "When the program that loads it comes from nixpkgs, its ld.so is not rld and reads LD_LIBRARY_PATH; in a dev shell (every program started there sees it):"
            } else {
                "For a one-off, LD_LIBRARY_PATH reaches its own ld.so; in a dev shell (every program started there sees it):"
            };
            let _ = write!(o, "\n{label}\n{}", indent(&fix.ld_library_path));
        }
        let only = fix
            .applies_when
            .as_ref()
            .map(|when| format!("Only when {when}, in "));
        if !fix.nixos.is_empty() {
            let hint = if fix.nixos.contains("options.") {
                " (`options` is a module argument, like `pkgs`)"
            } else {
                ""
            };
            let label = match &only {
                Some(only) => format!("{only}configuration.nix{hint}:"),
                None => format!("In configuration.nix{hint}:"),
            };
            let _ = write!(o, "\n{label}\n{}", indent(&fix.nixos));
        }
        if !fix.dev_shell.is_empty() {
            let label = match (&fix.dev_shell_requires, &only) {
                (None, Some(_)) if !fix.nixos.is_empty() => {
                    "Or, also only then, in a dev shell:".to_owned()
                }
                (None, Some(only)) => format!("{only}a dev shell:"),
                (None, None) => "Or in a dev shell:".to_owned(),
                (Some(what), _) => format!(
                    "Once {what}, a dev shell can set these instead (until then they do nothing):"
                ),
            };
            let _ = write!(o, "\n{label}\n{}", indent(&fix.dev_shell));
        }
        if !fix.unknown.is_empty() {
            let _ = writeln!(
                o,
                "\nNo package known for {}: search with `nix-locate --top-level --whole-name lib/{}` (nix-index) or search.nixos.org.",
                fix.unknown.join(", "),
                fix.unknown[0]
            );
        }
    }
    o
}

fn providers(p: &[Provider]) -> String {
    if p.is_empty() {
        return " -> no known package".into();
    }
    let parts: Vec<String> = p
        .iter()
        .map(|p| match p {
            Provider::Attribute { attribute, from } => format!("{attribute} ({from})"),
            Provider::Note { note } => note.clone(),
        })
        .collect();
    format!(" -> {}", parts.join(" or "))
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

/// `rld env`'s report for people.
pub fn env(s: &Settings) -> String {
    let mut o = String::new();
    // Nix's spelling in prose; the `{system}` suffix only in variable names.
    let system = System::by_name(s.system).map_or(s.system, |sys| sys.nix);
    let _ = writeln!(o, "system        {system}");
    match (&s.defaults.ld_so, &s.defaults.library_path) {
        (Some(ld_so), Some(library_path)) => {
            let _ = writeln!(
                o,
                "defaults      ld.so {}, library path {library_path} (from {})",
                ld_so.display(),
                s.defaults.from
            );
        }
        _ => {
            let _ = writeln!(o, "defaults      unknown: {}", s.defaults.from);
        }
    }
    match s.ld_so() {
        Some(c) => {
            let _ = writeln!(o, "ld.so         {} (from {})", c.path.display(), c.source);
        }
        None => {
            let _ = writeln!(o, "ld.so         none usable: rld-loader would exit 127");
        }
    }
    for c in &s.candidates {
        let Some(p) = c.problem.as_deref() else {
            continue;
        };
        let verb = if s.ld_so().is_none() {
            "  failed     "
        } else if p.starts_with("not tried") {
            "  after      "
        } else {
            "  skipped    "
        };
        let _ = writeln!(o, "{verb}{} (from {}): {p}", c.path.display(), c.source);
    }
    let library_path = match s.library_path.as_str() {
        "" => "none known",
        path => path,
    };
    let _ = writeln!(
        o,
        "library path  {library_path} (from {})",
        s.library_path_source
    );
    if let Some(u) = &s.user_library_path {
        let _ = writeln!(o, "  after LD_LIBRARY_PATH {u}");
    }
    let _ = writeln!(o, "log level     {}", s.log_level);
    if let Some(fix) = s.no_ld_so_fix() {
        let _ = writeln!(o, "fix: {}", fix.text);
    }
    for d in &s.missing_library_dirs {
        let _ = writeln!(
            o,
            "warning: {} (in the library path, from {}) does not exist{}",
            d.display(),
            s.library_path_source,
            if d.starts_with("/nix/store") {
                ": a garbage-collected store path? rebuild or update the variable"
            } else {
                ""
            }
        );
    }
    for c in &s.candidates {
        if c.path.starts_with("/nix/store")
            && c.problem
                .as_deref()
                .is_some_and(|p| p.contains("No such file"))
        {
            let _ = writeln!(
                o,
                "warning: {} (from {}) no longer exists: a garbage-collected store path? update {}",
                c.path.display(),
                c.source,
                c.source
            );
        }
    }
    o
}
