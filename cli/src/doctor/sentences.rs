//! The sentences of `rld doctor`'s problems: what is wrong, in the words
//! the shell and ld.so use, and a fix that works as things stand.

use std::path::Path;

use crate::binfmt::Handler;
use crate::inspect;
use crate::system::System;

use super::ITS_PT_INTERP;

/// The one sentence behind the shell's `required file not found`, for a
/// program of the host's system with a usable ld.so.
pub fn required_file_not_found(program: &str, interpreter: &str) -> String {
    interpreter_missing(program, interpreter, System::host(), true)
}

/// [`required_file_not_found`] for a program of `system`; `rld run` is
/// offered only when it would find an ld.so.
pub(super) fn interpreter_missing(
    program: &str,
    interpreter: &str,
    system: &System,
    ld_so_usable: bool,
) -> String {
    let now = run_now(program, ld_so_usable);
    format!(
        "{interpreter} does not exist: the kernel cannot start {program}'s ELF interpreter, which is what the shell's \"cannot execute: required file not found\" means; fix: set {} in configuration.nix ({now})",
        system.enable_rld()
    )
}

/// The note on a program of `system` that binfmt_misc's handler `h`
/// starts under emulation.
pub(super) fn emulated_by(system: &System, h: &Handler) -> String {
    let opened = if h.fixed() {
        " (opened when the handler was registered, flag F)"
    } else {
        ""
    };
    format!(
        "the kernel runs it under emulation: binfmt_misc's handler {} hands it to {}{opened}; it is examined as a program of {}",
        h.name,
        h.interpreter.display(),
        system.nix
    )
}

/// What `rld run` offers until rld is installed: the program now, if rld
/// has a usable ld.so.
fn run_now(program: &str, ld_so_usable: bool) -> String {
    if ld_so_usable {
        format!("or run it now with `rld run {program}`")
    } else {
        format!("`rld run {program}` would need a usable ld.so too")
    }
}

/// The problem of a program whose interpreter is NixOS's stub-ld: it runs,
/// but only to print "NixOS cannot run dynamically linked executables" and
/// exit 127. Enabling rld replaces it (rld sets `environment.ldso`).
pub(super) fn stub_ld(
    program: &str,
    interpreter: &str,
    system: &System,
    ld_so_usable: bool,
) -> String {
    let now = run_now(program, ld_so_usable);
    format!(
        "{interpreter} is NixOS's stub-ld, which only prints \"NixOS cannot run dynamically linked executables\" and exits 127: nothing there reads NIX_LD or loads libraries; fix: set {} in configuration.nix, which puts rld there instead ({now})",
        system.enable_rld()
    )
}

/// The problem of a program without execute permission, which the shell
/// reports as "Permission denied".
pub(super) fn not_executable(shown: &str, or: &str) -> String {
    format!(
        "{shown} is not executable (no x permission), so the shell fails with \"Permission denied\" (exit 126); fix: `chmod +x {shown}`{or}"
    )
}

/// When rld's snippets reach the program `shown`, whose interpreter
/// `interp` is not rld: only when it is run through rld.
pub(super) fn through_rld(shown: &str, interp: &str, system: &System) -> String {
    if interp == system.interpreter {
        // The standard path holds a real ld.so: patchelf would change nothing.
        return format!("it is run through rld (`rld run {shown}`)");
    }
    let std = Path::new(system.interpreter);
    let installed = if std.exists() && inspect::shim_name(std).is_some() {
        String::new()
    } else {
        format!(" once {} installs rld there", system.enable_rld())
    };
    format!(
        "it is run through rld (`rld run {shown}`, or after `patchelf --set-interpreter {} {shown}`{installed})",
        system.interpreter
    )
}

/// The problem of a program started by its own ld.so, `own.0`, with
/// libraries missing: what reaches that ld.so, and what does not.
pub(super) fn not_reached_by_rld(shown: &str, own: &(String, bool), system: &System) -> String {
    let (interp, rld_usable) = (own.0.as_str(), own.1);
    let runpath = if interp.starts_with("/nix/store/") {
        format!(
            "it looks Nix-built or patched with patchelf (its interpreter is in /nix/store): rebuild it with the libraries' packages in buildInputs (autoPatchelfHook adds them to its RUNPATH), or `patchelf --add-rpath DIR {shown}` with each package's lib directory"
        )
    } else if interp == system.interpreter {
        format!(
            "an ld.so at the standard path that is not rld is the system's own (another distribution, or a NixOS whose environment.ldso is a glibc ld.so): install the libraries where it looks (its own directory, or the system's package manager), or `patchelf --add-rpath DIR {shown}` with a directory holding them"
        )
    } else {
        format!("give it a RUNPATH that holds them: `patchelf --add-rpath DIR {shown}`")
    };
    let rld_run = if rld_usable {
        format!("`rld run {shown}`")
    } else {
        format!("`rld run {shown}` once rld has a usable ld.so (see `rld doctor --rld {shown}`)")
    };
    format!(
        "{interp} is a real ld.so, not rld, so programs.rld.{} and NIX_LD_LIBRARY_PATH do not reach {shown}: its ld.so searches its RUNPATH, LD_LIBRARY_PATH and its own directory; fix: {runpath}; for a one-off, set LD_LIBRARY_PATH to the libraries' directories; or run it through rld's configuration with {rld_run}",
        system.libraries_option()
    )
}

/// The problem of glibc's own `libraries`, missing from the directory of
/// `ld_so` (chosen from `source`), and the fix: another ld.so.
pub(super) fn incomplete_glibc(
    libraries: &[String],
    ld_so: &Path,
    source: &str,
    program: &str,
    system: &System,
) -> String {
    let dir = std::fs::canonicalize(ld_so)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let (comes, lack) = if libraries.len() == 1 {
        ("comes", "lacks it")
    } else {
        ("come", "lacks them")
    };
    let dev_shell = format!(
        "{} = {}.stdenv.cc.bintools.dynamicLinker;",
        system.dev_shell_nix_ld_var(),
        system.pkgs()
    );
    let fix = if source == ITS_PT_INTERP {
        format!(
            "run it with a complete glibc's ld.so: `rld run {program}` (rld's configured one), or `patchelf --set-interpreter` it to one"
        )
    } else if source == "rld's default" {
        format!(
            "point {} at a complete glibc's ld.so (in a dev shell: {dev_shell}), and check the glibc rld's default ld.so comes from",
            system.dev_shell_nix_ld_var()
        )
    } else {
        format!("point {source} at a complete glibc's ld.so (in a dev shell: {dev_shell})")
    };
    format!(
        "{} {comes} with glibc, but the ld.so's own directory {} {lack}: the glibc of {} (from {source}) is incomplete, or it is not a glibc ld.so; adding glibc to the library list would not help (libc from one glibc beside the ld.so of another crashes); fix: {fix}",
        libraries.join(", "),
        dir.display(),
        ld_so.display(),
    )
}
