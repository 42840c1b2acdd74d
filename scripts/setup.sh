#!/usr/bin/env bash
# Installs what building and testing rld needs on Debian/Ubuntu: a C and C++
# compiler for the test fixtures (and the static libc for the `runas` and
# `execenv` helpers), setcap for the file-capability test, strace and
# patchelf for the benchmark, gdb for the fused interpreter's debugger test.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
apt_install gcc g++ libc6-dev make util-linux libcap2-bin strace patchelf gdb
# The NixOS-like root's corpus of real programs (tests/tests/corpus.rs).
bash "$(dirname "$0")/setup-corpus.sh"
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust with rustup first" >&2; exit 1; }
