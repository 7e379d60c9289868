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
[ -f "$DIST/go-toolchain.tar" ] && [ "$DIST/go-toolchain.tar" -nt "$GOROOT/bin/go" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pkg"
cp "$GOROOT/VERSION" "$tmp/"
# src and pkg/tool are real folders here (Debian links src into /usr/share/go-1.19).
cp -a "$(readlink -f "$GOROOT/src")" "$tmp/src"
cp -a "$GOROOT/pkg/tool" "$tmp/pkg/"
cp -aL "$GOROOT/pkg/include" "$tmp/pkg/"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
  --exclude=testdata -C "$tmp" -cf "$DIST/go-toolchain.tar.new" .
mv "$DIST/go-toolchain.tar.new" "$DIST/go-toolchain.tar"
