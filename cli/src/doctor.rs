//! `rld doctor`: why a program will or will not run, and what to add.
//!
//! Builds a [`Report`] from the file alone (goblin, never running it), the
//! loader's configuration ([`Settings`]) and the library search
//! ([`search`]); the report's types and its verdict live in
//! [`report`](crate::report), which the renderer reads too.

use std::path::Path;

use crate::binfmt;
use crate::elfread;
use crate::error::io_words;
use crate::inspect::{self, ElfFacts, FileKind, Script, is_executable};
use crate::nixpkgs::{self, Provider};
use crate::report::{Fix, Interpreter, LdSo, Missing, Report, Verdict};
use crate::search::{self, SearchPath};
use crate::settings::{Env, LdSoFix, Settings};
use crate::system::System;

mod sentences;

pub use sentences::required_file_not_found;
use sentences::{
    emulated_by, incomplete_glibc, interpreter_missing, not_executable, not_reached_by_rld,
    stub_ld, through_rld,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Analyse as rld would run it even when its interpreter is another
    /// ld.so (what `rld run` does).
    pub assume_rld: bool,
    /// Ask `nix-locate` about missing sonames.
    pub locate: bool,
}

pub fn doctor(program: &Path, env: &Env, opts: Options) -> Report {
    let path = env.get_os("PATH");
    let Some(found) = inspect::find_program(program, path.as_deref()) else {
        let name = program.display();
        // The shell does not look in the current directory either: a user
        // who typed the bare name of a file here meant `./NAME`.
        let here = if program.is_file() {
            format!("; ./{name} is the one in the current directory: `rld doctor ./{name}`")
        } else {
            "; give its path if it is elsewhere".to_owned()
        };
        return Report::new(program, "not found in PATH".into()).cannot_run(format!(
            "{name}: command not found: no file named {name} in PATH ({}), which is what the shell's \"command not found\" means{here}",
            path.as_deref().map_or("unset".into(), |p| p.to_string_lossy())
        ));
    };
    let mut r = examine(&found, env, opts);
    if found != program {
        r.notes.insert(
            0,
            format!("{} is {} (from PATH)", program.display(), found.display()),
        );
    }
    r
}

/// The report on the file `program`.
fn examine(program: &Path, env: &Env, opts: Options) -> Report {
    let shown = program.display().to_string();
    match elfread::inspect(program) {
        FileKind::Unreadable(e) => {
            let what = if e.kind() == std::io::ErrorKind::NotFound {
                "missing".to_owned()
            } else {
                "unreadable".to_owned()
            };
            Report::new(program, what).cannot_run(format!("cannot read {shown}: {}", io_words(&e)))
        }
        FileKind::NotRegular(what) => Report::new(program, what.to_owned())
            .cannot_run(format!("{shown} is {what}, not a program")),
        FileKind::NotProgram { what } => Report::new(program, what.to_owned()).cannot_run(format!(
            "{shown} is {what}: not an ELF program or a #! script, so no loader can run it"
        )),
        FileKind::BadElf(e) => Report::new(program, "a damaged ELF file".into())
            .cannot_run(format!("{shown} is a damaged ELF file: {e}")),
        FileKind::Script(script) => script_report(program, script, env),
        FileKind::Elf(facts) => elf_report(program, *facts, env, opts),
    }
}

fn script_report(program: &Path, script: Script, env: &Env) -> Report {
    let shown = program.display().to_string();
    let mut r = Report::new(program, format!("a script (#!{})", script.shebang));
    let interp = script.interpreter.display().to_string();
    if !script.interpreter_exists {
        let name = script
            .interpreter
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        r = r.cannot_run(format!(
            "its #! interpreter {interp} does not exist, so the kernel fails with \"required file not found\" (rld cannot help: it serves ELF programs); fix: run it as `{name} {shown}`, or change its first line to `#!/usr/bin/env {name}`"
        ));
    } else if !is_executable(program) {
        r.problems.push(not_executable(
            &shown,
            &format!(" (or run it as `{interp} {shown}`)"),
        ));
        r.verdict = Verdict::NotExecutable;
    } else {
        match env_command(&script, env) {
            EnvCommand::NotEnv => r.notes.push(format!(
                "the kernel runs it with {interp}; run `rld doctor {interp}` if that program does not start"
            )),
            EnvCommand::Found(name, path) => {
                let path = path.display();
                r.notes.push(format!(
                    "the kernel runs it with {interp}, which runs {name} from PATH: {path}; run `rld doctor {path}` if that program does not start"
                ));
            }
            EnvCommand::Problem(problem) => {
                r.problems.push(problem);
                r.verdict = Verdict::NeedsConfiguration;
            }
        }
    }
    r.script = Some(script);
    r
}

