//! Link flags that make rld-loader a static-pie with no C start-up code and
//! no libc. They apply to this binary alone, so the rest of the workspace
//! links normally. `--icf=all` folds identical functions (48 bytes on
//! x86_64): nothing in the loader compares function addresses but those of
//! `_start` and the trampoline, which are unlike any other.

fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    println!("cargo:rerun-if-changed=link.ld");
    if os != "linux" {
        return;
    }
    if arch != "x86_64" {
        // The other targets link with rust-lld (.cargo/config.toml), which
        // takes its arguments directly.
        for arg in [
            "-pie",
            "--no-dynamic-linker",
            "-z",
            "text",
            "--gc-sections",
            "--build-id=none",
            "-z",
            "noexecstack",
            "-z",
            "norelro",
            "--hash-style=gnu",
            "-z",
            "pack-relative-relocs",
            "-e",
            "_start",
            "--no-eh-frame-hdr",
            "--icf=all",
        ] {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
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
        "-Wl,-z,pack-relative-relocs",
        "-Wl,-e,_start",
        "-Wl,--no-eh-frame-hdr",
        "-Wl,--icf=all",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{dir}/link.ld");
}
