#!/bin/sh
# function_length.sh: no production C function is longer than the developers' guide allows
# (about 120 lines; a VM's dispatch loop excepted). Every function of the production sources (the
# folders of tests/layering.sh, without tests and benchmarks) is measured from the line of its name
# to its closing brace; those over the limit are listed, longest first, and the test fails unless
# each is in the allowed list below.
#   function_length.sh SOURCE_DIR [LIMIT]     (LIMIT: 120 lines)
# The reader relies on the project's layout: a function's body closes with "}" in
# column 0, and nothing else at file scope does but a struct, union, enum or initializer, which
# are told apart by their header (no "(" before the brace, or an "=").
set -eu
top=$(cd "$1" && pwd)
limit=${2:-120}
cd "$top"
t=$(mktemp)
trap 'rm -f "$t"' EXIT
# The interpreter's dispatch loop: one case per RV32IM instruction, read best in one piece.
allowed="vm/vm.c:vm_interpret"

find base numerics proto runtime eth engine vm convert storage bus executor vmjudge chainwatch bisector cli \
  -type f \( -name '*.c' -o -name '*.cu' \) -not -path '*/tests/*' | LC_ALL=C sort |
  while read -r f; do
    awk -v file="$f" '
      # the text of a line without comments and literals, so that braces in them do not count
      function code(s) {
        if (incomment) { if (!sub(/^([^*]|\*+[^*\/])*\*+\//, "", s)) return ""; incomment = 0 }
        gsub(/"([^"\\]|\\.)*"/, "\"\"", s); gsub(/\047([^\047\\]|\\.)*\047/, "0", s)
        gsub(/\/\*([^*]|\*+[^*\/])*\*+\//, " ", s); sub(/\/\/.*/, "", s)
        if (sub(/\/\*.*/, "", s)) incomment = 1
        return s
      }
      {
        s = code($0)
        if (macro || s ~ /^[[:space:]]*#/) { macro = s ~ /\\$/; next }
        if (depth == 0) {
          if (s ~ /^[A-Za-z_]/ && head == "") { head = s; start = FNR }
          else if (head != "") head = head " " s
          if (head ~ /;[[:space:]]*$/) head = ""
        }
        n = gsub(/\{/, "{", s); m = gsub(/\}/, "}", s)
        if (depth == 0 && n > m && head != "") {
          fn = ""
          gsub(/__attribute__[[:space:]]*\(\(([^()]|\([^()]*\))*\)\)/, "", head)
          if (head !~ /=/ && head !~ /^(typedef|struct|union|enum)[[:space:]][^(]*\{/ && match(head, /[A-Za-z_][A-Za-z_0-9]*[[:space:]]*\(/)) {
            fn = substr(head, RSTART, RLENGTH); sub(/[[:space:]]*\($/, "", fn)
          }
          from = start
        }
        depth += n - m
        if (depth == 0 && head != "" && (n || m)) {
          if (fn != "" && FNR - from + 1 > limit) printf "%d %s:%s\n", FNR - from + 1, file, fn
          head = ""; fn = ""
        }
      }' limit="$limit" "$f"
  done | LC_ALL=C sort -rn >"$t"

fails=0
while read -r n where; do
  case " $allowed " in
  *" $where "*) echo "function_length: $where: $n lines (allowed)" ;;
  *) echo "function_length: $where: $n lines, over $limit"; fails=$((fails + 1)) ;;
  esac
done <"$t"
if [ "$fails" != 0 ]; then exit 1; fi
echo "function_length: no production function over $limit lines but the allowed ones"
