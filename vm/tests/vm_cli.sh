#!/bin/sh
# vm_cli.sh: `opml vm-exec`, `opml vm-step` and `opml vm-run` end to end, and their answers to bad
# input (a clear message and a non-zero exit, never a crash).
#   vm_cli.sh OPML TEST_VM_ELF MODELS_DIR
set -u
opml=$1 samples=$2 models=$3
# shellcheck source-path=SCRIPTDIR source=../../tests/lib/expect.sh
. "$(dirname "$0")/../../tests/lib/expect.sh"
"$samples" --write "$t" || { echo "cannot write sample ELFs"; exit 1; }

# vm-exec on a random program: it stops at its write ecall (fault 5)
"$opml" vm-exec "$t/good.elf" --json >"$t/run.json" || bad "vm-exec good.elf"
{ grep -q '"status": "faulted"' "$t/run.json" && grep -q '"exit_code": 5' "$t/run.json"; } || bad "vm-exec status: $(cat "$t/run.json")"
steps=$(sed -n 's/.*"steps": \([0-9]*\).*/\1/p' "$t/run.json")
[ "$steps" -gt 100 ] || bad "vm-exec steps: $steps"
# the proof of step J, checked by vm-step, leads to the state hash after J+1 steps
for j in 0 1 37 $((steps / 2)) $((steps - 1)) "$steps"; do
  "$opml" vm-exec "$t/good.elf" --json --proof-at "$j" >"$t/p.json" || bad "vm-exec --proof-at $j"
  state=$(sed -n 's/.*"proof_state": "\(0x[0-9a-f]*\)".*/\1/p' "$t/p.json")
  proof=$(sed -n 's/.*"proof": "\(0x[0-9a-f]*\)".*/\1/p' "$t/p.json")
  post=$("$opml" vm-step "$state" "$proof") || bad "vm-step of step $j"
  next=$("$opml" vm-exec "$t/good.elf" --json --max-steps $((j + 1)) | sed -n 's/.*"final_state_hash": "\(0x[0-9a-f]*\)".*/\1/p')
  [ "$post" = "$next" ] || bad "step $j: vm-step gives $post, the run gives $next"
done
"$opml" vm-exec "$t/good.elf" >"$t/text" || bad "vm-exec text output"
{ grep -q "final_state_hash: 0x" "$t/text" && grep -q "^x1 " "$t/text"; } || bad "vm-exec text: $(cat "$t/text")"

# bad input
expect 1 "not an ELF" "$opml" vm-exec "$t/notelf.elf"
expect 1 "overlap" "$opml" vm-exec "$t/overlap.elf"
expect 1 "past the end" "$opml" vm-exec "$t/truncated.elf"
expect 1 "No such file" "$opml" vm-exec "$t/missing.elf"
expect 1 "not a regular file" "$opml" vm-exec /dev/zero
expect 1 "not a regular file" "$opml" vm-exec "$t"
expect 2 "usage" "$opml" vm-exec
expect 2 "vm-exec: --max-steps 'lots' is not a whole number" "$opml" vm-exec "$t/good.elf" --max-steps lots
expect 2 "past --max-steps" "$opml" vm-exec "$t/good.elf" --max-steps 5 --proof-at 9
expect 1 "173 bytes" "$opml" vm-step 0x00 0x
expect 2 "not hex" "$opml" vm-step 0xzz 0x
expect 2 "usage" "$opml" vm-step 0x00
state=$(sed -n 's/.*"proof_state": "\(0x[0-9a-f]*\)".*/\1/p' "$t/p.json")
expect 1 "wrong length" "$opml" vm-step "$state" 0x0011
if [ -f "$models/fashion_mlp.onnx" ]; then
  "$opml" convert "$models/fashion_mlp.onnx" -o "$t/mlp.opml" >/dev/null 2>&1 || bad "convert"
  head -c 3136 /dev/zero >"$t/zeros.f32"
  expect 1 "out of range" "$opml" vm-run "$t/mlp.opml" "$t/zeros.f32" --node 6
  expect 1 "out of range" "$opml" vm-run "$t/mlp.opml" "$t/zeros.f32" --node 99999999
  expect 1 "bytes" "$opml" vm-run "$t/mlp.opml" "$t/notelf.elf" --node 0
  expect 1 "vm-run" "$opml" vm-run "$t/notelf.elf" "$t/zeros.f32" --node 0
  expect 2 "usage" "$opml" vm-run "$t/mlp.opml" "$t/zeros.f32"
  expect 2 "vm-run: --node '-1' is not a whole number from 0 to 4294967295" "$opml" vm-run "$t/mlp.opml" "$t/zeros.f32" --node -1
  expect 1 "still running" "$opml" vm-run "$t/mlp.opml" "$t/zeros.f32" --node 1 --max-steps 1000
fi
[ "$fails" = 0 ] || exit 1
echo "vm_cli: all checks passed"
