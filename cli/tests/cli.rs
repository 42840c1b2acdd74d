//! `rld env`, `rld run`, help, version, logging and usage errors.

mod support;

use std::process::Command;

use support::{rld, world};

#[test]
fn env_without_configuration_has_no_ld_so() {
    let out = rld(["env"]).run();
    out.code(1)
        .has("system        x86_64-linux")
        .row(&["ld.so", "none usable: rld-loader would exit 127"])
        .row(&["failed", "(from rld's default): No such file or directory"])
        .row(&["library path", "(from rld's default)"])
        .has("log level     warn")
        .has("fix: set programs.rld.enable = true; in configuration.nix");
}

#[test]
fn env_names_each_source_and_warns_about_stale_store_paths() {
    let w = world();
    let ld = w.s("glibc/ld-linux-x86-64.so.2");
    let out = rld(["env"])
        .env(
            "NIX_LD_x86_64_linux",
            "/nix/store/0000-glibc-2.38/lib/ld-linux-x86-64.so.2",
        )
        .env("NIX_LD", format!("{ld}\n"))
        .env(
            "NIX_LD_LIBRARY_PATH",
            format!("/nix/store/0000-zlib/lib:{}", w.s("zlib")),
        )
        .env("RLD_LOG", "debug")
        .run();
    out.code(0)
        .row(&["ld.so", &ld, "(from NIX_LD)"])
        .row(&["skipped", "/nix/store/0000-glibc-2.38/lib/ld-linux-x86-64.so.2 (from NIX_LD_x86_64_linux): No such file or directory"])
        .row(&["after", "(from rld's default): not tried"])
        .row(&["library path", &format!("/nix/store/0000-zlib/lib:{} (from NIX_LD_LIBRARY_PATH)", w.s("zlib"))])
        .has("log level     debug")
        .has("warning: /nix/store/0000-zlib/lib (in the library path, from NIX_LD_LIBRARY_PATH) does not exist: a garbage-collected store path?")
        .has("warning: /nix/store/0000-glibc-2.38/lib/ld-linux-x86-64.so.2 (from NIX_LD_x86_64_linux) no longer exists");
}

#[test]
fn env_json_and_other_systems() {
    let w = world();
    let out = rld(["env", "--json"])
        .env("NIX_LD", "")
        .env("NIX_LD_x86_64_linux", w.path("glibc/ld-linux-x86-64.so.2"))
        .env("NIX_LD_LIBRARY_PATH_x86_64_linux", w.path("zlib"))
        .env("NIX_LD_LIBRARY_PATH", "/ignored")
        .env("LD_LIBRARY_PATH", "/user/lib")
        .run();
    out.code(0);
    let j = out.json();
    assert_eq!(j["system"], "x86_64_linux");
    assert_eq!(j["ld_so"], w.s("glibc/ld-linux-x86-64.so.2"));
    assert_eq!(j["candidates"][0]["source"], "NIX_LD_x86_64_linux");
    assert_eq!(j["candidates"][0]["problem"], serde_json::Value::Null);
    // The empty NIX_LD counts as unset: only the default follows.
    assert_eq!(j["candidates"].as_array().unwrap().len(), 2);
    assert_eq!(j["library_path"], w.s("zlib"));
    assert_eq!(j["library_path_source"], "NIX_LD_LIBRARY_PATH_x86_64_linux");
    assert_eq!(j["user_library_path"], "/user/lib");

    // i686: the x86_64 variables do not count, the 64-bit ld.so is skipped.
    let out = rld(["env", "--json", "--system", "i686-linux"])
        .env("NIX_LD", w.path("glibc/ld-linux-x86-64.so.2"))
        .env("NIX_LD_LIBRARY_PATH_x86_64_linux", "/not/for/i686")
        .env("NIX_LD_LIBRARY_PATH_i686_linux", w.path("lib32"))
        .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["system"], "i686_linux");
    assert_eq!(j["ld_so"], serde_json::Value::Null);
    assert_eq!(j["candidates"][0]["falls_through"], true);
    assert_eq!(j["library_path_source"], "NIX_LD_LIBRARY_PATH_i686_linux");
    rld(["env", "--system", "sparc"]).run().code(2);
}

