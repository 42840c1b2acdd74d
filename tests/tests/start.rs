//! Programs started through the real rld-loader and the machine's real glibc
//! `ld.so`, compared with the same programs started natively.

use rld_tests::*;

const PATH: (&str, &str) = ("PATH", "/usr/bin:/bin");

fn nix_ld() -> (&'static str, &'static str) {
    ("NIX_LD", SYSTEM_LD_SO)
}

/// The probe built twice: through rld, and natively with glibc's loader.
struct Probe {
    _dir: TempDir,
    shimmed: std::path::PathBuf,
    native: std::path::PathBuf,
}

/// The same probe in two directories, so their outputs differ only there.
fn probe(default: Default) -> Probe {
    let dir = TempDir::new("probe");
    for d in ["rld", "native"] {
        std::fs::create_dir(dir.join(d)).unwrap();
    }
    let shimmed = program("probe.c", &dir, &loader(default).path, &[]);
    let shimmed = {
        let moved = dir.join("rld/probe");
        std::fs::rename(&shimmed, &moved).unwrap();
        moved
    };
    let native = compile("cc", &["probe.c"], &dir.join("native/probe"), &["-O1"]);
    Probe {
        _dir: dir,
        shimmed,
        native,
    }
}

#[test]
fn hello_runs_through_nix_ld() {
    let p = probe(Default::Missing);
    let o = run(&p.shimmed, &["a b", "c"], &[PATH, nix_ld()]);
    o.assert_success();
    assert_eq!(o.stderr, "");
    assert_eq!(o.value("self.argc"), "3");
    assert_eq!(o.value("self.argv1"), "a b");
}

/// /proc/self/exe, argv, AT_EXECFN, AT_ENTRY, the environment and the
/// auxiliary vector's position are exactly what a native start gives.
#[test]
fn program_sees_what_a_native_start_gives() {
    let p = probe(Default::Missing);
    let cases: &[&[(&str, &str)]] = &[
        // No LD_LIBRARY_PATH: it must stay unset (not empty).
        &[PATH, nix_ld(), ("HOME", "/root")],
        // A user value must come back byte for byte.
        &[PATH, nix_ld(), ("LD_LIBRARY_PATH", "/opt/x:/opt/y")],
        &[PATH, nix_ld(), ("LD_LIBRARY_PATH", "")],
        // Library path from the variable, other variables around it.
        &[
            PATH,
            nix_ld(),
            ("NIX_LD_LIBRARY_PATH", "/nonexistent/lib"),
            ("ZZZ", "last"),
        ],
    ];
    for env in cases {
        let mut env = env.to_vec();
        env.push(("PROBE_SPAWN", "1"));
        let shim = run(&p.shimmed, &["x"], &env);
        let native = run(&p.native, &["x"], &env);
        shim.assert_success();
        native.assert_success();
        let native_dir = p.native.parent().unwrap().to_str().unwrap();
        let shim_dir = p.shimmed.parent().unwrap().to_str().unwrap();
        let s = shim.values();
        let n: std::collections::BTreeMap<_, _> = native
            .values()
            .into_iter()
            .map(|(k, v)| (k, v.replace(native_dir, shim_dir)))
            .collect();
        assert_eq!(s, n, "environment {env:?}");
        assert_eq!(shim.value("self.entry_is_start"), "1");
        assert_eq!(shim.value("self.auxv_after_argv"), "1");
        assert_eq!(shim.value("self.auxv_after_environ"), "1");
        assert_eq!(shim.value("child.status"), "0");
        assert_eq!(shim.value("self.exe"), p.shimmed.to_str().unwrap());
    }
}

