//! `rld doctor` against compiled fixtures and the machine's own programs.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::{SYSTEM_LD_SO, cc, readelf_needed, rld, without_lib64, world};

#[test]
fn runpath_origin_found_and_missing_libraries_named() {
    let w = world();
    let out = rld(["doctor", "--rld", &w.s("bin/app")])
        .nixos(w, &[])
        .run();
    out.code(1)
        .row(&[
            "libfound.so.1 ",
            &format!("{}/bin/../lib/libfound.so.1", w.root.display()),
            &format!("(RUNPATH of {})", w.s("bin/app")),
        ])
        .row(&[
            "libmissing.so.3 ",
            "MISSING, needed by ",
            &w.s("bin/app"),
            " -> no known package",
        ])
        .row(&["libz.so.1 ", "MISSING, needed by ", "-> zlib (rld's table)"])
        .row(&[
            "libc.so.6 ",
            &w.s("glibc/libc.so.6"),
            "(ld.so's own directory)",
        ])
        .has("problem: 2 libraries are missing: libmissing.so.3, libz.so.1")
        .has("verdict: it will not run until the missing libraries are added (exit 1)")
        .has("programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ zlib ]);")
        .has("NIX_LD = pkgs.stdenv.cc.bintools.dynamicLinker;")
        .has("NIX_LD_LIBRARY_PATH = pkgs.lib.makeLibraryPath (with pkgs; [ zlib ]);")
        .has("No package known for libmissing.so.3");
}

