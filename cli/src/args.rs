//! The command line: every command and flag is documented here, once, with
//! a one-line summary and a longer help.

use std::ffi::OsString;

use crate::error::Error;

pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    pub value: Option<&'static str>,
    /// Commands it applies to; empty means every command.
    pub commands: &'static [&'static str],
    pub summary: &'static str,
    pub help: &'static str,
}

pub const FLAGS: &[Flag] = &[
    Flag {
        long: "json",
        short: None,
        value: None,
        commands: &["doctor", "env"],
        summary: "Print the answer as one JSON object.",
        help: "Print the answer as one JSON object on stdout, for programs. The exit code is the same as without --json.",
    },
    Flag {
        long: "rld",
        short: None,
        value: None,
        commands: &["doctor"],
        summary: "Resolve as `rld run` would, even if the interpreter is another ld.so.",
        help: "By default, a program whose interpreter exists and is a real glibc ld.so (not rld) is resolved with that ld.so and without NIX_LD*, because that is what runs it. With --rld it is resolved as rld-loader or `rld run` would run it: the configured ld.so and NIX_LD_LIBRARY_PATH.",
    },
    Flag {
        long: "no-locate",
        short: None,
        value: None,
        commands: &["doctor"],
        summary: "Do not ask nix-locate about missing libraries.",
        help: "When nix-locate (from nix-index) is on PATH, rld asks it which packages hold each missing library, after rld's own table. --no-locate uses the table only.",
    },
    Flag {
        long: "system",
        short: None,
        value: Some("SYSTEM"),
        commands: &["env"],
        summary: "Show the configuration for another system (i686_linux, …).",
        help: "Show what the rld-loader of SYSTEM would use: x86_64_linux, i686_linux, aarch64_linux or riscv64_linux (or the Nix spelling, i686-linux). The default is the system rld was built for.",
    },
    Flag {
        long: "verbose",
        short: Some('v'),
        value: None,
        commands: &[],
        summary: "Log more (repeat for more: info, debug, trace).",
        help: "Raise the log level by one step per use, from RLD_LOG (or NIX_LD_LOG), or warn when neither is set. Logs go to stderr.",
    },
    Flag {
        long: "quiet",
        short: Some('q'),
        value: None,
        commands: &[],
        summary: "Log errors only (twice: nothing).",
        help: "Lower the log level to error; twice, turn logging off. Reports on stdout are not affected.",
    },
    Flag {
        long: "help",
        short: Some('h'),
        value: None,
        commands: &[],
        summary: "Print help.",
        help: "Print help for rld, or for the command given.",
    },
    Flag {
        long: "version",
        short: Some('V'),
        value: None,
        commands: &[],
        summary: "Print rld's version.",
        help: "Print rld's version and the system and default ld.so it was built for.",
    },
];

pub struct CommandHelp {
    pub name: &'static str,
    pub usage: &'static str,
    pub summary: &'static str,
    pub help: &'static str,
}

