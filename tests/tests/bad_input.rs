//! Bad configuration through the real loader: every case ends with exit 127
//! and one or two `rld:` lines, never a signal or a panic.

use std::fs;
use std::path::Path;

use rld_tests::*;

/// A copy of the real ld.so with `edit` applied.
fn edited(dir: &TempDir, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bytes = fs::read(SYSTEM_LD_SO).unwrap();
    edit(&mut bytes);
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn bad_nix_ld_values_fail_cleanly() {
    let dir = TempDir::new("bad");
    let rld = loader(Default::Missing);
    let prog = program("probe.c", &dir, &rld.path, &[]);
    let exec = compile(
        "cc",
        &["plugin.c"],
        &dir.join("fixed-address"),
        &["-static", "-no-pie", "-nostdlib", "-Wl,-e,plugin_answer"],
    );
    fs::write(dir.join("empty"), b"").unwrap();
    let long = format!("/{}", "a".repeat(4999));

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "nonexistent",
            "/nonexistent/ld.so".into(),
            "No such file or directory (ENOENT)",
        ),
        (
            "a directory",
            "/etc".into(),
            "it is a directory, not a file",
        ),
        ("a text file", "/etc/passwd".into(), "not an ELF file"),
        (
            "truncated",
            edited(&dir, "truncated", |b| b.truncate(b.len() / 2)),
            "past the end of the",
        ),
        (
            "cut inside the header",
            edited(&dir, "header-cut", |b| b.truncate(40)),
            "too short for an ELF header",
        ),
        (
            "32-bit",
            edited(&dir, "elf32", |b| b[4] = 1),
            "it is a 32-bit ELF; this program needs a 64-bit x86_64 ld.so",
        ),
        (
            "aarch64",
            edited(&dir, "aarch64", |b| {
                b[18..20].copy_from_slice(&183u16.to_le_bytes())
            }),
            "it is an ld.so for aarch64 (183); this program needs one for x86_64",
        ),
        (
            "ET_EXEC",
            exec.to_str().unwrap().to_owned(),
            "a fixed-address executable",
        ),
        (
            "empty",
            dir.join("empty").to_str().unwrap().to_owned(),
            "the file is empty",
        ),
        ("5,000-byte path", long, "File name too long (ENAMETOOLONG)"),
        (
            "rld-loader itself",
            rld.path.to_str().unwrap().to_owned(),
            "it is rld-loader itself, not glibc's ld.so",
        ),
        (
            "a program, not ld.so",
            prog.to_str().unwrap().to_owned(),
            "names an interpreter itself",
        ),
    ];
    let default_ld = rld.prefix.join("lib/ld.so");
    for (what, value, expect) in &cases {
        let o = run(
            &prog,
            &[] as &[&str],
            &[("NIX_LD", value.as_str()), ("PATH", "/usr/bin")],
        );
        assert_rld_error(&o, what);
        assert!(
            o.stderr.contains(expect),
            "{what}: want {expect:?} in:\n{}",
            o.stderr
        );
        assert!(
            o.stderr.contains(prog.to_str().unwrap()),
            "{what}: program not named:\n{}",
            o.stderr
        );
        assert!(
            o.stderr.contains("(from NIX_LD)"),
            "{what}: source not named:\n{}",
            o.stderr
        );
        assert!(
            o.stderr
                .lines()
                .nth(1)
                .is_some_and(|l| l.contains("NIX_LD")),
            "{what}: no advice:\n{}",
            o.stderr
        );
        if ["nonexistent", "32-bit", "aarch64"].contains(what) {
            // Skipped like a missing file: the default was tried too.
            assert!(
                o.stderr.contains(default_ld.to_str().unwrap()),
                "{what}: {}",
                o.stderr
            );
        }
    }
}

#[test]
fn nothing_configured_says_what_to_do() {
    let dir = TempDir::new("unconfigured");
    let prog = program("probe.c", &dir, &loader(Default::Missing).path, &[]);
    let o = run(&prog, &[] as &[&str], &[]);
    assert_rld_error(&o, "no configuration");
    assert!(o.stderr.contains("(from rld's default)"), "{}", o.stderr);
    assert!(o.stderr.contains("programs.rld"), "{}", o.stderr);
}

#[test]
fn a_fifo_does_not_hang() {
    let dir = TempDir::new("fifo");
    let prog = program("probe.c", &dir, &loader(Default::Missing).path, &[]);
    let fifo = dir.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { mkfifo(c.as_ptr(), 0o644) }, 0);
    let o = run(&prog, &[] as &[&str], &[("NIX_LD", fifo.to_str().unwrap())]);
    assert_rld_error(&o, "fifo");
    assert!(o.stderr.contains("it is a FIFO"), "{}", o.stderr);
}

unsafe extern "C" {
    fn mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
}

#[test]
fn direct_invocation_errors_name_the_program() {
    let rld = &loader(Default::Missing).path;
    let o = run(rld, &["/bin/true"], &[("NIX_LD", "/nonexistent/ld.so")]);
    assert_rld_error(&o, "direct");
    assert!(o.stderr.contains("cannot run /bin/true"), "{}", o.stderr);
    assert!(Path::new("/bin/true").exists());
}

/// Run directly with nothing configured, `--version` and the bare command
/// still answer: they need no `ld.so`. Anything else fails as a start does.
#[test]
fn version_and_usage_need_no_ld_so() {
    let rld = &loader(Default::Missing).path;
    let no_ld_so = format!(
        "rld: no usable ld.so {}/lib/ld.so (from rld's default): No such file or directory (ENOENT)\n\
         rld: enable programs.rld in configuration.nix, or set NIX_LD to the ld.so of a glibc for x86_64\n",
        loader(Default::Missing).prefix.display()
    );

    let o = run(rld, &["--version"], &[]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        o.stdout,
        format!("rld-loader {} (rld)\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(o.stderr, no_ld_so);

    let o = run(rld, &[] as &[&str], &[]);
    assert_eq!(o.code, Some(1), "ld.so's status without a program: {o:#?}");
    assert_eq!(o.stdout, "");
    assert_eq!(
        o.stderr,
        format!(
            "rld: missing program name; usage: rld-loader [LD.SO OPTIONS] PROGRAM [ARGUMENTS]\n{no_ld_so}"
        )
    );

    let o = run(rld, &["/bin/true"], &[]);
    assert_rld_error(&o, "a program run directly");
    assert!(
        o.stderr.starts_with("rld: cannot run /bin/true: ld.so "),
        "{o:#?}"
    );
}
