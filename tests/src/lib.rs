//! Helpers for rld's end-to-end tests: build `rld-loader` with a chosen
//! compiled-in default, compile C fixtures whose ELF interpreter is that
//! loader, and run them with an exact environment.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub mod cross;
pub mod foreign;
pub mod fused;
pub mod glibc;
pub mod root;

/// The machine's real glibc loader.
pub const SYSTEM_LD_SO: &str = "/lib64/ld-linux-x86-64.so.2";

/// Which compiled-in default a loader build has.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Default {
    /// The default prefix does not exist: only variables can name an ld.so.
    Missing,
    /// The default prefix holds `lib/ld.so` (the system's) and `lib/`, as
    /// the NixOS module lays it out.
    Present,
}

/// A built `rld-loader` and the default prefix baked into it.
#[derive(Debug)]
pub struct Loader {
    pub path: PathBuf,
    pub prefix: PathBuf,
}

pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A directory outside the checkout that every user can enter (fixtures run
/// as `nobody` live here), stable per checkout so loader builds are cached.
pub fn shared_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let hash = workspace()
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .fold(0xcbf29ce484222325u64, |h, &b| {
                (h ^ b as u64).wrapping_mul(0x100000001b3)
            });
        let uid = fs::metadata("/proc/self").map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid()
        });
        let dir = std::env::temp_dir().join(format!("rld-e2e-{}-{hash:016x}", uid.unwrap_or(0)));
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        dir
    })
}

/// The `rld` command-line tool, built once per test process in a target
/// directory of its own (`target/e2e/cli`, apart from the loader builds).
pub fn rld_tool_build() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = workspace().join("target/e2e/cli");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace())
            .args(["build", "--quiet", "-p", "rld", "--target-dir"])
            .arg(&dir)
            .status()
            .expect("running cargo build for rld");
        assert!(status.success(), "building rld failed");
        dir.join("debug/rld")
    })
}

/// [`rld_tool_build`] copied into [`shared_dir`], where a root can bind it
/// and every user reach it; unpatched, it runs through rld-loader. Test
/// processes running at once copy the same bytes, each through a name of
/// its own renamed into place.
pub fn rld_tool() -> &'static Path {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| {
        let path = shared_dir().join("rld-tool");
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        fs::copy(rld_tool_build(), &tmp).unwrap();
        fs::rename(&tmp, &path).unwrap();
        path
    })
}

/// The loader built with the given default, built once per test process.
pub fn loader(default: Default) -> &'static Loader {
    static MISSING: OnceLock<Loader> = OnceLock::new();
    static PRESENT: OnceLock<Loader> = OnceLock::new();
    let cell = match default {
        Default::Missing => &MISSING,
        Default::Present => &PRESENT,
    };
    cell.get_or_init(|| build_loader(default))
}

fn build_loader(default: Default) -> Loader {
    let name = match default {
        Default::Missing => "missing",
        Default::Present => "present",
    };
    let prefix = shared_dir().join(format!("prefix-{name}"));
    if default == Default::Present {
        let lib = prefix.join("lib");
        fs::create_dir_all(&lib).unwrap();
        for d in [&prefix, &lib] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
        }
        match std::os::unix::fs::symlink(SYSTEM_LD_SO, lib.join("ld.so")) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => panic!("linking the default ld.so: {e}"),
        }
    }
    let path = build(None, name, &prefix);
    Loader { path, prefix }
}

/// Builds rld-loader for `target` (the host when `None`) with the default
/// `prefix` and copies it to `rld-loader-{name}` in [`shared_dir`], where
/// every user can reach it (the setuid tests run as nobody).
pub fn build(target: Option<&str>, name: &str, prefix: &Path) -> PathBuf {
    build_with_features(target, name, prefix, &[])
}

/// [`build`] with rld-loader's cargo `features` enabled.
pub fn build_with_features(
    target: Option<&str>,
    name: &str,
    prefix: &Path,
    features: &[&str],
) -> PathBuf {
    let dir = workspace().join("target").join("e2e").join(name);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace())
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "rld-loader",
            "--target-dir",
        ])
        .arg(&dir)
        .env("RLD_DEFAULT_PREFIX", prefix);
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let status = cmd.status().expect("running cargo build for rld-loader");
    assert!(status.success(), "building rld-loader ({name}) failed");
    let built = match target {
        Some(t) => dir.join(t).join("release/rld-loader"),
        None => dir.join("release/rld-loader"),
    };
    let path = shared_dir().join(format!("rld-loader-{name}"));
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::copy(built, &tmp).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).unwrap();
    fs::rename(&tmp, &path).unwrap();
    path
}