/// What `env` does with a script's `#!/usr/bin/env …` line.
enum EnvCommand {
    /// Not `env`, or options rld does not follow: the interpreter is all
    /// rld can name.
    NotEnv,
    /// The program env runs, found in PATH.
    Found(String, std::path::PathBuf),
    /// Why env will fail, with the fix.
    Problem(String),
}

/// `env` finds its program in PATH, not the kernel, and the kernel passes
/// all of the line after the interpreter to it as one argument.
fn env_command(script: &Script, env: &Env) -> EnvCommand {
    if script.interpreter.file_name() != Some(std::ffi::OsStr::new("env")) {
        return EnvCommand::NotEnv;
    }
    let interp = script.interpreter.display();
    let arg = script
        .shebang
        .split_once([' ', '\t'])
        .map_or("", |(_, arg)| arg.trim());
    let name = if let Some(words) = arg.strip_prefix("-S") {
        // `env -S` splits the rest itself; variable assignments may come
        // before the program (options, some with arguments, are not
        // followed).
        match words.split_whitespace().find(|w| !w.contains('=')) {
            Some(name) if !name.starts_with('-') => name,
            _ => return EnvCommand::NotEnv,
        }
    } else if arg.is_empty() || arg.starts_with('-') {
        return EnvCommand::NotEnv;
    } else if arg.contains([' ', '\t']) {
        return EnvCommand::Problem(format!(
            "the kernel passes `{arg}` to env as one word, so env looks for a program named \"{arg}\" and fails with \"No such file or directory\" (exit 127); fix: change its first line to `#!{interp} -S {arg}`"
        ));
    } else {
        arg
    };
    if name.contains('/') {
        return EnvCommand::NotEnv;
    }
    let path = env.get_os("PATH");
    match inspect::find_program(Path::new(name), path.as_deref()) {
        Some(found) => EnvCommand::Found(name.to_owned(), found),
        None => EnvCommand::Problem(format!(
            "env looks {name} up in PATH ({}) and finds none, so it fails with \"env: '{name}': No such file or directory\" (exit 127); fix: put a {name} in PATH (in a dev shell or your profile), or give its path on the first line",
            path.as_deref()
                .map_or("unset".into(), |p| p.to_string_lossy())
        )),
    }
}

/// The report on the ELF file `program`, already parsed into `facts`.
pub fn elf_report(program: &Path, facts: ElfFacts, env: &Env, opts: Options) -> Report {
    let shown = program.display().to_string();
    let mut r = Report::new(
        program,
        format!("ELF {}-bit {} {}", facts.class, facts.machine, facts.kind),
    );
    r.elf = Some(facts.clone());
    let system = match facts.system() {
        Some(system) if system.runs_here() => system,
        known => {
            // The kernel may still start it, through an emulator: then it
            // is examined as a program of its own system.
            let emulation = binfmt::emulation(Path::new(binfmt::DIR), program);
            match (known, emulation.handler()) {
                (Some(system), Some(h)) => {
                    r.notes.push(emulated_by(system, h));
                    system
                }
                _ => return r.cannot_run(facts.foreign_problem(&emulation)),
            }
        }
    };
    if matches!(facts.kind, "object" | "core" | "unknown") {
        return r.cannot_run(format!(
            "it is an ELF {}, not a program or a library",
            facts.kind
        ));
    }
    if facts.is_musl && !facts.is_static {
        let interp = facts.interpreter.as_deref().unwrap_or("libc.so");
        let loader = Path::new(interp)
            .file_name()
            .filter(|n| n.to_string_lossy().starts_with("ld-musl"))
            .map_or("ld-musl-x86_64.so.1".into(), |n| {
                n.to_string_lossy().into_owned()
            });
        return r.cannot_run(format!(
            "it is linked against musl ({interp}); rld starts glibc programs only; run it with musl's loader: `${{pkgs.musl}}/lib/{loader} {shown}`, or use a glibc build"
        ));
    }
    // A shared object is mapped, not executed: it needs no x permission.
    let not_runnable = facts.kind != "shared-object" && !is_executable(program);
    if not_runnable {
        r.problems.push(not_executable(&shown, ""));
    }
    if facts.is_static {
        r.notes.push(
            "it is statically linked: the kernel runs it as it is, without ld.so or rld".into(),
        );
        if not_runnable {
            r.verdict = Verdict::NotExecutable;
        }
        return r;
    }
    let loading = choose_loader(&mut r, &facts, system, env, opts);
    let needs_rld = loading.needs_rld;
    let ld_so_fix = loading.ld_so_fix.clone();
    let through_rld = loading.through_rld.clone();
    let own_ld_so = loading.own_ld_so.clone();
    // LD_LIBRARY_PATH reaches a program's own ld.so, and a shared object
    // loaded by a program from nixpkgs.
    let ld_library_path_reaches = own_ld_so.is_some() || facts.interpreter.is_none();
    resolve_libraries(&mut r, program, &facts, system, loading, opts);
    if not_runnable && r.problems.len() == 1 {
        r.verdict = Verdict::NotExecutable;
    } else if !r.problems.is_empty() {
        r.verdict = if r.missing.is_empty() || not_runnable {
            Verdict::NeedsConfiguration
        } else {
            Verdict::NeedsLibraries
        };
        if let Some(own) = &own_ld_so
            && !r.missing.is_empty()
        {
            r.problems.push(not_reached_by_rld(&shown, own, system));
        }
        let library_variable = r
            .settings
            .as_ref()
            .and_then(|s| s.library_variable_hiding_default());
        r.fix = Some(fix(
            &r.missing,
            system,
            needs_rld,
            ld_so_fix.as_ref(),
            through_rld.as_deref(),
            ld_library_path_reaches,
            library_variable,
        ));
    }
    r
}

