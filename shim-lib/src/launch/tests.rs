use super::*;
use crate::config::Source;
use crate::libpath::Composition;
use crate::stack::tests::{Fake, H, PROGRAM_ENTRY};
use linux_raw_sys::auxvec::{AT_EXECFN, AT_SECURE};
use std::ffi::CString;

/// Not the program's entry: a start of the program, not of rld-loader.
const LOADER_ENTRY: usize = 0x1000;

/// The plan for a fake stack, with the configuration resolved from its
/// environment as the loader resolves it; `direct` makes `AT_ENTRY` the
/// loader's own. Also returns the index of the first environment word.
fn plan_for(f: &mut Fake, direct: bool) -> (Plan<'_>, usize) {
    let Fake { strings, words } = f;
    let strings: &[CString] = strings;
    let stack = Stack::parse(words, H).unwrap();
    let string = |p| Fake::string(strings, p);
    let mut vars = Vars::default();
    for &p in stack.env() {
        vars.add(string(p));
    }
    let config = Config::from_vars(&vars, is_privileged(&stack));
    let own = if direct { PROGRAM_ENTRY } else { LOADER_ENTRY };
    (plan(&stack, string, &config, &vars, own), stack.env_index())
}

/// A fake program start: `AT_SECURE` 0 and `AT_EXECFN` naming string
/// `execfn` (1 is argv[0]).
fn start(args: &[&str], env: &[&str]) -> Fake {
    Fake::with_aux(
        args,
        env,
        &[(AT_SECURE as usize, 0), (AT_EXECFN as usize, 1)],
    )
}

/// The word lent and the string it points at.
fn lend<'e>(plan: &Plan<'e>) -> (usize, LibraryPath<'e>) {
    match (plan.handover, plan.path_string) {
        (Handover::InPlace { lend: Some(index) }, Some(path)) => (index, path),
        other => panic!("expected a lent word, got {other:?}"),
    }
}

fn head<'p>(plan: &'p Plan<'_>) -> &'p [Arg] {
    match &plan.handover {
        Handover::ByHand { head } => head.args(),
        other => panic!("expected ld.so run by hand, got {other:?}"),
    }
}

fn existing(lp: LibraryPath<'_>) -> &[u8] {
    match lp {
        LibraryPath::Existing(s) => s.to_bytes(),
        other => panic!("expected an existing string, got {other:?}"),
    }
}

#[test]
fn privilege_fails_safe() {
    let secure = |aux: &[(usize, usize)]| {
        let mut f = Fake::with_aux(&["p"], &[], aux);
        is_privileged(&Stack::parse(&mut f.words, H).unwrap())
    };
    assert!(!secure(&[(AT_SECURE as usize, 0)]));
    assert!(secure(&[(AT_SECURE as usize, 1)]));
    assert!(secure(&[]), "no AT_SECURE: assume privileged");
}

#[test]
fn page_size_must_make_sense() {
    let page = |aux: &[(usize, usize)]| {
        let mut f = Fake::with_aux(&["p"], &[], aux);
        page_size(&Stack::parse(&mut f.words, H).unwrap())
    };
    assert_eq!(page(&[(6, 16384)]), 16384);
    assert_eq!(page(&[(6, 4096)]), 4096);
    assert_eq!(page(&[(6, 5000)]), 4096, "not a power of two");
    assert_eq!(page(&[(6, 1024)]), 4096, "too small");
}

#[test]
fn the_users_last_ld_library_path_is_lent_and_kept_first() {
    let mut f = start(
        &["./prog"],
        &[
            "LD_LIBRARY_PATH=/a",
            "NIX_LD_LIBRARY_PATH=/ours",
            "LD_LIBRARY_PATH=/b",
        ],
    );
    let (plan, env) = plan_for(&mut f, false);
    assert_eq!(plan.program, b"./prog");
    assert_eq!(plan.reach, Reach::AfterUsers);
    let (index, path) = lend(&plan);
    assert_eq!(index, env + 2);
    assert_eq!(
        path,
        LibraryPath::Composed(Composition {
            form: Form::Entry,
            user: b"/b",
            ours: b"/ours"
        })
    );
}