/// A copy of the rld-loader `loader` configured as `rld configure-loader`
/// configures it, with `ld_so` and `library_path`, written to `to`.
pub fn configure_loader(loader: &Path, ld_so: &str, library_path: &str, to: &Path) -> PathBuf {
    let bytes = fs::read(loader).unwrap();
    let configured = rld::loader::configure(&bytes, ld_so.as_bytes(), library_path.as_bytes())
        .unwrap_or_else(|e| panic!("configuring {}: {e}", loader.display()));
    fs::write(to, configured).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).unwrap();
    to.to_path_buf()
}

/// A fresh directory under [`shared_dir`], removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = shared_dir().join(format!("{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Compiles `sources` (fixture names) into `out` with `compiler`, adding
/// `args`; panics with the compiler's output on failure.
pub fn compile(compiler: &str, sources: &[&str], out: &Path, args: &[&str]) -> PathBuf {
    let mut cmd = Command::new(compiler);
    for s in sources {
        cmd.arg(fixture(s));
    }
    let output = cmd.arg("-o").arg(out).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{compiler} {sources:?} {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out.to_path_buf()
}

/// Compiles a C fixture whose ELF interpreter is `interp`.
pub fn program(source: &str, dir: &TempDir, interp: &Path, args: &[&str]) -> PathBuf {
    let name = Path::new(source).file_stem().unwrap().to_str().unwrap();
    let linker = format!("-Wl,--dynamic-linker={}", interp.display());
    let compiler = if source.ends_with(".cpp") {
        "c++"
    } else {
        "cc"
    };
    let mut all = vec![linker.as_str(), "-O1"];
    all.extend_from_slice(args);
    compile(compiler, &[source], &dir.join(name), &all)
}

/// How a process ended and what it printed.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// `key=value` lines of stdout (the probe's format).
    pub fn values(&self) -> BTreeMap<String, String> {
        self.stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    pub fn value(&self, key: &str) -> String {
        self.values().remove(key).unwrap_or_else(|| {
            panic!(
                "no {key} in output:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "failed: {self:#?}");
        self
    }
}

/// Runs `program` with `args` and exactly the environment `env`.
pub fn run<S: AsRef<OsStr>>(program: &Path, args: &[S], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new(program);
    cmd.args(args).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    outcome(cmd)
}

/// Runs `program` with `args` and exactly `env` as systemd starts a
/// service's program: through a close-on-exec descriptor (`fexecve`, which
/// is `execveat(fd, "", AT_EMPTY_PATH)`; here Python's `os.execve` on a
/// descriptor), so that the kernel names it `/dev/fd/N`.
pub fn fexecve<S: AsRef<str>>(program: &Path, args: &[S], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new("/usr/bin/python3");
    // The environment reaches Python as NAME=VALUE arguments after the
    // last `--` (no such argument is `--`), and Python itself runs with
    // none.
    cmd.arg("-c")
        .arg(
            "import os, sys\n\
             cut = len(sys.argv) - 1 - sys.argv[::-1].index('--')\n\
             env = dict(a.split('=', 1) for a in sys.argv[cut + 1:])\n\
             fd = os.open(sys.argv[1], os.O_RDONLY | os.O_CLOEXEC)\n\
             os.execve(fd, sys.argv[1:cut], env)",
        )
        .arg(program)
        .args(args.iter().map(AsRef::as_ref))
        .arg("--")
        .args(env.iter().map(|(k, v)| format!("{k}={v}")))
        .env_clear();
    outcome(cmd)
}

pub fn outcome(mut cmd: Command) -> Outcome {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("spawning {:?}: {e}", cmd.get_program()));
    Outcome {
        code: out.status.code(),
        signal: out.status.signal(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts the failure shape rld promises for bad input: exit 127, no
/// signal, one or two stderr lines, each starting `rld:`.
pub fn assert_rld_error(o: &Outcome, what: &str) {
    assert_eq!(o.signal, None, "{what}: killed by a signal: {o:#?}");
    assert_eq!(o.code, Some(127), "{what}: wrong exit: {o:#?}");
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert!(
        (1..=2).contains(&lines.len()),
        "{what}: want 1-2 stderr lines: {o:#?}"
    );
    for l in &lines {
        assert!(
            l.starts_with("rld: "),
            "{what}: line without rld: prefix: {l:?}"
        );
        assert!(!l.contains("panicked"), "{what}: {l}");
    }
}