/// Whether the kernel starts the program at `path`, which this machine
/// does not run natively, through an emulator (binfmt_misc).
pub fn emulated_here(path: &Path) -> bool {
    binfmt::emulation(Path::new(binfmt::DIR), path)
        .handler()
        .is_some()
}

/// Which ld.so will load the program, and with which `LD_LIBRARY_PATH`.
struct Loading {
    ld_so: LdSo,
    library_path: Vec<(String, &'static str)>,
    under_rld: bool,
    /// The standard interpreter is missing: rld itself must be enabled.
    needs_rld: bool,
    /// Under rld with no usable ld.so: what to do about it.
    ld_so_fix: Option<LdSoFix>,
    /// rld's configuration reaches the program only when it is run
    /// through rld: how (`rld run`, or patchelf to the standard path).
    through_rld: Option<String>,
    /// The program's own interpreter, a real ld.so, starts it: rld's
    /// configuration does not reach it, and `LD_LIBRARY_PATH` does.
    /// `rld run` would work with `own_ld_so.1`, whether rld has an ld.so.
    own_ld_so: Option<(String, bool)>,
}

/// Looks at the interpreter and the loader's configuration; records what
/// it finds in `r`.
fn choose_loader(
    r: &mut Report,
    facts: &ElfFacts,
    system: &'static System,
    env: &Env,
    opts: Options,
) -> Loading {
    let shown = r.program.clone();
    let settings = Settings::resolve(env, system);
    let mut loading = Loading {
        ld_so: match settings.ld_so() {
            Some(c) => LdSo {
                path: Some(c.path.clone()),
                source: c.source.clone(),
            },
            None => LdSo {
                path: None,
                source: "none usable".into(),
            },
        },
        library_path: settings.search_path(),
        under_rld: true,
        needs_rld: false,
        ld_so_fix: None,
        through_rld: None,
        own_ld_so: None,
    };
    match facts.interpreter.clone() {
        None => {
            r.notes.push(
                "it is a shared object: the program that loads it (python, node, …) chooses the ld.so; rld's configuration is assumed".into(),
            );
            // A python or node from nixpkgs starts with its own ld.so, which
            // reads LD_LIBRARY_PATH but nothing of rld's.
            loading.through_rld = Some(
                "the program that loads it runs through rld (one downloaded, not one from nixpkgs)"
                    .into(),
            );
        }
        Some(interp) => {
            let path = Path::new(&interp);
            let exists = path.exists();
            let is = exists.then(|| inspect::shim_name(path).unwrap_or("ld.so"));
            if is == Some(inspect::STUB_LD) {
                loading.needs_rld = true;
                r.problems
                    .push(stub_ld(&shown, &interp, system, settings.ld_so().is_some()));
            } else if !exists && interp == system.interpreter {
                loading.needs_rld = true;
                r.problems.push(interpreter_missing(
                    &shown,
                    &interp,
                    system,
                    settings.ld_so().is_some(),
                ));
            } else if !exists {
                loading.through_rld = Some(through_rld(&shown, &interp, system));
                r.problems.push(format!(
                    "{interp} does not exist: the kernel cannot start {shown}'s ELF interpreter, which is what the shell's \"cannot execute: required file not found\" means; rld is installed only at the standard {std}, so: run it with `rld run {shown}`, or point it there with `patchelf --set-interpreter {std} {shown}`",
                    std = system.interpreter
                ));
            } else if is == Some("ld.so") && opts.assume_rld {
                r.notes.push(format!(
                    "{interp} is a real ld.so, not rld; libraries are resolved as `rld run` would (--rld)"
                ));
            } else if is == Some("ld.so") {
                r.notes.push(format!(
                    "{interp} is a real ld.so, not rld: NIX_LD* is not read; pass --rld to see what `rld run` would do"
                ));
                loading.under_rld = false;
                loading.through_rld = Some(through_rld(&shown, &interp, system));
                loading.own_ld_so = Some((interp.clone(), settings.ld_so().is_some()));
                loading.ld_so = LdSo {
                    path: Some(path.to_path_buf()),
                    source: ITS_PT_INTERP.into(),
                };
                loading
                    .library_path
                    .retain(|(_, label)| *label == "LD_LIBRARY_PATH");
            }
            r.interpreter = Some(Interpreter {
                path: interp,
                exists,
                is,
            });
        }
    }
    if loading.under_rld {
        loading.ld_so_fix = settings.no_ld_so_fix();
        for dir in &settings.missing_library_dirs {
            let gc = if dir.starts_with("/nix/store") {
                " (a garbage-collected store path?)"
            } else {
                ""
            };
            r.notes.push(format!(
                "{} in the library path (from {}) does not exist{gc}",
                dir.display(),
                settings.library_path_source,
            ));
        }
        r.settings = Some(settings);
    }
    r.resolved_as = Some(if loading.under_rld {
        "rld"
    } else {
        "interpreter"
    });
    loading
}

/// Resolves the libraries and symbol versions; records what is missing in
/// `r`, each with the packages that provide it.
fn resolve_libraries(
    r: &mut Report,
    program: &Path,
    facts: &ElfFacts,
    system: &System,
    loading: Loading,
    opts: Options,
) {
    // glibc's default directory is its own lib/: the chosen ld.so's.
    let default_dirs = loading
        .ld_so
        .path
        .as_ref()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .into_iter()
        .collect();
    let search = SearchPath {
        library_path: loading.library_path,
        default_dirs,
        ld_so: loading.ld_so.path.clone(),
    };
    r.ld_so = Some(loading.ld_so);
    let mut res = search::resolve(program, facts, system, &search);
    if let Some(m) = &res.mismatched_libc {
        r.notes.push(m.clone());
    }
    if let Some(ld_so_fix) = &loading.ld_so_fix {
        // glibc's own libraries come with the ld.so, from its directory:
        // with none, they are not missing from the library list, and
        // adding glibc there would not start the program.
        for lib in res.libraries.iter_mut() {
            if lib.path.is_none() && nixpkgs::comes_with_glibc(&lib.soname) {
                lib.found_via = UNRESOLVED.into();
                r.unresolved.push(lib.soname.clone());
            }
        }
        let glibc = if r.unresolved.is_empty() {
            String::new()
        } else {
            format!(
                "; until one is, glibc's own libraries ({}) cannot be resolved, and adding glibc to the library list would not help: they come with the ld.so",
                r.unresolved.join(", ")
            )
        };
        let tried = r
            .settings
            .as_ref()
            .map(|s| s.tried("; "))
            .unwrap_or_default();
        r.problems.push(format!(
            "rld has no usable ld.so for {}: {tried}{glibc}; fix: {}",
            system.nix, ld_so_fix.text
        ));
    }
    if loading.ld_so_fix.is_none()
        && let Some(ld_so) = &r.ld_so
        && let Some(path) = &ld_so.path
    {
        // A usable ld.so whose directory lacks one of glibc's own
        // libraries: adding glibc to the library list would load libc from
        // one glibc beside the ld.so of another, which crashes.
        for lib in res.libraries.iter_mut() {
            if lib.path.is_none() && nixpkgs::comes_with_glibc(&lib.soname) {
                lib.found_via = FROM_GLIBC.into();
                r.missing_from_glibc.push(lib.soname.clone());
            }
        }
        if !r.missing_from_glibc.is_empty() {
            r.problems.push(incomplete_glibc(
                &r.missing_from_glibc,
                path,
                &ld_so.source,
                &r.program,
                system,
            ));
        }
    }
    for lib in res
        .missing()
        .filter(|l| l.found_via != UNRESOLVED && l.found_via != FROM_GLIBC)
    {
        r.missing.push(Missing {
            soname: lib.soname.clone(),
            needed_by: lib.needed_by.clone(),
            also_fail: vec![],
            providers: nixpkgs::providers(&lib.soname, opts.locate),
        });
    }
    if !r.missing.is_empty() {
        let names: Vec<&str> = r.missing.iter().map(|m| m.soname.as_str()).collect();
        let are = if names.len() == 1 {
            "library is"
        } else {
            "libraries are"
        };
        r.problems.push(format!(
            "{} {are} missing: {}",
            names.len(),
            names.join(", ")
        ));
    }
    for v in &res.missing_versions {
        let what = if v.version.starts_with("GLIBC_") {
            "glibc: point NIX_LD at its ld.so"
        } else {
            "library"
        };
        r.problems.push(format!(
            "{} needs version {} of {}, but {} provides only up to {}; fix: use a newer {what} (a newer nixpkgs), or a build of the program for an older one",
            v.required_by,
            v.version,
            v.library,
            v.library_path.display(),
            v.newest.as_deref().unwrap_or("older versions"),
        ));
    }
    r.libraries = res.libraries;
    r.skipped = res.skipped;
    r.missing_versions = res.missing_versions;
}

/// The source of the ld.so of a program started by its own (non-rld)
/// interpreter.
const ITS_PT_INTERP: &str = "its PT_INTERP";

/// How a library of glibc's own is reported when it is missing from a usable
/// ld.so's directory.
const FROM_GLIBC: &str = "comes with glibc: missing from the ld.so's directory";

/// How a library that comes with glibc is reported when no ld.so is usable.
const UNRESOLVED: &str = "comes with the ld.so's glibc: unresolved until an ld.so is configured";

/// The snippets to paste: enabling rld when its interpreter is missing (or
/// when that is what gives it an ld.so), and the missing libraries.
pub fn fix(
    missing: &[Missing],
    system: &System,
    needs_rld: bool,
    ld_so_fix: Option<&LdSoFix>,
    through_rld: Option<&str>,
    ld_library_path_reaches: bool,
    library_variable: Option<&str>,
) -> Fix {
    let mut attributes: Vec<String> = Vec::new();
    let mut unknown = Vec::new();
    for m in missing {
        let first = m.providers.iter().find_map(|p| match p {
            Provider::Attribute { attribute, .. } => Some(attribute.clone()),
            Provider::Note { .. } => None,
        });
        match first {
            Some(a) if !attributes.contains(&a) => attributes.push(a),
            Some(_) => {}
            None if m.providers.is_empty() => unknown.push(m.soname.clone()),
            None => {}
        }
    }
    let pkgs = system.pkgs();
    let list = if attributes.is_empty() {
        String::new()
    } else {
        format!("{} ", attributes.join(" "))
    };
    // 32-bit programs on x86_64 get their libraries from `libraries32`, an
    // emulated system's from `emulated.<system>.libraries`.
    let option = system.libraries_option();
    let mut nixos = String::new();
    if needs_rld || ld_so_fix.is_some_and(|f| f.enable_rld) {
        for setting in system.enable_rld_lines() {
            nixos.push_str(&setting);
            nixos.push('\n');
        }
    }
    if !attributes.is_empty() && system.runs_here() {
        // Setting `libraries` replaces its default list, so the snippet
        // adds to the default rather than dropping it.
        nixos.push_str(&format!(
            "programs.rld.{option} = options.programs.rld.{option}.default ++ (with {pkgs}; [ {list}]);\n"
        ));
    } else if !attributes.is_empty() {
        // An emulated system's default list lives in a submodule, out of
        // the snippet's reach: say that setting it replaces the default.
        nixos.push_str(&format!(
            "programs.rld.{option} = with {pkgs}; [ {list}]; # replaces its default list (that of programs.rld.libraries): add the ones still needed\n"
        ));
    }
    if let Some(var) = library_variable.filter(|_| !attributes.is_empty()) {
        // The loader takes the first library path it finds: the variable's
        // hides rld's directory, whatever the option puts there.
        nixos.push_str(&format!(
            "# {var}, set here, replaces rld's library path: where it is set, the line above does not reach programs; add the libraries to it instead (as the dev shell below does)\n"
        ));
    }
    // A dev shell sets variables, which choose the ld.so and add
    // libraries; they are read only by rld-loader at the interpreter path.
    let mut dev_shell = String::new();
    if !attributes.is_empty() || ld_so_fix.is_some() {
        let nix_ld = system.dev_shell_nix_ld_var();
        dev_shell =
            format!("pkgs.mkShell {{\n  {nix_ld} = {pkgs}.stdenv.cc.bintools.dynamicLinker;\n");
        if !attributes.is_empty() {
            let var = nix_ld.replacen("NIX_LD", "NIX_LD_LIBRARY_PATH", 1);
            dev_shell.push_str(&format!(
                "  {var} = pkgs.lib.makeLibraryPath (with {pkgs}; [ {list}]);\n"
            ));
        }
        dev_shell.push_str("}\n");
    }
    // A real ld.so reads LD_LIBRARY_PATH (before its RUNPATH).
    let ld_library_path = if ld_library_path_reaches && !attributes.is_empty() {
        format!(
            "pkgs.mkShell {{\n  LD_LIBRARY_PATH = pkgs.lib.makeLibraryPath (with {pkgs}; [ {list}]);\n}}\n"
        )
    } else {
        String::new()
    };
    let applies_when = through_rld
        .filter(|_| !nixos.is_empty() || !dev_shell.is_empty())
        .map(str::to_owned);
    let dev_shell_requires = (needs_rld && !dev_shell.is_empty()).then(|| {
        format!(
            "rld is installed at {} ({} in configuration.nix)",
            system.interpreter,
            system.enable_rld()
        )
    });
    Fix {
        attributes,
        unknown,
        nixos,
        dev_shell,
        dev_shell_requires,
        applies_when,
        ld_library_path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The snippet for an emulated system's program: the option that
    /// installs its loader, its own library option and package set.
    #[test]
    fn an_emulated_programs_snippet_names_its_own_options() {
        let aarch64 = System::by_name("aarch64-linux").unwrap();
        if aarch64.runs_here() {
            return;
        }
        let zlib = Missing {
            soname: "libz.so.1".into(),
            needed_by: vec!["./cmake".into()],
            also_fail: vec![],
            providers: nixpkgs::providers("libz.so.1", false),
        };
        let f = fix(&[zlib], aarch64, true, None, None, false, None);
        let set = "(import pkgs.path { localSystem.system = \"aarch64-linux\"; })";
        assert_eq!(
            f.nixos,
            format!(
                "programs.rld.enable = true;\n\
                 programs.rld.emulatedSystems = [ \"aarch64-linux\" ]; # its default: the systems of boot.binfmt.emulatedSystems\n\
                 programs.rld.emulated.\"aarch64-linux\".libraries = with {set}; [ zlib ]; # replaces its default list (that of programs.rld.libraries): add the ones still needed\n"
            )
        );
        assert!(
            f.dev_shell.contains(&format!(
                "NIX_LD_aarch64_linux = {set}.stdenv.cc.bintools.dynamicLinker;"
            )),
            "{}",
            f.dev_shell
        );
        assert!(!f.nixos.contains("options.programs.rld.libraries"));
    }

    #[test]
    fn a_nix_built_program_is_told_to_rebuild_or_patch_its_runpath() {
        let host = System::host();
        let nix = "/nix/store/aaaa-glibc-2.40/lib/ld-linux-x86-64.so.2";
        let p = not_reached_by_rld("./app", &(nix.into(), true), host);
        assert!(p.starts_with(&format!("{nix} is a real ld.so, not rld, so programs.rld.libraries and NIX_LD_LIBRARY_PATH do not reach ./app")), "{p}");
        assert!(p.contains("fix: it looks Nix-built or patched with patchelf (its interpreter is in /nix/store): rebuild it with the libraries' packages in buildInputs (autoPatchelfHook adds them to its RUNPATH), or `patchelf --add-rpath DIR ./app`"), "{p}");
        assert!(
            p.ends_with("or run it through rld's configuration with `rld run ./app`"),
            "{p}"
        );
        assert!(
            through_rld("./app", nix, host).starts_with(&format!(
                "it is run through rld (`rld run ./app`, or after `patchelf --set-interpreter {} ./app`",
                host.interpreter
            ))
        );
    }
}
