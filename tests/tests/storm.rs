//! The start storm: thousands of starts through rld, several at once, with
//! huge, empty and ordinary environments, through `NIX_LD`, the compiled-in
//! default and a configured loader. Every start must succeed and print what
//! it was given, and each one checks from inside (`fixtures/storm.c`) that
//! nothing of rld's survives into `main` but rld-loader's own image (the
//! trampoline lives there): no descriptor, no file mapping, and no
//! anonymous memory beyond what the same program started natively has,
//! except what the design keeps: the page of a library path rld had to
//! build, and, when rld runs `ld.so` as if by hand, the kernel's unused
//! copy of the program that `ld.so` then maps again. The README's "What of
//! rld stays in a program" says why.
//!
//! The native start of each case gets exactly the library path rld hands
//! `ld.so` (as `LD_LIBRARY_PATH`, or as `--library-path` to `ld.so` run by
//! hand where rld runs it so), so `ld.so` allocates the same in both and
//! the memory maps can be compared byte for byte.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use rld_tests::*;

const STARTS: usize = 4000;
const THREADS: usize = 8;
const PAGE: u64 = 4096;

/// Bytes and pieces of the memory map by (owner, permissions), from the
/// fixture's `map.OWNER.PERMS=COUNT BYTES` lines.
type Tally = BTreeMap<(String, String), (u64, u64)>;

fn tally(o: &Outcome) -> Tally {
    o.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("map."))
        .filter_map(|l| {
            let (key, value) = l.split_once('=')?;
            let (owner, perms) = key.split_once('.')?;
            let (count, bytes) = value.split_once(' ')?;
            Some((
                (owner.to_owned(), perms.to_owned()),
                (count.parse().ok()?, bytes.parse().ok()?),
            ))
        })
        .collect()
}

/// The same tally with counts dropped, and rld-loader's image and the
/// kernel's unused copy of the program (checked on their own) left out:
/// what must equal a native start's. Counts can differ without anything
/// left behind: an anonymous page of rld's next to one of `ld.so`'s is one
/// line of /proc/self/maps, not two.
fn compared(t: &Tally) -> BTreeMap<(String, String), u64> {
    t.iter()
        .filter(|((owner, _), _)| owner != "interp" && owner != "exe")
        .map(|(k, &(_, bytes))| (k.clone(), bytes))
        .collect()
}

/// The bytes `owner` has in `t`, all permissions together.
fn owned(t: &Tally, owner: &str) -> u64 {
    t.iter()
        .filter(|((o, _), _)| o == owner)
        .map(|(_, &(_, bytes))| bytes)
        .sum()
}

/// rld-loader's image as the kernel maps it: the number of `PT_LOAD`
/// segments and the page-rounded span they cover.
fn image(loader: &Path) -> (u64, u64) {
    let bytes = fs::read(loader).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
        .collect();
    let lo = loads.iter().map(|p| p.p_vaddr).min().unwrap() / PAGE * PAGE;
    let hi = loads.iter().map(|p| p.p_vaddr + p.p_memsz).max().unwrap();
    (loads.len() as u64, hi.div_ceil(PAGE) * PAGE - lo)
}

/// The fixture's digest of an environment: the wrapping sum of each
/// `NAME=value` entry's FNV-1a.
fn digest(env: &[(String, String)]) -> String {
    let sum = env.iter().fold(0u64, |sum, (k, v)| {
        let h = format!("{k}={v}")
            .bytes()
            .fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100000001b3)
            });
        sum.wrapping_add(h)
    });
    format!("{sum:016x}")
}

/// Descriptors this test process holds without close-on-exec, as
/// `fd target`: whatever started the test passed them on, and every child
/// (native ones too) gets them. Anything else open in a child is a leak.
fn inherited_fds() -> Vec<String> {
    let mut fds = Vec::new();
    for entry in fs::read_dir("/proc/self/fd").unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let fd: u32 = name.parse().unwrap();
        // Gone already: read_dir's own descriptor.
        let Ok(info) = fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
            continue;
        };
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .map(|f| u32::from_str_radix(f.trim(), 8).unwrap())
            .unwrap();
        const O_CLOEXEC: u32 = 0o2000000;
        if fd > 2 && flags & O_CLOEXEC == 0 {
            let target = fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
            fds.push(format!("{fd} {}", target.display()));
        }
    }
    fds
}

