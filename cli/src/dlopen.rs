//! Libraries a program may load at run time with `dlopen`, which
//! `DT_NEEDED` does not show: graphics (libGL, libvulkan), sound (libasound,
//! libpulse), devices (libudev), the GPU driver's (libcuda).
//!
//! A program that dlopens a library names it in a string constant, so rld
//! looks for the sonames of a known list in the file's read-only data (the
//! read-only sections, or the read-only, non-executable segments of a file
//! without section headers), reading at most [`MAX_SCAN`] bytes. A soname
//! found there that is not in `DT_NEEDED`, not loaded anyway and not found
//! by the library search is a hint: the program may fail, or lose a feature,
//! when it tries to load it. Hints never change the verdict or the exit
//! status: a name in a string is not proof that the program needs it.

use std::fmt::Write;
use std::fs;
use std::path::Path;

use goblin::elf::program_header::{PF_W, PF_X, PT_LOAD};
use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_PROGBITS};
use serde::Serialize;

use crate::elfread::Pieces;
use crate::inspect::ElfFacts;
use crate::nixpkgs::{self, Provider};
use crate::report::Report;
use crate::search::{self, SearchPath};
use crate::settings::{Env, Settings};
use crate::system::System;

/// Sonames programs commonly load with `dlopen`. Each has an entry in
/// `sonames.tsv` (a test checks it).
pub const KNOWN: &[&str] = &[
    // Graphics and the GPU driver.
    "libGL.so.1",
    "libEGL.so.1",
    "libGLX.so.0",
    "libOpenGL.so.0",
    "libGLESv2.so.2",
    "libvulkan.so.1",
    "libcuda.so.1",
    "libnvidia-ml.so.1",
    "libcudart.so.12",
    "libcublas.so.12",
    "libcudnn.so.9",
    "libgbm.so.1",
    "libdrm.so.2",
    "libva.so.2",
    "libva-drm.so.2",
    "libvdpau.so.1",
    // Windows, input, desktop.
    "libX11.so.6",
    "libX11-xcb.so.1",
    "libXcursor.so.1",
    "libXrandr.so.2",
    "libXi.so.6",
    "libXinerama.so.1",
    "libXext.so.6",
    "libXss.so.1",
    "libxkbcommon.so.0",
    "libxkbcommon-x11.so.0",
    "libwayland-client.so.0",
    "libwayland-cursor.so.0",
    "libwayland-egl.so.1",
    "libdecor-0.so.0",
    "libgtk-3.so.0",
    "libnotify.so.4",
    "libsecret-1.so.0",
    "libappindicator3.so.1",
    "libayatana-appindicator3.so.1",
    "libdbus-1.so.3",
    "libfontconfig.so.1",
    "libfreetype.so.6",
    "libSDL2-2.0.so.0",
    "libcups.so.2",
    // Sound.
    "libasound.so.2",
    "libpulse.so.0",
    "libpulse-simple.so.0",
    "libpipewire-0.3.so.0",
    "libjack.so.0",
    // Devices and the system.
    "libudev.so.1",
    "libusb-1.0.so.0",
    "libpcsclite.so.1",
    "libsystemd.so.0",
    // Crypto and network, dlopened by .NET and others.
    "libssl.so.3",
    "libcrypto.so.3",
    "libssl.so.1.1",
    "libcrypto.so.1.1",
    "libgssapi_krb5.so.2",
];

/// At most this many bytes of one file are scanned (a Chromium-based
/// program has about 20 MiB of read-only data).
pub const MAX_SCAN: u64 = 128 << 20;

