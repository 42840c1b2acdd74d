//! The fused interpreter (experimental; issue 20, "Beyond"): one file
//! holding rld-loader, built with its `fused` feature, and the system's
//! glibc ld.so, written by `rld fuse`. The kernel maps both in the one
//! exec, and a start whose ld.so is the embedded one (by path) makes no
//! system call of rld's own. Each case has a control: the same start
//! natively, or through the configured loader as today, or with another
//! `NIX_LD`.

use std::path::{Path, PathBuf};

use rld_tests::glibc;
use rld_tests::root::{self, Root};
use rld_tests::*;

/// This machine's glibc library directory: the library path the fused
/// file is configured with.
const LIB: &str = "/lib/x86_64-linux-gnu";

/// The loader built with the feature and fused with this machine's ld.so,
/// named by its /lib64 path, written into `dir`.
fn fused(dir: &TempDir) -> PathBuf {
    fused::fuse(
        fused::loader(Default::Missing),
        SYSTEM_LD_SO,
        Path::new(SYSTEM_LD_SO),
        LIB,
        &dir.join("fused-interpreter"),
    )
}

/// libplugin.so and libplugin2.so in `dir`/lib.
fn plugins(dir: &TempDir) -> PathBuf {
    let lib = dir.join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    for so in ["libplugin.so", "libplugin2.so"] {
        compile("cc", &["plugin.c"], &lib.join(so), &["-shared", "-fPIC"]);
    }
    lib
}

#[test]
fn hello_makes_exactly_the_system_calls_of_a_native_start() {
    let dir = TempDir::new("fused-hello");
    let interp = fused(&dir);
    let hello = program("hello.c", &dir, &interp, &[]);
    let o = run(&hello, &[] as &[&str], &[("RLD_LOG", "debug")]);
    o.assert_success();
    assert_eq!(o.stdout, "hello\n");
    assert!(
        o.stderr
            .contains(&format!("ld.so {SYSTEM_LD_SO} (from rld's default) at 0x")),
        "{o:#?}"
    );

    // The same library path reaches ld.so both ways.
    let native_dir = TempDir::new("fused-hello-native");
    let native = program("hello.c", &native_dir, Path::new(SYSTEM_LD_SO), &[]);
    let through_fused = fused::system_calls(&hello, &[("NIX_LD_LIBRARY_PATH", LIB)]);
    let natively = fused::system_calls(&native, &[("LD_LIBRARY_PATH", LIB)]);
    assert_eq!(through_fused, natively, "no system call of rld's own");
    assert_eq!(through_fused[0], "brk", "ld.so's first: {through_fused:?}");

    // Control: the configured loader of today opens and maps ld.so first.
    let today_dir = TempDir::new("fused-hello-today");
    let configured = configure_loader(
        &loader(Default::Missing).path,
        SYSTEM_LD_SO,
        LIB,
        &today_dir.join("rld-loader-configured"),
    );
    let today = program("hello.c", &today_dir, &configured, &[]);
    let calls = fused::system_calls(&today, &[("NIX_LD_LIBRARY_PATH", LIB)]);
    assert_eq!(calls[0], "openat", "{calls:?}");
    assert!(calls.len() > natively.len(), "{calls:?}");
    assert_eq!(calls[calls.len() - natively.len()..], natively[..]);
}

#[test]
fn cxx_exceptions_threads_and_thread_local() {
    let dir = TempDir::new("fused-cxx");
    let interp = fused(&dir);
    let prog = program("cxx.cpp", &dir, &interp, &["-pthread"]);
    for env in [&[][..], &[("HOME", "/root")][..]] {
        let o = run(&prog, &[] as &[&str], env);
        o.assert_success();
        assert_eq!(o.value("caught"), "boom");
        assert_eq!(o.value("threads"), "7,8,9,10 main=7");
    }
}

#[test]
fn threads_and_dlopen() {
    let dir = TempDir::new("fused-threads");
    let interp = fused(&dir);
    let lib = plugins(&dir);
    let prog = program("thread_dlopen.c", &dir, &interp, &["-pthread", "-ldl"]);
    let o = run(
        &prog,
        &[] as &[&str],
        &[("NIX_LD_LIBRARY_PATH", lib.to_str().unwrap())],
    );
    o.assert_success();
    assert_eq!(o.value("dlopen"), "42");
    assert_eq!(o.value("thread_tls"), "11");
    assert_eq!(o.value("main_tls"), "1");
    // Control: without the library path the plugin is not found.
    let o = run(&prog, &[] as &[&str], &[]);
    assert!(o.value("dlopen").contains("libplugin2.so"), "{o:#?}");
}

