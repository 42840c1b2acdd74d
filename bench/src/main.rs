//! rld-bench: start-up cost and size of rld-loader, side by side with the
//! native glibc loader, nix-ld (when given one) and an exec-ld.so shim, in
//! one interleaved run on one machine.
//!
//! Each program is built once per loader (its `PT_INTERP` naming that
//! loader) and started `--runs` times per variant, the variants taking turns
//! in a new random order every round, so that drift in the machine's speed
//! and the cache state one run leaves for the next hit all alike.
//! A run is fork + exec + wait of the program with output to /dev/null,
//! timed from the parent.
//!
//! Reported for each program and variant: the median start and its
//! 10th–90th percentiles; the median over the native start's, plain and
//! given the shims' library path (the fair floor); the shims' own cost over
//! that floor; CPU time and minor page faults from `wait4`. For each loader:
//! its stripped size, the system calls of a C hello and, by name, the ones
//! the loader makes itself before `ld.so`'s first. Written to
//! `--out`/results.md (also printed), results.json and startup.svg.

mod plot;
mod report;
mod stats;
mod strace;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const USAGE: &str = "\
usage: rld-bench [--runs N] [--warmup N] [--nix-ld PATH] [--loader NAME=PATH]... [--out DIR]

Builds rld-loader, the fixtures and an exec-ld.so shim, then times program
start-up through each loader in one interleaved run and prints a table.
  --runs N            timed starts per cell (one program through one loader);
                      each round starts every cell once, in a new random
                      order, so --runs 4000 is 4,000 interleaved starts of
                      each (default 2000)
  --warmup N          untimed rounds first (default 100)
  --nix-ld PATH       a nix-ld binary to compare against (else not measured)
  --loader NAME=PATH  one more shim loader, e.g. an rld-loader built before a
                      change, to measure before and after in one run
                      (repeatable)
  --out DIR           where binaries, logs, results.md, results.json and
                      startup.svg go (default bench/out)";

pub struct Args {
    pub runs: usize,
    pub warmup: usize,
    pub nix_ld: Option<PathBuf>,
    pub extra_loaders: Vec<(String, PathBuf)>,
    pub out: PathBuf,
}

fn parse_args(root: &Path) -> Result<Args, String> {
    let mut a = Args {
        runs: 2000,
        warmup: 100,
        nix_ld: None,
        extra_loaders: Vec::new(),
        out: root.join("bench/out"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => a.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--warmup" => a.warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--nix-ld" => a.nix_ld = Some(PathBuf::from(value()?)),
            "--loader" => {
                let v = value()?;
                let (name, path) = v
                    .split_once('=')
                    .filter(|(name, path)| !name.is_empty() && !path.is_empty())
                    .ok_or(format!("--loader {v:?}: expected NAME=PATH"))?;
                a.extra_loaders.push((name.to_owned(), PathBuf::from(path)));
            }
            "--out" => a.out = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if a.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(a)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let args = parse_args(&root).unwrap_or_else(|e| {
        eprintln!("rld-bench: {e}");
        std::process::exit(2)
    });
    if let Err(e) = run(&root, &args) {
        eprintln!("rld-bench: {e}");
        std::process::exit(1);
    }
}

/// Runs a command to completion, failing with its stderr.
pub fn sh(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What a variant's loader is, which decides what it is compared with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// glibc's ld.so as the interpreter: the start every other is over.
    Native,
    /// The same, given the library path the shims give ld.so.
    NativeSamePath,
    /// A loader that hands over to ld.so: rld, nix-ld, the exec shim.
    Shim,
}

/// One way of starting programs: a loader installed as their interpreter.
pub struct Variant {
    pub name: String,
    pub kind: Kind,
    pub loader: PathBuf,
    /// A copy of rld-loader that `rld configure-loader` gave the system's
    /// ld.so and library path, started with no `NIX_LD*` variable: what the
    /// NixOS module installs, and the start of every program on a NixOS
    /// machine with it (it sets no session variables by default).
    pub configured: bool,
}

impl Variant {
    /// Variables this variant gets on top of the common environment.
    fn env(&self) -> &'static [(&'static str, &'static str)] {
        match self.kind {
            // The native start given the same library path the shims give
            // ld.so: what is left between it and a shim is the shim's own
            // cost, not ld.so searching one more directory (and its
            // glibc-hwcaps subdirectories) before its cache.
            Kind::NativeSamePath => &[("LD_LIBRARY_PATH", LIBDIR)],
            Kind::Native | Kind::Shim => &[],
        }
    }
}

/// Debian's library directory: the library path every variant gets, as on
/// NixOS the module's directory.
pub const LIBDIR: &str = "/lib/x86_64-linux-gnu";

/// A benchmark program: how to build it for a given interpreter.
pub struct Program {
    pub name: &'static str,
    pub args: &'static [&'static str],
}

