#!/usr/bin/env bash
# Runs every test: shim-lib's unit tests (on the host, then as i686
# programs) and the end-to-end tests, which compile C fixtures, run them
# through the real rld-loader and the machine's glibc ld.so, and (as root)
# check setuid and setgid programs.
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
# rld-shim's unit tests and property tests again as i686 programs, where
# the ELF checks compute in 32-bit words (the fuzzers run only on the
# host). Linked by the cross gcc, not the rust-lld the cargo config sets
# for the no_std loader, with the cross glibc's ld.so as interpreter: the
# x86_64 kernel runs them natively.
i686_glibc=/usr/i686-linux-gnu/lib
CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_LINKER=i686-linux-gnu-gcc \
CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-Wl,--dynamic-linker=$i686_glibc/ld-linux.so.2 -C link-arg=-Wl,-rpath=$i686_glibc" \
  cargo test -p rld-shim --target i686-unknown-linux-gnu
