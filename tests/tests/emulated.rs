//! `programs.rld.emulatedSystems` reproduced in the NixOS-like root: an
//! aarch64 and a riscv64 program, unpatched, started by the kernel's
//! binfmt_misc through qemu-user exactly as `boot.binfmt.emulatedSystems`
//! starts them (a registration in the root's own binfmt_misc instance), with
//! no variable at all. What they get comes only from what the module
//! installs: that system's rld-loader at its interpreter path, built with
//! the prefix `/run/current-system/sw/share/rld-<system>`, where that
//! system's glibc `ld.so` and libraries are linked as the module's
//! `buildEnv` links them. The glibcs are Debian's cross packages
//! (`scripts/build-arches.sh` installs them and qemu-user-static).

use std::fs;
use std::path::{Path, PathBuf};

use rld_tests::cross::Arch;
use rld_tests::root::{Builder, Root, StorePath, system_path};
use rld_tests::{Outcome, TempDir, assert_rld_error, build, outcome};

const NEEDS: &str = "/opt/emulated/needs";
const PROBE: &str = "/opt/emulated/probe";

/// Nix's name for the arch's system, e.g. `aarch64-linux`.
fn system(arch: Arch) -> String {
    format!("{}-linux", arch.name())
}

/// The compiled-in prefix the module gives this system's loader.
fn prefix(arch: Arch) -> String {
    format!("/run/current-system/sw/share/rld-{}", system(arch))
}

/// One arch's programs, libraries and loader, built on the host.
struct Emulated {
    arch: Arch,
    _dir: TempDir,
    needs: PathBuf,
    probe: PathBuf,
    plugins: Vec<PathBuf>,
    loader: PathBuf,
}

fn emulated(arch: Arch) -> Emulated {
    let dir = TempDir::new(&format!("emulated-{}", arch.name()));
    let interp = Path::new("/lib").join(arch.interp_name());
    let plugins: Vec<PathBuf> = ["libplugin.so", "libplugin2.so"]
        .iter()
        .map(|name| arch.library("plugin.c", &dir.join(name)))
        .collect();
    let l = format!("-L{}", dir.path().display());
    let needs = arch.program(
        &["needs.c"],
        &dir,
        "needs",
        &interp,
        &[&l, "-lplugin", "-ldl"],
    );
    let probe = arch.program(&["probe.c"], &dir, "probe", &interp, &[]);
    let loader = build(
        Some(arch.rust_target()),
        &format!("emulated-{}", arch.name()),
        Path::new(&prefix(arch)),
    );
    Emulated {
        arch,
        _dir: dir,
        needs,
        probe,
        plugins,
        loader,
    }
}

impl Emulated {
    /// A root with the programs at `/opt/emulated`, the loader in the store
    /// and linked at the interpreter path (as the module's tmpfiles rule
    /// links it), the arch's glibc and the plugins in store paths of their
    /// own, and the prefix in the system profile: `lib/ld.so` only when
    /// `with_ld_so`, and every library.
    fn root(&self, with_ld_so: bool) -> Builder {
        let arch = self.arch;
        let system = system(arch);
        let glibc = StorePath::new(&format!("glibc-{system}-2.36"));
        let plugin = StorePath::new(&format!("plugin-{system}"));
        let rld = StorePath::new(&format!("rld-{system}"));
        let dir = system_path().join(&format!("share/rld-{system}/lib"));
        let mut b = Builder::new()
            .file(NEEDS, &self.needs)
            .file(PROBE, &self.probe)
            .file(&rld.join("libexec/rld-loader"), &self.loader)
            .symlink(
                &format!("/lib/{}", arch.interp_name()),
                &rld.join("libexec/rld-loader"),
            );
        if with_ld_so {
            b = b.symlink(
                &format!("{dir}/ld.so"),
                &glibc.join(&format!("lib/{}", arch.interp_name())),
            );
        }
        for entry in fs::read_dir(arch.libdir()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if !name.contains(".so") || entry.path().is_dir() {
                continue;
            }
            let at = glibc.join(&format!("lib/{name}"));
            b = b
                .file(&at, &entry.path())
                .symlink(&format!("{dir}/{name}"), &at);
        }
        for p in &self.plugins {
            let name = p.file_name().unwrap().to_str().unwrap();
            let at = plugin.join(&format!("lib/{name}"));
            b = b.file(&at, p).symlink(&format!("{dir}/{name}"), &at);
        }
        b
    }

    /// The binfmt_misc registration NixOS makes for this arch, with `flags`.
    fn registration(&self, flags: &str) -> String {
        self.arch.binfmt_misc(flags).unwrap()
    }
}

/// Runs `program` in `root` as binfmt_misc starts it: an `exec` of the
/// foreign program itself, argv[0] `arg0`, and no environment at all.
fn exec(root: &Root, program: &str, arg0: &str) -> Outcome {
    use std::os::unix::process::CommandExt;
    let mut cmd = root.command(program, &["x"], &[]);
    cmd.arg0(arg0);
    outcome(cmd)
}

