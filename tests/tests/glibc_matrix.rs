//! rld's behaviour contract against every glibc from 2.31 to the newest, on
//! x86_64, i686 (run natively) and aarch64 (under qemu-user): Debian's
//! glibc of bullseye, bookworm, trixie and sid (`scripts/fetch-glibc.sh`),
//! and fixtures built against each cell's own glibc (`rld_tests::glibc`).
//!
//! One test per check; each runs every cell and collects the failures, so
//! one run reports the whole matrix. Every fixture also reports the glibc
//! version it runs on and every shared object mapped into it: a start that
//! quietly used this machine's glibc fails the check.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Mutex;

use rld_tests::cross::Arch;
use rld_tests::glibc::{Cell, cells};
use rld_tests::root::{Root, StorePath};
use rld_tests::{Outcome, SYSTEM_LD_SO, TempDir, configure_loader};

/// Prints, from a constructor, the glibc version the program runs on and
/// every shared object mapped into it (`<who>.so<N>=<path>`), `who` being
/// probe.c's `self` or `child`.
const WHERE_C: &str = r#"
#include <gnu/libc-version.h>
#include <stdio.h>
#include <string.h>

__attribute__((constructor)) static void where(int argc, char **argv) {
    const char *who = (argc > 1 && strcmp(argv[1], "--child") == 0) ? "child" : "self";
    printf("%s.libc_version=%s\n", who, gnu_get_libc_version());
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) {
        printf("%s.maps=unreadable\n", who);
        return;
    }
    char line[4096], last[4096] = "";
    int n = 0;
    while (fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (!path)
            continue;
        path[strcspn(path, "\n")] = '\0';
        if (!strstr(path, ".so") || strcmp(path, last) == 0)
            continue;
        strcpy(last, path);
        printf("%s.so%d=%s\n", who, n++, path);
    }
    fclose(maps);
}
"#;

/// The checks, in the matrix's column order.
const CHECKS: &[&str] = &[
    "nix_ld",
    "default argv0=path",
    "default argv0=other",
    "direct",
    "--version",
    "environment",
    "children",
    "c++",
    "node",
    "cmake",
    "node+cmake default",
];

type Check = Result<(), String>;

/// (cell index, check) -> `ok`, `FAIL` or `known`, filled as the tests
/// finish.
static MATRIX: Mutex<BTreeMap<(usize, &'static str), &'static str>> = Mutex::new(BTreeMap::new());
static FINISHED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// Runs `check` on every cell `applies` selects, records the results and
/// fails with every failing cell's message. A panic inside one cell (a
/// fixture that does not build) is that cell's failure.
fn matrix(name: &'static str, applies: fn(&Cell) -> bool, check: fn(&Cell, &TempDir) -> Check) {
    let mut failures = String::new();
    for (i, cell) in cells().iter().enumerate() {
        if !applies(cell) {
            continue;
        }
        let dir = TempDir::new(&format!("glibc-{}", cell.name()));
        let result = catch_unwind(AssertUnwindSafe(|| check(cell, &dir)))
            .unwrap_or_else(|p| Err(panic_message(&p)));
        let (label, failure) = match (known_failure(name, cell), result) {
            (None, Ok(())) => ("ok", None),
            (None, Err(e)) => ("FAIL", Some(e)),
            (Some(_), Err(_)) => ("known", None),
            (Some(why), Ok(())) => (
                "FAIL",
                Some(format!(
                    "passes, but is listed as a known failure ({why}): update known_failure and the README"
                )),
            ),
        };
        if let Some(e) = failure {
            let _ = writeln!(
                failures,
                "--- {} (glibc {}, {}) {name}: {e}",
                cell.name(),
                cell.version,
                cell.arch_name()
            );
        }
        MATRIX.lock().unwrap().insert((i, name), label);
    }
    finish(name);
    assert!(failures.is_empty(), "glibc matrix, {name}:\n{failures}");
}

/// Where a check fails for a known reason that rld cannot change, as the
/// README's "Supported glibc versions" says. Such a cell must fail: one
/// that passes means this table and the README are out of date.
fn known_failure(check: &str, cell: &Cell) -> Option<&'static str> {
    let before_2_33 = !cell.has_argv0();
    let aarch64_before_2_36 = cell.arch == Some(Arch::Aarch64) && cell.version_number() < (2, 36);
    match check {
        // ld.so learned --argv0 in 2.33; rld passes it only when argv[0]
        // is not the path, which the probe's re-exec (argv[0] its path,
        // the kernel's path /proc/self/exe) also is.
        "default argv0=other" | "environment" | "children" if before_2_33 => {
            Some("by hand with argv[0] not the path needs ld.so's --argv0, glibc 2.33")
        }
        "--version" if before_2_33 => Some("ld.so learned --version in glibc 2.33"),
        // Reproduced without rld: that ld.so run by hand under qemu hands
        // the program a broken auxiliary vector (getauxval gives 0).
        "default argv0=path" if aarch64_before_2_36 => {
            Some("ld.so before 2.36 on aarch64, run by hand, breaks the auxiliary vector")
        }
        _ => None,
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panicked".into())
}

/// Marks `name` done; the last check to finish prints the matrix, to the
/// real stderr (the test harness captures only `eprintln!`).
fn finish(name: &'static str) {
    let mut done = FINISHED.lock().unwrap();
    done.push(name);
    if done.len() < CHECKS.len() {
        return;
    }
    let m = MATRIX.lock().unwrap();
    let mut out = String::from(
        "\nglibc matrix (ok, FAIL, known = a documented limitation, - = not applicable)\n",
    );
    let _ = write!(out, "{:<34}", "cell");
    for c in CHECKS {
        let _ = write!(out, " {c:>19}");
    }
    out.push('\n');
    for (i, cell) in cells().iter().enumerate() {
        let label = format!(
            "{} glibc {} {}",
            cell.name(),
            cell.version,
            cell.arch_name()
        );
        let _ = write!(out, "{label:<34}");
        for c in CHECKS {
            let v = m.get(&(i, *c)).copied().unwrap_or("-");
            let _ = write!(out, " {v:>19}");
        }
        out.push('\n');
    }
    let _ = std::io::stderr().write_all(out.as_bytes());
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*));
        }
    };
}

