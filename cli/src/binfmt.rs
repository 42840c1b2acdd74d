//! The kernel's binfmt_misc handlers, read from `/proc/sys/fs/binfmt_misc`:
//! whether the kernel hands a program it cannot run natively to an
//! emulator (qemu-user), as NixOS's `boot.binfmt.emulatedSystems`
//! registers one per system.
//!
//! A handler's file reads, as the kernel writes it:
//!
//! ```text
//! enabled
//! interpreter /run/binfmt/aarch64-linux
//! flags: F
//! offset 0
//! magic 7f454c460201010000000000000000000200b700
//! mask ffffffffffffff00fffffffffffffffffeffffff
//! ```
//!
//! (`extension .exe` in place of the last three lines for a handler that
//! matches a file name). The kernel compares the magic, under the mask,
//! with the first bytes of the file, and skips disabled handlers.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::io_words;

/// Where binfmt_misc is mounted.
pub const DIR: &str = "/proc/sys/fs/binfmt_misc";

/// How many bytes of a file the kernel matches magic against
/// (`BINPRM_BUF_SIZE`).
const HEAD: usize = 256;

/// One registered handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handler {
    /// Its file's name under [`DIR`]: `qemu-aarch64`, `aarch64-linux`.
    pub name: String,
    pub enabled: bool,
    /// The emulator the kernel runs, with the program's path as an argument.
    pub interpreter: PathBuf,
    /// `P`, `O`, `C`, `F`, as the kernel lists them.
    pub flags: String,
    rule: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Magic {
        offset: usize,
        magic: Vec<u8>,
        mask: Option<Vec<u8>>,
    },
    Extension(String),
}

impl Handler {
    /// Parses a handler's file; `None` when it is not one (`status`, or
    /// text of a shape the kernel does not write).
    pub fn parse(name: &str, text: &str) -> Option<Handler> {
        let mut lines = text.lines();
        let enabled = match lines.next()? {
            "enabled" => true,
            "disabled" => false,
            _ => return None,
        };
        let (mut interpreter, mut flags) = (None, String::new());
        let (mut offset, mut magic, mut mask, mut extension) = (0, None, None, None);
        for line in lines {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "interpreter" => interpreter = Some(PathBuf::from(value)),
                "flags:" => flags = value.trim().to_owned(),
                "offset" => offset = value.parse().ok()?,
                "magic" => magic = Some(hex(value)?),
                "mask" => mask = Some(hex(value)?),
                "extension" => extension = Some(value.trim_start_matches('.').to_owned()),
                _ => {}
            }
        }
        let rule = match (magic, extension) {
            (Some(magic), None) => Rule::Magic {
                offset,
                magic,
                mask,
            },
            (None, Some(e)) => Rule::Extension(e),
            _ => return None,
        };
        Some(Handler {
            name: name.to_owned(),
            enabled,
            interpreter: interpreter?,
            flags,
            rule,
        })
    }

    /// Whether the kernel opened the interpreter when the handler was
    /// registered (flag `F`, "fix binary"): then it need not exist in this
    /// file system (a chroot, a container, a build sandbox).
    pub fn fixed(&self) -> bool {
        self.flags.contains('F')
    }

    /// Whether this handler's rule matches a file named `path` whose first
    /// bytes are `head`, as the kernel matches it (enabled or not).
    pub fn matches(&self, path: &Path, head: &[u8]) -> bool {
        match &self.rule {
            Rule::Extension(e) => path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.rsplit_once('.'))
                .is_some_and(|(_, ext)| ext == e),
            Rule::Magic {
                offset,
                magic,
                mask,
            } => {
                let Some(bytes) = head.get(*offset..offset + magic.len()) else {
                    return false;
                };
                bytes.iter().zip(magic).enumerate().all(|(i, (b, m))| {
                    let keep = mask
                        .as_ref()
                        .map_or(0xff, |mask| mask.get(i).copied().unwrap_or(0xff));
                    (b ^ m) & keep == 0
                })
            }
        }
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What binfmt_misc does with a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emulation {
    /// An enabled handler hands it to its interpreter.
    By(Handler),
    /// A handler matches it but is disabled.
    HandlerDisabled(Handler),
    /// binfmt_misc as a whole is disabled (its `status` file).
    AllDisabled,
    /// No handler matches it.
    NoHandler,
    /// binfmt_misc is not there to read (not mounted, or unreadable): the
    /// reason, in words.
    Unknown(String),
}

impl Emulation {
    /// The handler that starts the program: an enabled one whose emulator
    /// the kernel can open (opened at registration, or there now).
    pub fn handler(&self) -> Option<&Handler> {
        match self {
            Emulation::By(h) if h.fixed() || h.interpreter.exists() => Some(h),
            _ => None,
        }
    }
}