/// Where the graphics driver provides GPU libraries for programs of
/// `system` (the host's when `None`), and the setting that puts that
/// directory in rld's library path. When the hint shows, the directory is
/// not in the path searched: graphics are off, `graphicsDrivers` is, or a
/// variable replaced the loader's configured path (a dev shell).
pub fn gpu_hint(system: Option<&System>) -> String {
    let system = system.unwrap_or(System::host());
    if !system.runs_here() {
        return format!(
            "a GPU library: this machine's graphics driver is built for {}, so an emulated {} program cannot load it, and rld adds no driver directory for emulated systems",
            System::host().nix,
            system.nix
        );
    }
    let (dir, graphics, rld, var) = if system == System::host() {
        (
            "/run/opengl-driver/lib",
            "hardware.graphics.enable = true;",
            "programs.rld.graphicsDrivers",
            "NIX_LD_LIBRARY_PATH",
        )
    } else {
        (
            "/run/opengl-driver-32/lib",
            "hardware.graphics.enable32Bit = true;",
            "programs.rld.graphicsDrivers with programs.rld.enable32Bit = true;",
            "NIX_LD_LIBRARY_PATH_i686_linux (or NIX_LD_LIBRARY_PATH)",
        )
    };
    format!(
        "a GPU library: the graphics driver provides it in {dir} with {graphics} rld's library path holds that directory with {rld} (on by default with graphics), unless {var} replaces that path: then add the directory to it"
    )
}

/// A library that may be loaded at run time and is not found.
#[derive(Debug, Clone, Serialize)]
pub struct Hint {
    pub soname: String,
    /// The files whose read-only data names it.
    pub named_by: Vec<String>,
    pub providers: Vec<Provider>,
    /// A GPU library, which the graphics driver provides.
    pub gpu: bool,
    /// The system of the files that name it, whose driver directory the
    /// GPU hint names (the first file's, in a tree).
    #[serde(skip)]
    pub system: Option<&'static System>,
}

/// Whether `soname` comes with the graphics driver (GL, EGL, GLX, Vulkan,
/// CUDA, NVIDIA's).
pub fn is_gpu(soname: &str) -> bool {
    [
        "libGL.",
        "libGLX",
        "libEGL",
        "libGLES",
        "libOpenGL",
        "libvulkan",
        "libcuda.",
        "libnvidia",
    ]
    .iter()
    .any(|p| soname.starts_with(p))
}

/// The sonames of [`KNOWN`] in the read-only data of the ELF file at `path`,
/// in the list's order. Unreadable or damaged parts count as no names.
pub fn scan(path: &Path) -> Vec<&'static str> {
    let Ok(file) = Pieces::open(path) else {
        return vec![];
    };
    let mut named = vec![false; KNOWN.len()];
    let mut budget = MAX_SCAN;
    for (offset, size) in read_only_ranges(&file) {
        let size = size.min(budget);
        budget -= size;
        scan_range(&file, offset, size, &mut named);
    }
    KNOWN
        .iter()
        .zip(named)
        .filter_map(|(s, n)| n.then_some(*s))
        .collect()
}

/// Where the file's read-only data lies: its allocated, read-only,
/// non-executable `PROGBITS` sections (`.rodata`, …), or, without section
/// headers, its read-only, non-executable `PT_LOAD` segments.
fn read_only_ranges(file: &Pieces) -> Vec<(u64, u64)> {
    let Ok((header, ctx)) = file.header() else {
        return vec![];
    };
    let sections = file.section_headers(&header, ctx).unwrap_or_default();
    let ranges: Vec<(u64, u64)> = sections
        .iter()
        .filter(|sh| {
            sh.sh_type == SHT_PROGBITS
                && sh.sh_flags & u64::from(SHF_ALLOC) != 0
                && sh.sh_flags & u64::from(SHF_WRITE | SHF_EXECINSTR) == 0
        })
        .map(|sh| (sh.sh_offset, sh.sh_size))
        .collect();
    if !ranges.is_empty() {
        return ranges;
    }
    file.program_headers(&header, ctx)
        .unwrap_or_default()
        .iter()
        .filter(|ph| ph.p_type == PT_LOAD && ph.p_flags & (PF_X | PF_W) == 0)
        .map(|ph| (ph.p_offset, ph.p_filesz))
        .collect()
}

/// Marks in `named` each soname of [`KNOWN`] in the `size` bytes at
/// `offset`, read in chunks that overlap by the longest name.
fn scan_range(file: &Pieces, offset: u64, size: u64, named: &mut [bool]) {
    const CHUNK: u64 = 4 << 20;
    let overlap = KNOWN.iter().map(|s| s.len()).max().unwrap_or(0) as u64;
    let finder = memchr::memmem::Finder::new(b".so.");
    let end = offset.saturating_add(size).min(file.len());
    let mut at = offset;
    while at < end {
        let len = CHUNK.min(end - at);
        let Ok(chunk) = file.read("read-only data", at, len) else {
            return;
        };
        for i in finder.find_iter(&chunk) {
            for (k, soname) in KNOWN.iter().enumerate() {
                if !named[k] && names_at(&chunk, i, soname) {
                    named[k] = true;
                }
            }
        }
        if at + len >= end {
            break;
        }
        at += len - overlap.min(len - 1);
    }
}

