#!/usr/bin/env bash
# tests/builder/t_thirdparty.sh — a server nobody here wrote, packaged by a recipe:
# Debian's busybox-static (recipes/busybox-httpd.recipe) built for arm64 and arm/v7,
# run in runc under qemu binfmt, answering HTTP on 127.0.0.1. Also shows the builder
# accepts Debian's armel (ARMv5TE) busybox for arm/v6 and refuses the armhf (ARMv7) one.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/armlet-3p.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=1700000000
private_armlet "$WORK"

# The busybox-httpd image for arm64 and arm/v7, built once into $WORK/oci.
busybox_oci() {
  if [ ! -f "$WORK/oci/index.json" ]; then
    busybox_dist
    capture "$ARMLET" build "$TOP/recipes/busybox-httpd.recipe" --platform linux/arm64,linux/arm/v7 \
      --oci "$WORK/oci" --tag busybox-httpd
    [ "$rc" = 0 ] || fail "armlet build recipes/busybox-httpd.recipe exited $rc: $err"
  fi
  echo "$WORK/oci"
}

# Run platform $1's image in runc on an emulated CPU $2, GET / on the host's loopback,
# check the page and that the server runs as nonroot under armlet-init. $3 $4: layout
# and tag (default: busybox_oci, busybox-httpd).
serve_in_runc() {
  local plat=$1 cpu=$2 oci=${3:-} tag=${4:-busybox-httpd} b port id body procs
  [ -n "$oci" ] || oci=$(busybox_oci)
  trap tools_cleanup EXIT
  b=$(tmpdir); tools_track "$b"
  oci_unpack "$oci" "$tag" "$plat" "$b/bundle" || fail "umoci unpack $plat failed"
  port=$(free_port)
  bundle_on_host_net "$b/bundle" 8080 "127.0.0.1:$port"
  bundle_for_qemu "$b/bundle"   # qemu-user cannot install the seccomp filter (oci.sh)
  # Emulate the CPU of a real board (qemu reads QEMU_CPU from the container's env):
  # Raspberry Pi 3 / Zero 2 for arm64, Pi 2 for arm/v7.
  json_edit "$b/bundle/config.json" "d['process']['env'].append('QEMU_CPU=$cpu')"
  id=armlet-3p-$BASHPID-$RANDOM
  runc_start "$id" "$b/bundle" "$b/log" || fail "runc run failed: $(cat "$b/log")"
  body=$(wait_http "http://127.0.0.1:$port/" 60) || fail "no HTTP answer; container output: $(cat "$b/log")"
  assert_contains "$body" "<h1>busybox httpd on armlet</h1>"
  # runc ps: PID 1 of the container is armlet-init, httpd runs as 65532.
  procs=$(runc ps "$id" -e -o pid,uid,args 2>&1) || fail "runc ps: $procs"
  assert_contains "$procs" "armlet-init"
  assert_contains "$(grep 'httpd -f' <<<"$procs" | grep -v armlet-init)" "65532"
}

test_busybox_httpd_from_debian_arm64_answers_http_in_runc_under_qemu() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  serve_in_runc linux/arm64 cortex-a53
}

test_busybox_httpd_from_debian_armhf_answers_http_in_runc_as_arm_v7_under_qemu() {
  binfmt_ready qemu-arm || skip "qemu-arm binfmt is not enabled (bash ci/install-deps)"
  serve_in_runc linux/arm/v7 cortex-a7
}

