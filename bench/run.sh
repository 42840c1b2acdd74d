#!/usr/bin/env bash
# One command for the start-up benchmark: installs what it needs (strace,
# patchelf: scripts/setup.sh), builds everything it needs, and prints the
# table. It also writes bench/out/results.md (the same table),
# bench/out/results.json (the same numbers, for programs), the plot
# bench/out/startup.svg and the strace logs behind the system-call columns.
#
#   bash bench/run.sh [--nix-ld PATH] [--loader NAME=PATH]... [--runs N] [--warmup N]
#
# --runs N is N interleaved starts of every program through every loader
# (default 2000; the README's before/after figures use --runs 4000).
# --loader adds another loader, e.g. an rld-loader built before a change.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --release --quiet --manifest-path bench/Cargo.toml -- "$@"
