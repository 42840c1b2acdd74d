//! Programs of a system this machine runs only under emulation (aarch64 on
//! x86_64): what `rld doctor`, `rld run` and `rld env` say, in a binfmt_misc
//! instance of the test's own, with no handler, a disabled one, a missing
//! emulator, and one that runs them.

mod support;

use support::{BINFMT_MISC, aarch64_registration, rld, world};

/// The aarch64 program that names `/lib/ld-linux-aarch64.so.1`.
const PROGRAM: &str = "bin/aarch64-std";

#[test]
fn without_a_handler_it_cannot_run_and_the_fix_sets_up_emulation_and_rld() {
    let w = world();
    let out = rld(["doctor", "--no-hints", &w.s(PROGRAM)])
        .binfmt_misc("")
        .run();
    out.code(2)
        .has("problem: it is built for 64-bit aarch64, and this machine's kernel runs x86_64-linux and i686-linux programs natively, \
              and aarch64-linux programs run here only under emulation, which is not set up (no binfmt_misc handler matches it); \
              fix: set boot.binfmt.emulatedSystems = [ \"aarch64-linux\" ]; in configuration.nix; \
              with programs.rld.enable = true; that also installs rld at /lib/ld-linux-aarch64.so.1 for aarch64-linux programs \
              (programs.rld.emulatedSystems follows boot.binfmt.emulatedSystems unless it is set: then add \"aarch64-linux\" to it too)\n")
        .has("verdict: it cannot run on this machine (exit 2)\n")
        .lacks("rld does not install one");
    // rld run refuses it with the same sentence, as rld-loader would fail.
    let out = rld(["run", &w.s(PROGRAM)]).binfmt_misc("").run();
    out.code(127);
    assert!(
        out.stderr
            .contains("fix: set boot.binfmt.emulatedSystems = [ \"aarch64-linux\" ];"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_disabled_handler_or_binfmt_misc_is_named_with_the_command_that_enables_it() {
    let w = world();
    let register = format!(
        "printf '%s\\n' '{}' > $B/register",
        aarch64_registration("qemu-aarch64", "/usr/bin/true", "F")
    );
    let out = rld(["doctor", "--no-hints", &w.s(PROGRAM)])
        .binfmt_misc(&format!("{register} && echo 0 > $B/qemu-aarch64"))
        .run();
    out.code(2).has(&format!(
        "binfmt_misc's handler qemu-aarch64 would hand it to /usr/bin/true, but that handler is disabled; \
         fix: enable it as root with `echo 1 > {BINFMT_MISC}/qemu-aarch64`\n"
    ));
    let out = rld(["doctor", "--no-hints", &w.s(PROGRAM)])
        .binfmt_misc(&format!("{register} && echo 0 > $B/status"))
        .run();
    out.code(2).has(&format!(
        "binfmt_misc, which would hand it to an emulator, is disabled as a whole; \
         fix: enable it as root with `echo 1 > {BINFMT_MISC}/status`\n"
    ));
}

/// Without flag F the kernel opens the emulator at each start, in the
/// program's file system.
#[test]
fn a_handler_whose_emulator_is_missing_cannot_start_it() {
    let w = world();
    let out = rld(["doctor", "--no-hints", &w.s(PROGRAM)])
        .registered(&[&aarch64_registration(
            "qemu-aarch64",
            "/nonexistent/qemu-aarch64",
            "",
        )])
        .run();
    out.code(2).has(
        "binfmt_misc's handler qemu-aarch64 hands it to /nonexistent/qemu-aarch64, which does not exist here, \
         so the kernel fails to start it with \"No such file or directory\"",
    );
}

/// With a handler, the program is examined as an aarch64 one: its
/// interpreter is missing, and the fix installs rld for aarch64-linux
/// with the module's option for emulated systems and that system's
/// package set, never the host's.
#[test]
fn with_a_handler_it_is_examined_as_a_program_of_its_own_system() {
    let w = world();
    let out = rld(["doctor", "--no-hints", &w.s(PROGRAM)])
        .registered(&[&aarch64_registration("qemu-aarch64", "/usr/bin/true", "F")])
        .run();
    out.code(1)
        .has("note: the kernel runs it under emulation: binfmt_misc's handler qemu-aarch64 hands it to /usr/bin/true \
              (opened when the handler was registered, flag F); it is examined as a program of aarch64-linux\n")
        .has("interpreter  /lib/ld-linux-aarch64.so.1 MISSING\n")
        .has("problem: /lib/ld-linux-aarch64.so.1 does not exist: the kernel cannot start")
        .has("fix: set programs.rld.enable = true; and programs.rld.emulatedSystems = [ \"aarch64-linux\" ]; \
              (by default the systems of boot.binfmt.emulatedSystems) in configuration.nix")
        .has("In configuration.nix:\n  programs.rld.enable = true;\n  programs.rld.emulatedSystems = [ \"aarch64-linux\" ]; # its default: the systems of boot.binfmt.emulatedSystems\n")
        .has("NIX_LD_aarch64_linux = (import pkgs.path { localSystem.system = \"aarch64-linux\"; }).stdenv.cc.bintools.dynamicLinker;")
        .lacks("it is built for")
        .lacks("pkgs.stdenv.cc.bintools.dynamicLinker");
    let j = rld(["doctor", "--json", "--no-hints", &w.s(PROGRAM)])
        .registered(&[&aarch64_registration("qemu-aarch64", "/usr/bin/true", "F")])
        .run()
        .json();
    assert_eq!(j["verdict"], "needs-configuration");
    assert_eq!(j["settings"]["system"], "aarch64_linux");
    assert_eq!(j["interpreter"]["path"], "/lib/ld-linux-aarch64.so.1");
}

/// `rld env --system` for a system this machine emulates names the
/// module's option for it and its own package set; i686 keeps enable32Bit.
#[test]
fn env_for_an_emulated_system_names_its_option_and_package_set() {
    let out = rld(["env", "--system", "aarch64-linux"]).run();
    out.code(1)
        .has("fix: set programs.rld.enable = true; and programs.rld.emulatedSystems = [ \"aarch64-linux\" ];")
        .has("or in a dev shell set NIX_LD_aarch64_linux = (import pkgs.path { localSystem.system = \"aarch64-linux\"; }).stdenv.cc.bintools.dynamicLinker;")
        .lacks("pkgs.stdenv.cc.bintools.dynamicLinker");
    let out = rld(["env", "--system", "i686-linux"]).run();
    out.code(1)
        .has("fix: set programs.rld.enable = true; and programs.rld.enable32Bit = true; in configuration.nix")
        .has("NIX_LD_i686_linux = pkgs.pkgsi686Linux.stdenv.cc.bintools.dynamicLinker;");
}

/// Where binfmt_misc cannot be read (not mounted here, as in a container
/// whose host may still have handlers), doctor says it cannot tell, and
/// gives the fix only for the case that emulation is not set up.
#[test]
fn unreadable_binfmt_misc_is_said_to_be_unknown() {
    let w = world();
    let out = rld(["doctor", "--no-hints", &w.s(PROGRAM)])
        .binfmt_misc("mount -t tmpfs none $B")
        .run();
    out.code(2).has(&format!(
        "aarch64-linux programs run here only under emulation; rld cannot tell whether it is set up \
         (binfmt_misc is not mounted at {BINFMT_MISC}); if it is not, fix: set boot.binfmt.emulatedSystems = [ \"aarch64-linux\" ];"
    ));
}
