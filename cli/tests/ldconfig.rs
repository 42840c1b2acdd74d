//! `rld ldconfig`: `-p` lists the libraries of rld's configuration in the
//! format of glibc's `ldconfig -p`, which Python's
//! `ctypes.util.find_library` parses; anything else is a note and exit 0.
//! Real glibc is the oracle for the format: its own `/sbin/ldconfig -p` on
//! this Debian machine.

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Out, cc, rld};

/// What CPython 3.11's `ctypes.util._findSoname_ldconfig` searches the
/// output of `/sbin/ldconfig -p` for, on x86_64 (`abi_type` is
/// `libc6,x86-64` there): `\s+(lib%s\.[^\s]+)\s+\(%s`.
fn ctypes_regex(name: &str) -> String {
    format!(r"\s+(lib{}\.[^\s]+)\s+\(libc6,x86-64", regex_escape(name))
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = !c.is_ascii_alphanumeric() && c != '_';
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// What `re.search(regex, output)` finds, as ctypes takes it: group 1 of
/// the first match. Python's own `re` evaluates the regex.
fn ctypes_finds(output: &str, name: &str) -> Option<String> {
    let script = "import re, sys\n\
                  m = re.search(sys.argv[1].encode(), sys.stdin.buffer.read())\n\
                  print(m.group(1).decode() if m else 'None')";
    let mut child = Command::new("/usr/bin/python3.11")
        .args(["-c", script, &ctypes_regex(name)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3.11 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(output.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let found = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    (found != "None").then_some(found)
}

/// A fresh directory for one test.
fn dir(tag: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ldconfig-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn ldconfig_p(nix_ld: &str, library_path: &Path) -> Out {
    rld(["ldconfig", "-p"])
        .env("NIX_LD", nix_ld)
        .env("NIX_LD_LIBRARY_PATH", library_path)
        .run()
}

/// The line format, checked against real glibc: every line but the header
/// is `\tNAME (FLAGS) => PATH`.
fn assert_glibc_shape(out: &str) {
    let mut lines = out.lines();
    let header = lines.next().expect("a header line");
    let count: usize = header
        .strip_suffix(" libs found in cache `/etc/ld.so.cache'")
        .unwrap_or_else(|| panic!("header {header:?}"))
        .parse()
        .unwrap();
    let mut n = 0;
    for line in lines {
        n += 1;
        let rest = line
            .strip_prefix('\t')
            .unwrap_or_else(|| panic!("{line:?}"));
        let (name, rest) = rest.split_once(" (").unwrap();
        let (flags, path) = rest.split_once(") => ").unwrap();
        assert!(!name.contains(char::is_whitespace), "{line:?}");
        assert!(flags.starts_with("libc6"), "{line:?}");
        assert!(path.starts_with('/') && path.ends_with(name), "{line:?}");
    }
    assert_eq!(n, count, "the header counts the entries");
}

/// A library built here, in a directory in `NIX_LD_LIBRARY_PATH`, laid out
/// as packages lay it out (real file, soname link, development link), is
/// what ctypes finds; what ld.so could not load by name is not listed.
#[test]
fn ctypes_finds_a_library_in_the_library_path() {
    let lib = dir("lib");
    fs::write(lib.join("probe.c"), "int rld_probe(void) { return 7; }\n").unwrap();
    cc(
        &lib,
        "-shared -fPIC -Wl,-soname,librldprobe.so.3 -o librldprobe.so.3.1.4 probe.c",
    );
    symlink("librldprobe.so.3.1.4", lib.join("librldprobe.so.3")).unwrap();
    symlink("librldprobe.so.3", lib.join("librldprobe.so")).unwrap();
    // A 32-bit library: not one the x86_64 ld.so would load.
    cc(
        &lib,
        "-m32 -nostdlib -shared -fPIC -Wl,-soname,librld32.so.1 -o librld32.so.1 probe.c",
    );
    // A linker script named like a library, as libc.so is.
    fs::write(lib.join("libscript.so"), "GROUP ( libc.so.6 )\n").unwrap();
    // A library whose soname has no file: ld.so cannot open it by that name.
    cc(
        &lib,
        "-shared -fPIC -Wl,-soname,libnolink.so.2 -o libnolink.so.2.0 probe.c",
    );

    let o = ldconfig_p(support::SYSTEM_LD_SO, &lib);
    o.code(0);
    assert_eq!(o.stderr, "");
    assert_glibc_shape(&o.stdout);
    let l = lib.display();
    o.has(&format!(
        "\n\tlibrldprobe.so.3 (libc6,x86-64) => {l}/librldprobe.so.3\n\
         \tlibrldprobe.so (libc6,x86-64) => {l}/librldprobe.so\n"
    ))
    .lacks("librldprobe.so.3.1.4")
    .lacks("librld32")
    .lacks("libscript")
    .lacks("libnolink");
    assert_eq!(
        ctypes_finds(&o.stdout, "rldprobe").as_deref(),
        Some("librldprobe.so.3")
    );
    // glibc's own libraries come from the ld.so's directory.
    assert_eq!(ctypes_finds(&o.stdout, "c").as_deref(), Some("libc.so.6"));
    assert_eq!(ctypes_finds(&o.stdout, "nosuchlib"), None);

    // The first directory holding a name wins, as for ld.so.
    let other = dir("other");
    fs::copy(
        lib.join("librldprobe.so.3.1.4"),
        other.join("librldprobe.so.3"),
    )
    .unwrap();
    let both = std::env::join_paths([&other, &lib]).unwrap();
    let o = ldconfig_p(support::SYSTEM_LD_SO, Path::new(&both));
    o.code(0);
    o.has(&format!(
        "\tlibrldprobe.so.3 (libc6,x86-64) => {}/librldprobe.so.3\n",
        other.display()
    ))
    .lacks(&format!("{l}/librldprobe.so.3\n"));
}

/// Given Debian's library directory, rld lists exactly what real glibc's
/// `ldconfig -p` lists for it: the same names, flags, paths and order.
#[test]
fn the_listing_of_debians_directory_is_glibcs() {
    let debian = "/lib/x86_64-linux-gnu";
    let glibc = Command::new("/sbin/ldconfig")
        .arg("-p")
        .env_clear()
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(glibc.status.success());
    let glibc: Vec<String> = String::from_utf8(glibc.stdout)
        .unwrap()
        .lines()
        .filter(|l| {
            l.rsplit_once(" => ")
                .is_some_and(|(_, p)| Path::new(p).parent() == Some(Path::new(debian)))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(glibc.len() > 50, "{glibc:?}");
    let o = ldconfig_p(&format!("{debian}/ld-linux-x86-64.so.2"), Path::new(debian));
    o.code(0);
    assert_glibc_shape(&o.stdout);
    let rld: Vec<String> = o.stdout.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(rld, glibc);
    assert_eq!(ctypes_finds(&o.stdout, "z").as_deref(), Some("libz.so.1"));
}

/// Without `-p`, as a script calls it after installing a library: one note
/// on stderr, exit 0. glibc's flags are accepted; an unknown one is a usage
/// error.
#[test]
fn rebuilding_is_a_note_and_unknown_flags_a_usage_error() {
    for args in [
        &["ldconfig"][..],
        &["ldconfig", "-v"],
        &["ldconfig", "-n", "/opt/lib"],
        &[
            "ldconfig",
            "-X",
            "-N",
            "-C",
            "/tmp/cache",
            "-f",
            "/etc/ld.so.conf",
        ],
    ] {
        let o = rld(args).run();
        o.code(0);
        assert_eq!(o.stdout, "", "{args:?}");
        let lines: Vec<&str> = o.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", o.stderr);
        assert!(
            lines[0].starts_with("rld: ldconfig: NixOS has no library cache to rebuild"),
            "{args:?}: {}",
            o.stderr
        );
    }
    let o = rld(["ldconfig", "-q"]).run();
    o.code(0);
    assert_eq!(o.stderr, "");
    let o = rld(["ldconfig", "--bogus"]).run();
    o.code(2);
    assert!(
        o.stderr.ends_with("see `rld ldconfig --help`\n"),
        "{}",
        o.stderr
    );
}
