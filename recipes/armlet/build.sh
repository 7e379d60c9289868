#!/usr/bin/env bash
# recipes/armlet/build.sh — what recipes/armlet.recipe (the builder image) packages:
#
#   recipes/dist/armlet-amd64        out/armlet (dynamic: the recipe carries its libraries)
#   recipes/dist/armlet-arm64        a cross-built armlet, when recipes/armlet/cross-arm64.sh
#                                    can build one (see there; optional)
#   recipes/dist/armlet-inits.tar    the four inits as <os>-<arch>[-<variant>]/armlet-init,
#                                    unpacked under /usr/lib/armlet (reproducible tar)
#   recipes/dist/busybox-{amd64,arm64}  Debian's static busybox, the stage's /bin/sh
#
# Run after `make` (it runs `make builder inits` when out/ lacks them).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$TOP/out}
DIST=$TOP/recipes/dist
mkdir -p "$DIST"
# Callers take turns (test files run side by side), and each file is replaced by a rename,
# only when it changed: a build reading recipes/dist meanwhile sees the old file or the new
# one, never half of one.
exec 9>"$DIST/.armlet-build.lock"
flock 9
tmp=$(mktemp -d) tar=$(mktemp)
trap 'rm -rf "$tmp" "$tar"' EXIT
# put SRC DEST MODE: DEST becomes a copy of SRC, atomically, unless it already is one.
put() {
  cmp -s "$1" "$2" && return 0
  install -m "$3" "$1" "$2.$$" && mv "$2.$$" "$2"
}

[ -x "$OUT/armlet" ] || make -C "$TOP" builder inits >/dev/null
put "$OUT/armlet" "$DIST/armlet-amd64" 0755
for p in linux-amd64 linux-arm64 linux-arm-v7 linux-arm-v6; do
  [ -x "$OUT/$p/armlet-init" ] || make -C "$TOP" inits >/dev/null
  install -D -m 0755 "$OUT/$p/armlet-init" "$tmp/$p/armlet-init"
done
# buildah may call linux/arm64 "arm64/v8": the same init under that name too.
ln -s linux-arm64 "$tmp/linux-arm64-v8"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
  -C "$tmp" -cf "$tar" .
put "$tar" "$DIST/armlet-inits.tar" 0644

for a in amd64 arm64; do
  [ -x "$DIST/busybox-$a" ] || bash "$TOP/recipes/busybox-httpd/fetch.sh"
done

if [ ! -x "$DIST/armlet-arm64" ] && [ -f "$HERE/cross-arm64.sh" ]; then
  bash "$HERE/cross-arm64.sh" || echo "armlet/build.sh: no arm64 armlet (cross-arm64.sh failed): build the builder image with --platform linux/amd64" >&2
fi
