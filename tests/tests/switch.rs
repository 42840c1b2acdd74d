//! One start, one system generation: a `nixos-rebuild switch` flips the
//! system's links while programs start, and a start must not take its
//! ld.so from one generation and a library from the next (with two glibcs,
//! a crash or a `GLIBC_PRIVATE` symbol error).
//!
//! Two generations here, `gen-a` and `gen-b`, each with an `ld.so` and a
//! `libgen.so` of its own, and a thread that flips the links between them
//! as fast as it can while a program starts again and again and says which
//! generation each file came from. Through a loader that reaches both
//! through a flipping `current` link (the compiled-in default's way, and
//! the session variables'), starts mix generations; through the configured
//! loader of each generation, installed behind a flipping link as NixOS
//! installs the interpreter, none does.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use rld_tests::*;

const STARTS: usize = 2000;

/// Points `link` at `target` in one step (a rename over it), as a switch
/// does.
fn flip(link: &Path, target: &Path) {
    let tmp = link.with_extension("new");
    let _ = fs::remove_file(&tmp);
    symlink(target, &tmp).unwrap();
    fs::rename(&tmp, link).unwrap();
}

/// Runs `prog` `STARTS` times while the links flip; returns the number of
/// starts that mixed generations, and panics on any start that failed.
fn mixed_starts(prog: &Path, links: &[(&Path, [&Path; 2])]) -> usize {
    let stop = AtomicBool::new(false);
    let outcomes = thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                for (link, targets) in links {
                    flip(link, targets[i % 2]);
                }
                i += 1;
            }
        });
        let outcomes: Vec<Outcome> = (0..STARTS)
            .map(|_| run(prog, &[] as &[&str], &[]))
            .collect();
        stop.store(true, Ordering::Relaxed);
        outcomes
    });
    let mut mixed = 0;
    for o in &outcomes {
        assert_eq!(o.code, Some(0), "a start failed: {o:#?}");
        let ldso = o.value("ldso");
        assert!(["a", "b"].contains(&ldso.as_str()), "{o:#?}");
        if ldso != o.value("libgen") {
            mixed += 1;
        }
    }
    mixed
}

#[test]
fn a_start_never_mixes_two_generations() {
    // A fixed place, so that the loader built with a prefix inside it is
    // built once.
    let root = shared_dir().join("switch");
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    let gens = ["a", "b"].map(|g| root.join(format!("gen-{g}")));
    for (generation, name) in gens.iter().zip(["a", "b"]) {
        let lib = generation.join("lib");
        fs::create_dir_all(&lib).unwrap();
        fs::copy(SYSTEM_LD_SO, lib.join("ld.so")).unwrap();
        compile(
            "cc",
            &["gen.c"],
            &lib.join("libgen.so"),
            &["-shared", "-fPIC", &format!("-DGEN=\"{name}\"")],
        );
        configure_loader(
            &loader(Default::Missing).path,
            lib.join("ld.so").to_str().unwrap(),
            lib.to_str().unwrap(),
            &generation.join("loader"),
        );
    }
    let current = root.join("current");
    let interp = root.join("interp");
    flip(&current, &gens[0]);
    flip(&interp, &gens[0].join("loader"));
    let dir = TempDir::new("switch");
    let l = format!("-L{}", gens[0].join("lib").display());

    // Through /…/current, as the compiled-in default and the session
    // variables reach the system's ld.so and libraries.
    let through_current = build(None, "switch", &current);
    let old = dir.join("old");
    fs::create_dir_all(&old).unwrap();
    let prog = compile(
        "cc",
        &["generation.c"],
        &old.join("generation"),
        &[
            &format!("-Wl,--dynamic-linker={}", through_current.display()),
            &l,
            "-lgen",
        ],
    );
    let mixed = mixed_starts(&prog, &[(&current, [&gens[1], &gens[0]])]);
    assert!(
        mixed > 0,
        "the control never mixed generations in {STARTS} starts: the test cannot tell"
    );
    eprintln!("through a flipping link: {mixed} of {STARTS} starts mixed generations");

    // Through each generation's configured loader, behind a flipping link.
    let prog = compile(
        "cc",
        &["generation.c"],
        &dir.join("generation"),
        &[
            &format!("-Wl,--dynamic-linker={}", interp.display()),
            &l,
            "-lgen",
        ],
    );
    let loaders = gens.clone().map(|g| g.join("loader"));
    let mixed = mixed_starts(
        &prog,
        &[
            (&interp, [&loaders[1], &loaders[0]]),
            (&current, [&gens[1], &gens[0]]),
        ],
    );
    assert_eq!(
        mixed, 0,
        "configured loaders: {mixed} of {STARTS} starts mixed generations"
    );
}
