//! Property tests of the start-up plan and the stack rewrite: for any
//! arguments and environment, `ld.so` sees the library path (on a lent
//! environment word, or as an argument when it is run by hand), and after
//! the trampoline's undo the program sees exactly what the kernel gave it.

use std::ffi::{CStr, CString};

use proptest::prelude::*;
use rld_shim::config::{Config, Vars};
use rld_shim::launch::{self, Arg, Handover, Reach};
use rld_shim::libpath::{Composition, Form, LibraryPath};
use rld_shim::stack::{Stack, Undo};

const AT_ENTRY: usize = 9;
const AT_SECURE: usize = 23;
const HEADROOM: usize = 8;
/// rld-loader's own entry: not `AT_ENTRY`, so these are program starts.
const LOADER_ENTRY: usize = 0x9000;

/// Variable names that exercise every branch of the slot choice.
fn entry() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("LD_LIBRARY_PATH".to_owned()),
        Just("LD_PRELOAD".to_owned()),
        Just("GLIBC_TUNABLES".to_owned()),
        Just("NIX_LD".to_owned()),
        Just("NIX_LD_LIBRARY_PATH".to_owned()),
        Just("RLD_LOG".to_owned()),
        Just("_".to_owned()),
        Just("MALLOC_ARENA_MAX".to_owned()),
        "[A-Z_]{1,8}",
    ];
    (name, "[ -~]{0,12}").prop_map(|(n, v)| format!("{n}={v}"))
}

/// Builds the kernel's layout with fake string pointers (index + 1).
fn layout(args: &[String], env: &[String]) -> (Vec<usize>, Vec<CString>) {
    let mut strings = Vec::new();
    let mut words = vec![0; HEADROOM];
    words.push(args.len());
    for a in args {
        strings.push(CString::new(a.as_str()).unwrap());
        words.push(strings.len());
    }
    words.push(0);
    for e in env {
        strings.push(CString::new(e.as_str()).unwrap());
        words.push(strings.len());
    }
    words.push(0);
    words.extend([6, 4096, AT_SECURE, 0, AT_ENTRY, 0x1234, 0, 0]);
    (words, strings)
}

/// The environment as a C library computes it from argc: the word after
/// argv's terminator up to the first NULL.
fn environ_from(words: &[usize], environ: usize) -> Vec<usize> {
    words[environ..]
        .iter()
        .take_while(|&&w| w != 0)
        .copied()
        .collect()
}

proptest! {
    #[test]
    fn plan_then_undo_is_exact(
        args in prop::collection::vec("[a-z]{0,4}", 0..4),
        env in prop::collection::vec(entry(), 0..12),
    ) {
        let (mut words, strings) = layout(&args, &env);
        let original = words.clone();
        let lookup = |p: usize| -> &CStr { if p == 0 { c"" } else { &strings[p - 1] } };
        let new_entry = 100_000;
        let lendable = env.iter().any(|e| {
            let n = e.split('=').next().unwrap();
            n == "LD_LIBRARY_PATH" || n.starts_with("NIX_LD") || n.starts_with("RLD_") || n == "_"
        });

        let mut stack = Stack::parse(&mut words, HEADROOM).unwrap();
        let mut vars = Vars::default();
        for &p in stack.env() {
            vars.add(lookup(p));
        }
        let config = Config::from_vars(&vars, launch::is_privileged(&stack));
        let plan = launch::plan(&stack, lookup, &config, &vars, LOADER_ENTRY);
        let lend = match plan.handover {
            Handover::ByHand { head } => {
                // ld.so is handed argv = head ++ argv[1..] and the environment
                // and auxiliary vector untouched, on an aligned stack.
                let head: Vec<usize> = head.args().iter().map(|arg| match arg {
                    Arg::Existing(p) => *p,
                    Arg::Option(_) => 7_001,
                    Arg::LibraryPath => 7_002,
                }).collect();
                stack.rebuild_argv(&head, 1).unwrap();
                let sp = stack.sp();
                prop_assert_eq!((sp * std::mem::size_of::<usize>()) % 16, 0);
                let again = Stack::parse(stack.words(), sp).unwrap();
                let mut want: Vec<usize> = head.clone();
                want.extend(2..=args.len());
                prop_assert_eq!(again.argv(), &want[..]);
                prop_assert!(head.contains(&7_002), "the library path is an argument");
                let env_ptrs: Vec<usize> = (args.len() + 1..=args.len() + env.len()).collect();
                prop_assert_eq!(again.env(), &env_ptrs[..]);
                prop_assert_eq!(again.aux(AT_ENTRY as u32), Some(0x1234));
                // Only an environment without a word to lend gets here.
                prop_assert!(!lendable);
                return Ok(());
            }
            Handover::InPlace { lend: None } => {
                prop_assert!(args.is_empty() && !lendable);
                prop_assert_eq!(plan.reach, Reach::Nowhere);
                return Ok(());
            }
            Handover::InPlace { lend: Some(index) } => index,
        };
        let mut undo = Undo::new();
        stack.lend_env(lend, new_entry, &mut undo);
        let entry = stack.redirect_entry(0xdead, &mut undo).unwrap();
        prop_assert_eq!(entry, 0x1234);

        // What ld.so reads: argc from the stack, environ after argv.
        let words = stack.words();
        let argc = words[HEADROOM];
        let ld_environ = HEADROOM + argc + 2;
        let seen = environ_from(words, ld_environ);
        prop_assert!(seen.contains(&new_entry));
        // The user's LD_LIBRARY_PATH value, the one ld.so would have used,
        // comes first.
        let last = env.iter().rev().find_map(|e| e.strip_prefix("LD_LIBRARY_PATH="));
        match (last, plan.path_string.unwrap()) {
            (Some(u), LibraryPath::Composed(c)) => prop_assert_eq!(c.user, u.as_bytes()),
            (Some(u), LibraryPath::Existing(_)) => prop_assert!(u.is_empty()),
            (None, _) => prop_assert_ne!(plan.reach, Reach::AfterUsers),
        }

        undo.apply(words);
        prop_assert_eq!(&words[..], &original[..]);
        // environ as libc holds it (computed by ld.so before the undo) shows
        // the kernel's environment, in order.
        let after: Vec<&str> = environ_from(words, ld_environ).iter().map(|&p| strings[p - 1].to_str().unwrap()).collect();
        prop_assert_eq!(after, env.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn library_path_composition_is_exact(
        user in "[ -~]{0,40}",
        ours in "[ -~]{1,40}",
        entry_form: bool,
    ) {
        let form = if entry_form { Form::Entry } else { Form::Argument };
        let c = Composition { form, user: user.as_bytes(), ours: ours.as_bytes() };
        let mut buf = vec![0u8; c.bytes_needed()];
        let s = c.write_into(&mut buf).unwrap();
        let prefix = if entry_form { "LD_LIBRARY_PATH=" } else { "" };
        let want = match user.as_str() {
            "" => format!("{prefix}{ours}"),
            u => format!("{prefix}{u}:{ours}"),
        };
        prop_assert_eq!(s.to_bytes(), want.as_bytes());
        prop_assert_eq!(s.to_bytes_with_nul().len(), c.bytes_needed());
        let len = c.bytes_needed();
        prop_assert!(c.write_into(&mut buf[..len - 1]).is_none());
    }
}