#[test]
fn the_program_and_its_child_see_a_native_start() {
    let dir = TempDir::new("fused-probe");
    let interp = fused(&dir);
    let shimmed = program("probe.c", &dir, &interp, &[]);
    let native_dir = TempDir::new("fused-probe-native");
    let native = program("probe.c", &native_dir, Path::new(SYSTEM_LD_SO), &[]);
    let cases: &[&[(&str, &str)]] = &[
        &[("HOME", "/root")],
        &[("LD_LIBRARY_PATH", "/opt/x:/opt/y")],
        &[("NIX_LD_LIBRARY_PATH", "/nonexistent/lib"), ("ZZZ", "last")],
        // Nothing to lend: ld.so is run as if by hand on the program.
        &[],
    ];
    for env in cases {
        let mut env = env.to_vec();
        env.push(("PROBE_SPAWN", "1"));
        let s = run(&shimmed, &["x"], &env);
        let n = run(&native, &["x"], &env);
        s.assert_success();
        n.assert_success();
        let (sd, nd) = (
            dir.path().to_str().unwrap(),
            native_dir.path().to_str().unwrap(),
        );
        let native_values: std::collections::BTreeMap<_, _> = n
            .values()
            .into_iter()
            .map(|(k, v)| (k, v.replace(nd, sd)))
            .collect();
        assert_eq!(s.values(), native_values, "environment {env:?}");
        assert_eq!(s.value("self.entry_is_start"), "1");
        assert_eq!(s.value("child.status"), "0");
    }
}

#[test]
fn direct_invocation_runs_the_program_and_prints_both_versions() {
    let dir = TempDir::new("fused-direct");
    let interp = fused(&dir);
    let hello = program("hello.c", &dir, &interp, &[]);
    let o = run(&interp, &[&hello], &[]);
    o.assert_success();
    assert_eq!(o.stdout, "hello\n");
    let o = run(&interp, &["--version"], &[]);
    o.assert_success();
    let mut lines = o.stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "rld-loader {} (rld), running {SYSTEM_LD_SO} (from rld's default)",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert!(lines.next().unwrap().starts_with("ld.so "), "{o:#?}");
    // No program: ld.so's usage and exit status.
    let o = run(&interp, &[] as &[&str], &[]);
    assert_eq!(o.code, Some(1), "{o:#?}");
    // --list, as ldd runs it.
    let o = run(&interp, &["--list", hello.to_str().unwrap()], &[]);
    o.assert_success();
    assert!(o.stdout.contains("libc.so.6 => "), "{o:#?}");
}

#[test]
fn another_nix_ld_is_mapped_as_today() {
    let dir = TempDir::new("fused-other");
    let interp = fused(&dir);
    let hello = program("hello.c", &dir, &interp, &[]);
    // The same file by another path: not the embedded one, by path.
    let other = format!("{LIB}/ld-linux-x86-64.so.2");
    let env = [("NIX_LD", other.as_str()), ("RLD_LOG", "debug")];
    let o = run(&hello, &[] as &[&str], &env);
    o.assert_success();
    assert_eq!(o.stdout, "hello\n");
    assert!(
        o.stderr
            .contains(&format!("ld.so {other} (from NIX_LD) at 0x")),
        "{o:#?}"
    );
    let calls = fused::system_calls(&hello, &[("NIX_LD", &other)]);
    assert_eq!(calls[0], "openat", "today's path opens it: {calls:?}");
    // NIX_LD naming the embedded path is the embedded ld.so.
    let calls = fused::system_calls(&hello, &[("NIX_LD", SYSTEM_LD_SO)]);
    assert_eq!(calls[0], "brk", "{calls:?}");
    // A missing NIX_LD falls back to the default, the embedded one.
    let o = run(&hello, &[] as &[&str], &[("NIX_LD", "/nonexistent/ld.so")]);
    o.assert_success();
    assert!(o.stderr.contains("does not exist"), "{o:#?}");

    // The fused file is still rld: offered as an ld.so, every loader
    // refuses it (its note stays behind its program headers).
    let fused_path = interp.to_str().unwrap();
    for through in [
        &hello,
        &program(
            "hello.c",
            &TempDir::new("fused-plain"),
            &loader(Default::Missing).path,
            &[],
        ),
    ] {
        let o = run(through, &[] as &[&str], &[("NIX_LD", fused_path)]);
        assert_rld_error(&o, "NIX_LD naming the fused file");
        assert!(o.stderr.contains(fused_path), "{o:#?}");
    }
}

