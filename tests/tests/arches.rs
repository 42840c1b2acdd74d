//! The loader contract on i686 (run natively) and aarch64 and riscv64 (run
//! under qemu-user, which starts the interpreter a program names, as the
//! kernel would): the same fixtures as on x86_64, each arch's real glibc
//! from Debian's cross packages. `scripts/build-arches.sh` installs them.

use std::fs;

use rld_tests::cross::{ALL, Arch};
use rld_tests::*;

fn nix_ld(arch: Arch) -> String {
    arch.ld_so().to_str().unwrap().to_owned()
}

fn libdir(arch: Arch) -> String {
    arch.libdir().to_str().unwrap().to_owned()
}

#[test]
fn probe_sees_a_native_start_on_every_arch() {
    for arch in ALL {
        let dir = TempDir::new(&format!("probe-{}", arch.name()));
        let rld = arch.loader(Default::Missing);
        let probe = arch.program(&["probe.c"], &dir, "probe", &rld.path, &[]);
        let (ld, lib) = (nix_ld(arch), libdir(arch));
        let mut base = vec![
            ("NIX_LD", ld.as_str()),
            ("NIX_LD_LIBRARY_PATH", lib.as_str()),
            ("PROBE_SPAWN", "1"),
        ];
        if let Some(q) = arch.qemu() {
            base.push(("PROBE_VIA", q));
        }
        for user in [None, Some("/opt/a:/opt/b"), Some("")] {
            let mut env = base.clone();
            if let Some(u) = user {
                env.push(("LD_LIBRARY_PATH", u));
            }
            let o = arch.run(&probe, &["x y"], &env);
            let what = format!("{} LD_LIBRARY_PATH={user:?}", arch.name());
            assert_eq!(o.code, Some(0), "{what}: {o:#?}");
            assert_eq!(o.stderr, "", "{what}");
            let want = user.unwrap_or("<unset>");
            for who in ["self", "child"] {
                assert_eq!(
                    o.value(&format!("{who}.ld_library_path")),
                    want,
                    "{what} {who}"
                );
                assert_eq!(
                    o.value(&format!("{who}.entry_is_start")),
                    "1",
                    "{what} {who}"
                );
                assert_eq!(
                    o.value(&format!("{who}.auxv_after_argv")),
                    "1",
                    "{what} {who}"
                );
                assert_eq!(
                    o.value(&format!("{who}.auxv_after_environ")),
                    "1",
                    "{what} {who}"
                );
                assert_eq!(
                    o.value(&format!("{who}.exe")),
                    probe.to_str().unwrap(),
                    "{what} {who}"
                );
                assert_eq!(
                    o.value(&format!("{who}.env_count")),
                    env.len().to_string(),
                    "{what} {who}"
                );
            }
            assert_eq!(o.value("self.argv1"), "x y");
            assert_eq!(o.value("child.status"), "0");
        }
    }
}

#[test]
fn cxx_exceptions_threads_and_thread_local_on_every_arch() {
    for arch in ALL {
        let dir = TempDir::new(&format!("cxx-{}", arch.name()));
        let prog = arch.program(
            &["cxx.cpp"],
            &dir,
            "cxx",
            &arch.loader(Default::Missing).path,
            &["-pthread"],
        );
        let (ld, lib) = (nix_ld(arch), libdir(arch));
        let o = arch.run(
            &prog,
            &[],
            &[("NIX_LD", &ld), ("NIX_LD_LIBRARY_PATH", &lib)],
        );
        assert_eq!(o.code, Some(0), "{}: {o:#?}", arch.name());
        assert_eq!(o.value("caught"), "boom");
        assert_eq!(o.value("threads"), "7,8,9,10 main=7");
    }
}

