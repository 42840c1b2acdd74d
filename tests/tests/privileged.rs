//! Privileged programs (`AT_SECURE`): a caller's `NIX_LD` must never choose
//! the code a setuid or setgid program runs. Each case has a control: the
//! same hostile input takes effect in an unprivileged copy of the program.
//! Needs root (to make the setuid copy); CI runs as root.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use rld_tests::*;

const NOBODY: &str = "65534";
const MARKER: &str = "HOSTILE-LDSO-RAN";

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

struct Setup {
    dir: TempDir,
    runas: std::path::PathBuf,
    hostile: String,
}

fn setup() -> Setup {
    assert!(
        is_root(),
        "the privileged-process tests need root to create setuid files (CI runs as root)"
    );
    let dir = TempDir::new("setuid");
    let runas = compile("cc", &["runas.c"], &dir.join("runas"), &["-static", "-O1"]);
    let hostile = compile(
        "cc",
        &["hostile_ldso.c"],
        &dir.join("hostile-ld.so"),
        &["-nostdlib", "-static-pie", "-fPIE", "-O1"],
    );
    Setup {
        runas,
        hostile: hostile.to_str().unwrap().to_owned(),
        dir,
    }
}

/// Runs `prog` as nobody through the static `runas`, with exactly `env`.
fn run_as_nobody(s: &Setup, prog: &Path, env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new(&s.runas);
    cmd.args([NOBODY, NOBODY]).arg(prog).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    outcome(cmd)
}

fn copy_with_mode(from: &Path, to: &Path, mode: u32) {
    fs::copy(from, to).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn hostile_nix_ld_never_runs_in_setuid_or_setgid_programs() {
    let s = setup();
    let prog = program("probe.c", &s.dir, &loader(Default::Present).path, &[]);
    let plain = s.dir.join("probe-plain");
    let setuid = s.dir.join("probe-setuid");
    let setgid = s.dir.join("probe-setgid");
    copy_with_mode(&prog, &plain, 0o755);
    copy_with_mode(&prog, &setuid, 0o4755);
    copy_with_mode(&prog, &setgid, 0o2755);

    let hostile_envs: Vec<Vec<(&str, &str)>> = vec![
        vec![("NIX_LD", &s.hostile)],
        vec![("NIX_LD_x86_64_linux", &s.hostile)],
        vec![
            ("NIX_LD", &s.hostile),
            ("RLD_LOG", "trace"),
            ("NIX_LD_LIBRARY_PATH", "/tmp"),
        ],
    ];
    for env in &hostile_envs {
        // Control: the unprivileged copy obeys the variable.
        let o = run_as_nobody(&s, &plain, env);
        assert!(
            o.stdout.contains(MARKER),
            "control did not run the hostile ld.so: {o:#?}"
        );
        assert_eq!(o.code, Some(66));

        for prog in [&setuid, &setgid] {
            let o = run_as_nobody(&s, prog, env);
            assert!(
                !o.stdout.contains(MARKER),
                "{prog:?} ran the hostile ld.so: {o:#?}"
            );
            // It still starts, through the compiled-in default.
            o.assert_success();
            assert_eq!(o.stderr, "", "{prog:?}: {o:#?}");
            // Privileged: the environment is exactly what the kernel gave,
            // so no library path was added.
            assert_eq!(o.value("self.ld_library_path"), "<unset>");
        }
    }
}

/// A file capability sets AT_SECURE too, with no setuid bit at all.
#[test]
fn hostile_nix_ld_never_runs_with_file_capabilities() {
    let s = setup();
    let prog = program("probe.c", &s.dir, &loader(Default::Present).path, &[]);
    let capped = s.dir.join("probe-cap");
    copy_with_mode(&prog, &capped, 0o755);
    let status = Command::new("setcap")
        .arg("cap_net_bind_service+ep")
        .arg(&capped)
        .status()
        .expect("setcap (package libcap2-bin) must be installed");
    assert!(status.success(), "setcap failed");
    let env = [
        ("NIX_LD", s.hostile.as_str()),
        ("LD_PRELOAD", "/tmp/evil.so"),
    ];
    let o = run_as_nobody(&s, &capped, &env);
    assert!(
        !o.stdout.contains(MARKER),
        "capability binary ran the hostile ld.so: {o:#?}"
    );
    o.assert_success();
    assert_eq!(o.value("self.ld_library_path"), "<unset>");
    // Control: the same file without the capability obeys NIX_LD.
    let plain = s.dir.join("probe-nocap");
    copy_with_mode(&prog, &plain, 0o755);
    assert!(run_as_nobody(&s, &plain, &env).stdout.contains(MARKER));
}

#[test]
fn setuid_program_sees_glibc_strip_ld_variables() {
    let s = setup();
    let prog = program("probe.c", &s.dir, &loader(Default::Present).path, &[]);
    let setuid = s.dir.join("probe-setuid2");
    copy_with_mode(&prog, &setuid, 0o4755);
    let o = run_as_nobody(
        &s,
        &setuid,
        &[
            ("LD_LIBRARY_PATH", "/tmp/evil"),
            ("LD_PRELOAD", "/tmp/evil.so"),
            ("NIX_LD_LIBRARY_PATH", "/tmp"),
        ],
    );
    o.assert_success();
    // glibc's secure mode removed them; rld did not put them back.
    assert_eq!(o.value("self.ld_library_path"), "<unset>");
    assert!(!o.stdout.contains("LD_PRELOAD"), "{}", o.stdout);
}

/// A configured loader's defaults are root-owned configuration (they are in
/// the loader file itself): a setuid program takes the configured ld.so,
/// never a caller's `NIX_LD`.
#[test]
fn setuid_program_takes_only_the_configured_ld_so() {
    let s = setup();
    let built = loader(Default::Missing);
    let loader_path = configure_loader(
        &built.path,
        SYSTEM_LD_SO,
        "/nonexistent",
        &s.dir.join("rld-loader-configured"),
    );
    let prog = program("probe.c", &s.dir, &loader_path, &[]);
    let plain = s.dir.join("probe-configured-plain");
    let setuid = s.dir.join("probe-configured-setuid");
    copy_with_mode(&prog, &plain, 0o755);
    copy_with_mode(&prog, &setuid, 0o4755);
    let hostile = [("NIX_LD", s.hostile.as_str())];

    // Control: the unprivileged copy obeys the variable.
    assert!(run_as_nobody(&s, &plain, &hostile).stdout.contains(MARKER));
    for env in [&hostile[..], &[]] {
        let o = run_as_nobody(&s, &setuid, env);
        assert!(!o.stdout.contains(MARKER), "{o:#?}");
        // It starts through the configured ld.so: the loader's compiled-in
        // default does not exist.
        o.assert_success();
        assert_eq!(o.stderr, "", "{o:#?}");
        assert_eq!(o.value("self.ld_library_path"), "<unset>");
    }
    // Control: through the loader as built, the same setuid program has no
    // ld.so at all.
    let unconfigured = program("probe.c", &s.dir, &built.path, &[]);
    let unconfigured_setuid = s.dir.join("probe-unconfigured-setuid");
    copy_with_mode(&unconfigured, &unconfigured_setuid, 0o4755);
    assert_rld_error(
        &run_as_nobody(&s, &unconfigured_setuid, &[]),
        "setuid, loader as built",
    );
}
