//! The command line, with clap: every command and flag is documented here,
//! once, with a one-line summary (`-h`) and a longer help (`--help`, the man
//! page).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::LazyLock;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::error::Error;
use crate::system::{SYSTEMS, System};

/// Run and diagnose unpatched Linux binaries on NixOS.
///
/// RLD_LOG (or NIX_LD_LOG) sets the log level: off, error, warn (the
/// default), info, debug, trace; -v and -q move it. Log lines go to stderr
/// as `rld: LEVEL: message`.
#[derive(Debug, Parser)]
#[command(
    name = "rld",
    override_usage = "rld [-v|-q] COMMAND [FLAGS] [ARGS]",
    propagate_version = true,
    subcommand_required = true,
    max_term_width = 100,
    after_help = "Exit status: see `rld COMMAND --help`; a usage error exits 2."
)]
pub struct Cli {
    /// Log more (repeat for more: info, debug, trace).
    ///
    /// Raise the log level by one step per use, from RLD_LOG (or
    /// NIX_LD_LOG), or warn when neither is set. Logs go to stderr.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Log less (errors only; twice: no log lines).
    ///
    /// Lower the log level by one step per use: -q logs errors only, -qq
    /// logs nothing. Reports on stdout are not affected, and neither is the
    /// line that says why rld itself failed (`rld: cannot run …`, a usage
    /// error): it is the only explanation of the exit status.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub quiet: u8,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Steps above (positive) or below the configured log level.
    pub fn verbosity(&self) -> i32 {
        i32::from(self.verbose) - i32::from(self.quiet)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Say why PROGRAM will or will not run, and what to add.
    ///
    /// Reads PROGRAM (an executable or a shared object such as a Python
    /// extension) with an ELF parser, never by running it: its class, machine
    /// and interpreter, whether it is static, musl or a script. Then resolves
    /// every DT_NEEDED library the way glibc's ld.so does under rld (RPATH,
    /// LD_LIBRARY_PATH, NIX_LD_LIBRARY_PATH, RUNPATH with $ORIGIN, then the
    /// ld.so's own directory; /etc/ld.so.cache is not read, as on NixOS),
    /// checks the symbol versions each library must define (GLIBC_2.38, …),
    /// names the nixpkgs package of each missing library and prints the lines
    /// to paste. It also names libraries the program may load at run time
    /// (dlopen): hints, which never change the verdict.
    ///
    /// Given a directory (an unpacked app, node_modules, site-packages) or
    /// several paths, it does this for every ELF file in them and reports
    /// the union: each missing library once, with the files that need it,
    /// and one snippet for all of them. Files for another machine, musl and
    /// static programs are named in a note.
    ///
    /// Exit status: 0 it will run; 1 it will run once something is added
    /// (libraries, rld itself, an ld.so, a newer glibc) or changed (the
    /// execute permission: chmod +x); 2 it cannot run here (missing file, not
    /// a program, another architecture, musl) or rld could not examine it.
    #[command(
        override_usage = "rld doctor [--json] [--rld] [--no-locate] [--no-hints] PROGRAM|DIR..."
    )]
    Doctor(DoctorArgs),

    /// Show the ld.so and library path rld-loader would use now.
    ///
    /// Shows the ld.so rld-loader would use (NIX_LD_{system}, NIX_LD, then
    /// the compiled-in default), why earlier candidates were passed over, the
    /// library path (NIX_LD_LIBRARY_PATH_{system}, NIX_LD_LIBRARY_PATH, then
    /// the default) and the log level, each with the variable or default it
    /// came from, and warns about paths that no longer exist
    /// (garbage-collected store paths).
    ///
    /// Exit status: 0 an ld.so is usable; 1 none is, so rld-loader would
    /// fail.
    #[command(override_usage = "rld env [--json] [--system SYSTEM] [--loader PATH]")]
    Env(EnvArgs),

    /// Run PROGRAM through the configured ld.so, without rld at /lib64.
    ///
    /// Runs PROGRAM with the ld.so and library path rld-loader would use, on
    /// a machine where rld is not the system interpreter. It does what
    /// rld-loader does when run directly: it executes the real ld.so as
    /// `ld.so --library-path LIBS PROGRAM ARGS`, where LIBS is your
    /// LD_LIBRARY_PATH followed by rld's library path, so the program's and
    /// its children's environment is unchanged. /proc/self/exe is then
    /// ld.so, not PROGRAM, as with any direct ld.so invocation. A static
    /// program or a script is executed as it is. Every argument after
    /// PROGRAM goes to the program.
    ///
    /// Exit status: the program's own; 127 if rld cannot start it.
    #[command(override_usage = "rld run PROGRAM [ARGS...]")]
    Run(RunArgs),

    /// List the libraries rld provides, as glibc's `ldconfig -p` does.
    ///
    /// With -p (--print-cache), prints the libraries in rld's configuration
    /// in the format of glibc's `ldconfig -p`, which Python's
    /// ctypes.util.find_library and other programs parse: a header line, then
    /// one line per library, `<TAB>libz.so.1 (libc6,x86-64) => /dir/libz.so.1`,
    /// sorted as glibc sorts its cache. The libraries are those in the
    /// directories rld-loader gives ld.so: its library path
    /// (NIX_LD_LIBRARY_PATH_{system}, NIX_LD_LIBRARY_PATH, then the default
    /// directory), then the directory of the ld.so it uses, where glibc's own
    /// libraries are; 32-bit ones (tagged `libc6`) too when an i686
    /// configuration has a usable ld.so. The first directory holding a name
    /// wins, as for ld.so. The header names /etc/ld.so.cache, as glibc's
    /// does; no such file is read or written. With programs.rld.ldconfig.enable
    /// the NixOS module installs this as /sbin/ldconfig.
    ///
    /// Without -p, ldconfig would rebuild its cache. NixOS has none, so rld
    /// prints one note on stderr and exits 0: scripts that run ldconfig after
    /// installing a library keep working. glibc's other flags are accepted
    /// and ignored.
    ///
    /// Exit status: 0; a usage error (an unknown flag) exits 2.
    #[command(override_usage = "rld ldconfig [-p|--print-cache] [GLIBC-LDCONFIG-FLAGS...]")]
    Ldconfig(LdconfigArgs),

    /// Print a shell completion script.
    ///
    /// Prints the completion script for SHELL on stdout. For bash, e.g.
    /// `rld completions bash > ~/.local/share/bash-completion/completions/rld`;
    /// for zsh, put `rld completions zsh` in a file `_rld` on $fpath; for
    /// fish, in ~/.config/fish/completions/rld.fish.
    ///
    /// Exit status: 0.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Write a copy of rld-loader configured with an ld.so and library path.
    ///
    /// Writes OUTPUT, a copy of the rld-loader LOADER whose configuration
    /// area names LD_SO and LIBRARY_PATH: through it, a start with no
    /// NIX_LD* variable (a service, `env -i`, a sandbox, a setuid program)
    /// uses them instead of the compiled-in defaults, with no system call
    /// to find them. The NixOS module builds one per system generation with
    /// that generation's store paths, so a start never mixes two
    /// generations. Variables still win where they apply, as ever.
    ///
    /// Exit status: 0 written; 2 a usage error, a LOADER that is not an
    /// unconfigured rld-loader, or paths that are not absolute.
    #[command(
        name = "configure-loader",
        override_usage = "rld configure-loader LOADER --ld-so LD_SO --library-path DIR[:DIR...] --output OUTPUT"
    )]
    ConfigureLoader(LoaderCopy),

    /// Experimental: write a fused interpreter, rld-loader with LD_SO inside.
    ///
    /// Writes OUTPUT, a copy of the rld-loader LOADER configured as
    /// `configure-loader` configures it, with the glibc ld.so LD_SO embedded
    /// byte for byte: the kernel maps both in the one exec, and a start
    /// whose ld.so is LD_SO (by path) maps nothing more, so rld costs no
    /// system call of its own. Any other NIX_LD is mapped as ever. LOADER
    /// must be built with the `fused` feature. Debuggers see LD_SO's
    /// section headers in OUTPUT, moved to where the kernel maps them.
    ///
    /// Exit status: 0 written; 1 LD_SO cannot be embedded (another
    /// architecture, not an ld.so, a layout the kernel could not map in
    /// one file); 2 a usage error, a LOADER that is not an unconfigured
    /// rld-loader built with the `fused` feature, paths that are not
    /// absolute, or a file that cannot be read or written.
    #[command(
        name = "fuse",
        override_usage = "rld fuse LOADER --ld-so LD_SO --library-path DIR[:DIR...] --output OUTPUT"
    )]
    Fuse(LoaderCopy),

    /// Print rld's manual page (roff) on stdout.
    ///
    /// Prints the manual page of rld, or of one of its commands, as roff,
    /// for packagers: `rld man > rld.1`, `rld man doctor > rld-doctor.1`.
    /// Read it with `rld man | man -l -`.
    ///
    /// Exit status: 0.
    Man {
        /// The command whose page to print; rld's own when not given.
        #[arg(value_parser = PossibleValuesParser::new([
            "doctor",
            "env",
            "run",
            "ldconfig",
            "completions",
            "configure-loader",
            "fuse",
        ]))]
        command: Option<String>,
    },
}

