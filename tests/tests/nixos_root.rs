//! The problem rld exists for, reproduced in a NixOS-like root (see
//! `rld_tests::root`), and rld's promises checked inside it: programs built
//! for a normal distribution (interpreter `/lib64/ld-linux-x86-64.so.2`),
//! unpatched, with every library in `/nix/store`.

use rld_tests::root::{self, Builder, Root};
use rld_tests::{Outcome, TempDir, assert_rld_error, compile};
use std::path::PathBuf;
use std::time::Duration;

const PROBE: &str = "/opt/probe/probe";
const PATH: (&str, &str) = ("PATH", "/opt/debian/bin:/run/current-system/sw/bin");

/// The probe fixture built three ways, in a directory every user can read.
struct Probes {
    _dir: TempDir,
    /// As any distribution builds it: interpreter `/lib64/...`.
    downloaded: PathBuf,
    /// `cc -static`: no interpreter.
    fully_static: PathBuf,
    /// As Nix builds it: interpreter and RUNPATH in the store.
    patched: PathBuf,
}

fn probes() -> Probes {
    let dir = TempDir::new("nixos-probe");
    let downloaded = compile("cc", &["probe.c"], &dir.join("probe"), &["-O1"]);
    let fully_static = compile("cc", &["probe.c"], &dir.join("probe-static"), &["-static"]);
    let glibc = root::glibc();
    let patched = compile(
        "cc",
        &["probe.c"],
        &dir.join("probe-patched"),
        &[
            &format!("-Wl,--dynamic-linker={}", root::glibc_ld_so()),
            &format!("-Wl,-rpath,{}", glibc.join("lib")),
        ],
    );
    let elf = |p: &PathBuf| root::elf::read(p).unwrap().unwrap();
    assert_eq!(
        elf(&downloaded).interpreter.as_deref(),
        Some(root::INTERPRETER)
    );
    assert_eq!(elf(&fully_static).interpreter, None);
    assert_eq!(
        elf(&patched).interpreter,
        Some(root::glibc_ld_so()),
        "the patched probe names the store's ld.so"
    );
    Probes {
        _dir: dir,
        downloaded,
        fully_static,
        patched,
    }
}

/// A root holding the downloaded probe at [`PROBE`].
fn with_probe(b: Builder, p: &Probes) -> Root {
    b.file(PROBE, &p.downloaded).build()
}

