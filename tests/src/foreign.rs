//! Real programs of the other architectures in the NixOS-like root:
//! Debian bookworm's i386 coreutils and python3.11 (interpreter
//! `/lib/ld-linux.so.2`), and CMake and clang-format as aarch64 wheels from
//! PyPI (interpreter `/lib/ld-linux-aarch64.so.1`, run by qemu-user through
//! the root's own binfmt_misc), downloaded by `scripts/fetch-foreign.sh`.
//! Each arch's glibc and libraries sit in store paths of their own, next to
//! the x86_64 store the root always has.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cross::Arch;
use crate::root::{Builder, StorePath, system_path};

/// Where the unpacked i386 packages' tree (`bin/`, `usr/bin/`,
/// `usr/lib/python3.11`) is, as if unpacked from a download.
pub const I386: &str = "/opt/i386";
pub const I386_PYTHON: &str = "/opt/i386/usr/bin/python3.11";
/// The aarch64 CMake wheel's `cmake/data` (`bin/cmake`, `share/`).
pub const CMAKE: &str = "/opt/cmake-aarch64";
/// The aarch64 clang-format wheel's `clang_format/data`.
pub const CLANG_FORMAT: &str = "/opt/clang-format-aarch64";

/// A wheel unpacked by `fetch-foreign.sh`.
#[derive(Debug)]
pub struct Wheel {
    pub version: String,
    pub dir: PathBuf,
}

/// What `scripts/fetch-foreign.sh` unpacked: Debian trees (each holds
/// `lib/`, `usr/`) and wheels.
#[derive(Debug)]
pub struct Downloads {
    pub i386_glibc: PathBuf,
    pub i386_libs: PathBuf,
    pub i386_programs: PathBuf,
    pub arm64_glibc: PathBuf,
    pub arm64_libstdcxx: PathBuf,
    pub cmake: Wheel,
    pub clang_format: Wheel,
}

/// Runs `scripts/fetch-foreign.sh` once per process (see
/// [`crate::root::fetched`]: the tests fail, they are never skipped).
pub fn downloads() -> &'static Downloads {
    static DOWNLOADS: OnceLock<Downloads> = OnceLock::new();
    DOWNLOADS.get_or_init(|| {
        let found = crate::root::fetched("fetch-foreign.sh");
        let get = |name: &str| {
            found
                .get(name)
                .unwrap_or_else(|| panic!("fetch-foreign.sh did not report {name}"))
        };
        let wheel = |name: &str| Wheel {
            version: get(name).version.clone(),
            dir: get(name).dir.clone(),
        };
        Downloads {
            i386_glibc: get("i386-glibc").dir.clone(),
            i386_libs: get("i386-libs").dir.clone(),
            i386_programs: get("i386-programs").dir.clone(),
            arm64_glibc: get("arm64-glibc").dir.clone(),
            arm64_libstdcxx: get("arm64-libstdcxx").dir.clone(),
            cmake: wheel("cmake"),
            clang_format: wheel("clang-format"),
        }
    })
}

/// Debian's glibc for i386, in the store.
pub fn i386_glibc() -> StorePath {
    StorePath::new("glibc-i686-linux-2.36")
}

/// The other i386 libraries (libselinux, libacl, zlib, libssl, ...).
pub fn i386_libs() -> StorePath {
    StorePath::new("debian-bookworm-i686-linux-libs")
}

pub fn arm64_glibc() -> StorePath {
    StorePath::new("glibc-aarch64-linux-2.36")
}

pub fn arm64_libstdcxx() -> StorePath {
    StorePath::new("gcc-aarch64-linux-12-lib")
}

/// The real `ld.so` of `arch` in the store.
pub fn ld_so(arch: Arch) -> String {
    match arch {
        Arch::I686 => i386_glibc().join("lib/ld-linux.so.2"),
        Arch::Aarch64 => arm64_glibc().join("lib/ld-linux-aarch64.so.1"),
        Arch::Riscv64 => panic!("no riscv64 programs are downloaded"),
    }
}

/// The store `lib` directories `arch`'s programs need, joined with `:`.
pub fn library_path(arch: Arch) -> String {
    let paths = match arch {
        Arch::I686 => [i386_glibc(), i386_libs()],
        Arch::Aarch64 => [arm64_glibc(), arm64_libstdcxx()],
        Arch::Riscv64 => panic!("no riscv64 programs are downloaded"),
    };
    paths.map(|p| p.join("lib")).join(":")
}

/// The compiled-in prefix the NixOS module gives `arch`'s loader
/// (`programs.rld.emulatedSystems`, `enable32Bit`).
pub fn default_prefix(arch: Arch) -> String {
    format!("/run/current-system/sw/share/rld-{}-linux", arch.name())
}

/// Adds the downloads to `b`: the i386 tree at [`I386`], the wheels at
/// [`CMAKE`] and [`CLANG_FORMAT`], each arch's libraries in the store, the
/// given loaders at the i386 and aarch64 interpreter paths (none: the paths
/// hold nothing, as on NixOS without rld), and the aarch64 binfmt_misc
/// registration NixOS makes for a static qemu (`F`).
pub fn add(mut b: Builder, i686_loader: Option<&Path>, aarch64_loader: Option<&Path>) -> Builder {
    let d = downloads();
    b = b
        .bind(I386, &d.i386_programs)
        .bind(CMAKE, &d.cmake.dir.join("cmake/data"))
        .bind(CLANG_FORMAT, &d.clang_format.dir.join("clang_format/data"))
        .bind(
            &i386_glibc().join("lib"),
            &d.i386_glibc.join("lib/i386-linux-gnu"),
        )
        .bind(
            &arm64_glibc().join("lib"),
            &d.arm64_glibc.join("lib/aarch64-linux-gnu"),
        )
        .bind(
            &arm64_libstdcxx().join("lib"),
            &d.arm64_libstdcxx.join("usr/lib/aarch64-linux-gnu"),
        );
    // Debian splits the libraries between /lib and /usr/lib; one store
    // path holds them all, file by file, as a Nix build would install them.
    for dir in ["lib/i386-linux-gnu", "usr/lib/i386-linux-gnu"] {
        let dir = d.i386_libs.join(dir);
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if name.contains(".so") && !entry.path().is_dir() {
                b = b.bind(&i386_libs().join(&format!("lib/{name}")), &entry.path());
            }
        }
    }
    if let Some(l) = i686_loader {
        b = b.bind(&format!("/lib/{}", Arch::I686.interp_name()), l);
    }
    if let Some(l) = aarch64_loader {
        b = b.bind(&format!("/lib/{}", Arch::Aarch64.interp_name()), l);
    }
    b.binfmt_misc(&Arch::Aarch64.binfmt_misc("F").unwrap())
}

/// Links `arch`'s store `ld.so` at `lib/ld.so` under its
/// [`default_prefix`] in the system profile, and nothing else: its
/// libraries must come from a library path.
pub fn link_default_ld_so(b: Builder, arch: Arch) -> Builder {
    // /run/current-system/sw is the system profile's store path.
    let at = system_path().join(&format!("share/rld-{}-linux/lib/ld.so", arch.name()));
    b.symlink(&at, &ld_so(arch))
}