/// What `configure-loader` and `fuse` write: a copy of a loader with its
/// defaults.
#[derive(Debug, clap::Args)]
pub struct LoaderCopy {
    /// The rld-loader to copy, as built (for `fuse`, with its `fused`
    /// feature).
    #[arg(value_name = "LOADER", value_hint = clap::ValueHint::FilePath)]
    pub loader: PathBuf,
    /// The ld.so its starts use by default: a glibc ld.so of its
    /// architecture (for `fuse`, also the one embedded; the path is what
    /// the loader compares).
    #[arg(long = "ld-so", value_name = "LD_SO")]
    pub ld_so: PathBuf,
    /// The library path its starts get by default: absolute directories
    /// separated by `:`, raw ones such as /run/opengl-driver/lib included.
    #[arg(long = "library-path", value_name = "DIR[:DIR...]")]
    pub library_path: std::ffi::OsString,
    /// Where to write the copy.
    #[arg(long, short, value_name = "OUTPUT")]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print the answer as one JSON object.
    ///
    /// Print the answer as one JSON object on stdout, for programs. The exit
    /// code is the same as without --json.
    #[arg(long)]
    pub json: bool,

    /// Resolve as `rld run` would, even if the interpreter is another ld.so.
    ///
    /// By default, a program whose interpreter exists and is a real glibc
    /// ld.so (not rld) is resolved with that ld.so and without NIX_LD*,
    /// because that is what runs it. With --rld it is resolved as rld-loader
    /// or `rld run` would run it: the configured ld.so and
    /// NIX_LD_LIBRARY_PATH.
    #[arg(long = "rld")]
    pub assume_rld: bool,