/// The registration NixOS makes with a static qemu and `fixBinary`: the
/// kernel opened qemu when the handler was registered, so the root (like a
/// build sandbox or a container) needs no qemu of its own. The programs find
/// their libraries in the prefix, and see an environment as empty as they
/// were given; without `P` (preserveArgvZero) argv[0] is the path.
#[test]
fn aarch64_and_riscv64_programs_start_through_binfmt_with_no_variables() {
    for arch in [Arch::Aarch64, Arch::Riscv64] {
        let e = emulated(arch);
        let root = e.root(true).binfmt_misc(&e.registration("F")).build();
        let what = arch.name();

        let o = exec(&root, NEEDS, "needs");
        assert_eq!(o.code, Some(0), "{what}: {o:#?}");
        assert_eq!(o.stderr, "", "{what}");
        assert_eq!(o.value("needed"), "42", "{what}");
        assert_eq!(o.value("dlopen"), "42", "{what}");

        let o = exec(&root, PROBE, "renamed");
        assert_eq!(o.code, Some(0), "{what}: {o:#?}");
        assert_eq!(o.stderr, "", "{what}");
        assert_eq!(o.value("self.exe"), PROBE, "{what}");
        assert_eq!(o.value("self.invocation_name"), PROBE, "{what}");
        assert_eq!(o.value("self.argv1"), "x", "{what}");
        assert_eq!(o.value("self.env_count"), "0", "{what}");
        assert_eq!(o.value("self.ld_library_path"), "<unset>", "{what}");
        assert_eq!(o.value("self.entry_is_start"), "1", "{what}");
    }
}

/// `preserveArgvZero` (flag `P`): qemu-user passes the program the argv[0]
/// it was started with, and rld hands it on unchanged.
#[test]
fn preserve_argv_zero_reaches_the_program() {
    let e = emulated(Arch::Aarch64);
    let root = e.root(true).binfmt_misc(&e.registration("FP")).build();
    let o = exec(&root, PROBE, "renamed");
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(o.value("self.invocation_name"), "renamed");
    assert_eq!(o.value("self.exe"), PROBE);
    assert_eq!(o.value("self.argv1"), "x");
}

/// Without `fixBinary` the kernel opens qemu at each start, by its path in
/// the starting process's root: a root without that file cannot start the
/// program at all (ENOENT, before qemu or rld run); with qemu at the same
/// path inside, it runs as before. Control: with no registration the kernel
/// refuses the foreign program (ENOEXEC, which `execvp` turns into a try
/// with the root's `/bin/sh`), so the other tests' programs ran
/// through the root's own registration and no handler of the host's.
#[test]
fn without_fix_binary_qemu_is_opened_in_the_root() {
    let e = emulated(Arch::Aarch64);
    let unregistered = e.root(true).build();
    // ENOEXEC, which execvp answers by trying the file as a shell script.
    let o = unregistered.run(NEEDS, &[] as &[&str], &[]);
    assert_eq!(o.code, Some(126), "{o:#?}");
    assert!(
        o.stderr.ends_with("cannot execute binary file\n"),
        "{}",
        o.stderr
    );

    // P without F: what NixOS registers for a qemu that is not static.
    let registration = e.registration("P");
    let bare = e.root(true).binfmt_misc(&registration).build();
    let err = bare.try_run(NEEDS, &[] as &[&str], &[]).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(nix::errno::Errno::ENOENT as i32),
        "{err}"
    );

    let qemu = Arch::Aarch64.qemu().unwrap();
    let with_qemu = e
        .root(true)
        .file(qemu, Path::new(qemu))
        .binfmt_misc(&registration)
        .build();
    let o = with_qemu.run(NEEDS, &[] as &[&str], &[]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(o.value("needed"), "42");
}

/// The prefix without its `ld.so` (a system whose glibc is not linked
/// there): rld's own error, naming the path and where it came from.
#[test]
fn missing_ld_so_in_the_prefix_is_rlds_clear_error() {
    for arch in [Arch::Aarch64, Arch::Riscv64] {
        let e = emulated(arch);
        let root = e.root(false).binfmt_misc(&e.registration("F")).build();
        let o = exec(&root, NEEDS, "needs");
        assert_rld_error(&o, arch.name());
        let ld_so = format!("{}/lib/ld.so", prefix(arch));
        let from = format!("ld.so {ld_so} (from rld's default)");
        assert!(o.stderr.contains(&from), "{}: {}", arch.name(), o.stderr);
        assert!(o.stderr.contains("ENOENT"), "{}: {}", arch.name(), o.stderr);
        assert!(o.stderr.contains(NEEDS), "{}: {}", arch.name(), o.stderr);
    }
}
