//! Real programs of the other architectures, unpatched, in the NixOS-like
//! root next to its x86_64 ones: Debian bookworm's i386 coreutils and
//! python3.11 (run natively, interpreter `/lib/ld-linux.so.2`), and CMake
//! and clang-format from PyPI's aarch64 wheels (run by qemu-user through
//! the root's binfmt_misc, interpreter `/lib/ld-linux-aarch64.so.1`), each
//! arch's glibc from Debian in a store path of its own
//! (`scripts/fetch-foreign.sh` downloads them all). Each arch's rld-loader
//! sits at its interpreter path, and one environment serves every arch,
//! including children that cross from one arch to another.

use std::path::Path;

use rld_tests::cross::Arch;
use rld_tests::foreign::{self, I386, I386_PYTHON};
use rld_tests::root::{self, Builder, Root};
use rld_tests::{Default, Outcome, build, run};

const X86_64_PYTHON: &str = "/opt/debian/bin/python3";
const CMAKE_BIN: &str = "/opt/cmake-aarch64/bin/cmake";
const CLANG_FORMAT_BIN: &str = "/opt/clang-format-aarch64/bin/clang-format";
const DATA: &str = "/opt/data";

/// Prints which arch ran it, its pointer size, and whether rld's library
/// path leaked into its environment.
const REPORT_PY: &str = r#"import os, struct, sys
print(sys.argv[1], struct.calcsize("P"), os.environ.get("LD_LIBRARY_PATH", "<unset>"))
"#;

/// The same for an aarch64 process: qemu-user's uname says which machine
/// the process is, and the line is printed by a second aarch64 process.
const REPORT_CMAKE: &str = r#"cmake_host_system_information(RESULT platform QUERY OS_PLATFORM)
if(DEFINED ENV{LD_LIBRARY_PATH})
  set(path "$ENV{LD_LIBRARY_PATH}")
else()
  set(path "<unset>")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E echo "aarch64 ${platform} ${path}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake -E echo: ${rc}")
endif()
"#;

/// `cmake -P run.cmake -- PROGRAM ARGS...`: runs its arguments as a child
/// (`execute_process`), which inherits its stdout.
const RUN_CMAKE: &str = r#"math(EXPR last "${CMAKE_ARGC} - 1")
set(command "")
foreach(i RANGE 4 ${last})
  list(APPEND command "${CMAKE_ARGV${i}}")