/// The fixture that reports where it runs (see [`WHERE_C`]), in `dir`.
fn where_c(dir: &TempDir) -> String {
    let path = dir.join("where.c");
    std::fs::write(&path, WHERE_C).unwrap();
    path.to_str().unwrap().to_owned()
}

/// probe.c with [`WHERE_C`], built against `cell`'s glibc.
fn probe(cell: &Cell, dir: &TempDir, out: &str, interp: &Path) -> std::path::PathBuf {
    let w = where_c(dir);
    cell.program(&["probe.c", &w], dir, out, interp, &[])
}

/// A successful start: exit 0, no signal, nothing on stderr.
fn started(o: &Outcome) -> Check {
    ensure!(
        o.code == Some(0) && o.signal.is_none() && o.stderr.is_empty(),
        "the program did not start cleanly: exit {:?}, signal {:?}\nstderr:\n{}\nstdout:\n{}",
        o.code,
        o.signal,
        o.stderr,
        o.stdout
    );
    Ok(())
}

/// Each `key` of the probe's output has the value wanted.
fn values(o: &Outcome, want: &[(String, String)]) -> Check {
    let got = o.values();
    for (key, value) in want {
        let have = got.get(key).map(String::as_str);
        ensure!(
            have == Some(value.as_str()),
            "{key}: want {value:?}, got {have:?}\nstdout:\n{}\nstderr:\n{}",
            o.stdout,
            o.stderr
        );
    }
    Ok(())
}

fn kv(key: impl Into<String>, value: impl Into<String>) -> (String, String) {
    (key.into(), value.into())
}

