#!/bin/sh
# Host against guest: builds tests/guest_selftest.c with every kernel source for RV32IM (libgcc
# soft-float, picolibc's string functions), runs it under qemu-riscv32 and compares its transcript
# with the native build's (argv: riscv gcc, kernels source dir, native selftest binary).
# Linked without relaxation: the bare _start does not set up gp for gp-relative accesses.
set -eu
cc=$1 src=$2 native=$3
pico=/usr/lib/picolibc/riscv64-unknown-elf
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$cc" -march=rv32im -mabi=ilp32 -O2 -ffp-contract=off -fno-fast-math -Wall -Wextra -Werror -ffreestanding -static \
  -nostdlib -nostartfiles -isystem "$pico/include" -I"$src" "$src"/*.c "$src/tests/guest_selftest.c" \
  -L"$pico/lib/release/rv32im/ilp32" -Wl,--no-relax -lc -lgcc -o "$out/selftest.elf"
qemu-riscv32 "$out/selftest.elf" >"$out/guest.txt"
"$native" >"$out/host.txt"
lines=$(wc -l <"$out/host.txt")
if ! cmp -s "$out/host.txt" "$out/guest.txt"; then
  echo "host and RV32IM guest disagree:"; diff "$out/host.txt" "$out/guest.txt" || true; exit 1
fi
if grep -q ' E$' "$out/host.txt"; then echo "a case failed to run:"; grep ' E$' "$out/host.txt"; exit 1; fi
echo "host == guest on $lines cases"; head -3 "$out/host.txt"
