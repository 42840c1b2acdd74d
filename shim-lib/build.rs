//! Bakes the compiled-in default prefix into the crate.
//!
//! `RLD_DEFAULT_PREFIX` lets a distribution (or a test) choose where the
//! default `ld.so` and library directory live; NixOS uses the default below.

fn main() {
    println!("cargo:rerun-if-env-changed=RLD_DEFAULT_PREFIX");
    let prefix = std::env::var("RLD_DEFAULT_PREFIX")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/run/current-system/sw/share/rld".to_owned());
    if !prefix.starts_with('/') || prefix.contains('\0') || prefix.contains(':') {
        panic!("RLD_DEFAULT_PREFIX must be an absolute path without ':' or NUL, got {prefix:?}");
    }
    let prefix = prefix.trim_end_matches('/');
    println!("cargo:rustc-env=RLD_PREFIX={prefix}");
}
