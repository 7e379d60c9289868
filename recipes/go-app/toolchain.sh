#!/usr/bin/env bash
# recipes/go-app/toolchain.sh — recipes/dist/go-toolchain.tar: Debian's golang-go (1.19)
# sources and compiler tools, for toolchain.recipe (no Go base image can be pulled here).
# The `go` command itself is a dynamic program: the recipe carries it with `libs`.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
DIST=$TOP/recipes/dist
GOROOT=${GOROOT_DEBIAN:-/usr/lib/go-1.19}
mkdir -p "$DIST"
[ -x "$GOROOT/bin/go" ] || { echo "toolchain.sh: no $GOROOT/bin/go (apt-get install golang-go)" >&2; exit 1; }
fresh() { [ -f "$DIST/go-toolchain.tar" ] && [ "$DIST/go-toolchain.tar" -nt "$GOROOT/bin/go" ]; }
fresh && exit 0
# Two callers at once (the test files run side by side) take turns: the second finds the
# first's tar and stops. The tar is written under its own temporary name and renamed, so a
# reader never sees half of one.
exec 9>"$DIST/.go-toolchain.lock"
flock 9
fresh && exit 0
tmp=$(mktemp -d)
part=$(mktemp "$DIST/go-toolchain.tar.XXXXXX")
trap 'rm -rf "$tmp" "$part"' EXIT
mkdir -p "$tmp/pkg"
cp "$GOROOT/VERSION" "$tmp/"
# src and pkg/tool are real folders here (Debian links src into /usr/share/go-1.19).
cp -a "$(readlink -f "$GOROOT/src")" "$tmp/src"
cp -a "$GOROOT/pkg/tool" "$tmp/pkg/"
cp -aL "$GOROOT/pkg/include" "$tmp/pkg/"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
  --exclude=testdata -C "$tmp" -cf "$part" .
chmod 0644 "$part"
mv "$part" "$DIST/go-toolchain.tar"
