//! `nixos-root`: runs one program in a fresh NixOS-like root (see
//! `rld_tests::root`), for the demo and for poking at the root by hand.

use rld_tests::root::{self, Builder, Root};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: nixos-root [OPTIONS] [--] PROGRAM [ARGS...]
       nixos-root [OPTIONS] --describe

Runs PROGRAM (a path inside the root) in a fresh NixOS-like root: every
library in /nix/store, nothing at /lib64, /lib or /usr, /bin/sh a patched
bash, Debian's unpatched programs in /opt/debian/bin.

  --loader PATH     install PATH at /lib64/ld-linux-x86-64.so.2 (default:
                    nothing there, as NixOS ships)
  --corpus          add Node.js at /opt/node and CMake at /opt/cmake, as
                    downloaded by scripts/fetch-corpus.sh
  --no-default-dir  leave out /run/current-system/sw/share/rld
  --nix-ld          set NIX_LD and NIX_LD_LIBRARY_PATH to the store
  --env NAME=VALUE  set a variable (repeatable); the environment is
                    otherwise only PATH and HOME=/tmp
  --describe        print the root's layout instead of running anything
";

struct Args {
    builder: Builder,
    nix_ld: bool,
    env: Vec<(String, String)>,
    describe: bool,
    command: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        builder: Builder::new(),
        nix_ld: false,
        env: vec![
            (
                "PATH".into(),
                "/run/current-system/sw/bin:/opt/node/bin:/opt/cmake/bin:/opt/debian/bin".into(),
            ),
            ("HOME".into(), "/tmp".into()),
        ],
        describe: false,
        command: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--loader" => {
                let p = PathBuf::from(it.next().ok_or("--loader needs a path")?);
                let p = p
                    .canonicalize()
                    .map_err(|e| format!("--loader {}: {e}", p.display()))?;
                a.builder = a.builder.loader(Some(&p));
            }
            "--corpus" => a.builder = a.builder.corpus(),
            "--no-default-dir" => a.builder = a.builder.without_default_dir(),
            "--nix-ld" => a.nix_ld = true,
            "--describe" => a.describe = true,
            "--env" => {
                let kv = it.next().ok_or("--env needs NAME=VALUE")?;
                let (k, v) = kv.split_once('=').ok_or("--env needs NAME=VALUE")?;
                a.env.retain(|(name, _)| name != k);
                a.env.push((k.into(), v.into()));
            }
            "-h" | "--help" => return Err(String::new()),
            "--" => {
                a.command.extend(it.by_ref());
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => {
                a.command.push(arg);
                a.command.extend(it.by_ref());
            }
        }
    }
    if a.command.is_empty() && !a.describe {
        return Err("no PROGRAM given".into());
    }
    Ok(a)
}

/// The root's layout, for people. Written in one go so `| head` is fine.
fn describe(root: &Root) {
    let mut out = format!(
        "NixOS-like root built in {} ms ({} store paths):\n",
        root.built_in.as_millis(),
        root.store().len()
    );
    for s in root.store() {
        out += &format!("  {}\n", s.path());
    }
    out += &match root.loader() {
        Some(l) => format!("  {} = {}\n", root::INTERPRETER, l.display()),
        None => format!("  {}: absent (as on NixOS)\n", root::INTERPRETER),
    };
    out += "  /lib, /usr/lib: absent; /bin/sh: bash patched into the store\n";
    out += &format!(
        "  {}/lib/ld.so -> {}\n",
        root::DEFAULT_PREFIX,
        root::glibc_ld_so()
    );
    let _ = std::io::stdout().write_all(out.as_bytes());
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("nixos-root: {e}");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let root = a.builder.build();
    if a.describe {
        describe(&root);
        return ExitCode::SUCCESS;
    }
    let mut env = a.env;
    if a.nix_ld {
        env.extend(root.nix_ld_env());
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut cmd = root.command(&a.command[0], &a.command[1..], &env);
    match cmd.status() {
        Ok(status) => match status.code() {
            Some(c) => ExitCode::from(c as u8),
            None => ExitCode::from(128 + status.signal().unwrap_or(0) as u8),
        },
        Err(e) => {
            match root.failure(&e) {
                Some(why) => eprintln!("nixos-root: {why}"),
                None => eprintln!("nixos-root: exec {}: {e}", a.command[0]),
            }
            ExitCode::from(127)
        }
    }
}
