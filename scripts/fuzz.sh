#!/usr/bin/env bash
# Fuzzes rld-shim's parsers for SECONDS each (default 20; the closing notes
# report 10-minute runs): ELF validation, the stack rewrite and its undo,
# configuration resolution. Seeds the ELF corpus with every real ld.so on
# the machine and truncated copies. Needs a nightly toolchain (rustup) and
# cargo-fuzz, which it installs if missing. Fails if a target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/../shim-lib/fuzz"
seconds=${1:-20}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal >/dev/null
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked >/dev/null

mkdir -p corpus/elf corpus/stack corpus/config
for ld in /lib64/ld-linux-x86-64.so.2 /usr/*-linux-gnu/lib/ld-linux*.so.*; do
  [ -f "$ld" ] || continue
  name=$(basename "$(dirname "$(dirname "$ld")")")-$(basename "$ld")
  cp -L "$ld" "corpus/elf/$name"
  for n in 64 120 700 4096; do head -c "$n" "$ld" > "corpus/elf/$name.$n"; done
done
printf 'NIX_LD=/lib64/ld-linux-x86-64.so.2\0NIX_LD_LIBRARY_PATH=/a:/b\0LD_LIBRARY_PATH=/u\0RLD_LOG=debug' > corpus/config/seed
printf 'LD_LIBRARY_PATH=/x\0HOME=/\0\x02\x00\x01\x00\x02\x00\x00\x00\x01\x00\x02\x00\x00\x00\x09\x00\x34\x12\x00\x00\x00\x00' > corpus/stack/seed

for target in elf stack config; do
  echo "fuzz: $target for ${seconds}s" >&2
  log=$(mktemp)
  if ! cargo +nightly fuzz run --release "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $target failed (a crash is saved under shim-lib/fuzz/artifacts/$target)" >&2
    exit 1
  fi
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$log" | sed "s/^/  $target: /"
  rm -f "$log"
done