/// `NIX_LD`/`NIX_LD_LIBRARY_PATH` into the store, plus `extra`.
fn nix_ld_env<'a>(root: &'a Root, extra: &[(&'a str, &'a str)]) -> Vec<(String, String)> {
    let mut env = root.nix_ld_env();
    env.push((PATH.0.into(), PATH.1.into()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn run(root: &Root, program: &str, args: &[&str], env: &[(String, String)]) -> Outcome {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    root.run(program, args, &env)
}

/// The seed: on NixOS as shipped, a downloaded binary cannot even be
/// started (the kernel finds no interpreter: ENOENT, which bash reports as
/// "required file not found"); with rld at the interpreter path it runs,
/// with no variable set, through the default the NixOS module installs.
#[test]
fn seed_required_file_not_found_then_fixed_by_rld() {
    let p = probes();
    let node = format!("{}/bin/node", root::NODE);
    let nixos = with_probe(Root::builder().loader(None).corpus(), &p);
    for program in [node.as_str(), PROBE, "/opt/debian/bin/python3"] {
        // The file is there and executable...
        let o = nixos.run("/bin/sh", &["-c", &format!("test -x {program}")], &[]);
        assert_eq!(o.code, Some(0), "{program} is in the root: {o:#?}");
        // ...but exec fails with ENOENT: there is no /lib64/ld-linux-x86-64.so.2.
        let e = nixos.try_run(program, &["--version"], &[]).unwrap_err();
        assert_eq!(
            e.raw_os_error(),
            Some(nix::errno::Errno::ENOENT as i32),
            "{program}: {e}"
        );
        let o = nixos.run("/bin/sh", &["-c", &format!("{program} --version")], &[]);
        assert_eq!(o.code, Some(127), "{o:#?}");
        assert_eq!(
            o.stderr,
            format!("/bin/sh: line 1: {program}: cannot execute: required file not found\n")
        );
    }

    // The naive fix, a glibc ld.so at /lib64, is not enough: every library
    // is in the store, where no default search path looks.
    let glibc_only = Root::builder()
        .loader(Some(std::path::Path::new(
            "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        )))
        .corpus()
        .build();
    let o = glibc_only.run(&node, &["--version"], &[]);
    assert_eq!(o.code, Some(127), "{o:#?}");
    assert!(
        o.stderr
            .starts_with(&format!("{node}: error while loading shared libraries: "))
            && o.stderr.contains("cannot open shared object file"),
        "{o:#?}"
    );

    let fixed = with_probe(Root::builder().corpus(), &p);
    let o = fixed.run("/bin/sh", &["-c", &format!("{node} --version")], &[]);
    o.assert_success();
    assert_eq!(o.stdout, format!("v{}\n", root::corpus().node.version));
    assert_eq!(o.stderr, "");
    let o = fixed.run(PROBE, &["x"], &[]);
    o.assert_success();
    assert_eq!(o.value("self.exe"), PROBE);
}

/// Nothing at the FHS library paths, every store path named
/// `<32 base-32 chars>-<name>`, `/bin/sh` a patched bash, the default
/// directory's ld.so a link into the store.
#[test]
fn root_is_laid_out_like_nixos() {
    let root = Root::builder().build();
    let env = nix_ld_env(&root, &[]);
    let script = r#"
        for p in /lib /usr /lib32 /libx32 /usr/lib /usr/lib64 /etc/ld.so.cache /etc/ld.so.conf; do
            [ -e "$p" ] && echo "present: $p"
        done
        echo "lib64: " /lib64/*
        echo store: /nix/store/*
        find / -xdev -name '*.so*' -not -path '/nix/store/*' -not -path '/proc/*' -not -path '/opt/*'
        readlink -f /run/current-system/sw/share/rld/lib/ld.so /bin/sh
    "#;
    let o = run(&root, "/bin/sh", &["-c", script], &env);
    o.assert_success();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], format!("lib64:  {}", root::INTERPRETER), "{o:#?}");
    let store: Vec<&str> = lines[1]
        .strip_prefix("store: ")
        .unwrap()
        .split(' ')
        .collect();
    assert!(store.len() >= 10, "{store:?}");
    for s in &store {
        let name = s.strip_prefix("/nix/store/").unwrap();
        let (hash, rest) = name.split_at(32);
        assert!(
            hash.bytes()
                .all(|b| b"0123456789abcdfghijklmnpqrsvwxyz".contains(&b)),
            "{s}"
        );
        assert!(rest.starts_with('-') && rest.len() > 1, "{s}");
    }
    assert!(store.contains(&root::glibc().path().as_str()), "{store:?}");
    // The only shared object outside the store and /opt: rld itself.
    assert_eq!(lines[2], root::INTERPRETER, "{o:#?}");
    assert_eq!(lines[3], root::glibc_ld_so());
    assert!(
        lines[4].starts_with("/nix/store/") && lines[4].ends_with("/bin/bash"),
        "{o:#?}"
    );
    assert_eq!(lines.len(), 5, "{o:#?}");
    let sh = root::elf::read(std::path::Path::new("/bin/bash"))
        .unwrap()
        .unwrap();
    assert_eq!(
        sh.interpreter.as_deref(),
        Some(root::INTERPRETER),
        "the host's bash is unpatched; the root's /bin/sh is a patched copy"
    );
}

/// Building a root is cheap: no copies, only a list of mounts.
#[test]
fn root_builds_well_under_a_second() {
    root::corpus();
    let mut times = Vec::new();
    for _ in 0..3 {
        let r = Root::builder().corpus().build();
        times.push(r.built_in);
        let o = r.run("/bin/sh", &["-c", "exit 0"], &[]);
        o.assert_success();
    }
    eprintln!("root build times: {times:?}");
    for t in times {
        assert!(t < Duration::from_millis(500), "{t:?}");
    }
}

/// /proc/self/exe, argv[0], AT_EXECFN and getauxval(AT_ENTRY) are the
/// program's; LD_LIBRARY_PATH stays unset for it and its child (or comes
/// back byte for byte when the caller set it).
#[test]
fn program_and_child_see_a_native_start() {
    let p = probes();
    let root = with_probe(Root::builder(), &p);
    for user in [None, Some("/opt/x::/opt/y")] {
        let mut extra = vec![("PROBE_SPAWN", "1"), ("HOME", "/tmp")];
        if let Some(v) = user {
            extra.push(("LD_LIBRARY_PATH", v));
        }
        let env = nix_ld_env(&root, &extra);
        let o = run(&root, PROBE, &["a b", "c"], &env);
        o.assert_success();
        assert_eq!(o.stderr, "");
        let want = user.unwrap_or("<unset>");
        for who in ["self", "child"] {
            let v = |k: &str| o.value(&format!("{who}.{k}"));
            assert_eq!(v("exe"), PROBE);
            assert_eq!(v("argv0"), PROBE);
            // The child is exec'd as /proc/self/exe, as natively.
            let execfn = if who == "self" {
                PROBE
            } else {
                "/proc/self/exe"
            };
            assert_eq!(v("execfn"), execfn);
            assert_eq!(v("entry_is_start"), "1");
            assert_eq!(v("ld_library_path"), want, "{who}: {o:#?}");
            assert_eq!(v("auxv_after_argv"), "1");
            assert_eq!(v("auxv_after_environ"), "1");
            // Exactly the caller's environment (which Command passes sorted).
            assert_eq!(v("env_count"), env.len().to_string(), "{o:#?}");
            let mut sorted = env.clone();
            sorted.sort();
            for (i, (k, val)) in sorted.iter().enumerate() {
                assert_eq!(v(&format!("env{i}")), format!("{k}={val}"));
            }
        }
        assert_eq!(o.value("self.argv1"), "a b");
        assert_eq!(o.value("child.argv1"), "--child");
        assert_eq!(o.value("child.status"), "0");
    }
}

/// `env -i prog`: no variable at all, so rld uses its compiled-in default,
/// the directory the NixOS module builds.
#[test]
fn empty_environment_runs_through_the_compiled_in_default() {
    let p = probes();
    let root = with_probe(Root::builder().corpus(), &p);
    let o = root.run(PROBE, &["x"], &[]);
    o.assert_success();
    assert_eq!(o.stderr, "");
    assert_eq!(o.value("self.env_count"), "0");
    assert_eq!(o.value("self.ld_library_path"), "<unset>");
    assert_eq!(o.value("self.entry_is_start"), "1");
    // The same through Debian's own (unpatched) env -i, itself started by rld.
    let env = nix_ld_env(&root, &[]);
    let o = run(&root, "/opt/debian/bin/env", &["-i", PROBE, "y"], &env);
    o.assert_success();
    assert_eq!(o.value("self.env_count"), "0");
    assert_eq!(o.value("self.argv1"), "y");
    // And the decision is the default's, as the log says.
    let o = root.run(PROBE, &["x"], &[("RLD_LOG", "debug")]);
    o.assert_success();
    assert!(
        o.stderr
            .contains(&format!("{}/lib/ld.so", root::DEFAULT_PREFIX))
            && o.stderr.contains("default"),
        "{o:#?}"
    );
    let node = format!("{}/bin/node", root::NODE);
    let o = root.run(&node, &["-e", "console.log(1 + 1)"], &[]);
    o.assert_success();
    assert_eq!(o.stdout, "2\n");
}

/// After an upgrade and a garbage collection, `NIX_LD` names a store path
/// that is gone: rld says so once, naming both paths, and carries on with
/// the default.
#[test]
fn garbage_collected_nix_ld_falls_back_with_one_warning() {
    let p = probes();
    let root = with_probe(Root::builder(), &p);
    let gone = root::StorePath::new("glibc-2.35-224").join("lib/ld-linux-x86-64.so.2");
    let default = format!("{}/lib/ld.so", root::DEFAULT_PREFIX);
    let mut env = nix_ld_env(&root, &[]);
    env[0].1 = gone.clone();
    let o = run(&root, PROBE, &["x"], &env);
    o.assert_success();
    assert_eq!(o.value("self.exe"), PROBE);
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{o:#?}");
    assert!(lines[0].starts_with("rld: warning:"), "{o:#?}");
    assert!(
        lines[0].contains(&gone) && lines[0].contains(&default),
        "{o:#?}"
    );
}

/// No variable and no default directory: the `rld:` error and exit 127,
/// for the probe and for a real downloaded binary.
#[test]
fn nothing_configured_is_an_rld_error() {
    let p = probes();
    let root = with_probe(Root::builder().without_default_dir().corpus(), &p);
    for program in [PROBE.to_owned(), format!("{}/bin/node", root::NODE)] {
        let o = root.run(&program, &["--version"], &[]);
        assert_rld_error(&o, &program);
        assert!(o.stderr.contains(&program), "{o:#?}");
        assert_eq!(o.stdout, "");
    }
}

/// `/lib64/ld-linux-x86-64.so.2 prog args` works like glibc's ld.so run
/// directly, without changing anyone's environment.
#[test]
fn direct_invocation_runs_the_program() {
    let p = probes();
    let root = with_probe(Root::builder(), &p);
    let env = nix_ld_env(&root, &[("PROBE_SPAWN", PROBE)]);
    let o = run(&root, root::INTERPRETER, &[PROBE, "a", "b"], &env);
    o.assert_success();
    assert_eq!(o.stderr, "");
    assert_eq!(o.value("self.argc"), "3");
    assert_eq!(o.value("self.argv0"), PROBE);
    assert_eq!(o.value("self.argv2"), "b");
    assert_eq!(o.value("self.entry_is_start"), "1");
    for who in ["self", "child"] {
        assert_eq!(o.value(&format!("{who}.ld_library_path")), "<unset>");
        assert_eq!(o.value(&format!("{who}.env_count")), env.len().to_string());
    }
    assert_eq!(o.value("child.exe"), PROBE);
    // Through the compiled-in default too.
    let o = root.run(root::INTERPRETER, &[PROBE, "z"], &[]);
    o.assert_success();
    assert_eq!(o.value("self.argv1"), "z");
    // No program: ld.so's usage, exit 1.
    let o = root.run(root::INTERPRETER, &[] as &[&str], &[]);
    assert_eq!(o.code, Some(1), "{o:#?}");
}

/// A static binary and a Nix-patched one never reach rld: they run in a
/// root without it, and with it rld has nothing to say.
#[test]
fn static_and_patched_binaries_run_untouched() {
    let p = probes();
    for loader in [None, Some(root::nixos_loader())] {
        let root = Root::builder()
            .loader(loader)
            .file("/opt/probe/static", &p.fully_static)
            .file("/opt/probe/patched", &p.patched)
            .build();
        for program in ["/opt/probe/static", "/opt/probe/patched"] {
            let o = root.run(
                program,
                &["x"],
                &[("RLD_LOG", "debug"), ("PROBE_SPAWN", "1")],
            );
            o.assert_success();
            assert_eq!(o.stderr, "", "{program} with loader {loader:?}");
            assert_eq!(o.value("self.exe"), program);
            assert_eq!(o.value("self.entry_is_start"), "1");
            assert_eq!(o.value("child.ld_library_path"), "<unset>");
            assert_eq!(o.value("child.status"), "0");
        }
    }
}

/// The root needs no privilege: run as `nobody` (when the tests run as
/// root), programs still start inside their own user namespace.
#[test]
fn root_works_for_an_ordinary_user() {
    let p = probes();
    let me = nix::unistd::geteuid().as_raw();
    let b = Root::builder();
    let (b, uid) = if me == 0 {
        (b.user(65534, 65534), 65534)
    } else {
        (b, me)
    };
    let root = with_probe(b, &p);
    let env = nix_ld_env(&root, &[]);
    let o = run(
        &root,
        "/bin/sh",
        &["-c", "echo $UID; cat /proc/self/uid_map; /opt/probe/probe"],
        &env,
    );
    o.assert_success();
    let mut lines = o.stdout.lines();
    assert_eq!(lines.next(), Some(uid.to_string().as_str()));
    let map: Vec<String> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(map, [uid.to_string(), uid.to_string(), "1".into()]);
    assert_eq!(o.value("self.exe"), PROBE);
}

/// Python's `ctypes.util.find_library` runs `/sbin/ldconfig -p`, which
/// NixOS does not have: Debian's unpatched CPython finds nothing there. With
/// `rld ldconfig` installed at `/sbin/ldconfig` (as
/// `programs.rld.ldconfig.enable` installs it: a script that execs
/// `rld ldconfig`), it finds zlib in rld's default library directory, where
/// the module links it: ctypes runs ldconfig with only `LC_ALL` and `LANG`,
/// so `rld ldconfig` sees no `NIX_LD*` variable (python itself gets the
/// session's, for the libraries it needs beyond the defaults).
#[test]
fn ctypes_find_library_finds_rlds_libraries_through_rld_ldconfig() {
    let scripts = TempDir::new("ldconfig-wrapper");
    let wrapper = scripts.join("ldconfig");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nexec /opt/rld/bin/rld ldconfig \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let find = "import ctypes.util; print(ctypes.util.find_library('z'))";
    let python = "/opt/debian/bin/python3";

    let without = Root::builder()
        .file("/opt/rld/bin/rld", rld_tests::rld_tool())
        .build();
    let env = nix_ld_env(&without, &[]);
    let o = run(&without, "/bin/sh", &["-c", "test -e /sbin/ldconfig"], &env);
    assert_eq!(o.code, Some(1), "NixOS has no /sbin/ldconfig: {o:#?}");
    let o = run(&without, python, &["-c", find], &env);
    o.assert_success();
    assert_eq!(o.stdout, "None\n", "{o:#?}");

    let with = Root::builder()
        .file("/opt/rld/bin/rld", rld_tests::rld_tool())
        .file("/sbin/ldconfig", &wrapper)
        .build();
    let env = nix_ld_env(&with, &[]);
    let o = run(&with, python, &["-c", find], &env);
    o.assert_success();
    assert_eq!(o.stdout, "libz.so.1\n", "{o:#?}");
    assert_eq!(o.stderr, "");

    // What it read: glibc's format, zlib in the default directory.
    let o = with.run("/sbin/ldconfig", &["-p"], &[("LC_ALL", "C"), ("LANG", "C")]);
    o.assert_success();
    assert_eq!(o.stderr, "");
    let count = o.stdout.lines().count() - 1;
    assert_eq!(
        o.stdout.lines().next(),
        Some(format!("{count} libs found in cache `/etc/ld.so.cache'").as_str())
    );
    assert!(
        o.stdout.contains(&format!(
            "\n\tlibz.so.1 (libc6,x86-64) => {}/lib/libz.so.1\n",
            root::DEFAULT_PREFIX
        )),
        "{}",
        o.stdout
    );

    // A script that rebuilds the cache after installing something goes on.
    let o = with.run(
        "/bin/sh",
        &["-c", "ldconfig && echo went on"],
        &[("PATH", "/sbin")],
    );
    assert_eq!(o.stdout, "went on\n", "{o:#?}");
    assert!(
        o.stderr
            .starts_with("rld: ldconfig: NixOS has no library cache to rebuild"),
        "{o:#?}"
    );
}