pub const PROGRAMS: [Program; 4] = [
    Program {
        name: "C hello",
        args: &[],
    },
    Program {
        name: "C++ hello",
        args: &[],
    },
    Program {
        name: "20 NEEDED libs",
        args: &[],
    },
    Program {
        name: "python3 -c pass",
        args: &["-c", "pass"],
    },
];

/// The index of the C hello in `PROGRAMS`, the program traced for system calls.
const C_HELLO: usize = 0;

/// What the timing loop measured for one program through one variant: one
/// entry per timed round, in round order, so that entries with the same
/// index in two cells come from the same round.
#[derive(Default)]
pub struct Samples {
    pub wall_us: Vec<f64>,
    pub cpu_us: Vec<f64>,
    pub minor_faults: Vec<f64>,
}

fn run(root: &Path, args: &Args) -> Result<(), String> {
    let out = &args.out;
    fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let native_ld = fs::canonicalize("/lib64/ld-linux-x86-64.so.2").map_err(|e| e.to_string())?;

    eprintln!("building rld-loader, the exec shim and the fixtures...");
    sh(Command::new("cargo").current_dir(root).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "rld-loader",
    ]))?;
    let rld = out.join("rld-loader");
    fs::copy(root.join("target/release/rld-loader"), &rld).map_err(|e| e.to_string())?;
    // The module's configured copy, made by the rld tool as the module
    // makes it (the ld.so and the library path are this machine's).
    sh(Command::new("cargo").current_dir(root).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "rld",
    ]))?;
    let configured = out.join("rld-loader-configured");
    sh(Command::new(root.join("target/release/rld"))
        .arg("configure-loader")
        .arg(&rld)
        .arg("--ld-so")
        .arg(&native_ld)
        .args(["--library-path", LIBDIR, "--output"])
        .arg(&configured))?;
    let fixtures = root.join("bench/fixtures");
    let shim = out.join("exec-shim");
    sh(Command::new("cc")
        .args(["-nostdlib", "-static-pie", "-fPIE", "-O2", "-o"])
        .arg(&shim)
        .arg(fixtures.join("exec_shim.c")))?;

    let variant = |name: &str, kind, loader: &Path| Variant {
        name: name.to_owned(),
        kind,
        loader: loader.to_owned(),
        configured: false,
    };
    let mut variants = vec![
        variant("native", Kind::Native, &native_ld),
        variant(
            "native, same library path",
            Kind::NativeSamePath,
            &native_ld,
        ),
        variant("rld", Kind::Shim, &rld),
        Variant {
            configured: true,
            ..variant("rld, configured, no variables", Kind::Shim, &configured)
        },
    ];
    // Copies in `out`, so that a loader rebuilt later does not change a
    // run's binaries under it.
    let mut shims = Vec::new();
    if let Some(p) = &args.nix_ld {
        shims.push(("nix-ld".to_owned(), p.clone()));
    }
    shims.extend(args.extra_loaders.iter().cloned());
    for (i, (name, path)) in shims.iter().enumerate() {
        let copy = out.join(format!("loader-{i}"));
        fs::copy(path, &copy).map_err(|e| format!("{name}: {}: {e}", path.display()))?;
        variants.push(variant(name, Kind::Shim, &copy));
    }
    variants.push(variant("exec shim", Kind::Shim, &shim));

    let binaries = build_programs(&variants, &fixtures, out)?;

    // As in a dev shell written for nix-ld, or with the module's
    // setSessionVariables: NIX_LD names glibc's ld.so and
    // NIX_LD_LIBRARY_PATH a directory holding the libraries (here Debian's
    // own). The native start ignores both; the configured variant goes
    // without them.
    let env: Vec<(&str, String)> = vec![
        ("NIX_LD", native_ld.display().to_string()),
        ("NIX_LD_LIBRARY_PATH", LIBDIR.into()),
        ("PATH", "/usr/bin:/bin".into()),
        ("HOME", "/nonexistent".into()),
    ];
    // Every variant must run its program correctly before it is timed.
    for (p, row) in binaries.iter().enumerate() {
        for (v, bin) in row.iter().enumerate() {
            let status = command(bin, PROGRAMS[p].args, &with(&env, &variants[v]))
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!(
                    "{} through {} failed: {status}",
                    PROGRAMS[p].name, variants[v].name
                ));
            }
        }
    }

    // Traced before the long timed part, so that a loader the tracing
    // cannot follow fails the run at once.
    eprintln!("tracing the C hello's system calls through each loader...");
    let mut syscalls = Vec::new();
    for (v, variant) in variants.iter().enumerate() {
        let label = format!("v{v}");
        syscalls.push(strace::trace(
            &binaries[C_HELLO][v],
            &with(&env, variant),
            &native_ld,
            &variant.loader,
            out,
            &label,
        )?);
    }
    let samples = time_all(&variants, &binaries, &env, args)?;

    let loader_bytes = variants
        .iter()
        .map(|v| stripped_size(&v.loader, out))
        .collect::<Result<Vec<u64>, String>>()?;

    let results = report::Run {
        args,
        variants: &variants,
        samples: &samples,
        syscalls: &syscalls,
        loader_bytes: &loader_bytes,
    };
    let md = report::markdown(&results);
    print!("{md}");
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("results.md", &md)?;
    let json = serde_json::to_string_pretty(&report::json(&results)).map_err(|e| e.to_string())?;
    write("results.json", &(json + "\n"))?;
    write("startup.svg", &plot::plot(&variants, &samples))?;
    eprintln!(
        "wrote results.md, results.json, startup.svg and the strace logs to {}",
        out.display()
    );
    Ok(())
}

