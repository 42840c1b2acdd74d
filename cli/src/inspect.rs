//! What a file is, read from its bytes with goblin: never by running it.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use goblin::elf::Elf;
use goblin::elf::dynamic::{DF_1_NODEFLIB, DF_1_PIE};
use goblin::elf::header::{ELFCLASS32, ELFCLASS64, ET_DYN, ET_EXEC};
use serde::Serialize;

use crate::binfmt::{Emulation, Handler};
use crate::system::{System, machine_name};

/// What kind of file a program is.
#[derive(Debug)]
pub enum FileKind {
    /// It does not exist or cannot be read.
    Unreadable(std::io::Error),
    /// A directory, FIFO, device or socket.
    NotRegular(&'static str),
    /// A `#!` script.
    Script(Script),
    /// Not ELF and not a script: text, an archive, anything.
    NotProgram {
        what: &'static str,
    },
    /// An ELF file goblin could not parse.
    BadElf(String),
    Elf(Box<ElfFacts>),
}

#[derive(Debug, Serialize)]
pub struct Script {
    /// The `#!` line, without `#!`.
    pub shebang: String,
    pub interpreter: PathBuf,
    pub interpreter_exists: bool,
}

/// The ELF fields rld's answers rest on.
#[derive(Debug, Clone, Serialize)]
pub struct ElfFacts {
    pub class: u8,
    pub machine: String,
    #[serde(skip)]
    pub machine_number: u16,
    /// `x86_64_linux` etc., or `None` for a machine rld does not serve.
    pub system: Option<&'static str>,
    /// `executable`, `pie-executable`, `static-pie-executable`,
    /// `shared-object`, `object`, `core`.
    pub kind: &'static str,
    pub interpreter: Option<String>,
    /// No interpreter and no `DT_NEEDED`: the kernel runs it as it is.
    pub is_static: bool,
    pub is_musl: bool,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    /// `DF_1_NODEFLIB`: the default directories are not searched for it.
    pub nodeflib: bool,
    /// Versions it needs: (file, version, weak).
    #[serde(skip)]
    pub version_needs: Vec<(String, String, bool)>,
    /// Versions it defines (`GLIBC_2.38`, …).
    #[serde(skip)]
    pub version_defs: Vec<String>,
}

impl ElfFacts {
    pub fn system(&self) -> Option<&'static System> {
        System::of_elf(self.class == 64, self.machine_number)
    }

    /// Why a program of a system this machine does not run natively cannot
    /// run here, given what binfmt_misc does with it, and the fix. (When an
    /// enabled handler starts a program of a system rld knows, `rld doctor`
    /// examines it instead; this sentence covers that case only for the
    /// callers that cannot.)
    pub fn foreign_problem(&self, emulation: &Emulation) -> String {
        let built = format!(
            "it is built for {}-bit {}, and this machine's kernel runs {} programs natively",
            self.class,
            self.machine,
            System::native_here()
        );
        let handler = |h: &Handler| {
            format!(
                "binfmt_misc's handler {} hands it to {}",
                h.name,
                h.interpreter.display()
            )
        };
        let Some(system) = self.system() else {
            return match emulation {
                Emulation::By(h) => format!(
                    "{built}; {}, but rld does not know this architecture: it installs no loader for it and cannot examine its interpreter and libraries, so whether it starts is unknown to rld",
                    handler(h)
                ),
                _ => format!(
                    "{built}; rld does not know this architecture, and no enabled binfmt_misc handler runs it here"
                ),
            };
        };
        let nix = system.nix;
        match emulation {
            Emulation::By(h) if !h.fixed() && !h.interpreter.exists() => format!(
                "{built}; {}, which does not exist here, so the kernel fails to start it with \"No such file or directory\"; fix: install that emulator there, or register the handler with flag F, which opens the emulator once, when registering (on NixOS: boot.binfmt.registrations.{}.fixBinary = true;)",
                handler(h),
                h.name
            ),
            Emulation::By(h) => format!("{built}; {}", handler(h)),
            Emulation::HandlerDisabled(h) => format!(
                "{built}; {}, but that handler is disabled; fix: enable it as root with `echo 1 > {}/{}`",
                handler(h).replacen("hands", "would hand", 1),
                crate::binfmt::DIR,
                h.name
            ),
            Emulation::AllDisabled => format!(
                "{built}; binfmt_misc, which would hand it to an emulator, is disabled as a whole; fix: enable it as root with `echo 1 > {}/status`",
                crate::binfmt::DIR
            ),
            Emulation::NoHandler | Emulation::Unknown(_) => {
                // Unread, the handlers may still be there (a container
                // without binfmt_misc mounted still has its host's): say so.
                let (state, fix) = match emulation {
                    Emulation::Unknown(why) => (
                        format!("; rld cannot tell whether it is set up ({why})"),
                        "if it is not, fix",
                    ),
                    _ => (
                        ", which is not set up (no binfmt_misc handler matches it)".to_owned(),
                        "fix",
                    ),
                };
                let interpreter = match &self.interpreter {
                    Some(i) if i == system.interpreter => format!(
                        "; with programs.rld.enable = true; that also installs rld at {i} for {nix} programs (programs.rld.emulatedSystems follows boot.binfmt.emulatedSystems unless it is set: then add \"{nix}\" to it too)"
                    ),
                    Some(i) => format!("; its interpreter {i} must exist too"),
                    None => String::new(),
                };
                format!(
                    "{built}, and {nix} programs run here only under emulation{state}; {fix}: set boot.binfmt.emulatedSystems = [ \"{nix}\" ]; in configuration.nix{interpreter}"
                )
            }
        }
    }
}

