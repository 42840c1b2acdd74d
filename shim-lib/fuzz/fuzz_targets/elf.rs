//! Any bytes as an `ld.so`: header and program header checks, the rld
//! note scan and every error message must neither panic nor read out of
//! bounds, and an accepted plan must be internally consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rld_shim::elf::{self, PHDR_SIZE};

fuzz_target!(|data: &[u8]| {
    let size = data.len() as u64;
    let Ok(header) = elf::parse_header(data, size).map_err(|e| e.to_string()) else {
        return;
    };
    let start = header.phoff as usize;
    let Some(phdrs) = data.get(start..start + header.phnum * PHDR_SIZE) else {
        return;
    };
    let _ = elf::is_rld(data, &header);
    for page in [4096u64, 16384, 65536] {
        match elf::plan(&header, phdrs, size, page) {
            Ok(plan) => {
                let segs: Vec<_> = plan.segments().collect();
                assert!(!segs.is_empty());
                assert!(plan.span <= elf::MAX_SPAN);
                for s in &segs {
                    assert!(s.filesz <= s.memsz);
                    assert!(s.offset + s.filesz <= size);
                    assert_eq!(s.vaddr % page, s.offset % page);
                }
                for w in segs.windows(2) {
                    assert!(w[0].vaddr + w[0].memsz <= w[1].vaddr);
                }
                assert!(segs.iter().any(|s| s.executable() && plan.entry >= s.vaddr && plan.entry < s.vaddr + s.filesz));
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.is_empty() && !msg.contains('\n'));
            }
        }
    }
});
