#!/bin/sh
# build.sh: builds the pinned guest program (docs/vm-guest.md) and refuses other bytes.
#
#   build.sh CC GUEST_DIR KERNEL_DIR OUT_DIR PIN_TOOL [--update]
#
# Compiles start.S, guest.c and every numerics/kernels/*.c (sorted) for RV32IM with fixed flags and
# no paths or timestamps in the output, links them at address 0 with picolibc's string functions
# and libgcc's soft-float, and writes OUT_DIR/guest.elf and OUT_DIR/guest.bin (the flat image of
# slot 0). PIN_TOOL then checks the image's tensor root against GUEST_DIR/GUEST_ROOT and writes
# OUT_DIR/guest_image.c; a different root fails the build. --update rewrites GUEST_ROOT instead
# (only when the change is intended: the registered guest root on chain changes with it).
set -eu
cc=$1 guest=$(realpath "$2") kernels=$(realpath "$3") out=$4 pin=$5 mode=${6:-}
objcopy=$(dirname "$(command -v "$cc")")/riscv64-unknown-elf-objcopy
mkdir -p "$out/guest-obj"
rm -f "$out"/guest-obj/*.o
flags="-march=rv32im -mabi=ilp32 -O2 -ffp-contract=off -fno-fast-math -ffreestanding -fno-pic -fno-common
  -fno-ident -fno-asynchronous-unwind-tables -fno-unwind-tables -Wall -Wextra -Werror -specs=picolibc.specs
  -ffile-prefix-map=$guest=guest -ffile-prefix-map=$kernels=kernels -I$kernels"
objs=""
for src in "$guest/start.S" "$guest/guest.c" $(ls "$kernels"/*.c | LC_ALL=C sort); do
  obj="$out/guest-obj/$(basename "$(dirname "$src")")_$(basename "$src").o"
  # shellcheck disable=SC2086
  "$cc" $flags -c "$src" -o "$obj"
  objs="$objs $obj"
done
# shellcheck disable=SC2086
"$cc" -march=rv32im -mabi=ilp32 -specs=picolibc.specs -nostartfiles -static -Wl,--no-relax \
  -Wl,--build-id=none -T "$guest/link.ld" -o "$out/guest.elf" $objs -lc -lgcc
"$objcopy" -O binary "$out/guest.elf" "$out/guest.bin"
exec "$pin" "$out/guest.bin" "$guest/GUEST_ROOT" "$out/guest_image.c" $mode
