//! The Nix systems rld knows: which ELF class and machine each one is, the
//! interpreter path its programs name, and the `{system}` suffix of its
//! `NIX_LD_{system}` variables.
//!
//! rld-shim's configuration is compiled for the host only (`NIX_LD_x86_64_linux`
//! on x86_64). A 32-bit program on an x86_64 machine is started by the i686
//! build of rld-loader, which reads `NIX_LD_i686_linux`; `rld doctor` has to
//! answer for that loader, so the mapping from a binary to its system lives
//! here, in the tool.

use goblin::elf::header::{EM_386, EM_AARCH64, EM_RISCV, EM_X86_64};

/// One system rld (and nix-ld) serves.
#[derive(Debug, PartialEq, Eq)]
pub struct System {
    /// The `{system}` suffix: `x86_64_linux`.
    pub name: &'static str,
    /// Nix's spelling: `x86_64-linux`.
    pub nix: &'static str,
    pub is_64: bool,
    pub machine: u16,
    /// Where glibc programs for this system expect their `ld.so`.
    pub interpreter: &'static str,
    /// What glibc's ld.so substitutes for `$PLATFORM`.
    pub platform: &'static str,
    /// The nixpkgs package set that builds for this system from the host
    /// (`pkgs` itself for the host).
    pub pkgs: &'static str,
}

pub const SYSTEMS: [System; 4] = [
    System {
        name: "x86_64_linux",
        nix: "x86_64-linux",
        is_64: true,
        machine: EM_X86_64,
        interpreter: "/lib64/ld-linux-x86-64.so.2",
        platform: "x86_64",
        pkgs: "pkgs",
    },
    System {
        name: "i686_linux",
        nix: "i686-linux",
        is_64: false,
        machine: EM_386,
        interpreter: "/lib/ld-linux.so.2",
        platform: "i686",
        pkgs: "pkgs.pkgsi686Linux",
    },
    System {
        name: "aarch64_linux",
        nix: "aarch64-linux",
        is_64: true,
        machine: EM_AARCH64,
        interpreter: "/lib/ld-linux-aarch64.so.1",
        platform: "aarch64",
        pkgs: "pkgs",
    },
    System {
        name: "riscv64_linux",
        nix: "riscv64-linux",
        is_64: true,
        machine: EM_RISCV,
        interpreter: "/lib/ld-linux-riscv64-lp64d.so.1",
        platform: "riscv64",
        pkgs: "pkgs",
    },
];

impl System {
    /// The system of an ELF file with this class and machine.
    pub fn of_elf(is_64: bool, machine: u16) -> Option<&'static System> {
        SYSTEMS
            .iter()
            .find(|s| s.is_64 == is_64 && s.machine == machine)
    }

    /// The system by its `{system}` suffix or Nix name.
    pub fn by_name(name: &str) -> Option<&'static System> {
        SYSTEMS.iter().find(|s| s.name == name || s.nix == name)
    }

    /// The system this build of rld (and rld-shim) serves.
    pub fn host() -> &'static System {
        Self::by_name(rld_shim::SYSTEM).expect("rld-shim's SYSTEM is in SYSTEMS")
    }

    /// Whether this machine's kernel runs programs of this system natively.
    pub fn runs_here(&self) -> bool {
        let host = Self::host();
        self == host || (host.machine == EM_X86_64 && self.machine == EM_386)
    }

    /// The nixpkgs package set to name packages from, as seen from the host.
    pub fn pkgs(&self) -> &'static str {
        if self == Self::host() {
            "pkgs"
        } else {
            self.pkgs
        }
    }

    /// The systems whose programs this machine's kernel runs, in Nix's
    /// spelling: `x86_64-linux and i686-linux`.
    pub fn native_here() -> String {
        let names: Vec<&str> = SYSTEMS
            .iter()
            .filter(|s| s.runs_here())
            .map(|s| s.nix)
            .collect();
        names.join(" and ")
    }

    /// The NixOS settings that install rld-loader at this system's
    /// interpreter path: 32-bit x86 programs need the i686 loader as well.
    pub fn enable_rld(&self) -> &'static str {
        if self.machine == EM_386 {
            "programs.rld.enable = true; and programs.rld.enable32Bit = true;"
        } else {
            "programs.rld.enable = true;"
        }
    }

    /// The variable a dev shell sets to choose this system's ld.so: plain
    /// `NIX_LD` for the host, `NIX_LD_i686_linux` for 32-bit programs on
    /// x86_64 (so one shell can serve both).
    pub fn dev_shell_nix_ld_var(&self) -> String {
        if self == Self::host() {
            "NIX_LD".into()
        } else {
            self.nix_ld_var()
        }
    }

    pub fn nix_ld_var(&self) -> String {
        format!("NIX_LD_{}", self.name)
    }

    pub fn nix_ld_library_path_var(&self) -> String {
        format!("NIX_LD_LIBRARY_PATH_{}", self.name)
    }
}

/// A human name for an ELF machine number, including ones rld does not serve.
pub fn machine_name(machine: u16) -> String {
    match machine {
        EM_386 => "i386".into(),
        EM_X86_64 => "x86_64".into(),
        EM_AARCH64 => "aarch64".into(),
        EM_RISCV => "riscv".into(),
        m => {
            let name = rld_shim::elf::machine_name(m);
            if name == b"an unknown machine" {
                format!("machine {m}")
            } else {
                String::from_utf8_lossy(name).into_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_matches_rld_shim() {
        let host = System::host();
        assert_eq!(host.name, rld_shim::SYSTEM);
        assert_eq!(host.machine, rld_shim::ELF_MACHINE);
        assert_eq!(host.nix_ld_var(), rld_shim::config::NIX_LD_SYSTEM);
        assert_eq!(
            host.nix_ld_library_path_var(),
            rld_shim::config::NIX_LD_LIBRARY_PATH_SYSTEM
        );
    }

    #[test]
    fn systems_by_elf_identity() {
        assert_eq!(System::of_elf(false, EM_386).unwrap().name, "i686_linux");
        assert_eq!(
            System::of_elf(true, EM_AARCH64).unwrap().name,
            "aarch64_linux"
        );
        assert!(System::of_elf(false, EM_X86_64).is_none());
        assert_eq!(System::by_name("i686-linux").unwrap().name, "i686_linux");
    }

    #[test]
    fn x86_64_runs_i686_but_not_aarch64() {
        if System::host().machine == EM_X86_64 {
            assert!(System::by_name("i686_linux").unwrap().runs_here());
            assert!(!System::by_name("aarch64_linux").unwrap().runs_here());
        }
    }
}
