#!/usr/bin/env bash
# tests/builder/t_libs.sh — `file DEST SRC libs`: a dynamic program from Debian (jq for
# arm64: libjq1, libonig5, glibc) carried with its shared-library closure and loader,
# run in the built rootfs (chroot through qemu binfmt) and in runc; --sysroot; and clear
# errors for a library that is not there.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/armlet-libs.XXXXXX")
trap 'tools_cleanup; rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=1700000000
ML=/usr/lib/aarch64-linux-gnu

# Debian's jq:arm64 unpacked under $WORK/jq (the .deb is kept in out/debs for reuse).
jq_arm64() {
  local deb
  deb=$(ls "$OUT"/debs/jq_*_arm64.deb 2>/dev/null | tail -1)
  if [ -z "$deb" ]; then
    mkdir -p "$OUT/debs"
    (cd "$OUT/debs" && apt-get download jq:arm64 >/dev/null 2>&1) \
      || skip "Debian's jq:arm64 package is not reachable (apt-get download jq:arm64)"
    deb=$(ls "$OUT"/debs/jq_*_arm64.deb | tail -1)
  fi
  [ -x "$WORK/jq/usr/bin/jq" ] || dpkg -x "$deb" "$WORK/jq"
  [ -e "$ML/libjq.so.1" ] && [ -e "$ML/libonig.so.5" ] && [ -e /lib/ld-linux-aarch64.so.1 ] \
    || skip "libjq1:arm64 libonig5:arm64 libc6:arm64 are not installed (bash ci/install-deps)"
}

# recipe NAME PLATFORM FILE-LINE: a recipe in $WORK running jq -n '[1,2,3]|add'.
recipe() {
  cat >"$WORK/$1.recipe" <<R
name        $1
platforms   $2
base        scratch
$3
entrypoint  ["/usr/bin/jq", "-n", "-c", "{sum: ([1,2,3]|add), arch: \"$2\"}"]
init        seccomp=unconfined
R
}

test_arm64_jq_from_debian_runs_in_the_built_rootfs_under_qemu() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  jq_arm64
  recipe jq linux/arm64 "file /usr/bin/jq jq/usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jq.recipe" --rootfs "$WORK/rootfs"
  assert_eq 0 "$rc" "armlet build: $err"
  local r=$WORK/rootfs
  # Laid out as on the host: merged /usr symlink, soname links kept, loader at PT_INTERP.
  assert_eq usr/lib "$(readlink "$r/lib")"
  assert_eq libjq.so.1.0.4 "$(readlink "$r$ML/libjq.so.1")"
  assert_eq aarch64-linux-gnu/ld-linux-aarch64.so.1 "$(readlink "$r/usr/lib/ld-linux-aarch64.so.1")"
  for f in libjq.so.1.0.4 libonig.so.5.3.0 libc.so.6 libm.so.6 ld-linux-aarch64.so.1; do
    [ -f "$r$ML/$f" ] && [ ! -L "$r$ML/$f" ] || fail "$ML/$f is not a file in the rootfs"
  done
  # Nothing else of the host's library folder came along.
  assert_eq 8 "$(find "$r/usr/lib" \( -type f -o -type l \) | wc -l)" "files under /usr/lib: $(find "$r/usr/lib")"
  capture chroot "$r" /usr/bin/jq -n -c '{sum: ([1,2,3]|add)}'
  assert_eq 0 "$rc" "jq in the chroot: $err"
  assert_eq '{"sum":6}' "$out"
  # And under armlet-init, as the image's entrypoint would run it.
  capture chroot "$r" /sbin/armlet-init -- /usr/bin/jq -n '"under init"'
  assert_eq '"under init"' "$out" "$err"
}

test_arm64_jq_image_runs_in_runc() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  jq_arm64
  recipe jq linux/arm64 "file /usr/bin/jq jq/usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jq.recipe" --oci "$WORK/oci" --tag jq
  assert_eq 0 "$rc" "armlet build: $err"
  local b id
  b=$(tmpdir); tools_track "$b"
  oci_unpack "$WORK/oci" jq linux/arm64 "$b/bundle" || fail "umoci unpack failed"
  bundle_on_host_net "$b/bundle"
  id=armlet-libs-$BASHPID-$RANDOM
  capture timeout 120 runc run --bundle "$b/bundle" "$id"
  runc_gone "$id"
  assert_eq 0 "$rc" "runc run: $err"
  assert_eq '{"sum":6,"arch":"linux/arm64"}' "$out"
}