#[test]
fn run_uses_the_configured_ld_so_and_leaves_the_environment_alone() {
    let w = world();
    let app = w.s("bin/app");
    // Control: the program does not start by itself (libmissing.so.3).
    let direct = Command::new(&app).env_clear().output().unwrap();
    assert_eq!(direct.status.code(), Some(127));
    let out = rld(["run", &app]).nixos(w, &["stub", "zlib"]).run();
    out.code(42).has("app ran; LD_LIBRARY_PATH=(unset)");
    assert_eq!(out.stderr, "");
    // The user's LD_LIBRARY_PATH is searched first and reaches the program unchanged.
    let out = rld(["run", &app])
        .nixos(w, &["zlib"])
        .env("LD_LIBRARY_PATH", w.path("stub"))
        .run();
    out.code(42)
        .has(&format!("app ran; LD_LIBRARY_PATH={}", w.s("stub")));
    // Arguments after PROGRAM are the program's, flags included.
    let out = rld([
        "run",
        "/bin/sh",
        "-c",
        "echo \"$0\" \"$@\"",
        "x",
        "--help",
        "-q",
    ])
    .nixos(w, &[])
    .run();
    out.code(0).has("x --help -q");
    // A name without a slash is looked up in PATH, as a shell does.
    let out = rld(["run", "true"]).nixos(w, &[]).cwd(&w.root).run();
    out.code(0);
    assert_eq!(out.stderr, "");
    let out = rld(["run", "sh", "-c", "echo $0; exit 3"])
        .nixos(w, &[])
        .run();
    out.code(3).has("/usr/bin/sh");
    let out = rld(["run", "no-such-command"]).nixos(w, &[]).run();
    out.code(127);
    assert_eq!(
        out.stderr,
        "rld: cannot run no-such-command: command not found in PATH\n"
    );
    // A static program is executed as it is.
    rld(["run", &w.s("bin/static")]).run().code(0);
}