/// What binfmt_misc mounted at `dir` does with the program at `path`.
pub fn emulation(dir: &Path, path: &Path) -> Emulation {
    let mut head = Vec::with_capacity(HEAD);
    if let Err(e) = fs::File::open(path).and_then(|f| f.take(HEAD as u64).read_to_end(&mut head)) {
        return Emulation::Unknown(format!("cannot read {}: {}", path.display(), io_words(&e)));
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            return Emulation::Unknown(format!("cannot read {}: {}", dir.display(), io_words(&e)));
        }
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    // An unmounted mount point is an empty directory: the kernel has
    // binfmt_misc files `register` and `status` in every instance.
    if !names.iter().any(|n| n == "status") {
        return Emulation::Unknown(format!("binfmt_misc is not mounted at {}", dir.display()));
    }
    names.sort();
    let status = fs::read_to_string(dir.join("status")).unwrap_or_default();
    let handlers: Vec<Handler> = names
        .iter()
        .filter(|n| *n != "status" && *n != "register")
        .filter_map(|n| Handler::parse(n, &fs::read_to_string(dir.join(n)).ok()?))
        .filter(|h| h.matches(path, &head))
        .collect();
    if handlers.is_empty() {
        return Emulation::NoHandler;
    }
    if status.trim() == "disabled" {
        return Emulation::AllDisabled;
    }
    match handlers.iter().find(|h| h.enabled) {
        Some(h) => Emulation::By(h.clone()),
        None => Emulation::HandlerDisabled(handlers[0].clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the kernel printed NixOS's aarch64-linux registration (and
    /// qemu's own magic and mask) on Linux 6.18.
    const QEMU_AARCH64: &str = "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: F\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n";

    /// The first 20 bytes of an ELF64 little-endian file of `machine` and
    /// type `e_type`.
    fn elf_head(e_type: u16, machine: u16) -> Vec<u8> {
        let mut h = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        h.extend(e_type.to_le_bytes());
        h.extend(machine.to_le_bytes());
        h
    }

    #[test]
    fn a_handler_matches_as_the_kernel_does() {
        let h = Handler::parse("qemu-aarch64", QEMU_AARCH64).unwrap();
        assert!(h.enabled && h.fixed());
        assert_eq!(h.interpreter, Path::new("/usr/bin/qemu-aarch64-static"));
        let p = Path::new("/x/cmake");
        // Executables and shared objects (the mask drops the low bit of
        // e_type), of aarch64 only.
        assert!(h.matches(p, &elf_head(2, 183)));
        assert!(h.matches(p, &elf_head(3, 183)));
        assert!(!h.matches(p, &elf_head(3, 62)));
        assert!(!h.matches(p, &elf_head(1, 183)));
        // Too short to hold the magic.
        assert!(!h.matches(p, &elf_head(3, 183)[..10]));
        // The ABI byte (offset 7) is masked out: any OS/ABI matches.
        let mut gnu = elf_head(3, 183);
        gnu[7] = 3;
        assert!(h.matches(p, &gnu));
    }

    #[test]
    fn disabled_extension_and_malformed_handlers() {
        let off = QEMU_AARCH64.replacen("enabled", "disabled", 1);
        assert!(!Handler::parse("q", &off).unwrap().enabled);
        let exe = Handler::parse(
            "wine",
            "enabled\ninterpreter /usr/bin/wine\nflags: \nextension .exe\n",
        )
        .unwrap();
        assert!(exe.matches(Path::new("/a/setup.exe"), b"MZ"));
        assert!(!exe.matches(Path::new("/a/setup.exe.txt"), b"MZ"));
        assert!(!exe.fixed());
        assert_eq!(Handler::parse("status", "enabled\n"), None);
        assert_eq!(
            Handler::parse("x", "enabled\ninterpreter /q\nmagic 7f4\n"),
            None
        );
    }

    #[test]
    fn emulation_reads_a_directory_laid_out_as_binfmt_misc() {
        let dir = std::env::temp_dir().join(format!("rld-binfmt-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let program = dir.join("cmake");
        fs::write(&program, elf_head(3, 183)).unwrap();
        let handlers = dir.join("binfmt_misc");
        fs::create_dir(&handlers).unwrap();
        assert!(matches!(
            emulation(&handlers, &program),
            Emulation::Unknown(why) if why.contains("not mounted")
        ));
        fs::write(handlers.join("status"), "enabled\n").unwrap();
        fs::write(handlers.join("register"), "").unwrap();
        assert_eq!(emulation(&handlers, &program), Emulation::NoHandler);
        let off = QEMU_AARCH64.replacen("enabled", "disabled", 1);
        fs::write(handlers.join("qemu-aarch64"), &off).unwrap();
        assert!(matches!(
            emulation(&handlers, &program),
            Emulation::HandlerDisabled(h) if h.name == "qemu-aarch64"
        ));
        fs::write(handlers.join("qemu-aarch64"), QEMU_AARCH64).unwrap();
        assert!(matches!(
            emulation(&handlers, &program),
            Emulation::By(h) if h.name == "qemu-aarch64"
        ));
        fs::write(handlers.join("status"), "disabled\n").unwrap();
        assert_eq!(emulation(&handlers, &program), Emulation::AllDisabled);
        fs::remove_dir_all(&dir).unwrap();
    }
}
