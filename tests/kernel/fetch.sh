#!/usr/bin/env bash
# tests/kernel/fetch.sh — Debian's own ARM kernel for one board, resolved through its
# metapackage on every run (the versioned package moves with security updates).
#
#   bash tests/kernel/fetch.sh arm64|armhf|raspi0   -> prints the folder holding `vmlinuz`
#                                                      (and `board.dtb` for raspi0)
#
#   arm64   linux-image-arm64:arm64        -> linux-image-6.1.0-N-arm64:arm64
#   armhf   linux-image-armmp-lpae:armhf   -> linux-image-6.1.0-N-armmp-lpae:armhf
#   raspi0  linux-image-rpi:armel          -> linux-image-6.1.0-N-rpi:armel, with the
#           package's bcm2835-rpi-zero.dtb (QEMU's raspi0 board needs the device tree)
#
# The .deb is kept in out/kernel/debs and the unpacked kernel in out/kernel/<package>_<version>,
# so a later run with the same version needs no network. Only the kernel image (and the
# dtb) is unpacked: the boots use an initramfs and every feature the checks need (seccomp,
# PID namespaces, cgroup v2 and its cpu/memory/cpuset controllers) is built in.
# Exit 1 with a message on stderr when the package cannot be resolved or downloaded.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${ARMLET_KERNEL_CACHE:-$TOP/out/kernel}
board=${1:?usage: fetch.sh arm64|armhf|raspi0}
case $board in
  arm64)  meta=linux-image-arm64:arm64 ;;
  armhf)  meta=linux-image-armmp-lpae:armhf ;;
  raspi0) meta=linux-image-rpi:armel ;;
  *) echo "fetch.sh: unknown board '$board'" >&2; exit 2 ;;
esac
arch=${meta#*:}

# The metapackages' versioned dependencies (Depends: linux-image-6.1.0-N-rpi (= 6.1.176-1)),
# from the local package lists. This Docker-style Debian keeps no pkgcache.bin, so every
# apt-cache call parses all the lists again (4-17 s here): one call resolves the three
# boards, and its answer is kept in $CACHE/resolved until a list changes (apt-get update).
METAS="linux-image-arm64:arm64 linux-image-armmp-lpae:armhf linux-image-rpi:armel"
resolved=$CACHE/resolved
mkdir -p "$CACHE"
if [ ! -s "$resolved" ] || [ -n "$(find /var/lib/apt/lists -newer "$resolved" -name '*Packages*' 2>/dev/null | head -1)" ]; then
  # shellcheck disable=SC2086
  apt-cache show --no-all-versions $METAS 2>/dev/null | awk '
    /^Package:/ { p = $2 } /^Architecture:/ { a = $2 }
    /^Depends:/ && match($0, /linux-image-[^ ,]* \(= [^)]*\)/) {
      split(substr($0, RSTART, RLENGTH), d, /[ ()=]+/); print p ":" a, d[1], d[2] }' >"$resolved.$$"
  mv "$resolved.$$" "$resolved"
fi
read -r _ pkg ver < <(grep "^$meta " "$resolved") || true
pkg=${pkg%%:*}
dir=$CACHE/${pkg}_${ver}_$arch
if [ ! -s "$dir/vmlinuz" ] || { [ "$board" = raspi0 ] && [ ! -s "$dir/board.dtb" ]; }; then
  mkdir -p "$CACHE/debs"
  deb=$CACHE/debs/${pkg}_${ver//:/%3a}_$arch.deb
  if [ ! -s "$deb" ]; then
    # _apt cannot write into a root-owned folder: download as root without the sandbox.
    ( cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg:$arch=$ver" >/dev/null ) \
      || { echo "fetch.sh: apt-get download $pkg:$arch=$ver failed" >&2; exit 1; }
  fi
  [ -s "$deb" ] || deb=$(ls "$CACHE/debs/${pkg}_"*"_$arch.deb" | tail -1)
  tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  want=("./boot/vmlinuz-*")
  [ "$board" = raspi0 ] && want+=("./usr/lib/linux-image-*/bcm2835-rpi-zero.dtb")
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards "${want[@]}"
  mkdir -p "$tmp/out"
  cp "$tmp"/boot/vmlinuz-* "$tmp/out/vmlinuz"
  [ "$board" = raspi0 ] && cp "$tmp"/usr/lib/linux-image-*/bcm2835-rpi-zero.dtb "$tmp/out/board.dtb"
  echo "$pkg:$arch $ver" >"$tmp/out/version"
  rm -rf "$dir"; mv "$tmp/out" "$dir"
fi
echo "$dir"
