//! What `strace` shows of one start of a program: its total number of
//! system calls and the calls its loader makes before `ld.so` makes its
//! first.
//!
//! Which call is `ld.so`'s first is read from `strace -k`, which prints
//! the stack of every call, its top frame named after the mapped file the
//! instruction pointer lies in (from /proc/PID/maps). The loader's own
//! calls are those before the first whose top frame is in `ld.so`. That
//! holds for any loader, however it maps `ld.so` and whatever it calls
//! last: matching the call sequence instead (everything up to the loader's
//! last `close` or `mmap`) would depend on each loader's habits, and
//! `strace -i` gives addresses without the mapping to place them in.
//! One exception: `strace` may show an `execve` with the stack of the
//! image it started, so an `execve` after the program's own (the exec
//! shim's, of `ld.so`) counts as the loader's whatever its frame says.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

/// System calls of one start.
#[derive(Debug, PartialEq)]
pub struct Syscalls {
    /// Every call of the start, as `strace -f -c` counts them.
    pub total: u64,
    /// The loader's calls before `ld.so`'s first, in order, by name.
    pub before_ld_so: Vec<String>,
}

/// Traces one start of `bin` twice: `strace -f -c` for the total and
/// `strace -f -k` for the loader's calls. `ld_so` is the `ld.so` the start
/// ends up in, canonical (as /proc/PID/maps names it); `loader` is the
/// interpreter `bin` names, which may hold an `ld.so` of its own (a fused
/// interpreter, `rld fuse`). The logs stay in `out`, named after `label`.
pub fn trace(
    bin: &Path,
    env: &[(&str, String)],
    ld_so: &Path,
    loader: &Path,
    out: &Path,
    label: &str,
) -> Result<Syscalls, String> {
    let summary_log = out.join(format!("strace-c-{label}.txt"));
    let summary = run_strace(&["-f", "-c"], &summary_log, bin, env)?;
    let total = total_calls(&summary).ok_or_else(|| {
        format!(
            "no total in the strace -c summary {}:\n{summary}",
            summary_log.display()
        )
    })?;
    let stacks_log = out.join(format!("strace-k-{label}.txt"));
    let stacks = run_strace(&["-f", "-k"], &stacks_log, bin, env)?;
    let ld_so = ld_so.to_str().ok_or("ld.so's path is not UTF-8")?;
    let loader_name = loader.to_str().ok_or("the loader's path is not UTF-8")?;
    let embedded = embedded_elf(loader)?.map(|at| (loader_name, at));
    let before_ld_so = loader_calls(&stacks, ld_so, embedded)
        .map_err(|e| format!("{} (in {}): {e}", bin.display(), stacks_log.display()))?;
    Ok(Syscalls {
        total,
        before_ld_so,
    })
}

/// Runs `bin` under `strace` with `args`, its output to `log`; returns the log.
fn run_strace(
    args: &[&str],
    log: &Path,
    bin: &Path,
    env: &[(&str, String)],
) -> Result<String, String> {
    let mut cmd = Command::new("strace");
    cmd.args(args)
        .arg("-o")
        .arg(log)
        .arg(bin)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    crate::sh(&mut cmd)?;
    fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))
}