#[test]
fn run_failures_exit_127_with_rld_lines() {
    let w = world();
    let out = rld(["run", &w.s("bin/app")]).run();
    out.code(127);
    assert!(
        out.stderr.starts_with(&format!(
            "rld: cannot run {}: no usable ld.so: ",
            w.s("bin/app")
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("\nrld: fix: set programs.rld.enable = true; in configuration.nix")
    );
    let out = rld(["run", &w.s("bin/none")]).run();
    out.code(127);
    assert_eq!(
        out.stderr,
        format!(
            "rld: cannot run {}: No such file or directory (ENOENT)\n",
            w.s("bin/none")
        )
    );
    let out = rld(["run", &w.s("bin/aarch64")]).binfmt_misc("").run();
    out.code(127);
    assert!(out.stderr.contains("it is built for 64-bit aarch64"));
}

#[test]
fn logging_follows_rld_log_and_flags() {
    let w = world();
    let stale = "/nix/store/0000-glibc/lib/ld-linux-x86-64.so.2";
    let run = |extra: &[&str], log: Option<&str>| {
        let mut args = extra.to_vec();
        args.extend(["run", "/bin/true"]);
        let mut c = rld(args).nixos(w, &[]).env("NIX_LD_x86_64_linux", stale);
        if let Some(l) = log {
            c = c.env("RLD_LOG", l);
        }
        c.run()
    };
    let plain = run(&[], None);
    plain.code(0);
    assert!(
        plain.stderr.contains(&format!(
            "rld: warning: skipping ld.so {stale} (from NIX_LD_x86_64_linux)"
        )),
        "{}",
        plain.stderr
    );
    assert!(!plain.stderr.contains("rld: debug:"));
    let quiet = run(&["-q"], None);
    assert_eq!(quiet.stderr, "");
    let verbose = run(&["-vv"], None);
    assert!(
        verbose.stderr.contains("rld: debug: exec "),
        "{}",
        verbose.stderr
    );
    let by_env = run(&[], Some("debug"));
    assert!(
        by_env.stderr.contains("rld: debug: exec "),
        "{}",
        by_env.stderr
    );
    let nix_ld_log = rld(["run", "/bin/true"])
        .nixos(w, &[])
        .env("NIX_LD_LOG", "error")
        .env("NIX_LD_x86_64_linux", stale)
        .run();
    assert_eq!(nix_ld_log.stderr, "");
}

/// goblin's own records (its note parsing) are for debugging goblin:
/// not at -vv, only at trace.
#[test]
fn goblin_logs_only_at_trace() {
    let w = world();
    let app = w.s("bin/app");
    for json in [false, true] {
        let mut args = vec!["-vv", "doctor"];
        if json {
            args.push("--json");
        }
        args.push(&app);
        let out = rld(&args).nixos(w, &[]).run();
        out.code(1);
        assert_eq!(
            out.stderr,
            format!("rld: debug: verdict for {app}: needs-libraries\n")
        );
    }
    let out = rld(["-vvv", "doctor", &app]).nixos(w, &[]).run();
    out.code(1);
    assert!(
        out.stderr.contains("rld: debug: NoteIterator"),
        "{}",
        out.stderr
    );
}

/// A level variable that names no level: one warning, and the level is
/// warn, as rld-loader takes it.
#[test]
fn an_unknown_log_level_is_one_warning() {
    let w = world();
    for var in ["RLD_LOG", "NIX_LD_LOG"] {
        let out = rld(["env"]).nixos(w, &[]).env(var, "bogus").run();
        out.code(0).has("log level     warn");
        assert_eq!(
            out.stderr,
            format!(
                "rld: warning: {var}=\"bogus\" is not a log level (one of off, error, warn, info, debug, trace); using warn\n"
            )
        );
        let j = rld(["env", "--json"]).nixos(w, &[]).env(var, "bogus").run();
        assert_eq!(j.json()["log_level"], "warn");
        assert!(j.stderr.starts_with("rld: warning: "), "{}", j.stderr);
    }
    // RLD_LOG wins: a good NIX_LD_LOG beside a bad RLD_LOG is not read.
    let out = rld(["env"])
        .nixos(w, &[])
        .env("RLD_LOG", "bogus")
        .env("NIX_LD_LOG", "debug")
        .run();
    assert!(
        out.stderr.starts_with("rld: warning: RLD_LOG="),
        "{}",
        out.stderr
    );
    // -q silences it, like any warning.
    let out = rld(["-q", "env"])
        .nixos(w, &[])
        .env("RLD_LOG", "bogus")
        .run();
    assert_eq!(out.stderr, "");
}

/// -qq turns every log line off; the line that explains rld's own failure
/// (exit 127 or 2) is not a log line and stays.
#[test]
fn quiet_twice_prints_no_log_lines_but_still_says_why_rld_failed() {
    let w = world();
    let stale = "/nix/store/0000-glibc/lib/ld-linux-x86-64.so.2";
    let out = rld(["-qq", "run", "/bin/true"])
        .nixos(w, &[])
        .env("NIX_LD_x86_64_linux", stale)
        .env("RLD_LOG", "bogus")
        .run();
    out.code(0);
    assert_eq!(out.stderr, "");
    let out = rld(["-qq", "run", &w.s("bin/none")]).run();
    out.code(127);
    assert_eq!(
        out.stderr,
        format!(
            "rld: cannot run {}: No such file or directory (ENOENT)\n",
            w.s("bin/none")
        )
    );
}

#[test]
fn help_version_and_usage_errors() {
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
    rld(["--help"])
        .run()
        .code(0)
        .row(&["doctor", "Say why PROGRAM will or will not run"])
        .row(&["-v, --verbose"]);
    rld(["doctor", "--help"])
        .run()
        .code(0)
        .has("rld doctor [--json] [--rld] [--no-locate] [--no-hints] PROGRAM|DIR...")
        .has("Exit status: 0 it will run; 1 it will run once something is added")
        .has("--no-locate");
    rld(["help", "run"])
        .run()
        .code(0)
        .has("`ld.so --library-path LIBS PROGRAM ARGS`, where LIBS is your LD_LIBRARY_PATH");
    rld(["env", "-h"]).run().code(0).has("--system SYSTEM");
    rld(["doctor", "--version"]).run().code(0);
    for (args, msg) in [
        (
            vec!["frobnicate"],
            "rld: unrecognized subcommand 'frobnicate'",
        ),
        (
            vec![],
            "rld: no command given; commands: doctor, env, run, ldconfig, completions, configure-loader, fuse, man",
        ),
        (
            vec!["doctor"],
            "rld: the following required arguments were not provided: <PROGRAM|DIR>...",
        ),
        (
            vec!["env", "--rld"],
            "rld: unexpected argument '--rld' found (--rld is a flag of `rld doctor`)",
        ),
        (
            vec!["doctor", "--bogus", "x"],
            "rld: unexpected argument '--bogus' found",
        ),
    ] {
        let out = rld(&args).run();
        out.code(2);
        assert!(out.stderr.starts_with(msg), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "");
    }
}

/// A flag that takes no value rejects one (`--json=no` used to turn
/// --json on), and a usage error names the help to read.
#[test]
fn flags_without_values_reject_one_and_usage_errors_point_at_help() {
    let doctor_usage = "rld: usage: rld doctor [--json] [--rld] [--no-locate] [--no-hints] PROGRAM|DIR...; see `rld doctor --help`\n";
    for (flag, value) in [("--json", "no"), ("--rld", "false"), ("--no-locate", "1")] {
        let out = rld(["doctor", &format!("{flag}={value}"), "/bin/true"]).run();
        out.code(2);
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            format!(
                "rld: unexpected value '{value}' for '{flag}' found; no more were expected\n{doctor_usage}"
            )
        );
    }
    let out = rld(["env", "--json=yes"]).run();
    out.code(2);
    assert!(
        out.stderr.ends_with("see `rld env --help`\n"),
        "{}",
        out.stderr
    );
    let out = rld(["doctor", "--bogus", "/bin/true"]).run();
    out.code(2);
    assert_eq!(
        out.stderr,
        format!(
            "rld: unexpected argument '--bogus' found (to pass '--bogus' as a value, use '-- --bogus')\n{doctor_usage}"
        )
    );
    // --system takes one of the systems rld knows.
    let out = rld(["env", "--system", "sparc"]).run();
    out.code(2);
    assert!(
        out.stderr
            .starts_with("rld: invalid value 'sparc' for '--system <SYSTEM>' [possible values: x86_64_linux, x86_64-linux, i686_linux"),
        "{}",
        out.stderr
    );
    // -v and -q are counted, wherever they stand: -v -q is the default.
    let w = world();
    let stale = "/nix/store/0000-glibc/lib/ld-linux-x86-64.so.2";
    let out = rld(["-v", "run", "-q", "/bin/true"])
        .nixos(w, &[])
        .env("NIX_LD_x86_64_linux", stale)
        .run();
    out.code(0);
    assert!(
        out.stderr.contains(&format!("skipping ld.so {stale}")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("debug"), "{}", out.stderr);
}

#[test]
fn completions_and_the_manual_page() {
    let out = rld(["completions", "bash"]).run();
    out.code(0).has("_rld()").has("complete -F _rld");
    assert_eq!(out.stderr, "");
    // bash itself reads the script without a syntax error.
    let check = Command::new("bash")
        .args(["-n", "-c", &out.stdout])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    rld(["completions", "zsh"])
        .run()
        .code(0)
        .has("#compdef rld");
    rld(["completions", "fish"])
        .run()
        .code(0)
        .has("complete -c rld")
        .has("no-locate");
    rld(["completions", "tcsh"]).run().code(2);
    let man = rld(["man"]).run();
    man.code(0)
        .has(".TH rld 1")
        .has(".SH NAME")
        .has("rld\\-doctor")
        .has("completions");
    rld(["man", "doctor"])
        .run()
        .code(0)
        .has(".TH rld-doctor 1")
        .has("Exit status: 0 it will run;");
    // Every page rld(1) points at can be made, so a package can install
    // them all.
    let pointed_at: Vec<&str> = man
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("rld\\-")?.strip_suffix("(1)"))
        .collect();
    assert_eq!(
        pointed_at,
        [
            "doctor",
            "env",
            "run",
            "ldconfig",
            "completions",
            "configure\\-loader",
            "fuse"
        ]
    );
    for page in pointed_at {
        rld(["man", &page.replace("\\-", "-")]).run().code(0);
    }
}
