//! The glibc matrix: Debian's glibc of several suites (2.31 to the newest)
//! for x86_64, i686 and aarch64, downloaded and unpacked by
//! `scripts/fetch-glibc.sh` into a cache outside the checkout, and C and
//! C++ fixtures built against each cell's own glibc, so that a fixture runs
//! on that glibc and no newer one (one linked against this machine's 2.36
//! needs `GLIBC_2.34` symbols and cannot start on 2.31).

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::cross::Arch;
use crate::{Default, Outcome, TempDir, fixture, outcome, workspace};

/// One suite's glibc for one architecture.
#[derive(Debug)]
pub struct Cell {
    /// Debian's suite: `bullseye`, `bookworm`, `trixie`, `sid`.
    pub suite: String,
    /// Debian's architecture name: `amd64`, `i386`, `arm64`.
    pub deb_arch: String,
    /// glibc's version, as its `libc.so.6` states it (`2.31`).
    pub version: String,
    /// The unpacked packages (canonical: mapped paths are compared with it).
    pub dir: PathBuf,
    /// The architecture rld serves this cell's programs for; `None` is the
    /// host's (x86_64).
    pub arch: Option<Arch>,
}

/// Every cell, fetched once per process by `scripts/fetch-glibc.sh` (a
/// no-op once cached). A download that fails fails the test that needs it,
/// with the script's message: nothing is skipped.
pub fn cells() -> &'static [Cell] {
    static CELLS: OnceLock<Vec<Cell>> = OnceLock::new();
    CELLS.get_or_init(|| {
        let out = Command::new("bash")
            .arg(workspace().join("scripts/fetch-glibc.sh"))
            .output()
            .expect("running scripts/fetch-glibc.sh");
        assert!(
            out.status.success(),
            "scripts/fetch-glibc.sh failed; the glibc matrix needs its downloads:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cells: Vec<Cell> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| {
                let f: Vec<&str> = line.splitn(4, ' ').collect();
                assert_eq!(f.len(), 4, "fetch-glibc.sh printed {line:?}");
                let arch = match f[1] {
                    "amd64" => None,
                    "i386" => Some(Arch::I686),
                    "arm64" => Some(Arch::Aarch64),
                    other => panic!("fetch-glibc.sh: unknown architecture {other}"),
                };
                Cell {
                    suite: f[0].to_owned(),
                    deb_arch: f[1].to_owned(),
                    version: f[2].to_owned(),
                    dir: fs::canonicalize(f[3]).unwrap_or_else(|e| panic!("{}: {e}", f[3])),
                    arch,
                }
            })
            .collect();
        assert!(!cells.is_empty(), "fetch-glibc.sh reported no cell");
        cells
    })
}

impl Cell {
    /// `bullseye-amd64`: names the cell in messages and the matrix.
    pub fn name(&self) -> String {
        format!("{}-{}", self.suite, self.deb_arch)
    }

