//! Property tests of the stack rewrite: for any arguments and environment,
//! `ld.so` sees the library path entry, and after the trampoline's undo the
//! program sees exactly what the kernel gave it.

use proptest::prelude::*;
use rld_shim::stack::{EnvSlot, Stack, Undo, compose_library_path, library_path_len};

const AT_ENTRY: usize = 9;
const HEADROOM: usize = 8;

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
fn layout(args: &[String], env: &[String]) -> (Vec<usize>, Vec<String>) {
    let mut strings = Vec::new();
    let mut words = vec![0; HEADROOM];
    words.push(args.len());
    for a in args {
        strings.push(a.clone());
        words.push(strings.len());
    }
    words.push(0);
    for e in env {
        strings.push(e.clone());
        words.push(strings.len());
    }
    words.push(0);
    words.extend([6, 4096, AT_ENTRY, 0x1234, 0, 0]);
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
    fn rewrite_then_undo_is_exact(
        args in prop::collection::vec("[a-z]{0,4}", 0..4),
        env in prop::collection::vec(entry(), 0..12),
    ) {
        let (mut words, strings) = layout(&args, &env);
        let original = words.clone();
        let lookup = |p: usize| strings[p - 1].as_bytes();
        let new_entry = 100_000;

        let mut stack = Stack::parse(&mut words, HEADROOM).unwrap();
        let slot = stack.choose_env_slot(lookup);
        if slot == EnvSlot::Relaunch {
            // ld.so is handed argv = head ++ argv[1..] and the environment
            // and auxiliary vector untouched, on an aligned stack.
            let head = [7_001, 7_002, 7_003, 7_004, 7_005, 7_006];
            stack.rebuild_argv(&head, 1).unwrap();
            let sp = stack.sp();
            prop_assert_eq!((sp * std::mem::size_of::<usize>()) % 16, 0);
            let again = Stack::parse(stack.words(), sp).unwrap();
            let mut want: Vec<usize> = head.to_vec();
            want.extend(2..=args.len());
            prop_assert_eq!(again.argv(), &want[..]);
            let env_ptrs: Vec<usize> = (args.len() + 1..=args.len() + env.len()).collect();
            prop_assert_eq!(again.env(), &env_ptrs[..]);
            prop_assert_eq!(again.aux(AT_ENTRY as u32), Some(0x1234));
            // Only an environment without a word to lend gets here.
            let lendable = env.iter().any(|e| {
                let n = e.split('=').next().unwrap();
                n == "LD_LIBRARY_PATH" || n.starts_with("NIX_LD") || n.starts_with("RLD_") || n == "_"
            });
            prop_assert!(!lendable);
            return Ok(());
        }
        let mut undo = Undo::new();
        stack.apply_env(slot, new_entry, &mut undo);
        let entry = stack.redirect_entry(0xdead, &mut undo).unwrap();
        prop_assert_eq!(entry, 0x1234);

        // What ld.so reads: argc from the stack, environ after argv.
        let words = stack.words();
        let argc = words[HEADROOM];
        let ld_environ = HEADROOM + argc + 2;
        let seen = environ_from(words, ld_environ);
        match slot {
            EnvSlot::Nowhere => prop_assert!(args.is_empty()),
            _ => prop_assert!(seen.contains(&new_entry)),
        }
        // The user's LD_LIBRARY_PATH value is the one ld.so would have used.
        if let EnvSlot::Replace { user: Some(u), .. } = slot {
            let last = env.iter().rev().find_map(|e| e.strip_prefix("LD_LIBRARY_PATH=")).unwrap();
            prop_assert_eq!(u, last.as_bytes());
        }

        undo.apply(words);
        prop_assert_eq!(&words[..], &original[..]);
        // environ as libc holds it (computed by ld.so before the undo) shows
        // the kernel's environment, in order.
        let after: Vec<&str> = environ_from(words, ld_environ).iter().map(|&p| strings[p - 1].as_str()).collect();
        prop_assert_eq!(after, env.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn library_path_composition_is_exact(
        user in prop::option::of("[ -~]{0,40}"),
        ours in "[ -~]{1,40}",
    ) {
        let prefix = b"LD_LIBRARY_PATH=";
        let len = library_path_len(prefix, user.as_deref().map(str::as_bytes), ours.as_bytes());
        let mut buf = vec![0u8; len];
        let s = compose_library_path(prefix, user.as_deref().map(str::as_bytes), ours.as_bytes(), &mut buf).unwrap();
        let want = match user.as_deref() {
            Some(u) if !u.is_empty() => format!("LD_LIBRARY_PATH={u}:{ours}\0"),
            _ => format!("LD_LIBRARY_PATH={ours}\0"),
        };
        prop_assert_eq!(s, want.as_bytes());
        prop_assert!(compose_library_path(prefix, user.as_deref().map(str::as_bytes), ours.as_bytes(), &mut buf[..len - 1]).is_none());
    }
}