endforeach()
execute_process(COMMAND ${command} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${command}: ${rc}")
endif()
"#;

/// `python -c RUN_PY PROGRAM ARGS...`: runs its arguments as a child.
const RUN_PY: &str = "import subprocess, sys\n\
    subprocess.run(sys.argv[1:], check=True)\n";

/// The data files the tests' programs read, at [`DATA`].
fn with_data(b: Builder) -> Builder {
    b.text(&format!("{DATA}/report.py"), REPORT_PY)
        .text(&format!("{DATA}/report.cmake"), REPORT_CMAKE)
        .text(&format!("{DATA}/run.cmake"), RUN_CMAKE)
        .text(&format!("{DATA}/words"), "pear\napple\nfig\nbanana\n")
        .text(&format!("{DATA}/hello.c"), "int main(){return 0;}\n")
}

/// The downloads, rld at every interpreter path, and loaders for i686 and
/// aarch64 whose compiled-in default does not exist: only the variables can
/// give them an ld.so.
fn root_for_variables_builder() -> Builder {
    let i686 = Arch::I686.loader(Default::Missing);
    let aarch64 = Arch::Aarch64.loader(Default::Missing);
    foreign::add(Root::builder(), Some(&i686.path), Some(&aarch64.path))
}

fn root_for_variables() -> Root {
    with_data(root_for_variables_builder()).build()
}

/// One environment for every arch: `NIX_LD_{system}` and
/// `NIX_LD_LIBRARY_PATH_{system}` for x86_64, i686 and aarch64.
fn per_system_env(root: &Root) -> Vec<(String, String)> {
    let mut env = vec![
        ("NIX_LD_x86_64_linux".into(), root::glibc_ld_so()),
        (
            "NIX_LD_LIBRARY_PATH_x86_64_linux".into(),
            root.library_path(),
        ),
    ];
    for arch in [Arch::I686, Arch::Aarch64] {
        env.push((format!("NIX_LD_{}", arch.system()), foreign::ld_so(arch)));
        env.push((
            format!("NIX_LD_LIBRARY_PATH_{}", arch.system()),
            foreign::library_path(arch),
        ));
    }
    env.push(("LC_ALL".into(), "C".into()));
    env
}

fn run_in(root: &Root, program: &str, args: &[&str], env: &[(String, String)]) -> Outcome {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let o = root.run(program, args, &env);
    assert_eq!(o.signal, None, "{program} {args:?}: {o:#?}");
    o
}

/// Runs `program args` in `root` and returns its stdout; it must succeed
/// with nothing on stderr.
fn stdout(root: &Root, program: &str, args: &[&str], env: &[(String, String)]) -> String {
    let o = run_in(root, program, args, env);
    assert_eq!(o.code, Some(0), "{program} {args:?}: {o:#?}");
    assert_eq!(o.stderr, "", "{program} {args:?}");
    o.stdout
}

/// The host's own x86_64 coreutils, natively.
fn native(program: &str, args: &[&str]) -> String {
    let o = run(Path::new(program), args, &[("LC_ALL", "C")]);
    o.assert_success();
    o.stdout
}

/// On NixOS without rld the i386 programs cannot start (no
/// `/lib/ld-linux.so.2`: ENOENT) and qemu-user cannot start the aarch64
/// ones; with rld at both paths they run.
#[test]
fn foreign_programs_need_rld_at_their_interpreter_paths() {
    let bare = with_data(foreign::add(Root::builder(), None, None)).build();
    let env = per_system_env(&bare);
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for program in [format!("{I386}/bin/ls"), I386_PYTHON.to_owned()] {
        let e = bare.try_run(&program, &["--version"], &vars).unwrap_err();
        assert_eq!(
            e.raw_os_error(),
            Some(nix::errno::Errno::ENOENT as i32),
            "{program}: {e}"
        );
    }
    let o = run_in(&bare, CMAKE_BIN, &["--version"], &env);
    assert_ne!(o.code, Some(0), "{o:#?}");
    assert!(
        o.stderr.contains("/lib/ld-linux-aarch64.so.1"),
        "{}",
        o.stderr
    );

    let root = root_for_variables();
    let o = stdout(&root, &format!("{I386}/bin/ls"), &["--version"], &env);
    assert!(o.starts_with("ls (GNU coreutils) "), "{o}");
    let o = stdout(&root, CMAKE_BIN, &["--version"], &env);
    assert!(o.starts_with("cmake version "), "{o}");
}

/// Debian's i386 coreutils, each printing what the host's x86_64 coreutils
/// (the same Debian release) print for the same input.
#[test]
fn i386_coreutils() {
    let root = root_for_variables();
    let env = per_system_env(&root);
    let bin = |p: &str| format!("{I386}/{p}");
    let words = format!("{DATA}/words");
    let host_dir = rld_tests::TempDir::new("foreign-words");
    let host_words = host_dir.join("words");
    std::fs::write(&host_words, "pear\napple\nfig\nbanana\n").unwrap();
    let host_words = host_words.to_str().unwrap();
    let host_bin = foreign::downloads().i386_programs.join("bin");
    let host_bin = host_bin.to_str().unwrap();
    // WORDS and BIN stand for the same file and directory, at their paths
    // in the root and on the host.
    let cases: [(&str, &[&str]); 9] = [
        ("bin/ls", &["--version"]),
        ("bin/ls", &["-1", "BIN"]),
        ("bin/cat", &["WORDS"]),
        ("usr/bin/sort", &["WORDS"]),
        ("usr/bin/sort", &["-r", "WORDS"]),
        ("usr/bin/sha256sum", &["WORDS"]),
        ("usr/bin/wc", &["WORDS"]),
        ("usr/bin/expr", &["123456789123456789", "*", "1000"]),
        ("bin/date", &["-u", "-d", "@86400", "+%F %T"]),
    ];
    for (program, args) in cases {
        let with = |w: &str, b: &str| -> Vec<String> {
            args.iter()
                .map(|a| a.replace("WORDS", w).replace("BIN", b))
                .collect()
        };
        let in_root = with(&words, &format!("{I386}/bin"));
        let in_root: Vec<&str> = in_root.iter().map(String::as_str).collect();
        let on_host = with(host_words, host_bin);
        let on_host: Vec<&str> = on_host.iter().map(String::as_str).collect();
        let name = Path::new(program).file_name().unwrap().to_str().unwrap();
        let want = native(&format!("/usr/bin/{name}"), &on_host).replace(host_words, &words);
        assert_eq!(
            stdout(&root, &bin(program), &in_root, &env),
            want,
            "{program} {args:?}"
        );
    }
    // The words sorted, and a number beyond 32 bits (expr uses GMP).
    assert_eq!(
        stdout(&root, &bin("usr/bin/sort"), &[&words], &env),
        "apple\nbanana\nfig\npear\n"
    );
    assert_eq!(
        stdout(
            &root,
            &bin("usr/bin/expr"),
            &["123456789123456789", "*", "1000"],
            &env
        ),
        "123456789123456789000\n"
    );

    // env prints exactly the environment it was given: the variables, and
    // no LD_LIBRARY_PATH of rld's.
    let mut printed: Vec<String> = stdout(&root, &bin("usr/bin/env"), &[], &env)
        .lines()
        .map(str::to_owned)
        .collect();
    printed.sort();
    let mut given: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    given.sort();
    assert_eq!(printed, given);
}

const PYTHON: &str = r#"
import _hashlib, _ssl, hashlib, os, struct, sys
print("pointer", struct.calcsize("P"))
print("maxsize", sys.maxsize)
print("version", "%d.%d" % sys.version_info[:2])
print("prefix", sys.prefix)
print("exe", os.readlink("/proc/self/exe"))
print("sha256", hashlib.sha256(b"rld").hexdigest(), _hashlib.openssl_sha256(b"rld").hexdigest())
print("openssl", _ssl.OPENSSL_VERSION.split()[0])
print("ld_library_path", os.environ.get("LD_LIBRARY_PATH", "<unset>"))
"#;

/// Debian's i386 python3.11: a 32-bit process (pointers of 4 bytes), its
/// standard library found next to itself, OpenSSL's libcrypto loaded by
/// an extension module (dlopen through rld's library path), and no
/// LD_LIBRARY_PATH left for the program.
#[test]
fn i386_python() {
    let root = root_for_variables();
    let env = per_system_env(&root);
    let o = stdout(&root, I386_PYTHON, &["-c", PYTHON], &env);
    assert_eq!(
        o,
        format!(
            "pointer 4\nmaxsize 2147483647\nversion 3.11\nprefix {I386}/usr\nexe {I386_PYTHON}\n\
             sha256 {SHA256_RLD} {SHA256_RLD}\nopenssl OpenSSL\nld_library_path <unset>\n"
        )
    );
    // The control: the x86_64 python of the same root says 8.
    let o = stdout(&root, X86_64_PYTHON, &["-c", PYTHON], &env);
    assert!(o.starts_with("pointer 8\n"), "{o}");
}

const SHA256_RLD: &str = "85c76dcae2299d2235c793fe3425bd88376f5c4721cfddc1c9a9c452c20c5d33";

/// CMake and clang-format from PyPI's aarch64 wheels, under qemu-user.
#[test]
fn aarch64_cmake_and_clang_format() {
    let root = root_for_variables();
    let env = per_system_env(&root);
    let d = foreign::downloads();
    let o = stdout(&root, CMAKE_BIN, &["--version"], &env);
    assert_eq!(
        o.lines().next(),
        Some(format!("cmake version {}", d.cmake.version).as_str()),
        "{o}"
    );
    // cmake -P starting a child (cmake -E echo, aarch64 too) that prints
    // the machine qemu-user reports.
    let report = format!("{DATA}/report.cmake");
    let o = stdout(&root, CMAKE_BIN, &["-P", &report], &env);
    assert_eq!(o, "aarch64 aarch64 <unset>\n");

    let o = stdout(&root, CLANG_FORMAT_BIN, &["--version"], &env);
    assert!(
        o.contains(&format!("clang-format version {}", d.clang_format.version)),
        "{o}"
    );
    let hello = format!("{DATA}/hello.c");
    let o = stdout(&root, CLANG_FORMAT_BIN, &["--style=LLVM", &hello], &env);
    assert_eq!(o, "int main() { return 0; }\n");
}

/// Each arch's reporter: the command and the one line it prints.
fn reporters() -> [(Vec<String>, &'static str); 3] {
    let py = format!("{DATA}/report.py");
    [
        (
            vec![X86_64_PYTHON.into(), py.clone(), "x86_64".into()],
            "x86_64 8 <unset>\n",
        ),
        (
            vec![I386_PYTHON.into(), py, "i386".into()],
            "i386 4 <unset>\n",
        ),
        (
            vec![
                CMAKE_BIN.into(),
                "-P".into(),
                format!("{DATA}/report.cmake"),
            ],
            "aarch64 aarch64 <unset>\n",
        ),
    ]
}

/// Each arch's programs that start another program: the command to which
/// the child's command is appended.
fn launchers() -> [(&'static str, Vec<String>); 5] {
    [
        (
            "x86_64 python3",
            vec![X86_64_PYTHON.into(), "-c".into(), RUN_PY.into()],
        ),
        ("x86_64 env", vec!["/opt/debian/bin/env".into()]),
        (
            "i386 python3.11",
            vec![I386_PYTHON.into(), "-c".into(), RUN_PY.into()],
        ),
        ("i386 env", vec![format!("{I386}/usr/bin/env")]),
        (
            "aarch64 cmake -P",
            vec![
                CMAKE_BIN.into(),
                "-P".into(),
                format!("{DATA}/run.cmake"),
                "--".into(),
            ],
        ),
    ]
}

/// Every launcher starting every arch's reporter in `root` with `env`: the
/// child runs as its own arch and sees no library path of rld's, whichever
/// arch its parent was.
fn every_arch_starts_every_arch(root: &Root, env: &[(String, String)]) {
    for (arch, (command, want)) in ["x86_64", "i386", "aarch64"].iter().zip(reporters()) {
        let args: Vec<&str> = command[1..].iter().map(String::as_str).collect();
        assert_eq!(
            stdout(root, &command[0], &args, env),
            want,
            "{arch} directly"
        );
        for (launcher, prefix) in launchers() {
            let all: Vec<&str> = prefix[1..]
                .iter()
                .chain(&command)
                .map(String::as_str)
                .collect();
            assert_eq!(
                stdout(root, &prefix[0], &all, env),
                want,
                "{launcher} starting {arch}"
            );
        }
    }
}

/// One environment serves x86_64, i386 and aarch64 programs: each arch's
/// `NIX_LD_{system}` and `NIX_LD_LIBRARY_PATH_{system}`, and a child of one
/// arch started by a parent of another gets its own arch's.
#[test]
fn one_environment_with_per_system_variables_serves_every_arch() {
    let root = root_for_variables();
    every_arch_starts_every_arch(&root, &per_system_env(&root));
}

/// Loaders built with the prefixes the NixOS module gives the other
/// systems (`/run/current-system/sw/share/rld-<system>`).
fn loaders_with_defaults() -> (std::path::PathBuf, std::path::PathBuf) {
    let loader = |arch: Arch| {
        build(
            Some(arch.rust_target()),
            &format!("foreign-{}", arch.name()),
            Path::new(&foreign::default_prefix(arch)),
        )
    };
    (loader(Arch::I686), loader(Arch::Aarch64))
}

/// One `NIX_LD` (the x86_64 ld.so, as a dev shell sets it) and one
/// `NIX_LD_LIBRARY_PATH` naming every arch's libraries: the i386 and
/// aarch64 loaders skip that ld.so as another arch's and take their own
/// from the module's default (where only `ld.so` is linked, so their
/// libraries come from the shared library path, whose other arches'
/// libraries their ld.so passes over).
#[test]
fn one_nix_ld_that_the_other_arches_skip() {
    let (i686, aarch64) = loaders_with_defaults();
    let b = foreign::add(Root::builder(), Some(&i686), Some(&aarch64));
    let b = foreign::link_default_ld_so(b, Arch::I686);
    let root = with_data(foreign::link_default_ld_so(b, Arch::Aarch64)).build();
    let path = [
        root.library_path(),
        foreign::library_path(Arch::I686),
        foreign::library_path(Arch::Aarch64),
    ]
    .join(":");
    let env = vec![
        ("NIX_LD".to_owned(), root::glibc_ld_so()),
        ("NIX_LD_LIBRARY_PATH".to_owned(), path),
        ("LC_ALL".to_owned(), "C".to_owned()),
    ];
    every_arch_starts_every_arch(&root, &env);

    // The control: without the defaults linked, nothing is left for i386
    // once NIX_LD is skipped, and rld says so, naming both arches.
    let bare = with_data(foreign::add(Root::builder(), Some(&i686), Some(&aarch64))).build();
    let o = run_in(&bare, I386_PYTHON, &["-c", "pass"], &env);
    rld_tests::assert_rld_error(&o, "i386 python3.11 with only NIX_LD");
    assert!(
        o.stderr
            .contains("it is a 64-bit ELF; this program needs a 32-bit i686 ld.so"),
        "{}",
        o.stderr
    );
}

/// `rld doctor` in the root, on an i386 and an aarch64 program, with the
/// per-system variables. Its output is printed (`--nocapture`) for the
/// record.
#[test]
fn rld_doctor_on_i386_and_aarch64_programs() {
    let root = root_for_variables_builder()
        .file("/opt/rld/bin/rld", rld_tests::rld_tool())
        .build();
    let env = per_system_env(&root);
    let doctor = |program: &str| {
        let o = run_in(
            &root,
            "/opt/rld/bin/rld",
            &["doctor", "--no-hints", program],
            &env,
        );
        println!(
            "$ rld doctor --no-hints {program}\n{}{}exit {:?}\n",
            o.stdout, o.stderr, o.code
        );
        o
    };

    let ls = format!("{I386}/bin/ls");
    let o = doctor(&ls);
    assert_eq!(o.code, Some(0), "{o:#?}");
    let glibc = foreign::i386_glibc().join("lib");
    let libs = foreign::i386_libs().join("lib");
    for line in [
        format!("{ls}: ELF 32-bit i386 pie-executable\n"),
        "interpreter  /lib/ld-linux.so.2 exists (rld-loader)\n".to_owned(),
        format!("ld.so        {glibc}/ld-linux.so.2 (from NIX_LD_i686_linux)\n"),
        format!("library path {glibc}:{libs} (from NIX_LD_LIBRARY_PATH_i686_linux)\n"),
        "libraries: 4 needed, 4 found, 0 missing\n".to_owned(),
        format!("  libselinux.so.1  {libs}/libselinux.so.1  (rld's library path)\n"),
        format!("  libc.so.6        {glibc}/libc.so.6  (rld's library path)\n"),
        format!("  libpcre2-8.so.0  {libs}/libpcre2-8.so.0  (rld's library path)\n"),
        "verdict: it will run (exit 0)\n".to_owned(),
    ] {
        assert!(o.stdout.contains(&line), "want {line:?} in:\n{}", o.stdout);
    }

    // An aarch64 program runs here through the root's binfmt_misc handler
    // (qemu-user): doctor finds the handler and examines the program as
    // aarch64-linux, with that system's variables and its own libraries.
    let o = doctor(CMAKE_BIN);
    assert_eq!(o.code, Some(0), "{o:#?}");
    let glibc = foreign::arm64_glibc().join("lib");
    let libstdcxx = foreign::arm64_libstdcxx().join("lib");
    for line in [
        format!("{CMAKE_BIN}: ELF 64-bit aarch64 pie-executable\n"),
        "interpreter  /lib/ld-linux-aarch64.so.1 exists (rld-loader)\n".to_owned(),
        format!("ld.so        {glibc}/ld-linux-aarch64.so.1 (from NIX_LD_aarch64_linux)\n"),
        format!("library path {glibc}:{libstdcxx} (from NIX_LD_LIBRARY_PATH_aarch64_linux)\n"),
        "note: the kernel runs it under emulation: binfmt_misc's handler qemu-aarch64 hands it to \
         /usr/bin/qemu-aarch64-static (opened when the handler was registered, flag F); \
         it is examined as a program of aarch64-linux\n"
            .to_owned(),
        "verdict: it will run (exit 0)\n".to_owned(),
    ] {
        assert!(o.stdout.contains(&line), "want {line:?} in:\n{}", o.stdout);
    }
    // Column widths are not part of the contract.
    for (soname, dir) in [("libstdc++.so.6", &libstdcxx), ("libc.so.6", &glibc)] {
        let line = o
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{soname} ")))
            .unwrap_or_else(|| panic!("no {soname} line in:\n{}", o.stdout));
        assert!(
            line.ends_with(&format!(" {dir}/{soname}  (rld's library path)")),
            "{line}"
        );
    }
    let counts = o
        .stdout
        .lines()
        .find(|l| l.starts_with("libraries: "))
        .unwrap_or_else(|| panic!("no libraries line:\n{}", o.stdout));
    let needed = counts.split(' ').nth(1).unwrap();
    assert_eq!(
        counts,
        format!("libraries: {needed} needed, {needed} found, 0 missing"),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("problem:"), "{}", o.stdout);
    // What doctor said is what happens.
    let cmake = stdout(&root, CMAKE_BIN, &["--version"], &env);
    assert!(cmake.starts_with("cmake version "), "{cmake}");
}

/// `sh -c SCRIPT` in `root` with `env`: the root's binfmt_misc instance is
/// its own per command, so a script may change it for what it runs next.
fn sh(root: &Root, script: &str, env: &[(String, String)]) -> Outcome {
    run_in(root, "/bin/sh", &["-c", script], env)
}

/// Where binfmt_misc does not start the aarch64 program (its handler
/// disabled, binfmt_misc disabled, no handler at all), doctor says it
/// cannot run, with the fix for each, and indeed exec fails; where rld is
/// not installed at the aarch64 interpreter path, doctor says so and names
/// the module's option for emulated systems.
#[test]
fn rld_doctor_on_aarch64_programs_binfmt_misc_does_not_start() {
    let root = root_for_variables_builder()
        .file("/opt/rld/bin/rld", rld_tests::rld_tool())
        .build();
    let env = per_system_env(&root);
    let handler = "/proc/sys/fs/binfmt_misc/qemu-aarch64";
    for (change, want) in [
        (
            format!("echo 0 > {handler}"),
            format!(
                "binfmt_misc's handler qemu-aarch64 would hand it to /usr/bin/qemu-aarch64-static, \
                 but that handler is disabled; fix: enable it as root with `echo 1 > {handler}`\n"
            ),
        ),
        (
            "echo 0 > /proc/sys/fs/binfmt_misc/status".to_owned(),
            "binfmt_misc, which would hand it to an emulator, is disabled as a whole; \
             fix: enable it as root with `echo 1 > /proc/sys/fs/binfmt_misc/status`\n"
                .to_owned(),
        ),
        (
            format!("echo -1 > {handler}"),
            "and aarch64-linux programs run here only under emulation, which is not set up \
             (no binfmt_misc handler matches it); fix: set boot.binfmt.emulatedSystems = [ \"aarch64-linux\" ]; \
             in configuration.nix; with programs.rld.enable = true; that also installs rld at \
             /lib/ld-linux-aarch64.so.1 for aarch64-linux programs"
                .to_owned(),
        ),
    ] {
        let o = sh(
            &root,
            &format!("{change} && exec /opt/rld/bin/rld doctor --no-hints {CMAKE_BIN}"),
            &env,
        );
        println!("$ {change}; rld doctor --no-hints {CMAKE_BIN}\n{}exit {:?}\n", o.stdout, o.code);
        assert_eq!(o.code, Some(2), "{change}: {o:#?}");
        assert!(o.stdout.contains("verdict: it cannot run on this machine (exit 2)\n"), "{}", o.stdout);
        assert!(
            o.stdout.contains(&want),
            "{change}: want {want:?} in:\n{}",
            o.stdout
        );
        // The control: exec fails in that state.
        let o = sh(&root, &format!("{change} && exec {CMAKE_BIN} --version"), &env);
        assert_ne!(o.code, Some(0), "{change}: {o:#?}");
        assert!(!o.stdout.contains("cmake version"), "{change}: {o:#?}");
    }

    // binfmt_misc starts it, but no rld-loader is at its interpreter path.
    let bare = foreign::add(Root::builder(), None, None)
        .file("/opt/rld/bin/rld", rld_tests::rld_tool())
        .build();
    let o = run_in(
        &bare,
        "/opt/rld/bin/rld",
        &["doctor", "--no-hints", CMAKE_BIN],
        &env,
    );
    println!(
        "$ rld doctor --no-hints {CMAKE_BIN}   (no rld for aarch64)\n{}exit {:?}\n",
        o.stdout, o.code
    );
    assert_eq!(o.code, Some(1), "{o:#?}");
    for line in [
        "interpreter  /lib/ld-linux-aarch64.so.1 MISSING\n",
        "fix: set programs.rld.enable = true; and programs.rld.emulatedSystems = [ \"aarch64-linux\" ]; \
         (by default the systems of boot.binfmt.emulatedSystems) in configuration.nix",
        "In configuration.nix:\n  programs.rld.enable = true;\n  \
         programs.rld.emulatedSystems = [ \"aarch64-linux\" ]; # its default: the systems of boot.binfmt.emulatedSystems\n",
    ] {
        assert!(o.stdout.contains(line), "want {line:?} in:\n{}", o.stdout);
    }
    assert!(!o.stdout.contains("it is built for"), "{}", o.stdout);
    // What it offers meanwhile works: `rld run` execs the aarch64 ld.so,
    // which binfmt_misc starts as it starts the program.
    let o = stdout(
        &bare,
        "/opt/rld/bin/rld",
        &["run", CMAKE_BIN, "--version"],
        &env,
    );
    assert!(o.starts_with("cmake version "), "{o}");
}

/// Each foreign loader run by hand on a program, as one runs
/// `/lib/ld-linux.so.2 ./prog`: the aarch64 one is itself an aarch64
/// program, started by binfmt_misc and qemu-user.
#[test]
fn foreign_loaders_invoked_directly() {
    let root = root_for_variables();
    let env = per_system_env(&root);
    let py = format!("{DATA}/report.py");
    let o = stdout(
        &root,
        "/lib/ld-linux.so.2",
        &[I386_PYTHON, &py, "i386"],
        &env,
    );
    assert_eq!(o, "i386 4 <unset>\n");
    let o = stdout(
        &root,
        "/lib/ld-linux-aarch64.so.1",
        &[CMAKE_BIN, "--version"],
        &env,
    );
    assert!(o.starts_with("cmake version "), "{o}");
    let report = format!("{DATA}/report.cmake");
    let o = stdout(
        &root,
        "/lib/ld-linux-aarch64.so.1",
        &[CMAKE_BIN, "-P", &report],
        &env,
    );
    assert_eq!(o, "aarch64 aarch64 <unset>\n");
}