/// One kind of start, repeated through the storm.
struct Case {
    name: String,
    prog: PathBuf,
    env: Vec<(String, String)>,
    /// The user's `LD_LIBRARY_PATH`, as the program must see it.
    user_library_path: Option<String>,
    /// rld-loader's `PT_LOAD` count and span.
    image: (u64, u64),
    /// Anonymous read-write bytes rld keeps beyond a native start by
    /// design: the page holding a library path it had to build.
    kept: u64,
    /// Whether rld runs ld.so as if by hand (no environment word can carry
    /// the library path): ld.so maps the program again, and the native
    /// start to compare with is ld.so run by hand too.
    by_hand: bool,
    /// The native start's bytes by owner and permissions.
    native: BTreeMap<(String, String), u64>,
}

impl Case {
    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// What is wrong with one start of this case, if anything.
    fn check(&self, o: &Outcome, inherited: &[String]) -> Result<(), String> {
        let fail = |what: String| Err(format!("{}: {what}\n{o:#?}", self.name));
        if o.code != Some(0) || !o.stderr.is_empty() {
            return fail("did not exit 0 quietly".into());
        }
        let v = o.values();
        let expect = [
            ("verdict", "ok".to_owned()),
            ("fd.std", "3".to_owned()),
            ("plugin", "42".to_owned()),
            ("env.count", self.env.len().to_string()),
            ("env.digest", digest(&self.env)),
            (
                "ld_library_path",
                self.user_library_path
                    .clone()
                    .unwrap_or_else(|| "<unset>".into()),
            ),
        ];
        for (key, want) in expect {
            if v.get(key) != Some(&want) {
                return fail(format!("{key} is {:?}, want {want:?}", v.get(key)));
            }
        }
        for l in o.stdout.lines() {
            if let Some(fd) = l.strip_prefix("fd.inherited=")
                && !inherited.iter().any(|i| i == fd)
            {
                return fail(format!("descriptor {fd} open in main"));
            }
        }
        let t = tally(o);
        let interp = t
            .iter()
            .filter(|((owner, _), _)| owner == "interp")
            .fold((0, 0), |(c, b), (_, &(count, bytes))| {
                (c + count, b + bytes)
            });
        if interp != self.image {
            return fail(format!(
                "rld-loader's image: {interp:?} (mappings, bytes), want {:?}",
                self.image
            ));
        }
        let (exe, program) = (owned(&t, "exe"), owned(&t, "program"));
        if self.by_hand && exe != program {
            return fail(format!(
                "the kernel's copy of the program: {exe} bytes, the program: {program}"
            ));
        }
        if !self.by_hand && exe != 0 {
            return fail(format!("the program is mapped twice ({exe} bytes more)"));
        }
        let mut want = self.native.clone();
        *want.entry(("anon".into(), "rw-p".into())).or_default() += self.kept;
        let got = compared(&t);
        if got != want {
            return fail(format!(
                "memory beyond a native start's: got {got:?}, want {want:?}"
            ));
        }
        Ok(())
    }
}

/// How a case's program reaches ld.so.
struct Through {
    /// The fixture, its interpreter the loader below.
    prog: PathBuf,
    /// The fixture started natively, with the same RUNPATH.
    native: PathBuf,
    loader: PathBuf,
    /// The library path rld adds.
    library_path: String,
}

