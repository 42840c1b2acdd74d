//! Any environment: configuration resolution, its messages and the library
//! path composition must not panic, and must keep the documented order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rld_shim::config::{Config, Source};
use rld_shim::libpath::{Composition, Form};

fuzz_target!(|data: &[u8]| {
    let entries: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let getenv = |name: &str| {
        entries.iter().find_map(|e| e.strip_prefix(name.as_bytes()).and_then(|r| r.strip_prefix(b"=")))
    };
    for secure in [false, true] {
        let config = Config::resolve(getenv, secure);
        let candidates: Vec<_> = config.candidates().collect();
        assert_eq!(candidates.last().unwrap().source, Source::Default);
        if secure {
            assert_eq!(candidates.len(), 1);
            assert!(config.library_path.is_none());
        }
        for c in &candidates {
            assert!(!c.path.is_empty());
            let _ = format!("{}", c.source);
        }
        if let Some(lp) = config.library_path {
            let ours = lp.path;
            let user = getenv("LD_LIBRARY_PATH").unwrap_or(b"");
            let c = Composition { form: Form::Entry, user, ours };
            let len = c.bytes_needed();
            let mut buf = vec![0u8; len];
            // None only when a part holds a NUL, which an entry cannot.
            if let Some(s) = c.write_into(&mut buf) {
                assert_eq!(s.to_bytes_with_nul().len(), len);
                assert!(s.to_bytes().ends_with(ours));
            }
        }
    }
});