/// `who` ran on `cell`'s glibc: its version, and every shared object mapped
/// into it (ld.so, libc, libstdc++, ...) is a file of the cell.
fn on_cell_glibc(o: &Outcome, who: &str, cell: &Cell) -> Check {
    values(o, &[kv(format!("{who}.libc_version"), &cell.version)])?;
    let prefix = format!("{who}.so");
    let mapped: Vec<(String, String)> = o
        .values()
        .into_iter()
        .filter(|(k, _)| {
            k.strip_prefix(&prefix)
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .collect();
    ensure!(
        mapped.len() >= 2,
        "{who}: want ld.so and libc.so.6 among the mappings, got {mapped:?}"
    );
    for (_, path) in &mapped {
        ensure!(
            Path::new(path).starts_with(&cell.dir),
            "{who}: {path} is mapped, which is not {}'s glibc ({})",
            cell.name(),
            cell.dir.display()
        );
    }
    Ok(())
}

/// `PROBE_VIA` for a cell run under qemu-user: the probe runs its child
/// through it, as binfmt_misc would.
fn via(cell: &Cell) -> Vec<(&'static str, &'static str)> {
    cell.qemu().map(|q| ("PROBE_VIA", q)).into_iter().collect()
}

fn owned(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// 1. Started through `NIX_LD` (`NIX_LD_{system}` on i686 and aarch64) and
///    the library path variable naming the cell's glibc.
#[test]
fn nix_ld() {
    matrix(
        "nix_ld",
        |_| true,
        |cell, dir| {
            let p = probe(cell, dir, "probe", cell.loader());
            let base = cell.nix_ld_env();
            let env = owned(&base);
            let o = cell.run(&p, &["x y"], &env, None);
            started(&o)?;
            let path = p.to_str().unwrap();
            values(
                &o,
                &[
                    kv("self.argv0", path),
                    kv("self.argv1", "x y"),
                    kv("self.exe", path),
                    kv("self.entry_is_start", "1"),
                    kv("self.ld_library_path", "<unset>"),
                    kv("self.env_count", env.len().to_string()),
                ],
            )?;
            on_cell_glibc(&o, "self", cell)?;
            // Control: the same probe given this machine's glibc instead
            // must fail the check, or it proves nothing.
            if cell.arch.is_none() {
                let host = [
                    ("NIX_LD", SYSTEM_LD_SO),
                    ("NIX_LD_LIBRARY_PATH", "/lib/x86_64-linux-gnu"),
                ];
                let o = cell.run(&p, &["x y"], &host, None);
                ensure!(
                    on_cell_glibc(&o, "self", cell).is_err(),
                    "control: the check passed on this machine's glibc:\n{}",
                    o.stdout
                );
            }
            Ok(())
        },
    );
}

/// 2. The compiled-in default (a configured loader naming the cell's ld.so
///    and libraries) under `env -i`: no environment word to lend, so rld
///    starts ld.so as if run by hand on the program. argv[0] is kept
///    exactly, except where ld.so has no `--argv0` (glibc < 2.33) and
///    argv[0] is not the path the kernel ran: then the program sees that
///    path.
fn default_start(cell: &Cell, dir: &TempDir, arg0: Option<&str>) -> Check {
    let loader = cell.configured_loader(dir);
    let p = probe(cell, dir, "probe", &loader);
    let path = p.to_str().unwrap();
    let o = cell.run(&p, &["a", "b c"], &[], arg0);
    started(&o)?;
    let want_argv0 = match arg0 {
        Some(a) if cell.has_argv0() => a,
        _ => path,
    };
    values(
        &o,
        &[
            kv("self.argc", "3"),
            kv("self.argv0", want_argv0),
            kv("self.invocation_name", want_argv0),
            kv("self.argv1", "a"),
            kv("self.argv2", "b c"),
            kv("self.exe", path),
            kv("self.env_count", "0"),
            kv("self.ld_library_path", "<unset>"),
            kv("self.entry_is_start", "1"),
            kv("self.auxv_after_argv", "1"),
            kv("self.auxv_after_environ", "1"),
        ],
    )?;
    on_cell_glibc(&o, "self", cell)
}

#[test]
fn default_with_argv0_the_path() {
    matrix(
        "default argv0=path",
        |_| true,
        |cell, dir| default_start(cell, dir, None),
    );
}

#[test]
fn default_with_argv0_another_name() {
    matrix(
        "default argv0=other",
        |_| true,
        |cell, dir| default_start(cell, dir, Some("other-name")),
    );
}

/// 3. `rld-loader ./prog args`, with the variables and with a configured
///    default under `env -i`: the library path reaches ld.so as
///    `--library-path`, so the program's environment is untouched.
#[test]
fn direct_invocation() {
    matrix(
        "direct",
        |_| true,
        |cell, dir| {
            // Its interpreter exists nowhere: only rld-loader run by hand
            // can start it.
            let p = probe(cell, dir, "plain", Path::new("/nonexistent/ld.so"));
            let path = p.to_str().unwrap();
            let configured = cell.configured_loader(dir);
            let base = cell.nix_ld_env();
            let vars = owned(&base);
            for (loader, env) in [(cell.loader(), &vars[..]), (configured.as_path(), &[][..])] {
                let o = cell.run(loader, &[path, "x"], env, None);
                started(&o).map_err(|e| format!("{} {path} x: {e}", loader.display()))?;
                values(
                    &o,
                    &[
                        kv("self.argv0", path),
                        kv("self.argv1", "x"),
                        kv("self.ld_library_path", "<unset>"),
                        kv("self.env_count", env.len().to_string()),
                    ],
                )?;
                on_cell_glibc(&o, "self", cell)?;
            }
            Ok(())
        },
    );
}

/// 3b. `rld-loader --version` with the cell's ld.so as the default: rld's
///     line, then ld.so's own; ld.so before 2.33 has no `--version` and
///     must not get the chance to fail cryptically ("--version: cannot
///     open shared object file").
#[test]
fn direct_version() {
    matrix(
        "--version",
        |_| true,
        |cell, dir| {
            let configured = cell.configured_loader(dir);
            let o = cell.run(&configured, &["--version"], &[], None);
            let report = format!(
                "exit {:?}, signal {:?}\nstdout:\n{}\nstderr:\n{}",
                o.code, o.signal, o.stdout, o.stderr
            );
            ensure!(o.signal.is_none(), "killed: {report}");
            let first = o.stdout.lines().next().unwrap_or("");
            ensure!(
                first.starts_with("rld-loader ") && first.contains("(rld)"),
                "no rld version line first: {report}"
            );
            if cell.has_argv0() {
                ensure!(o.code == Some(0), "{report}");
                ensure!(
                    o.stdout
                        .contains(&format!("release version {}.", cell.version)),
                    "no ld.so {} version text: {report}",
                    cell.version
                );
            } else {
                ensure!(
                    !o.stderr.contains("cannot open shared object file"),
                    "ld.so {} was given --version, which it does not know: {report}",
                    cell.version
                );
                ensure!(
                    o.stderr.lines().all(|l| l.starts_with("rld: ")),
                    "stderr lines without rld: {report}"
                );
            }
            Ok(())
        },
    );
}

/// The probe through the cell's loader (for the variables) and through a
/// loader configured with the cell's glibc.
fn probes(cell: &Cell, dir: &TempDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let configured = cell.configured_loader(dir);
    (
        probe(cell, dir, "probe", cell.loader()),
        probe(cell, dir, "probe-configured", &configured),
    )
}

/// 4. At the program's entry the environment is what it was before rld
///    (an unset `LD_LIBRARY_PATH` unset again, a user's value byte for
///    byte) and `getauxval(AT_ENTRY)` is the program's entry; the same in
///    a child. Through the variables and through the configured default
///    (with a word to lend).
#[test]
fn environment_and_at_entry_restored() {
    matrix(
        "environment",
        |_| true,
        |cell, dir| {
            let (p, pc) = probes(cell, dir);
            let base = cell.nix_ld_env();
            for (prog, vars) in [(&p, owned(&base)), (&pc, vec![("HOME", "/root")])] {
                for user in [None, Some("/opt/a:/opt/b"), Some(""), Some("/x y::/z:")] {
                    let mut env = vars.clone();
                    env.push(("PROBE_SPAWN", "1"));
                    env.extend(via(cell));
                    if let Some(u) = user {
                        env.push(("LD_LIBRARY_PATH", u));
                    }
                    let o = cell.run(prog, &[], &env, None);
                    let what = format!("{} LD_LIBRARY_PATH={user:?}", prog.display());
                    started(&o).map_err(|e| format!("{what}: {e}"))?;
                    let want = user.unwrap_or("<unset>");
                    let mut keys = vec![kv("child.status", "0")];
                    for who in ["self", "child"] {
                        keys.extend([
                            kv(format!("{who}.ld_library_path"), want),
                            kv(format!("{who}.env_count"), env.len().to_string()),
                            kv(format!("{who}.entry_is_start"), "1"),
                            kv(format!("{who}.auxv_after_argv"), "1"),
                            kv(format!("{who}.auxv_after_environ"), "1"),
                        ]);
                    }
                    values(&o, &keys).map_err(|e| format!("{what}: {e}"))?;
                    on_cell_glibc(&o, "self", cell).map_err(|e| format!("{what}: {e}"))?;
                }
            }
            Ok(())
        },
    );
}

/// 5. The program execs another program that also goes through rld (the
///    kernel, or qemu-user for aarch64, starts rld again), through the
///    variables and through the configured default.
#[test]
fn children() {
    matrix(
        "children",
        |_| true,
        |cell, dir| {
            let (p, pc) = probes(cell, dir);
            let base = cell.nix_ld_env();
            for (prog, vars) in [(&p, owned(&base)), (&pc, vec![])] {
                let mut env = vars;
                env.push(("PROBE_SPAWN", "1"));
                env.extend(via(cell));
                let o = cell.run(prog, &[], &env, None);
                let what = prog.display();
                started(&o).map_err(|e| format!("{what}: {e}"))?;
                values(
                    &o,
                    &[
                        kv("child.status", "0"),
                        kv("child.argv1", "--child"),
                        kv("child.exe", prog.to_str().unwrap()),
                        kv("child.entry_is_start", "1"),
                        kv("child.ld_library_path", "<unset>"),
                        kv("child.env_count", env.len().to_string()),
                    ],
                )
                .map_err(|e| format!("{what}: {e}"))?;
                on_cell_glibc(&o, "child", cell).map_err(|e| format!("{what}: {e}"))?;
            }
            Ok(())
        },
    );
}

/// 6. A C++ program (exceptions, threads, thread_local) on the cell's
///    libstdc++ and libgcc_s, through the variables and the configured
///    default under `env -i`.
#[test]
fn cxx_exceptions_on_the_cells_libstdcxx() {
    matrix(
        "c++",
        |_| true,
        |cell, dir| {
            let w = where_c(dir);
            let configured = cell.configured_loader(dir);
            let base = cell.nix_ld_env();
            for (name, loader, env) in [
                ("cxx", cell.loader(), owned(&base)),
                ("cxx-configured", configured.as_path(), vec![]),
            ] {
                let p = cell.program(&["cxx.cpp", &w], dir, name, loader, &["-pthread"]);
                let o = cell.run(&p, &[], &env, None);
                started(&o).map_err(|e| format!("{name}: {e}"))?;
                values(
                    &o,
                    &[kv("caught", "boom"), kv("threads", "7,8,9,10 main=7")],
                )
                .map_err(|e| format!("{name}: {e}"))?;
                on_cell_glibc(&o, "self", cell).map_err(|e| format!("{name}: {e}"))?;
                for lib in ["libstdc++.so.6", "libgcc_s.so.1"] {
                    let real = std::fs::canonicalize(cell.library(lib)).unwrap();
                    ensure!(
                        o.values().values().any(|v| Path::new(v) == real),
                        "{name}: {} is not mapped:\n{}",
                        real.display(),
                        o.stdout
                    );
                }
            }
            Ok(())
        },
    );
}

/// The libraries the downloaded Node.js and CMake need, from the cell.
const CORPUS_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
    "libstdc++.so.6",
    "libgcc_s.so.1",
];

/// A NixOS-like root with the downloaded wheels, no default directory,
/// and the cell's glibc (ld.so and [`CORPUS_LIBRARIES`]) as a store path of
/// its own. At `/lib64/ld-linux-x86-64.so.2`: with `configured` `None`, rld
/// as built, and the returned environment has the variables naming that
/// store path; else a loader configured with it, written into `configured`,
/// and the environment is empty (a service, `env -i`). The root's store
/// also holds this machine's libraries (the wheels' dependencies), but no
/// path names them.
fn corpus_root(
    cell: &Cell,
    extra: &[(&str, &str)],
    configured: Option<&TempDir>,
) -> (Root, StorePath, Vec<(String, String)>) {
    let glibc = StorePath::new(&format!("glibc-{}-{}", cell.suite, cell.version));
    let ld_so = glibc.join("lib/ld-linux-x86-64.so.2");
    let mut b = Root::builder()
        .corpus()
        .without_default_dir()
        .file(&ld_so, &cell.ld_so());
    for lib in CORPUS_LIBRARIES {
        b = b.file(&glibc.join(&format!("lib/{lib}")), &cell.library(lib));
    }
    for (at, text) in extra {
        b = b.text(at, text);
    }
    let env = match configured {
        None => vec![
            ("NIX_LD".into(), ld_so),
            ("NIX_LD_LIBRARY_PATH".into(), glibc.join("lib")),
            ("HOME".into(), "/tmp".into()),
        ],
        Some(dir) => {
            let loader = configure_loader(
                cell.loader(),
                &ld_so,
                &glibc.join("lib"),
                &dir.join("rld-loader-store"),
            );
            b = b.loader(Some(&loader));
            vec![]
        }
    };
    (b.build(), glibc, env)
}

const NODE: &str = r#"
const { execFileSync } = require('child_process');
const glibc = process.report.getReport().header.glibcVersionRuntime;
console.log('node', process.version, glibc, process.env.LD_LIBRARY_PATH ?? '<unset>');
const code = "console.log('child', process.version, process.report.getReport().header.glibcVersionRuntime, process.env.LD_LIBRARY_PATH ?? '<unset>')";
console.log(execFileSync(process.execPath, ['-e', code]).toString().trim());
"#;

/// 7. Node.js from a manylinux wheel (built for an old glibc) on each
///    x86_64 glibc, with a child node process; node reports the glibc it
///    runs on.
#[test]
fn downloaded_node_on_each_glibc() {
    matrix(
        "node",
        |cell| cell.arch.is_none(),
        |cell, _| {
            let (root, _, env) = corpus_root(cell, &[], None);
            let node = format!("{}/bin/node", rld_tests::root::NODE);
            let o = root.run(&node, &["-e", NODE], &owned(&env));
            started(&o)?;
            let v = format!("v{}", rld_tests::root::corpus().node.version);
            let want = format!(
                "node {v} {0} <unset>\nchild {v} {0} <unset>\n",
                cell.version
            );
            ensure!(o.stdout == want, "want:\n{want}got:\n{}", o.stdout);
            Ok(())
        },
    );
}

const CMAKE_SCRIPT: &str = r#"cmake_minimum_required(VERSION 3.20)
file(READ /proc/self/maps maps)
foreach(f ld-linux-x86-64.so.2 libc.so.6 libstdc++.so.6)
  string(FIND "${maps}" "${GLIBC}/lib/${f}" at)
  if(at EQUAL -1)
    message(STATUS "${f} not from ${GLIBC}")
  else()
    message(STATUS "${f} from the cell")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E echo child-ok
  OUTPUT_VARIABLE out OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
message(STATUS "child ${rc} ${out}")
"#;

/// 7. CMake from its manylinux wheel on each x86_64 glibc: `--version`,
///    and a script that finds the cell's ld.so, libc and libstdc++ in its
///    own mappings and runs a child cmake.
#[test]
fn downloaded_cmake_on_each_glibc() {
    matrix(
        "cmake",
        |cell| cell.arch.is_none(),
        |cell, _| {
            let (root, glibc, env) =
                corpus_root(cell, &[("/opt/scripts/glibc.cmake", CMAKE_SCRIPT)], None);
            let cmake = format!("{}/bin/cmake", rld_tests::root::CMAKE);
            let env = owned(&env);
            let o = root.run(&cmake, &["--version"], &env);
            started(&o)?;
            let want = format!("cmake version {}", rld_tests::root::corpus().cmake.version);
            ensure!(
                o.stdout.lines().next() == Some(want.as_str()),
                "want {want:?}, got:\n{}",
                o.stdout
            );
            let define = format!("-DGLIBC={}", glibc.path());
            let o = root.run(&cmake, &[&define, "-P", "/opt/scripts/glibc.cmake"], &env);
            started(&o)?;
            let want = "-- ld-linux-x86-64.so.2 from the cell\n-- libc.so.6 from the cell\n\
                        -- libstdc++.so.6 from the cell\n-- child 0 child-ok\n";
            ensure!(o.stdout == want, "want:\n{want}got:\n{}", o.stdout);
            Ok(())
        },
    );
}

/// 7b. The same downloads with no variable at all (a service, `env -i`):
///     rld at `/lib64` configured with the cell's glibc in the store starts
///     ld.so by hand, for node, its child and cmake.
#[test]
fn downloaded_programs_through_the_configured_default() {
    matrix(
        "node+cmake default",
        |cell| cell.arch.is_none(),
        |cell, dir| {
            let (root, _, env) = corpus_root(cell, &[], Some(dir));
            let env = owned(&env);
            let node = format!("{}/bin/node", rld_tests::root::NODE);
            let o = root.run(&node, &["-e", NODE], &env);
            started(&o).map_err(|e| format!("node: {e}"))?;
            let v = format!("v{}", rld_tests::root::corpus().node.version);
            let want = format!(
                "node {v} {0} <unset>\nchild {v} {0} <unset>\n",
                cell.version
            );
            ensure!(o.stdout == want, "node: want:\n{want}got:\n{}", o.stdout);
            let cmake = format!("{}/bin/cmake", rld_tests::root::CMAKE);
            let o = root.run(&cmake, &["--version"], &env);
            started(&o).map_err(|e| format!("cmake: {e}"))?;
            let want = format!("cmake version {}", rld_tests::root::corpus().cmake.version);
            ensure!(
                o.stdout.lines().next() == Some(want.as_str()),
                "cmake: want {want:?}, got:\n{}",
                o.stdout
            );
            Ok(())
        },
    );
}
