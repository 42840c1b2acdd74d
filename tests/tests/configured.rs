//! A configured rld-loader (`rld configure-loader`): its configuration
//! area names the ld.so and library path that apply where no variable
//! does, so a service, an `env -i` start or a sandbox finds libraries in a
//! configured directory, raw ones such as /run/opengl-driver/lib included.
//! Each case has a control: the same start through the loader as built.

use std::fs;
use std::path::{Path, PathBuf};

use rld_tests::*;

/// `loader` configured with `ld_so` and `library_path`, written beside it
/// in `dir`.
fn configured(dir: &TempDir, loader: &Path, ld_so: &str, library_path: &str) -> PathBuf {
    configure_loader(
        loader,
        ld_so,
        library_path,
        &dir.join("rld-loader-configured"),
    )
}

/// libplugin.so and libplugin2.so in `dir`/`name`.
fn plugins(dir: &TempDir, name: &str) -> PathBuf {
    let lib = dir.join(name);
    fs::create_dir_all(&lib).unwrap();
    for so in ["libplugin.so", "libplugin2.so"] {
        compile("cc", &["plugin.c"], &lib.join(so), &["-shared", "-fPIC"]);
    }
    lib
}

#[test]
fn a_start_with_no_variable_finds_a_configured_raw_directory() {
    let dir = TempDir::new("configured");
    // The libraries only in a "raw" directory, after one that is missing
    // (a garbage-collected or absent driver directory is skipped by ld.so).
    let raw = plugins(&dir, "opengl-driver/lib");
    let library_path = format!("{}:{}", dir.join("gone").display(), raw.display());
    let built = loader(Default::Missing);
    let loader = configured(&dir, &built.path, SYSTEM_LD_SO, &library_path);
    let l = format!("-L{}", raw.display());
    let prog = program("needs.c", &dir, &loader, &[&l, "-lplugin", "-ldl"]);

    // Nothing in the environment at all (env -i, a service): the
    // configuration applies, at start and for dlopen.
    let o = run(&prog, &[] as &[&str], &[]);
    o.assert_success();
    assert_eq!(o.value("needed"), "42");
    assert_eq!(o.value("dlopen"), "42");
    // A word to lend (the in-place start) as well as none (ld.so run by
    // hand, above): both ways carry it.
    let o = run(&prog, &[] as &[&str], &[("RLD_LOG", "debug")]);
    o.assert_success();
    assert!(
        o.stderr
            .contains(&format!("ld.so {SYSTEM_LD_SO} (from rld's default) at 0x"))
            && o.stderr
                .contains(&format!("library path {library_path} (from rld's default)")),
        "{o:#?}"
    );

    // Variables still win where they apply: a library path without the
    // plugins fails.
    let o = run(
        &prog,
        &[] as &[&str],
        &[("NIX_LD_LIBRARY_PATH", dir.join("gone").to_str().unwrap())],
    );
    assert_eq!(o.code, Some(127), "{o:#?}");
    assert!(o.stderr.contains("libplugin.so"), "{o:#?}");

    // Control: the same program through the loader as built fails, its
    // compiled-in default missing.
    let unconfigured = program("needs.c", &dir, &built.path, &[&l, "-lplugin", "-ldl"]);
    let o = run(&unconfigured, &[] as &[&str], &[]);
    assert_rld_error(&o, "the loader as built");
    assert!(o.stderr.contains("(from rld's default)"), "{o:#?}");
}

#[test]
fn a_configured_loader_is_configured_once() {
    let dir = TempDir::new("configured-twice");
    let built = loader(Default::Missing);
    let once = configured(&dir, &built.path, SYSTEM_LD_SO, "/lib");
    let again = rld::loader::configure(&fs::read(&once).unwrap(), b"/x/ld.so", b"/lib");
    assert_eq!(
        again.unwrap_err(),
        "it is configured already: configure the loader as it was built"
    );
    let bytes = fs::read(&built.path).unwrap();
    for (ld_so, library_path) in [
        ("ld.so", "/lib"),
        ("/x/ld.so", "lib"),
        ("/x/ld.so", ""),
        ("/x/ld.so", "/lib:relative"),
        ("/x/ld.so", "/lib::/usr/lib"),
    ] {
        assert!(
            rld::loader::configure(&bytes, ld_so.as_bytes(), library_path.as_bytes()).is_err(),
            "{ld_so:?} {library_path:?}"
        );
    }
    // What the rld tool reads back is what was written.
    let read = rld::loader::configured(&fs::read(&once).unwrap()).unwrap();
    assert_eq!(
        read,
        Some(rld::loader::Configured {
            ld_so: PathBuf::from(SYSTEM_LD_SO),
            library_path: "/lib".into(),
        })
    );
    assert_eq!(rld::loader::configured(&bytes).unwrap(), None);
}

/// A service as systemd starts it: through a descriptor
/// ([`rld_tests::fexecve`]), with a service's environment, for a program that finds a library of its
/// own through an `$ORIGIN` run path. With the variable the NixOS module
/// gives services to lend (`RLD_SERVICE`, programs.rld.serviceVariable)
/// it runs; without one, rld starts `ld.so` by hand on `/proc/self/exe`,
/// where `$ORIGIN` is `/proc/self`, and `ld.so` cannot find the library
/// (the limit the README states). The native start is the control.
#[test]
fn a_service_started_through_a_descriptor_keeps_its_origin() {
    let dir = TempDir::new("configured-service");
    let app = dir.join("app");
    let bin = app.join("bin");
    let own = plugins(&dir, "app/lib");
    fs::create_dir_all(&bin).unwrap();
    let built = loader(Default::Missing);
    // The default library path holds nothing of the program's.
    let loader = configured(&dir, &built.path, SYSTEM_LD_SO, "/nonexistent");
    let flags = [
        format!("-L{}", own.display()),
        "-lplugin".into(),
        "-ldl".into(),
        "-Wl,-rpath,$ORIGIN/../lib".into(),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let through_rld = bin.join("needs");
    fs::rename(program("needs.c", &dir, &loader, &flags), &through_rld).unwrap();
    let native = bin.join("needs-native");
    fs::rename(
        program("needs.c", &dir, Path::new(SYSTEM_LD_SO), &flags),
        &native,
    )
    .unwrap();

    let service = [("PATH", "/usr/bin:/bin"), ("INVOCATION_ID", "1")];
    let lendable = [service[0], service[1], ("RLD_SERVICE", "1")];
    for (what, prog, env) in [
        ("native", &native, &service[..]),
        ("native, RLD_SERVICE", &native, &lendable[..]),
        ("through rld, RLD_SERVICE", &through_rld, &lendable[..]),
    ] {
        let o = fexecve(prog, &[] as &[&str], env);
        o.assert_success();
        assert_eq!(o.value("needed"), "42", "{what}: {o:#?}");
    }
    let o = fexecve(&through_rld, &[] as &[&str], &service);
    assert_eq!(o.code, Some(127), "{o:#?}");
    assert!(
        o.stderr
            .contains("libplugin.so: cannot open shared object file"),
        "{o:#?}"
    );
}