/// Whether the current user may execute `path` (access(2) with `X_OK`).
pub fn is_executable(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

/// The file a shell would execute for `program`: `program` itself when it
/// has a slash; otherwise the first executable regular file of that name in
/// the directories of `path` (the value of `PATH`; unset means glibc's
/// `/bin:/usr/bin`, an empty entry the current directory), or, when none is
/// executable, the first one that exists, which the shell would fail to run
/// with "Permission denied". `None`: no such file in `PATH`.
pub fn find_program(program: &Path, path: Option<&OsStr>) -> Option<PathBuf> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Some(program.to_path_buf());
    }
    let path = path.unwrap_or(OsStr::new("/bin:/usr/bin"));
    let mut not_executable = None;
    for dir in path.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(program);
        if !candidate.is_file() {
            continue;
        }
        if is_executable(&candidate) {
            return Some(candidate);
        }
        not_executable.get_or_insert(candidate);
    }
    not_executable
}

/// How many bytes of a file [`classify`] needs: the `#!` line (the
/// kernel reads at most 256 bytes of it) and enough to tell text from data.
pub const HEAD: usize = 4096;

/// The first [`HEAD`] bytes of the regular file `path` (all of a shorter
/// one), for [`classify`]; `Err` says what it is when it cannot be read or
/// is no regular file. An ELF file is parsed from bounded reads
/// ([`elfread::inspect`](crate::elfread::inspect)), never read whole.
pub fn read_head(path: &Path) -> Result<Vec<u8>, FileKind> {
    let meta = fs::metadata(path).map_err(FileKind::Unreadable)?;
    let ft = meta.file_type();
    if !ft.is_file() {
        use std::os::unix::fs::FileTypeExt;
        let what = if ft.is_dir() {
            "a directory"
        } else if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Err(FileKind::NotRegular(what));
    }
    let mut head = Vec::with_capacity(HEAD);
    fs::File::open(path)
        .and_then(|f| f.take(HEAD as u64).read_to_end(&mut head))
        .map_err(FileKind::Unreadable)?;
    Ok(head)
}

/// Classifies a file's contents, or its first [`HEAD`] bytes when it is
/// not ELF.
pub fn classify(bytes: &[u8]) -> FileKind {
    if bytes.starts_with(b"\x7fELF") {
        return match parse_elf(bytes) {
            Ok(facts) => FileKind::Elf(Box::new(facts)),
            Err(e) => FileKind::BadElf(e),
        };
    }
    if let Some(rest) = bytes.strip_prefix(b"#!") {
        let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line).trim().to_owned();
        // The kernel splits the line into the interpreter and one argument.
        let interpreter = PathBuf::from(line.split([' ', '\t']).next().unwrap_or_default());
        let interpreter_exists = !interpreter.as_os_str().is_empty() && interpreter.exists();
        return FileKind::Script(Script {
            shebang: line,
            interpreter,
            interpreter_exists,
        });
    }
    let what = if bytes.is_empty() {
        "an empty file"
    } else if bytes.starts_with(b"PK\x03\x04") {
        "a zip archive"
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        "a gzip archive"
    } else if bytes.starts_with(b"MZ") {
        "a Windows program"
    } else if bytes.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])
        || bytes.starts_with(&[0xca, 0xfe, 0xba, 0xbe])
    {
        "a macOS (Mach-O) program"
    } else if std::str::from_utf8(&bytes[..bytes.len().min(4096)]).is_ok() {
        "a text file without a #! line"
    } else {
        "not an ELF file or a script"
    };
    FileKind::NotProgram { what }
}

