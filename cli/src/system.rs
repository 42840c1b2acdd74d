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
    /// The nixpkgs package set of this system on a host that runs its
    /// programs natively without being it (i686 on x86_64); see
    /// [`System::pkgs`] for the others.
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

    /// The nixpkgs package set to name packages from, as seen from the host:
    /// `pkgs` itself for the host, `pkgs.pkgsi686Linux` for i686 on x86_64,
    /// and for an emulated system its own package set as the NixOS module
    /// imports it (built natively by Hydra, so in the binary cache; a
    /// `pkgsCross` set would be built from source).
    pub fn pkgs(&self) -> String {
        if self == Self::host() {
            "pkgs".into()
        } else if self.runs_here() {
            self.pkgs.into()
        } else {
            format!(
                "(import pkgs.path {{ localSystem.system = \"{}\"; }})",
                self.nix
            )
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
    /// interpreter path, each a line of `configuration.nix`: 32-bit x86
    /// programs on x86_64 need `enable32Bit`, a system run under emulation
    /// its place in `emulatedSystems` (whose default, the systems of
    /// `boot.binfmt.emulatedSystems`, a setting replaces: hence the comment).
    pub fn enable_rld_lines(&self) -> Vec<String> {
        let mut lines = vec!["programs.rld.enable = true;".to_owned()];
        if self != Self::host() && self.runs_here() {
            lines.push("programs.rld.enable32Bit = true;".into());
        } else if !self.runs_here() {
            lines.push(format!(
                "programs.rld.emulatedSystems = [ \"{}\" ]; # its default: the systems of boot.binfmt.emulatedSystems",
                self.nix
            ));
        }
        lines
    }

    /// [`System::enable_rld_lines`] in a sentence.
    pub fn enable_rld(&self) -> String {
        let lines = self.enable_rld_lines();
        let settings: Vec<&str> = lines
            .iter()
            .map(|l| l.split(" #").next().unwrap_or(l))
            .collect();
        let mut text = settings.join(" and ");
        if !self.runs_here() {
            text.push_str(" (by default the systems of boot.binfmt.emulatedSystems)");
        }
        text
    }

    /// The module option that lists this system's libraries, after
    /// `programs.rld.`.
    pub fn libraries_option(&self) -> String {
        if self.runs_here() && self.is_64 {
            "libraries".into()
        } else if self.runs_here() {
            "libraries32".into()
        } else {
            format!("emulated.\"{}\".libraries", self.nix)
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

    /// Each system's fix names the option that installs its loader and
    /// its own package set: the host's, enable32Bit, emulatedSystems.
    #[test]
    fn each_system_names_its_own_option_and_package_set() {
        if System::host().machine != EM_X86_64 {
            return;
        }
        let by = |n| System::by_name(n).unwrap();
        let host = by("x86_64-linux");
        assert_eq!(host.enable_rld_lines(), ["programs.rld.enable = true;"]);
        assert_eq!(host.libraries_option(), "libraries");
        assert_eq!(host.pkgs(), "pkgs");
        let i686 = by("i686-linux");
        assert_eq!(
            i686.enable_rld(),
            "programs.rld.enable = true; and programs.rld.enable32Bit = true;"
        );
        assert_eq!(i686.libraries_option(), "libraries32");
        assert_eq!(i686.pkgs(), "pkgs.pkgsi686Linux");
        for name in ["aarch64-linux", "riscv64-linux"] {
            let s = by(name);
            assert_eq!(
                s.enable_rld_lines()[1],
                format!(
                    "programs.rld.emulatedSystems = [ \"{name}\" ]; # its default: the systems of boot.binfmt.emulatedSystems"
                )
            );
            assert_eq!(
                s.enable_rld(),
                format!(
                    "programs.rld.enable = true; and programs.rld.emulatedSystems = [ \"{name}\" ]; (by default the systems of boot.binfmt.emulatedSystems)"
                )
            );
            assert_eq!(
                s.libraries_option(),
                format!("emulated.\"{name}\".libraries")
            );
            assert_eq!(
                s.pkgs(),
                format!("(import pkgs.path {{ localSystem.system = \"{name}\"; }})")
            );
        }
    }

    #[test]
    fn x86_64_runs_i686_but_not_aarch64() {
        if System::host().machine == EM_X86_64 {
            assert!(System::by_name("i686_linux").unwrap().runs_here());
            assert!(!System::by_name("aarch64_linux").unwrap().runs_here());
        }
    }
}
