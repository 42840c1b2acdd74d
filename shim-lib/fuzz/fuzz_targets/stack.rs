//! Any words as an initial process stack, any strings behind its pointers:
//! parsing, the start-up plan, the rewrite and its undo must neither panic
//! nor index out of bounds, and the undo must restore every word.
#![no_main]

use std::ffi::{CStr, CString};

use libfuzzer_sys::fuzz_target;
use rld_shim::config::{Config, Vars};
use rld_shim::launch::{self, Arg, Handover};
use rld_shim::stack::{Stack, Undo};

fuzz_target!(|data: &[u8]| {
    // The first bytes are strings ("NAME=VALUE", split at NUL), the rest
    // the stack words; a word w names string w - 1.
    let (text, raw) = data.split_at(data.len() / 2);
    let strings: Vec<CString> = text
        .split(|&b| b == 0)
        .map(|s| CString::new(s).unwrap())
        .collect();
    let mut words: Vec<usize> = raw
        .chunks(2)
        .map(|c| (c[0] as usize) | ((*c.get(1).unwrap_or(&0) as usize) << 8))
        .map(|w| if w > strings.len() * 4 { w % (strings.len() + 1) } else { w })
        .collect();
    let original = words.clone();
    let lookup = |p: usize| -> &CStr { strings.get(p.wrapping_sub(1)).map_or(c"", |s| s) };
    for headroom in [0, 2, 8] {
        if headroom > words.len() {
            continue;
        }
        let Ok(mut stack) = Stack::parse(&mut words, headroom) else {
            continue;
        };
        let mut vars = Vars::default();
        for &p in stack.env() {
            vars.add(lookup(p));
        }
        for secure in [false, true] {
            let config = Config::from_vars(&vars, secure);
            // Any word may be the loader's own entry: direct runs too.
            for own_entry in [0x1111, stack.aux(9).unwrap_or(0)] {
                let _ = launch::plan(&stack, lookup, &config, &vars, own_entry);
            }
        }
        let config = Config::from_vars(&vars, launch::is_privileged(&stack));
        let plan = launch::plan(&stack, lookup, &config, &vars, 0x1111);
        match plan.handover {
            Handover::ByHand { head } => {
                // The rebuilt stack must parse, keep the environment and be
                // aligned; with too little headroom it is an error, not a
                // panic.
                let head: Vec<usize> = head
                    .args()
                    .iter()
                    .map(|a| if let Arg::Existing(p) = a { *p } else { 7 })
                    .collect();
                let env: Vec<usize> = stack.env().to_vec();
                if stack.rebuild_argv(&head, 1).is_ok() {
                    let sp = stack.sp();
                    assert_eq!((sp * core::mem::size_of::<usize>()) % 16, (headroom * core::mem::size_of::<usize>()) % 16);
                    let again = Stack::parse(stack.words(), sp).unwrap();
                    assert_eq!(again.env(), &env[..]);
                }
                words.copy_from_slice(&original);
            }
            Handover::InPlace { lend } => {
                let mut undo = Undo::new();
                if let Some(index) = lend {
                    assert!(plan.path_string.is_some());
                    stack.lend_env(index, 0xabcd, &mut undo);
                }
                let _ = stack.redirect_entry(0x1111, &mut undo);
                let _ = stack.aux(6);
                undo.apply(stack.words());
                assert_eq!(words, original);
            }
        }
    }
});