/// Reads only the ELF identity of a file: class and machine. Used for the
/// many library candidates, which need no more.
pub fn elf_identity(path: &Path) -> std::io::Result<Option<(bool, u16)>> {
    let mut head = [0u8; 64];
    let mut f = fs::File::open(path)?;
    let mut got = 0;
    while got < head.len() {
        let n = f.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    match Elf::parse_header(&head[..got]) {
        Ok(h) => Ok(Some((
            h.e_ident[goblin::elf::header::EI_CLASS] == ELFCLASS64,
            h.e_machine,
        ))),
        Err(_) => Ok(None),
    }
}

pub fn parse_elf(bytes: &[u8]) -> Result<ElfFacts, String> {
    let elf = Elf::parse(bytes).map_err(|e| format!("goblin could not parse it: {e}"))?;
    facts_of(&elf)
}

/// The facts of a parsed ELF file. It reads only the header, the program
/// headers, the interpreter, the dynamic section with its string table and
/// the symbol-version sections, so an [`Elf`] filled with just those (as
/// [`elfread`](crate::elfread) does from bounded reads) gives the same answer.
pub fn facts_of(elf: &Elf<'_>) -> Result<ElfFacts, String> {
    let class = match elf.header.e_ident[goblin::elf::header::EI_CLASS] {
        ELFCLASS32 => 32,
        ELFCLASS64 => 64,
        c => return Err(format!("unknown ELF class {c}")),
    };
    let flags_1 = elf.dynamic.as_ref().map_or(0, |d| d.info.flags_1);
    let interpreter = elf.interpreter.map(str::to_owned);
    let needed: Vec<String> = elf.libraries.iter().map(|s| s.to_string()).collect();
    let kind = match elf.header.e_type {
        ET_EXEC => "executable",
        ET_DYN if interpreter.is_some() => "pie-executable",
        ET_DYN if flags_1 & DF_1_PIE != 0 => "static-pie-executable",
        ET_DYN => "shared-object",
        goblin::elf::header::ET_REL => "object",
        goblin::elf::header::ET_CORE => "core",
        _ => "unknown",
    };
    let is_static = interpreter.is_none() && needed.is_empty() && kind.ends_with("executable");
    let is_musl = interpreter
        .as_deref()
        .is_some_and(|i| i.contains("ld-musl"))
        || needed
            .iter()
            .any(|n| n == "libc.so" || n.starts_with("libc.musl-"));
    let split = |v: &[&str]| -> Vec<String> {
        v.iter()
            .flat_map(|s| s.split(':'))
            .map(str::to_owned)
            .collect()
    };
    let mut version_needs = Vec::new();
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            let file = elf.dynstrtab.get_at(need.vn_file).unwrap_or("?").to_owned();
            for aux in need.iter() {
                let name = elf.dynstrtab.get_at(aux.vna_name).unwrap_or("?").to_owned();
                let weak = aux.vna_flags & goblin::elf::symver::VER_FLG_WEAK != 0;
                version_needs.push((file.clone(), name, weak));
            }
        }
    }
    let mut version_defs = Vec::new();
    if let Some(verdef) = &elf.verdef {
        for def in verdef.iter() {
            // The first aux entry is the version's own name; the rest
            // are its parents.
            if let Some(aux) = def.iter().next()
                && let Some(name) = elf.dynstrtab.get_at(aux.vda_name)
            {
                version_defs.push(name.to_owned());
            }
        }
    }
    let machine_number = elf.header.e_machine;
    Ok(ElfFacts {
        class,
        machine: machine_name(machine_number),
        machine_number,
        system: System::of_elf(class == 64, machine_number).map(|s| s.name),
        kind,
        interpreter,
        is_static,
        is_musl,
        soname: elf.soname.map(str::to_owned),
        needed,
        rpath: split(&elf.rpaths),
        runpath: split(&elf.runpaths),
        nodeflib: flags_1 & DF_1_NODEFLIB != 0,
        version_needs,
        version_defs,
    })
}

