//! `rld doctor` on whole trees and several paths, and the run-time library
//! hints, against compiled fixtures.

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::{World, cc, rld, world};

/// An unpacked app, under the shared world:
///
/// ```text
/// app/bin/app           NEEDED libshipped.so.1 (RUNPATH $ORIGIN/../lib), libz.so.1
/// app/bin/vk            dlopen("libvulkan.so.1")
/// app/lib/libshipped.so.1
/// app/lib-link -> lib   the same directory again
/// app/node_modules/addon/build/Release/x.node   NEEDED libmissing.so.3
/// app/node_modules/addon/up -> ../..            a directory loop
/// app/arm/tool          an aarch64 program
/// app/loop -> loop      a symlink loop
/// app/README.md, app/package.json
/// ```
///
/// and `vulkan/libvulkan.so.1`, a library of that name.
fn app(w: &World) -> &'static Path {
    static APP: OnceLock<PathBuf> = OnceLock::new();
    APP.get_or_init(|| build_app(w))
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn build_app(w: &World) -> PathBuf {
    let app = w.path("app");
    for d in ["bin", "lib", "node_modules/addon/build/Release", "arm"] {
        fs::create_dir_all(app.join(d)).unwrap();
    }
    fs::create_dir_all(w.path("vulkan")).unwrap();
    let so = "-shared -fPIC";
    cc(
        &w.root,
        &format!(
            "{so} -Wl,-soname,libshipped.so.1 {} -o app/lib/libshipped.so.1",
            fixture("found.c")
        ),
    );
    cc(
        &w.root,
        &format!(
            "{} -o app/bin/app -Lapp/lib -Lzlib -Wl,--no-as-needed -l:libshipped.so.1 -l:libz.so.1 \
             -Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib",
            fixture("app.c")
        ),
    );
    cc(
        &w.root,
        &format!(
            "{so} {} -o app/node_modules/addon/build/Release/x.node -Lstub -Wl,--no-as-needed -l:libmissing.so.3",
            fixture("found.c")
        ),
    );
    cc(&w.root, &format!("{} -o app/bin/vk", fixture("dlopen.c")));
    // An aarch64 program: from the cross compiler when there is one, else
    // this machine's program relabelled (e_machine at offset 18).
    let cross = Command::new("aarch64-linux-gnu-gcc")
        .arg(fixture("hello.c"))
        .arg("-o")
        .arg(app.join("arm/tool"))
        .status()
        .is_ok_and(|s| s.success());
    if !cross {
        let mut bytes = fs::read(app.join("bin/vk")).unwrap();
        bytes[18..20].copy_from_slice(&183u16.to_le_bytes());
        fs::write(app.join("arm/tool"), bytes).unwrap();
    }
    fs::write(app.join("README.md"), "# app\n").unwrap();
    fs::write(app.join("package.json"), "{\"name\": \"app\"}\n").unwrap();
    symlink("lib", app.join("lib-link")).unwrap();
    symlink("../..", app.join("node_modules/addon/up")).unwrap();
    symlink("loop", app.join("loop")).unwrap();
    fs::copy(w.path("zlib/libz.so.1"), w.path("vulkan/libvulkan.so.1")).unwrap();
    app
}