#[test]
fn libraries_from_the_system_variables_on_every_arch() {
    for arch in ALL {
        let dir = TempDir::new(&format!("needs-{}", arch.name()));
        let plugins = dir.join("lib");
        fs::create_dir(&plugins).unwrap();
        for name in ["libplugin.so", "libplugin2.so"] {
            arch.library("plugin.c", &plugins.join(name));
        }
        let l = format!("-L{}", plugins.display());
        let prog = arch.program(
            &["needs.c"],
            &dir,
            "needs",
            &arch.loader(Default::Missing).path,
            &[&l, "-lplugin", "-ldl"],
        );
        let ld = nix_ld(arch);
        let path = format!("{}:{}", plugins.display(), libdir(arch));
        let ld_var = format!("NIX_LD_{}", arch.system());
        let path_var = format!("NIX_LD_LIBRARY_PATH_{}", arch.system());
        // The arch's own variables win over the plain ones, which here point
        // at the host's (x86_64) glibc.
        let o = arch.run(
            &prog,
            &[],
            &[
                (&ld_var, &ld),
                (&path_var, &path),
                ("NIX_LD", SYSTEM_LD_SO),
                ("NIX_LD_LIBRARY_PATH", "/lib/x86_64-linux-gnu"),
            ],
        );
        assert_eq!(o.code, Some(0), "{}: {o:#?}", arch.name());
        assert_eq!(o.value("needed"), "42");
        assert_eq!(o.value("dlopen"), "42");
    }
}

#[test]
fn bad_input_on_every_arch() {
    for arch in ALL {
        let dir = TempDir::new(&format!("bad-{}", arch.name()));
        let rld = arch.loader(Default::Missing);
        let prog = arch.program(&["probe.c"], &dir, "probe", &rld.path, &[]);
        let mut truncated = fs::read(arch.ld_so()).unwrap();
        truncated.truncate(truncated.len() / 2);
        fs::write(dir.join("truncated"), truncated).unwrap();
        fs::write(dir.join("empty"), b"").unwrap();
        let long = format!("/{}", "a".repeat(4999));
        let (truncated, empty) = (dir.join("truncated"), dir.join("empty"));
        let cases = [
            ("/nonexistent/ld.so", "No such file or directory (ENOENT)"),
            ("/etc", "it is a directory"),
            ("/etc/passwd", "not an ELF file"),
            (truncated.to_str().unwrap(), "(truncated?)"),
            (empty.to_str().unwrap(), "the file is empty"),
            (long.as_str(), "ENAMETOOLONG"),
            (
                rld.path.to_str().unwrap(),
                "it is rld-loader itself, not glibc's ld.so",
            ),
        ];
        for (value, expect) in cases {
            let o = arch.run(&prog, &[], &[("NIX_LD", value)]);
            let what = format!("{}: NIX_LD={value:.40}", arch.name());
            assert_rld_error(&o, &what);
            assert!(
                o.stderr.contains(expect),
                "{what}: want {expect:?}:\n{}",
                o.stderr
            );
        }
        // The host's ld.so is skipped as another architecture; with no
        // candidate left the error names both.
        let o = arch.run(&prog, &[], &[("NIX_LD", SYSTEM_LD_SO)]);
        assert_rld_error(&o, arch.name());
        let expect = match arch {
            Arch::I686 => "it is a 64-bit ELF; this program needs a 32-bit i686 ld.so".to_owned(),
            _ => format!(
                "it is an ld.so for x86_64 (62); this program needs one for {}",
                arch.name()
            ),
        };
        assert!(o.stderr.contains(&expect), "{}", o.stderr);
    }
}

/// One environment serves 64- and 32-bit programs, as `enable32Bit` sets it.
#[test]
fn x86_64_and_i686_programs_share_one_environment() {
    let dir = TempDir::new("both");
    let p64 = program("probe.c", &dir, &loader(Default::Missing).path, &[]);
    let p32 = Arch::I686.program(
        &["probe.c"],
        &dir,
        "probe32",
        &Arch::I686.loader(Default::Missing).path,
        &[],
    );
    let ld32 = nix_ld(Arch::I686);
    let lib32 = libdir(Arch::I686);
    let env = [
        ("NIX_LD_x86_64_linux", SYSTEM_LD_SO),
        ("NIX_LD_i686_linux", ld32.as_str()),
        ("NIX_LD_LIBRARY_PATH_x86_64_linux", "/lib/x86_64-linux-gnu"),
        ("NIX_LD_LIBRARY_PATH_i686_linux", lib32.as_str()),
    ];
    for p in [&p64, &p32] {
        let o = run(p, &[] as &[&str], &env);
        o.assert_success();
        assert_eq!(o.value("self.ld_library_path"), "<unset>");
    }
}