/// With no word to lend (an empty environment, or only variables that
/// ld.so, glibc's start-up or a constructor may read), ld.so is started as
/// if run directly on the program: the program still sees exactly its own
/// start, down to the auxiliary vector behind `environ` and its name.
#[test]
fn nothing_to_lend_starts_ld_so_directly_and_hides_nothing() {
    let p = probe(Default::Present);
    let cases: &[&[(&str, &str)]] = &[
        &[],
        &[("HOME", "/root"), ("PATH", "/usr/bin")],
        &[("MALLOC_PERTURB_", "85"), ("PROBE_MALLOC", "1")],
        &[("LD_BIND_NOW", "1")],
    ];
    let native_dir = p.native.parent().unwrap().to_str().unwrap();
    let shim_dir = p.shimmed.parent().unwrap().to_str().unwrap();
    for env in cases {
        for args in [&[][..], &["x", "y z"][..]] {
            let shim = run(&p.shimmed, args, env);
            let native = run(&p.native, args, env);
            shim.assert_success();
            assert_eq!(shim.stderr, "", "{env:?}");
            let n: std::collections::BTreeMap<_, _> = native
                .values()
                .into_iter()
                .map(|(k, v)| (k, v.replace(native_dir, shim_dir)))
                .collect();
            assert_eq!(shim.values(), n, "{env:?} {args:?}");
            assert_eq!(shim.value("self.auxv_after_environ"), "1");
            assert_eq!(
                shim.value("self.invocation_name"),
                p.shimmed.to_str().unwrap()
            );
        }
    }
    // glibc's start-up saw MALLOC_PERTURB_ (fresh memory is filled with ~85).
    let o = run(
        &p.shimmed,
        &[] as &[&str],
        &[("MALLOC_PERTURB_", "85"), ("PROBE_MALLOC", "1")],
    );
    assert_eq!(o.value("self.malloc_fill"), "aa");
}

/// LD_PRELOAD alone in the environment still reaches ld.so.
#[test]
fn ld_preload_alone_still_works() {
    let p = probe(Default::Present);
    let lib = p._dir.join("libpreload.so");
    compile("cc", &["preload.c"], &lib, &["-shared", "-fPIC"]);
    let o = run(
        &p.shimmed,
        &[] as &[&str],
        &[("LD_PRELOAD", lib.to_str().unwrap())],
    );
    o.assert_success();
    assert!(o.stdout.starts_with("preloaded=yes\n"), "{}", o.stdout);
}

#[test]
fn cxx_exceptions_threads_and_thread_local() {
    let dir = TempDir::new("cxx");
    let prog = program(
        "cxx.cpp",
        &dir,
        &loader(Default::Missing).path,
        &["-pthread"],
    );
    let o = run(&prog, &[] as &[&str], &[nix_ld()]);
    o.assert_success();
    assert_eq!(o.value("caught"), "boom");
    assert_eq!(o.value("threads"), "7,8,9,10 main=7");
}

/// A library needed at start and one `dlopen`ed later, both found only
/// through `NIX_LD_LIBRARY_PATH`; without it the same program fails.
#[test]
fn libraries_come_from_nix_ld_library_path() {
    let dir = TempDir::new("needs");
    let libdir = dir.join("lib");
    std::fs::create_dir(&libdir).unwrap();
    for name in ["libplugin.so", "libplugin2.so"] {
        compile(
            "cc",
            &["plugin.c"],
            &libdir.join(name),
            &["-shared", "-fPIC"],
        );
    }
    let l = format!("-L{}", libdir.display());
    let prog = program(
        "needs.c",
        &dir,
        &loader(Default::Missing).path,
        &[&l, "-lplugin", "-ldl"],
    );
    let libdir = libdir.to_str().unwrap();

    let o = run(
        &prog,
        &[] as &[&str],
        &[nix_ld(), ("NIX_LD_LIBRARY_PATH", libdir)],
    );
    o.assert_success();
    assert_eq!(o.value("needed"), "42");
    assert_eq!(o.value("dlopen"), "42");

    let o = run(
        &prog,
        &[] as &[&str],
        &[nix_ld(), ("NIX_LD_LIBRARY_PATH_x86_64_linux", libdir)],
    );
    o.assert_success();

    // A pasted trailing newline is not part of the directory, whether the
    // path goes in the environment or, run by hand, as --library-path.
    let with_newline = format!("{libdir}\n");
    let o = run(
        &prog,
        &[] as &[&str],
        &[nix_ld(), ("NIX_LD_LIBRARY_PATH", &with_newline)],
    );
    o.assert_success();
    assert_eq!(o.value("needed"), "42");
    let o = run(
        &loader(Default::Missing).path,
        &[prog.to_str().unwrap()],
        &[nix_ld(), ("NIX_LD_LIBRARY_PATH", &with_newline)],
    );
    o.assert_success();
    assert_eq!(o.value("dlopen"), "42");

    // Control: without the variable ld.so cannot find the library.
    let o = run(&prog, &[] as &[&str], &[nix_ld()]);
    assert_eq!(o.code, Some(127));
    assert!(o.stderr.contains("libplugin.so"), "{o:#?}");

    // The user's own LD_LIBRARY_PATH comes first and still works.
    let o = run(
        &prog,
        &[] as &[&str],
        &[
            nix_ld(),
            ("LD_LIBRARY_PATH", libdir),
            ("NIX_LD_LIBRARY_PATH", "/nonexistent"),
        ],
    );
    o.assert_success();
}

