#!/bin/sh
# stage.sh: gathers what the runtime image needs out of a build tree (compose/Dockerfile's build
# stage), by name rather than by path (the newest of a name: lib.sh's `newest`), so that moving a
# component's folder does not break the image:
#
#   OUT/bin          the binaries (each found by its file name anywhere in BUILD) and anvil
#   OUT/share/contracts   forge's output for the project's contracts (the contracts-out folder)
#   OUT/*.sh         the entrypoint and the scripts it sources or runs
#   OUT/packages     the Debian packages holding every shared library the binaries load (ldd, then
#                    dpkg -S), which the runtime stage installs: a new library dependency needs
#                    no edit here or in the Dockerfile
#
#   stage.sh SRC BUILD OUT
set -eu
[ $# = 3 ] || { echo "usage: stage.sh SRC BUILD OUT" >&2; exit 2; }
src=$1 build=$2 out=$3
. "$src/compose/lib.sh"
binaries="opml opml-health opml-bus opml-storage opml-executor opml-vmjudge opml-chainwatch opml-bisector"

mkdir -p "$out/bin" "$out/share"
for b in $binaries; do
    f=$(newest "$build" -name "$b" -perm -u+x)
    [ -n "$f" ] || die "$b is not in $build"
    cp "$f" "$out/bin/"
done
cp -L "$src/tools/eth/node_modules/.bin/anvil" "$out/bin/anvil"
game=$(newest "$build" -path '*/contracts-out/DisputeGame.sol/DisputeGame.json')
[ -n "$game" ] || die "no contract artifacts (contracts-out) in $build"
art=$(dirname "$(dirname "$game")")
rm -rf "$out/share/contracts"
cp -r "$art" "$out/share/contracts"
cp "$src/compose/entrypoint.sh" "$src/compose/deploy.sh" "$src/compose/lib.sh" "$out/"

# shared libraries -> packages, in one dpkg -S (a merged /usr: a library ldd finds as /lib/... may
# be known to dpkg as /usr/lib/..., and by its link's name or its file's; every spelling is asked,
# those unknown are silently not found)
libs=$(for f in "$out"/bin/*; do ldd "$f" 2>/dev/null; done | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
for lib in $libs; do
    real=$(readlink -f "$lib")
    printf '%s\n' "$lib" "$real" "/usr$lib" "/usr$real"
done | sort -u | xargs dpkg -S 2>/dev/null | cut -d: -f1 | sort -u >"$out/packages" || true
[ -s "$out/packages" ] || die "no runtime packages found (ldd, dpkg -S)"
echo "stage: $(ls "$out/bin" | wc -l) binaries, packages: $(tr '\n' ' ' <"$out/packages")"
