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
    let script = link_script(&dir);
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
        println!("cargo:rustc-link-arg-bins=-T{script}");
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
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{script}");
}

/// The link script: link.ld as it is, or, with the `fused` feature, with
/// spare `PT_NULL` program headers that `rld fuse` turns into the embedded
/// `ld.so`'s `PT_LOAD`s (their number is rld_shim::fused::SPARE_PHDRS,
/// which the fuse step checks). Both linkers emit a declared segment that
/// no section goes to.
fn link_script(dir: &str) -> String {
    let path = format!("{dir}/link.ld");
    if std::env::var_os("CARGO_FEATURE_FUSED").is_none() {
        return path;
    }
    let text = std::fs::read_to_string(&path).expect("reading link.ld");
    let stack = "  stack   PT_GNU_STACK FLAGS(6);\n";
    assert!(
        text.contains(stack),
        "link.ld: no PT_GNU_STACK line to add spare headers after"
    );
    let spare: String = (0..6).map(|i| format!("  spare{i}  PT_NULL;\n")).collect();
    // The writable segment from a page boundary: its words, the bss and the
    // configuration payload then share one page, and the relocations and
    // the payload cost one page fault, not two. Padding in the file costs
    // nothing that counts: the fused file holds a whole ld.so anyway.
    let data = ". = ALIGN(CONSTANT(MAXPAGESIZE)) + (. & (CONSTANT(MAXPAGESIZE) - 1));";
    assert!(
        text.contains(data),
        "link.ld: no data segment placement to change"
    );
    let text = text.replace(data, ". = ALIGN(CONSTANT(MAXPAGESIZE));");
    let out =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("link-fused.ld");
    std::fs::write(&out, text.replace(stack, &format!("{stack}{spare}")))
        .expect("writing link-fused.ld");
    out.display().to_string()
}