#[test]
fn system_specific_variable_wins() {
    let p = probe(Default::Missing);
    let o = run(
        &p.shimmed,
        &[] as &[&str],
        &[
            ("NIX_LD_x86_64_linux", SYSTEM_LD_SO),
            ("NIX_LD", "/etc/passwd"),
        ],
    );
    o.assert_success();
    // And NIX_LD really is read when it is the only one.
    let o = run(&p.shimmed, &[] as &[&str], &[("NIX_LD", "/etc/passwd")]);
    assert_rld_error(&o, "NIX_LD=/etc/passwd");
    assert!(
        o.stderr.contains("/etc/passwd (from NIX_LD)"),
        "{}",
        o.stderr
    );
}

#[test]
fn empty_counts_as_unset_and_newline_is_ignored() {
    let p = probe(Default::Missing);
    let o = run(
        &p.shimmed,
        &[] as &[&str],
        &[("NIX_LD_x86_64_linux", ""), nix_ld()],
    );
    o.assert_success();
    let with_newline = format!("{SYSTEM_LD_SO}\n");
    let o = run(&p.shimmed, &[] as &[&str], &[("NIX_LD", &with_newline)]);
    o.assert_success();
    assert_eq!(o.stderr, "");
}

#[test]
fn garbage_collected_nix_ld_falls_back_with_one_warning() {
    let p = probe(Default::Present);
    let gone = "/nix/store/00000000000000000000000000000000-glibc-2.38/lib/ld-linux-x86-64.so.2";
    let o = run(&p.shimmed, &[] as &[&str], &[("NIX_LD", gone), PATH]);
    o.assert_success();
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", o.stderr);
    assert!(lines[0].starts_with("rld: warning: "), "{}", lines[0]);
    assert!(lines[0].contains(gone), "{}", lines[0]);
    let default_ld = loader(Default::Present).prefix.join("lib/ld.so");
    assert!(
        lines[0].contains(default_ld.to_str().unwrap()),
        "{}",
        lines[0]
    );
    // The program's environment is untouched by the fallback.
    assert_eq!(o.value("self.ld_library_path"), "<unset>");
}

