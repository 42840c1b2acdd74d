//! `rld doctor`'s fixes are ones that work: when the ld.so or rld itself is
//! what is missing, it says so instead of asking for libraries, and it
//! labels what works only later. Wording is the same for every system.

mod support;

use support::{Out, SYSTEM_LD_SO, rld, without_lib64, world};

fn list(j: &serde_json::Value) -> Vec<&str> {
    j.as_array()
        .unwrap_or_else(|| panic!("not an array: {j}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// Nothing at rld's default ld.so and no `NIX_LD`: libc.so.6 is not a
/// missing library (glibc in the library list would not help); the ld.so is
/// the problem, and enabling rld (or `NIX_LD` in a dev shell) the fix.
#[test]
fn no_usable_ld_so_is_the_problem_not_glibc() {
    let w = world();
    // Control: the program needs libc.so.6, and rld's default is not there.
    let prog = w.s("chain/bin/rpath_app");
    assert!(support::readelf_needed(&prog).contains(&"libc.so.6".to_owned()));
    let env = rld(["env", "--json"]).run();
    env.code(1);
    let default = env.json()["candidates"][0]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!std::path::Path::new(&default).exists());

    let out = rld(["doctor", "--rld", &prog]).run();
    out.code(1)
        .has("ld.so        none usable\n")
        .has("libraries: 3 needed, 2 found, 0 missing, 1 unresolved until an ld.so is configured\n")
        .row(&["libc.so.6 ", "UNRESOLVED: comes with the ld.so's glibc, and no ld.so is usable"])
        .has(&format!(
            "problem: rld has no usable ld.so for x86_64-linux: {default} (from rld's default): No such file or directory (ENOENT); \
             until one is, glibc's own libraries (libc.so.6) cannot be resolved, and adding glibc to the library list would not help: they come with the ld.so; \
             fix: set programs.rld.enable = true; in configuration.nix, which installs rld's default ld.so, \
             or in a dev shell set NIX_LD = pkgs.stdenv.cc.bintools.dynamicLinker;\n"
        ))
        .has("verdict: it will not run until the problem above is fixed (exit 1)\n")
        .has(
            "\nIn configuration.nix:\n  programs.rld.enable = true;\n\
             \nOr in a dev shell:\n  pkgs.mkShell {\n    NIX_LD = pkgs.stdenv.cc.bintools.dynamicLinker;\n  }\n",
        )
        .lacks("MISSING")
        .lacks("glibc ]")
        .lacks("programs.rld.libraries")
        .lacks("NIX_LD_LIBRARY_PATH");
    assert_eq!(out.stderr, "");

    let out = rld(["doctor", "--json", "--rld", &prog]).run();
    out.code(1);
    assert_eq!(out.stderr, "");
    let j = out.json();
    assert_eq!(j["verdict"], "needs-configuration");
    assert_eq!(j["ld_so"]["path"], serde_json::Value::Null);
    assert_eq!(j["missing"], serde_json::json!([]));
    assert_eq!(list(&j["unresolved"]), ["libc.so.6"]);
    assert_eq!(j["fix"]["attributes"], serde_json::json!([]));
    assert_eq!(j["fix"]["nixos"], "programs.rld.enable = true;\n");
    assert_eq!(
        j["fix"]["dev_shell"],
        "pkgs.mkShell {\n  NIX_LD = pkgs.stdenv.cc.bintools.dynamicLinker;\n}\n"
    );
    assert_eq!(j["fix"]["dev_shell_requires"], serde_json::Value::Null);

    // Libraries that do not come with glibc are still missing, and named;
    // the snippet enables rld and adds them, never glibc.
    let out = rld(["doctor", "--rld", &w.s("bin/app")]).run();
    out.code(1)
        .row(&["libz.so.1 ", "MISSING, needed by ", "-> zlib (rld's table)"])
        .row(&["libc.so.6 ", "UNRESOLVED"])
        .has("problem: 2 libraries are missing: libmissing.so.3, libz.so.1\n")
        .has("  programs.rld.enable = true;\n  programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ zlib ]);\n")
        .lacks("glibc ]");
    let j = rld(["doctor", "--json", "--rld", &w.s("bin/app")])
        .run()
        .json();
    assert_eq!(j["verdict"], "needs-libraries");
    let missing: Vec<&str> = j["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["soname"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["libmissing.so.3", "libz.so.1"]);
    assert_eq!(list(&j["unresolved"]), ["libc.so.6"]);
    assert_eq!(list(&j["fix"]["attributes"]), ["zlib"]);

    // Control: with an ld.so, libc.so.6 is found beside it and nothing is
    // unresolved.
    let j = rld(["doctor", "--json", "--rld", &prog])
        .nixos(w, &[])
        .run()
        .json();
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["unresolved"], serde_json::json!([]));
}

/// `NIX_LD` names a file that is no ld.so: the loader stops there, so
/// enabling rld would change nothing. The fix is the variable.
#[test]
fn a_bad_nix_ld_is_fixed_by_the_variable_not_by_enabling_rld() {
    let w = world();
    let bad = w.s("bin/notes.txt");
    let out = rld(["doctor", "--rld", &w.s("chain/bin/rpath_app")])
        .env("NIX_LD", &bad)
        .run();
    out.code(1)
        .has(&format!(
            "problem: rld has no usable ld.so for x86_64-linux: {bad} (from NIX_LD): not an ELF file"
        ))
        .has("fix: set NIX_LD to the ld.so of a glibc for x86_64-linux (in a dev shell: NIX_LD = pkgs.stdenv.cc.bintools.dynamicLinker;), or unset it\n")
        .lacks("programs.rld.enable");
    assert_eq!(out.stderr, "");
    let j = rld(["doctor", "--json", "--rld", &w.s("chain/bin/rpath_app")])
        .env("NIX_LD", &bad)
        .run();
    j.code(1);
    let j = j.json();
    assert_eq!(j["verdict"], "needs-configuration");
    assert_eq!(j["fix"]["nixos"], "");
    assert_eq!(list(&j["unresolved"]), ["libc.so.6"]);

    // rld env and rld run give the same fix.
    let out = rld(["env"]).env("NIX_LD", &bad).run();
    out.code(1)
        .has("fix: set NIX_LD to the ld.so of a glibc for x86_64-linux (in a dev shell: NIX_LD = pkgs.stdenv.cc.bintools.dynamicLinker;), or unset it\n")
        .lacks("programs.rld");
    assert_eq!(out.stderr, "");
    let out = rld(["run", &w.s("chain/bin/rpath_app")])
        .env("NIX_LD", &bad)
        .run();
    out.code(127);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "rld: cannot run {}: no usable ld.so: {bad} (from NIX_LD): not an ELF file\n\
             rld: fix: set NIX_LD to the ld.so of a glibc for x86_64-linux (in a dev shell: NIX_LD = pkgs.stdenv.cc.bintools.dynamicLinker;), or unset it\n",
            w.s("chain/bin/rpath_app")
        )
    );
}

