//! The results of a run, as a Markdown table for people (printed and
//! written to results.md) and as JSON for programs (results.json).

use std::fmt::Write as _;
use std::fs;
use std::process::Command;

use serde_json::{Value, json};

use crate::stats::{OwnCost, Stats, own_cost};
use crate::strace::{Syscalls, summarize};
use crate::{Args, Kind, PROGRAMS, Samples, Variant};

/// Everything a run measured.
pub struct Run<'a> {
    pub args: &'a Args,
    pub variants: &'a [Variant],
    /// `samples[program][variant]`, indices into `PROGRAMS` and `variants`.
    pub samples: &'a [Vec<Samples>],
    /// One start of the C hello through each variant.
    pub syscalls: &'a [Syscalls],
    /// Each variant's loader, stripped.
    pub loader_bytes: &'a [u64],
}

/// One program through one variant, summarized.
struct Cell {
    wall_us: Stats,
    cpu_us: Stats,
    minor_faults: Stats,
    /// Median wall time over the native start's.
    vs_native: f64,
    /// Median wall time over the native start's given the shims' library
    /// path: the fair floor, since ld.so then searches the same directories.
    vs_same_path: f64,
    /// Wall time over that floor; for the shims only.
    own: Option<OwnCost>,
}

impl Run<'_> {
    fn baseline(&self, kind: Kind) -> usize {
        self.variants
            .iter()
            .position(|v| v.kind == kind)
            .expect("both native variants are always measured")
    }

    fn cell(&self, program: usize, variant: usize) -> Cell {
        let row = &self.samples[program];
        let here = &row[variant];
        let native = &row[self.baseline(Kind::Native)];
        let same_path = &row[self.baseline(Kind::NativeSamePath)];
        let wall_us = Stats::of(&here.wall_us);
        Cell {
            wall_us,
            cpu_us: Stats::of(&here.cpu_us),
            minor_faults: Stats::of(&here.minor_faults),
            vs_native: wall_us.median / Stats::of(&native.wall_us).median,
            vs_same_path: wall_us.median / Stats::of(&same_path.wall_us).median,
            own: (self.variants[variant].kind == Kind::Shim)
                .then(|| own_cost(&here.wall_us, &same_path.wall_us)),
        }
    }
}

struct Machine {
    kernel: String,
    cpu: String,
    cpus: usize,
}

fn machine() -> Machine {
    let kernel = crate::sh(Command::new("uname").args(["-srm"])).unwrap_or_default();
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_default();
    Machine {
        kernel: kernel.trim().to_owned(),
        cpu,
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
    }
}

