# tests/builder/profile_lib.sh — a busybox rootfs for the `armlet profile` tests, and a
# recipe for the build's own recording (t_profile_default.sh, t_profile_keep.sh).
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

# Busybox httpd as a server that reads a file of its own to answer the health URL, so a
# profiled list is told from an entrypoint list by that file.
workdir() { mkdir -p "$OUT/test-tmp"; mktemp -d "$OUT/test-tmp/profile-build.XXXXXX"; }
# write_recipe DIR PLATFORMS [INIT LINE (default: preload=profile; "" for none)] [HEALTH LINE]
write_recipe() {
  local bb=$TOP/recipes/dist/busybox-amd64
  busybox_dist
  [ -x "$bb" ] || fail "need $bb (recipes/dist, from recipes/busybox-httpd/fetch.sh)"
  echo ok >"$1/healthz"
  cat >"$1/app.recipe" <<EOF
name        hc
platforms   $2
base        static
file        /bin/busybox  $TOP/recipes/dist/busybox-\${arch}  mode=0755
dir         /www owner=65532:65532
file        /www/healthz  healthz  owner=65532:65532
user        nonroot
entrypoint  ["/bin/busybox", "httpd", "-f", "-p", "${EP_ADDR:-127.0.0.1:8080}", "-h", "/www"]
${4-health      http://127.0.0.1:8080/healthz interval=30s timeout=30s retries=1}
${3-init preload=profile}
EOF
}
# build_rootfs DIR NAME [PLATFORM] [ARGS...]: build DIR/app.recipe into DIR/NAME (capture)
build_rootfs() { capture "$ARMLET" build "$1/app.recipe" --platform "${3:-linux/amd64}" --rootfs "$1/$2" "${@:4}"; }
