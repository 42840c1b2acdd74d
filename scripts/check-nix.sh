#!/usr/bin/env bash
# Checks the Nix side of rld on a machine without nixpkgs (Debian/Ubuntu),
# with nixpkgs' real `lib` but no nixpkgs packages:
#
#   1. every .nix file parses          (nix-instantiate --parse, Debian's nix-bin)
#   2. formatting                      (nixpkgs-fmt --check)
#   3. dead code                       (deadnix --fail)
#   4. the module's evaluation test    (nix-instantiate --eval --strict nixos-module/eval),
#      which evaluates nixos-module/rld.nix with nixpkgs' lib.evalModules,
#      declarations of the NixOS options it uses and placeholder packages
#   5. the same test against deliberately broken copies of the module, each of
#      which must fail it
#   6. each VM test's testScript evaluated against placeholder packages and
#      parsed as Python
#   7. `nix flake check --no-build` with nixpkgs replaced by a stub whose
#      `lib` is the real lib and whose packages are placeholder derivations
#   8. the `apps` outputs (what `nix run .#rld` starts), against the same stub
#   9. flake.lock pins every input as flake.nix names it (nothing to fetch)
#
# nixpkgs' lib is the lib/ directory named by NIXPKGS_LIB, or else
# ../shared/nixpkgs-lib/lib beside the project (an unmodified copy; see its
# SOURCE.md). Without either, the script fails.
#
# What this cannot do: build anything with nixpkgs, or run the VM tests (no
# nixpkgs here); they are the flake's `checks` (`nix flake check` on a
# machine with nixpkgs). Steps 6 to 8 only evaluate: no derivation is built,
# and what the placeholders return is not checked against real packages.
# nix/package.nix is evaluated against a stub buildRustPackage (step 7), so
# whether its install phase really installs the completions and manual pages
# is seen only by a real build (`nix build`, or the flake's `checks.rld`).
# Installs nix-bin with apt and nixpkgs-fmt and deadnix with cargo if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
start=$SECONDS

step() { printf '\n== %s\n' "$*"; }
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

step "tools"
if ! command -v nix-instantiate >/dev/null; then
  echo "check-nix: installing nix-bin" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nix-bin >/dev/null
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
for tool in nixpkgs-fmt deadnix; do
  if ! command -v "$tool" >/dev/null; then
    echo "check-nix: installing $tool with cargo (about 30 s)" >&2
    cargo install --quiet --locked "$tool"
  fi
done
nix-instantiate --version
# nixpkgs-fmt 1.3 prints its version without a newline and exits 1.
# shellcheck disable=SC2005
echo "$(nixpkgs-fmt --version 2>&1 || true)"
deadnix --version

mapfile -t files < <(find . \( -path ./target -o -path ./.git \) -prune -o -name '*.nix' -print | sort)
echo "${#files[@]} .nix files: ${files[*]}"

step "parse"
for f in "${files[@]}"; do
  nix-instantiate --parse "$f" >/dev/null
done
echo "all parse"

step "nixpkgs-fmt --check"
nixpkgs-fmt --check "${files[@]}"

step "deadnix --fail"
deadnix --fail "${files[@]}"
echo "no dead code"

# Nix must not need a daemon or a writable profile for evaluation.
export NIX_CONFIG="experimental-features = nix-command flakes"

step "nixpkgs lib"
# The same choice as nixos-module/eval/nixpkgs-lib.nix makes; Nix needs an
# absolute path in NIXPKGS_LIB.
if [ -n "${NIXPKGS_LIB:-}" ]; then
  nixlib=$(realpath -m "$NIXPKGS_LIB")
  export NIXPKGS_LIB="$nixlib"
else
  nixlib=$(realpath -m "$root/../shared/nixpkgs-lib/lib")
fi
if [ ! -f "$nixlib/default.nix" ]; then
  echo "check-nix: no nixpkgs lib at $nixlib (no default.nix there)." >&2
  echo "check-nix: set NIXPKGS_LIB to a nixpkgs lib/ directory, or put an unmodified" >&2
  echo "check-nix: nixpkgs lib/ at shared/nixpkgs-lib/lib beside the project." >&2
  exit 1
fi
echo "$nixlib: nixpkgs lib $(nix-instantiate --eval --expr "(import $nixlib).version")"

