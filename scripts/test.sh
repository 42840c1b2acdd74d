#!/usr/bin/env bash
# Runs every test: shim-lib's unit tests and the end-to-end tests, which
# compile C fixtures, run them through the real rld-loader and the machine's
# glibc ld.so, and (as root) check setuid and setgid programs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$(id -u)" != 0 ]; then
  echo "test: the privileged-process tests create setuid-root files; re-running as root" >&2
  exec sudo env "PATH=$PATH" "CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}" "RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}" bash "$0" "$@"
fi
# The per-architecture tests need the cross toolchains and qemu-user.
bash scripts/build-arches.sh
cargo test --workspace "$@"