#[test]
fn the_same_program_runs_once_the_libraries_are_on_the_path() {
    let w = world();
    rld(["doctor", "--rld", &w.s("bin/app")])
        .nixos(w, &["stub", "zlib"])
        .run()
        .code(0)
        .has("(rld's library path)")
        .has("verdict: it will run (exit 0)")
        .lacks("MISSING");
    // The user's LD_LIBRARY_PATH is searched before rld's path.
    let out = rld(["doctor", "--json", "--rld", &w.s("bin/app")])
        .nixos(w, &["zlib"])
        .env("LD_LIBRARY_PATH", w.path("stub"))
        .run();
    out.code(0);
    let j = out.json();
    let lib = |name: &str| {
        j["libraries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["soname"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(lib("libmissing.so.3")["found_via"], "LD_LIBRARY_PATH");
    assert_eq!(lib("libz.so.1")["found_via"], "rld's library path");
    assert_eq!(lib("libz.so.1")["path"], w.s("zlib/libz.so.1"));
}

#[test]
fn json_report_of_missing_libraries() {
    let w = world();
    let out = rld(["doctor", "--json", "--rld", &w.s("bin/app")])
        .nixos(w, &[])
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["verdict"], "needs-libraries");
    assert_eq!(j["exit_code"], 1);
    assert_eq!(j["elf"]["class"], 64);
    assert_eq!(j["elf"]["machine"], "x86_64");
    assert_eq!(j["elf"]["kind"], "pie-executable");
    assert_eq!(j["elf"]["runpath"][0], "$ORIGIN/../lib");
    assert_eq!(j["ld_so"]["source"], "NIX_LD");
    assert_eq!(j["settings"]["library_path_source"], "NIX_LD_LIBRARY_PATH");
    let needed: Vec<&str> = j["elf"]["needed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(needed, readelf_needed(&w.s("bin/app")));
    let missing: Vec<&str> = j["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["soname"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["libmissing.so.3", "libz.so.1"]);
    assert_eq!(j["missing"][1]["providers"][0]["attribute"], "zlib");
    assert_eq!(j["missing"][1]["providers"][0]["from"], "rld's table");
    assert_eq!(j["missing"][0]["providers"].as_array().unwrap().len(), 0);
    assert_eq!(j["fix"]["attributes"][0], "zlib");
    assert_eq!(j["fix"]["unknown"][0], "libmissing.so.3");
    // NIX_LD_LIBRARY_PATH (the world's empty directory) hides rld's own.
    assert_eq!(
        j["fix"]["nixos"],
        "programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ zlib ]);\n\
         # NIX_LD_LIBRARY_PATH, set here, replaces rld's library path: where it is set, the line above does not reach programs; \
         add the libraries to it instead (as the dev shell below does)\n"
    );
}

#[test]
fn rpath_reaches_dependencies_but_runpath_does_not() {
    let w = world();
    let rpath = rld(["doctor", "--json", &w.s("chain/bin/rpath_app")]).run();
    rpath.code(0);
    let j = rpath.json();
    let dep = j["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["soname"] == "libdep.so.1")
        .unwrap();
    assert_eq!(
        dep["found_via"],
        format!("RPATH of {}", w.s("chain/bin/rpath_app"))
    );
    assert_eq!(dep["needed_by"][0], "libfound.so.1");

    let runpath = rld(["doctor", &w.s("chain/bin/runpath_app")]).run();
    runpath
        .code(1)
        .row(&["libdep.so.1 ", "MISSING, needed by libfound.so.1"]);

    // glibc's own ld.so agrees: the RPATH program runs, the RUNPATH one
    // cannot find libdep.so.1.
    let ok = Command::new(w.path("chain/bin/rpath_app"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(42));
    let bad = Command::new(w.path("chain/bin/runpath_app"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("libdep.so.1: cannot open shared object file")
    );
}

#[test]
fn wrong_arch_candidate_is_skipped_and_the_search_goes_on() {
    let w = world();
    let out = rld(["doctor", "--rld", &w.s("bin/app")])
        .nixos(w, &["stub", "zlib"])
        .env("LD_LIBRARY_PATH", w.path("lib32"))
        .run();
    out.code(0)
        .has(&format!(
            "skipped {}: 32-bit i386, not 64-bit x86_64",
            w.s("lib32/libfound.so.1")
        ))
        .has("(RUNPATH of");
}

#[test]
fn a_32_bit_program_is_resolved_for_i686_linux() {
    let w = world();
    // NIX_LD holds a 64-bit ld.so, which the i686 loader skips; the i686
    // variables are the ones that count.
    let out = rld(["doctor", "--json", &w.s("bin32/prog32")])
        .nixos(w, &[])
        .env("NIX_LD_LIBRARY_PATH_i686_linux", w.path("lib32"))
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["elf"]["class"], 32);
    assert_eq!(j["elf"]["machine"], "i386");
    assert_eq!(j["elf"]["system"], "i686_linux");
    assert_eq!(j["interpreter"]["path"], "/lib/ld-linux.so.2");
    assert_eq!(j["interpreter"]["exists"], false);
    assert_eq!(
        j["settings"]["library_path_source"],
        "NIX_LD_LIBRARY_PATH_i686_linux"
    );
    let cands = j["settings"]["candidates"].as_array().unwrap();
    assert_eq!(cands[0]["source"], "NIX_LD");
    assert_eq!(
        cands[0]["problem"],
        "it is an ld.so for x86_64 (64-bit); this program needs one for i686"
    );
    let lib = &j["libraries"][0];
    assert_eq!(lib["soname"], "libfound.so.1");
    assert_eq!(lib["path"], w.s("lib32/libfound.so.1"));
    let problems = j["problems"].as_array().unwrap();
    assert!(
        problems[0]
            .as_str()
            .unwrap()
            .contains("required file not found")
    );
    assert!(
        problems[1]
            .as_str()
            .unwrap()
            .starts_with("rld has no usable ld.so for i686-linux")
    );
    // The 32-bit libz.so.1 is missing: named from the i686 package set,
    // for the module's 32-bit option and the i686 variables.
    assert_eq!(j["missing"][0]["soname"], "libz.so.1");
    assert_eq!(
        j["fix"]["nixos"],
        "programs.rld.enable = true;\nprograms.rld.enable32Bit = true;\nprograms.rld.libraries32 = \
         options.programs.rld.libraries32.default ++ (with pkgs.pkgsi686Linux; [ zlib ]);\n"
    );
    assert_eq!(
        j["fix"]["dev_shell"],
        "pkgs.mkShell {\n  NIX_LD_i686_linux = pkgs.pkgsi686Linux.stdenv.cc.bintools.dynamicLinker;\n  \
         NIX_LD_LIBRARY_PATH_i686_linux = pkgs.lib.makeLibraryPath (with pkgs.pkgsi686Linux; [ zlib ]);\n}\n"
    );

    // With a 32-bit "ld.so" named for i686 it is chosen over NIX_LD.
    let j = rld(["doctor", "--json", &w.s("bin32/prog32")])
        .nixos(w, &[])
        .env("NIX_LD_i686_linux", w.path("lib32/libfound.so.1"))
        .run()
        .json();
    assert_eq!(j["ld_so"]["source"], "NIX_LD_i686_linux");
}

#[test]
fn missing_interpreter_explains_required_file_not_found() {
    let w = world();
    let prog = w.s("bin/nointerp");
    // What the shell really says.
    let shell = Command::new("bash").arg("-c").arg(&prog).output().unwrap();
    assert!(
        String::from_utf8_lossy(&shell.stderr).contains("cannot execute: required file not found")
    );
    rld(["doctor", &prog])
        .nixos(w, &[])
        .run()
        .code(1)
        .has(&format!(
            "interpreter  {}/nowhere/ld-linux-x86-64.so.2 MISSING",
            w.root.display()
        ))
        .has("which is what the shell's \"cannot execute: required file not found\" means")
        .has("rld is installed only at the standard /lib64/ld-linux-x86-64.so.2, so: run it with `rld run")
        .has(&format!("patchelf --set-interpreter /lib64/ld-linux-x86-64.so.2 {prog}"))
        .lacks("programs.rld.enable");
}

/// NixOS as far as the interpreter goes: nothing at /lib64 (a tmpfs over it
/// in a private mount namespace). rld itself is started by the real ld.so.
#[test]
fn nothing_at_lib64_is_the_nixos_case() {
    let w = world();
    let ld = SYSTEM_LD_SO;
    let script = format!(
        "{ld} /bin/bash -c /usr/bin/git; exec {ld} {} doctor /usr/bin/git",
        env!("CARGO_BIN_EXE_rld")
    );
    let out = without_lib64(&script)
        .env("NIX_LD", w.path("glibc/ld-linux-x86-64.so.2"))
        .env("NIX_LD_LIBRARY_PATH", w.path("empty"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // What the shell says, and what rld says about it.
    assert!(
        stderr.contains("/usr/bin/git: cannot execute: required file not found"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    for want in [
        "interpreter  /lib64/ld-linux-x86-64.so.2 MISSING",
        "which is what the shell's \"cannot execute: required file not found\" means; fix: set programs.rld.enable = true;",
        "programs.rld.enable = true;\n  programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ pcre2 zlib ]);",
    ] {
        assert!(stdout.contains(want), "{want:?} not in:\n{stdout}");
    }
}

#[test]
fn too_old_glibc_is_a_missing_version() {
    let w = world();
    let out = rld(["doctor", "--json", "--rld", &w.s("chain/bin/rpath_app")])
        .env("NIX_LD", w.path("oldglibc/ld-linux-x86-64.so.2"))
        .env("NIX_LD_LIBRARY_PATH", w.path("empty"))
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["verdict"], "needs-configuration");
    let v = j["missing_versions"].as_array().unwrap();
    let glibc = v
        .iter()
        .find(|m| m["version"] == "GLIBC_2.34")
        .expect("GLIBC_2.34 reported");
    assert_eq!(glibc["library"], "libc.so.6");
    assert_eq!(glibc["newest"], "GLIBC_2.17");
    assert_eq!(glibc["library_path"], w.s("oldglibc/libc.so.6"));
    // GLIBC_2.2.5 is defined by the stand-in: not reported.
    assert!(v.iter().all(|m| m["version"] != "GLIBC_2.2.5"));
    // The real libc.so.6 has it: no missing version there.
    let j = rld(["doctor", "--json", "--rld", &w.s("chain/bin/rpath_app")])
        .nixos(w, &[])
        .run()
        .json();
    assert_eq!(j["missing_versions"].as_array().unwrap().len(), 0);
    assert_eq!(j["exit_code"], 0);
}

#[test]
fn static_script_text_missing_and_foreign_files() {
    let w = world();
    rld(["doctor", &w.s("bin/static")])
        .run()
        .code(0)
        .has("ELF 64-bit x86_64 executable")
        .has("statically linked: the kernel runs it as it is");
    rld(["doctor", &w.s("bin/script-ok")])
        .run()
        .code(0)
        .has("a script (#!/bin/sh)")
        .has("the kernel runs it with /bin/sh");
    rld(["doctor", &w.s("bin/script-bad")])
        .run()
        .code(2)
        .has("its #! interpreter /nonexistent/bash does not exist")
        .has("#!/usr/bin/env bash");
    rld(["doctor", &w.s("bin/notes.txt")])
        .run()
        .code(2)
        .has("a text file without a #! line");
    rld(["doctor", &w.s("bin/none")])
        .run()
        .code(2)
        .has(&format!(
            "cannot read {}: No such file or directory",
            w.s("bin/none")
        ));
    // With no binfmt_misc handler: the machine's own (qemu-user-static
    // registers some) would have it examined as an aarch64 program.
    rld(["doctor", &w.s("bin/aarch64")])
        .binfmt_misc("")
        .run()
        .code(2)
        .has("it is built for 64-bit aarch64, and this machine's kernel runs x86_64-linux and i686-linux programs natively")
        .has("boot.binfmt.emulatedSystems = [ \"aarch64-linux\" ];");
    rld(["doctor", &w.s("bin/musl")])
        .run()
        .code(2)
        .has("it is linked against musl (/lib/ld-musl-x86_64.so.1)");
    for (file, kind, code) in [
        ("bin/static", "executable", 0),
        ("bin/script-bad", "", 2),
        ("bin/none", "", 2),
        ("bin/aarch64", "pie-executable", 2),
    ] {
        let j = rld(["doctor", "--json", &w.s(file)])
            .binfmt_misc("")
            .run()
            .json();
        assert_eq!(j["exit_code"], code, "{file}");
        if !kind.is_empty() {
            assert_eq!(j["elf"]["kind"], kind, "{file}");
        }
    }
    let j = rld(["doctor", "--json", &w.s("bin/script-bad")])
        .run()
        .json();
    assert_eq!(j["script"]["interpreter"], "/nonexistent/bash");
    assert_eq!(j["script"]["interpreter_exists"], false);
    assert_eq!(j["file"], "a script (#!/nonexistent/bash -e)");
    let j = rld(["doctor", "--json", &w.s("bin/none")]).run().json();
    assert_eq!(j["file"], "missing");
    assert_eq!(j["verdict"], "cannot-run");
}

#[test]
fn a_shared_object_is_accepted() {
    let w = world();
    let out = rld(["doctor", "--json", &w.s("chain/lib/libfound.so.1")])
        .nixos(w, &[])
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["elf"]["kind"], "shared-object");
    assert_eq!(j["elf"]["soname"], "libfound.so.1");
    assert_eq!(j["missing"][0]["soname"], "libdep.so.1");
    rld(["doctor", &w.s("chain/lib/libfound.so.1")])
        .nixos(w, &["chain/deplib"])
        .run()
        .code(0)
        .has("it is a shared object")
        .has("verdict: it will run (exit 0)\n  rld checked the libraries it names, not one it may load while running (dlopen)");
    // Where something is missing, the verdict needs no such caveat.
    rld(["doctor", &w.s("chain/lib/libfound.so.1")])
        .nixos(w, &[])
        .run()
        .code(1)
        .lacks("rld checked the libraries it names");
}

#[test]
fn nix_locate_is_asked_when_on_path() {
    let w = world();
    let bin = w.path("fake-nix-index");
    std::fs::create_dir_all(&bin).unwrap();
    let log = w.path("fake-nix-index/args");
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> {}\necho missingpkg.out\necho '(missingpkg.dev)'\n",
        log.display()
    );
    std::fs::write(bin.join("nix-locate"), script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        bin.join("nix-locate"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = rld(["doctor", "--rld", &w.s("bin/app")])
        .nixos(w, &["zlib"])
        .env("PATH", &path)
        .run();
    out.code(1)
        .row(&[
            "libmissing.so.3 ",
            "MISSING, needed by",
            "-> missingpkg (nix-locate)",
        ])
        .has("programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ missingpkg ]);");
    let args = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        args.trim(),
        "--minimal --top-level --whole-name --at-root /lib/libmissing.so.3"
    );
    // --no-locate leaves it alone.
    std::fs::remove_file(&log).unwrap();
    rld(["doctor", "--no-locate", "--rld", &w.s("bin/app")])
        .nixos(w, &["zlib"])
        .env("PATH", &path)
        .run()
        .code(1)
        .has(" -> no known package");
    assert!(!log.exists());
}

/// The machine's own programs: every DT_NEEDED that readelf lists is
/// reported, and found next to Debian's ld.so.
#[test]
fn real_binaries_of_this_machine() {
    for prog in ["/usr/bin/python3.11", "/usr/bin/git", "/usr/bin/perl"] {
        let out = rld(["doctor", "--json", prog]).run();
        out.code(0);
        let j = out.json();
        assert_eq!(j["resolved_as"], "interpreter", "{prog}");
        assert_eq!(j["interpreter"]["is"], "ld.so", "{prog}");
        let direct: Vec<String> = j["libraries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["needed_by"].as_array().unwrap().iter().any(|n| n == prog))
            .map(|l| l["soname"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(direct, readelf_needed(prog), "{prog}");
        for l in j["libraries"].as_array().unwrap() {
            let path = l["path"]
                .as_str()
                .unwrap_or_else(|| panic!("{prog}: {l} missing"));
            assert!(std::path::Path::new(path).exists());
        }
    }
}

/// The same programs under rld with a glibc directory that holds only
/// ld.so, libc.so.6 and libm.so.6: libz.so.1 (python, git) and every other
/// library of perl's is missing and named.
#[test]
fn real_binaries_under_a_bare_glibc() {
    let w = world();
    for prog in ["/usr/bin/python3.11", "/usr/bin/git"] {
        assert!(readelf_needed(prog).contains(&"libz.so.1".to_owned()));
        rld(["doctor", "--rld", prog])
            .nixos(w, &[])
            .run()
            .code(1)
            .row(&[
                "libz.so.1 ",
                "MISSING, needed by ",
                prog,
                "-> zlib (rld's table)",
            ])
            .row(&[
                "programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ ",
                "zlib ",
                "]);",
            ]);
    }
    let out = rld(["doctor", "--json", "--rld", "/usr/bin/perl"])
        .nixos(w, &[])
        .run();
    out.code(1);
    let j = out.json();
    let missing: Vec<&str> = j["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["soname"].as_str().unwrap())
        .collect();
    for soname in readelf_needed("/usr/bin/perl") {
        if !w.path("glibc").join(&soname).exists() {
            assert!(
                missing.contains(&soname.as_str()),
                "{soname} not reported missing: {missing:?}"
            );
        }
    }
}

/// A Python extension module of this machine: a shared object with no
/// interpreter, whose libssl.so.3 and libcrypto.so.3 rld names.
#[test]
fn a_real_python_extension_module() {
    let w = world();
    let ssl = "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so";
    let out = rld(["doctor", "--json", ssl]).nixos(w, &[]).run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["elf"]["kind"], "shared-object");
    assert_eq!(j["resolved_as"], "rld");
    let missing: Vec<&str> = j["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["soname"].as_str().unwrap())
        .collect();
    let mut want: Vec<String> = readelf_needed(ssl);
    want.retain(|s| !w.path("glibc").join(s).exists());
    assert_eq!(missing, want);
    assert_eq!(j["fix"]["attributes"], serde_json::json!(["openssl"]));
    // rld's snippets reach it only through a python that runs through rld;
    // one from nixpkgs has its own ld.so, which reads LD_LIBRARY_PATH.
    assert_eq!(
        j["fix"]["applies_when"],
        "the program that loads it runs through rld (one downloaded, not one from nixpkgs)"
    );
    assert!(
        j["fix"]["ld_library_path"]
            .as_str()
            .unwrap()
            .contains("LD_LIBRARY_PATH = pkgs.lib.makeLibraryPath (with pkgs; [ openssl ]);"),
        "{}",
        j["fix"]
    );
    rld(["doctor", ssl])
        .nixos(w, &[])
        .run()
        .code(1)
        .has("When the program that loads it comes from nixpkgs, its ld.so is not rld and reads LD_LIBRARY_PATH")
        .has("Only when the program that loads it runs through rld (one downloaded, not one from nixpkgs), in configuration.nix");
    // With Debian's library directory on rld's path it loads.
    rld(["doctor", ssl])
        .nixos(w, &["empty", "/usr/lib/x86_64-linux-gnu"])
        .run()
        .code(0);
}

/// An LD_LIBRARY_PATH holding another glibc's libc.so.6 shadows the one
/// beside the chosen ld.so: rld says so.
#[test]
fn libc_from_another_glibc_is_pointed_out() {
    let w = world();
    let j = rld(["doctor", "--json", "--rld", &w.s("chain/bin/rpath_app")])
        .nixos(w, &[])
        .env("LD_LIBRARY_PATH", "/lib/x86_64-linux-gnu")
        .run()
        .json();
    let libc = j["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["soname"] == "libc.so.6")
        .unwrap();
    assert_eq!(libc["found_via"], "LD_LIBRARY_PATH");
    let note = format!(
        "libc.so.6 comes from /usr/lib/x86_64-linux-gnu but ld.so from {}; they must come from the same glibc",
        std::fs::canonicalize(w.path("glibc")).unwrap().display()
    );
    assert!(
        j["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with(&note)),
        "{}",
        j["notes"]
    );
    // Without it, no such note.
    let j = rld(["doctor", "--json", "--rld", &w.s("chain/bin/rpath_app")])
        .nixos(w, &[])
        .run()
        .json();
    assert!(
        j["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n.as_str().unwrap().contains("comes from"))
    );
}

/// A program whose interpreter is the real rld-loader (built here) is
/// recognised by the loader's ELF note, and resolved the way rld runs it.
#[test]
fn rld_loader_as_interpreter_is_recognised() {
    let w = world();
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("loader");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "rld-loader",
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .status()
        .unwrap();
    assert!(status.success());
    let loader = target.join("release/rld-loader");
    let prog = w.path("bin/via-rld");
    cc(
        &w.root,
        &format!(
            "{} -o {} -Wl,--dynamic-linker={}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hello.c"),
            prog.display(),
            loader.display()
        ),
    );
    rld(["doctor", prog.to_str().unwrap()])
        .env("NIX_LD", "/lib64/ld-linux-x86-64.so.2")
        .run()
        .has("(rld-loader)")
        .has("/lib64/ld-linux-x86-64.so.2 (from NIX_LD)");
}

/// A name without a slash is looked up in PATH, as a shell does; an empty
/// PROGRAM is a usage error.
#[test]
fn a_name_is_looked_up_in_path() {
    let w = world();
    // Control: the current directory has no `true`; only PATH does.
    assert!(!w.path("true").exists());
    let out = rld(["doctor", "true"]).cwd(&w.root).nixos(w, &[]).run();
    out.code(0)
        .has("/usr/bin/true: ELF 64-bit x86_64")
        .has("note: true is /usr/bin/true (from PATH)")
        .has("verdict: it will run (exit 0)");
    assert_eq!(out.stderr, "");
    let j = rld(["doctor", "--json", "true"]).cwd(&w.root).run();
    j.code(0);
    let j = j.json();
    assert_eq!(j["program"], "/usr/bin/true");
    assert_eq!(j["notes"][0], "true is /usr/bin/true (from PATH)");
    // The first executable one wins; PATH's order counts.
    let out = rld(["doctor", "--json", "sh"])
        .env("PATH", "/bin:/usr/bin")
        .run()
        .json();
    assert_eq!(out["program"], "/bin/sh");
    // Not in PATH: the shell's "command not found".
    let out = rld(["doctor", "no-such-command"]).cwd(&w.root).run();
    out.code(2)
        .has("no-such-command: not found in PATH")
        .has("problem: no-such-command: command not found: no file named no-such-command in PATH (/usr/bin:/bin)")
        .has("verdict: it cannot run on this machine (exit 2)");
    // A file of that name in the current directory is what was meant: the
    // shell would not find it either, and doctor says how to name it.
    let here = w.path("here");
    std::fs::create_dir_all(&here).unwrap();
    std::fs::copy("/usr/bin/true", here.join("tool")).unwrap();
    rld(["doctor", "tool"])
        .cwd(&here)
        .run()
        .code(2)
        .has("no file named tool in PATH (/usr/bin:/bin), which is what the shell's \"command not found\" means; ./tool is the one in the current directory: `rld doctor ./tool`");
    let j = rld(["doctor", "--json", "no-such-command"]).run();
    j.code(2);
    let j = j.json();
    assert_eq!(j["file"], "not found in PATH");
    assert_eq!(j["verdict"], "cannot-run");
    // A path with a slash is not looked up.
    rld(["doctor", "./true"])
        .cwd(&w.root)
        .run()
        .code(2)
        .has("cannot read ./true: No such file or directory");
    for args in [["doctor", ""], ["run", ""]] {
        let out = rld(args).run();
        out.code(2);
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr.starts_with("rld: ") && out.stderr.contains("PROGRAM"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr
                .ends_with(&format!("see `rld {} --help`\n", args[0])),
            "{}",
            out.stderr
        );
    }
}

/// A program without its execute bit: the shell says "Permission denied"
/// (126), so the verdict is not "it will run"; the fix is chmod +x.
#[test]
fn a_program_without_execute_permission_will_not_run() {
    use std::os::unix::fs::PermissionsExt;
    let w = world();
    let dir = w.path("noexec");
    std::fs::create_dir_all(&dir).unwrap();
    let prog = dir.join("hello");
    let hello = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hello.c");
    cc(&dir, &format!("{hello} -o hello"));
    cc(&dir, &format!("-static {hello} -o hello-static"));
    std::fs::write(dir.join("script"), "#!/bin/sh\necho hi\n").unwrap();
    for name in ["hello", "hello-static", "script"] {
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let shown = prog.display().to_string();
    // Control: what the shell says.
    let shell = Command::new("bash").arg("-c").arg(&shown).output().unwrap();
    assert_eq!(shell.status.code(), Some(126));
    assert!(String::from_utf8_lossy(&shell.stderr).contains("Permission denied"));

    let out = rld(["doctor", &shown]).run();
    out.code(1)
        .has(&format!(
            "problem: {shown} is not executable (no x permission), so the shell fails with \"Permission denied\" (exit 126); fix: `chmod +x {shown}`\n"
        ))
        .has("verdict: it will not run until it is made executable (chmod +x) (exit 1)")
        .lacks("it will run");
    assert_eq!(out.stderr, "");
    let j = rld(["doctor", "--json", &shown]).run();
    j.code(1);
    let j = j.json();
    assert_eq!(j["verdict"], "not-executable");
    assert_eq!(j["exit_code"], 1);
    assert!(j["fix"].is_null());

    // A static program and a script alike.
    let s = dir.join("hello-static").display().to_string();
    let j = rld(["doctor", "--json", &s]).run().json();
    assert_eq!(j["verdict"], "not-executable");
    assert_eq!(j["exit_code"], 1);
    let script = dir.join("script").display().to_string();
    rld(["doctor", &script])
        .run()
        .code(1)
        .has(&format!(
            "fix: `chmod +x {script}` (or run it as `/bin/sh {script}`)"
        ))
        .has("verdict: it will not run until it is made executable (chmod +x) (exit 1)");

    // chmod +x is the whole fix.
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    rld(["doctor", &shown])
        .run()
        .code(0)
        .has("verdict: it will run (exit 0)");
}

/// Single-file mode reads only the parts of a program it needs (header,
/// program headers, dynamic section, strings, version sections), never the
/// whole file: a copy of a small program made 1 GiB long (sparse) gets the
/// small program's answer, under an address-space limit of 256 MiB that a
/// whole-file read cannot fit in.
#[test]
fn a_huge_program_is_not_read_whole() {
    let w = world();
    let small = w.s("chain/bin/rpath_app");
    let huge = w.s("chain/bin/huge_app");
    std::fs::copy(&small, &huge).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    for flags in [&[][..], &["--json"][..]] {
        let want = rld(["doctor"].iter().chain(flags).chain(&[small.as_str()])).run();
        want.code(0);
        let started = std::time::Instant::now();
        let out = Command::new("sh")
            .args(["-c", "ulimit -v 262144 && exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_rld"))
            .arg("doctor")
            .args(flags)
            .arg(&huge)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        eprintln!(
            "rld doctor {flags:?} on a 1 GiB program: {:?}",
            started.elapsed()
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert_eq!(stderr, "");
        assert_eq!(stdout, want.stdout.replace(&small, &huge));
    }
}

/// A usable ld.so whose directory lacks one of glibc's own libraries
/// (libm.so.6 here): that glibc is incomplete, or the ld.so is no glibc's.
/// The fix is another ld.so; glibc is never added to the library list,
/// which would load libm from one glibc beside the ld.so of another.
#[test]
fn a_glibc_library_missing_beside_the_ld_so_is_not_a_library_to_add() {
    let w = world();
    let dir = w.path("partglibc");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["ld-linux-x86-64.so.2", "libc.so.6"] {
        std::fs::copy(w.path("glibc").join(name), dir.join(name)).unwrap();
    }
    let hello = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hello.c");
    cc(
        &w.root,
        &format!("{hello} -o bin/needs_libm -Lzlib -Wl,--no-as-needed -lm -l:libz.so.1"),
    );
    let prog = w.s("bin/needs_libm");
    let ld_so = dir.join("ld-linux-x86-64.so.2");
    let run = |json: bool| {
        let mut args = vec!["doctor", "--rld"];
        if json {
            args.push("--json");
        }
        args.push(&prog);
        rld(args)
            .env("NIX_LD", &ld_so)
            .env("NIX_LD_LIBRARY_PATH", w.path("empty"))
            .run()
    };
    let out = run(false);
    let canonical = std::fs::canonicalize(&dir).unwrap();
    out.code(1)
        .has("libraries: 4 needed, 2 found, 1 missing, 1 missing from the ld.so's glibc\n")
        .row(&[
            "libm.so.6 ",
            "MISSING from the ld.so's glibc, needed by ",
            &prog,
            ": it comes with glibc, not from the library list",
        ])
        .row(&["libz.so.1 ", "MISSING, needed by ", "-> zlib (rld's table)"])
        .has(&format!(
            "problem: libm.so.6 comes with glibc, but the ld.so's own directory {} lacks it: the glibc of {} (from NIX_LD) is incomplete, or it is not a glibc ld.so; adding glibc to the library list would not help (libc from one glibc beside the ld.so of another crashes); fix: point NIX_LD at a complete glibc's ld.so (in a dev shell: NIX_LD = pkgs.stdenv.cc.bintools.dynamicLinker;)\n",
            canonical.display(),
            ld_so.display()
        ))
        .has("problem: 1 library is missing: libz.so.1\n")
        .has("programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ zlib ]);")
        .lacks("glibc ]")
        .lacks("[ glibc");
    assert_eq!(out.stderr, "");
    let out = run(true);
    out.code(1);
    assert_eq!(out.stderr, "");
    let j = out.json();
    assert_eq!(j["verdict"], "needs-libraries");
    assert_eq!(j["missing_from_glibc"], serde_json::json!(["libm.so.6"]));
    assert_eq!(j["missing"][0]["soname"], "libz.so.1");
    assert_eq!(j["missing"].as_array().unwrap().len(), 1);
    assert_eq!(j["fix"]["attributes"], serde_json::json!(["zlib"]));

    // Only libm missing: a configuration problem, no library snippet.
    let out = rld(["doctor", "--rld", "--json", &prog])
        .env("NIX_LD", &ld_so)
        .env("NIX_LD_LIBRARY_PATH", w.path("zlib"))
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["verdict"], "needs-configuration");
    assert_eq!(j["missing"], serde_json::json!([]));
    assert_eq!(j["fix"]["attributes"], serde_json::json!([]));
    assert_eq!(j["fix"]["nixos"], "");
}

/// A program started by its own real ld.so (here a "patchelf'd" one whose
/// interpreter is a glibc ld.so elsewhere; a Nix-built one has it in
/// /nix/store) never reads rld's configuration: the fixes offered are the
/// ones that reach it (RUNPATH, LD_LIBRARY_PATH, `rld run`), and rld's
/// snippets say they apply only when it is run through rld.
#[test]
fn a_program_with_its_own_ld_so_gets_fixes_that_reach_it() {
    let w = world();
    let app = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/app.c");
    cc(
        &w.root,
        &format!(
            "{app} -o bin/patched_app -Llib -Lstub -Lzlib -Wl,--no-as-needed -l:libfound.so.1 -l:libmissing.so.3 \
             -l:libz.so.1 -Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib -Wl,--dynamic-linker={}",
            w.s("glibc/ld-linux-x86-64.so.2")
        ),
    );
    let prog = w.s("bin/patched_app");
    // Control: NIX_LD_LIBRARY_PATH does not reach it; LD_LIBRARY_PATH does.
    let nix = Command::new(&prog)
        .env_clear()
        .env("NIX_LD_LIBRARY_PATH", w.path("stub"))
        .output()
        .unwrap();
    assert_eq!(nix.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&nix.stderr)
            .contains("libmissing.so.3: cannot open shared object file")
    );
    let ld = Command::new(&prog)
        .env_clear()
        .env("LD_LIBRARY_PATH", w.path("stub"))
        .output()
        .unwrap();
    assert_eq!(ld.status.code(), Some(42));

    let only = format!(
        "it is run through rld (`rld run {prog}`, or after `patchelf --set-interpreter /lib64/ld-linux-x86-64.so.2 {prog}` once programs.rld.enable = true; installs rld there)"
    );
    let problem = format!(
        "problem: {} is a real ld.so, not rld, so programs.rld.libraries and NIX_LD_LIBRARY_PATH do not reach {prog}: its ld.so searches its RUNPATH, LD_LIBRARY_PATH and its own directory; fix: give it a RUNPATH that holds them: `patchelf --add-rpath DIR {prog}`; for a one-off, set LD_LIBRARY_PATH to the libraries' directories; or run it through rld's configuration with `rld run {prog}`\n",
        w.s("glibc/ld-linux-x86-64.so.2")
    );
    let out = rld(["doctor", &prog]).nixos(w, &[]).run();
    out.code(1)
        .row(&["libz.so.1 ", "MISSING, needed by ", "-> zlib (rld's table)"])
        .has("problem: 2 libraries are missing: libmissing.so.3, libz.so.1\n")
        .has(&problem)
        .has("\nFor a one-off, LD_LIBRARY_PATH reaches its own ld.so; in a dev shell (every program started there sees it):\n  pkgs.mkShell {\n    LD_LIBRARY_PATH = pkgs.lib.makeLibraryPath (with pkgs; [ zlib ]);\n  }\n")
        .has(&format!(
            "\nOnly when {only}, in configuration.nix (`options` is a module argument, like `pkgs`):\n  programs.rld.libraries = "
        ))
        .has("\nOr, also only then, in a dev shell:\n  pkgs.mkShell {\n    NIX_LD = ")
        .lacks("\nIn configuration.nix")
        .lacks("\nOr in a dev shell:");
    assert_eq!(out.stderr, "");
    let out = rld(["doctor", "--json", &prog]).nixos(w, &[]).run();
    out.code(1);
    assert_eq!(out.stderr, "");
    let j = out.json();
    assert_eq!(j["verdict"], "needs-libraries");
    assert_eq!(j["resolved_as"], "interpreter");
    assert_eq!(j["fix"]["applies_when"], only);
    assert_eq!(
        j["fix"]["ld_library_path"],
        "pkgs.mkShell {\n  LD_LIBRARY_PATH = pkgs.lib.makeLibraryPath (with pkgs; [ zlib ]);\n}\n"
    );
    assert_eq!(j["problems"][1], problem["problem: ".len()..].trim_end());

    // With no ld.so configured for rld, `rld run` is offered as what works
    // once there is one.
    rld(["doctor", &prog]).run().code(1).has(&format!(
        "or run it through rld's configuration with `rld run {prog}` once rld has a usable ld.so (see `rld doctor --rld {prog}`)\n"
    ));

    // The standard path holding a real ld.so (this Debian machine): the
    // system's own; patchelf to it would change nothing.
    let dir = w.path("ownld");
    std::fs::create_dir_all(&dir).unwrap();
    let missing = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/missing.c");
    cc(
        &dir,
        &format!("-shared -fPIC -Wl,-soname,libcrypt.so.2 {missing} -o libcrypt.so.2"),
    );
    cc(
        &dir,
        &format!(
            "{app} -o debian_app -L. -L../lib -Wl,--no-as-needed -l:libcrypt.so.2 -l:libfound.so.1"
        ),
    );
    let debian = dir.join("debian_app").display().to_string();
    let out = rld(["doctor", &debian]).nixos(w, &[]).run();
    out.code(1)
        .row(&["libcrypt.so.2 ", "MISSING", "-> libxcrypt (rld's table)"])
        .has("fix: an ld.so at the standard path that is not rld is the system's own (another distribution, or a NixOS whose environment.ldso is a glibc ld.so): install the libraries where it looks")
        .has(&format!(
            "\nOnly when it is run through rld (`rld run {debian}`), in configuration.nix"
        ))
        .lacks("patchelf --set-interpreter");
    let j = rld(["doctor", "--json", &debian])
        .nixos(w, &[])
        .run()
        .json();
    assert_eq!(
        j["fix"]["applies_when"],
        format!("it is run through rld (`rld run {debian}`)")
    );
    // Under --rld the snippets reach it as they are: no label.
    let j = rld(["doctor", "--json", "--rld", &prog])
        .nixos(w, &[])
        .run()
        .json();
    assert!(j["fix"]["applies_when"].is_null());
    assert_eq!(j["fix"]["ld_library_path"], "");
}

/// A missing interpreter at a path where rld is not installed: rld's
/// snippets reach the program only through `rld run` or after patchelf.
#[test]
fn a_missing_nonstandard_interpreter_labels_the_snippets() {
    let w = world();
    let app = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/app.c");
    cc(
        &w.root,
        &format!(
            "{app} -o bin/nointerp_z -Llib -Lzlib -Wl,--no-as-needed -l:libfound.so.1 -l:libz.so.1 -Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib -Wl,--dynamic-linker={}",
            w.s("nowhere/ld-linux-x86-64.so.2")
        ),
    );
    let prog = w.s("bin/nointerp_z");
    let only = format!(
        "it is run through rld (`rld run {prog}`, or after `patchelf --set-interpreter /lib64/ld-linux-x86-64.so.2 {prog}` once programs.rld.enable = true; installs rld there)"
    );
    let out = rld(["doctor", &prog]).nixos(w, &[]).run();
    out.code(1)
        .has("problem: 1 library is missing: libz.so.1\n")
        .has(&format!(
            "\nOnly when {only}, in configuration.nix (`options` is a module argument, like `pkgs`):\n  programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ zlib ]);\n"
        ))
        .has("\nOr, also only then, in a dev shell:\n  pkgs.mkShell {\n    NIX_LD = pkgs.stdenv.cc.bintools.dynamicLinker;\n    NIX_LD_LIBRARY_PATH = pkgs.lib.makeLibraryPath (with pkgs; [ zlib ]);\n  }\n")
        .lacks("\nIn configuration.nix")
        .lacks("\nOr in a dev shell:")
        .lacks(" LD_LIBRARY_PATH = ");
    assert_eq!(out.stderr, "");
    let out = rld(["doctor", "--json", &prog]).nixos(w, &[]).run();
    out.code(1);
    assert_eq!(out.stderr, "");
    let j = out.json();
    assert_eq!(j["verdict"], "needs-libraries");
    assert_eq!(j["fix"]["applies_when"], only);
    assert_eq!(j["fix"]["ld_library_path"], "");
    assert!(j["fix"]["dev_shell_requires"].is_null());

    // The fixture of the world, with nothing to add but an ld.so: the
    // dev-shell NIX_LD line is labelled alike.
    let bare = w.s("bin/nointerp");
    rld(["doctor", &bare])
        .env("NIX_LD", "/nowhere/ld.so")
        .run()
        .code(1)
        .has(&format!(
            "\nOnly when it is run through rld (`rld run {bare}`, or after"
        ))
        .lacks("\nOr in a dev shell:");
}

/// libxml2 2.14 changed its soname to libxml2.so.16, and nixpkgs' `libxml2`
/// followed: a program built against libxml2.so.2 (most downloaded ones)
/// needs `libxml2_13`, the package nixpkgs keeps for that soname.
#[test]
fn libxml2_so_2_is_libxml2_13() {
    let w = world();
    let dir = w.path("xml");
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    let found = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/found.c");
    let app = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/app.c");
    for soname in ["libxml2.so.2", "libxml2.so.16"] {
        cc(
            &dir,
            &format!("-shared -fPIC -Wl,-soname,{soname} {found} -o lib/{soname}"),
        );
    }
    cc(
        &dir,
        &format!("{app} -o app -Llib -Wl,--no-as-needed -l:libxml2.so.2 -l:libxml2.so.16"),
    );
    let prog = dir.join("app").display().to_string();
    // Control: the program needs both.
    assert_eq!(
        readelf_needed(&prog)[..2],
        ["libxml2.so.2".to_owned(), "libxml2.so.16".to_owned()]
    );
    rld(["doctor", "--rld", &prog])
        .nixos(w, &[])
        .run()
        .code(1)
        .row(&["libxml2.so.2 ", "MISSING", "-> libxml2_13 (rld's table)"])
        .row(&["libxml2.so.16 ", "MISSING", "-> libxml2 (rld's table)"])
        .has("(with pkgs; [ libxml2_13 libxml2 ]);");
}

/// `#!/usr/bin/env NAME`: env, not the kernel, finds NAME, in PATH. On
/// NixOS /usr/bin/env is always there and NAME often is not: env then fails
/// with "No such file or directory" (exit 127), so the script will not run.
/// The kernel passes everything after the interpreter to env as one word.
#[test]
fn an_env_script_needs_its_program_in_path() {
    use std::os::unix::fs::PermissionsExt;
    let w = world();
    let dir = w.path("envscripts");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let script = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    };
    let missing = script("missing", "#!/usr/bin/env rld-no-such-tool\necho hi\n");
    let two_words = script("two-words", "#!/usr/bin/env sh -e\necho hi\n");
    let split = script("split", "#!/usr/bin/env -S sh -e\necho hi\n");
    let found = script("found", "#!/usr/bin/env sh\necho hi\n");
    let path = "/usr/bin:/bin";
    // Control: what running them does.
    let run = |s: &str| {
        Command::new(s)
            .env_clear()
            .env("PATH", path)
            .output()
            .unwrap()
    };
    for s in [&missing, &two_words] {
        let out = run(s);
        assert_eq!(out.status.code(), Some(127), "{s}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("No such file or directory"));
    }
    for s in [&split, &found] {
        assert_eq!(run(s).status.code(), Some(0), "{s}");
    }

    rld(["doctor", &missing])
        .run()
        .code(1)
        .has(&format!(
            "problem: env looks rld-no-such-tool up in PATH ({path}) and finds none, so it fails with \"env: 'rld-no-such-tool': No such file or directory\" (exit 127); fix: put a rld-no-such-tool in PATH (in a dev shell or your profile), or give its path on the first line\n"
        ))
        .has("verdict: it will not run until the problem above is fixed (exit 1)")
        .lacks("it will run");
    let j = rld(["doctor", "--json", &missing]).run();
    j.code(1);
    assert_eq!(j.json()["verdict"], "needs-configuration");

    rld(["doctor", &two_words])
        .run()
        .code(1)
        .has("problem: the kernel passes `sh -e` to env as one word, so env looks for a program named \"sh -e\" and fails with \"No such file or directory\" (exit 127); fix: change its first line to `#!/usr/bin/env -S sh -e`\n")
        .lacks("it will run");

    for s in [&split, &found] {
        rld(["doctor", s])
            .run()
            .code(0)
            .has("note: the kernel runs it with /usr/bin/env, which runs sh from PATH: /usr/bin/sh; run `rld doctor /usr/bin/sh` if that program does not start\n")
            .has("verdict: it will run (exit 0)");
    }
}

/// A program cut short (an interrupted download): the answer says so in a
/// sentence whose verb agrees with what is cut off.
#[test]
fn a_truncated_program_is_cut_short() {
    let w = world();
    let whole = std::fs::read(w.path("bin/app")).unwrap();
    let cut = w.path("bin/app-cut");
    std::fs::write(&cut, &whole[..100]).unwrap();
    let shown = cut.display().to_string();
    let out = rld(["doctor", &shown]).run();
    out.code(2).has(&format!(
        "problem: {shown} is a damaged ELF file: the file (100 bytes) ends before the end of its program headers (offset 0x40, "
    ))
    .has("an incomplete download or copy?")
    .lacks(" lies ");
}
