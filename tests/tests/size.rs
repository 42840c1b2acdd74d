//! The size budget: every architecture's rld-loader, built as it ships
//! (release profile, the NixOS default prefix), is stripped and at most
//! [`BUDGET`] bytes. Below the budget the clearer code wins over the
//! smaller one (DESIGN.md); this test keeps the two from drifting apart.

use std::path::Path;

use goblin::elf::Elf;
use goblin::elf::section_header::SHT_SYMTAB;
use rld_tests::cross::ALL;
use rld_tests::root::DEFAULT_PREFIX;

/// Bytes a stripped rld-loader may take, on every architecture.
const BUDGET: usize = 20_480;

#[test]
fn every_loader_is_stripped_and_within_the_size_budget() {
    let host = ("x86_64", "x86_64-unknown-linux-gnu");
    let targets = std::iter::once(host).chain(ALL.map(|a| (a.name(), a.rust_target())));
    let mut over = Vec::new();
    for (arch, target) in targets {
        let name = format!("shipped-{arch}");
        let path = rld_tests::build(Some(target), &name, Path::new(DEFAULT_PREFIX));
        let bytes = std::fs::read(&path).unwrap();
        assert_stripped(arch, &bytes);
        if bytes.len() > BUDGET {
            over.push(format!(
                "{arch}: rld-loader is {} bytes stripped, over its budget of {BUDGET} bytes",
                bytes.len()
            ));
        }
    }
    assert!(over.is_empty(), "{}", over.join("\n"));
}

/// Panics unless the loader has neither a symbol table nor debug sections:
/// the budget is for what a system installs, and the release profile
/// strips it.
fn assert_stripped(arch: &str, bytes: &[u8]) {
    let elf = Elf::parse(bytes).unwrap_or_else(|e| panic!("{arch}: rld-loader: {e}"));
    let unstripped: Vec<&str> = elf
        .section_headers
        .iter()
        .map(|sh| (sh.sh_type, elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("")))
        .filter(|&(kind, name)| kind == SHT_SYMTAB || name.starts_with(".debug"))
        .map(|(_, name)| name)
        .collect();
    assert!(
        unstripped.is_empty(),
        "{arch}: rld-loader is not stripped: it has {unstripped:?}"
    );
}
