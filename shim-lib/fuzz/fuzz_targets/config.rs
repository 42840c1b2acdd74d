//! Any environment: configuration resolution, its messages and the library
//! path composition must not panic, and must keep the documented order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rld_shim::config::{Config, Source};
use rld_shim::stack::{compose_library_path, library_path_len};

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
            let user = getenv("LD_LIBRARY_PATH");
            let len = library_path_len(b"LD_LIBRARY_PATH=", user, ours);
            let mut buf = vec![0u8; len];
            let s = compose_library_path(b"LD_LIBRARY_PATH=", user, ours, &mut buf).unwrap();
            assert_eq!(s.len(), len);
            assert_eq!(s.last(), Some(&0));
            assert!(s.ends_with(&[ours, b"\0"].concat()));
        }
    }
});
