#!/bin/sh
# Compiles every kernel source for the RV32IM guest with the guest's flags (no libc beyond
# picolibc's string.h, no libm) and checks that the objects call no libm function: the
# kernels must build unchanged for the VM (docs/numerics.md, docs/vm-guest.md).
set -eu
cc=$1 src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for f in "$src"/*.c; do
  "$cc" -march=rv32im -mabi=ilp32 -O2 -ffp-contract=off -fno-fast-math -Wall -Wextra -Werror \
    -ffreestanding -specs=picolibc.specs -c "$f" -o "$out/$(basename "$f" .c).o"
done
# libgcc soft-float helpers (__addsf3 ...) and memcpy/memset are allowed; libm entry points are not.
nm=$(dirname "$cc")/riscv64-unknown-elf-nm
"$nm" --defined-only "$out"/*.o | awk 'NF == 3 {print $3}' | sort -u >"$out/defined"
bad=$("$nm" -u "$out"/*.o | awk 'NF == 2 {print $2}' | sort -u | comm -23 - "$out/defined" |
      grep -Ev '^(__[a-z0-9]+[sd]f[0-9a-z]*|__[a-z]*di[0-9]|__mul[sd]i3|__div[sd]i3|__udiv[sd]i3|__mod[sd]i3|__umod[sd]i3|memcpy|memset|memmove)$' || true)
if [ -n "$bad" ]; then
  echo "kernels reference symbols the guest must not use:"; echo "$bad"; exit 1
fi
echo "guest compile: $(ls "$out"/*.o | wc -l) objects, ok"
