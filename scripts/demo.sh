#!/usr/bin/env bash
# The problem rld solves, shown on this machine: in a private mount namespace
# rld-loader replaces /lib64/ld-linux-x86-64.so.2, the path every downloaded
# Linux binary names as its interpreter, and Debian's own unmodified
# python3, git and perl start through it. NIX_LD points rld at a copy of the
# real glibc ld.so, as it would point at one in /nix/store on NixOS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p rld-loader
loader=$PWD/target/release/rld-loader
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -L /lib64/ld-linux-x86-64.so.2 "$work/ld.so"
echo "rld-loader: $(stat -c %s "$loader") bytes; real ld.so copied to $work/ld.so"

unshare --mount --map-root-user --propagation private bash -euc '
  loader=$1 ldso=$2
  mount --bind "$loader" /lib64/ld-linux-x86-64.so.2
  export NIX_LD=$ldso
  echo "--- /lib64/ld-linux-x86-64.so.2 is now rld: $(/lib64/ld-linux-x86-64.so.2 --version | head -n1)"
  echo "--- python3 (ssl, sqlite3, ctypes, a subprocess), started by the kernel through rld:"
  RLD_LOG=debug /usr/bin/python3 -c "
import ctypes, os, ssl, sqlite3, subprocess, sys
print(\"python\", sys.version.split()[0], \"|\", ssl.OPENSSL_VERSION, \"| sqlite\", sqlite3.sqlite_version)
print(\"/proc/self/exe =\", os.readlink(\"/proc/self/exe\"), \"| LD_LIBRARY_PATH set:\", \"LD_LIBRARY_PATH\" in os.environ)
print(subprocess.run([\"/usr/bin/git\", \"--version\"], capture_output=True, text=True).stdout.strip())
"
  echo "--- perl:"
  /usr/bin/perl -e "print qq(perl $^V\n)"
  echo "--- and without NIX_LD, the error a user would see (rld has no default ld.so here):"
  env -u NIX_LD /usr/bin/perl -e 1 || echo "(exit status $?)"
' demo "$loader" "$work/ld.so"
