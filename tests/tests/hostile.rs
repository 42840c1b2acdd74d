//! Hostile input through the real loader: every case ends with exit 127 and
//! one or two `rld:` lines, or with a correct run; never a signal, a hang
//! or a panic.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rld_tests::*;

const PT_LOAD: u32 = 1;

/// The machine's ld.so with the program headers of its `PT_LOAD`s edited:
/// `edit` gets (index among the loads, program header bytes).
fn edited_ld_so(dir: &TempDir, name: &str, edit: impl Fn(&mut Vec<u8>, &[usize])) -> String {
    let mut b = fs::read(SYSTEM_LD_SO).unwrap();
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    let phnum = u16::from_le_bytes(b[56..58].try_into().unwrap()) as usize;
    let loads: Vec<usize> = (0..phnum)
        .map(|i| phoff + i * 56)
        .filter(|&p| u32::from_le_bytes(b[p..p + 4].try_into().unwrap()) == PT_LOAD)
        .collect();
    assert!(loads.len() >= 3, "unexpected ld.so layout");
    edit(&mut b, &loads);
    let path = dir.join(name);
    fs::write(&path, b).unwrap();
    path.to_str().unwrap().to_owned()
}

fn set_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

// Program header fields (ELF64).
const P_OFFSET: usize = 8;
const P_VADDR: usize = 16;
const P_FILESZ: usize = 32;
const P_MEMSZ: usize = 40;
const P_ALIGN: usize = 48;

/// Runs with a time limit: a hang is a failure, not a stuck test run.
fn run_limited(prog: &Path, env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new("timeout");
    cmd.args(["-s", "KILL", "20"]).arg(prog).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let o = outcome(cmd);
    assert!(start.elapsed() < Duration::from_secs(19), "hung: {o:#?}");
    o
}

#[test]
fn hostile_nix_ld_values() {
    let dir = TempDir::new("hostile");
    let prog = program("probe.c", &dir, &loader(Default::Missing).path, &[]);
    let loop_a = dir.join("loop-a");
    std::os::unix::fs::symlink(dir.join("loop-b"), &loop_a).unwrap();
    std::os::unix::fs::symlink(&loop_a, dir.join("loop-b")).unwrap();
    let long = format!("/{}", "x/".repeat(2100));
    let dotdot = format!(
        "/lib/../lib/x86_64-linux-gnu/../../lib64/{}",
        "ld-linux-x86-64.so.2"
    );

    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            "4,200-byte path",
            long,
            Some("File name too long (ENAMETOOLONG)"),
        ),
        (
            "no slash",
            "ld-linux-x86-64.so.2".into(),
            Some("it is not an absolute path"),
        ),
        (
            "a device",
            "/dev/null".into(),
            Some("it is a character device, not a file"),
        ),
        (
            "/dev/zero",
            "/dev/zero".into(),
            Some("it is a character device"),
        ),
        (
            "a symlink loop",
            loop_a.to_str().unwrap().into(),
            Some("Too many levels of symbolic links (ELOOP)"),
        ),
        ("embedded ..", dotdot, None),
        (
            "overlapping PT_LOADs",
            edited_ld_so(&dir, "overlap", |b, l| {
                let (v, o) = (get_u64(b, l[0] + P_VADDR), get_u64(b, l[0] + P_OFFSET));
                set_u64(b, l[1] + P_VADDR, v);
                set_u64(b, l[1] + P_OFFSET, o);
            }),
            Some("overlaps the one before it"),
        ),
        (
            "PT_LOADs out of order",
            edited_ld_so(&dir, "order", |b, l| {
                let (a, c) = (l[0], l[2]);
                for k in 0..56 {
                    b.swap(a + k, c + k);
                }
            }),
            Some("is out of address order"),
        ),
        (
            "p_filesz > p_memsz",
            edited_ld_so(&dir, "filesz", |b, l| {
                let m = get_u64(b, l[1] + P_MEMSZ);
                set_u64(b, l[1] + P_FILESZ, m + 0x1000);
            }),
            Some("has p_memsz 0 or below p_filesz"),
        ),
        (
            "an empty PT_LOAD",
            edited_ld_so(&dir, "empty", |b, l| {
                // The read-only data after the code, emptied: the kernel
                // would map nothing there, rld refuses the file.
                set_u64(b, l[2] + P_FILESZ, 0);
                set_u64(b, l[2] + P_MEMSZ, 0);
            }),
            Some("has p_memsz 0 or below p_filesz"),
        ),
        (
            "offset past the end",
            edited_ld_so(&dir, "offset", |b, l| {
                set_u64(b, l[2] + P_OFFSET, 0x7fff_0000_0000)
            }),
            Some("past the end of the"),
        ),
        (
            "alignment not a power of two",
            edited_ld_so(&dir, "align", |b, l| set_u64(b, l[1] + P_ALIGN, 0x3000)),
            Some("not a power of two"),
        ),
        (
            "a span of many GiB",
            edited_ld_so(&dir, "span", |b, l| {
                let last = *l.last().unwrap();
                let v = get_u64(b, last + P_VADDR);
                set_u64(b, last + P_VADDR, v + 0x40_0000_0000);
            }),
            Some("far more than any ld.so"),
        ),
    ];
    for (what, value, expect) in &cases {
        let o = run_limited(&prog, &[("NIX_LD", value)]);
        match expect {
            Some(expect) => {
                assert_rld_error(&o, what);
                assert!(
                    o.stderr.contains(expect),
                    "{what}: want {expect:?}:\n{}",
                    o.stderr
                );
            }
            None => assert_eq!(o.code, Some(0), "{what}: {o:#?}"),
        }
    }
}