test_amd64_host_jq_carries_its_libraries() {
  [ -x /usr/bin/jq ] || skip "no /usr/bin/jq on this host"
  recipe jqh linux/amd64 "file /usr/bin/jq /usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jqh.recipe" --rootfs "$WORK/rootfs-amd64"
  assert_eq 0 "$rc" "armlet build: $err"
  assert_file "$WORK/rootfs-amd64/lib64/ld-linux-x86-64.so.2"
  capture chroot "$WORK/rootfs-amd64" /usr/bin/jq -n -c '[1,2,3]|add'
  assert_eq 0 "$rc" "$err"
  assert_eq 6 "$out"
}

test_sysroot_option_takes_libraries_from_that_folder() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  jq_arm64
  # A sysroot laid out the old way (real /lib/<triplet>, no merged /usr), with an
  # absolute soname link: it must be read inside the sysroot, and copied as it is.
  local s=$WORK/sysroot d=$WORK/sysroot/lib/aarch64-linux-gnu
  mkdir -p "$d"
  cp -L "$ML"/{libc.so.6,libm.so.6,libonig.so.5,ld-linux-aarch64.so.1} "$d/"
  cp -L "$ML/libjq.so.1" "$d/libjq.so.1.0.4"
  ln -s /lib/aarch64-linux-gnu/libjq.so.1.0.4 "$d/libjq.so.1"
  ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$s/lib/ld-linux-aarch64.so.1"
  recipe jqs linux/arm64 "file /usr/bin/jq jq/usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jqs.recipe" --sysroot "linux/arm64=$s" --rootfs "$WORK/rootfs-s"
  assert_eq 0 "$rc" "armlet build: $err"
  local r=$WORK/rootfs-s
  [ -d "$r/lib/aarch64-linux-gnu" ] && [ ! -L "$r/lib" ] || fail "/lib should be a folder as in the sysroot"
  assert_eq /lib/aarch64-linux-gnu/libjq.so.1.0.4 "$(readlink "$r/lib/aarch64-linux-gnu/libjq.so.1")"
  [ ! -e "$r/usr/lib" ] || fail "nothing should come from the host's /usr/lib: $(find "$r/usr/lib")"
  capture chroot "$r" /usr/bin/jq -n -c '[1,2,3]|add'
  assert_eq 6 "$out" "jq in the chroot: $err"
}

test_missing_library_names_it_the_program_and_the_recipe_line() {
  jq_arm64
  local s=$WORK/thin d=$WORK/thin/lib/aarch64-linux-gnu
  mkdir -p "$d"
  cp -L "$ML"/{libc.so.6,libm.so.6,ld-linux-aarch64.so.1} "$d/"
  ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$s/lib/ld-linux-aarch64.so.1"
  recipe jqm linux/arm64 "file /usr/bin/jq jq/usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jqm.recipe" --sysroot "linux/arm64=$s" --oci "$WORK/layout"
  assert_eq 1 "$rc"
  assert_contains "$err" "jqm.recipe:4:6: file: "
  assert_contains "$err" "jq/usr/bin/jq: shared library \"libjq.so.1\" not found in sysroot $s for linux/arm64"
  assert_contains "$err" "install its :arm64 package or pass --sysroot linux/arm64=DIR"
  assert_eq 1 "$(wc -l <<<"$err")" "one line: $err"
  # A library of a library: the message says who needs it.
  cp -L "$ML/libjq.so.1" "$d/"
  capture "$ARMLET" build "$WORK/jqm.recipe" --sysroot "linux/arm64=$s" --oci "$WORK/layout"
  assert_eq 1 "$rc"
  assert_contains "$err" "\"libonig.so.5\" (needed by /lib/aarch64-linux-gnu/libjq.so.1) not found"
  # An amd64 library of the same name is no substitute: the loader would skip it too.
  cp -L /usr/lib/x86_64-linux-gnu/libonig.so.5 "$d/"
  capture "$ARMLET" build "$WORK/jqm.recipe" --sysroot "linux/arm64=$s" --oci "$WORK/layout"
  assert_eq 1 "$rc"
  assert_contains "$err" "\"libonig.so.5\" (needed by /lib/aarch64-linux-gnu/libjq.so.1) not found"
  # A sysroot without the loader.
  rm "$s/lib/ld-linux-aarch64.so.1"
  capture "$ARMLET" build "$WORK/jqm.recipe" --sysroot "linux/arm64=$s" --oci "$WORK/layout"
  assert_eq 1 "$rc"
  assert_contains "$err" "loader /lib/ld-linux-aarch64.so.1 not found in sysroot $s for linux/arm64; install libc6:arm64"
  [ ! -e "$WORK/layout/index.json" ] || assert_eq 0 "$(jq '.manifests | length' "$WORK/layout/index.json")" \
    "a failed build tagged an image"
}

