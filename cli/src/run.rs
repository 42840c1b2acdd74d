//! `rld run`: run a program through the configured ld.so, the way
//! rld-loader does when it is run directly: exec the real ld.so with
//! `--library-path`, so nothing in the environment changes.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::binfmt;
use crate::elfread;
use crate::error::{Error, io_words};
use crate::inspect::{self, FileKind};
use crate::settings::{Env, Settings};

/// Replaces this process with the program; returns only on failure.
pub fn run(program: &OsStr, args: &[OsString], env: &Env) -> Error {
    // As a shell would: a name without a slash is looked up in PATH.
    let Some(path) = inspect::find_program(Path::new(program), env.get_os("PATH").as_deref())
    else {
        return Error::CannotStart(format!(
            "cannot run {}: command not found in PATH",
            program.to_string_lossy()
        ));
    };
    let program = path.as_os_str();
    let path = path.as_path();
    let shown = path.display();
    let facts = match elfread::inspect(path) {
        FileKind::Elf(facts) if facts.interpreter.is_some() => facts,
        FileKind::Unreadable(e) => {
            return Error::CannotStart(format!("cannot run {shown}: {}", io_words(&e)));
        }
        FileKind::Elf(_) | FileKind::Script(_) => {
            // Static, or a script: nothing for ld.so to do.
            log::info!("{shown} needs no ld.so; executing it as it is");
            let e = Command::new(path).args(args).exec();
            return Error::CannotStart(format!("cannot run {shown}: {}", io_words(&e)));
        }
        FileKind::NotProgram { what } => {
            return Error::CannotStart(format!("cannot run {shown}: it is {what}"));
        }
        FileKind::NotRegular(what) => {
            return Error::CannotStart(format!("cannot run {shown}: it is {what}"));
        }
        FileKind::BadElf(e) => return Error::CannotStart(format!("cannot run {shown}: {e}")),
    };
    let system = match facts.system() {
        Some(system) if system.runs_here() => system,
        known => {
            // Under emulation the kernel runs that system's ld.so as it
            // runs the program: through binfmt_misc.
            let emulation = binfmt::emulation(Path::new(binfmt::DIR), path);
            match (known, emulation.handler()) {
                (Some(system), Some(_)) => system,
                _ => {
                    return Error::CannotStart(format!(
                        "cannot run {shown}: {}",
                        facts.foreign_problem(&emulation)
                    ));
                }
            }
        }
    };
    let settings = Settings::resolve(env, system);
    let Some(ld_so) = settings.ld_so() else {
        let fix = settings
            .no_ld_so_fix()
            .expect("no ld.so is usable, so there is a fix");
        return Error::CannotStart(format!(
            "cannot run {shown}: no usable ld.so: {}\nrld: fix: {}",
            settings.tried("; then "),
            fix.text
        ));
    };
    for c in &settings.candidates {
        if let Some(p) = c
            .problem
            .as_deref()
            .filter(|_| c.falls_through && !c.path.as_os_str().is_empty())
            && !p.starts_with("not tried")
        {
            log::warn!(
                "skipping ld.so {} (from {}): {p}; using {}",
                c.path.display(),
                c.source,
                ld_so.path.display()
            );
        }
    }
    let library_path: Vec<&str> = settings
        .user_library_path
        .as_deref()
        .into_iter()
        .chain([settings.library_path.as_str()])
        .collect();
    let library_path = library_path.join(":");
    log::debug!(
        "exec {} --library-path {library_path} {shown} (ld.so from {}, library path from {})",
        ld_so.path.display(),
        ld_so.source,
        settings.library_path_source
    );
    // ld.so takes the program path from its own argv; a name starting with
    // `-` would be read as an option, so make it a path.
    let program: OsString = if program.as_bytes().starts_with(b"-") {
        Path::new(".").join(program).into_os_string()
    } else {
        program.to_owned()
    };
    let e = Command::new(&ld_so.path)
        .arg("--library-path")
        .arg(&library_path)
        .arg(&program)
        .args(args)
        .exec();
    Error::CannotStart(format!(
        "cannot run {shown}: executing ld.so {} (from {}) failed: {}",
        ld_so.path.display(),
        ld_so.source,
        io_words(&e)
    ))
}
