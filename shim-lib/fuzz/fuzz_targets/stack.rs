//! Any words as an initial process stack, any strings behind its pointers:
//! parsing, the slot choice, the rewrite and its undo must neither panic
//! nor index out of bounds, and the undo must restore every word.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rld_shim::stack::{EnvSlot, Stack, Undo};

fuzz_target!(|data: &[u8]| {
    // The first bytes are strings ("NAME=VALUE", split at NUL), the rest
    // the stack words; a word w names string w - 1.
    let (text, raw) = data.split_at(data.len() / 2);
    let strings: Vec<&[u8]> = text.split(|&b| b == 0).collect();
    let mut words: Vec<usize> = raw
        .chunks(2)
        .map(|c| (c[0] as usize) | ((*c.get(1).unwrap_or(&0) as usize) << 8))
        .map(|w| if w > strings.len() * 4 { w % (strings.len() + 1) } else { w })
        .collect();
    let original = words.clone();
    let lookup = |p: usize| strings.get(p.wrapping_sub(1)).copied().unwrap_or(b"");
    for headroom in [0, 2, 8] {
        if headroom > words.len() {
            continue;
        }
        let Ok(mut stack) = Stack::parse(&mut words, headroom) else {
            continue;
        };
        let _ = rld_shim::config::Vars::scan(stack.env().iter().map(|&p| lookup(p)));
        let slot = stack.choose_env_slot(lookup);
        if slot == EnvSlot::Relaunch {
            // The rebuilt stack must parse, keep the environment and be
            // aligned; with too little headroom it is an error, not a panic.
            let env: Vec<usize> = stack.env().to_vec();
            if stack.rebuild_argv(&[1, 2, 3, 4, 5, 6], 1).is_ok() {
                let sp = stack.sp();
                assert_eq!((sp * core::mem::size_of::<usize>()) % 16, (headroom * core::mem::size_of::<usize>()) % 16);
                let again = Stack::parse(stack.words(), sp).unwrap();
                assert_eq!(again.env(), &env[..]);
            }
            words.copy_from_slice(&original);
            continue;
        }
        let mut undo = Undo::new();
        stack.apply_env(slot, 0xabcd, &mut undo);
        let _ = stack.redirect_entry(0x1111, &mut undo);
        let _ = stack.aux(6);
        undo.apply(stack.words());
        assert_eq!(words, original);
    }
});
