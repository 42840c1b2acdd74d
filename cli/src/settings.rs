//! What rld-loader would use for a program of a given system: which `ld.so`
//! (and why the ones before it were passed over), which library path, and
//! which variable or default each came from.
//!
//! The precedence is rld-shim's own [`Config::resolve`]; nothing here
//! re-implements it. For a system other than the host's, the variable names
//! rld-shim asks for (`NIX_LD_x86_64_linux`) are answered with that system's
//! (`NIX_LD_i686_linux`), which is exactly what the loader built for that
//! system reads.

use std::collections::BTreeMap;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rld_shim::config::{
    Candidate, Config, Defaults, NIX_LD_LIBRARY_PATH_SYSTEM, NIX_LD_SYSTEM, Source,
};
use rld_shim::ldso;
use serde::Serialize;

use crate::error::io_words;
use crate::loader::{self, Note};
use crate::system::{System, machine_name};

/// A snapshot of the environment, so tests and the resolver see one state.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: BTreeMap<String, Vec<u8>>,
}

impl Env {
    pub fn from_process() -> Env {
        let mut vars = BTreeMap::new();
        for (k, v) in std::env::vars_os() {
            if let Ok(k) = k.into_string() {
                // getenv(3) returns the first occurrence; so does this.
                vars.entry(k).or_insert_with(|| v.into_vec());
            }
        }
        Env { vars }
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.vars.get(name).map(Vec::as_slice)
    }

    pub fn get_os(&self, name: &str) -> Option<OsString> {
        self.get(name).map(|v| OsString::from_vec(v.to_vec()))
    }
}

/// Where a setting came from, as users name it.
pub fn source_name(source: Source, system: &System) -> String {
    match source {
        Source::Var(name) if name == NIX_LD_SYSTEM => system.nix_ld_var(),
        Source::Var(name) if name == NIX_LD_LIBRARY_PATH_SYSTEM => system.nix_ld_library_path_var(),
        Source::Var(name) => name.to_owned(),
        Source::Default => "rld's default".to_owned(),
    }
}

/// One `ld.so` candidate and what the loader would make of it.
#[derive(Clone, Debug, Serialize)]
pub struct CandidateCheck {
    pub path: PathBuf,
    pub source: String,
    /// `None`: usable. Otherwise why not, in words.
    pub problem: Option<String>,
    /// Whether the loader passes over this problem to the next candidate
    /// (a missing file, another architecture) rather than stopping.
    pub falls_through: bool,
}

/// The defaults of the rld-loader being modelled (what applies where no
/// variable does), and how rld knows them.
#[derive(Clone, Debug, Serialize)]
pub struct LoaderDefaults {
    /// Its default `ld.so`; `None` when unknown.
    pub ld_so: Option<PathBuf>,
    /// Its default library path; `None` when unknown.
    pub library_path: Option<String>,
    /// Where they were read, or why they are unknown.
    pub from: String,
    /// The library directory under the prefix the loader's note names
    /// (`/run/current-system/sw/share/rld/lib`): where the module's session
    /// variables point, which holds what a configured loader's store path
    /// holds. `None` when unknown.
    #[serde(skip)]
    pub prefix_library_dir: Option<String>,
}

