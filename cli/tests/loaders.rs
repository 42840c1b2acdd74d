//! `rld env` models the rld-loader that would start a program: the one
//! installed at the system's interpreter path, or the one `--loader` names,
//! with the defaults its note says it was built with. Loaders are built
//! here with a prefix of the test's own.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Out, SYSTEM_LD_SO, rld, without_lib64};

/// rld-loader for `target` (the host when `None`), built with `prefix`.
fn loader(target: Option<&str>, prefix: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("loaders");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--release", "--quiet", "-p", "rld-loader"])
        .arg("--target-dir")
        .arg(&dir)
        .env("RLD_DEFAULT_PREFIX", prefix);
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    assert!(cmd.status().unwrap().success(), "building rld-loader");
    let built = match target {
        Some(t) => dir.join(t).join("release/rld-loader"),
        None => dir.join("release/rld-loader"),
    };
    // One copy per prefix: the next build overwrites the target dir.
    let copy = dir.join(format!(
        "rld-loader-{}{}",
        target.unwrap_or("host"),
        prefix.replace('/', "_")
    ));
    // Copied and renamed into place: tests running at once may ask for the
    // same loader, and must never see a half-written one.
    let tmp = copy
        .with_extension(format!("tmp{:?}", std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::copy(built, &tmp).unwrap();
    std::fs::rename(&tmp, &copy).unwrap();
    copy
}

#[test]
fn the_32_bit_loader_is_modelled_with_its_own_defaults() {
    let i686 = loader(Some("i686-unknown-linux-gnu"), "/opt/rld32-test");
    let i686 = i686.to_str().unwrap();
    let out = rld(["env", "--loader", i686]).run();
    out.code(1)
        .has("system        i686-linux")
        .has(&format!("defaults      ld.so /opt/rld32-test/lib/ld.so, library path /opt/rld32-test/lib (from rld-loader at {i686})"))
        .has("  failed     /opt/rld32-test/lib/ld.so (from rld's default): No such file or directory (ENOENT)")
        .has("library path  /opt/rld32-test/lib (from rld's default)")
        .has("programs.rld.enable32Bit = true;")
        .lacks("share/rld");
    let json = rld(["env", "--json", "--loader", i686])
        .env("NIX_LD_i686_linux", "/usr/i686-linux-gnu/lib/ld-linux.so.2")
        .run();
    json.code(0);
    let v = json.json();
    assert_eq!(v["system"], "i686_linux");
    assert_eq!(v["defaults"]["ld_so"], "/opt/rld32-test/lib/ld.so");
    assert_eq!(v["defaults"]["library_path"], "/opt/rld32-test/lib");
    assert_eq!(v["ld_so"], "/usr/i686-linux-gnu/lib/ld-linux.so.2");
    assert_eq!(v["candidates"][1]["path"], "/opt/rld32-test/lib/ld.so");
    assert_eq!(v["library_path"], "/opt/rld32-test/lib");
}

#[test]
fn without_a_loader_to_read_another_systems_defaults_are_unknown() {
    // Nothing here installs rld-loader at /lib/ld-linux.so.2.
    let out = rld(["env", "--system", "i686-linux"]).run();
    out.code(1)
        .has("defaults      unknown: no rld-loader at /lib/ld-linux.so.2")
        .has("  failed     (unknown) (from rld's default): no rld-loader at /lib/ld-linux.so.2")
        .has("library path  none known (from rld's default: no rld-loader at /lib/ld-linux.so.2)")
        .has("fix: set programs.rld.enable = true; and programs.rld.enable32Bit = true; in configuration.nix")
        .lacks("damaged");
    let v = rld(["env", "--json", "--system", "i686-linux"])
        .run()
        .json();
    assert_eq!(v["defaults"]["ld_so"], serde_json::Value::Null);
}

#[test]
fn the_installed_loader_is_read_at_the_interpreter_path() {
    let host = loader(None, "/opt/rld-test");
    // rld itself started by the real ld.so; the one at /lib64 is ours.
    let script = format!(
        "{SYSTEM_LD_SO} /bin/cp {} /lib64/ld-linux-x86-64.so.2 && exec {SYSTEM_LD_SO} {} env",
        host.display(),
        env!("CARGO_BIN_EXE_rld")
    );
    let out = without_lib64(&script).output().unwrap();
    let out = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    out.code(1)
        .has("defaults      ld.so /opt/rld-test/lib/ld.so, library path /opt/rld-test/lib (from rld-loader at /lib64/ld-linux-x86-64.so.2)")
        .has("  failed     /opt/rld-test/lib/ld.so (from rld's default)");
}

#[test]
fn loader_must_be_rld_of_the_system_asked_for() {
    let out = rld(["env", "--loader", "/bin/true"]).run();
    out.code(2);
    assert_eq!(
        out.stderr,
        "rld: --loader /bin/true: not rld-loader (it has no rld note)\n"
    );
    let i686 = loader(Some("i686-unknown-linux-gnu"), "/opt/rld32-test");
    let i686 = i686.to_str().unwrap();
    let out = rld(["env", "--system", "x86_64-linux", "--loader", i686]).run();
    out.code(2);
    assert_eq!(
        out.stderr,
        format!("rld: --loader {i686}: it is rld-loader for i686-linux, not x86_64-linux\n")
    );
}

/// `rld configure-loader` writes a copy whose configuration `rld env`
/// reads back; it refuses what it cannot configure.
#[test]
fn a_configured_loader_says_its_configuration() {
    let built = loader(Some("i686-unknown-linux-gnu"), "/opt/rld32-test");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("configure");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("configured");
    let args = |loader: &Path, ld_so: &str, library_path: &str| {
        vec![
            "configure-loader".to_owned(),
            loader.display().to_string(),
            "--ld-so".into(),
            ld_so.into(),
            "--library-path".into(),
            library_path.into(),
            "--output".into(),
            out.display().to_string(),
        ]
    };
    let written = rld(args(
        &built,
        "/nix/store/x-glibc-2.40/lib/ld-linux.so.2",
        "/nix/store/y-libs/lib:/run/opengl-driver-32/lib",
    ))
    .run();
    written.code(0);
    assert_eq!((written.stdout.as_str(), written.stderr.as_str()), ("", ""));
    let shown = out.display();
    rld(["env", "--loader", out.to_str().unwrap()])
        .run()
        .code(1)
        .has("system        i686-linux\n")
        .has(&format!("defaults      ld.so /nix/store/x-glibc-2.40/lib/ld-linux.so.2, library path /nix/store/y-libs/lib:/run/opengl-driver-32/lib (from the configuration of rld-loader at {shown})\n"))
        .has("library path  /nix/store/y-libs/lib:/run/opengl-driver-32/lib (from rld's default)\n");

    // Already configured; not rld-loader; a relative path.
    let again = rld(args(&out, "/x/ld.so", "/lib")).run();
    again.code(2);
    assert_eq!(
        again.stderr,
        format!("rld: {shown}: it is configured already: configure the loader as it was built\n")
    );
    let not_rld = rld(args(Path::new("/bin/true"), "/x/ld.so", "/lib")).run();
    not_rld.code(2);
    assert_eq!(
        not_rld.stderr,
        "rld: /bin/true: not rld-loader (it has no rld note)\n"
    );
    let relative = rld(args(&built, "ld.so", "/lib")).run();
    relative.code(2);
    assert!(
        relative.stderr.ends_with(
            "the ld.so and every library directory must be absolute paths without a NUL\n"
        ),
        "{}",
        relative.stderr
    );
}
