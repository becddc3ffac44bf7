#!/bin/sh
# guest_repro.sh: the pinned guest build is reproducible and refuses other bytes.
#   guest_repro.sh CC GUEST_DIR KERNEL_DIR PIN_TOOL
# 1. a copy of the sources at another path builds to the pinned root (no paths in the output);
# 2. a kernel source that changes the program makes the build fail loudly.
set -eu
cc=$1 guest=$2 kernels=$3 pin=$4
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/some/other/place"
cp -RL "$guest" "$t/some/other/place/guest"
cp -RL "$kernels" "$t/k" # -L: a symlinked source tree must be copied, never edited below
sh "$t/some/other/place/guest/build.sh" "$cc" "$t/some/other/place/guest" "$t/k" "$t/out" "$pin"
echo "guest_repro: rebuilt at another path: pinned root reproduced"
# change one constant the guest uses: the operator name string of Relu is in the image
sed -i 's/"Relu"/"RELU"/' "$t/k/relu.c"
grep -q '"RELU"' "$t/k/relu.c"
if sh "$t/some/other/place/guest/build.sh" "$cc" "$t/some/other/place/guest" "$t/k" "$t/out" "$pin" 2>"$t/err"; then
  echo "guest_repro: a changed guest built without complaint"; exit 1
fi
grep -q "GUEST PIN MISMATCH" "$t/err"
echo "guest_repro: changed bytes refused"
