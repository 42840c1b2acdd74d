//! Which nixpkgs attribute provides a soname: a table written by hand
//! (`sonames.tsv`, kept as data) and, when installed, `nix-locate`.

use std::process::Command;

use serde::Serialize;

/// The table, one `SONAME<TAB>ATTRIBUTE` (or `SONAME<TAB>!NOTE`) a line.
const TABLE: &str = include_str!("sonames.tsv");

/// How to get a missing library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Provider {
    /// A nixpkgs attribute (`zlib`, `xorg.libX11`).
    Attribute {
        attribute: String,
        from: &'static str,
    },
    /// No package provides it; what to do instead.
    Note { note: String },
}

/// Every entry of the table, in file order.
pub fn table() -> impl Iterator<Item = (&'static str, &'static str)> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
}

/// The table's answer for `soname`.
pub fn lookup(soname: &str) -> Option<Provider> {
    table()
        .find(|(s, _)| *s == soname)
        .map(|(_, a)| match a.strip_prefix('!') {
            Some(note) => Provider::Note {
                note: note.to_owned(),
            },
            None => Provider::Attribute {
                attribute: a.to_owned(),
                from: "rld's table",
            },
        })
}

/// Whether `soname` is one of glibc's own libraries (`libc.so.6`,
/// `libm.so.6`, `ld-linux-x86-64.so.2`, …): ld.so finds those in its own
/// directory, so they come with the ld.so rather than from the library list.
pub fn comes_with_glibc(soname: &str) -> bool {
    soname.starts_with("ld-linux")
        || soname.starts_with("ld64.so.")
        || soname.starts_with("libnss_")
        || soname == "libthread_db.so.1"
        || lookup(soname)
            == Some(Provider::Attribute {
                attribute: "glibc".into(),
                from: "rld's table",
            })
}

/// Asks `nix-locate` (from nix-index) which top-level attributes have
/// `lib/<soname>`; `None` when it is not installed or fails.
pub fn locate(soname: &str) -> Option<Vec<String>> {
    let out = Command::new("nix-locate")
        .args(["--minimal", "--top-level", "--whole-name", "--at-root"])
        .arg(format!("/lib/{soname}"))
        .output()
        .ok()?;
    if !out.status.success() {
        log::warn!(
            "nix-locate failed for {soname}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    let mut attrs: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('(') {
            continue;
        }
        // nix-locate prints `zlib.out`; the attribute is `zlib`.
        let attr = line
            .strip_suffix(".out")
            .or_else(|| line.strip_suffix(".lib"))
            .unwrap_or(line)
            .to_owned();
        if !attrs.contains(&attr) {
            attrs.push(attr);
        }
    }
    Some(attrs)
}

/// Every provider known for `soname`: the table's first, then
/// `nix-locate`'s (when `use_locate`).
pub fn providers(soname: &str, use_locate: bool) -> Vec<Provider> {
    let mut out: Vec<Provider> = lookup(soname).into_iter().collect();
    if use_locate {
        for attribute in locate(soname).unwrap_or_default() {
            let known = out
                .iter()
                .any(|p| matches!(p, Provider::Attribute { attribute: a, .. } if *a == attribute));
            if !known {
                out.push(Provider::Attribute {
                    attribute,
                    from: "nix-locate",
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_own_libraries() {
        for own in [
            "libc.so.6",
            "libm.so.6",
            "libpthread.so.0",
            "libdl.so.2",
            "librt.so.1",
            "ld-linux-x86-64.so.2",
            "ld-linux.so.2",
            "libnss_files.so.2",
        ] {
            assert!(comes_with_glibc(own), "{own}");
        }
        for other in ["libz.so.1", "libstdc++.so.6", "libcrypt.so.1", "libc.so"] {
            assert!(!comes_with_glibc(other), "{other}");
        }
    }

    #[test]
    fn table_is_well_formed_and_large_enough() {
        let entries: Vec<_> = table().collect();
        assert!(entries.len() >= 200, "{} entries", entries.len());
        let mut seen = std::collections::HashSet::new();
        for line in TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (soname, attr) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("no tab: {line:?}"));
            assert!(seen.insert(soname), "{soname} twice");
            assert!(
                soname.starts_with("lib") || soname.starts_with("ld-"),
                "{soname}"
            );
            assert!(soname.contains(".so"), "{soname}");
            assert!(
                !attr.is_empty() && !attr.contains(char::is_whitespace) || attr.starts_with('!'),
                "{line:?}"
            );
        }
    }

    #[test]
    fn common_sonames() {
        let attr = |s| match lookup(s) {
            Some(Provider::Attribute { attribute, .. }) => attribute,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(attr("libz.so.1"), "zlib");
        assert_eq!(attr("libstdc++.so.6"), "stdenv.cc.cc.lib");
        assert_eq!(attr("libX11.so.6"), "xorg.libX11");
        assert_eq!(attr("libssl.so.1.1"), "openssl_1_1");
        assert!(matches!(
            lookup("libcuda.so.1"),
            Some(Provider::Note { .. })
        ));
        assert_eq!(lookup("libnothing.so.9"), None);
        // libsoup_2_4 is a `throw` in nixpkgs since June 2026: naming it
        // would give a snippet that does not evaluate.
        assert!(matches!(
            lookup("libsoup-2.4.so.1"),
            Some(Provider::Note { note }) if note.contains("libsoup 3")
        ));
    }
}