test_truncated_or_corrupt_library_is_a_clear_error() {
  jq_arm64
  local s=$WORK/broken d=$WORK/broken/lib/aarch64-linux-gnu
  mkdir -p "$d"
  cp -L "$ML"/{libc.so.6,libm.so.6,libonig.so.5,ld-linux-aarch64.so.1} "$d/"
  ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$s/lib/ld-linux-aarch64.so.1"
  recipe jqb linux/arm64 "file /usr/bin/jq jq/usr/bin/jq libs"
  # Cut inside the program headers' targets: the dynamic section is past the end.
  head -c 4096 "$ML/libjq.so.1" >"$d/libjq.so.1"
  capture "$ARMLET" build "$WORK/jqb.recipe" --sysroot "linux/arm64=$s" --rootfs "$WORK/rootfs-b"
  assert_eq 1 "$rc"
  assert_contains "$err" "jqb.recipe:4:6: file: "
  assert_contains "$err" "$d/libjq.so.1: "
  assert_contains "$err" "(truncated?)"
  # A dynamic section whose string offsets point past its table (bytes overwritten).
  cp -L "$ML/libjq.so.1" "$d/libjq.so.1"
  local off size
  read -r off size < <(readelf -W -S "$d/libjq.so.1" | sed 's/^ *\[ *[0-9]*\]//' | awk '$1 == ".dynamic" {print $4, $5}')
  [ -n "$off" ] || fail "no .dynamic in libjq"
  off=$((16#$off)) size=$((16#$size))
  # Every entry's value becomes 0x7fffffff (tags kept): DT_NEEDED names out of range.
  /usr/bin/python3 - "$d/libjq.so.1" "$off" "$size" <<'PY'
import struct, sys
p, off, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = bytearray(open(p, "rb").read())
for o in range(off, off + size, 16):
    tag = struct.unpack_from("<q", b, o)[0]
    if tag == 1:   # DT_NEEDED
        struct.pack_into("<Q", b, o + 8, 0x7fffffff)
open(p, "wb").write(bytes(b))
PY
  capture "$ARMLET" build "$WORK/jqb.recipe" --sysroot "linux/arm64=$s" --rootfs "$WORK/rootfs-b2"
  assert_eq 1 "$rc"
  assert_contains "$err" "$d/libjq.so.1: dynamic entry points outside its string table (corrupt?)"
}

test_without_libs_a_dynamic_program_is_refused() {
  jq_arm64
  recipe jqn linux/arm64 "file /usr/bin/jq jq/usr/bin/jq"
  capture "$ARMLET" build "$WORK/jqn.recipe" --rootfs "$WORK/rootfs-n"
  assert_eq 1 "$rc"
  assert_contains "$err" "jqn.recipe:4:6: file: "
  assert_contains "$err" "libs"
}

test_sysroot_option_errors() {
  recipe jqo linux/arm64 "file /usr/bin/jq /usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jqo.recipe" --sysroot nonsense
  assert_eq 2 "$rc"; assert_contains "$err" "--sysroot \"nonsense\": expected PLATFORM=DIR"
  capture "$ARMLET" build "$WORK/jqo.recipe" --sysroot linux/mips=/
  assert_eq 2 "$rc"; assert_contains "$err" "unknown platform \"linux/mips\""
  capture "$ARMLET" build "$WORK/jqo.recipe" --sysroot "linux-arm64=$WORK/none"
  assert_eq 2 "$rc"; assert_contains "$err" "--sysroot linux/arm64: \"$WORK/none\": No such file or directory"
  # Carrying an amd64 program into an arm64 image is still the ELF check's error.
  capture "$ARMLET" build "$WORK/jqo.recipe" --rootfs "$WORK/rootfs-o"
  assert_eq 1 "$rc"; assert_contains "$err" "linux/amd64"
}

run_tests