/// Builds every program once per variant, its interpreter that variant's
/// loader: `binaries[program][variant]`.
fn build_programs(
    variants: &[Variant],
    fixtures: &Path,
    out: &Path,
) -> Result<Vec<Vec<PathBuf>>, String> {
    // The 20 libraries, found through the program's RUNPATH.
    let libs = out.join("libs");
    fs::create_dir_all(&libs).map_err(|e| e.to_string())?;
    let mut link = vec![
        format!("-L{}", libs.display()),
        "-Wl,-rpath,$ORIGIN/libs".to_owned(),
    ];
    let mut main_src = String::from("int main(void) { return 0");
    for i in 0..20 {
        let name = format!("bench_lib{i}");
        sh(Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", &format!("-DNAME={name}"), "-o"])
            .arg(libs.join(format!("lib{name}.so")))
            .arg(fixtures.join("lib.c")))?;
        link.push(format!("-l{name}"));
        let _ = write!(main_src, " + {name}() - 1");
        main_src.insert_str(0, &format!("int {name}(void);\n"));
    }
    main_src.push_str("; }\n");
    let many_src = out.join("many.c");
    fs::write(&many_src, main_src).map_err(|e| e.to_string())?;
    let python = fs::canonicalize("/usr/bin/python3").map_err(|e| e.to_string())?;

    let mut binaries = Vec::new();
    for p in 0..PROGRAMS.len() {
        let mut row = Vec::new();
        for (v, variant) in variants.iter().enumerate() {
            let bin = out.join(format!("p{p}-v{v}"));
            let interp = format!("-Wl,--dynamic-linker={}", variant.loader.display());
            match p {
                0 => sh(Command::new("cc")
                    .args(["-O2", &interp, "-o"])
                    .arg(&bin)
                    .arg(fixtures.join("hello.c")))?,
                1 => sh(Command::new("c++")
                    .args(["-O2", &interp, "-o"])
                    .arg(&bin)
                    .arg(fixtures.join("hello.cpp")))?,
                2 => sh(Command::new("cc")
                    .args(["-O2", &interp, "-o"])
                    .arg(&bin)
                    .arg(&many_src)
                    .args(&link))?,
                _ => {
                    fs::copy(&python, &bin).map_err(|e| e.to_string())?;
                    sh(Command::new("patchelf")
                        .arg("--set-interpreter")
                        .arg(&variant.loader)
                        .arg(&bin))?
                }
            };
            row.push(bin);
        }
        binaries.push(row);
    }
    Ok(binaries)
}