/// `rld doctor ARGS` with nothing at /lib64 (a tmpfs over it in a private
/// mount namespace, as on NixOS without rld); rld itself is started by the
/// real ld.so.
fn doctor_without_lib64(args: &[&str], env: &[(&str, String)]) -> Out {
    let mut script = format!("exec {SYSTEM_LD_SO} {} doctor", env!("CARGO_BIN_EXE_rld"));
    for a in args {
        script.push(' ');
        script.push_str(a);
    }
    let mut cmd = without_lib64(&script);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Nothing at the interpreter path: `NIX_LD` in a dev shell does nothing
/// until rld is installed there. Enabling rld (or `rld run` now) comes
/// first; the dev-shell snippet is labelled as what to add afterwards.
#[test]
fn a_missing_interpreter_is_fixed_by_installing_rld_first() {
    let w = world();
    let env = [
        ("NIX_LD", w.s("glibc/ld-linux-x86-64.so.2")),
        ("NIX_LD_LIBRARY_PATH", w.s("empty")),
    ];
    let prog = "/usr/bin/git";
    let out = doctor_without_lib64(&[prog], &env);
    out.code(1)
        .has("interpreter  /lib64/ld-linux-x86-64.so.2 MISSING\n")
        .has("fix: set programs.rld.enable = true; in configuration.nix (or run it now with `rld run /usr/bin/git`)\n")
        // Libraries are not all it lacks: rld itself comes first.
        .has("verdict: it will not run until the problems above are fixed (exit 1)\n")
        .has(
            "\nIn configuration.nix (`options` is a module argument, like `pkgs`):\n  programs.rld.enable = true;\n  \
             programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ pcre2 zlib ]);\n  \
             # NIX_LD_LIBRARY_PATH, set here, replaces rld's library path: where it is set, the line above does not reach programs; \
             add the libraries to it instead (as the dev shell below does)\n\
             \nOnce rld is installed at /lib64/ld-linux-x86-64.so.2 (programs.rld.enable = true; in configuration.nix), \
             a dev shell can set these instead (until then they do nothing):\n  pkgs.mkShell {\n",
        )
        .lacks("Or in a dev shell");
    assert_eq!(out.stderr, "");
    let out = doctor_without_lib64(&["--json", prog], &env);
    out.code(1);
    assert_eq!(out.stderr, "");
    let j = out.json();
    assert_eq!(j["verdict"], "needs-libraries");
    assert_eq!(j["interpreter"]["exists"], false);
    assert_eq!(
        j["fix"]["dev_shell_requires"],
        "rld is installed at /lib64/ld-linux-x86-64.so.2 (programs.rld.enable = true; in configuration.nix)"
    );
    assert!(
        j["fix"]["nixos"]
            .as_str()
            .unwrap()
            .starts_with("programs.rld.enable = true;\n")
    );

    // With no usable ld.so either, `rld run` is not offered as working now.
    let out = doctor_without_lib64(&[prog], &[]);
    out.code(1)
        .has("fix: set programs.rld.enable = true; in configuration.nix (`rld run /usr/bin/git` would need a usable ld.so too)\n")
        .has("problem: rld has no usable ld.so for x86_64-linux: ")
        .lacks("run it now");
    assert_eq!(out.stderr, "");
}

/// NixOS without rld or nix-ld has its stub-ld at the interpreter path: a
/// static program that prints an error and exits 127. It is no ld.so, and
/// nothing there reads NIX_LD: the fix is enabling rld, which replaces it.
#[test]
fn nixos_stub_ld_is_not_a_real_ld_so() {
    let w = world();
    let dir = w.path("stub-ld");
    std::fs::create_dir_all(&dir).unwrap();
    // Without libc, as a static glibc program crashes when the kernel maps
    // it as an interpreter (NixOS builds its stub with musl).
    std::fs::write(
        dir.join("stub.c"),
        "static const char m[] = \"NixOS cannot run dynamically linked executables intended for generic linux environments\\n\";\n\
         void _start(void) {\n\
           long r;\n\
           __asm__ volatile (\"syscall\" : \"=a\"(r) : \"a\"(1), \"D\"(2), \"S\"(m), \"d\"(sizeof m - 1) : \"rcx\", \"r11\", \"memory\");\n\
           __asm__ volatile (\"syscall\" : : \"a\"(60), \"D\"(127));\n\
           for (;;) {}\n\
         }\n",
    )
    .unwrap();
    support::cc(&dir, "-static -nostdlib -Os stub.c -o stub");
    let stub = dir.join("stub");
    // The stub at /lib64 as NixOS installs it; the shell's own view first.
    let script = format!(
        "{SYSTEM_LD_SO} /bin/cp {} /lib64/ld-linux-x86-64.so.2 && {{ /usr/bin/git --version; echo \"status $?\"; }} && exec {SYSTEM_LD_SO} {} doctor",
        stub.display(),
        env!("CARGO_BIN_EXE_rld")
    );
    let run = |args: &str| {
        let out = without_lib64(&format!("{script} {args}"))
            .env("NIX_LD", w.path("glibc/ld-linux-x86-64.so.2"))
            .env("NIX_LD_LIBRARY_PATH", w.path("empty"))
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let out = run("/usr/bin/git");
    // What the user sees without rld: the stub's message, status 127.
    assert!(
        out.stderr
            .contains("NixOS cannot run dynamically linked executables"),
        "{}",
        out.stderr
    );
    out.code(1)
        .has("status 127\n")
        .has("interpreter  /lib64/ld-linux-x86-64.so.2 exists (NixOS's stub-ld)\n")
        .has("problem: /lib64/ld-linux-x86-64.so.2 is NixOS's stub-ld, which only prints \"NixOS cannot run dynamically linked executables\" and exits 127: nothing there reads NIX_LD or loads libraries; fix: set programs.rld.enable = true; in configuration.nix, which puts rld there instead (or run it now with `rld run /usr/bin/git`)\n")
        .has("\nIn configuration.nix (`options` is a module argument, like `pkgs`):\n  programs.rld.enable = true;\n")
        .lacks("a real ld.so");
    let out = run("--json /usr/bin/git");
    let json = &out.stdout[out.stdout.find('{').unwrap()..];
    let j: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(j["interpreter"]["is"], "NixOS's stub-ld");
    assert_eq!(j["exit_code"], 1);
    assert!(
        j["fix"]["nixos"]
            .as_str()
            .unwrap()
            .starts_with("programs.rld.enable = true;\n")
    );
}

/// A 32-bit program needs the i686 loader at /lib/ld-linux.so.2, which
/// `programs.rld.enable` alone does not install: `enable32Bit` too.
#[test]
fn a_32_bit_program_needs_enable32bit() {
    let w = world();
    let prog = w.s("bin32/prog32");
    assert!(!std::path::Path::new("/lib/ld-linux.so.2").exists());
    let out = rld(["doctor", &prog])
        .nixos(w, &[])
        .env("NIX_LD_i686_linux", w.path("lib32/libfound.so.1"))
        .run();
    out.code(1)
        .has("fix: set programs.rld.enable = true; and programs.rld.enable32Bit = true; in configuration.nix")
        .has("  programs.rld.enable = true;\n  programs.rld.enable32Bit = true;\n  programs.rld.libraries32 = ")
        .has("Once rld is installed at /lib/ld-linux.so.2 (programs.rld.enable = true; and programs.rld.enable32Bit = true; in configuration.nix), a dev shell can set these instead (until then they do nothing):\n  pkgs.mkShell {\n    NIX_LD_i686_linux = ");
    assert_eq!(out.stderr, "");
    let j = rld(["doctor", "--json", &prog])
        .nixos(w, &[])
        .env("NIX_LD_i686_linux", w.path("lib32/libfound.so.1"))
        .run();
    j.code(1);
    let j = j.json();
    assert!(
        j["fix"]["nixos"]
            .as_str()
            .unwrap()
            .starts_with("programs.rld.enable = true;\nprograms.rld.enable32Bit = true;\n")
    );
}

/// OS errors carry their errno name for every system, as rld-loader prints
/// them; the system is `x86_64-linux` in prose and `x86_64_linux` only in
/// variable names; another architecture is explained without promising
/// that emulation alone runs it.
#[test]
fn wording_is_the_same_for_every_system() {
    let w = world();
    let gone = "/nix/store/0000-glibc/lib/ld-linux.so.2";
    for system in ["x86_64-linux", "i686-linux"] {
        let out = rld(["env", "--system", system]).env("NIX_LD", gone).run();
        out.code(1)
            .has(&format!("system        {system}\n"))
            .row(&[gone, "(from NIX_LD): No such file or directory (ENOENT)"])
            .lacks("_linux\n");
        let j = rld(["env", "--json", "--system", system])
            .env("NIX_LD", gone)
            .run()
            .json();
        assert_eq!(
            j["candidates"][0]["problem"], "No such file or directory (ENOENT)",
            "{system}"
        );
    }
    let j = rld(["doctor", "--json", &w.s("bin32/prog32")])
        .env("NIX_LD", gone)
        .run()
        .json();
    assert_eq!(
        j["settings"]["candidates"][0]["problem"],
        "No such file or directory (ENOENT)"
    );
    rld(["doctor", &w.s("bin/none")])
        .run()
        .code(2)
        .has(&format!(
            "problem: cannot read {}: No such file or directory (ENOENT)\n",
            w.s("bin/none")
        ));

    // In a binfmt_misc instance with no handler: the machine's own might
    // have one for aarch64 (see tests/emulation.rs for those cases).
    let out = rld(["doctor", &w.s("bin/aarch64")]).binfmt_misc("").run();
    out.code(2)
        .has(
            "problem: it is built for 64-bit aarch64, and this machine's kernel runs x86_64-linux and i686-linux programs natively, \
             and aarch64-linux programs run here only under emulation, which is not set up (no binfmt_misc handler matches it); \
             fix: set boot.binfmt.emulatedSystems = [ \"aarch64-linux\" ]; in configuration.nix; \
             its interpreter /lib64/ld-linux-x86-64.so.2 must exist too\n",
        )
        .lacks("unless this machine emulates it");
    assert_eq!(out.stderr, "");
    let j = rld(["doctor", "--json", &w.s("bin/aarch64")])
        .binfmt_misc("")
        .run();
    j.code(2);
    let j = j.json();
    assert!(
        j["problems"][0]
            .as_str()
            .unwrap()
            .contains("runs x86_64-linux and i686-linux programs natively")
    );
    let out = rld(["run", &w.s("bin/aarch64")]).binfmt_misc("").run();
    out.code(127);
    assert!(
        out.stderr
            .contains("this machine's kernel runs x86_64-linux and i686-linux programs natively"),
        "{}",
        out.stderr
    );
    let out = rld(["--version"]).run();
    out.code(0);
    assert!(
        out.stdout.starts_with(&format!(
            "rld {} (x86_64-linux; default ld.so /",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        out.stdout
    );
}

/// `NIX_LD_LIBRARY_PATH` set to directories that are not rld's library
/// directory (a dev shell's, a profile's) replaces rld's library path, which
/// `programs.rld.libraries` fills: there, the NixOS line does not reach the
/// program, and the snippet says so. Set to rld's directory (what
/// `programs.rld.setSessionVariables` sets), or unset, it reaches it.
#[test]
fn a_library_variable_hides_programs_rld_libraries() {
    let w = world();
    let prog = w.s("bin/app");
    let default = rld(["env", "--json"]).run().json()["defaults"]["library_path"]
        .as_str()
        .unwrap()
        .to_owned();
    // Control: the variable is what the loader's library path comes from.
    let j = rld(["env", "--json"])
        .env("NIX_LD_LIBRARY_PATH", w.path("stub"))
        .run()
        .json();
    assert_eq!(j["library_path_source"], "NIX_LD_LIBRARY_PATH");
    assert_eq!(j["library_path"], w.s("stub"));

    let comment = "# NIX_LD_LIBRARY_PATH, set here, replaces rld's library path: where it is set, the line above does not reach programs; add the libraries to it instead (as the dev shell below does)\n";
    let out = rld(["doctor", "--rld", &prog])
        .env("NIX_LD", w.path("glibc/ld-linux-x86-64.so.2"))
        .env("NIX_LD_LIBRARY_PATH", w.path("stub"))
        .run();
    out.code(1).has(&format!(
        "  programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ zlib ]);\n  {comment}"
    ));
    let j = rld(["doctor", "--json", "--rld", &prog])
        .env("NIX_LD", w.path("glibc/ld-linux-x86-64.so.2"))
        .env("NIX_LD_LIBRARY_PATH", w.path("stub"))
        .run()
        .json();
    assert_eq!(
        j["fix"]["nixos"],
        format!(
            "programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ zlib ]);\n{comment}"
        )
    );
    // A tree gets the same line.
    rld([
        "doctor",
        "--rld",
        &w.s("bin/app"),
        &w.s("chain/bin/rpath_app"),
    ])
    .env("NIX_LD", w.path("glibc/ld-linux-x86-64.so.2"))
    .env("NIX_LD_LIBRARY_PATH", w.path("stub"))
    .run()
    .code(1)
    .has(comment);

    // rld's own directory in the variable, or no variable: the line reaches it.
    for value in [Some(format!("{default}:{}", w.s("stub"))), None] {
        let mut cmd =
            rld(["doctor", "--rld", &prog]).env("NIX_LD", w.path("glibc/ld-linux-x86-64.so.2"));
        if let Some(v) = &value {
            cmd = cmd.env("NIX_LD_LIBRARY_PATH", v);
        }
        cmd.run()
            .code(1)
            .has("programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ zlib ]);\n")
            .lacks("replaces rld's library path");
    }
}