    /// rld's name for the architecture: `x86_64`, `i686`, `aarch64`.
    pub fn arch_name(&self) -> &'static str {
        self.arch.map_or("x86_64", Arch::name)
    }

    /// `(major, minor)` of glibc's version.
    pub fn version_number(&self) -> (u32, u32) {
        let mut parts = self.version.split('.').map(|p| p.parse::<u32>().unwrap());
        (parts.next().unwrap(), parts.next().unwrap_or(0))
    }

    /// Whether this glibc's ld.so has `--argv0` (2.33 and newer).
    pub fn has_argv0(&self) -> bool {
        self.version_number() >= (2, 33)
    }

    /// Debian's multiarch directory name: `x86_64-linux-gnu`.
    pub fn multiarch(&self) -> &'static str {
        match self.arch {
            None => "x86_64-linux-gnu",
            Some(Arch::I686) => "i386-linux-gnu",
            Some(Arch::Aarch64) => "aarch64-linux-gnu",
            Some(Arch::Riscv64) => "riscv64-linux-gnu",
        }
    }

    /// The compiler driver prefix: `x86_64-linux-gnu-gcc`, `i686-linux-gnu-g++`.
    fn compiler(&self, cxx: bool) -> String {
        let triple = self.arch.map_or("x86_64-linux-gnu", Arch::gnu_triple);
        format!("{triple}-{}", if cxx { "g++" } else { "gcc" })
    }

    /// The library directories, `lib/<multiarch>` then `usr/lib/<multiarch>`
    /// (one directory in merged-/usr suites).
    pub fn lib_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for d in ["lib", "usr/lib"] {
            if let Ok(p) = fs::canonicalize(self.dir.join(d).join(self.multiarch()))
                && !dirs.contains(&p)
            {
                dirs.push(p);
            }
        }
        assert!(!dirs.is_empty(), "{}: no library directory", self.name());
        dirs
    }

    /// The library directories joined with `:`, as `NIX_LD_LIBRARY_PATH`.
    pub fn library_path(&self) -> String {
        let dirs: Vec<String> = self
            .lib_dirs()
            .iter()
            .map(|d| d.to_str().unwrap().to_owned())
            .collect();
        dirs.join(":")
    }

    /// This glibc's ld.so, under the name programs use for it.
    pub fn ld_so(&self) -> PathBuf {
        let name = self.arch.map_or("ld-linux-x86-64.so.2", Arch::interp_name);
        self.lib_dirs()
            .iter()
            .map(|d| d.join(name))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{}: no {name}", self.name()))
    }

    /// The file a library name resolves to in this cell, for binding it
    /// elsewhere (a NixOS-like root's store).
    pub fn library(&self, soname: &str) -> PathBuf {
        self.lib_dirs()
            .iter()
            .map(|d| d.join(soname))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{}: no {soname}", self.name()))
    }

    /// `NIX_LD` for x86_64 and `NIX_LD_{system}` for the others, and the
    /// matching library path variable, pointing at this cell.
    pub fn nix_ld_env(&self) -> Vec<(String, String)> {
        let suffix = self
            .arch
            .map_or(String::new(), |a| format!("_{}", a.system()));
        vec![
            (
                format!("NIX_LD{suffix}"),
                self.ld_so().to_str().unwrap().to_owned(),
            ),
            (format!("NIX_LD_LIBRARY_PATH{suffix}"), self.library_path()),
        ]
    }

    /// rld-loader for this cell's architecture, its compiled-in default
    /// missing: only variables or a configuration can name an ld.so.
    pub fn loader(&self) -> &'static Path {
        match self.arch {
            None => &crate::loader(Default::Missing).path,
            Some(a) => &a.loader(Default::Missing).path,
        }
    }

    /// A copy of [`loader`](Self::loader) configured with this cell's ld.so
    /// and library path, written into `dir`.
    pub fn configured_loader(&self, dir: &TempDir) -> PathBuf {
        crate::configure_loader(
            self.loader(),
            self.ld_so().to_str().unwrap(),
            &self.library_path(),
            &dir.join("rld-loader-configured"),
        )
    }

    /// The qemu-user that runs this cell's programs, if the host cannot.
    pub fn qemu(&self) -> Option<&'static str> {
        self.arch.and_then(Arch::qemu)
    }

    /// Compiles `sources` (fixture names, or paths) into `dir`/`out` against
    /// this cell's glibc: its headers, start files, `libc.so` linker script
    /// and `libc_nonshared.a` (`--sysroot`, with `-B` and `-L` ahead of the
    /// compiler's own directories, which name this machine's glibc), and
    /// for C++ its `libstdc++.so.6` and `libgcc_s.so.1`. The C++ headers are
    /// the compiler's; linking against the cell's libstdc++ proves every
    /// symbol version they need exists there. The interpreter is `interp`.
    pub fn program(
        &self,
        sources: &[&str],
        dir: &TempDir,
        out: &str,
        interp: &Path,
        args: &[&str],
    ) -> PathBuf {
        let cxx = sources.iter().any(|s| s.ends_with(".cpp"));
        let compiler = self.compiler(cxx);
        let sysroot = &self.dir;
        let m = self.multiarch();
        let mut cmd = Command::new(&compiler);
        cmd.arg("-nostdinc");
        if cxx {
            for d in cxx_include_dirs(&compiler) {
                cmd.arg("-isystem").arg(d);
            }
        }
        cmd.arg("-isystem")
            .arg(compiler_include_dir(&compiler))
            .arg("-isystem")
            .arg(sysroot.join("usr/include").join(m))
            .arg("-isystem")
            .arg(sysroot.join("usr/include"))
            .arg(format!("--sysroot={}", sysroot.display()))
            .arg(format!("-B{}/", sysroot.join("usr/lib").join(m).display()));
        if cxx {
            // g++ finds libstdc++.so and libgcc_s.so (the names only -dev
            // packages provide) in its own directory, as this machine's.
            let links = dir.join(format!("cxx-libs-{}", self.name()));
            fs::create_dir_all(&links).unwrap();
            for (name, soname) in [
                ("libstdc++.so", "libstdc++.so.6"),
                ("libgcc_s.so", "libgcc_s.so.1"),
            ] {
                let link = links.join(name);
                let _ = fs::remove_file(&link);
                std::os::unix::fs::symlink(self.library(soname), &link).unwrap();
            }
            cmd.arg(format!("-L{}", links.display()));
        }
        for d in self.lib_dirs() {
            cmd.arg(format!("-L{}", d.display()));
        }
        if self.arch == Some(Arch::I686) {
            // sid's i386 Scrt1.o (assembled by a newer binutils) has
            // `push main@GOT(%ebx)` with an R_386_GOT32X relocation, which
            // this machine's ld 2.40 "relaxes" into `jmp main`: the program
            // jumps to address 1 before any ld.so or rld code is involved.
            // gold leaves the instruction alone.
            cmd.arg("-fuse-ld=gold");
        }
        for s in sources {
            let p = Path::new(s);
            cmd.arg(if p.is_absolute() {
                p.to_path_buf()
            } else {
                fixture(s)
            });
        }
        let out = dir.join(out);
        cmd.arg("-o")
            .arg(&out)
            .arg(format!("-Wl,--dynamic-linker={}", interp.display()))
            .arg("-O1")
            .args(args);
        let o = outcome(cmd);
        assert_eq!(
            o.code,
            Some(0),
            "{}: {compiler} {sources:?} against its glibc failed:\n{}",
            self.name(),
            o.stderr
        );
        out
    }

    /// A command that runs `program` (of this cell's arch) with `args` and
    /// exactly `env`, under qemu-user if needed, with argv[0] `arg0` when
    /// given (qemu's `-0`).
    pub fn command(
        &self,
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        arg0: Option<&str>,
    ) -> Command {
        let mut cmd = match self.qemu() {
            Some(q) => {
                let mut c = Command::new(q);
                if let Some(a) = arg0 {
                    c.args(["-0", a]);
                }
                c.arg(program);
                c
            }
            None => {
                let mut c = Command::new(program);
                if let Some(a) = arg0 {
                    c.arg0(a);
                }
                c
            }
        };
        cmd.args(args).env_clear();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(
        &self,
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        arg0: Option<&str>,
    ) -> Outcome {
        outcome(self.command(program, args, env, arg0))
    }
}

/// The compiler's own header directory (`stddef.h`, `stdarg.h`).
fn compiler_include_dir(compiler: &str) -> PathBuf {
    let out = Command::new(compiler)
        .arg("-print-file-name=include")
        .output()
        .unwrap_or_else(|e| panic!("running {compiler}: {e}"));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The compiler's C++ header directories, in its search order.
fn cxx_include_dirs(compiler: &str) -> Vec<PathBuf> {
    let out = Command::new(compiler)
        .args(["-xc++", "-E", "-v", "/dev/null", "-o", "/dev/null"])
        .output()
        .unwrap_or_else(|e| panic!("running {compiler}: {e}"));
    let text = String::from_utf8_lossy(&out.stderr);
    let dirs: Vec<PathBuf> = text
        .lines()
        .skip_while(|l| !l.starts_with("#include <...>"))
        .take_while(|l| !l.starts_with("End of search list"))
        .filter(|l| l.contains("/c++/"))
        .map(|l| PathBuf::from(l.trim()))
        .collect();
    assert!(
        !dirs.is_empty(),
        "{compiler}: no C++ header directory in:\n{text}"
    );
    dirs
}
