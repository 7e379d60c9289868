#!/usr/bin/env bash
# recipes/armlet/cross-arm64.sh — an arm64 armlet (recipes/dist/armlet-arm64) and the arm64
# sysroot it runs against (out/sysroot-arm64), for the arm64 builder image.
#
# Why not `apt-get install libarchive-dev:arm64 ...`: Multi-Arch: same packages must have
# the same version on every architecture, and Debian's mirror often carries newer amd64
# builds than arm64 ones (e.g. libssl3 3.0.22 amd64 vs 3.0.20 arm64 on 2026-11-27), so
# apt refuses to co-install them. Instead the arm64 packages are downloaded (apt-get
# download, cached in out/debs) and unpacked into a sysroot with dpkg -x; the cross gcc
# compiles against it, and the recipe carries the libraries from it with
#   armlet build recipes/armlet.recipe --sysroot linux/arm64=out/sysroot-arm64
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$TOP/out}
DIST=$TOP/recipes/dist
SR=${SYSROOT_ARM64:-$OUT/sysroot-arm64}
CACHE=${ARMLET_DEB_CACHE:-$OUT/debs/arm64}
# The -dev packages armlet builds with and their run-time closure (apt-cache depends
# --recurse, libc headers excepted: the cross toolchain has those).
PKGS="gcc-12-base libacl1 libarchive-dev libarchive13 libbrotli1 libbz2-1.0 libc6 libcom-err2
 libcrypt1 libcurl4-openssl-dev libcurl4 libdb5.3 libffi8 libgcc-s1 libgmp10 libgnutls30
 libgssapi-krb5-2 libhogweed6 libicu72 libidn2-0 libjansson-dev libjansson4 libk5crypto3
 libkeyutils1 libkrb5-3 libkrb5support0 libldap-2.5-0 liblz4-1 liblzma5 libnettle8
 libnghttp2-14 libnsl2 libp11-kit0 libpsl5 librtmp1 libsasl2-2 libsasl2-modules-db
 libseccomp-dev libseccomp2 libssh2-1 libssl-dev libssl3 libstdc++6 libtasn1-6 libtirpc3
 libunistring2 libxml2 libzstd-dev libzstd1 zlib1g-dev zlib1g libdeflate-dev libdeflate0"
command -v aarch64-linux-gnu-gcc >/dev/null || { echo "cross-arm64.sh: no aarch64-linux-gnu-gcc" >&2; exit 1; }
mkdir -p "$CACHE" "$DIST"
missing=()
for p in $PKGS; do
  ls "$CACHE/${p}_"*_arm64.deb >/dev/null 2>&1 || missing+=("$p:arm64")
done
if [ ${#missing[@]} -gt 0 ]; then
  ( cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null ) \
    || { echo "cross-arm64.sh: apt-get download of the arm64 packages failed" >&2; exit 1; }
fi
rm -rf "$SR.new"
mkdir -p "$SR.new"
for d in "$CACHE"/*_arm64.deb; do dpkg -x "$d" "$SR.new"; done
# Debian 12 is merged-/usr (its packages still ship some files under /lib): merge them
# so the sysroot has the host's layout, /lib -> usr/lib.
if [ -d "$SR.new/lib" ] && [ ! -L "$SR.new/lib" ]; then
  mkdir -p "$SR.new/usr/lib"
  cp -a "$SR.new/lib/." "$SR.new/usr/lib/"
  rm -rf "$SR.new/lib"
fi
ln -sfn usr/lib "$SR.new/lib"
rm -rf "$SR"; mv "$SR.new" "$SR"

ML=$SR/usr/lib/aarch64-linux-gnu
# shellcheck disable=SC2046
aarch64-linux-gnu-gcc -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
  -Wmissing-prototypes -Wformat=2 -D_GNU_SOURCE -O2 -Icommon \
  -DARMLET_VERSION="\"$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo 0.1)\"" \
  -I"$SR/usr/include" -I"$SR/usr/include/aarch64-linux-gnu" \
  -o "$DIST/armlet-arm64.new" $(cd "$TOP" && ls builder/*.c builder/*/*.c 2>/dev/null | sed "s|^|$TOP/|") \
  -I"$TOP/common" -I"$TOP/builder" \
  -L"$ML" -Wl,-rpath-link,"$ML" \
  $(PKG_CONFIG_LIBDIR="$ML/pkgconfig:$SR/usr/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$SR" \
      pkg-config --libs $(make -s -C "$TOP" print-builder-libs)) -lm
mv "$DIST/armlet-arm64.new" "$DIST/armlet-arm64"
echo "recipes/dist/armlet-arm64 (sysroot $SR)"
