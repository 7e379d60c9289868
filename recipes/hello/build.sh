#!/usr/bin/env bash
# recipes/hello/build.sh — build the hello server for the four platforms with Debian's Go.
#
#   bash recipes/hello/build.sh        -> recipes/dist/hello-amd64 hello-arm64 hello-armv7 hello-armv6
#
# Static (CGO_ENABLED=0), reproducible (-trimpath, no build id, no VCS stamp: the same
# source gives the same bytes at any commit and in any dirty tree), offline: GOCACHE and
# GOPATH live under out/ and GOPROXY=off, so CI needs no network. Then it checks what a
# board would notice: arm/v6 must run on an ARM1176 (qemu-arm -cpu arm1176) and every
# arm64 PT_LOAD segment must be 64 KiB-aligned (4K, 16K and 64K page kernels).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
DIST=$TOP/recipes/dist
export GOCACHE=${GOCACHE:-$TOP/out/go-cache} GOPATH=${GOPATH:-$TOP/out/go-path}
export GOPROXY=off GOFLAGS=-mod=mod CGO_ENABLED=0 GOOS=linux
mkdir -p "$DIST" "$GOCACHE" "$GOPATH"
command -v go >/dev/null || { echo "build.sh: go not found (apt-get install golang-go)" >&2; exit 1; }

build() {   # build NAME GOARCH [GOARM]
  local name=$1 arch=$2 arm=${3:-}
  ( cd "$HERE" && GOARCH=$arch GOARM=$arm go build -trimpath -buildvcs=false -ldflags "-s -w -buildid=" \
      -o "$DIST/$name.tmp.$$" . )
  mv -f "$DIST/$name.tmp.$$" "$DIST/$name"   # own temp name: test files may build at once (tests/run -j)
  echo "built recipes/dist/$name ($(stat -c %s "$DIST/$name") bytes)"
}
build hello-amd64 amd64
build hello-arm64 arm64
build hello-armv7 arm 7
build hello-armv6 arm 6

# arm64: every PT_LOAD aligned to at least 64 KiB.
bad=$(readelf -lW "$DIST/hello-arm64" | awk '$1=="LOAD" { print $NF }' | while read -r a; do [ $((a)) -ge 65536 ] || echo "$a"; done)
[ -z "$bad" ] || { echo "build.sh: hello-arm64 has PT_LOAD alignment $bad < 0x10000" >&2; exit 1; }
echo "checked hello-arm64: PT_LOAD segments 64 KiB-aligned"

# arm/v6: runs on an ARM1176 (Raspberry Pi Zero/1).
qemu=$(command -v qemu-arm-static || command -v qemu-arm || true)
if [ -n "$qemu" ]; then
  "$qemu" -cpu arm1176 "$DIST/hello-armv6" --help >/dev/null \
    || { echo "build.sh: hello-armv6 does not run under qemu-arm -cpu arm1176" >&2; exit 1; }
  echo "checked hello-armv6: runs under qemu-arm -cpu arm1176"
else
  echo "build.sh: qemu-arm not found, arm/v6 check not done" >&2
fi