#[test]
fn rlds_own_variable_is_lent_and_its_entry_reused() {
    let mut f = start(
        &["./prog"],
        &["HOME=/root", "RLD_LOG=warn", "NIX_LD_LIBRARY_PATH=/ours"],
    );
    let (plan, env) = plan_for(&mut f, false);
    assert_eq!(plan.reach, Reach::UntilEntry);
    let (index, path) = lend(&plan);
    assert_eq!(index, env + 1, "the first of rld's variables");
    assert_eq!(existing(path), b"LD_LIBRARY_PATH=/ours");
    assert_eq!(
        plan.library_path.map(|l| l.source),
        Some(Source::Var("NIX_LD_LIBRARY_PATH"))
    );
}

#[test]
fn underscore_is_lent_for_the_default_path() {
    let mut f = start(
        &["./prog"],
        &["HOME=/root", "_=/usr/bin/prog", "MALLOC_ARENA_MAX=2"],
    );
    let (plan, env) = plan_for(&mut f, false);
    let (index, path) = lend(&plan);
    assert_eq!(index, env + 1);
    assert!(matches!(path, LibraryPath::Existing(s) if core::ptr::eq(s, libpath::DEFAULT_ENTRY)));
}

#[test]
fn without_a_word_to_lend_ld_so_is_run_by_hand() {
    for env in [
        &["HOME=/root", "PATH=/bin"][..],
        &["LD_PRELOAD=/x.so", "GLIBC_TUNABLES=a=b"],
        &["MALLOC_PERTURB_=85"],
        &["LD_BIND_NOW=1"],
        &[],
    ] {
        let mut f = Fake::with_aux(
            &["prog", "arg"],
            env,
            &[(AT_SECURE as usize, 0), (AT_EXECFN as usize, 2)],
        );
        let (plan, _) = plan_for(&mut f, false);
        assert_eq!(plan.program, b"arg", "AT_EXECFN names the program");
        assert_eq!(plan.reach, Reach::AsArgument);
        let default = crate::DEFAULT_LIBRARY_PATH.as_bytes();
        match head(&plan) {
            [
                Arg::Existing(2),
                Arg::Option(argv0),
                Arg::Existing(1),
                Arg::Option(lp),
                Arg::LibraryPath,
                Arg::Existing(2),
            ] => {
                assert_eq!(lp.to_bytes(), b"--library-path");
                assert_eq!(argv0.to_bytes(), b"--argv0");
                assert_eq!(existing(plan.path_string.unwrap()), default, "{env:?}");
            }
            other => panic!("{env:?}: {other:?}"),
        }
    }
}