/// `rld fuse` through the command line: its exit statuses and messages.
#[test]
fn rld_fuse_refuses_what_it_cannot_fuse() {
    let dir = TempDir::new("fused-cli");
    let fuse = |loader: &Path, ld_so: &str| {
        let out = dir.join("out");
        let _ = std::fs::remove_file(&out);
        let args = [
            "fuse",
            loader.to_str().unwrap(),
            "--ld-so",
            ld_so,
            "--library-path",
            LIB,
            "--output",
            out.to_str().unwrap(),
        ];
        let result = rld::run(args.iter().map(Into::into).collect());
        (
            result.map_err(|e| (e.exit_code(), e.to_string())),
            out.exists(),
        )
    };
    let with_feature = fused::loader(Default::Missing);
    assert_eq!(fuse(with_feature, SYSTEM_LD_SO), (Ok(0), true));
    // A loader built without the feature.
    let (result, written) = fuse(&loader(Default::Missing).path, SYSTEM_LD_SO);
    let (code, message) = result.unwrap_err();
    assert_eq!((code, written), (2, false));
    assert!(message.contains("without the `fused` feature"), "{message}");
    // A fused (so configured) loader fused again.
    let interp = fused(&dir);
    let (result, _) = fuse(&interp, SYSTEM_LD_SO);
    let (code, message) = result.unwrap_err();
    assert_eq!(code, 2);
    assert!(message.contains("configured already"), "{message}");
    // Not an ld.so: a program with an interpreter of its own; not ELF.
    assert_eq!(fuse(with_feature, "/bin/sh"), (Ok(1), false));
    assert_eq!(fuse(with_feature, "/etc/passwd"), (Ok(1), false));
    // rld-loader itself is no ld.so to embed.
    let plain = loader(Default::Missing).path.to_str().unwrap().to_owned();
    assert_eq!(fuse(with_feature, &plain), (Ok(1), false));
}

/// Every x86_64 cell of the glibc matrix (2.31 to the newest): the cell's
/// ld.so fused in, its libraries as the library path, a C++ program built
/// against it, started with no variable at all and with one to lend.
#[test]
fn glibc_matrix_x86_64_cells() {
    let dir = TempDir::new("fused-glibc");
    let mut ran = Vec::new();
    for cell in glibc::cells().iter().filter(|c| c.arch.is_none()) {
        let ld_so = cell.ld_so();
        let interp = fused::fuse(
            fused::loader(Default::Missing),
            ld_so.to_str().unwrap(),
            &ld_so,
            &cell.library_path(),
            &dir.join(format!("fused-{}", cell.name())),
        );
        let prog = cell.program(
            &["cxx.cpp"],
            &dir,
            &format!("cxx-{}", cell.name()),
            &interp,
            &["-pthread"],
        );
        for env in [&[][..], &[("HOME", "/root"), ("RLD_LOG", "debug")][..]] {
            let o = cell.run(&prog, &[], env, None);
            assert_eq!(o.code, Some(0), "{}: {o:#?}", cell.name());
            assert_eq!(o.value("caught"), "boom", "{}", cell.name());
            assert_eq!(o.value("threads"), "7,8,9,10 main=7", "{}", cell.name());
            if !env.is_empty() {
                assert!(o.stderr.contains("(from rld's default)"), "{o:#?}");
            }
        }
        // The embedded ld.so: nothing is opened before ld.so's first call.
        let calls = fused::system_calls(&prog, &[("HOME", "/root")]);
        assert_eq!(calls[0], "brk", "{}: {calls:?}", cell.name());
        ran.push(cell.version.clone());
    }
    eprintln!("fused interpreter ran on x86_64 glibc {ran:?}");
    assert!(ran.len() >= 4, "{ran:?}");
}

/// Debian's python3, perl and git in the NixOS-like root, with the fused
/// interpreter at /lib64 and no variable: the configured store glibc is
/// the embedded one.
#[test]
fn python_perl_and_git_in_the_nixos_root() {
    let store_ld_so = root::glibc_ld_so();
    let library_path = Root::builder().corpus().build().library_path();
    let dir = TempDir::new("fused-root");
    let interp = fused::fuse(
        fused::nixos_loader(),
        &store_ld_so,
        Path::new(SYSTEM_LD_SO),
        &library_path,
        &dir.join("fused-interpreter"),
    );
    let root = Root::builder().loader(Some(&interp)).corpus().build();
    let env = [
        ("PATH", "/opt/debian/bin:/run/current-system/sw/bin"),
        ("HOME", "/tmp"),
    ];
    let python = "import ssl, sqlite3, ctypes, os; \
                  print(sqlite3.connect(':memory:').execute('select 6*7').fetchone()[0], \
                  ctypes.CDLL('libc.so.6').getpid() == os.getpid(), \
                  os.environ.get('LD_LIBRARY_PATH', '<unset>'))";
    let o = root.run("/opt/debian/bin/python3", &["-c", python], &env);
    o.assert_success();
    assert_eq!(o.stdout, "42 True <unset>\n");
    let o = root.run("/opt/debian/bin/perl", &["-e", "print 6*7, qq{\\n}"], &env);
    o.assert_success();
    assert_eq!(o.stdout, "42\n");
    let o = root.run("/opt/debian/bin/git", &["--version"], &env);
    o.assert_success();
    assert!(o.stdout.starts_with("git version "), "{o:#?}");
    // The log names the store glibc, from the configuration.
    let mut debug = env.to_vec();
    debug.push(("RLD_LOG", "debug"));
    let o = root.run("/opt/debian/bin/perl", &["-e", "1"], &debug);
    o.assert_success();
    assert!(
        o.stderr
            .contains(&format!("ld.so {store_ld_so} (from rld's default)")),
        "{o:#?}"
    );
}