step "module evaluation test (nixpkgs lib.evalModules)"
nix-instantiate --eval --strict nixos-module/eval --arg module "$root/nixos-module/rld.nix"

step "module evaluation test against broken modules (each must fail)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# sed scripts over Nix code: `${...}` in them is Nix, not shell.
# shellcheck disable=SC2016
mutations=(
  's|environment.ldso = "${loader}";|environment.ldso = "${cfg.package}/libexec/rld-loader";|'
  's|--ld-so ${directory}${prefix}/lib/ld.so|--ld-so /lib64/ld-linux-x86-64.so.2|'
  's|lib.optional cfg.graphicsDrivers "/run/opengl-driver/lib"|[ ]|'
  's|default = config.hardware.graphics.enable or false;|default = false;|'
  's|prefix = "/share/rld";|prefix = "/share/nix-ld";|'
  's|assertion = !(config.programs.nix-ld.enable or false);|assertion = true;|'
  's|assertion = !(config.programs.nix-ld.dev.enable or false);|assertion = true;|'
  's|paths = map lib.getLib libraries;|paths = libraries;|'
  '/^    "systemd"$/d'
  's|NIX_LD_i686_linux = |NIX_LD_i686 = |'
  's|\[ "${profile}${prefix}/lib" \] ++ cfg.extraLibraryPaths|cfg.extraLibraryPaths ++ [ "${profile}${prefix}/lib" ]|'
  's|environment.sessionVariables = lib.mkIf cfg.setSessionVariables|environment.sessionVariables = lib.mkIf true|'
  's|config = lib.mkIf cfg.enable {|config = {|'
  's|inherit (pkgs.pkgsi686Linux.stdenv.cc.bintools) dynamicLinker;|inherit (pkgs.stdenv.cc.bintools) dynamicLinker;|'
  's|ln -sf ${dynamicLinker}|ln -sf /lib64/ld-linux-x86-64.so.2|'
  's|!cfg.enable32Bit [|][|] pkgs.stdenv.hostPlatform.isx86_64;|true;|'
  's|"L+ /sbin/ldconfig |"L+ /usr/sbin/ldconfig |'
  's|rld ldconfig "$@"|rld ldconfig|'
  's|lib.optional cfg.ldconfig.enable|lib.optional true|'
  's|default = builtins.filter emulatable config.boot.binfmt.emulatedSystems;|default = builtins.filter (s: s != "armv7l-linux") config.boot.binfmt.emulatedSystems;|'
  's| \&\& system != hostSystem||'
  's|"L+ ${emulatedInterpreters.${e.system}} |"L+ /lib/${e.system} |'
  's|emulatedPrefix = system: "/share/rld-${system}";|emulatedPrefix = _: "/share/rld";|'
  's|inherit (emulatedPkgs.${e.system}.stdenv.cc.bintools) dynamicLinker;|inherit (pkgs.stdenv.cc.bintools) dynamicLinker;|'
  's|default = packagesAt (emulatedPkgs.${name} or (pkgsFor name))|default = packagesAt pkgs|'
  's|"NIX_LD_LIBRARY_PATH_${systemSuffix system}"|"NIX_LD_LIBRARY_PATH"|'
  's#assertion = !(emulatable e.system) || prefixMatches#assertion = true || prefixMatches#'
  's|then defaultLibraries32 else defaultLibraries;|then defaultLibraries else defaultLibraries;|'
  's|fuse = if cfg.fused then pkgs.stdenv.cc.bintools.dynamicLinker else null;|fuse = null;|'
  's|lib.mkIf cfg.serviceVariable { RLD_SERVICE = "1"; }|{ }|'
  's|package = if cfg.fused then cfg.package.override { fused = true; } else cfg.package;|inherit (cfg) package;|'
  '/^    "libxml2_13"$/d'
  's#builtins.filter (path: !(optionalLibraries ? ${path}) || usable set path) paths#paths#'
  's|(builtins.tryEval (set ? ${name} \&\& (set.${name}.meta.available or true))).value|set ? ${name}|'
  's|(set.${name}.meta.available or true)|(builtins.seq set.${name} true)|'
)
broken="$tmp/rld.nix"
for m in "${mutations[@]}"; do
  sed "$m" nixos-module/rld.nix >"$broken"
  if cmp -s "$broken" nixos-module/rld.nix; then
    echo "check-nix: mutation '$m' no longer applies to nixos-module/rld.nix; update it" >&2
    exit 1
  fi
  if out=$(nix-instantiate --eval --strict nixos-module/eval --arg module "$broken" 2>&1); then
    echo "check-nix: the evaluation test passed a broken module ($m)" >&2
    exit 1
  fi
  failed=$(grep -o '"check":"[^"]*"' <<<"$out" | cut -d'"' -f4 | paste -sd, - || true)
  echo "caught: $m  -> ${failed:-evaluation error}"