impl LoaderDefaults {
    /// The defaults of the rld-loader that starts programs of `system`: the
    /// one at `loader` if given, else the one installed at the system's
    /// interpreter path. A configured loader's are those in its
    /// configuration area; any other's, those under the prefix its note
    /// names. Without an rld-loader there, this build's own for its own
    /// system (what rld-loader from this package would use); for another
    /// system they are unknown.
    pub fn find(system: &System, loader: Option<&Path>) -> LoaderDefaults {
        let path = loader.unwrap_or(Path::new(system.interpreter));
        let bytes = std::fs::read(path).unwrap_or_default();
        let joined = |prefix: &Path, suffix: &str| {
            let mut p = prefix.as_os_str().to_owned();
            p.push(suffix);
            p
        };
        let library_dir = |prefix: &Path| {
            joined(prefix, rld_shim::LIBRARY_PATH_UNDER_PREFIX)
                .to_string_lossy()
                .into_owned()
        };
        let under = |prefix: &Path, from: String| LoaderDefaults {
            ld_so: Some(PathBuf::from(joined(prefix, rld_shim::LD_SO_UNDER_PREFIX))),
            library_path: Some(library_dir(prefix)),
            from,
            prefix_library_dir: Some(library_dir(prefix)),
        };
        let this_build = || {
            under(
                Path::new(rld_shim::DEFAULT_PREFIX),
                "this build of rld".into(),
            )
        };
        let unknown = |from: String| LoaderDefaults {
            ld_so: None,
            library_path: None,
            from,
            prefix_library_dir: None,
        };
        let here = loader.is_none() && system == System::host();
        match loader::note(&bytes) {
            Note::Prefix(prefix) => match loader::configured(&bytes) {
                Ok(Some(c)) => LoaderDefaults {
                    ld_so: Some(c.ld_so),
                    library_path: Some(c.library_path),
                    from: format!("the configuration of rld-loader at {}", path.display()),
                    prefix_library_dir: Some(library_dir(&prefix)),
                },
                Ok(None) => under(&prefix, format!("rld-loader at {}", path.display())),
                Err(why) => unknown(format!("rld-loader at {}: {why}", path.display())),
            },
            Note::WithoutPrefix if here => this_build(),
            Note::WithoutPrefix => unknown(format!(
                "the rld-loader at {} is too old to name them",
                path.display()
            )),
            Note::Absent if here => this_build(),
            Note::Absent => unknown(format!("no rld-loader at {}", path.display())),
        }
    }
}

/// The loader's configuration for one system, checked against the files.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    pub system: &'static str,
    /// The compiled-in defaults of the rld-loader modelled.
    pub defaults: LoaderDefaults,
    /// Candidates in the order the loader tries them.
    pub candidates: Vec<CandidateCheck>,
    /// Index into `candidates` of the one the loader would use.
    #[serde(skip)]
    pub chosen: Option<usize>,
    /// The ld.so the loader would use; `None` when rld-loader would fail.
    pub ld_so: Option<PathBuf>,
    /// The library path rld adds, and its source.
    pub library_path: String,
    pub library_path_source: String,
    /// The user's own `LD_LIBRARY_PATH`, which ld.so searches first.
    pub user_library_path: Option<String>,
    /// Directories in the library path that do not exist.
    pub missing_library_dirs: Vec<PathBuf>,
    pub log_level: String,
}

impl Settings {
    /// The configuration of the rld-loader that starts programs of `system`
    /// (see [`LoaderDefaults::find`]).
    pub fn resolve(env: &Env, system: &'static System) -> Settings {
        Settings::resolve_with(env, system, LoaderDefaults::find(system, None))
    }

