//! rld-bench: start-up cost and size of rld-loader, side by side with the
//! native glibc loader, nix-ld (when given one) and an exec-ld.so shim, in
//! one interleaved run on one machine.
//!
//! Each program is built once per loader (its `PT_INTERP` naming that
//! loader) and started `--runs` times per variant, the variants taking turns
//! in a new random order every round, so that drift in the machine's speed
//! and the cache state one run leaves for the next hit all alike.
//! A run is fork + exec + wait of the program with output to /dev/null,
//! timed from the parent. Reported: median and 10th–90th percentile of each
//! variant, its median over native's, syscall counts from `strace -f -c`,
//! and stripped loader sizes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const USAGE: &str = "\
usage: rld-bench [--runs N] [--warmup N] [--nix-ld PATH] [--out DIR]

Builds rld-loader, the fixtures and an exec-ld.so shim, then times program
start-up through each loader in one interleaved run and prints a table.
  --runs N      timed runs per program and loader (default 2000)
  --warmup N    untimed runs first (default 100)
  --nix-ld PATH a nix-ld binary to compare against (else: not available)
  --out DIR     where binaries, results.md and startup.svg go (default bench/out)";

struct Args {
    runs: usize,
    warmup: usize,
    nix_ld: Option<PathBuf>,
    out: PathBuf,
}

