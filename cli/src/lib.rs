//! rld: the command-line tool beside rld-loader.
//!
//! `rld doctor` says why a downloaded binary will or will not run on NixOS
//! and which packages to add; `rld env` shows what rld-loader would use now;
//! `rld run` runs a program through the configured ld.so without anything at
//! `/lib64`; `rld ldconfig -p` lists the libraries it provides as glibc's
//! `ldconfig -p` does. The decisions it shares with the loader (which `ld.so`, which
//! library path) come from rld-shim.

#![deny(unsafe_code)]

// The modules in layers, bottom first: a module imports only from the
// layers before its own (a test below checks it), and this file, the
// dispatcher, sits on top of them all.

// Errors, the systems rld knows, and rld-loader's note.
pub mod error;
pub mod loader;
pub mod system;

// Which emulator the kernel's binfmt_misc hands a foreign program to.
pub mod binfmt;

// Reading a file, the loader's configuration, the package table; the
// fused interpreter.
pub mod fuse;
pub mod inspect;
pub mod nixpkgs;
pub mod settings;

// Reading only the parts of an ELF file the answers rest on.
pub mod elfread;

// The library search.
pub mod search;

// `rld doctor`'s answer: its types, verdict and exit codes.
pub mod report;

// The commands' work, and printing their answers.
pub mod dlopen;
pub mod doctor;
pub mod ldconfig;
pub mod render;
pub mod run;

// `rld doctor` on several paths and whole trees, over the single-file answer.
pub mod tree;

// The command line and logging.
pub mod args;
pub mod logging;

use std::ffi::OsString;
use std::io::{self, Write};

use args::{Command, Parsed};
pub use error::Error;
use settings::{Env, LoaderDefaults, Settings};
use system::System;

/// Runs rld with `args` (without `argv[0]`); returns the exit status.
pub fn run(args: Vec<OsString>) -> Result<i32, Error> {
    let cli = match args::parse(args)? {
        Parsed::Run(cli) => cli,
        Parsed::Print(text) => {
            out(&text)?;
            return Ok(0);
        }
    };
    let env = Env::from_process();
    logging::init(&env, cli.verbosity());
    match cli.command {
        Command::Doctor(a) => {
            let opts = tree::Options {
                doctor: doctor::Options {
                    assume_rld: a.assume_rld,
                    locate: !a.no_locate,
                },
                hints: !a.no_hints,
            };
            let answer = tree::doctor(&a.paths, &env, opts);
            log::debug!("verdict for {}: {}", answer.subject(), answer.verdict());
            out(&if a.json { answer.json() } else { answer.text() })?;
            Ok(answer.verdict().exit_code())
        }
        Command::Env(a) => {
            let (system, defaults) = match &a.loader {
                None => {
                    let system = a.system.unwrap_or_else(System::host);
                    (system, LoaderDefaults::find(system, None))
                }
                Some(path) => modelled_loader(path, a.system)?,
            };
            let settings = Settings::resolve_with(&env, system, defaults);
            if a.json {
                out(&(to_json(&settings) + "\n"))?;
            } else {
                out(&render::env(&settings))?;
            }
            Ok(if settings.ld_so().is_some() { 0 } else { 1 })
        }
        Command::Run(a) => Err(run::run(a.program(), a.args(), &env)),
        Command::Ldconfig(ref a) => {
            if a.print_cache {
                out(&ldconfig::print_cache(&env))?;
            } else if cli.verbosity() >= 0 {
                eprintln!("rld: {}", ldconfig::NOTHING_TO_REBUILD);
            }
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut args::command(), "rld", &mut script);
            out(&String::from_utf8_lossy(&script))?;
            Ok(0)
        }
        Command::ConfigureLoader(c) => {
            configure_loader(&c.loader, &c.ld_so, &c.library_path, &c.output)?;
            Ok(0)
        }
        Command::Fuse(c) => fuse(&c.loader, &c.ld_so, &c.library_path, &c.output),
        Command::Man { command } => {
            let mut cmd = args::command();
            cmd.build();
            let page = match command {
                // Pages exist for the commands a user reads about; clap's
                // `help` and `man` itself would be pages nobody installs.
                None => cmd
                    .mut_subcommand("help", |c| c.hide(true))
                    .mut_subcommand("man", |c| c.hide(true)),
                Some(name) => cmd
                    .find_subcommand(&name)
                    .expect("the parser admits only existing commands")
                    .clone(),
            };
            let mut roff = Vec::new();
            clap_mangen::Man::new(page)
                .render(&mut roff)
                .map_err(Error::Output)?;
            out(&String::from_utf8_lossy(&roff))?;
            Ok(0)
        }
    }
}

