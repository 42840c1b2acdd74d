//! Entering the NixOS-like root: a list of steps, prepared in the parent,
//! that a child process carries out between `fork` and `exec` — a new user
//! and mount namespace, a tmpfs for `/`, directories, files, symlinks,
//! read-only bind mounts of the host's files, then `chroot`.
//!
//! # Safety
//!
//! [`Plan::enter`] runs in the child of a possibly multi-threaded parent,
//! after `fork` and before `exec` (`CommandExt::pre_exec`). There only
//! async-signal-safe work is sound: every path and byte string is prepared
//! as a `CString`/`Vec` in the parent, and `enter` only makes system calls
//! through `nix` with `&CStr` arguments (which `nix` passes through without
//! allocating). It never allocates, formats or locks.

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::stat::Mode;
use nix::sys::statvfs::{FsFlags, statvfs};
use nix::unistd::{Gid, Uid, chdir, chroot, mkdir, setgid, setgroups, setuid, symlinkat, write};
use std::ffi::{CStr, CString};
use std::io;
use std::path::Path;

/// One thing to do in the child; the root's paths are absolute host paths
/// under the mount point (before `chroot`).
#[derive(Debug)]
pub enum Step {
    /// Become this host user before anything else (the unprivileged run).
    SwitchUser {
        uid: Uid,
        gid: Gid,
    },
    /// A new user namespace (so no privilege is needed) and mount namespace.
    Unshare,
    /// Write `/proc/self/{setgroups,uid_map,gid_map}`.
    WriteProc {
        path: &'static CStr,
        contents: Vec<u8>,
    },
    /// Stop mounts from propagating back to the host.
    MakePrivate,
    Tmpfs {
        target: CString,
        options: &'static CStr,
    },
    Mkdir(CString),
    File {
        path: CString,
        contents: Vec<u8>,
    },
    Symlink {
        target: CString,
        link: CString,
    },
    /// A read-only bind mount of a host file or directory. `remount` keeps
    /// the flags the source mount has (the kernel locks them in a user
    /// namespace) and adds `MS_RDONLY`.
    Bind {
        source: CString,
        target: CString,
        dir: bool,
        remount: MsFlags,
    },
    /// A recursive, writable bind mount (`/proc`, `/dev`).
    Rbind {
        source: CString,
        target: CString,
    },
    /// A binfmt_misc instance of this user namespace's own at
    /// `/proc/sys/fs/binfmt_misc` (Linux 6.7 and newer), with one handler
    /// registered: a line in the kernel's `:name:type:offset:magic:mask:
    /// interpreter:flags` format. With flag `F` the kernel opens the
    /// interpreter now, in the host's filesystem, before `chroot`.
    BinfmtMisc(Vec<u8>),
    Chroot(CString),
    Chdir(CString),
}

fn c(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).expect("path without NUL")
}

impl Step {
    pub fn bind(source: &Path, target: &Path) -> Step {
        let meta = std::fs::metadata(source)
            .unwrap_or_else(|e| panic!("root: bind source {}: {e}", source.display()));
        Step::Bind {
            source: c(source),
            target: c(target),
            dir: meta.is_dir(),
            remount: readonly_remount(source),
        }
    }

    pub fn rbind(source: &Path, target: &Path) -> Step {
        Step::Rbind {
            source: c(source),
            target: c(target),
        }
    }

    pub fn mkdir(path: &Path) -> Step {
        Step::Mkdir(c(path))
    }

    pub fn file(path: &Path, contents: &[u8]) -> Step {
        Step::File {
            path: c(path),
            contents: contents.to_vec(),
        }
    }

    pub fn symlink(target: &Path, link: &Path) -> Step {
        Step::Symlink {
            target: c(target),
            link: c(link),
        }
    }

    pub fn tmpfs(target: &Path, options: &'static CStr) -> Step {
        Step::Tmpfs {
            target: c(target),
            options,
        }
    }

    pub fn chroot(path: &Path) -> Step {
        Step::Chroot(c(path))
    }

    pub fn chdir(path: &Path) -> Step {
        Step::Chdir(c(path))
    }