pub fn markdown(run: &Run) -> String {
    let mut r = String::new();
    let m = machine();
    let _ = writeln!(r, "Machine: {}, {} ({} CPUs)", m.kernel, m.cpu, m.cpus);
    let _ = writeln!(
        r,
        "Method: fork+exec+wait timed in the parent, {} starts per cell after {} warm-up, \
         all cells interleaved in a new random order every round.",
        run.args.runs, run.args.warmup
    );
    for (p, program) in PROGRAMS.iter().enumerate() {
        let _ = writeln!(
            r,
            "\n| {} | median µs (10th–90th) | × native | × native, same library path | own µs (10th–90th) | CPU µs | minor faults |",
            program.name
        );
        let _ = writeln!(r, "|---|---|---|---|---|---|---|");
        for (v, variant) in run.variants.iter().enumerate() {
            let c = run.cell(p, v);
            let own = c.own.map_or(String::new(), |o| {
                format!("{:+.0} ({:+.0} to {:+.0})", o.us, o.p10, o.p90)
            });
            let _ = writeln!(
                r,
                "| {} | {:.0} ({:.0}–{:.0}) | {:.3} | **{:.3}** | {own} | {:.0} | {:.0} |",
                variant.name,
                c.wall_us.median,
                c.wall_us.p10,
                c.wall_us.p90,
                c.vs_native,
                c.vs_same_path,
                c.cpu_us.median,
                c.minor_faults.median,
            );
        }
    }

    let _ = writeln!(
        r,
        "\n| loader | stripped size | system calls of a C hello | the loader's own, before ld.so's first |"
    );
    let _ = writeln!(r, "|---|---|---|---|");
    for (v, variant) in run.variants.iter().enumerate() {
        let calls = &run.syscalls[v].before_ld_so;
        let own = if calls.is_empty() {
            "0".to_owned()
        } else {
            format!("{}: {}", calls.len(), summarize(calls))
        };
        let _ = writeln!(
            r,
            "| {} | {} bytes | {} | {own} |",
            variant.name, run.loader_bytes[v], run.syscalls[v].total
        );
    }

    let _ = writeln!(
        r,
        "\nCells: wall time, median (10th–90th percentile) over the starts; × columns are medians \
         over the native median, plain and given the library path the shims give ld.so \
         (`LD_LIBRARY_PATH={lib}`, as `NIX_LD_LIBRARY_PATH`): ld.so then searches the same \
         directories, so what is left is the loader's own cost. Own µs is the median minus that \
         same-path median, with the 10th–90th percentile of the difference round by round (each \
         round starts every cell once). CPU time (user + system) and minor page faults are \
         medians from wait4. System calls from `strace -f -c` (total) and `strace -f -k` (the \
         loader's own: those before the first whose instruction pointer is in ld.so).",
        lib = crate::LIBDIR
    );
    if run.args.nix_ld.is_none() {
        let _ = writeln!(r, "\nnix-ld: not measured (pass --nix-ld PATH).");
    }
    r
}

/// `x` to `digits` decimals: the timer's nanoseconds are noise.
fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

pub fn json(run: &Run) -> Value {
    let us = |x: f64| round(x, 1);
    let ratio = |x: f64| round(x, 4);
    let stats = |s: Stats| json!({ "median": us(s.median), "p10": us(s.p10), "p90": us(s.p90) });
    let m = machine();
    let loaders: Vec<Value> = run
        .variants
        .iter()
        .enumerate()
        .map(|(v, variant)| {
            let calls = &run.syscalls[v];
            json!({
                "name": variant.name,
                "kind": match variant.kind {
                    Kind::Native => "native",
                    Kind::NativeSamePath => "native, same library path",
                    Kind::Shim => "shim",
                },
                "loader": variant.loader.display().to_string(),
                "stripped_bytes": run.loader_bytes[v],
                "c_hello_syscalls": {
                    "total": calls.total,
                    "before_ld_so": calls.before_ld_so.len(),
                    "before_ld_so_names": calls.before_ld_so,
                },
            })
        })
        .collect();
    let programs: Vec<Value> = PROGRAMS
        .iter()
        .enumerate()
        .map(|(p, program)| {
            let cells: Vec<Value> = run
                .variants
                .iter()
                .enumerate()
                .map(|(v, variant)| {
                    let c = run.cell(p, v);
                    json!({
                        "loader": variant.name,
                        "wall_us": stats(c.wall_us),
                        "vs_native": ratio(c.vs_native),
                        "vs_same_path": ratio(c.vs_same_path),
                        "own_us": c.own.map(|o| json!({
                            "median_minus_same_path_median": us(o.us),
                            "round_by_round_p10": us(o.p10),
                            "round_by_round_p90": us(o.p90),
                        })),
                        "cpu_us": stats(c.cpu_us),
                        "minor_faults": stats(c.minor_faults),
                    })
                })
                .collect();
            json!({ "program": program.name, "args": program.args, "results": cells })
        })
        .collect();
    json!({
        "machine": { "kernel": m.kernel, "cpu": m.cpu, "cpus": m.cpus },
        "method": {
            "runs_per_cell": run.args.runs,
            "warmup_per_cell": run.args.warmup,
            "interleaved": "every cell once per round, in a new random order each round",
            "library_path": crate::LIBDIR,
        },
        "loaders": loaders,
        "programs": programs,
    })
}