fn parse_args(root: &Path) -> Result<Args, String> {
    let mut a = Args {
        runs: 2000,
        warmup: 100,
        nix_ld: None,
        out: root.join("bench/out"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => a.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--warmup" => a.warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--nix-ld" => a.nix_ld = Some(PathBuf::from(value()?)),
            "--out" => a.out = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
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
fn sh(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One way of starting programs: a loader installed as their interpreter.
struct Variant {
    name: &'static str,
    loader: Option<PathBuf>,
    /// Variables this variant gets on top of the common environment.
    env: &'static [(&'static str, &'static str)],
}

/// Debian's library directory: the library path every variant gets, as on
/// NixOS the module's directory.
const LIBDIR: &str = "/lib/x86_64-linux-gnu";

/// A benchmark program: how to build it for a given interpreter.
struct Program {
    name: &'static str,
    args: &'static [&'static str],
}

const PROGRAMS: [Program; 4] = [
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
    let fixtures = root.join("bench/fixtures");
    let shim = out.join("exec-shim");
    sh(Command::new("cc")
        .args(["-nostdlib", "-static-pie", "-fPIE", "-O2", "-o"])
        .arg(&shim)
        .arg(fixtures.join("exec_shim.c")))?;

    let mut variants = vec![
        Variant {
            name: "native",
            loader: Some(native_ld.clone()),
            env: &[],
        },
        Variant {
            name: "rld",
            loader: Some(rld.clone()),
            env: &[],
        },
        Variant {
            name: "nix-ld",
            loader: args.nix_ld.clone(),
            env: &[],
        },
        Variant {
            name: "exec shim",
            loader: Some(shim.clone()),
            env: &[],
        },
        // The native start given the same library path the shims give
        // ld.so: what is left between it and rld is rld's own cost, not
        // ld.so searching one more directory (and its glibc-hwcaps
        // subdirectories) before its cache.
        Variant {
            name: "native, same library path",
            loader: Some(native_ld.clone()),
            env: &[("LD_LIBRARY_PATH", LIBDIR)],
        },
    ];
    if let Some(p) = &args.nix_ld {
        let copy = out.join("nix-ld");
        fs::copy(p, &copy).map_err(|e| format!("{}: {e}", p.display()))?;
        variants[2].loader = Some(copy);
    }

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

    // binaries[program][variant]
    let mut binaries: Vec<Vec<Option<PathBuf>>> = Vec::new();
    for (pi, _) in PROGRAMS.iter().enumerate() {
        let mut row = Vec::new();
        for (vi, v) in variants.iter().enumerate() {
            let Some(loader) = &v.loader else {
                row.push(None);
                continue;
            };
            let bin = out.join(format!("p{pi}-v{vi}"));
            let interp = format!("-Wl,--dynamic-linker={}", loader.display());
            match pi {
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
                    let python = fs::canonicalize("/usr/bin/python3").map_err(|e| e.to_string())?;
                    fs::copy(&python, &bin).map_err(|e| e.to_string())?;
                    sh(Command::new("patchelf")
                        .arg("--set-interpreter")
                        .arg(loader)
                        .arg(&bin))?
                }
            };
            row.push(Some(bin));
        }
        binaries.push(row);
    }

    // As on NixOS with the module: NIX_LD names glibc's ld.so and
    // NIX_LD_LIBRARY_PATH a directory holding the libraries (here Debian's
    // own). The native start ignores both.
    let env: Vec<(&str, String)> = vec![
        ("NIX_LD", native_ld.display().to_string()),
        ("NIX_LD_LIBRARY_PATH", LIBDIR.into()),
        ("PATH", "/usr/bin:/bin".into()),
        ("HOME", "/nonexistent".into()),
    ];
    // Every variant must run its program correctly before it is timed.
    for (pi, row) in binaries.iter().enumerate() {
        for (vi, bin) in row.iter().enumerate() {
            if let Some(bin) = bin {
                let status = command(bin, PROGRAMS[pi].args, &with(&env, &variants[vi]))
                    .status()
                    .map_err(|e| e.to_string())?;
                if !status.success() {
                    return Err(format!(
                        "{} through {} failed: {status}",
                        PROGRAMS[pi].name, variants[vi].name
                    ));
                }
            }
        }
    }

    eprintln!(
        "timing: {} programs x {} loaders, {} warm-up + {} timed runs each, interleaved...",
        PROGRAMS.len(),
        variants.iter().filter(|v| v.loader.is_some()).count(),
        args.warmup,
        args.runs
    );
    let mut samples: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    let mut cpu: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    let mut faults: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    let live: Vec<(usize, usize)> = (0..PROGRAMS.len())
        .flat_map(|p| (0..variants.len()).map(move |v| (p, v)))
        .filter(|&(p, v)| binaries[p][v].is_some())
        .collect();
    // A fresh random order every round: with a fixed cyclic order (even a
    // rotating start) each cell always ran right after the same other
    // cell, and the native cells, which follow a different program, paid
    // for colder caches (about 10 % on the C hello).
    let mut order = live.clone();
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
            let bin = binaries[p][v].as_ref().unwrap();
            let mut cmd = command(bin, PROGRAMS[p].args, &with(&env, &variants[v]));
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
                samples.entry((p, v)).or_default().push(us);
                cpu.entry((p, v)).or_default().push(usage.0);
                faults.entry((p, v)).or_default().push(usage.1);
            }
        }
    }

    // Syscalls of the C hello each way.
    let mut syscalls = Vec::new();
    for (bin, v) in binaries[0].iter().zip(&variants) {
        syscalls.push(match bin {
            Some(bin) => Some(strace_count(bin, &with(&env, v), out)?),
            None => None,
        });
    }
    let same_path = variants.len() - 1;
    let extra = match (&binaries[0][same_path], &binaries[0][1]) {
        (Some(n), Some(r)) => extra_syscalls(
            (n, &with(&env, &variants[same_path])),
            (r, &with(&env, &variants[1])),
            out,
        )?,
        _ => String::new(),
    };

    let report = report(
        &variants,
        &[&samples, &cpu, &faults],
        &syscalls,
        &extra,
        args,
    )?;
    print!("{report}");
    fs::write(out.join("results.md"), &report).map_err(|e| e.to_string())?;
    let svg = plot(&variants, &samples);
    let _ = (&cpu, &faults);
    fs::write(out.join("startup.svg"), svg).map_err(|e| e.to_string())?;
    eprintln!(
        "wrote {} and {}",
        out.join("results.md").display(),
        out.join("startup.svg").display()
    );
    Ok(())
}

/// Spawns `cmd` and reaps it with wait4: (exit status, (user+system CPU
/// microseconds, minor page faults)).
fn run_with_usage(cmd: &mut Command) -> Result<(i32, (f64, f64)), String> {
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
        (
            tv(usage.ru_utime) + tv(usage.ru_stime),
            usage.ru_minflt as f64,
        ),
    ))
}

/// The common environment plus what `variant` adds.
fn with<'a>(env: &[(&'a str, String)], variant: &Variant) -> Vec<(&'a str, String)> {
    let mut all = env.to_vec();
    all.extend(variant.env.iter().map(|&(k, v)| (k, v.to_owned())));
    all
}