#[test]
fn debug_log_shows_decisions() {
    let p = probe(Default::Missing);
    let o = run(
        &p.shimmed,
        &[] as &[&str],
        &[nix_ld(), ("RLD_LOG", "debug")],
    );
    o.assert_success();
    // One line naming the program, the ld.so used, the library path and how
    // it reaches ld.so.
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", o.stderr);
    let line = lines[0];
    let program = p.shimmed.to_str().unwrap();
    assert!(
        line.starts_with(&format!(
            "rld: debug: {program}: ld.so /lib64/ld-linux-x86-64.so.2 (from NIX_LD) at 0x"
        )),
        "{line}"
    );
    assert!(line.contains("; library path /"), "{line}");
    assert!(line.contains(" (from rld's default) "), "{line}");
    // Run by hand for an option that only prints, no library path is passed.
    let o = run(
        &loader(Default::Missing).path,
        &["--version"],
        &[nix_ld(), ("RLD_LOG", "debug")],
    );
    o.assert_success();
    assert!(
        o.stderr
            .contains("; library path none (an option that only prints)"),
        "{}",
        o.stderr
    );
    let o = run(
        &p.shimmed,
        &[] as &[&str],
        &[nix_ld(), ("NIX_LD_LOG", "debug")],
    );
    assert!(o.stderr.contains("rld: debug:"), "{}", o.stderr);
    let o = run(
        &p.shimmed,
        &[] as &[&str],
        &[nix_ld(), ("RLD_LOG", "warn"), ("NIX_LD_LOG", "debug")],
    );
    assert_eq!(o.stderr, "");
}

/// `rld-loader PROGRAM ARGS` behaves like `ld.so PROGRAM ARGS`, with the
/// library path passed as an option so that children see no change.
#[test]
fn direct_invocation() {
    let dir = TempDir::new("direct");
    let libdir = dir.join("lib");
    std::fs::create_dir(&libdir).unwrap();
    compile(
        "cc",
        &["plugin.c"],
        &libdir.join("libplugin.so"),
        &["-shared", "-fPIC"],
    );
    compile(
        "cc",
        &["plugin.c"],
        &libdir.join("libplugin2.so"),
        &["-shared", "-fPIC"],
    );
    let l = format!("-L{}", libdir.display());
    // A normal program: its interpreter is glibc's, not ours.
    let needs = compile(
        "cc",
        &["needs.c"],
        &dir.join("needs"),
        &[&l, "-lplugin", "-ldl"],
    );
    let probe = compile("cc", &["probe.c"], &dir.join("probe"), &[]);
    let rld = &loader(Default::Missing).path;
    let libdir = libdir.to_str().unwrap();

    let o = run(
        rld,
        &[needs.to_str().unwrap()],
        &[nix_ld(), ("NIX_LD_LIBRARY_PATH", libdir)],
    );
    o.assert_success();
    assert_eq!(o.value("dlopen"), "42");

    let o = run(
        rld,
        &[probe.to_str().unwrap(), "arg"],
        &[
            nix_ld(),
            ("NIX_LD_LIBRARY_PATH", libdir),
            ("PROBE_SPAWN", probe.to_str().unwrap()),
        ],
    );
    o.assert_success();
    assert_eq!(o.value("self.argv1"), "arg");
    assert_eq!(o.value("self.ld_library_path"), "<unset>");
    assert_eq!(o.value("child.ld_library_path"), "<unset>");
    assert_eq!(o.value("self.env_count"), "3");

    // No program: ld.so's own usage message and exit status.
    let ours = run(rld, &[] as &[&str], &[nix_ld()]);
    let theirs = run(std::path::Path::new(SYSTEM_LD_SO), &[] as &[&str], &[]);
    assert_eq!(ours.code, theirs.code);
    assert_eq!(
        ours.stderr,
        theirs.stderr.replace(SYSTEM_LD_SO, rld.to_str().unwrap())
    );
    assert_eq!(ours.stdout, theirs.stdout);

    // --version: rld's line, then ld.so's.
    let o = run(rld, &["--version"], &[nix_ld()]);
    o.assert_success();
    let first = o.stdout.lines().next().unwrap();
    assert!(first.starts_with("rld-loader "), "{}", o.stdout);
    assert!(
        o.stdout.lines().nth(1).unwrap().starts_with("ld.so "),
        "{}",
        o.stdout
    );

    // --list works like ldd.
    let o = run(
        rld,
        &["--list", needs.to_str().unwrap()],
        &[nix_ld(), ("NIX_LD_LIBRARY_PATH", libdir)],
    );
    o.assert_success();
    assert!(
        o.stdout
            .contains(&format!("libplugin.so => {libdir}/libplugin.so")),
        "{}",
        o.stdout
    );
}