#[test]
fn a_tree_is_reported_as_one_union() {
    let w = world();
    let app = app(w).display().to_string();
    let out = rld(["doctor", "--rld", &app])
        .nixos(w, &[])
        .binfmt_misc("")
        .run();
    out.code(1)
        .has(&format!("{app}: a directory of 7 files, 5 of them ELF\n"))
        .has("ELF files: 4 examined (2 programs, 2 shared objects), 1 for another machine\n")
        .has("\nlibraries: 2 missing\n")
        .row(&[
            "libz.so.1 ",
            &format!("MISSING, needed by {app}/bin/app -> zlib (rld's table)"),
        ])
        .row(&[
            "libmissing.so.3 ",
            &format!(
                "MISSING, needed by {app}/node_modules/addon/build/Release/x.node -> no known package"
            ),
        ])
        .row(&[
            "note: 1 ELF file is for another machine, not counted: ",
            &format!("{app}/arm/tool (64-bit aarch64)"),
        ])
        .row(&[
            "note: 1 file was left out: ",
            &format!("{app}/loop (a symlink that leads nowhere or into a loop: Too many levels of symbolic links (ELOOP))"),
        ])
        .has("problem: 2 libraries are missing: libz.so.1, libmissing.so.3\n")
        .has("verdict: it will not run until the missing libraries are added (exit 1)\n")
        .has("programs.rld.libraries = options.programs.rld.libraries.default ++ (with pkgs; [ zlib ]);\n")
        .has("NIX_LD_LIBRARY_PATH = pkgs.lib.makeLibraryPath (with pkgs; [ zlib ]);\n")
        .has("No package known for libmissing.so.3")
        .row(&[
            "libvulkan.so.1 ",
            &format!("named by {app}/bin/vk -> vulkan-loader (rld's table)"),
        ])
        .has("hardware.graphics.enable = true;");
    // The library shipped in the tree is found through $ORIGIN.
    assert!(
        !out.stdout
            .lines()
            .any(|l| l.contains("libshipped") && l.contains("MISSING")),
        "{}",
        out.stdout
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn a_tree_in_json() {
    let w = world();
    let app = app(w).display().to_string();
    let out = rld(["doctor", "--json", "--rld", &app])
        .nixos(w, &[])
        .binfmt_misc("")
        .run();
    out.code(1);
    assert_eq!(out.stderr, "");
    let j = out.json();
    assert_eq!(j["verdict"], "needs-libraries");
    assert_eq!(j["exit_code"], 1);
    assert_eq!(j["paths"][0], app);
    assert_eq!(j["files"], 7);
    assert_eq!(j["elf_files"], 5);
    let examined: Vec<&str> = j["examined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    // lib-link is lib again: libshipped.so.1 is examined once; the text
    // files are not examined at all.
    let rel = |p: &str| format!("{app}/{p}");
    assert_eq!(
        examined,
        [
            rel("bin/app"),
            rel("bin/vk"),
            rel("lib/libshipped.so.1"),
            rel("node_modules/addon/build/Release/x.node"),
        ]
    );
    assert_eq!(j["missing"][0]["soname"], "libz.so.1");
    assert_eq!(j["missing"][0]["needed_by"][0], rel("bin/app"));
    assert_eq!(j["missing"][0]["providers"][0]["attribute"], "zlib");
    assert_eq!(j["missing"][1]["soname"], "libmissing.so.3");
    assert_eq!(
        j["missing"][1]["needed_by"][0],
        rel("node_modules/addon/build/Release/x.node")
    );
    assert_eq!(j["missing"][1]["providers"].as_array().unwrap().len(), 0);
    assert_eq!(j["not_for_this_machine"][0]["path"], rel("arm/tool"));
    assert_eq!(j["not_for_this_machine"][0]["why"], "64-bit aarch64");
    assert_eq!(j["skipped"][0]["path"], rel("loop"));
    assert_eq!(j["may_load_at_run_time"][0]["soname"], "libvulkan.so.1");
    assert_eq!(j["may_load_at_run_time"][0]["named_by"][0], rel("bin/vk"));
    assert_eq!(j["may_load_at_run_time"][0]["gpu"], true);
    assert_eq!(j["fix"]["attributes"], serde_json::json!(["zlib"]));
    assert_eq!(j["fix"]["unknown"], serde_json::json!(["libmissing.so.3"]));
}

#[test]
fn a_tree_runs_once_its_libraries_are_on_the_path() {
    let w = world();
    let app = app(w).display().to_string();
    rld(["doctor", "--rld", &app])
        .nixos(w, &["zlib", "stub", "vulkan"])
        .binfmt_misc("")
        .run()
        .code(0)
        .has("\nlibraries: 0 missing\n")
        .has("verdict: it will run (exit 0)\n")
        .lacks("MISSING")
        .lacks("may be loaded at run time");
}

#[test]
fn several_paths_are_one_union_too() {
    let w = world();
    let app = app(w).display().to_string();
    let x_node = format!("{app}/node_modules/addon/build/Release/x.node");
    let out = rld([
        "doctor",
        "--json",
        "--rld",
        &format!("{app}/bin/app"),
        &x_node,
    ])
    .nixos(w, &[])
    .run();
    out.code(1);
    let j = out.json();
    assert_eq!(j["files"], 2);
    assert_eq!(j["missing"][1]["needed_by"][0], x_node);
    // A missing path among several: rld cannot examine it (exit 2).
    let out = rld(["doctor", "--rld", &x_node, &w.s("nowhere")])
        .nixos(w, &[])
        .run();
    out.code(2).has(&format!(
        "problem: cannot read {}: No such file or directory",
        w.s("nowhere")
    ));
}

#[test]
fn one_program_is_one_program() {
    let w = world();
    let dir = w.path("one-program");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(w.path("bin/app"), dir.join("app")).unwrap();
    rld(["doctor", "--rld", &dir.display().to_string()])
        .run()
        .has("ELF files: 1 examined (1 program, 0 shared objects)\n");
}

#[test]
fn trees_without_programs_for_this_machine() {
    let w = world();
    let app = app(w).display().to_string();
    // Only an aarch64 program: nothing here can run (exit 2).
    rld(["doctor", &format!("{app}/arm")])
        .binfmt_misc("")
        .run()
        .code(2)
        .has("problem: none of the 1 ELF files can run on this machine (see the notes)")
        .has("verdict: it cannot run on this machine (exit 2)");
    // With a binfmt_misc handler for aarch64 the kernel starts it, so it
    // is examined, as an aarch64-linux program.
    let out = rld(["doctor", "--no-hints", &format!("{app}/arm")])
        .registered(&[&support::aarch64_registration(
            "qemu-aarch64",
            "/usr/bin/true",
            "F",
        )])
        .run();
    out.has("ELF files: 1 examined (1 program, 0 shared objects)\n")
        .has(
            "/arm/tool: the kernel runs it under emulation: binfmt_misc's handler qemu-aarch64 hands it to /usr/bin/true",
        )
        .lacks("for another machine");
    // No ELF file at all: nothing needs rld (exit 0). A symlink loop alone
    // neither hangs nor crashes.
    let dir = w.path("only-text");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("a.js"), "1\n").unwrap();
    let _ = symlink(".", dir.join("self"));
    let _ = symlink("loop", dir.join("loop"));
    rld(["doctor", &dir.display().to_string()])
        .run()
        .code(0)
        .has("note: no ELF file among 1 file: nothing here needs rld")
        .has("verdict: it will run (exit 0)");
    // An empty directory says so.
    let empty = w.path("empty-dir");
    fs::create_dir_all(&empty).unwrap();
    rld(["doctor", &empty.display().to_string()])
        .run()
        .code(0)
        .has("note: it holds no file at all: nothing to examine");
}

#[test]
fn the_dlopen_hint_on_a_single_program() {
    let w = world();
    let vk = format!("{}/bin/vk", app(w).display());
    let out = rld(["doctor", "--rld", &vk]).nixos(w, &[]).run();
    out.code(0)
        .has("verdict: it will run (exit 0)\n")
        .has("\nmay be loaded at run time (dlopen; named in the program's data, not found; hints that do not change the verdict):\n")
        .row(&["libvulkan.so.1 ", &format!("named by {vk} -> vulkan-loader (rld's table)")])
        .has("a GPU library: the graphics driver provides it in /run/opengl-driver/lib with hardware.graphics.enable = true; \
              rld's library path holds that directory with programs.rld.graphicsDrivers (on by default with graphics), \
              unless NIX_LD_LIBRARY_PATH replaces that path: then add the directory to it\n");
    assert_eq!(out.stderr, "");
    let j = rld(["doctor", "--json", "--rld", &vk])
        .nixos(w, &[])
        .run()
        .json();
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["may_load_at_run_time"][0]["soname"], "libvulkan.so.1");
    assert_eq!(
        j["may_load_at_run_time"][0]["providers"][0]["attribute"],
        "vulkan-loader"
    );
    // Found in the library path: no hint. --no-hints: no scan.
    rld(["doctor", "--rld", &vk])
        .nixos(w, &["vulkan"])
        .run()
        .code(0)
        .lacks("libvulkan");
    let j = rld(["doctor", "--json", "--no-hints", "--rld", &vk])
        .nixos(w, &[])
        .run()
        .json();
    assert!(j.get("may_load_at_run_time").is_none(), "{j}");
}

/// A library of the tree that misses a library fails every file that
/// loads it: the summary names those files too, not only the library that
/// needs it itself (as numpy's modules fail through OpenBLAS when the libz
/// of its bundled gfortran is missing).
///
/// ```text
/// chain-tree/ext/mod.so, mod2.so  NEEDED libmid.so.1 (RUNPATH $ORIGIN/../libs)
/// chain-tree/ext/plain.so         needs nothing of the tree
/// chain-tree/libs/libmid.so.1     NEEDED libmissing.so.3, which is nowhere
/// ```
#[test]
fn the_files_that_load_a_library_missing_one_fail_too() {
    let w = world();
    let tree = w.path("chain-tree");
    for d in ["ext", "libs"] {
        fs::create_dir_all(tree.join(d)).unwrap();
    }
    let so = "-shared -fPIC";
    cc(
        &w.root,
        &format!(
            "{so} -Wl,-soname,libmid.so.1 {} -Lstub -Wl,--no-as-needed -l:libmissing.so.3 -o chain-tree/libs/libmid.so.1",
            fixture("found.c")
        ),
    );
    for m in ["mod", "mod2"] {
        cc(
            &w.root,
            &format!(
                "{so} {} -Lchain-tree/libs -Wl,--no-as-needed -l:libmid.so.1 -Wl,-rpath-link,stub \
                 -Wl,--enable-new-dtags,-rpath,$ORIGIN/../libs -o chain-tree/ext/{m}.so",
                fixture("found.c")
            ),
        );
    }
    cc(
        &w.root,
        &format!("{so} {} -o chain-tree/ext/plain.so", fixture("found.c")),
    );
    let t = tree.display().to_string();
    let out = rld(["doctor", "--no-hints", &t]).nixos(w, &[]).run();
    out.code(1).has(&format!(
        "  libmissing.so.3  MISSING, needed by {t}/libs/libmid.so.1, and through it by 2 more files: \
         {t}/ext/mod.so, {t}/ext/mod2.so -> no known package\n"
    ));
    let j = rld(["doctor", "--json", "--no-hints", &t])
        .nixos(w, &[])
        .run()
        .json();
    let m = &j["missing"][0];
    assert_eq!(m["soname"], "libmissing.so.3");
    assert_eq!(
        m["needed_by"],
        serde_json::json!([format!("{t}/libs/libmid.so.1")])
    );
    assert_eq!(
        m["also_fail"],
        serde_json::json!([format!("{t}/ext/mod.so"), format!("{t}/ext/mod2.so")])
    );
    let examined = j["examined"].as_array().unwrap();
    let plain = examined
        .iter()
        .find(|e| e["path"] == format!("{t}/ext/plain.so").as_str())
        .unwrap();
    assert_eq!(plain["missing"], serde_json::json!([]));
}

/// The note on statically linked programs agrees in number with them.
#[test]
fn statically_linked_programs_are_counted_in_words_that_agree() {
    let w = world();
    let one = w.path("statics/one");
    let two = w.path("statics/two");
    for dir in [&one, &two] {
        fs::create_dir_all(dir).unwrap();
    }
    fs::copy(w.path("bin/static"), one.join("a")).unwrap();
    fs::copy(w.path("bin/static"), two.join("a")).unwrap();
    fs::copy(w.path("bin/static"), two.join("b")).unwrap();
    rld(["doctor", &one.display().to_string()])
        .run()
        .code(0)
        .has(": a directory of 1 file, 1 of them ELF\n")
        .has(&format!(
            "note: 1 program is statically linked and runs as it is, without ld.so or rld: {}/a\n",
            one.display()
        ));
    rld(["doctor", &two.display().to_string()])
        .run()
        .code(0)
        .has("note: 2 programs are statically linked and run as they are, without ld.so or rld: ");
}