/// Starts every program through every variant, `--warmup` untimed rounds
/// then `--runs` timed ones, each round every cell once in a new random
/// order: `samples[program][variant]`.
fn time_all(
    variants: &[Variant],
    binaries: &[Vec<PathBuf>],
    env: &[(&str, String)],
    args: &Args,
) -> Result<Vec<Vec<Samples>>, String> {
    eprintln!(
        "timing: {} programs x {} loaders, {} warm-up + {} timed starts each, interleaved...",
        PROGRAMS.len(),
        variants.len(),
        args.warmup,
        args.runs
    );
    let mut samples: Vec<Vec<Samples>> = (0..PROGRAMS.len())
        .map(|_| variants.iter().map(|_| Samples::default()).collect())
        .collect();
    let mut order: Vec<(usize, usize)> = (0..PROGRAMS.len())
        .flat_map(|p| (0..variants.len()).map(move |v| (p, v)))
        .collect();
    // A fresh random order every round: with a fixed cyclic order (even a
    // rotating start) each cell always ran right after the same other
    // cell, and the native cells, which follow a different program, paid
    // for colder caches (about 10 % on the C hello).
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..args.warmup + args.runs {
        for i in (1..order.len()).rev() {
            // xorshift64: enough to vary the order, and reproducible.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        for &(p, v) in &order {
            let mut cmd = command(&binaries[p][v], PROGRAMS[p].args, &with(env, &variants[v]));
            let t = Instant::now();
            let (status, usage) = run_with_usage(&mut cmd)?;
            let us = t.elapsed().as_secs_f64() * 1e6;
            if status != 0 {
                return Err(format!(
                    "{} through {} failed in round {round}",
                    PROGRAMS[p].name, variants[v].name
                ));
            }
            if round >= args.warmup {
                let cell = &mut samples[p][v];
                cell.wall_us.push(us);
                cell.cpu_us.push(usage.cpu_us);
                cell.minor_faults.push(usage.minor_faults);
            }
        }
    }
    Ok(samples)
}

/// What `wait4` says a child used.
struct Usage {
    /// User + system CPU time.
    cpu_us: f64,
    minor_faults: f64,
}

/// Spawns `cmd` and reaps it with wait4: its exit status and usage.
fn run_with_usage(cmd: &mut Command) -> Result<(i32, Usage), String> {
    let child = cmd.spawn().map_err(|e| e.to_string())?;
    let mut status = 0;
    // SAFETY: rusage is plain data the kernel fills in; the pid is our
    // child, not yet reaped (std does not wait on drop).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: valid pointers to live locals.
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok((
        code,
        Usage {
            cpu_us: tv(usage.ru_utime) + tv(usage.ru_stime),
            minor_faults: usage.ru_minflt as f64,
        },
    ))
}

/// The common environment plus what `variant` adds; a configured loader's
/// start has no `NIX_LD*` variable, but `_`, which a shell sets to the
/// program's path (rld lends its slot; its value does not matter).
fn with<'a>(env: &[(&'a str, String)], variant: &Variant) -> Vec<(&'a str, String)> {
    let mut all = env.to_vec();
    if variant.configured {
        all.retain(|(k, _)| !k.starts_with("NIX_LD"));
        all.push(("_", "/usr/bin/env".into()));
    }
    all.extend(variant.env().iter().map(|&(k, v)| (k, v.to_owned())));
    all
}

fn command(bin: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn stripped_size(loader: &Path, out: &Path) -> Result<u64, String> {
    let bytes = fs::read(loader).map_err(|e| format!("{}: {e}", loader.display()))?;
    let whole = bytes.len() as u64;
    // A configured loader has no section headers (e_shnum, at byte 60 of
    // a 64-bit ELF header, is 0): nothing for strip to remove, or read.
    if bytes.get(60..62) == Some(&[0, 0][..]) {
        return Ok(whole);
    }
    let copy = out.join("stripped.tmp");
    sh(Command::new("strip").arg("-o").arg(&copy).arg(loader))?;
    let size = fs::metadata(&copy).map_err(|e| e.to_string())?.len();
    let _ = fs::remove_file(copy);
    // strip can make an already stripped file a little larger.
    Ok(size.min(whole))
}