/// The call count of a `strace -c` summary's last line:
/// "100.00 <secs> <usecs/call> <calls> [<errors>] total".
fn total_calls(summary: &str) -> Option<u64> {
    let line = summary
        .lines()
        .rev()
        .find(|l| l.trim_end().ends_with("total"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Where a fused interpreter holds its `ld.so`: the file offset of a second
/// ELF header, page-aligned, after the loader's own. `None` for any other
/// file.
fn embedded_elf(loader: &Path) -> Result<Option<u64>, String> {
    let bytes = fs::read(loader).map_err(|e| format!("{}: {e}", loader.display()))?;
    Ok((4096..bytes.len())
        .step_by(4096)
        .find(|&at| bytes[at..].starts_with(b"\x7fELF"))
        .map(|at| at as u64))
}

/// One system call in a `strace -f -k` log.
#[derive(Debug)]
struct Call<'a> {
    pid: &'a str,
    name: &'a str,
    /// The file holding the instruction pointer of the top stack frame, and
    /// its offset in that file.
    top_frame: Option<(&'a str, Option<u64>)>,
}

/// The calls of a `strace -f -k` log. A call is a line "PID name(args) = …"
/// followed by its frames, " > /path/file(symbol+off) [0xaddr]", top first.
/// The frames of a call that does not return (`exit_group`) follow the
/// "+++ exited" line, so frames belong to the last call, not the last line.
fn calls(log: &str) -> Vec<Call<'_>> {
    let mut calls: Vec<Call> = Vec::new();
    for line in log.lines() {
        if let Some(frame) = line.strip_prefix(" > ") {
            if let Some(call) = calls.last_mut()
                && call.top_frame.is_none()
            {
                let end = frame.find(['(', ' ']).unwrap_or(frame.len());
                let offset = frame
                    .rsplit_once("[0x")
                    .and_then(|(_, hex)| u64::from_str_radix(hex.trim_end_matches(']'), 16).ok());
                call.top_frame = Some((&frame[..end], offset));
            }
            continue;
        }
        // Signals ("--- SIG…"), exits ("+++ …") and the second half of an
        // interrupted call ("<... name resumed>") are not calls.
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some((name, _)) = rest.trim_start().split_once('(') else {
            continue;
        };
        if !pid.is_empty()
            && pid.chars().all(|c| c.is_ascii_digit())
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            calls.push(Call {
                pid,
                name,
                top_frame: None,
            });
        }
    }
    calls
}

/// The names of the calls the traced program's first process makes after
/// its `execve` and before the first call made from `ld_so`'s code: in
/// `ld_so`'s file, or in the loader file `embedded` names from that file
/// offset on (a fused interpreter's `ld.so`).
fn loader_calls(
    log: &str,
    ld_so: &str,
    embedded: Option<(&str, u64)>,
) -> Result<Vec<String>, String> {
    let calls = calls(log);
    let Some(start) = calls.first().filter(|c| c.name == "execve") else {
        return Err("the log does not start with the program's execve".into());
    };
    let mut own = Vec::new();
    for call in calls.iter().skip(1).filter(|c| c.pid == start.pid) {
        if call.name == "execve" {
            own.push(call.name.to_owned());
            continue;
        }
        match call.top_frame {
            Some((file, _)) if file == ld_so => return Ok(own),
            Some((file, Some(offset)))
                if embedded.is_some_and(|(loader, at)| file == loader && offset >= at) =>
            {
                return Ok(own);
            }
            Some(_) => own.push(call.name.to_owned()),
            None => {
                return Err(format!(
                    "no stack trace for a {} call: this strace cannot unwind stacks (-k)",
                    call.name
                ));
            }
        }
    }
    Err(format!("no system call from {ld_so}'s code"))
}

/// "openat, fstat, mmap ×5, close": runs of one name counted.
pub fn summarize(names: &[String]) -> String {
    let mut runs: Vec<(&str, usize)> = Vec::new();
    for name in names {
        match runs.last_mut() {
            Some((last, n)) if last == name => *n += 1,
            _ => runs.push((name, 1)),
        }
    }
    let parts: Vec<String> = runs
        .into_iter()
        .map(|(name, n)| {
            if n == 1 {
                name.to_owned()
            } else {
                format!("{name} ×{n}")
            }
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LD_SO: &str = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";

    // Trimmed from real `strace -f -k` logs of a C hello on Debian 12.
    const RLD: &str = r#"11336 execve("/tmp/h-rld", ["/tmp/h-rld"], 0x7ffec4f02610 /* 37 vars */) = 0
 > /tmp/rld-loader() [0x1228]
11336 openat(AT_FDCWD, "/lib64/ld-linux-x86-64.so.2", O_RDONLY|O_NONBLOCK|O_CLOEXEC) = 3
 > /tmp/rld-loader() [0x3625]
11336 fstat(3, {st_mode=S_IFREG|0755, st_size=215000, ...}) = 0
 > /tmp/rld-loader() [0x3b44]
11336 mmap(NULL, 217088, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f7cd06f3000
 > /tmp/rld-loader() [0x3d90]
11336 mmap(0x7f7cd06f3000, 3416, PROT_READ, MAP_PRIVATE|MAP_FIXED, 3, 0) = 0x7f7cd06f3000
 > /tmp/rld-loader() [0x3e96]
11336 close(3)                          = 0
 > /tmp/rld-loader() [0x3fc2]
11336 brk(NULL)                         = 0x557e77923000
 > /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x77c7) [0x1fc47]
 > /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x1e7f) [0x1a2ff]
11336 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f7cd06f1000
 > /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x8823) [0x20ca3]
11336 exit_group(0)                     = ?
11336 +++ exited with 0 +++
 > /usr/lib/x86_64-linux-gnu/libc.so.6(_exit+0x29) [0xd4409]
"#;

    const EXEC_SHIM: &str = r#"13647 execve("/tmp/h-shim", ["/tmp/h-shim"], 0x7fffc0babcc0 /* 37 vars */) = 0
 > /tmp/exec-shim() [0x1000]
13647 execve("/lib64/ld-linux-x86-64.so.2", ["/lib64/ld-linux-x86-64.so.2", "--library-path", "/lib/x86_64-linux-gnu", "--argv0", "/tmp/h-shim", "/tmp/h-shim"], 0x7ffc6829a0d8 /* 37 vars */) = 0
 > /tmp/exec-shim(shim_main+0x17b) [0x118b]
 > /tmp/exec-shim(+0x0) [0x100c]
13647 brk(NULL)                         = 0x555561e39000
 > /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x77c7) [0x1fc47]
"#;

    const NATIVE: &str = r#"13673 execve("/tmp/h-native", ["/tmp/h-native"], 0x7ffde075ca80 /* 37 vars */) = 0
 > /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x26f0) [0x1ab70]
