# shellcheck shell=sh
# expect.sh: what the shell tests share, so that each checks bad input the same way. A test
# sources it as
#   . "$(dirname "$0")/../../tests/lib/expect.sh"
# and gets a scratch directory $t (removed on exit), the count of failed checks $fails, bad (say
# and count a failed check) and expect (a command ends with the right status and message, never a
# crash or a sanitizer report). Each test ends with `[ "$fails" = 0 ] || exit 1`.
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fails=0
# bad TEXT...: a failed check, said on stdout and counted in $fails
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect STATUS TEXT CMD...: CMD exits with STATUS (so not with a signal, status >= 128) and its
# stderr holds TEXT (a fixed string) and no sanitizer report; a failure names the command, what
# was wrong and all of its stderr. Its output is left in $t/out and $t/err.
expect() {
  expect_status=$1 expect_text=$2
  shift 2
  "$@" >"$t/out" 2>"$t/err"
  expect_got=$?
  if [ "$expect_got" != "$expect_status" ]; then
    bad "$*: exited $expect_got, want $expect_status: $(cat "$t/err")"
  elif ! grep -qF -- "$expect_text" "$t/err"; then
    bad "$*: stderr lacks '$expect_text': $(cat "$t/err")"
  elif grep -q Sanitizer "$t/err"; then
    bad "$*: sanitizer report: $(cat "$t/err")"
  fi
}