done

step "VM test scripts: evaluate against placeholders, parse as Python"
# The test driver would only find a Python syntax error at run time.
cat >"$tmp/test-script.nix" <<'EOF'
{ lib, file }:
let
  drv = name: derivation { inherit name; system = "x86_64-linux"; builder = "/bin/sh"; } // { version = "0"; };
  pkgs = {
    inherit lib;
    stdenv = {
      hostPlatform = { system = "x86_64-linux"; libDir = "lib64"; };
      cc.bintools.dynamicLinker = "/nix/store/placeholder-glibc/lib/ld-linux-x86-64.so.2";
    };
    runCommandCC = name: _: _: drv name;
    runCommand = name: _: _: drv name;
    patchelf = drv "patchelf";
    zlib = drv "zlib";
    python3 = drv "python3";
    writeText = name: _: drv name;
    pkgsCross.aarch64-multiplatform = pkgs;
    testers.runNixOSTest = t:
      if builtins.isFunction t.testScript
      then t.testScript { nodes.machine.programs.rld.package = drv "rld"; }
      else t.testScript;
  };
in
import file { inherit pkgs; self.nixosModules.default = { }; }
EOF
for t in nixos-module/tests/*.nix; do
  case $t in */common.nix | */nix-ld-conflict.nix) continue ;; esac
  nix eval --raw --impure --expr "import $tmp/test-script.nix { lib = import $nixlib; file = $root/$t; }" >"$tmp/script.py"
  python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[2])' "$tmp/script.py" "$t"
  echo "$t: testScript evaluates and parses"
done

