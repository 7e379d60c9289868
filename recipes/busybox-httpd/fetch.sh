#!/usr/bin/env bash
# recipes/busybox-httpd/fetch.sh — Debian's static busybox for the four platforms.
#
#   bash recipes/busybox-httpd/fetch.sh     -> recipes/dist/busybox-{amd64,arm64,armv7,armv6}
#
# `apt-get download busybox-static:<debian arch>` into out/debs (kept, so later runs need
# no network), `dpkg -x`, copy bin/busybox. Debian arch per platform:
#   linux/amd64 amd64, linux/arm64 arm64, linux/arm/v7 armhf (ARMv7-A, VFPv3),
#   linux/arm/v6 armel (ARMv5TE baseline, so it runs on an ARM1176 as well).
# No `dpkg --add-architecture` is needed: apt-get download only reads the package lists,
# which ci/install-deps has set up for arm64/armhf/armel.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
DIST=$TOP/recipes/dist
CACHE=${ARMLET_DEB_CACHE:-$TOP/out/debs}
mkdir -p "$DIST" "$CACHE"

for pair in amd64:amd64 arm64:arm64 armhf:armv7 armel:armv6; do
  deb_arch=${pair%%:*} name=busybox-${pair#*:}
  deb=$(ls "$CACHE"/busybox-static_*_"$deb_arch".deb 2>/dev/null | tail -1 || true)
  if [ -z "$deb" ]; then
    # _apt cannot write into a root-owned cache dir; download as root without the sandbox.
    ( cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "busybox-static:$deb_arch" >/dev/null ) \
      || { echo "fetch.sh: apt-get download busybox-static:$deb_arch failed" >&2; exit 1; }
    deb=$(ls "$CACHE"/busybox-static_*_"$deb_arch".deb | tail -1)
  fi
  x=$(mktemp -d)
  dpkg -x "$deb" "$x"
  install -m 0755 "$x/bin/busybox" "$DIST/$name"
  rm -rf "$x"
  echo "fetched recipes/dist/$name from $(basename "$deb")"
done
