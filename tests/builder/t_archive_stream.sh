#!/usr/bin/env bash
# tests/builder/t_archive_stream.sh — `archive` entries are copied through in bounded
# memory and keep their shape: a 1 GiB sparse entry (GNU tar --sparse, so the test's own
# files stay small) builds with a maximum RSS under 64 MiB (measured with getrusage
# through /usr/bin/time -v, on the plain build: ASan's shadow memory is not the
# builder's); a file that is all hole keeps its size; data between holes keeps its
# bytes; --rootfs writes holes as holes.
. "$(dirname "$0")/../lib.sh"

WORK=$(tmpdir)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/build_lib.sh"

PLAIN=$OUT/armlet   # not ASan: its RSS is the builder's own

# recipe DIR TAR: a scratch image with the archive unpacked under /opt.
recipe() {
  printf '#!/bin/sh\n' >"$1/app"
  cat >"$1/app.recipe" <<R
name        stream
platforms   linux/amd64
base        scratch
file        /app app mode=0755
archive     /opt $2
entrypoint  /app
init        seccomp=unconfined preload=none
R
}
layer() { # the app layer of the only image in layout $1
  local b=$1/blobs/sha256 i m
  i=$(jq -r '.manifests[0].digest' "$1/index.json"); m=$(jq -r '.manifests[0].digest' "$b/${i#sha256:}")
  echo "$b/$(jq -r '.layers[1].digest' "$b/${m#sha256:}" | cut -d: -f2)"
}

test_1gib_sparse_entry_builds_in_under_64mib_rss() {
  [ -x "$PLAIN" ] || skip "no $PLAIN (make out/armlet)"
  [ -x /usr/bin/time ] || skip "no /usr/bin/time (apt-get install time)"
  local d=$WORK/big rss
  mkdir -p "$d/src"
  truncate -s 1G "$d/src/big"
  printf 'head' | dd of="$d/src/big" conv=notrunc status=none
  printf 'tail' | dd of="$d/src/big" bs=1 seek=$(( (1 << 30) - 4 )) conv=notrunc status=none
  tar -C "$d/src" --sparse -cf "$d/big.tar" big
  [ "$(stat -c %s "$d/big.tar")" -lt 1048576 ] || fail "GNU tar did not make a sparse archive"
  recipe "$d" big.tar
  mkdir "$d/tmp"
  capture env TMPDIR="$d/tmp" SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR="$INITS" /usr/bin/time -v "$PLAIN" build "$d/app.recipe" --oci "$d/oci"
  assert_eq 0 "$rc" "build: $err"
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' <<<"$err")
  echo "    maximum RSS building a 1 GiB sparse entry: $rss KiB"
  [ -n "$rss" ] && [ "$rss" -lt 65536 ] || fail "maximum RSS $rss KiB, expected under 64 MiB"
  # The entry is whole in the layer: its size, and the bytes at both ends (one pass).
  local l; l=$(layer "$d/oci")
  assert_eq "1073741824 head tail" "$(tar -xOzf "$l" opt/big | /usr/bin/python3 -c '
import sys
f, n, first, last = sys.stdin.buffer, 0, b"", b""
while True:
    b = f.read(1 << 20)
    if not b:
        break
    if n == 0:
        first = b[:4]
    last = (last + b)[-4:]
    n += len(b)
print(n, first.decode(), last.decode())')"
  # Nothing of the spool is left behind.
  assert_eq "" "$(ls -A "$d/tmp")" "left in TMPDIR"
}

test_all_hole_file_keeps_its_size_and_data_between_holes_its_bytes() {
  local d=$WORK/holes l
  mkdir -p "$d/src"
  truncate -s 3M "$d/src/allhole"
  truncate -s 5M "$d/src/mixed"
  printf 'middle' | dd of="$d/src/mixed" bs=1 seek=2097152 conv=notrunc status=none
  head -c 4096 /dev/urandom | dd of="$d/src/mixed" bs=4096 seek=1000 conv=notrunc status=none
  : >"$d/src/empty"
  tar -C "$d/src" --sparse -cf "$d/holes.tar" allhole mixed empty
  recipe "$d" holes.tar
  capture build "$d/app.recipe" --oci "$d/oci"
  assert_eq 0 "$rc" "build: $err"
  l=$(layer "$d/oci")
  assert_contains "$(tar -tvzf "$l" opt/allhole)" " 3145728 "
  assert_contains "$(tar -tvzf "$l" opt/empty)" " 0 "
  mkdir "$d/x"; tar -C "$d/x" -xzf "$l"
  cmp "$d/src/allhole" "$d/x/opt/allhole" || fail "all-hole file differs"
  cmp "$d/src/mixed" "$d/x/opt/mixed" || fail "sparse file with data differs"
}

test_rootfs_writes_sparse_entries_as_holes() {
  local d=$WORK/rootfs
  mkdir -p "$d/src"
  truncate -s 256M "$d/src/hole"
  printf 'x' | dd of="$d/src/hole" bs=1 seek=1000000 conv=notrunc status=none
  tar -C "$d/src" --sparse -cf "$d/r.tar" hole
  recipe "$d" r.tar
  capture build "$d/app.recipe" --rootfs "$d/out"
  assert_eq 0 "$rc" "build: $err"
  assert_eq 268435456 "$(stat -c %s "$d/out/opt/hole")"
  cmp "$d/src/hole" "$d/out/opt/hole" || fail "content differs"
  local kib; kib=$(du -k "$d/out/opt/hole" | cut -f1)
  [ "$kib" -lt 8192 ] || fail "the rootfs file takes $kib KiB on disk: holes were written out"
}

test_corrupt_archive_names_the_entry_and_keeps_the_layout() {
  local d=$WORK/bad before
  mkdir -p "$d/src"
  head -c 300000 /dev/urandom >"$d/src/data"
  tar -C "$d/src" -czf "$d/full.tgz" data
  head -c 150000 "$d/full.tgz" >"$d/cut.tgz"
  recipe "$d" full.tgz
  capture build "$d/app.recipe" --oci "$d/oci"
  assert_eq 0 "$rc" "$err"
  before=$(layout_sums "$d/oci")
  sed -i 's/full.tgz/cut.tgz/' "$d/app.recipe"
  capture build "$d/app.recipe" --oci "$d/oci"
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "app.recipe:5:13: archive: $d/cut.tgz: entry \"data\": "
  assert_eq "$before" "$(layout_sums "$d/oci")" "layout after the failed build"
}

run_tests