step "nix flake check --no-build, nixpkgs replaced by a stub"
# The stub: real lib, placeholder derivations for packages. This checks
# that every output evaluates and has the type its name promises, that the
# module-eval check passes with the real lib, and nothing more: no
# package is built and the VM tests only have their node configurations
# and test scripts evaluated against placeholders. nix/package.nix is
# evaluated (its arguments, meta and phase scripts; the stub's
# buildRustPackage returns a placeholder), but not its lib.fileset source:
# lib.fileset needs builtins.readFileType (Nix 2.14), which Debian's Nix 2.8
# lacks. Only a machine with a newer Nix and nixpkgs checks that
# (`nix flake check`).
mkdir -p "$tmp/stub" "$tmp/src"
cp -r "$nixlib" "$tmp/stub/lib"
cat >"$tmp/stub/flake.nix" <<'EOF'
{
  outputs = _:
    let
      lib = import ./lib;
      fake = system: name: derivation {
        inherit name system;
        builder = "/bin/sh";
        args = [ "-c" "echo placeholder; exit 1" ];
      } // { version = "0"; };
      pkgsFor = system: isx86_64:
        let
          drv = fake system;
          self = {
            inherit lib;
            path = ./.;
            stdenv = {
              hostPlatform = { inherit system isx86_64; libDir = if isx86_64 then "lib64" else "lib"; };
              # A native build: nix/package.nix then generates completions.
              buildPlatform.canExecute = platform: platform.system == system;
              cc = { cc = drv "gcc"; bintools.dynamicLinker = "/nix/store/placeholder-glibc/lib/ld.so"; };
            };
            # As nixpkgs' callPackage: the file's arguments from this set.
            callPackage = fn: args:
              let f = import fn; in f (builtins.intersectAttrs (builtins.functionArgs f) self // args);
            # Evaluates every attribute nix/package.nix passes (its meta, so
            # that lib.getExe in `apps` reads meta.mainProgram, and its phase
            # scripts) except src, and returns a placeholder with them.
            rustPlatform.buildRustPackage = attrs:
              let p = drv attrs.pname; in
              builtins.deepSeq (removeAttrs attrs [ "src" ]) (p // attrs.passthru // {
                inherit (attrs) meta passthru;
                src = drv "rld-src";
                overrideAttrs = f: p // f attrs;
              });
            # Forces the environment, as instantiating a real one would.
            runCommand = name: env: _script: builtins.deepSeq env (drv name);
            runCommandCC = self.runCommand;
            writeText = name: _text: drv name;
            mkShell = args: drv "shell" // { env = args; };
            testers.runNixOSTest = t:
              let
                nodes = lib.mapAttrs (_: _: { programs.rld.package = drv "rld"; }) t.nodes;
                script = if builtins.isFunction t.testScript then t.testScript { inherit nodes; } else t.testScript;
              in builtins.seq script (drv t.name);
            nixos = _: { config = { assertions = [ ]; system.build.toplevel = drv "toplevel"; }; };
            pkgsi686Linux = self // { callPackage = self.callPackage; };
            pkgsCross.aarch64-multiplatform = self;
          } // lib.genAttrs [ "clippy" "rustfmt" "cargo" "nixpkgs-fmt" "deadnix" "file" "patchelf" "zlib" "openssl" "installShellFiles" "python3" ] drv;
        in
        self;
    in
    {
      inherit lib;
      legacyPackages = {
        x86_64-linux = pkgsFor "x86_64-linux" true;
        aarch64-linux = pkgsFor "aarch64-linux" false;
        i686-linux = pkgsFor "i686-linux" false;
        riscv64-linux = pkgsFor "riscv64-linux" false;
      };
    };
}
EOF
# A copy, so that untracked files are seen and no flake.lock is written
# next to the real flake.
tar --exclude=./target --exclude=./.git -cf - . | tar -xf - -C "$tmp/src"
nix flake check --no-build --no-write-lock-file \
  --override-input nixpkgs "path:$tmp/stub" "path:$tmp/src"

step "apps: what nix run starts"
# Nix 2.8's flake check does not evaluate an app's type or program; this
# does, on every system, and fails on an evaluation warning too (lib.getExe
# warns about a package without meta.mainProgram).
# shellcheck disable=SC2016
apply='apps: builtins.concatStringsSep "" (builtins.concatLists (builtins.attrValues (builtins.mapAttrs
  (system: byName: builtins.attrValues (builtins.mapAttrs
    (name: app: "${system}.${name} ${app.type} ${app.program}\n") byName)) apps)))'
nix eval --raw --no-write-lock-file --override-input nixpkgs "path:$tmp/stub" \
  "path:$tmp/src#apps" --apply "$apply" >"$tmp/apps.txt" 2>"$tmp/apps.log"
cat "$tmp/apps.txt"
if grep -i 'warning:' "$tmp/apps.log" | grep -v 'warning: not writing modified lock file'; then
  echo "check-nix: evaluating the apps printed the warning above" >&2
  exit 1
fi
want='^(x86_64|aarch64|i686|riscv64)-linux\.(default|rld) app /nix/store/[a-z0-9]{32}-rld/bin/rld$'
if [ "$(grep -cE "$want" "$tmp/apps.txt")" != 8 ] || grep -vqE "$want" "$tmp/apps.txt"; then
  echo "check-nix: expected apps.<system>.{default,rld} = { type = \"app\"; program = <rld>/bin/rld; } on 4 systems" >&2
  exit 1
fi

step "flake.lock: pins the inputs flake.nix names"
# A missing or stale entry (flake.nix's nixpkgs URL changed) is an error
# with --no-update-lock-file (without network, already when Nix tries to
# fetch the input to lock it; --offline saves its retries). Whether the pinned narHash matches the source is seen only
# where GitHub can be reached (`nix flake check`, `nix run`).
nix flake metadata --offline --no-update-lock-file "path:$tmp/src" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'

nix flake show --no-write-lock-file --override-input nixpkgs "path:$tmp/stub" "path:$tmp/src" 2>/dev/null \
  | sed 's/\x1b\[[0-9;]*m//g'

printf '\ncheck-nix: all passed in %ds\n' $((SECONDS - start))