impl Case {
    /// The case, with its native start measured.
    fn new(name: &str, through: &Through, env: Vec<(String, String)>, args: &[String]) -> Case {
        let user_library_path = env
            .iter()
            .find(|(k, _)| k == "LD_LIBRARY_PATH")
            .map(|(_, v)| v.clone());
        let user = user_library_path.as_deref().filter(|u| !u.is_empty());
        let newline = env
            .iter()
            .any(|(k, v)| k == "NIX_LD_LIBRARY_PATH" && v.ends_with('\n'));
        // rld builds the string only when it must join the user's value
        // to its own or drop a trailing newline (loader/src/raw.rs).
        let kept = if user.is_some() || newline { PAGE } else { 0 };
        // The words rld may lend (shim-lib/src/launch.rs, choose_lend).
        let by_hand = !env.iter().any(|(k, _)| {
            k == "LD_LIBRARY_PATH" || k.starts_with("NIX_LD") || k.starts_with("RLD_") || k == "_"
        });
        // The native start: the same environment without rld's variables,
        // and as LD_LIBRARY_PATH what rld hands ld.so.
        let mut native_env: Vec<(&str, &str)> = env
            .iter()
            .filter(|(k, _)| !k.starts_with("NIX_LD") && k != "LD_LIBRARY_PATH")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let ld_path = match user {
            Some(u) => format!("{u}:{}", through.library_path),
            None => through.library_path.clone(),
        };
        native_env.push(("LD_LIBRARY_PATH", &ld_path));
        let native_start = || {
            if !by_hand {
                return run(&through.native, args, &native_env);
            }
            let mut by_hand_args = vec!["--library-path", &ld_path, "--argv0"];
            let prog = through.native.to_str().unwrap();
            by_hand_args.extend([prog, prog]);
            by_hand_args.extend(args.iter().map(String::as_str));
            // The library path as an argument, not in the environment.
            let without = &native_env[..native_env.len() - 1];
            run(Path::new(SYSTEM_LD_SO), &by_hand_args, without)
        };
        // Twice: a baseline that moved between two native starts could not
        // tell rld's leftovers from noise.
        let first = native_start();
        let second = native_start();
        for o in [&first, &second] {
            o.assert_success();
            assert_eq!(o.value("verdict"), "ok", "{name}: native: {o:#?}");
        }
        let native = compared(&tally(&first));
        assert!(
            native.contains_key(&("anon".into(), "rw-p".into())),
            "{name}: the native start has no anonymous memory of ld.so's: \
             is the fixture reading /proc/self/maps? {first:#?}"
        );
        assert_eq!(
            native,
            compared(&tally(&second)),
            "{name}: two native starts differ"
        );
        Case {
            name: name.to_owned(),
            prog: through.prog.clone(),
            env,
            user_library_path,
            image: image(&through.loader),
            kept,
            by_hand,
            native,
        }
    }
}

/// The fixture's arguments: the inherited descriptors it may see open.
fn args(inherited: &[String]) -> Vec<String> {
    if inherited.is_empty() {
        return Vec::new();
    }
    let fds: Vec<&str> = inherited
        .iter()
        .map(|i| i.split(' ').next().unwrap())
        .collect();
    vec!["--inherit".into(), fds.join(",")]
}