fn command(bin: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `bin` under `strace` with `args`, its output to `log`; returns the log.
fn strace(args: &[&str], log: &Path, bin: &Path, env: &[(&str, String)]) -> Result<String, String> {
    let mut cmd = Command::new("strace");
    cmd.args(args)
        .arg("-o")
        .arg(log)
        .arg(bin)
        .env_clear()
        .stdout(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    sh(&mut cmd)?;
    fs::read_to_string(log).map_err(|e| e.to_string())
}

/// Total syscalls of one run, all processes included (`strace -f -c`).
fn strace_count(bin: &Path, env: &[(&str, String)], out: &Path) -> Result<u64, String> {
    let text = strace(&["-f", "-c"], &out.join("strace-count.txt"), bin, env)?;
    // The summary's last line: "100.00 <secs> <usecs/call> <calls> <errors> total".
    text.lines()
        .rev()
        .find(|l| l.trim_end().ends_with("total"))
        .and_then(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(f.len().checked_sub(2)?.min(3))
                .and_then(|s| s.parse().ok())
        })
        .ok_or_else(|| format!("no total in strace output:\n{text}"))
}

/// The syscalls the rld run makes that the native one does not, by name.
fn extra_syscalls(
    native: (&Path, &[(&str, String)]),
    rld: (&Path, &[(&str, String)]),
    out: &Path,
) -> Result<String, String> {
    let names = |(bin, env): (&Path, &[(&str, String)])| -> Result<BTreeMap<String, i64>, String> {
        let text = strace(&["-f"], &out.join("strace-names.txt"), bin, env)?;
        let mut m = BTreeMap::new();
        for line in text.lines() {
            let body = line.split_once(' ').map_or(line, |(_, b)| b).trim_start();
            if let Some((name, _)) = body.split_once('(')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                *m.entry(name.to_owned()).or_insert(0) += 1;
            }
        }
        Ok(m)
    };
    let (n, r) = (names(native)?, names(rld)?);
    let mut parts = Vec::new();
    for (name, count) in &r {
        let diff = count - n.get(name).copied().unwrap_or(0);
        if diff != 0 {
            parts.push(format!("{name} {diff:+}"));
        }
    }
    Ok(parts.join(", "))
}

struct Stats {
    median: f64,
    p10: f64,
    p90: f64,
}

fn stats(v: &[f64]) -> Stats {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
    }
}

fn stripped_size(loader: &Path, out: &Path) -> Result<u64, String> {
    let copy = out.join("stripped.tmp");
    sh(Command::new("strip").arg("-o").arg(&copy).arg(loader))?;
    let size = fs::metadata(&copy).map_err(|e| e.to_string())?.len();
    let _ = fs::remove_file(copy);
    // strip can make an already stripped file a little larger.
    Ok(size.min(fs::metadata(loader).map_err(|e| e.to_string())?.len()))
}