/// gdb with the fused interpreter: its shared-library breakpoint is set
/// (from the shifted symbol tables `rld fuse` writes), so a breakpoint in
/// a library dlopen()ed by a second thread is hit (scripts/setup.sh
/// installs gdb).
#[test]
fn gdb_breaks_in_a_dlopened_library() {
    let dir = TempDir::new("fused-gdb");
    let interp = fused(&dir);
    let lib = plugins(&dir);
    let prog = program(
        "thread_dlopen.c",
        &dir,
        &interp,
        &["-pthread", "-ldl", "-g"],
    );
    let gdb = |prog: &Path| {
        let mut cmd = std::process::Command::new("gdb");
        cmd.args(["-q", "-batch", "-nx"])
            .args([
                "-ex",
                "set breakpoint pending on",
                "-ex",
                "break main",
                "-ex",
                "run",
            ])
            .args([
                "-ex",
                "break plugin_answer",
                "-ex",
                "continue",
                "-ex",
                "info sharedlibrary",
            ])
            .args(["-ex", "kill"])
            .arg(prog)
            .env("NIX_LD_LIBRARY_PATH", &lib);
        outcome(cmd)
    };
    let o = gdb(&prog);
    assert!(
        !o.stderr
            .contains("Unable to find dynamic linker breakpoint"),
        "{o:#?}"
    );
    assert!(o.stdout.contains("hit Breakpoint 2, "), "{o:#?}");
    assert!(o.stdout.contains("libplugin2.so"), "{o:#?}");
    // Control: through the configured loader of today, gdb finds no
    // shared-library breakpoint and never stops in the plugin.
    let configured = configure_loader(
        &loader(Default::Missing).path,
        SYSTEM_LD_SO,
        LIB,
        &dir.join("rld-loader-configured"),
    );
    let today_dir = TempDir::new("fused-gdb-today");
    let today = program(
        "thread_dlopen.c",
        &today_dir,
        &configured,
        &["-pthread", "-ldl", "-g"],
    );
    let o = gdb(&today);
    assert!(
        o.stderr
            .contains("Unable to find dynamic linker breakpoint"),
        "{o:#?}"
    );
    assert!(!o.stdout.contains("hit Breakpoint 2, "), "{o:#?}");
}

/// The other architectures: each one's loader built with the feature and
/// fused with Debian's cross glibc; a C++ program with exceptions and
/// threads runs, and takes the embedded ld.so. i686 runs on this kernel
/// (its system calls checked too); aarch64 and riscv64 run under qemu-user,
/// which maps the interpreter itself, so they say nothing about those
/// kernels' ELF loaders.
#[test]
fn other_architectures() {
    let dir = TempDir::new("fused-arches");
    for arch in rld_tests::cross::ALL {
        let built = build_with_features(
            Some(arch.rust_target()),
            &format!("fused-{}-missing", arch.name()),
            &arch.loader(Default::Missing).prefix,
            &["fused"],
        );
        let ld_so = arch.ld_so();
        let interp = fused::fuse(
            &built,
            ld_so.to_str().unwrap(),
            &ld_so,
            arch.libdir().to_str().unwrap(),
            &dir.join(format!("fused-{}", arch.name())),
        );
        let prog = arch.program(
            &["cxx.cpp"],
            &dir,
            &format!("cxx-{}", arch.name()),
            &interp,
            &["-pthread"],
        );
        let o = arch.run(&prog, &[], &[("RLD_LOG", "debug")]);
        o.assert_success();
        assert_eq!(o.value("caught"), "boom", "{}", arch.name());
        assert_eq!(o.value("threads"), "7,8,9,10 main=7", "{}", arch.name());
        assert!(
            o.stderr
                .contains(&format!("ld.so {} (from rld's default)", ld_so.display())),
            "{}: {o:#?}",
            arch.name()
        );
        if arch.qemu().is_none() {
            let calls = fused::system_calls(&prog, &[("HOME", "/root")]);
            assert_eq!(calls[0], "brk", "{}: {calls:?}", arch.name());
        }
    }
}
