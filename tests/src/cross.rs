//! The other architectures: their rld-loader builds, Debian's cross
//! toolchains and glibcs (`/usr/<triple>/lib`), and qemu-user to run what
//! this machine cannot. `scripts/build-arches.sh` installs all of it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::{Default, Outcome, TempDir, compile, outcome, shared_dir};

/// An architecture rld serves besides the host's.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arch {
    I686,
    Aarch64,
    Riscv64,
}

pub const ALL: [Arch; 3] = [Arch::I686, Arch::Aarch64, Arch::Riscv64];

impl Arch {
    /// Rust target triple the loader is built for.
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::I686 => "i686-unknown-linux-gnu",
            Arch::Aarch64 => "aarch64-unknown-linux-gnu",
            Arch::Riscv64 => "riscv64gc-unknown-linux-gnu",
        }
    }

    /// Debian's triple: `<triple>-gcc`, `/usr/<triple>/lib`.
    pub fn gnu_triple(self) -> &'static str {
        match self {
            Arch::I686 => "i686-linux-gnu",
            Arch::Aarch64 => "aarch64-linux-gnu",
            Arch::Riscv64 => "riscv64-linux-gnu",
        }
    }

    /// The `{system}` of `NIX_LD_{system}`.
    pub fn system(self) -> &'static str {
        match self {
            Arch::I686 => "i686_linux",
            Arch::Aarch64 => "aarch64_linux",
            Arch::Riscv64 => "riscv64_linux",
        }
    }

    /// The interpreter path programs of this arch name.
    pub fn interp_name(self) -> &'static str {
        match self {
            Arch::I686 => "ld-linux.so.2",
            Arch::Aarch64 => "ld-linux-aarch64.so.1",
            Arch::Riscv64 => "ld-linux-riscv64-lp64d.so.1",
        }
    }

    /// Debian's glibc for this arch.
    pub fn libdir(self) -> PathBuf {
        Path::new("/usr").join(self.gnu_triple()).join("lib")
    }

    pub fn ld_so(self) -> PathBuf {
        self.libdir().join(self.interp_name())
    }

    /// The emulator to run a program of this arch, if the host cannot.
    pub fn qemu(self) -> Option<&'static str> {
        match self {
            Arch::I686 => None,
            Arch::Aarch64 => Some("/usr/bin/qemu-aarch64-static"),
            Arch::Riscv64 => Some("/usr/bin/qemu-riscv64-static"),
        }
    }

    /// The binfmt_misc registration that hands this arch's programs to its
    /// qemu-user (None where the host runs them), with binfmt_misc `flags`
    /// (`F` fix binary, `P` preserve argv[0], …). Magic and mask are
    /// qemu's (scripts/qemu-binfmt-conf.sh), which NixOS's binfmt module
    /// uses too: an ELF64 little-endian executable or shared object with
    /// this `e_machine`.
    pub fn binfmt_misc(self, flags: &str) -> Option<String> {
        let machine = match self {
            Arch::I686 => return None,
            Arch::Aarch64 => r"\xb7\x00",
            Arch::Riscv64 => r"\xf3\x00",
        };
        let magic =
            format!(r"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00{machine}");
        let mask =
            r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff";
        Some(format!(
            ":qemu-{}:M::{magic}:{mask}:{}:{flags}",
            self.name(),
            self.qemu()?
        ))
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::I686 => "i686",
            Arch::Aarch64 => "aarch64",
            Arch::Riscv64 => "riscv64",
        }
    }

    /// This arch's loader with the given default, built once per process.
    /// The present default holds `ld.so` and this arch's glibc libraries,
    /// as the NixOS module lays them out.
    pub fn loader(self, default: Default) -> &'static crate::Loader {
        static CELLS: [[OnceLock<crate::Loader>; 2]; 3] = [
            [OnceLock::new(), OnceLock::new()],
            [OnceLock::new(), OnceLock::new()],
            [OnceLock::new(), OnceLock::new()],
        ];
        let i = ALL.iter().position(|&a| a == self).unwrap();
        let j = (default == Default::Present) as usize;
        CELLS[i][j].get_or_init(|| {
            let name = format!(
                "{}-{}",
                self.name(),
                if j == 1 { "present" } else { "missing" }
            );
            let prefix = shared_dir().join(format!("prefix-{name}"));
            if default == Default::Present {
                self.populate_default(&prefix);
            }
            let path = crate::build(Some(self.rust_target()), &name, &prefix);
            crate::Loader { path, prefix }
        })
    }

    fn populate_default(self, prefix: &Path) {
        let lib = prefix.join("lib");
        fs::create_dir_all(&lib).unwrap();
        for d in [prefix, &lib] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut links = vec![(self.ld_so(), lib.join("ld.so"))];
        for entry in fs::read_dir(self.libdir()).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name().to_string_lossy().contains(".so") {
                links.push((entry.path(), lib.join(entry.file_name())));
            }
        }
        for (from, to) in links {
            match std::os::unix::fs::symlink(&from, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => panic!("linking {from:?}: {e}"),
            }
        }
    }

    /// Compiles fixtures for this arch whose interpreter is `interp`.
    pub fn program(
        self,
        sources: &[&str],
        dir: &TempDir,
        out: &str,
        interp: &Path,
        args: &[&str],
    ) -> PathBuf {
        let cxx = sources.iter().any(|s| s.ends_with(".cpp"));
        let compiler = format!("{}-{}", self.gnu_triple(), if cxx { "g++" } else { "gcc" });
        let linker = format!("-Wl,--dynamic-linker={}", interp.display());
        let mut all = vec![linker.as_str(), "-O1"];
        all.extend_from_slice(args);
        compile(&compiler, sources, &dir.join(out), &all)
    }

    /// A shared library for this arch.
    pub fn library(self, source: &str, out: &Path) -> PathBuf {
        compile(
            &format!("{}-gcc", self.gnu_triple()),
            &[source],
            out,
            &["-shared", "-fPIC"],
        )
    }

    /// Runs `program` (of this arch) with exactly `env`, under qemu if needed.
    pub fn run(self, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut cmd = match self.qemu() {
            Some(q) => {
                let mut c = Command::new(q);
                c.arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args).env_clear();
        for (k, v) in env {
            cmd.env(k, v);
        }
        outcome(cmd)
    }
}