/// With only `NIX_LD` set (to the x86_64 ld.so), a 32-bit program skips it
/// as another architecture and starts through the i686 compiled-in default.
#[test]
fn i686_program_skips_x86_64_nix_ld_for_its_default() {
    let dir = TempDir::new("skip32");
    let p32 = Arch::I686.program(
        &["probe.c"],
        &dir,
        "probe32",
        &Arch::I686.loader(Default::Present).path,
        &[],
    );
    let o = run(
        &p32,
        &[] as &[&str],
        &[("NIX_LD", SYSTEM_LD_SO), ("RLD_LOG", "debug")],
    );
    o.assert_success();
    assert!(
        o.stderr
            .contains("skipping /lib64/ld-linux-x86-64.so.2 (from NIX_LD)"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("(from rld's default)"), "{}", o.stderr);
    assert!(!o.stderr.contains("warning"), "{}", o.stderr);
}

/// An x86_64 rld given another architecture's ld.so, and nothing else.
#[test]
fn x86_64_loader_names_both_architectures() {
    let dir = TempDir::new("foreign");
    let p = program("probe.c", &dir, &loader(Default::Missing).path, &[]);
    for (arch, expect) in [
        (
            Arch::I686,
            "it is a 32-bit ELF; this program needs a 64-bit x86_64 ld.so",
        ),
        (
            Arch::Aarch64,
            "it is an ld.so for aarch64 (183); this program needs one for x86_64",
        ),
    ] {
        let ld = nix_ld(arch);
        let o = run(&p, &[] as &[&str], &[("NIX_LD", &ld)]);
        assert_rld_error(&o, arch.name());
        assert!(o.stderr.contains(expect), "{}", o.stderr);
    }
}

/// The situation of a NixOS machine with `boot.binfmt.emulatedSystems`: an
/// unpatched aarch64 program run by qemu-user inside the NixOS-like root,
/// whose interpreter path /lib/ld-linux-aarch64.so.1 holds nothing (qemu:
/// "Could not open", nix-ld's issues 48 and 70) until rld's aarch64 loader
/// is installed there; then it runs with NIX_LD_aarch64_linux pointing at
/// the arm64 glibc in the store.
#[test]
fn aarch64_program_under_qemu_in_the_nixos_root() {
    use rld_tests::root::{Root, StorePath};
    let arch = Arch::Aarch64;
    let dir = TempDir::new("foreign-root");
    let interp = std::path::Path::new("/lib/ld-linux-aarch64.so.1");
    let probe = arch.program(&["probe.c"], &dir, "probe", interp, &[]);
    let glibc = StorePath::new("glibc-aarch64-linux-2.36");
    let qemu = arch.qemu().unwrap();
    let with_store = |b: rld_tests::root::Builder| {
        b.file("/opt/probe", &probe)
            .file("/usr/bin/qemu-aarch64", std::path::Path::new(qemu))
            .file(&glibc.join("lib/ld-linux-aarch64.so.1"), &arch.ld_so())
            .file(
                &glibc.join("lib/libc.so.6"),
                &arch.libdir().join("libc.so.6"),
            )
    };
    let ld = glibc.join("lib/ld-linux-aarch64.so.1");
    let lib = glibc.join("lib");
    let env = [
        ("NIX_LD_aarch64_linux", ld.as_str()),
        ("NIX_LD_LIBRARY_PATH_aarch64_linux", lib.as_str()),
    ];

    let bare = with_store(Root::builder()).build();
    let o = bare.run("/usr/bin/qemu-aarch64", &["/opt/probe"], &env);
    assert_ne!(o.code, Some(0), "{o:#?}");
    assert!(
        o.stderr.contains("/lib/ld-linux-aarch64.so.1"),
        "{}",
        o.stderr
    );

    let rld = arch.loader(Default::Missing);
    let root = with_store(Root::builder())
        .file("/lib/ld-linux-aarch64.so.1", &rld.path)
        .build();
    let o = root.run("/usr/bin/qemu-aarch64", &["/opt/probe", "x"], &env);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(o.value("self.exe"), "/opt/probe");
    assert_eq!(o.value("self.argv1"), "x");
    assert_eq!(o.value("self.entry_is_start"), "1");
    assert_eq!(o.value("self.ld_library_path"), "<unset>");
}

/// A note whose size wraps a 32-bit offset back to where it was must not
/// turn rld's note scan into an endless loop (found by review on i686).
#[test]
fn i686_crafted_note_size_does_not_hang() {
    let arch = Arch::I686;
    let dir = TempDir::new("note32");
    let prog = arch.program(
        &["probe.c"],
        &dir,
        "probe",
        &arch.loader(Default::Missing).path,
        &[],
    );
    let mut elf = vec![0u8; 0x6c];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[4] = 1; // ELFCLASS32
    elf[5] = 1;
    elf[6] = 1;
    elf[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
    elf[18..20].copy_from_slice(&3u16.to_le_bytes()); // EM_386
    elf[20..24].copy_from_slice(&1u32.to_le_bytes());
    elf[28..32].copy_from_slice(&52u32.to_le_bytes()); // e_phoff
    elf[42..44].copy_from_slice(&32u16.to_le_bytes()); // e_phentsize
    elf[44..46].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
    elf[52..56].copy_from_slice(&4u32.to_le_bytes()); // PT_NOTE
    elf[56..60].copy_from_slice(&0x60u32.to_le_bytes()); // p_offset
    elf[68..72].copy_from_slice(&12u32.to_le_bytes()); // p_filesz
    elf[0x64..0x68].copy_from_slice(&0xffff_fff4u32.to_le_bytes()); // descsz
    elf[0x68..0x6c].copy_from_slice(&1u32.to_le_bytes());
    let path = dir.join("evil32.so");
    fs::write(&path, elf).unwrap();
    let mut cmd = std::process::Command::new("timeout");
    cmd.args(["-s", "KILL", "10"])
        .arg(&prog)
        .env_clear()
        .env("NIX_LD", &path);
    let o = outcome(cmd);
    assert_rld_error(&o, "crafted note");
    assert!(
        o.stderr.contains("it has no loadable segment"),
        "{}",
        o.stderr
    );
}

/// Where no environment word can be lent, ld.so is started as if run by
/// hand on the program, on a rebuilt and realigned stack; and rld-loader
/// run by hand passes its library path the same way. Both on every arch
/// (the stack alignment differs: 16 bytes is 4 words on i686, 2 elsewhere).
#[test]
fn relaunch_and_direct_invocation_on_every_arch() {
    for arch in ALL {
        let dir = TempDir::new(&format!("relaunch-{}", arch.name()));
        let rld = arch.loader(Default::Present);
        let probe = arch.program(&["probe.c"], &dir, "probe", &rld.path, &[]);
        for env in [&[][..], &[("HOME", "/root"), ("MALLOC_ARENA_MAX", "2")][..]] {
            for args in [&[][..], &["a", "b c"][..]] {
                let o = arch.run(&probe, args, env);
                let what = format!("{} {env:?} {args:?}", arch.name());
                assert_eq!(o.code, Some(0), "{what}: {o:#?}");
                assert_eq!(o.stderr, "", "{what}");
                assert_eq!(o.value("self.argc"), (args.len() + 1).to_string(), "{what}");
                assert_eq!(
                    o.value("self.invocation_name"),
                    probe.to_str().unwrap(),
                    "{what}"
                );
                assert_eq!(o.value("self.env_count"), env.len().to_string(), "{what}");
                assert_eq!(o.value("self.auxv_after_environ"), "1", "{what}");
                assert_eq!(o.value("self.auxv_after_argv"), "1", "{what}");
                assert_eq!(o.value("self.entry_is_start"), "1", "{what}");
            }
        }
        // rld-loader run by hand on a program whose interpreter is the
        // arch's ordinary one (it is not even installed here).
        let plain = arch.program(
            &["probe.c"],
            &dir,
            "plain",
            std::path::Path::new("/nonexistent/ld.so"),
            &[],
        );
        let o = arch.run(&rld.path, &[plain.to_str().unwrap(), "x"], &[]);
        let what = format!("{} direct", arch.name());
        assert_eq!(o.code, Some(0), "{what}: {o:#?}");
        assert_eq!(o.value("self.argv1"), "x", "{what}");
        assert_eq!(o.value("self.ld_library_path"), "<unset>", "{what}");
    }
}
