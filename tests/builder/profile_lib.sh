# tests/builder/profile_lib.sh — a busybox rootfs for the `armlet profile` tests.
# busybox_rootfs NAME: prints the path of a new rootfs under out/ (on disk, not a tmpfs
# that cannot be evicted) with Debian's static busybox at /bin/busybox, / 0755 as in any
# image (the program runs as nonroot in the sandbox), /etc and /tmp 1777.
BUSYBOX=/bin/busybox
busybox_rootfs() {
  [ -x "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 || fail "need Debian's busybox-static at $BUSYBOX (ci/install-deps)"
  mkdir -p "$OUT/test-tmp"
  local r; r=$(mktemp -d "$OUT/test-tmp/$1.XXXXXX")
  chmod 0755 "$r"
  mkdir -p "$r/bin" "$r/etc" "$r/tmp"
  chmod 1777 "$r/tmp"
  cp "$BUSYBOX" "$r/bin/busybox"
  echo "$r"
}