# recipes/busybox-httpd/Dockerfile: `armlet build --rootfs` trees COPY'd into a
# `FROM scratch` image by buildah, for amd64 and arm64; the amd64 result serves HTTP.
test_buildah_builds_the_rootfs_dockerfile_and_the_result_serves_http() {
  local p ctx b port body
  busybox_dist
  # Lower case only: buildah names its containers after paths (see t_tools.sh).
  BUILDAH_DIR=${TMPDIR:-/tmp}/armlet-buildah-$BASHPID-$RANDOM
  BH=(buildah --root "$BUILDAH_DIR/root" --runroot "$BUILDAH_DIR/run" --storage-driver vfs)
  trap 'tools_cleanup; "${BH[@]}" rm -a >/dev/null 2>&1; "${BH[@]}" rmi -a -f >/dev/null 2>&1; rm -rf "$BUILDAH_DIR"' EXIT
  ctx=$BUILDAH_DIR/ctx
  mkdir -p "$ctx"
  cp "$TOP/recipes/busybox-httpd/Dockerfile" "$ctx/"
  for p in amd64 arm64; do
    capture "$ARMLET" build "$TOP/recipes/busybox-httpd.recipe" --platform "linux/$p" \
      --rootfs "$ctx/rootfs-$p" --oci "$BUILDAH_DIR/oci" --tag "$p"
    [ "$rc" = 0 ] || fail "armlet build --rootfs for $p exited $rc: $err"
  done
  capture "${BH[@]}" bud --platform linux/amd64,linux/arm64 --manifest bb -f "$ctx/Dockerfile" "$ctx"
  [ "$rc" = 0 ] || fail "buildah bud exited $rc: $err"
  capture "${BH[@]}" manifest push --all bb "oci:$BUILDAH_DIR/out:bb"
  [ "$rc" = 0 ] || fail "buildah manifest push exited $rc: $err"
  oci_manifest_for "$BUILDAH_DIR/out" bb linux/arm64 >/dev/null || fail "no arm64 image in buildah's index"
  b=$BUILDAH_DIR/bundle
  oci_unpack "$BUILDAH_DIR/out" bb linux/amd64 "$b" || fail "umoci unpack failed"
  [ -x "$b/rootfs/sbin/armlet-init" ] || fail "no /sbin/armlet-init in the Dockerfile's image"
  port=$(free_port)
  bundle_on_host_net "$b" 8080 "127.0.0.1:$port"
  runc_start "armlet-3p-bh-$BASHPID" "$b" "$BUILDAH_DIR/log" || fail "runc run: $(cat "$BUILDAH_DIR/log")"
  body=$(wait_http "http://127.0.0.1:$port/" 60) || fail "no answer: $(cat "$BUILDAH_DIR/log")"
  assert_contains "$body" "<h1>busybox httpd on armlet</h1>"
}

test_debian_armel_busybox_is_accepted_for_arm_v6_and_serves_on_an_arm1176_and_armhf_refused() {
  busybox_dist
  capture "$ARMLET" build "$TOP/recipes/busybox-httpd.recipe" --platform linux/arm/v6 \
    --oci "$WORK/v6" --tag v6
  [ "$rc" = 0 ] || fail "armel (ARMv5TE) busybox refused for linux/arm/v6: $err"
  # The same recipe pointing arm/v6 at the armhf (ARMv7) binary must fail and say why.
  sed -e "s|dist/busybox-\${arch}\${variant}|$TOP/recipes/dist/busybox-armv7|" \
      -e "s|busybox-httpd/index.html|$TOP/recipes/busybox-httpd/index.html|" \
      "$TOP/recipes/busybox-httpd.recipe" >"$WORK/v7-for-v6.recipe"
  capture "$ARMLET" build "$WORK/v7-for-v6.recipe" --platform linux/arm/v6 --oci "$WORK/v6" --tag bad
  assert_ne 0 "$rc" "armhf busybox for arm/v6:"
  assert_contains "$err" "busybox-armv7"
  assert_contains "$err" "arm/v6"
  # The earlier tag is still there, the failed one was not added.
  assert_eq "v6" "$(json_get '" ".join(m["annotations"]["org.opencontainers.image.ref.name"] for m in d["manifests"])' "$WORK/v6/index.json")"
  # And the armel build serves HTTP on an emulated ARM1176 (Raspberry Pi Zero/1).
  binfmt_ready qemu-arm || skip "qemu-arm binfmt is not enabled (bash ci/install-deps)"
  serve_in_runc linux/arm/v6 arm1176 "$WORK/v6" v6
}

run_tests