13673 brk(NULL)                         = 0x55bc215be000
 > /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x77c7) [0x1fc47]
"#;

    #[test]
    fn rld_calls_until_ld_so_maps_memory() {
        assert_eq!(
            loader_calls(RLD, LD_SO, None).unwrap(),
            ["openat", "fstat", "mmap", "mmap", "close"]
        );
    }

    /// A fused interpreter: its `ld.so` lies in the same file from offset
    /// 0x6000 on, and its first call comes from there.
    const FUSED: &str = "\
7 execve(\"/b/p\", [\"/b/p\"], 0x7ffd /* 4 vars */) = 0
 > /b/fused() [0x1390]
7 brk(NULL)                         = 0x55ec23227000
 > /b/fused(_dl_catch_error+0x77c7) [0x25c47]
 > /b/fused(_dl_catch_error+0x26f8) [0x20b78]
7 exit_group(0)                     = ?
";

    #[test]
    fn a_fused_interpreter_makes_none() {
        assert!(
            loader_calls(FUSED, LD_SO, Some(("/b/fused", 0x6000)))
                .unwrap()
                .is_empty()
        );
        // Without knowing where its ld.so lies, the file is rld's alone.
        assert!(loader_calls(FUSED, LD_SO, None).is_err());
    }

    #[test]
    fn the_exec_shim_makes_one_call() {
        assert_eq!(loader_calls(EXEC_SHIM, LD_SO, None).unwrap(), ["execve"]);
    }

    #[test]
    fn the_native_start_makes_none() {
        assert!(loader_calls(NATIVE, LD_SO, None).unwrap().is_empty());
    }

    #[test]
    fn a_log_without_stacks_or_without_ld_so_is_an_error() {
        let no_stacks: String =
            RLD.lines()
                .filter(|l| !l.starts_with(" > "))
                .fold(String::new(), |mut s, l| {
                    s.push_str(l);
                    s.push('\n');
                    s
                });
        let e = loader_calls(&no_stacks, LD_SO, None).unwrap_err();
        assert!(e.contains("cannot unwind"), "{e}");
        let e = loader_calls(RLD, "/nix/store/x-glibc/lib/ld-linux-x86-64.so.2", None).unwrap_err();
        assert!(e.contains("no system call from"), "{e}");
    }

    #[test]
    fn summary_total() {
        let summary = "% time     seconds  usecs/call     calls    errors syscall\n\
            ------ ----------- ----------- --------- --------- ----------------\n\
            \x20 0.00    0.000000           0         1           execve\n\
            ------ ----------- ----------- --------- --------- ----------------\n\
            100.00    0.000827          11        75        38 total\n";
        assert_eq!(total_calls(summary), Some(75));
        assert_eq!(
            total_calls("100.00    0.000000           0        56           total"),
            Some(56)
        );
    }

    #[test]
    fn runs_of_a_name_are_counted() {
        let names: Vec<String> = ["openat", "mmap", "mmap", "mmap", "close", "mmap"]
            .map(String::from)
            .into();
        assert_eq!(summarize(&names), "openat, mmap ×3, close, mmap");
        assert_eq!(summarize(&[]), "");
    }
}
