//! Link flags that make rld-loader a static-pie with no C start-up code and
//! no libc. They apply to this binary alone, so the rest of the workspace
//! links normally.

fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    // Other targets link with rust-lld, configured in .cargo/config.toml.
    if os != "linux" || env != "gnu" || arch != "x86_64" {
        return;
    }
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static-pie",
        "-Wl,--gc-sections",
        "-Wl,--build-id=none",
        "-Wl,-z,noexecstack",
        "-Wl,-z,norelro",
        "-Wl,-z,noseparate-code",
        "-Wl,--hash-style=gnu",
        "-Wl,-e,_start",
        "-Wl,--no-eh-frame-hdr",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    println!("cargo:rerun-if-changed=discard.ld");
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{dir}/discard.ld");
}
