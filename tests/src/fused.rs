//! The fused interpreter (`rld fuse`, rld-loader's `fused` feature): a
//! loader built with the feature, and fused copies of it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::{Default, shared_dir};

/// rld-loader built with the `fused` feature, with the compiled-in default
/// `default` has (see [`crate::loader`]); built once per process.
pub fn loader(default: Default) -> &'static Path {
    static MISSING: OnceLock<PathBuf> = OnceLock::new();
    static PRESENT: OnceLock<PathBuf> = OnceLock::new();
    let (cell, name) = match default {
        Default::Missing => (&MISSING, "missing"),
        Default::Present => (&PRESENT, "present"),
    };
    cell.get_or_init(|| {
        // The same prefix as the plain build's, laid out by it.
        let prefix = &crate::loader(default).prefix;
        crate::build_with_features(None, &format!("fused-{name}"), prefix, &["fused"])
    })
}

/// rld-loader built with the `fused` feature and the NixOS default prefix,
/// for the NixOS-like root.
pub fn nixos_loader() -> &'static Path {
    static LOADER: OnceLock<PathBuf> = OnceLock::new();
    LOADER.get_or_init(|| {
        crate::build_with_features(
            None,
            "fused-nixos",
            Path::new(crate::root::DEFAULT_PREFIX),
            &["fused"],
        )
    })
}

/// `loader` fused as `rld fuse` fuses it: `ld_so_file`'s bytes embedded,
/// `ld_so` (the path the loader compares) and `library_path` as its
/// defaults; written to `to`.
pub fn fuse(
    loader: &Path,
    ld_so: &str,
    ld_so_file: &Path,
    library_path: &str,
    to: &Path,
) -> PathBuf {
    let fused = rld::fuse::fuse(
        &fs::read(loader).unwrap(),
        ld_so.as_bytes(),
        &fs::read(ld_so_file).unwrap(),
        library_path.as_bytes(),
    )
    .unwrap_or_else(|e| panic!("fusing {} with {ld_so}: {e:?}", loader.display()));
    fs::write(to, fused).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).unwrap();
    to.to_path_buf()
}

/// The system calls `program` makes (names only, in order), run under
/// strace with exactly `env`, from the first after its `execve` on. Its
/// output goes nowhere.
pub fn system_calls(program: &Path, env: &[(&str, &str)]) -> Vec<String> {
    let log = shared_dir().join(format!(
        "strace-{}-{}",
        std::process::id(),
        program.file_name().unwrap().to_string_lossy()
    ));
    let mut cmd = std::process::Command::new("strace");
    cmd.arg("-qq").arg("-o").arg(&log).arg(program).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = crate::outcome(cmd);
    assert_eq!(o.code, Some(0), "strace {}: {o:#?}", program.display());
    let text = fs::read_to_string(&log).unwrap();
    let _ = fs::remove_file(&log);
    let calls: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once('(').map(|(name, _)| name.to_owned()))
        .collect();
    assert_eq!(calls.first().map(String::as_str), Some("execve"), "{text}");
    calls[1..].to_vec()
}