/// Whether a file is rld-loader or nix-ld: a shim that reads `NIX_LD`,
/// rather than a real ld.so.
pub fn shim_name(path: &Path) -> Option<&'static str> {
    let meta = fs::metadata(path).ok()?;
    // Shims are small; a real ld.so is a few hundred KiB. Bound the read.
    if meta.len() > 8 << 20 {
        return None;
    }
    let bytes = fs::read(path).ok()?;
    shim_kind(&bytes)
}

/// What NixOS installs at the interpreter paths when neither rld nor
/// nix-ld is enabled (`environment.stub-ld`, on by default): a static
/// program that only says it cannot run the program, and exits 127.
pub const STUB_LD: &str = "NixOS's stub-ld";

/// See [`shim_name`]. rld-loader carries an ELF note (owner `rld`, type
/// [`rld_shim::elf::RLD_NOTE_TYPE`]) on every architecture; nix-ld is known
/// by naming `NIX_LD_LIBRARY_PATH`, which glibc's ld.so does not; NixOS's
/// stub-ld by the message it prints.
pub fn shim_kind(bytes: &[u8]) -> Option<&'static str> {
    if has_rld_note(bytes) {
        return Some("rld-loader");
    }
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if has(b"NixOS cannot run dynamically linked executables") {
        return Some(STUB_LD);
    }
    has(b"NIX_LD_LIBRARY_PATH").then_some("nix-ld")
}

fn has_rld_note(bytes: &[u8]) -> bool {
    crate::loader::note(bytes) != crate::loader::Note::Absent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_text_and_empty_files() {
        match classify(b"#!/definitely/not/here -x\necho\n") {
            FileKind::Script(s) => {
                assert_eq!(s.shebang, "/definitely/not/here -x");
                assert_eq!(s.interpreter, Path::new("/definitely/not/here"));
                assert!(!s.interpreter_exists);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(b"hello\n"),
            FileKind::NotProgram {
                what: "a text file without a #! line"
            }
        ));
        assert!(matches!(
            classify(b""),
            FileKind::NotProgram {
                what: "an empty file"
            }
        ));
    }

    #[test]
    fn shims_are_told_from_a_real_ld_so() {
        let real = fs::read("/lib64/ld-linux-x86-64.so.2").unwrap();
        assert_eq!(shim_kind(&real), None);
        assert_eq!(
            shim_kind(b"..NIX_LD_LIBRARY_PATH..rld: cannot run.."),
            Some("nix-ld")
        );
        assert_eq!(
            shim_kind(b"..NIX_LD_LIBRARY_PATH..[nix-ld] FATAL.."),
            Some("nix-ld")
        );
        assert_eq!(
            shim_kind(b"..NixOS cannot run dynamically linked executables intended for generic.."),
            Some(STUB_LD)
        );
    }

    #[test]
    fn truncated_elf_is_an_error_not_a_panic() {
        let real = fs::read("/proc/self/exe").unwrap();
        for len in [4, 20, 63, 64, 200, 4096] {
            let _ = classify(&real[..len.min(real.len())]);
        }
        assert!(matches!(classify(&real[..20]), FileKind::BadElf(_)));
    }

    #[test]
    fn this_test_binary_is_a_dynamic_host_program() {
        let facts = parse_elf(&fs::read("/proc/self/exe").unwrap()).unwrap();
        assert_eq!(facts.system(), Some(System::host()));
        assert!(facts.interpreter.is_some());
        assert!(facts.needed.iter().any(|n| n == "libc.so.6"));
        assert!(!facts.is_static && !facts.is_musl);
        assert!(
            facts
                .version_needs
                .iter()
                .any(|(f, v, _)| f == "libc.so.6" && v.starts_with("GLIBC_2."))
        );
    }
}