fn strings(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `dir`/plug holding libplugin.so, which the fixture needs.
fn plugin(dir: &TempDir) -> PathBuf {
    let plug = dir.join("plug");
    fs::create_dir_all(&plug).unwrap();
    compile(
        "cc",
        &["plugin.c"],
        &plug.join("libplugin.so"),
        &["-shared", "-fPIC"],
    );
    plug
}

/// The fixture built as `dir`/`name` against the libplugin of
/// [`plugin`]`(dir)`, with `interp` as its interpreter (the system's when
/// `None`) and `extra` flags.
fn storm_program(dir: &TempDir, name: &str, interp: Option<&Path>, extra: &[&str]) -> PathBuf {
    let link = format!("-L{}", dir.join("plug").display());
    let linker = interp.map(|i| format!("-Wl,--dynamic-linker={}", i.display()));
    let mut flags: Vec<&str> = linker.iter().map(String::as_str).collect();
    flags.extend(["-O1", "-Wall", link.as_str(), "-lplugin"]);
    flags.extend_from_slice(extra);
    compile("cc", &["storm.c"], &dir.join(name), &flags)
}

#[test]
fn a_storm_of_starts_loses_nothing() {
    let inherited = inherited_fds();
    let args = args(&inherited);
    let dir = TempDir::new("storm");
    // libplugin.so only here: found through the library path rld adds (or,
    // for the compiled-in default's library path, which the shared prefix
    // owns, through RUNPATH).
    let plug = plugin(&dir);
    let plug_s = plug.to_str().unwrap();
    let rpath = format!("-Wl,-rpath,{plug_s}");
    let build_prog =
        |name: &str, interp: &Path, extra: &[&str]| storm_program(&dir, name, Some(interp), extra);

    let through_nix_ld = loader(Default::Missing);
    let through_default = loader(Default::Present);
    let configured = configure_loader(
        &through_nix_ld.path,
        SYSTEM_LD_SO,
        plug_s,
        &dir.join("rld-loader-configured"),
    );
    let default_lib = through_default.prefix.join("lib");
    let default_lib = default_lib.to_str().unwrap();
    let native = build_prog("native", Path::new(SYSTEM_LD_SO), &[]);
    let native_rpath = build_prog("native-rpath", Path::new(SYSTEM_LD_SO), &[&rpath]);

    let many: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("STORM_{i:04}"), format!("value {i} of 2000")))
        .collect();
    let big = vec![(
        "STORM_BIG".to_owned(),
        (0..100_000)
            .map(|i| (b'a' + (i % 26) as u8) as char)
            .collect::<String>(),
    )];
    let user = strings(&[("LD_LIBRARY_PATH", "/opt/storm/lib")]);
    let nix_ld = strings(&[
        ("PATH", "/usr/bin:/bin"),
        ("NIX_LD", SYSTEM_LD_SO),
        ("NIX_LD_LIBRARY_PATH", plug_s),
    ]);
    let with = |base: &[(String, String)], more: &[&[(String, String)]]| {
        let mut env = base.to_vec();
        for m in more {
            env.extend_from_slice(m);
        }
        env
    };
    let newline = strings(&[
        ("NIX_LD", SYSTEM_LD_SO),
        ("NIX_LD_LIBRARY_PATH", &format!("{plug_s}\n")),
    ]);
    let empty_user = strings(&[("LD_LIBRARY_PATH", "")]);

    let nix = Through {
        prog: build_prog("via-nix-ld", &through_nix_ld.path, &[]),
        native: native.clone(),
        loader: through_nix_ld.path.clone(),
        library_path: plug_s.to_owned(),
    };
    let default = Through {
        prog: build_prog("via-default", &through_default.path, &[&rpath]),
        native: native_rpath,
        loader: through_default.path.clone(),
        library_path: default_lib.to_owned(),
    };
    let conf = Through {
        prog: build_prog("via-configured", &configured, &[]),
        native,
        loader: configured,
        library_path: plug_s.to_owned(),
    };
    let cases = [
        ("NIX_LD", &nix, nix_ld.clone()),
        ("NIX_LD, 2,000 variables", &nix, with(&nix_ld, &[&many])),
        ("NIX_LD, a 100 KB variable", &nix, with(&nix_ld, &[&big])),
        ("NIX_LD, LD_LIBRARY_PATH", &nix, with(&nix_ld, &[&user])),
        (
            "NIX_LD, all of those",
            &nix,
            with(&nix_ld, &[&many, &big, &user]),
        ),
        ("NIX_LD, library path ending in a newline", &nix, newline),
        ("default, no environment", &default, Vec::new()),
        (
            "default, 2,000 variables and 100 KB",
            &default,
            with(&many, &[&big]),
        ),
        ("default, LD_LIBRARY_PATH", &default, user.clone()),
        ("configured, no environment", &conf, Vec::new()),
        (
            "configured, 2,000 variables and 100 KB",
            &conf,
            with(&many, &[&big]),
        ),
        ("configured, LD_LIBRARY_PATH", &conf, user.clone()),
        ("configured, empty LD_LIBRARY_PATH", &conf, empty_user),
    ]
    .map(|(name, through, env)| Case::new(name, through, env, &args));

    // One start of each case beside its native start, for the record
    // (shown with --nocapture).
    for case in &cases {
        let o = run(&case.prog, &args, &case.env());
        case.check(&o, &inherited).unwrap();
        let t = tally(&o);
        let mut diff = Vec::new();
        for (key, &(count, bytes)) in &t {
            let native = case.native.get(key).copied().unwrap_or(0);
            if bytes != native {
                diff.push(format!(
                    "{}.{} {count} mapping(s) {bytes} bytes (native {native})",
                    key.0, key.1
                ));
            }
        }
        eprintln!("{}: beyond a native start: {}", case.name, diff.join("; "));
    }

    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    thread::scope(|s| {
        for t in 0..THREADS {
            let (cases, failures, args, inherited) = (&cases, &failures, &args, &inherited);
            s.spawn(move || {
                for i in (t..STARTS).step_by(THREADS) {
                    let case = &cases[i % cases.len()];
                    let o = run(&case.prog, args, &case.env());
                    if let Err(e) = case.check(&o, inherited) {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "storm: {STARTS} starts ({} cases, {THREADS} threads) in {:.2} s, {:.0} starts/s, {} failed",
        cases.len(),
        elapsed.as_secs_f64(),
        STARTS as f64 / elapsed.as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {STARTS} starts failed; the first:\n{}",
        failures.len(),
        failures
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The whole memory map of one start through rld and one native start,
/// printed with each piece's owner (shown with --nocapture), with the
/// loader's image the only extra.
#[test]
fn what_stays_mapped() {
    let dir = TempDir::new("storm-maps");
    let plug = plugin(&dir);
    let plug_s = plug.to_str().unwrap();
    let rld = loader(Default::Missing);
    let through_rld = storm_program(&dir, "rld", Some(&rld.path), &[]);
    let native = storm_program(&dir, "native", None, &[]);
    let inherited = inherited_fds();
    let mut args = args(&inherited);
    args.push("--maps".into());
    for user in [None, Some("/opt/storm/lib")] {
        let mut env = vec![("NIX_LD", SYSTEM_LD_SO), ("NIX_LD_LIBRARY_PATH", plug_s)];
        let joined = user.map(|u| format!("{u}:{plug_s}"));
        if let Some(u) = user {
            env.push(("LD_LIBRARY_PATH", u));
        }
        let o = run(&through_rld, &args, &env);
        o.assert_success();
        let n = run(
            &native,
            &args,
            &[("LD_LIBRARY_PATH", joined.as_deref().unwrap_or(plug_s))],
        );
        n.assert_success();
        let maps = |o: &Outcome| {
            o.stdout
                .lines()
                .filter(|l| l.starts_with("maps=") || l.starts_with("map."))
                .collect::<Vec<_>>()
                .join("\n")
        };
        eprintln!(
            "LD_LIBRARY_PATH {user:?}\n-- native --\n{}\n-- through rld --\n{}",
            maps(&n),
            maps(&o)
        );
        let rld_maps: Vec<&str> = o
            .stdout
            .lines()
            .filter(|l| l.starts_with("maps=interp"))
            .collect();
        assert!(
            rld_maps
                .iter()
                .all(|l| l.ends_with(rld.path.to_str().unwrap())),
            "{rld_maps:?}"
        );
        // Control: a descriptor left open does fail the start.
        let mut sh_args = vec![
            "-c".to_owned(),
            "exec 5</dev/null; exec \"$0\" \"$@\"".to_owned(),
            through_rld.to_str().unwrap().to_owned(),
        ];
        sh_args.extend(args.iter().cloned());
        let leak = run(Path::new("/bin/sh"), &sh_args, &env);
        assert_eq!(leak.code, Some(1), "{leak:#?}");
        assert!(leak.stdout.contains("fd.extra=5 /dev/null\n"), "{leak:#?}");
        let extra_anon = tally(&o)[&("anon".into(), "rw-p".into())].1 as i64
            - tally(&n)[&("anon".into(), "rw-p".into())].1 as i64;
        assert_eq!(
            extra_anon,
            if user.is_some() { PAGE as i64 } else { 0 },
            "{o:#?}\n{n:#?}"
        );
    }
}

/// A start through a close-on-exec descriptor (`fexecve`, which is how
/// systemd starts a service's program) with no environment word rld can
/// lend (a service's environment, or none): rld runs `ld.so` as if by hand,
/// and the kernel names the program `/dev/fd/N`, a descriptor closed by
/// then, so rld has `ld.so` open it as `/proc/self/exe`. The native start
/// of the same program is the control.
#[test]
fn a_start_through_a_closed_descriptor() {
    let dir = TempDir::new("storm-fexecve");
    let plug = plugin(&dir);
    let plug_s = plug.to_str().unwrap();
    let rpath = format!("-Wl,-rpath,{plug_s}");
    let configured = configure_loader(
        &loader(Default::Missing).path,
        SYSTEM_LD_SO,
        plug_s,
        &dir.join("rld-loader-configured"),
    );
    let through_rld = storm_program(&dir, "rld", Some(&configured), &[]);
    let native = storm_program(&dir, "native", None, &[&rpath]);
    let args = args(&inherited_fds());
    for (what, prog) in [("native", &native), ("through rld", &through_rld)] {
        let o = fexecve(prog, &args, &[]);
        assert_eq!(o.code, Some(0), "{what}: {o:#?}");
        assert_eq!(o.value("verdict"), "ok", "{what}: {o:#?}");
    }
}