pub const COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        name: "doctor",
        usage: "rld doctor [--json] [--rld] [--no-locate] PROGRAM",
        summary: "Say why PROGRAM will or will not run, and what to add.",
        help: "Reads PROGRAM (an executable or a shared object such as a Python extension) with an ELF parser, never by running it: its class, machine and interpreter, whether it is static, musl or a script. Then resolves every DT_NEEDED library the way glibc's ld.so does under rld (RPATH, LD_LIBRARY_PATH, NIX_LD_LIBRARY_PATH, RUNPATH with $ORIGIN, then the ld.so's own directory; /etc/ld.so.cache is not read, as on NixOS), checks the symbol versions each library must define (GLIBC_2.38, …), names the nixpkgs package of each missing library and prints the lines to paste.\n\nExit status: 0 it will run; 1 it will run once something is added (libraries, rld itself, an ld.so, a newer glibc); 2 it cannot run here (missing file, not a program, another architecture, musl) or rld could not examine it.",
    },
    CommandHelp {
        name: "env",
        usage: "rld env [--json] [--system SYSTEM]",
        summary: "Show the ld.so and library path rld-loader would use now.",
        help: "Shows the ld.so rld-loader would use (NIX_LD_{system}, NIX_LD, then the compiled-in default), why earlier candidates were passed over, the library path (NIX_LD_LIBRARY_PATH_{system}, NIX_LD_LIBRARY_PATH, then the default) and the log level, each with the variable or default it came from, and warns about paths that no longer exist (garbage-collected store paths).\n\nExit status: 0 an ld.so is usable; 1 none is, so rld-loader would fail.",
    },
    CommandHelp {
        name: "run",
        usage: "rld run PROGRAM [ARGS...]",
        summary: "Run PROGRAM through the configured ld.so, without rld at /lib64.",
        help: "Runs PROGRAM with the ld.so and library path rld-loader would use, on a machine where rld is not the system interpreter. It does what rld-loader does when run directly: it executes the real ld.so as `ld.so --library-path LIBS PROGRAM ARGS`, where LIBS is your LD_LIBRARY_PATH followed by rld's library path, so the program's and its children's environment is unchanged. /proc/self/exe is then ld.so, not PROGRAM, as with any direct ld.so invocation. A static program or a script is executed as it is. Every argument after PROGRAM goes to the program.\n\nExit status: the program's own; 127 if rld cannot start it.",
    },
];

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Doctor {
        program: OsString,
        json: bool,
        assume_rld: bool,
        locate: bool,
    },
    Env {
        json: bool,
        system: Option<String>,
    },
    Run {
        program: OsString,
        args: Vec<OsString>,
    },
    Help(Option<&'static str>),
    Version,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Args {
    pub command: Command,
    /// Steps above (positive) or below the configured log level.
    pub verbosity: i32,
}

/// Parses the arguments after `argv[0]`.
pub fn parse(args: Vec<OsString>) -> Result<Args, Error> {
    let mut verbosity = 0;
    let mut command: Option<&'static str> = None;
    let mut positional: Vec<OsString> = Vec::new();
    let mut switches: Vec<&'static str> = Vec::new();
    let mut system = None;
    let mut help = false;
    let mut version = false;
    let mut it = args.into_iter();
    let mut only_positional = false;
    while let Some(arg) = it.next() {
        // `rld run PROGRAM ARGS`: everything after PROGRAM is the program's.
        if command == Some("run") && !positional.is_empty() {
            positional.push(arg);
            continue;
        }
        let s = arg.to_string_lossy().into_owned();
        if only_positional || !s.starts_with('-') || s == "-" {
            if command.is_none() {
                command = Some(
                    COMMANDS
                        .iter()
                        .map(|c| c.name)
                        .chain(["help"])
                        .find(|c| *c == s)
                        .ok_or_else(|| {
                            Error::Usage(format!(
                                "unknown command {s:?}; commands: doctor, env, run (see rld --help)"
                            ))
                        })?,
                );
            } else {
                positional.push(arg);
            }
            continue;
        }
        if s == "--" {
            only_positional = true;
            continue;
        }
        let flags: Vec<&'static Flag> = if let Some(long) = s.strip_prefix("--") {
            let (name, _) = long.split_once('=').unwrap_or((long, ""));
            vec![
                FLAGS
                    .iter()
                    .find(|f| f.long == name)
                    .ok_or_else(|| unknown(&s))?,
            ]
        } else {
            s[1..]
                .chars()
                .map(|c| {
                    FLAGS
                        .iter()
                        .find(|f| f.short == Some(c))
                        .ok_or_else(|| unknown(&format!("-{c}")))
                })
                .collect::<Result<_, _>>()?
        };
        for flag in flags {
            if !flag.commands.is_empty() && !command.is_some_and(|c| flag.commands.contains(&c)) {
                return Err(Error::Usage(format!(
                    "--{} belongs to `rld {}`",
                    flag.long,
                    flag.commands.join("` and `rld ")
                )));
            }
            match flag.long {
                "verbose" => verbosity += 1,
                "quiet" => verbosity -= 1,
                "help" => help = true,
                "version" => version = true,
                "system" => {
                    let v = match s.split_once('=') {
                        Some((_, v)) => v.to_owned(),
                        None => it
                            .next()
                            .ok_or_else(|| {
                                Error::Usage("--system needs a value, e.g. i686_linux".into())
                            })?
                            .to_string_lossy()
                            .into_owned(),
                    };
                    system = Some(v);
                }
                other => switches.push(other),
            }
        }
    }
    let has = |name| switches.contains(&name);
    let command = if version {
        Command::Version
    } else if help {
        Command::Help(command.filter(|c| *c != "help"))
    } else {
        match command {
            None => {
                return Err(Error::Usage(
                    "no command given; commands: doctor, env, run (see rld --help)".into(),
                ));
            }
            Some("help") => {
                let topic = positional.first().map(|p| p.to_string_lossy().into_owned());
                let topic = match topic {
                    None => None,
                    Some(t) => Some(
                        COMMANDS
                            .iter()
                            .find(|c| c.name == t)
                            .map(|c| c.name)
                            .ok_or_else(|| {
                                Error::Usage(format!(
                                    "no help for {t:?}: commands are doctor, env, run"
                                ))
                            })?,
                    ),
                };
                Command::Help(topic)
            }
            Some("doctor") => {
                let mut p = positional.into_iter();
                let program = p.next().ok_or_else(|| {
                    Error::Usage("doctor needs a PROGRAM: rld doctor PROGRAM".into())
                })?;
                if let Some(extra) = p.next() {
                    return Err(Error::Usage(format!(
                        "doctor takes one PROGRAM, got another: {extra:?}"
                    )));
                }
                Command::Doctor {
                    program,
                    json: has("json"),
                    assume_rld: has("rld"),
                    locate: !has("no-locate"),
                }
            }
            Some("env") => {
                if let Some(extra) = positional.first() {
                    return Err(Error::Usage(format!(
                        "env takes no argument, got {extra:?}"
                    )));
                }
                Command::Env {
                    json: has("json"),
                    system,
                }
            }
            Some(_) => {
                let mut p = positional.into_iter();
                let program = p.next().ok_or_else(|| {
                    Error::Usage("run needs a PROGRAM: rld run PROGRAM [ARGS...]".into())
                })?;
                Command::Run {
                    program,
                    args: p.collect(),
                }
            }
        }
    };
    Ok(Args { command, verbosity })
}