#[test]
fn run_by_hand_argv0_is_passed_only_when_it_differs_from_the_path() {
    // The third argument stands for the kernel's own copy of the path
    // (AT_EXECFN): equal to argv[0] by content, not by address. No
    // `--argv0` then, so an ld.so older than glibc 2.33 runs it too.
    let mut f = Fake::with_aux(
        &["/bin/prog", "arg", "/bin/prog"],
        &[],
        &[(AT_SECURE as usize, 0), (AT_EXECFN as usize, 3)],
    );
    let (plan, _) = plan_for(&mut f, false);
    assert_eq!(plan.reach, Reach::AsArgument);
    match head(&plan) {
        [
            Arg::Existing(1),
            Arg::Option(lp),
            Arg::LibraryPath,
            Arg::Existing(3),
        ] => {
            assert_eq!(lp.to_bytes(), b"--library-path");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_by_hand_a_program_started_through_a_descriptor_is_opened_as_proc_self_exe() {
    // fexecve: the kernel names the program /dev/fd/N, closed by now; an
    // exec of /proc/self/fd/N by path is the same.
    for path in ["/dev/fd/3", "/proc/self/fd/3"] {
        let mut f = Fake::with_aux(
            &["/srv/app", "arg", path],
            &["INVOCATION_ID=1"],
            &[(AT_SECURE as usize, 0), (AT_EXECFN as usize, 3)],
        );
        let (plan, _) = plan_for(&mut f, false);
        let exe = SELF_EXE.as_ptr() as usize;
        match head(&plan) {
            [
                Arg::Existing(first),
                Arg::Option(argv0),
                Arg::Existing(1),
                Arg::Option(_),
                Arg::LibraryPath,
                Arg::Existing(last),
            ] => {
                assert_eq!(argv0.to_bytes(), b"--argv0");
                assert_eq!((*first, *last), (exe, exe));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn no_arguments_and_no_environment_adds_nothing() {
    let mut f = Fake::with_aux(&[], &[], &[(AT_SECURE as usize, 0)]);
    let (plan, _) = plan_for(&mut f, false);
    assert_eq!(plan.handover, Handover::InPlace { lend: None });
    assert_eq!(plan.path_string, None);
    assert_eq!(plan.reach, Reach::Nowhere);
    assert_eq!(plan.program, b"the program");
}

#[test]
fn a_privileged_start_changes_nothing() {
    let mut f = Fake::with_aux(
        &["/usr/bin/su"],
        &["NIX_LD_LIBRARY_PATH=/evil", "LD_LIBRARY_PATH=/x"],
        &[(AT_SECURE as usize, 1), (AT_EXECFN as usize, 1)],
    );
    let (plan, _) = plan_for(&mut f, false);
    assert_eq!(plan.handover, Handover::InPlace { lend: None });
    assert_eq!(plan.library_path, None);
    assert_eq!(plan.path_string, None);
    assert_eq!(plan.reach, Reach::Nowhere);
}

#[test]
fn run_directly_the_library_path_is_an_argument_after_the_users() {
    let mut f = start(
        &["rld-loader", "./prog", "x"],
        &["LD_LIBRARY_PATH=/u", "NIX_LD_LIBRARY_PATH=/ours"],
    );
    let (plan, _) = plan_for(&mut f, true);
    assert_eq!(plan.program, b"./prog");
    assert!(!plan.print_version());
    assert_eq!(plan.if_no_ld_so, IfNoLdSo::Fail);
    assert_eq!(plan.reach, Reach::AsArgument);
    match head(&plan) {
        [Arg::Existing(1), Arg::Option(_), Arg::LibraryPath] => assert_eq!(
            plan.path_string.unwrap(),
            LibraryPath::Composed(Composition {
                form: Form::Argument,
                user: b"/u",
                ours: b"/ours"
            })
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn run_directly_without_a_user_path_reuses_the_value() {
    let mut f = start(&["rld-loader", "./prog"], &["NIX_LD_LIBRARY_PATH=/ours"]);
    let (plan, _) = plan_for(&mut f, true);
    match head(&plan) {
        [_, _, Arg::LibraryPath] => assert_eq!(existing(plan.path_string.unwrap()), b"/ours"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn options_that_only_print_get_no_library_path() {
    for (args, version) in [
        (&["rld-loader", "--version"][..], true),
        (&["rld-loader", "--help"], false),
        (&["rld-loader", "--list-tunables"], false),
        (&["rld-loader", "--list-diagnostics"], false),
    ] {
        let mut f = start(args, &["NIX_LD_LIBRARY_PATH=/ours"]);
        let (plan, _) = plan_for(&mut f, true);
        assert_eq!(plan.print_version(), version, "{args:?}");
        let if_none = if version {
            IfNoLdSo::PrintVersion
        } else {
            IfNoLdSo::Fail
        };
        assert_eq!(plan.if_no_ld_so, if_none, "{args:?}");
        assert_eq!(plan.library_path, None, "{args:?}");
        assert_eq!(plan.path_string, None, "{args:?}");
        assert_eq!(plan.reach, Reach::PrintOnly);
        assert_eq!(head(&plan), &[Arg::Existing(1)], "{args:?}");
    }
    let mut f = start(&["rld-loader"], &[]);
    let (plan, _) = plan_for(&mut f, true);
    assert_eq!(plan.program, b"rld-loader");
    assert_eq!(plan.library_path, None);
    assert_eq!(plan.if_no_ld_so, IfNoLdSo::Usage);
}