/// Whether `soname` is in `bytes` with its `.so.` at `dot`, as a whole
/// name: not the tail of a longer name (`mylibGL.so.1`) nor the head of a
/// longer version (`libGL.so.1.7.0`, `libGL.so.10`).
fn names_at(bytes: &[u8], dot: usize, soname: &str) -> bool {
    let Some(k) = soname.find(".so.") else {
        return false;
    };
    let Some(start) = dot.checked_sub(k) else {
        return false;
    };
    let end = start + soname.len();
    if end > bytes.len() || &bytes[start..end] != soname.as_bytes() {
        return false;
    }
    let before_ok = start == 0 || {
        let b = bytes[start - 1];
        !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let after_ok = end == bytes.len() || {
        let b = bytes[end];
        !(b.is_ascii_digit() || b == b'.')
    };
    before_ok && after_ok
}

/// The search path the report's libraries were resolved with.
pub fn search_path_of(r: &Report, env: &Env, facts: &ElfFacts) -> Option<SearchPath> {
    let system = facts.system()?;
    let ld_so = r.ld_so.as_ref().and_then(|l| l.path.clone());
    let library_path = match (&r.settings, r.resolved_as?) {
        (Some(s), "rld") => s.search_path(),
        // Resolved as its own ld.so runs it: the user's LD_LIBRARY_PATH only.
        _ => Settings::resolve(env, system)
            .search_path()
            .into_iter()
            .filter(|(_, label)| *label == "LD_LIBRARY_PATH")
            .collect(),
    };
    let default_dirs = ld_so
        .as_ref()
        .and_then(|p| fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .into_iter()
        .collect();
    Some(SearchPath {
        library_path,
        default_dirs,
        ld_so,
    })
}

/// The sonames `path` may load at run time that are not found, as the
/// library search of its report `r` would look for them. Empty when the
/// report resolved no libraries (not a dynamic ELF file for this machine).
pub fn unfound(path: &Path, r: &Report, env: &Env) -> Vec<&'static str> {
    let Some(facts) = &r.elf else {
        return vec![];
    };
    let (Some(system), Some(search)) = (facts.system(), search_path_of(r, env, facts)) else {
        return vec![];
    };
    scan(path)
        .into_iter()
        .filter(|s| !facts.needed.iter().any(|n| n == s))
        // Loaded anyway, or already reported missing.
        .filter(|s| !r.libraries.iter().any(|l| l.soname == *s))
        .filter(|s| search::find_one(path, facts, system, &search, s).is_none())
        .collect()
}

/// Hints for one file: [`unfound`] with the packages of each soname.
pub fn hints(path: &Path, r: &Report, env: &Env, locate: bool) -> Vec<Hint> {
    unfound(path, r, env)
        .into_iter()
        .map(|s| Hint {
            soname: s.to_owned(),
            named_by: vec![r.program.clone()],
            providers: nixpkgs::providers(s, locate),
            gpu: is_gpu(s),
            system: r.elf.as_ref().and_then(ElfFacts::system),
        })
        .collect()
}

/// The hints for people: a heading and one line each, or nothing.
pub fn render(hints: &[Hint]) -> String {
    let mut o = String::new();
    if hints.is_empty() {
        return o;
    }
    let _ = writeln!(
        o,
        "\nmay be loaded at run time (dlopen; named in the program's data, not found; hints that do not change the verdict):"
    );
    let width = hints.iter().map(|h| h.soname.len()).max().unwrap_or(0);
    for h in hints {
        let providers: Vec<String> = h
            .providers
            .iter()
            .map(|p| match p {
                Provider::Attribute { attribute, from } => format!("{attribute} ({from})"),
                Provider::Note { note } => note.clone(),
            })
            .collect();
        let providers = if providers.is_empty() {
            "no known package".to_owned()
        } else {
            providers.join(" or ")
        };
        let _ = writeln!(
            o,
            "  {:width$}  named by {} -> {providers}",
            h.soname,
            shorten(&h.named_by, 3)
        );
        if h.gpu {
            let _ = writeln!(o, "  {:width$}  {}", "", gpu_hint(h.system));
        }
    }
    o
}

/// The first `n` of `names`, and how many more.
pub fn shorten(names: &[String], n: usize) -> String {
    if names.len() <= n {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..n].join(", "), names.len() - n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each system's GPU hint names its own driver directory and options.
    #[test]
    fn the_gpu_hint_names_each_systems_directory_and_options() {
        if System::host().nix != "x86_64-linux" {
            return;
        }
        let by = |n| System::by_name(n);
        let host = gpu_hint(None);
        assert_eq!(host, gpu_hint(by("x86_64-linux")));
        assert!(host.contains("/run/opengl-driver/lib with hardware.graphics.enable = true; rld's library path holds that directory with programs.rld.graphicsDrivers"), "{host}");
        let i686 = gpu_hint(by("i686-linux"));
        assert!(
            i686.contains("/run/opengl-driver-32/lib with hardware.graphics.enable32Bit = true;"),
            "{i686}"
        );
        assert!(i686.contains("programs.rld.enable32Bit = true;"), "{i686}");
        assert!(i686.contains("NIX_LD_LIBRARY_PATH_i686_linux"), "{i686}");
        let aarch64 = gpu_hint(by("aarch64-linux"));
        assert!(
            aarch64.contains(
                "built for x86_64-linux, so an emulated aarch64-linux program cannot load it"
            ),
            "{aarch64}"
        );
        assert!(!aarch64.contains("/run/opengl-driver"), "{aarch64}");
    }

    #[test]
    fn every_known_soname_has_a_package_or_a_note() {
        for s in KNOWN {
            assert!(nixpkgs::lookup(s).is_some(), "{s} is not in sonames.tsv");
        }
    }

    #[test]
    fn whole_names_only() {
        let hit = |bytes: &[u8], name: &str| {
            memchr::memmem::find_iter(bytes, b".so.").any(|i| names_at(bytes, i, name))
        };
        assert!(hit(b"\0libGL.so.1\0", "libGL.so.1"));
        assert!(hit(b"libGL.so.1", "libGL.so.1"));
        assert!(hit(b"/usr/lib/libvulkan.so.1\0x", "libvulkan.so.1"));
        // Rust and Go pack strings without a NUL between them.
        assert!(hit(b"libasound.so.2libpulse.so.0", "libasound.so.2"));
        assert!(!hit(b"libGL.so.1.7.0", "libGL.so.1"));
        assert!(!hit(b"libGL.so.10", "libGL.so.1"));
        assert!(!hit(b"mylibGL.so.1", "libGL.so.1"));
        assert!(!hit(b"libGL.so.", "libGL.so.1"));
    }

    #[test]
    fn gpu_libraries() {
        assert!(is_gpu("libGL.so.1") && is_gpu("libGLX.so.0") && is_gpu("libEGL.so.1"));
        assert!(is_gpu("libvulkan.so.1") && is_gpu("libcuda.so.1") && is_gpu("libnvidia-ml.so.1"));
        assert!(!is_gpu("libGLU.so.1") && !is_gpu("libcudart.so.12") && !is_gpu("libasound.so.2"));
    }

    #[test]
    fn a_name_across_chunks_is_found() {
        let dir = std::env::temp_dir().join(format!("rld-dlopen-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("data");
        let mut bytes = vec![0u8; (4 << 20) - 5];
        bytes.extend_from_slice(b"libudev.so.1\0");
        fs::write(&p, &bytes).unwrap();
        let file = Pieces::open(&p).unwrap();
        let mut named = vec![false; KNOWN.len()];
        scan_range(&file, 0, file.len(), &mut named);
        let k = KNOWN.iter().position(|s| *s == "libudev.so.1").unwrap();
        assert!(named[k]);
        assert_eq!(named.iter().filter(|n| **n).count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