    /// The configuration of an rld-loader with `defaults`.
    pub fn resolve_with(env: &Env, system: &'static System, defaults: LoaderDefaults) -> Settings {
        let nix_ld = system.nix_ld_var();
        let nix_ld_lp = system.nix_ld_library_path_var();
        let getenv = |name: &str| {
            let name = if name == NIX_LD_SYSTEM {
                nix_ld.as_str()
            } else if name == NIX_LD_LIBRARY_PATH_SYSTEM {
                nix_ld_lp.as_str()
            } else {
                name
            };
            env.get(name)
        };
        // Empty when unknown: never checked, shown as unknown.
        let default_ld_so = defaults
            .ld_so
            .clone()
            .unwrap_or_default()
            .into_os_string()
            .into_vec();
        let default_entry = CString::new(format!(
            "LD_LIBRARY_PATH={}",
            defaults.library_path.as_deref().unwrap_or_default()
        ))
        .unwrap_or_default();
        let config = Config::resolve_with(
            getenv,
            false,
            Defaults {
                ld_so: &default_ld_so,
                library_path_entry: &default_entry,
            },
        );
        let known = defaults.ld_so.is_some() && defaults.library_path.is_some();
        // The loader's own walk, with this system's checks in place of the
        // mapping; each candidate tried is recorded as it is tried.
        let mut candidates = Vec::new();
        let check = |c: &Candidate<'_>| {
            let unknown = c.source == Source::Default && !known;
            let path = if unknown {
                PathBuf::from("(unknown)")
            } else {
                PathBuf::from(std::ffi::OsStr::from_bytes(c.path))
            };
            // Without a loader to model, its default is what installing one
            // gives: the loader would go on to it, so the walk falls through.
            let result = if unknown {
                // The placeholder path already says it is unknown; this
                // says why.
                Err((defaults.from.clone(), true))
            } else {
                check_ld_so(&path, system)
            };
            let (problem, falls_through) = match &result {
                Ok(()) => (None, false),
                Err((p, through)) => (Some(p.clone()), *through),
            };
            candidates.push(CandidateCheck {
                path,
                source: source_name(c.source, system),
                problem,
                falls_through,
            });
            result
        };
        let walk = ldso::walk(&config, check, |(_, through)| *through, |_, _| {});
        let chosen = walk.result.is_ok().then(|| candidates.len() - 1);
        if chosen.is_some() {
            for c in config.candidates().skip(candidates.len()) {
                candidates.push(CandidateCheck {
                    path: PathBuf::from(std::ffi::OsStr::from_bytes(c.path)),
                    source: source_name(c.source, system),
                    problem: Some("not tried: an earlier one is used".into()),
                    falls_through: true,
                });
            }
        }
        let Candidate {
            path: lp,
            source: lp_source,
        } = config
            .library_path
            .expect("an unprivileged configuration always has a library path");
        let library_path = String::from_utf8_lossy(lp).into_owned();
        let mut library_path_source = source_name(lp_source, system);
        if lp_source == Source::Default && !known {
            library_path_source = format!("{library_path_source}: {}", defaults.from);
        }
        let missing_library_dirs = library_path
            .split(':')
            .filter(|d| !d.is_empty() && !Path::new(d).is_dir())
            .map(PathBuf::from)
            .collect();
        Settings {
            system: system.name,
            defaults,
            ld_so: chosen.map(|i| candidates[i].path.clone()),
            candidates,
            chosen,
            library_path,
            library_path_source,
            user_library_path: env
                .get("LD_LIBRARY_PATH")
                .filter(|v| !v.is_empty())
                .map(|v| String::from_utf8_lossy(v).into_owned()),
            missing_library_dirs,
            log_level: config.log_level.name().to_string(),
        }
    }

    /// The `ld.so` the loader would map, if any.
    pub fn ld_so(&self) -> Option<&CandidateCheck> {
        self.chosen.map(|i| &self.candidates[i])
    }

    /// Every candidate tried and why it was passed over, joined by `sep`.
    pub fn tried(&self, sep: &str) -> String {
        self.candidates
            .iter()
            .map(|c| {
                format!(
                    "{} (from {}): {}",
                    c.path.display(),
                    c.source,
                    c.problem.as_deref().unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// What to do when no candidate ld.so is usable, for the one that ended
    /// the search (as rld-loader's own hint does); `None` when one is usable.
    pub fn no_ld_so_fix(&self) -> Option<LdSoFix> {
        if self.chosen.is_some() {
            return None;
        }
        let last = self.candidates.last()?;
        let system = System::by_name(self.system).expect("resolved for a known system");
        let dev_shell = format!(
            "{} = {}.stdenv.cc.bintools.dynamicLinker;",
            system.dev_shell_nix_ld_var(),
            system.pkgs()
        );
        let from_default = last.source == source_name(Source::Default, system);
        Some(if from_default && last.falls_through {
            LdSoFix {
                text: format!(
                    "set {} in configuration.nix, which installs rld's default ld.so, or in a dev shell set {dev_shell}",
                    system.enable_rld()
                ),
                enable_rld: true,
            }
        } else if from_default {
            LdSoFix {
                text: format!(
                    "rld's default ld.so is damaged: rebuild the system (nixos-rebuild switch), or in a dev shell set {dev_shell}"
                ),
                enable_rld: false,
            }
        } else {
            // A variable's candidate stops the search: enabling rld would
            // change nothing while the variable is set.
            LdSoFix {
                text: format!(
                    "set {} to the ld.so of a glibc for {} (in a dev shell: {dev_shell}), or unset it",
                    last.source, system.nix
                ),
                enable_rld: false,
            }
        })
    }

    /// The variable that gives the library path in place of rld's default,
    /// when it does not name rld's library directory (which
    /// `programs.rld.libraries` fills): where it is set, that option does
    /// not reach programs. `None` when the option reaches them, or when
    /// rld's default is unknown.
    pub fn library_variable_hiding_default(&self) -> Option<&str> {
        let system = System::by_name(self.system).expect("resolved for a known system");
        if self
            .library_path_source
            .starts_with(&source_name(Source::Default, system))
        {
            return None;
        }
        let default = self.defaults.library_path.as_deref()?;
        let rld_dir = default.split(':').next().filter(|d| !d.is_empty())?;
        // The directory under the loader's prefix holds the same libraries
        // (the module's session variables name it, not the store path).
        let prefix_dir = self.defaults.prefix_library_dir.as_deref();
        (!self
            .library_path
            .split(':')
            .any(|d| d == rld_dir || Some(d) == prefix_dir))
        .then_some(self.library_path_source.as_str())
    }

    /// The directories ld.so searches as `LD_LIBRARY_PATH` under rld: the
    /// user's first, then rld's.
    pub fn search_path(&self) -> Vec<(String, &'static str)> {
        let mut dirs = Vec::new();
        if let Some(user) = &self.user_library_path {
            dirs.extend(user.split(':').map(|d| (d.to_owned(), "LD_LIBRARY_PATH")));
        }
        dirs.extend(self.library_path.split(':').map(|d| (d.to_owned(), "rld")));
        dirs
    }
}

/// See [`Settings::no_ld_so_fix`].
#[derive(Clone, Debug)]
pub struct LdSoFix {
    /// What to do, as a sentence.
    pub text: String,
    /// Whether `programs.rld.enable` (and `enable32Bit`) is the fix.
    pub enable_rld: bool,
}

/// Checks a candidate `ld.so` as the loader would, without mapping it. `Err`
/// carries the problem in words and whether the loader tries the next one.
fn check_ld_so(path: &Path, system: &System) -> Result<(), (String, bool)> {
    if system == System::host() {
        // The loader's own checks, from rld-shim, without the mapping.
        let problem = match ldso::check_one(path.as_os_str().as_bytes(), 4096) {
            Ok(_) => return Ok(()),
            Err(p) => p,
        };
        let through = problem.falls_through();
        return Err((problem.to_string(), through));
    }
    // Another system's loader: rld-shim only knows the host's ELF identity,
    // so check class and machine here; the rest is the same glibc ld.so.
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            let missing = e.kind() == std::io::ErrorKind::NotFound;
            return Err((io_words(&e), missing));
        }
    };
    match goblin::elf::Elf::parse_header(&bytes) {
        Err(_) => Err(("not an ELF file".into(), false)),
        Ok(h) => {
            let is_64 = h.e_ident[goblin::elf::header::EI_CLASS] == goblin::elf::header::ELFCLASS64;
            if is_64 != system.is_64 || h.e_machine != system.machine {
                Err((
                    format!(
                        "it is an ld.so for {} ({}-bit); this program needs one for {}",
                        machine_name(h.e_machine),
                        if is_64 { 64 } else { 32 },
                        system.platform
                    ),
                    true,
                ))
            } else if h.e_type != goblin::elf::header::ET_DYN {
                Err((
                    "it is not a position-independent ld.so (ET_DYN)".into(),
                    false,
                ))
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    /// The module's configured loader names its library directory by store
    /// path, its session variables by the path under the loader's prefix:
    /// both are rld's own directory, which `programs.rld.libraries` fills.
    #[test]
    fn the_directory_under_the_prefix_is_rlds_own() {
        let defaults = || LoaderDefaults {
            ld_so: Some("/nix/store/x-glibc/lib/ld-linux-x86-64.so.2".into()),
            library_path: Some(
                "/nix/store/y-rld-libraries/share/rld/lib:/run/opengl-driver/lib".into(),
            ),
            from: "the configuration of rld-loader at /lib64/ld-linux-x86-64.so.2".into(),
            prefix_library_dir: Some("/run/current-system/sw/share/rld/lib".into()),
        };
        let hiding = |value: &str| {
            let env = env(&[("NIX_LD_LIBRARY_PATH", value)]);
            Settings::resolve_with(&env, System::host(), defaults())
                .library_variable_hiding_default()
                .map(str::to_owned)
        };
        assert_eq!(
            hiding("/run/current-system/sw/share/rld/lib:/run/opengl-driver/lib"),
            None
        );
        assert_eq!(hiding("/nix/store/y-rld-libraries/share/rld/lib"), None);
        assert_eq!(hiding("/home/me/libs"), Some("NIX_LD_LIBRARY_PATH".into()));
    }
}