    /// Do not ask nix-locate about missing libraries.
    ///
    /// When nix-locate (from nix-index) is on PATH, rld asks it which
    /// packages hold each missing library, after rld's own table.
    /// --no-locate uses the table only.
    #[arg(long)]
    pub no_locate: bool,

    /// Do not look for libraries loaded at run time (dlopen).
    ///
    /// By default rld scans the read-only data of each ELF file for the
    /// sonames of libraries commonly loaded with dlopen (libGL.so.1,
    /// libvulkan.so.1, libasound.so.2, …) and lists those not found as
    /// hints. --no-hints skips the scan.
    #[arg(long)]
    pub no_hints: bool,

    /// The programs, shared objects or directories to examine.
    ///
    /// A program or shared object, a name looked up in PATH, or a directory,
    /// walked recursively (symlinks to directories are followed once).
    #[arg(value_name = "PROGRAM|DIR", required = true, num_args = 1.., value_hint = clap::ValueHint::AnyPath)]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    /// Print the answer as one JSON object.
    ///
    /// Print the answer as one JSON object on stdout, for programs. The exit
    /// code is the same as without --json.
    #[arg(long)]
    pub json: bool,

    /// Show the configuration for another system (i686-linux, …).
    ///
    /// Show what the rld-loader of SYSTEM would use: x86_64-linux,
    /// i686-linux, aarch64-linux or riscv64-linux (or as in the variable
    /// names, i686_linux). The default is the system rld was built for.
    #[arg(long, value_name = "SYSTEM", value_parser = system_parser())]
    pub system: Option<&'static System>,