fn unknown(flag: &str) -> Error {
    Error::Usage(format!("unknown flag {flag} (see rld --help)"))
}

/// `rld --help` or `rld COMMAND --help`.
pub fn help(command: Option<&str>) -> String {
    let mut o = String::new();
    let flags_for = |name: Option<&str>| -> Vec<&'static Flag> {
        FLAGS
            .iter()
            .filter(|f| match name {
                Some(n) => f.commands.contains(&n) || f.commands.is_empty(),
                None => f.commands.is_empty(),
            })
            .collect()
    };
    let flag_name = |f: &Flag| {
        let mut s = String::new();
        if let Some(c) = f.short {
            s.push_str(&format!("-{c}, "));
        }
        s.push_str(&format!("--{}", f.long));
        if let Some(v) = f.value {
            s.push_str(&format!(" {v}"));
        }
        s
    };
    match command.and_then(|n| COMMANDS.iter().find(|c| c.name == n)) {
        None => {
            o.push_str(&format!(
                "rld {}: run and diagnose unpatched Linux binaries on NixOS\n\nUSAGE:\n    rld [-v|-q] COMMAND [FLAGS] [ARGS]\n\nCOMMANDS:\n",
                rld_shim::VERSION
            ));
            for c in COMMANDS {
                o.push_str(&format!("    {:8}{}\n", c.name, c.summary));
            }
            o.push_str("    help    Print help for a command.\n\nFLAGS:\n");
            for f in flags_for(None) {
                o.push_str(&format!("    {:18}{}\n", flag_name(f), f.summary));
            }
            o.push_str("\nRLD_LOG (or NIX_LD_LOG) sets the log level: error, warn (default), info, debug, trace.\nExit status: see `rld COMMAND --help`; a usage error exits 2.\n");
        }
        Some(c) => {
            o.push_str(&format!("{}\n\nUSAGE:\n    {}\n\n", c.summary, c.usage));
            for para in c.help.split("\n\n") {
                o.push_str(&wrap(para, 80, ""));
                o.push('\n');
            }
            o.push_str("FLAGS:\n");
            for f in flags_for(Some(c.name)) {
                o.push_str(&format!("    {}\n", flag_name(f)));
                o.push_str(&wrap(f.help, 80, "        "));
            }
        }
    }
    o
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        if line.len() > indent.len() && line.len() + 1 + word.len() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if line.len() > indent.len() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, Error> {
        parse(args.iter().map(OsString::from).collect())
    }

    #[test]
    fn run_passes_everything_after_program_through() {
        let a = p(&["-v", "run", "prog", "--help", "-q", "--", "x"]).unwrap();
        assert_eq!(
            a.command,
            Command::Run {
                program: "prog".into(),
                args: ["--help", "-q", "--", "x"].map(OsString::from).to_vec()
            }
        );
        assert_eq!(a.verbosity, 1);
    }

    #[test]
    fn doctor_flags_and_errors() {
        let a = p(&["doctor", "--json", "./x", "-qq"]).unwrap();
        assert_eq!(a.verbosity, -2);
        assert!(matches!(
            a.command,
            Command::Doctor {
                json: true,
                assume_rld: false,
                locate: true,
                ..
            }
        ));
        assert!(p(&["doctor"]).is_err());
        assert!(p(&["doctor", "a", "b"]).is_err());
        assert!(p(&["env", "--rld"]).is_err());
        assert!(p(&["--json", "doctor", "x"]).is_err());
        assert!(p(&["frobnicate"]).is_err());
        assert!(p(&[]).is_err());
    }

    #[test]
    fn help_and_version_win() {
        assert_eq!(
            p(&["doctor", "--help"]).unwrap().command,
            Command::Help(Some("doctor"))
        );
        assert_eq!(
            p(&["help", "run"]).unwrap().command,
            Command::Help(Some("run"))
        );
        assert_eq!(p(&["-V"]).unwrap().command, Command::Version);
        assert_eq!(
            p(&["env", "--system=i686_linux"]).unwrap().command,
            Command::Env {
                json: false,
                system: Some("i686_linux".into())
            }
        );
    }

    #[test]
    fn every_flag_appears_in_some_help() {
        for f in FLAGS {
            let shown = std::iter::once(None)
                .chain(COMMANDS.iter().map(|c| Some(c.name)))
                .any(|c| help(c).contains(&format!("--{}", f.long)));
            assert!(shown, "--{} is in no help text", f.long);
        }
    }
}
