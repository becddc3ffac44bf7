#!/bin/sh
# vm_cprog.sh: a C program compiled with the cross compiler and picolibc (tests/prog/cprog.c),
# at -O0 and -O2, gives the same result under `opml vm-exec` as under qemu-riscv32.
#   vm_cprog.sh OPML CC PROG_DIR LINK_SCRIPT
set -u
opml=$1 cc=$2 prog=$3 ld=$4
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
for opt in -O0 -O2; do
  "$cc" -march=rv32im -mabi=ilp32 $opt -specs=picolibc.specs -nostartfiles -static -Wl,--no-warn-rwx-segments -T "$ld" \
    -o "$t/p.elf" "$prog/start.S" "$prog/cprog.c" || { echo "FAIL: compile $opt"; exit 1; }
  want=$(qemu-riscv32 "$t/p.elf") || { echo "FAIL: qemu $opt"; fail=1; continue; }
  "$opml" vm-exec "$t/p.elf" --json >"$t/out.json" || { echo "FAIL: vm-exec $opt"; fail=1; continue; }
  code=$(sed -n 's/.*"exit_code": \([0-9]*\).*/\1/p' "$t/out.json")
  t6=$(sed -n 's/.*"registers": \[\(.*\)\].*/\1/p' "$t/out.json" | tr -d ' ' | cut -d, -f32)
  steps=$(sed -n 's/.*"steps": \([0-9]*\).*/\1/p' "$t/out.json")
  got=$(printf '%08x' "$t6")
  if [ "$code" = 5 ] && [ "$got" = "$want" ]; then echo "ok   $opt: $steps steps, checksum $got in both"
  else echo "FAIL $opt: vm exit $code t6 $got, qemu $want"; fail=1; fi
done
exit $fail
