//! Test helpers: build the C fixtures once per test binary, run the real
//! `rld` binary with a controlled environment, and look at its output.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the shared support"
)]

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The fixtures every test shares, built in a fresh directory.
pub struct World {
    pub root: PathBuf,
}

impl World {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn s(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }
}

static WORLD: OnceLock<World> = OnceLock::new();

pub fn world() -> &'static World {
    WORLD.get_or_init(build_world)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs `cc` in `dir` with `args`, split at spaces (no path here has one);
/// panics with its stderr on failure.
pub fn cc(dir: &Path, args: &str) {
    let args: Vec<&str> = args.split_whitespace().collect();
    let out = Command::new("cc")
        .current_dir(dir)
        .args(&args)
        .output()
        .expect("cc runs");
    assert!(
        out.status.success(),
        "cc {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn build_world() -> World {
    let root =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("rld-cli-{}", std::process::id()));
    // Worlds of test processes that have ended are left over: remove them.
    if let Ok(entries) = fs::read_dir(env!("CARGO_TARGET_TMPDIR")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("rld-cli-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    let _ = fs::remove_dir_all(&root);
    for d in [
        "glibc",
        "oldglibc",
        "lib",
        "stub",
        "stub32",
        "zlib",
        "bin",
        "bin32",
        "lib32",
        "chain/lib",
        "chain/deplib",
        "chain/bin",
        "empty",
    ] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    // A glibc directory as on NixOS: ld.so, libc.so.6 and libm.so.6 side by side.
    for (from, to) in [
        ("/lib64/ld-linux-x86-64.so.2", "glibc/ld-linux-x86-64.so.2"),
        ("/lib/x86_64-linux-gnu/libc.so.6", "glibc/libc.so.6"),
        ("/lib/x86_64-linux-gnu/libm.so.6", "glibc/libm.so.6"),
        (
            "/lib64/ld-linux-x86-64.so.2",
            "oldglibc/ld-linux-x86-64.so.2",
        ),
        ("/lib/x86_64-linux-gnu/libz.so.1", "zlib/libz.so.1"),
    ] {
        fs::copy(from, root.join(to)).unwrap();
    }
    let f = |n| fixture(n).display().to_string();
    let so = "-shared -fPIC";
    cc(
        &root,
        &format!(
            "{so} -Wl,-soname,libfound.so.1 {} -o lib/libfound.so.1",
            f("found.c")
        ),
    );
    cc(
        &root,
        &format!(
            "{so} -Wl,-soname,libmissing.so.3 {} -o stub/libmissing.so.3",
            f("missing.c")
        ),
    );
    // bin/app: NEEDED libfound.so.1 (RUNPATH $ORIGIN/../lib), libmissing.so.3,
    // libz.so.1, libc.so.6.
    cc(
        &root,
        &format!(
            "{} -o bin/app -Llib -Lstub -Wl,--no-as-needed -l:libfound.so.1 -l:libmissing.so.3 -l:libz.so.1 \
             -Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib",
            f("app.c")
        ),
    );
    // chain/: libfound.so.1 needs libdep.so.1, which only the program's
    // RPATH/RUNPATH names.
    cc(
        &root,
        &format!(
            "{so} -Wl,-soname,libdep.so.1 {} -o chain/deplib/libdep.so.1",
            f("dep.c")
        ),
    );
    cc(
        &root,
        &format!(
            "{so} -DWITH_DEP -Wl,-soname,libfound.so.1 {} -Lchain/deplib -l:libdep.so.1 -o chain/lib/libfound.so.1",
            f("found.c")
        ),
    );
    for (name, tags) in [
        ("rpath_app", "--disable-new-dtags"),
        ("runpath_app", "--enable-new-dtags"),
    ] {
        cc(
            &root,
            &format!(
                "{} -o chain/bin/{name} -Lchain/lib -l:libfound.so.1 -Wl,-rpath-link,chain/deplib \
                 -Wl,{tags},-rpath,$ORIGIN/../lib:$ORIGIN/../deplib",
                f("app.c")
            ),
        );
    }
    // 32-bit, without a 32-bit libc: libfound.so.1, a stand-in libz.so.1
    // (link time only) and a program needing both.
    let so32 = "-m32 -nostdlib -shared -fPIC";
    cc(
        &root,
        &format!(
            "{so32} -Wl,-soname,libfound.so.1 {} -o lib32/libfound.so.1",
            f("found32.c")
        ),
    );
    cc(
        &root,
        &format!(
            "{so32} -Wl,-soname,libz.so.1 {} -o stub32/libz.so.1",
            f("found32.c")
        ),
    );
    cc(
        &root,
        &format!(
            "-m32 -nostdlib -fno-pie -no-pie -Wl,--dynamic-linker=/lib/ld-linux.so.2 -Wl,-e,_start {} \
             -Llib32 -Lstub32 -Wl,--no-as-needed -l:libfound.so.1 -l:libz.so.1 -o bin32/prog32",
            f("prog32.c")
        ),
    );
    cc(&root, &format!("-static {} -o bin/static", f("hello.c")));
    cc(
        &root,
        &format!(
            "-Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1 {} -o bin/musl",
            f("hello.c")
        ),
    );
    cc(
        &root,
        &format!(
            "-Wl,--dynamic-linker={}/nowhere/ld-linux-x86-64.so.2 {} -o bin/nointerp",
            root.display(),
            f("hello.c")
        ),
    );
    cc(
        &root,
        &format!(
            "-shared -nostdlib -fPIC -Wl,-soname,libc.so.6 -Wl,--version-script,{} {} -o oldglibc/libc.so.6",
            f("oldlibc.map"),
            f("oldlibc.c")
        ),
    );
    // The same program relabelled as aarch64 (e_machine at offset 18).
    let mut bytes = fs::read(root.join("bin/app")).unwrap();
    bytes[18..20].copy_from_slice(&183u16.to_le_bytes());
    fs::write(root.join("bin/aarch64"), bytes).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(root.join("bin/aarch64"), fs::Permissions::from_mode(0o755)).unwrap();
    // As an aarch64 program from another distribution names it: the
    // standard aarch64 interpreter, and libc.so.6.
    cc(
        &root,
        &format!(
            "-Wl,--dynamic-linker=/lib/ld-linux-aarch64.so.1 {} -o bin/aarch64-std",
            f("hello.c")
        ),
    );
    let mut bytes = fs::read(root.join("bin/aarch64-std")).unwrap();
    bytes[18..20].copy_from_slice(&183u16.to_le_bytes());
    fs::write(root.join("bin/aarch64-std"), bytes).unwrap();
    for (name, text) in [
        ("bin/script-ok", "#!/bin/sh\necho hi\n"),
        ("bin/script-bad", "#!/nonexistent/bash -e\necho hi\n"),
        ("bin/notes.txt", "just some text\n"),
    ] {
        fs::write(root.join(name), text).unwrap();
        fs::set_permissions(root.join(name), fs::Permissions::from_mode(0o755)).unwrap();
    }
    World { root }
}

/// The output of one run of `rld`.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts the exit code, showing everything when it differs.
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(
            self.code, want,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts that one line of stdout holds every part, in this order
    /// (column widths are not part of the contract).
    pub fn row(&self, parts: &[&str]) -> &Self {
        let ok = self.stdout.lines().any(|line| {
            let mut rest = line;
            parts.iter().all(|p| match rest.find(p) {
                Some(i) => {
                    rest = &rest[i + p.len()..];
                    true
                }
                None => false,
            })
        });
        assert!(
            ok,
            "no line of stdout holds {parts:?}:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout has {needle:?}:\n{}",
            self.stdout
        );
        self
    }
}

/// `rld` with an empty environment but for PATH (no nix-locate on it).
pub struct TestCommand {
    cmd: Command,
    /// Shell commands that set up a binfmt_misc instance of its own.
    binfmt_misc: Option<String>,
}

/// Where the kernel's binfmt_misc is mounted.
pub const BINFMT_MISC: &str = "/proc/sys/fs/binfmt_misc";

/// The registration NixOS's `boot.binfmt.emulatedSystems` makes for
/// aarch64-linux (qemu's magic and mask: an ELF64 little-endian executable
/// or shared object for aarch64), with this `interpreter` and `flags`.
pub fn aarch64_registration(name: &str, interpreter: &str, flags: &str) -> String {
    let magic = r"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00";
    let mask = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff";
    format!(":{name}:M::{magic}:{mask}:{interpreter}:{flags}")
}

pub fn rld<I, S>(args: I) -> TestCommand
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rld"));
    cmd.env_clear().env("PATH", "/usr/bin:/bin").args(args);
    TestCommand {
        cmd,
        binfmt_misc: None,
    }
}

impl TestCommand {
    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// NIX_LD and NIX_LD_LIBRARY_PATH as a NixOS system would set them.
    pub fn nixos(self, w: &World, libs: &[&str]) -> Self {
        let libs: Vec<String> = libs.iter().map(|l| w.s(l)).collect();
        let libs = if libs.is_empty() {
            w.s("empty")
        } else {
            libs.join(":")
        };
        self.env("NIX_LD", w.path("glibc/ld-linux-x86-64.so.2"))
            .env("NIX_LD_LIBRARY_PATH", libs)
    }

    /// Runs rld in a user and mount namespace of its own, with a fresh
    /// binfmt_misc instance at [`BINFMT_MISC`] (Linux 6.7 and newer), so
    /// the machine's own handlers (qemu-user-static registers some) do not
    /// count: `setup`, shell commands with `$B` for that directory, makes
    /// the handlers; an empty one leaves none.
    pub fn binfmt_misc(mut self, setup: &str) -> Self {
        self.binfmt_misc = Some(setup.to_owned());
        self
    }

    /// [`TestCommand::binfmt_misc`] with these registrations, each a line
    /// as written to `register`.
    pub fn registered(self, registrations: &[&str]) -> Self {
        let setup: Vec<String> = registrations
            .iter()
            .map(|r| format!("printf '%s\\n' '{r}' > $B/register"))
            .collect();
        self.binfmt_misc(&setup.join(" && "))
    }

    pub fn run(mut self) -> Out {
        if let Some(setup) = self.binfmt_misc.take() {
            self.cmd = in_binfmt_misc_instance(&self.cmd, &setup);
        }
        let out = self.cmd.output().expect("rld runs");
        let out = Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_ne!(
            out.code, SETUP_FAILED,
            "the binfmt_misc instance could not be set up: {}",
            out.stderr
        );
        out
    }
}

/// The exit status of the wrapper of [`in_binfmt_misc_instance`] when it
/// cannot set up binfmt_misc: the test fails, it is never skipped.
const SETUP_FAILED: i32 = 99;

/// `cmd` run by `unshare` in a user and mount namespace of its own, after
/// mounting a binfmt_misc instance there and running `setup`.
fn in_binfmt_misc_instance(cmd: &Command, setup: &str) -> Command {
    let setup = if setup.is_empty() { "true" } else { setup };
    let script = format!(
        "B={BINFMT_MISC}; mount -t binfmt_misc binfmt_misc $B || {{ echo 'cannot mount binfmt_misc in a user namespace (Linux 6.7 or newer needed)' >&2; exit {SETUP_FAILED}; }}; \
         {{ {setup}; }} || {{ echo 'the binfmt_misc setup failed' >&2; exit {SETUP_FAILED}; }}; exec \"$0\" \"$@\""
    );
    let mut wrapped = Command::new("unshare");
    wrapped
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

/// `readelf -d`'s NEEDED entries: an oracle independent of goblin.
pub fn readelf_needed(path: &str) -> Vec<String> {
    let out = Command::new("readelf")
        .args(["-d", path])
        .output()
        .expect("readelf runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next().map(str::to_owned))
        .collect()
}

/// The real glibc ld.so of this machine, which starts `rld` itself where
/// nothing is at /lib64.
pub const SYSTEM_LD_SO: &str = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";

/// `sh -c SCRIPT` with nothing at /lib64 (a tmpfs over it in a private
/// mount namespace, as on NixOS without rld), an empty environment but
/// `PATH`.
pub fn without_lib64(script: &str) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--map-root-user",
        "--propagation",
        "private",
        "sh",
        "-c",
        &format!("mount -t tmpfs none /lib64 && {script}"),
    ])
    .env_clear()
    .env("PATH", "/usr/bin:/bin");
    cmd
}