    /// Model the rld-loader at PATH instead of the installed one.
    ///
    /// By default rld models the rld-loader installed at the system's
    /// interpreter path (/lib64/ld-linux-x86-64.so.2, /lib/ld-linux.so.2, …)
    /// and reads its compiled-in defaults from it. With --loader it reads
    /// them from the rld-loader at PATH, for example a build not installed
    /// yet. Without --system, the system is PATH's architecture.
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub loader: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct LdconfigArgs {
    /// Print the libraries rld provides, in `ldconfig -p` format.
    ///
    /// Print the libraries in rld's configuration as glibc's `ldconfig -p`
    /// prints its cache.
    #[arg(short = 'p', long = "print-cache")]
    pub print_cache: bool,

    // glibc's flags for rebuilding the cache (and its directories), which
    // scripts pass: accepted so that they keep working, and ignored, as
    // NixOS has no cache. The command's help says so.
    #[arg(short = 'n', hide = true)]
    pub only_dirs: bool,
    #[arg(short = 'N', hide = true)]
    pub no_cache: bool,
    #[arg(short = 'X', hide = true)]
    pub no_links: bool,
    #[arg(short = 'i', long = "ignore-aux-cache", hide = true)]
    pub ignore_aux_cache: bool,
    #[arg(short = 'l', hide = true)]
    pub library_mode: bool,
    #[arg(short = 'f', value_name = "CONF", hide = true)]
    pub conf: Option<OsString>,
    #[arg(short = 'C', value_name = "CACHE", hide = true)]
    pub cache: Option<OsString>,
    #[arg(short = 'r', value_name = "ROOT", hide = true)]
    pub root: Option<OsString>,
    #[arg(short = 'c', long = "format", value_name = "FORMAT", hide = true)]
    pub format: Option<OsString>,
    #[arg(value_name = "DIR", hide = true)]
    pub dirs: Vec<OsString>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The program to run, then its arguments: every argument after PROGRAM
    /// is the program's, flags included.
    #[arg(
        value_name = "PROGRAM",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        value_hint = clap::ValueHint::CommandWithArguments
    )]
    pub command: Vec<OsString>,
}

impl RunArgs {
    pub fn program(&self) -> &OsString {
        &self.command[0]
    }

    pub fn args(&self) -> &[OsString] {
        &self.command[1..]
    }
}

/// `--system`: a `{system}` suffix or its Nix spelling.
fn system_parser() -> impl TypedValueParser<Value = &'static System> {
    let names = SYSTEMS.iter().flat_map(|s| [s.name, s.nix]);
    PossibleValuesParser::new(names)
        .map(|name| System::by_name(&name).expect("only known names are possible"))
}

/// `rld --version`: the version, and the system and default ld.so rld was
/// built for.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} ({}; default ld.so {})",
        rld_shim::VERSION,
        System::host().nix,
        rld_shim::DEFAULT_LD_SO
    )
});

/// The command line as clap sees it, with the version filled in.
pub fn command() -> clap::Command {
    Cli::command().version(VERSION.as_str())
}

/// What to do after parsing: run a command, or print help or the version.
#[derive(Debug)]
pub enum Parsed {
    Run(Cli),
    /// `--help`, `-h`, `help`, `--version`, `-V`: the text for stdout.
    Print(String),
}

