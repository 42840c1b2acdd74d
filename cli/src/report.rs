//! The answer of `rld doctor`: what it found, the [`Verdict`] and the exit
//! status that goes with it.
//!
//! [`doctor`](crate::doctor) fills a [`Report`]; [`render`](crate::render)
//! prints it for people and serde for programs (`--json`). The JSON field
//! names are an interface: programs read them.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use crate::inspect::{ElfFacts, Script};
use crate::nixpkgs::Provider;
use crate::search::{Library, MissingVersion, Skipped};
use crate::settings::Settings;

/// Exit status of `rld doctor`: the program will run.
pub const RUNS: i32 = 0;
/// Exit status of `rld doctor`: it will run once something is added or
/// changed (libraries, versions, rld itself, an ld.so, the execute bit).
pub const NEEDS_SOMETHING: i32 = 1;
/// Exit status of `rld doctor`: it cannot run here at all (missing file,
/// not a program, another architecture, musl), or rld could not examine it.
pub const CANNOT_RUN: i32 = 2;

/// Whether the program will run, and if not, what kind of thing stops it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Nothing stops it.
    Runs,
    /// Libraries are missing (other problems may come with them; the fix
    /// snippet covers enabling rld too).
    NeedsLibraries,
    /// Something else must be added or changed first: rld itself, a usable
    /// ld.so, a newer glibc (or several problems, one of them the execute
    /// permission).
    NeedsConfiguration,
    /// Nothing but its execute permission is missing: `chmod +x`.
    NotExecutable,
    /// It cannot run on this machine, or rld could not examine it.
    CannotRun,
}

impl Verdict {
    /// The name in `--json` output and logs.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Runs => "runs",
            Verdict::NeedsLibraries => "needs-libraries",
            Verdict::NeedsConfiguration => "needs-configuration",
            Verdict::NotExecutable => "not-executable",
            Verdict::CannotRun => "cannot-run",
        }
    }

    /// `rld doctor`'s exit status for this verdict.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Runs => RUNS,
            Verdict::NeedsLibraries | Verdict::NeedsConfiguration | Verdict::NotExecutable => {
                NEEDS_SOMETHING
            }
            Verdict::CannotRun => CANNOT_RUN,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The verdict as the two JSON fields programs read, so that the exit code
/// in the JSON is always the one rld exits with.
fn verdict_and_exit_code<S: Serializer>(verdict: &Verdict, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Outcome {
        verdict: Verdict,
        exit_code: i32,
    }
    Outcome {
        verdict: *verdict,
        exit_code: verdict.exit_code(),
    }
    .serialize(s)
}

#[derive(Debug, Serialize)]
pub struct Interpreter {
    pub path: String,
    pub exists: bool,
    /// `rld-loader`, `nix-ld`, `ld.so` (a real glibc loader), or `None` when
    /// missing.
    pub is: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct Missing {
    pub soname: String,
    pub needed_by: Vec<String>,
    /// In a tree: the other files examined that need it through a library
    /// they load (their dependency closure misses it), so they fail to load
    /// unless the process has it loaded already; `needed_by` names only the
    /// files that need it themselves. Empty for a single file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_fail: Vec<String>,
    pub providers: Vec<Provider>,
}

#[derive(Debug, Serialize)]
pub struct Fix {
    /// The attributes to add, in order, deduplicated.
    pub attributes: Vec<String>,
    /// Sonames no table or index knows.
    pub unknown: Vec<String>,
    /// `programs.rld.enable = true;` and/or `programs.rld.libraries = …;`.
    pub nixos: String,
    /// `pkgs.mkShell { NIX_LD = …; NIX_LD_LIBRARY_PATH = …; }`; empty when a
    /// dev shell has nothing to add.
    pub dev_shell: String,
    /// What must be in place before `dev_shell` does anything (rld-loader
    /// at the program's interpreter path); `None` when it works as it is.
    pub dev_shell_requires: Option<String>,
    /// When `nixos` and `dev_shell` reach the program at all: it is started
    /// by an interpreter that is not rld, so only when it is run through rld
    /// (`rld run`, or patchelf to rld's path). `None`: they reach it.
    pub applies_when: Option<String>,
    /// For a program started by its own (non-rld) ld.so, and for a shared
    /// object (which a program from nixpkgs may load): a dev shell that
    /// sets `LD_LIBRARY_PATH`, which a real ld.so reads; empty otherwise.
    pub ld_library_path: String,
}

/// Which ld.so the library search assumed, and why.
#[derive(Debug, Serialize)]
pub struct LdSo {
    pub path: Option<PathBuf>,
    /// `NIX_LD`, `rld's default`, `the program's interpreter`, …
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub program: String,
    /// Serialised as two fields, `verdict` (its name) and `exit_code`.
    #[serde(flatten, serialize_with = "verdict_and_exit_code")]
    pub verdict: Verdict,
    /// What kind of file it is, in words.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elf: Option<ElfFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<Interpreter>,
    /// `rld` when libraries were resolved as rld-loader runs the program,
    /// `interpreter` when as its own (non-rld) interpreter does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_as: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ld_so: Option<LdSo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    pub libraries: Vec<Library>,
    pub skipped: Vec<Skipped>,
    pub missing: Vec<Missing>,
    /// glibc's own libraries (`libc.so.6`, …) when no ld.so is usable: they
    /// come from the ld.so's glibc, so they cannot be resolved until one is
    /// configured, and adding them to the library list would not help.
    pub unresolved: Vec<String>,
    /// glibc's own libraries missing from the directory of a usable ld.so:
    /// that glibc is incomplete (or the ld.so is no glibc's), and the fix
    /// is another ld.so, never glibc in the library list.
    pub missing_from_glibc: Vec<String>,
    pub missing_versions: Vec<MissingVersion>,
    /// What stops it from running, one sentence each, with the fix.
    pub problems: Vec<String>,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Report {
    /// A report on `program` (what kind of `file` it is, in words) that
    /// finds nothing wrong yet.
    pub fn new(program: &Path, file: String) -> Report {
        Report {
            program: program.display().to_string(),
            verdict: Verdict::Runs,
            file,
            elf: None,
            script: None,
            interpreter: None,
            resolved_as: None,
            ld_so: None,
            settings: None,
            libraries: vec![],
            skipped: vec![],
            missing: vec![],
            unresolved: vec![],
            missing_from_glibc: vec![],
            missing_versions: vec![],
            problems: vec![],
            notes: vec![],
            fix: None,
        }
    }

    /// The report of a program that cannot run here, for the reason `why`.
    pub fn cannot_run(mut self, why: String) -> Report {
        self.verdict = Verdict::CannotRun;
        self.problems.push(why);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_carries_the_verdict_and_its_exit_code() {
        let r = Report::new(Path::new("/x"), "missing".into()).cannot_run("gone".into());
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["verdict"], "cannot-run");
        assert_eq!(j["exit_code"], 2);
        let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
        assert!(keys.contains(&&"program".to_owned()));
        for v in [
            Verdict::Runs,
            Verdict::NeedsLibraries,
            Verdict::NeedsConfiguration,
            Verdict::NotExecutable,
            Verdict::CannotRun,
        ] {
            assert_eq!(serde_json::to_value(v).unwrap(), v.name());
        }
    }
}