/// `rld env --loader PATH`: the system the rld-loader at `path` serves
/// (which must be `system` when that is given) and its defaults.
fn modelled_loader(
    path: &std::path::Path,
    system: Option<&'static System>,
) -> Result<(&'static System, LoaderDefaults), Error> {
    let not_rld = |why: String| Error::Usage(format!("--loader {}: {why}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| not_rld(error::io_words(&e)))?;
    if loader::note(&bytes) == loader::Note::Absent {
        return Err(not_rld("not rld-loader (it has no rld note)".into()));
    }
    let own = goblin::elf::Elf::parse_header(&bytes)
        .ok()
        .and_then(|h| {
            let is_64 = h.e_ident[goblin::elf::header::EI_CLASS] == goblin::elf::header::ELFCLASS64;
            System::of_elf(is_64, h.e_machine)
        })
        .ok_or_else(|| not_rld("rld-loader for a system rld does not know".into()))?;
    if let Some(asked) = system.filter(|s| *s != own) {
        return Err(not_rld(format!(
            "it is rld-loader for {}, not {}",
            own.nix, asked.nix
        )));
    }
    Ok((own, LoaderDefaults::find(own, Some(path))))
}

/// `rld configure-loader`.
fn configure_loader(
    loader: &std::path::Path,
    ld_so: &std::path::Path,
    library_path: &std::ffi::OsStr,
    output: &std::path::Path,
) -> Result<(), Error> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let bytes = std::fs::read(loader)
        .map_err(|e| Error::Usage(format!("{}: {}", loader.display(), error::io_words(&e))))?;
    let configured = loader::configure(
        &bytes,
        ld_so.as_os_str().as_bytes(),
        library_path.as_bytes(),
    )
    .map_err(|why| Error::Usage(format!("{}: {why}", loader.display())))?;
    let written = std::fs::write(output, configured)
        .and_then(|()| std::fs::set_permissions(output, std::fs::Permissions::from_mode(0o755)));
    written.map_err(|e| Error::Usage(format!("{}: {}", output.display(), error::io_words(&e))))
}

/// `rld fuse`: 0 written, 1 the ld.so cannot be embedded (its message on
/// stderr), or an [`Error`].
fn fuse(
    loader: &std::path::Path,
    ld_so: &std::path::Path,
    library_path: &std::ffi::OsStr,
    output: &std::path::Path,
) -> Result<i32, Error> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let read = |path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|e| Error::Usage(format!("{}: {}", path.display(), error::io_words(&e))))
    };
    let (loader_bytes, ld_so_bytes) = (read(loader)?, read(ld_so)?);
    let fused = match fuse::fuse(
        &loader_bytes,
        ld_so.as_os_str().as_bytes(),
        &ld_so_bytes,
        library_path.as_bytes(),
    ) {
        Ok(fused) => fused,
        Err(fuse::FuseError::Loader(why)) => {
            return Err(Error::Usage(format!("{}: {why}", loader.display())));
        }
        Err(fuse::FuseError::LdSo(why)) => {
            eprintln!("rld: cannot embed {}: {why}", ld_so.display());
            return Ok(1);
        }
    };
    let written = std::fs::write(output, fused)
        .and_then(|()| std::fs::set_permissions(output, std::fs::Permissions::from_mode(0o755)));
    written.map_err(|e| Error::Usage(format!("{}: {}", output.display(), error::io_words(&e))))?;
    Ok(0)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("reports serialise: no maps with non-string keys")
}

/// Writes to stdout; a closed pipe (`rld doctor x | head`) is not an error.
fn out(s: &str) -> Result<(), Error> {
    match io::stdout().lock().write_all(s.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Output(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    /// Every `crate::module` a source file names outside comments is in an
    /// earlier layer than its own (layers as in the `pub mod` groups at the
    /// top of this file). Doc links may point anywhere.
    #[test]
    fn imports_point_down() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let lib = std::fs::read_to_string(format!("{dir}/lib.rs")).unwrap();
        let header = &lib[..lib.find("use std::").unwrap()];
        let mut layer_of = Vec::new();
        let mut layer = 0;
        for line in header.lines() {
            if line.trim().is_empty() {
                layer += 1;
            } else if let Some(m) = line.strip_prefix("pub mod ") {
                layer_of.push((m.trim_end_matches(';').to_owned(), layer));
            }
        }
        assert!(layer_of.len() > 10, "{layer_of:?}");
        for (module, own) in &layer_of {
            let src: String = std::fs::read_to_string(format!("{dir}/{module}.rs"))
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for (other, theirs) in &layer_of {
                let named = src.contains(&format!("crate::{other}::"))
                    || src.contains(&format!("crate::{other};"))
                    || src.contains(&format!("crate::{other}}}"))
                    || src.contains(&format!("crate::{other})"))
                    || src.contains(&format!("crate::{other},"));
                if named && other != module {
                    assert!(
                        theirs < own,
                        "{module} (layer {own}) imports {other} (layer {theirs})"
                    );
                }
            }
        }
    }
}
