#!/bin/sh
# layering.sh: the include graph of the production sources follows the layers of
# docs/architecture.md. Every quoted #include of a C source or header outside the tests and
# benchmarks is resolved to the file (or generated protobuf-c header) it names, and
#   1. no file includes a header of a higher layer, nor one of another component of its own layer
#      (the engine and the VM, say, never see each other; runtime and eth neither);
#   2. the graph of units (x.c with x.h, and x_private.h: the state the files implementing x.h
#      share) has no cycle other than the documented pair of the VM's interpreter and its
#      translator (vm/vm.c <-> vm/vm_jit.c: each calls the other);
#   3. every quoted include resolves to exactly one header.
# Layers, lowest first (a component may include its own headers and those of lower layers):
#   0 base   1 numerics/kernels, formats (GGUF)   2 numerics/model   3 proto (the generated *.pb-c.h)
#   4 runtime, eth   5 engine, vm, convert, tokenizer, textgen, storage client (client, storage.h,
#   model_file)   6 the actors: bus, storage, executor, vmjudge, chainwatch, bisector   7 cli, tools
#   layering.sh SOURCE_DIR
set -eu
top=$(cd "$1" && pwd)
cd "$top"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

# the production sources: every component folder, without tests
find base formats numerics proto runtime eth engine vm convert tokenizer textgen storage bus executor vmjudge chainwatch \
  bisector cli tools/mkgguf \
  -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' \) -not -path '*/tests/*' | LC_ALL=C sort >"$t/files"
[ -s "$t/files" ] || { echo "layering: no sources under $top"; exit 1; }

# component and layer of a path (generated protobuf-c headers: proto/X.proto -> X.pb-c.h)
cat >"$t/layer.awk" <<'EOF'
function layer(p) {
  if (p ~ /^onnx\.pb-c\.h$/) { comp = "convert"; return 5 }
  if (p ~ /\.pb-c\.h$/) { comp = "proto"; return 3 }
  if (p ~ /^base\//) { comp = "base"; return 0 }
  if (p ~ /^numerics\/kernels\//) { comp = "kernels"; return 1 }
  if (p ~ /^formats\//) { comp = "formats"; return 1 }
  if (p ~ /^numerics\/model\//) { comp = "model"; return 2 }
  if (p ~ /^proto\//) { comp = "proto"; return 3 }
  if (p ~ /^runtime\//) { comp = "runtime"; return 4 }
  if (p ~ /^eth\//) { comp = "eth"; return 4 }
  if (p ~ /^engine\//) { comp = "engine"; return 5 }
  if (p ~ /^vm\//) { comp = "vm"; return 5 }
  if (p ~ /^convert\//) { comp = "convert"; return 5 }
  if (p ~ /^tokenizer\//) { comp = "tokenizer"; return 5 }
  if (p ~ /^textgen\//) { comp = "textgen"; return 5 }
  if (p ~ /^storage\/(client\.[ch]|storage\.h|model_file\.[ch])$/) { comp = "storage_client"; return 5 }
  if (p ~ /^(bus|storage|executor|vmjudge|chainwatch|bisector)\//) { comp = p; sub(/\/.*/, "", comp); return 6 }
  if (p ~ /^cli\//) { comp = "cli"; return 7 }
  if (p ~ /^tools\//) { comp = p; sub(/^tools\//, "", comp); sub(/\/.*/, "", comp); return 7 }
  comp = "?"; return -1
}
EOF

# header name -> path: the sources' headers and the generated ones
{
  grep '\.h$' "$t/files" | awk '{ n = $0; sub(/.*\//, "", n); print n, $0 }'
  for p in proto/*.proto; do b=$(basename "$p" .proto); echo "$b.pb-c.h $b.pb-c.h"; done
  echo "onnx.pb-c.h onnx.pb-c.h"
} | LC_ALL=C sort >"$t/headers"
fails=0
dups=$(awk '{ print $1 }' "$t/headers" | uniq -d)
if [ -n "$dups" ]; then
  echo "layering: header names that are not unique: $dups"
  fails=$((fails + 1))
fi

# every quoted include: SOURCE HEADER-NAME
while read -r f; do
  sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r h; do echo "$f $h"; done
done <"$t/files" >"$t/includes"

# check the layers, and write the unit graph (edges "from to") for tsort
cat >"$t/check.awk" <<'EOF'
  FNR == NR { path[$1] = $2; next }
  {
    src = $1; name = $2
    if (!(name in path)) { printf "layering: %s includes \"%s\", which is no header of the sources\n", src, name; bad++; next }
    dst = path[name]
    ls = layer(src); cs = comp; ld = layer(dst); cd = comp
    if (ls < 0) { printf "layering: %s is in no layer (add its folder to tests/layering.sh)\n", src; bad++; next }
    if (ld > ls || (ld == ls && cd != cs))
      { printf "layering: %s (%s, layer %d) includes %s (%s, layer %d)\n", src, cs, ls, dst, cd, ld; bad++ }
    us = src; sub(/\.(c|h|cu)$/, "", us); ud = dst; sub(/\.(c|h|cu)$/, "", ud)
    # x_private.h is unit x's own state, shared by the files that implement x.h (runtime/actor_private.h)
    sub(/_private$/, "", us); sub(/_private$/, "", ud)
    # the documented cycle: the interpreter and its translator call each other
    if (us != ud && !(us == "vm/vm_jit" && ud == "vm/vm")) print us, ud > edges
  }
  END { exit bad > 0 }
EOF
awk -v edges="$t/edges" -f "$t/layer.awk" -f "$t/check.awk" "$t/headers" "$t/includes" || fails=$((fails + 1))

if ! LC_ALL=C tsort "$t/edges" >/dev/null 2>"$t/loops"; then
  echo "layering: the include graph has a cycle:"
  sed "s|^tsort: ||; s|$t/edges: ||" "$t/loops"
  fails=$((fails + 1))
fi
if [ "$fails" != 0 ]; then exit 1; fi
echo "layering: $(wc -l <"$t/files") sources, $(wc -l <"$t/includes") includes: every one downward, no cycle but vm <-> vm_jit"
