#!/bin/sh
# base-image.sh: makes the Debian base image the Dockerfile starts from (debian:12) out of Debian's
# own archive, for machines that reach an apt mirror but no container registry. debootstrap
# (variant minbase) unpacks bookworm from the mirror this host's apt uses, the image's apt sources
# are the host's Debian suites (bookworm, -updates, -security), and `docker import` tags the tree.
# Where a registry is reachable `docker pull debian:12` does the same; nothing here runs then.
#
#   base-image.sh [IMAGE]      IMAGE: default debian:12; kept if it exists already
#
# Needs root, debootstrap and a running Docker engine. About a minute and 200 MB.
set -eu
image=${1:-debian:12}
suite=bookworm
die() { echo "base-image: $*" >&2; exit 1; }

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "base-image: $image exists"
    exit 0
fi
command -v debootstrap >/dev/null || die "debootstrap is not installed (bash scripts/deps.sh --containers)"

# The host's Debian sources, as apt sees them whatever their file format: "URI SUITE" pairs.
sources=$(apt-cache policy | awk -v s="$suite" '
    $2 ~ /^(https?|file):/ && $3 ~ ("^" s "(-updates|-security)?/main$") { split($3, p, "/"); print $2, p[1] }' | sort -u)
mirror=$(echo "$sources" | awk -v s="$suite" '$2 == s { print $1; exit }')
[ -n "$mirror" ] || die "no $suite mirror in this host's apt sources (apt-cache policy)"

root=$(mktemp -d /tmp/opml-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base-image: debootstrap $suite from $mirror"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 ||
    { tail -n 20 "$root.log" >&2; rm -f "$root.log"; die "debootstrap failed"; }
rm -f "$root.log"
echo "$sources" | awk '{ print "deb", $1, $2, "main" }' >"$root/etc/apt/sources.list"
# as Debian's official images: dpkg without an fsync per file (an image build is redone, never
# recovered after a crash; without it, unpacking the build's 640 packages takes many minutes), no
# translations, no package files kept
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
echo 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };' \
    >"$root/etc/apt/apt.conf.d/docker-clean"
# what an image needs no copy of: apt's downloaded lists and packages
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$image" >/dev/null
echo "base-image: $image imported ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