/// Without read permission (as nobody: root reads anything): a clean error.
#[test]
fn unreadable_ld_so() {
    let dir = TempDir::new("unreadable");
    let prog = program("probe.c", &dir, &loader(Default::Missing).path, &[]);
    let runas = compile("cc", &["runas.c"], &dir.join("runas"), &["-static", "-O1"]);
    let ld = dir.join("ld.so");
    fs::copy(SYSTEM_LD_SO, &ld).unwrap();
    fs::set_permissions(&ld, fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = Command::new(&runas);
    cmd.args(["65534", "65534"])
        .arg(&prog)
        .env_clear()
        .env("NIX_LD", &ld);
    let o = outcome(cmd);
    assert_rld_error(&o, "unreadable");
    assert!(
        o.stderr.contains("Permission denied (EACCES)"),
        "{}",
        o.stderr
    );
    // Readable but not executable: rld maps it like the kernel maps a
    // PT_INTERP it can read, and the program runs.
    fs::set_permissions(&ld, fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = Command::new(&runas);
    cmd.args(["65534", "65534"])
        .arg(&prog)
        .env_clear()
        .env("NIX_LD", &ld);
    outcome(cmd).assert_success();
}

fn execenv(dir: &TempDir) -> PathBuf {
    compile(
        "cc",
        &["execenv.c"],
        &dir.join("execenv"),
        &["-static", "-O1"],
    )
}

/// Runs `prog` with exactly `env` (in order, duplicates kept) and `args`.
fn run_exact(execenv: &Path, prog: &Path, env: &[String], args: &[String]) -> Outcome {
    let mut cmd = Command::new(execenv);
    cmd.arg(env.len().to_string())
        .args(env)
        .arg(prog)
        .args(args)
        .env_clear();
    outcome(cmd)
}

#[test]
fn duplicate_nix_ld_first_wins_like_getenv() {
    let dir = TempDir::new("dup");
    let prog = program("probe.c", &dir, &loader(Default::Missing).path, &[]);
    let ee = execenv(&dir);
    let good = format!("NIX_LD={SYSTEM_LD_SO}");
    let bad = "NIX_LD=/etc/passwd".to_owned();
    run_exact(&ee, &prog, &[good.clone(), bad.clone()], &[]).assert_success();
    let o = run_exact(&ee, &prog, &[bad.clone(), good.clone()], &[]);
    assert_rld_error(&o, "duplicate");
    assert!(
        o.stderr.contains("/etc/passwd (from NIX_LD)"),
        "{}",
        o.stderr
    );
    // The program sees both entries, in order, afterwards.
    let o = run_exact(&ee, &prog, &[good.clone(), bad.clone()], &[]);
    assert_eq!(o.value("self.env0"), good);
    assert_eq!(o.value("self.env1"), bad);
}

#[test]
fn huge_environment_arguments_and_library_path() {
    let dir = TempDir::new("huge");
    let prog = program("probe.c", &dir, &loader(Default::Missing).path, &[]);
    let ee = execenv(&dir);
    let nix_ld = format!("NIX_LD={SYSTEM_LD_SO}");

    // 10,000 variables.
    let mut env: Vec<String> = (0..10_000).map(|i| format!("VAR{i}=value{i}")).collect();
    env.push(nix_ld.clone());
    let o = run_exact(&ee, &prog, &env, &[]);
    o.assert_success();
    assert_eq!(o.value("self.env_count"), "10001");
    assert_eq!(o.value("self.env9999"), "VAR9999=value9999");
    assert_eq!(o.value("self.ld_library_path"), "<unset>");

    // 1 MiB of arguments.
    let args: Vec<String> = (0..1024)
        .map(|i| format!("{i:04}{}", "a".repeat(1020)))
        .collect();
    let o = run_exact(&ee, &prog, std::slice::from_ref(&nix_ld), &args);
    o.assert_success();
    assert_eq!(o.value("self.argc"), "1025");
    assert_eq!(o.value("self.argv1024"), args[1023]);

    // A 128 KiB library path (past rld's static buffer; the kernel's limit
    // for one string is 128 KiB with the name): the real directory at its
    // end still works, and the program's environment is untouched.
    let tail = "/lib/x86_64-linux-gnu";
    let mut path = "/nonexistent/x:".repeat((128 * 1024 - 64 - tail.len()) / 15);
    path.push_str(tail);
    assert!(path.len() > 128 * 1024 - 100);
    let o = run_exact(
        &ee,
        &prog,
        &[nix_ld.clone(), format!("NIX_LD_LIBRARY_PATH={path}")],
        &[],
    );
    o.assert_success();
    assert_eq!(o.value("self.ld_library_path"), "<unset>");
    // With the user's own LD_LIBRARY_PATH in front, restored exactly.
    let o = run_exact(
        &ee,
        &prog,
        &[
            nix_ld,
            format!("NIX_LD_LIBRARY_PATH={path}"),
            "LD_LIBRARY_PATH=/u".into(),
        ],
        &[],
    );
    o.assert_success();
    assert_eq!(o.value("self.ld_library_path"), "/u");
}