/// Parses the arguments after `argv[0]`.
pub fn parse(args: Vec<OsString>) -> Result<Parsed, Error> {
    let mut cmd = command();
    // The command a usage error is about: the first argument that names one.
    let names: Vec<String> = cmd.get_subcommands().map(|c| c.get_name().into()).collect();
    let about = args
        .iter()
        .find_map(|a| names.iter().find(|n| a.as_os_str() == n.as_str()).cloned());
    let argv = std::iter::once(OsString::from("rld")).chain(args);
    let matches = match cmd.try_get_matches_from_mut(argv) {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            // Colour only on a terminal, and not under NO_COLOR.
            let styled = e.render();
            let text = if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            {
                styled.ansi().to_string()
            } else {
                styled.to_string()
            };
            return Ok(Parsed::Print(text));
        }
        Err(e) => return Err(usage_error(&e, &mut cmd, about.as_deref())),
    };
    let cli =
        Cli::from_arg_matches(&matches).map_err(|e| usage_error(&e, &mut cmd, about.as_deref()))?;
    let empty = match &cli.command {
        Command::Doctor(d) => d.paths.iter().any(|p| p.as_os_str().is_empty()),
        Command::Run(r) => r.program().is_empty(),
        _ => false,
    };
    if empty {
        let e = clap::Error::raw(
            ErrorKind::InvalidValue,
            "PROGRAM is empty: give the name or path of a program\n",
        );
        return Err(usage_error(&e, &mut cmd, about.as_deref()));
    }
    Ok(Parsed::Run(cli))
}

/// clap's error as rld's two lines: what is wrong (with clap's tips), then
/// the usage of the command it is about and the help to read.
fn usage_error(e: &clap::Error, cmd: &mut clap::Command, about: Option<&str>) -> Error {
    let mut what = String::new();
    let mut tips = Vec::new();
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        what = format!("no command given; commands: {}", names.join(", "));
    } else {
        for line in e.render().to_string().lines().map(str::trim) {
            if let Some(m) = line.strip_prefix("error: ") {
                what.push_str(m);
            } else if let Some(t) = line.strip_prefix("tip: ") {
                tips.push(t.to_owned());
            } else if line.is_empty()
                || line.starts_with("Usage: ")
                || line.starts_with("For more information")
            {
                // rld's own usage line follows.
            } else {
                // The list after "the following required arguments were
                // not provided:".
                what.push(' ');
                what.push_str(line);
            }
        }
    }
    if let Some(hint) = flag_of_another_command(e, cmd) {
        tips.push(hint);
    }
    if !tips.is_empty() {
        what = format!("{what} ({})", tips.join("; "));
    }
    let (path, usage) = match about.and_then(|name| cmd.find_subcommand_mut(name)) {
        Some(sub) => (format!("rld {}", sub.get_name()), sub.render_usage()),
        None => ("rld".to_owned(), cmd.render_usage()),
    };
    let usage = usage.to_string();
    let usage = usage.trim().trim_start_matches("Usage: ");
    Error::Usage(format!("{what}\nrld: usage: {usage}; see `{path} --help`"))
}