fn report(
    variants: &[Variant],
    all: &[&BTreeMap<(usize, usize), Vec<f64>>; 3],
    syscalls: &[Option<u64>],
    extra: &str,
    args: &Args,
) -> Result<String, String> {
    let mut r = String::new();
    let machine = sh(Command::new("uname").args(["-srm"])).unwrap_or_default();
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let _ = writeln!(
        r,
        "Machine: {}, {} ({} CPUs)",
        machine.trim(),
        cpu,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = writeln!(
        r,
        "Method: fork+exec+wait timed in the parent, {} runs per cell after {} warm-up, all cells interleaved in a new random order every round.\n",
        args.runs, args.warmup
    );
    let tables = [
        ("wall time", all[0]),
        ("CPU time (user + system, wait4)", all[1]),
        ("minor page faults", all[2]),
    ];
    for (i, (title, table)) in tables.into_iter().enumerate() {
        if i == 0 {
            let _ = write!(r, "| {title} |");
            for v in variants {
                let _ = write!(r, " {} |", v.name);
            }
            let _ = writeln!(r);
            let _ = writeln!(r, "|---|{}", "---|".repeat(variants.len()));
        } else {
            let _ = writeln!(r, "| {title} |{}", " |".repeat(variants.len()));
        }
        for (p, prog) in PROGRAMS.iter().enumerate() {
            let _ = write!(r, "| {} |", prog.name);
            let native = table.get(&(p, 0)).map(|s| stats(s).median);
            for v in 0..variants.len() {
                let Some(s) = table.get(&(p, v)) else {
                    let _ = write!(r, " not available |");
                    continue;
                };
                let st = stats(s);
                let ratio = native.map_or(f64::NAN, |n| st.median / n);
                let _ = match i {
                    0 => write!(
                        r,
                        " {:.0} µs ({:.0}–{:.0}), **{ratio:.3} ×** |",
                        st.median, st.p10, st.p90
                    ),
                    1 => write!(r, " {:.0} µs, {ratio:.3} × |", st.median),
                    _ => write!(r, " {:.0}, {ratio:.3} × |", st.median),
                };
            }
            let _ = writeln!(r);
        }
    }
    let _ = write!(r, "| syscalls (C hello, `strace -f -c`) |");
    for s in syscalls {
        match s {
            Some(n) => {
                let _ = write!(r, " {n} |");
            }
            None => {
                let _ = write!(r, " not available |");
            }
        }
    }
    let _ = writeln!(r);
    let _ = write!(r, "| stripped loader size |");
    for v in variants {
        match &v.loader {
            Some(l) => {
                let _ = write!(r, " {} bytes |", stripped_size(l, &args.out)?);
            }
            None => {
                let _ = write!(r, " not available |");
            }
        }
    }
    let _ = writeln!(r);
    let _ = writeln!(
        r,
        "\nCells: median (10th–90th percentile), then median / native median. Syscalls rld adds to a C hello, over the native start with the same library path: {extra}."
    );
    Ok(r)
}

/// A grouped bar chart of median / native median with 10–90 % whiskers.
fn plot(variants: &[Variant], samples: &BTreeMap<(usize, usize), Vec<f64>>) -> String {
    let (w, h, left, top, bottom) = (760.0, 360.0, 60.0, 30.0, 60.0);
    let colors = ["#888888", "#2a7ab0", "#d08a2c", "#b04040"];
    let max = samples
        .iter()
        .filter_map(|(&(p, _), s)| Some(stats(s).p90 / stats(samples.get(&(p, 0))?).median))
        .fold(1.2f64, f64::max)
        .min(4.0);
    let y = |ratio: f64| top + (h - top - bottom) * (1.0 - ratio / max);
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='12'>\n\
         <rect width='100%' height='100%' fill='white'/>\n\
         <text x='{left}' y='18' font-size='14'>Start-up time relative to the native loader (median, 10–90 %)</text>\n"
    );
    for tick in [0.5, 1.0, 1.5, 2.0, 3.0, 4.0]
        .into_iter()
        .filter(|t| *t <= max)
    {
        let ty = y(tick);
        let _ = writeln!(
            s,
            "<line x1='{left}' x2='{}' y1='{ty}' y2='{ty}' stroke='#ddd'/><text x='{}' y='{}' text-anchor='end'>{tick:.1}×</text>",
            w - 10.0,
            left - 6.0,
            ty + 4.0
        );
    }
    let group = (w - left - 10.0) / PROGRAMS.len() as f64;
    let bar = group / (variants.len() as f64 + 1.0);
    for (p, prog) in PROGRAMS.iter().enumerate() {
        let gx = left + p as f64 * group;
        let Some(native) = samples.get(&(p, 0)).map(|v| stats(v).median) else {
            continue;
        };
        for (v, _) in variants.iter().enumerate() {
            let Some(st) = samples.get(&(p, v)).map(|v| stats(v)) else {
                continue;
            };
            let x = gx + bar * (v as f64 + 0.5);
            let (yt, yb) = (y(st.median / native), y(0.0));
            let _ = writeln!(
                s,
                "<rect x='{x:.1}' y='{yt:.1}' width='{:.1}' height='{:.1}' fill='{}'/>",
                bar * 0.9,
                yb - yt,
                colors[v % 4]
            );
            let cx = x + bar * 0.45;
            let _ = writeln!(
                s,
                "<line x1='{cx:.1}' x2='{cx:.1}' y1='{:.1}' y2='{:.1}' stroke='black'/>",
                y((st.p10 / native).min(max)),
                y((st.p90 / native).min(max))
            );
        }
        let _ = writeln!(
            s,
            "<text x='{:.1}' y='{}' text-anchor='middle'>{}</text>",
            gx + group / 2.0,
            h - bottom + 18.0,
            prog.name
        );
    }
    for (v, variant) in variants.iter().enumerate() {
        let lx = left + v as f64 * 150.0;
        let label = if variant.loader.is_some() {
            variant.name.to_owned()
        } else {
            format!("{} (not available)", variant.name)
        };
        let _ = writeln!(
            s,
            "<rect x='{lx}' y='{}' width='12' height='12' fill='{}'/><text x='{}' y='{}'>{label}</text>",
            h - 22.0,
            colors[v % 4],
            lx + 16.0,
            h - 12.0
        );
    }
    s.push_str("</svg>\n");
    s
}