    /// Carries the step out. Async-signal-safe (see the module's Safety).
    fn apply(&self) -> Result<(), Errno> {
        const NONE: Option<&CStr> = None;
        match self {
            Step::SwitchUser { uid, gid } => {
                setgroups(&[*gid])?;
                setgid(*gid)?;
                setuid(*uid)?;
                // setuid made the process non-dumpable, which makes
                // /proc/self/uid_map root's; this process must write it.
                nix::sys::prctl::set_dumpable(true)
            }
            Step::Unshare => unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS),
            Step::WriteProc { path, contents } => {
                let fd = open(*path, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())?;
                write(&fd, contents).map(drop)
            }
            Step::File { path, contents } => {
                let fd = open(
                    path.as_c_str(),
                    OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o644),
                )?;
                let mut rest: &[u8] = contents;
                while !rest.is_empty() {
                    let n = write(&fd, rest)?;
                    rest = &rest[n..];
                }
                Ok(())
            }
            Step::MakePrivate => mount(
                NONE,
                c"/",
                NONE,
                MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                NONE,
            ),
            Step::Tmpfs { target, options } => mount(
                Some(c"tmpfs"),
                target.as_c_str(),
                Some(c"tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(*options),
            ),
            Step::Mkdir(path) => mkdir(path.as_c_str(), Mode::from_bits_truncate(0o755)),
            Step::Symlink { target, link } => {
                symlinkat(target.as_c_str(), AT_FDCWD, link.as_c_str())
            }
            Step::Bind {
                source,
                target,
                dir,
                remount,
            } => {
                if *dir {
                    mkdir(target.as_c_str(), Mode::from_bits_truncate(0o755))?;
                } else {
                    open(
                        target.as_c_str(),
                        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o644),
                    )?;
                }
                mount(
                    Some(source.as_c_str()),
                    target.as_c_str(),
                    NONE,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    NONE,
                )?;
                mount(NONE, target.as_c_str(), NONE, *remount, NONE)
            }
            Step::Rbind { source, target } => {
                mkdir(target.as_c_str(), Mode::from_bits_truncate(0o755))?;
                mount(
                    Some(source.as_c_str()),
                    target.as_c_str(),
                    NONE,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    NONE,
                )
            }
            Step::BinfmtMisc(registration) => {
                mount(
                    Some(c"binfmt_misc"),
                    c"/proc/sys/fs/binfmt_misc",
                    Some(c"binfmt_misc"),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                    NONE,
                )?;
                let fd = open(
                    c"/proc/sys/fs/binfmt_misc/register",
                    OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                write(&fd, registration).map(drop)
            }
            Step::Chroot(path) => chroot(path.as_c_str()),
            Step::Chdir(path) => chdir(path.as_c_str()),
        }
    }
}

/// The remount flags that make a bind of `source` read-only while keeping
/// what a user namespace may not change: nosuid, nodev, noexec and the
/// access-time mode of the mount it comes from.
fn readonly_remount(source: &Path) -> MsFlags {
    let f = statvfs(source)
        .unwrap_or_else(|e| panic!("root: statvfs {}: {e}", source.display()))
        .flags();
    let mut m = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
    for (st, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(st) {
            m |= ms;
        }
    }
    if !f.intersects(FsFlags::ST_NOATIME | FsFlags::ST_RELATIME) {
        m |= MsFlags::MS_STRICTATIME;
    }
    m
}

/// The steps that put a process into a root, in order.
#[derive(Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// The namespace steps for a process that will run as host `uid`/`gid`
    /// and keep that identity inside.
    pub fn namespaces(uid: u32, gid: u32, switch: bool) -> Vec<Step> {
        let mut steps = Vec::new();
        if switch {
            steps.push(Step::SwitchUser {
                uid: Uid::from_raw(uid),
                gid: Gid::from_raw(gid),
            });
        }
        steps.push(Step::Unshare);
        steps.push(Step::WriteProc {
            path: c"/proc/self/setgroups",
            contents: b"deny".to_vec(),
        });
        steps.push(Step::WriteProc {
            path: c"/proc/self/uid_map",
            contents: format!("{uid} {uid} 1\n").into_bytes(),
        });
        steps.push(Step::WriteProc {
            path: c"/proc/self/gid_map",
            contents: format!("{gid} {gid} 1\n").into_bytes(),
        });
        steps.push(Step::MakePrivate);
        steps
    }

    /// Runs every step; on failure the error's OS code carries the step's
    /// number as well as its errno (see [`Plan::failure`]), since an errno
    /// is all a `pre_exec` child can send back.
    pub fn enter(&self) -> io::Result<()> {
        for (i, step) in self.steps.iter().enumerate() {
            if let Err(errno) = step.apply() {
                return Err(io::Error::from_raw_os_error(
                    ((i as i32 + 1) << 8) | errno as i32,
                ));
            }
        }
        Ok(())
    }

    /// For an error from spawning a command that entered this plan: which
    /// step failed and why, or `None` when the plan succeeded and `exec`
    /// itself failed (the error is then the `exec` errno).
    pub fn failure(&self, e: &io::Error) -> Option<String> {
        let code = e.raw_os_error()?;
        let step = (code >> 8) as usize;
        if step == 0 {
            return None;
        }
        let errno = Errno::from_raw(code & 0xff);
        let hint = match errno {
            Errno::EPERM | Errno::EACCES | Errno::ENOSPC | Errno::EINVAL => {
                "; if user namespaces are restricted here (sysctl \
                 kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns, \
                 user.max_user_namespaces), run as root"
            }
            _ => "",
        };
        Some(format!(
            "entering the root, step {step} of {} failed with {errno} ({}): {:?}{hint}",
            self.steps.len(),
            errno.desc(),
            self.steps.get(step - 1)
        ))
    }
}