/// `rld env --rld`: say which command `--rld` belongs to.
fn flag_of_another_command(e: &clap::Error, cmd: &clap::Command) -> Option<String> {
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.strip_prefix("--")?.split('=').next()?;
    let owners: Vec<String> = cmd
        .get_subcommands()
        .filter(|c| c.get_arguments().any(|a| a.get_long() == Some(long)))
        .map(|c| format!("`rld {}`", c.get_name()))
        .collect();
    (!owners.is_empty()).then(|| format!("--{long} is a flag of {}", owners.join(" and ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Cli, Error> {
        match parse(args.iter().map(OsString::from).collect())? {
            Parsed::Run(cli) => Ok(cli),
            Parsed::Print(text) => panic!("{args:?} printed {text}"),
        }
    }

    fn usage(args: &[&str]) -> String {
        match p(args) {
            Err(Error::Usage(m)) => m,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn clap_accepts_the_command_line() {
        command().debug_assert();
    }

    #[test]
    fn run_passes_everything_after_program_through() {
        let a = p(&["-v", "run", "prog", "--help", "-q", "--", "x"]).unwrap();
        let Command::Run(run) = &a.command else {
            panic!("{a:?}")
        };
        assert_eq!(run.program(), "prog");
        assert_eq!(run.args(), ["--help", "-q", "--", "x"]);
        assert_eq!(a.verbosity(), 1);
        let a = p(&["run", "-q", "prog", "-v"]).unwrap();
        assert_eq!(a.verbosity(), -1);
        let Command::Run(run) = &a.command else {
            panic!("{a:?}")
        };
        assert_eq!(run.args(), ["-v"]);
    }

    #[test]
    fn doctor_flags_and_errors() {
        let a = p(&["doctor", "--json", "./x", "-qq"]).unwrap();
        assert_eq!(a.verbosity(), -2);
        let Command::Doctor(d) = &a.command else {
            panic!("{a:?}")
        };
        assert!(d.json && !d.assume_rld && !d.no_locate);
        assert!(p(&["doctor"]).is_err());
        let a = p(&["doctor", "a", "--no-hints", "b"]).unwrap();
        let Command::Doctor(d) = &a.command else {
            panic!("{a:?}")
        };
        assert_eq!(d.paths, [PathBuf::from("a"), PathBuf::from("b")]);
        assert!(d.no_hints);
        assert!(usage(&["doctor", "a", ""]).contains("PROGRAM|DIR"));
        assert!(usage(&["env", "--rld"]).contains("--rld is a flag of `rld doctor`"));
        assert!(usage(&["--json", "doctor", "x"]).contains("`rld doctor` and `rld env`"));
        assert!(p(&["frobnicate"]).is_err());
        assert!(p(&[]).is_err());
        // A flag without a value takes none.
        assert!(usage(&["doctor", "--json=no", "x"]).contains("--json"));
        assert!(usage(&["doctor", "--rld=false", "x"]).contains("--rld"));
        assert!(usage(&["doctor", "--bogus", "x"]).ends_with("see `rld doctor --help`"));
    }

    #[test]
    fn ldconfig_takes_glibcs_flags() {
        for (args, print) in [
            (&["ldconfig", "-p"][..], true),
            (&["ldconfig", "--print-cache"], true),
            (&["ldconfig"], false),
            (&["ldconfig", "-v"], false),
            (&["ldconfig", "-n", "/opt/lib", "-N", "-X", "-i"], false),
            (
                &[
                    "ldconfig",
                    "-C",
                    "/tmp/c",
                    "-f",
                    "/etc/ld.so.conf",
                    "-r",
                    "/",
                ],
                false,
            ),
            (&["ldconfig", "-c", "new", "-l", "libfoo.so.1"], false),
        ] {
            let a = p(args).unwrap();
            let Command::Ldconfig(l) = &a.command else {
                panic!("{a:?}")
            };
            assert_eq!(l.print_cache, print, "{args:?}");
        }
        let e = usage(&["ldconfig", "--bogus"]);
        assert!(e.ends_with("see `rld ldconfig --help`"), "{e}");
        assert!(usage(&["ldconfig", "-Z"]).contains("-Z"));
    }

    #[test]
    fn systems_are_parsed() {
        let a = p(&["env", "--system=i686-linux"]).unwrap();
        let Command::Env(e) = &a.command else {
            panic!("{a:?}")
        };
        assert_eq!(e.system.map(|s| s.name), Some("i686_linux"));
        assert!(usage(&["env", "--system", "sparc"]).contains("sparc"));
    }

    #[test]
    fn help_and_version_print() {
        for args in [&["doctor", "--help"][..], &["help", "run"], &["-V"]] {
            let parsed = parse(args.iter().map(OsString::from).collect()).unwrap();
            assert!(matches!(parsed, Parsed::Print(_)), "{args:?}");
        }
    }
}
