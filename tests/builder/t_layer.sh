#!/usr/bin/env bash
# tests/builder/t_layer.sh — layer blobs as real tools see them: GNU tar, gzip, zstd,
# sha256sum; reproducible across folders, times, owners and CPU counts; --rootfs equal
# to what tar extracts; archives escaping their destination refused.
source "$(dirname "$0")/../lib.sh"
LAYERTOOL=${LAYERTOOL:-$OUT/bench/layertool}

need_tool() {
  [ -x "$LAYERTOOL" ] || fail "missing $LAYERTOOL (make $OUT/bench/layertool)"
}

# A source folder: text, a binary-ish file, a symlink, a subfolder with its own mode.
make_src() {
  local d=$1
  mkdir -p "$d/sub/deeper"
  printf 'hello layer\n' >"$d/sub/readme.txt"
  head -c 300000 /dev/zero | tr '\0' 'x' >"$d/big.txt"
  seq 1 20000 >"$d/sub/deeper/numbers"
  seq 1 500000 >"$d/sub/count.txt"    # 3.3 MiB: a tar of several 1 MiB gzip blocks
  ln -s sub/readme.txt "$d/link"
  chmod 0750 "$d/sub"; chmod 0755 "$d/big.txt"; chmod 0600 "$d/sub/deeper/numbers"
}

layer() { "$LAYERTOOL" "$@"; }

test_gnu_tar_lists_sorted_names_numeric_owners_and_epoch() {
  need_tool
  t=$(tmpdir); trap 'umount "$t/small" 2>/dev/null || true; rm -rf "$t"' EXIT; make_src "$t/src"; mkdir "$t/blobs"
  local res; res=$(layer --epoch 1700000000 "$t/blobs" "hostdir:/srv=$t/src")
  local blob=$t/blobs/$(echo "$res" | awk '{print $1}' | cut -d: -f2)
  local got; got=$(TZ=UTC tar --numeric-owner -tvzf "$blob" | awk '{print $1, $2, $4, $5, $6}')
  local want="drwxr-xr-x 0/0 2023-11-14 22:13 srv/
-rwxr-xr-x 0/0 2023-11-14 22:13 srv/big.txt
lrwxrwxrwx 0/0 2023-11-14 22:13 srv/link
drwxr-x--- 0/0 2023-11-14 22:13 srv/sub/
-rw-r--r-- 0/0 2023-11-14 22:13 srv/sub/count.txt
drwxr-xr-x 0/0 2023-11-14 22:13 srv/sub/deeper/
-rw------- 0/0 2023-11-14 22:13 srv/sub/deeper/numbers
-rw-r--r-- 0/0 2023-11-14 22:13 srv/sub/readme.txt"
  assert_eq "$want" "$got" "tar -tv listing"
  # no owner names in the headers: ustar uname/gname fields (offsets 265, 297) are empty
  local unames; unames=$(zcat "$blob" | head -c 512 | dd bs=1 skip=265 count=64 2>/dev/null | tr -d '\0')
  assert_eq "" "$unames" "uname/gname"
}

test_gzip_zstd_integrity_and_diff_id_is_sha256_of_the_tar() {
  need_tool
  t=$(tmpdir); trap 'umount "$t/small" 2>/dev/null || true; rm -rf "$t"' EXIT; make_src "$t/src"; mkdir "$t/blobs"
  local g z n
  g=$(layer --compress gzip "$t/blobs" "hostdir:/srv=$t/src")
  z=$(layer --compress zstd "$t/blobs" "hostdir:/srv=$t/src")
  n=$(layer --compress none "$t/blobs" "hostdir:/srv=$t/src")
  local gb=$t/blobs/$(echo "$g" | awk '{print $1}' | cut -d: -f2)
  local zb=$t/blobs/$(echo "$z" | awk '{print $1}' | cut -d: -f2)
  gzip -t "$gb" || fail "gzip -t"
  zstd -qt "$zb" || fail "zstd -t"
  assert_eq "sha256:$(sha256sum <"$gb" | cut -c1-64)" "$(echo "$g" | awk '{print $1}')" "gzip digest"
  assert_eq "sha256:$(zcat "$gb" | sha256sum | cut -c1-64)" "$(echo "$g" | awk '{print $2}')" "gzip diff_id"
  assert_eq "sha256:$(zstd -qdc "$zb" | sha256sum | cut -c1-64)" "$(echo "$z" | awk '{print $2}')" "zstd diff_id"
  assert_eq "$(echo "$n" | awk '{print $1}')" "$(echo "$n" | awk '{print $2}')" "none: digest = diff_id"
  assert_eq "$(echo "$g" | awk '{print $3}')" "$(stat -c %s "$gb")" "size"
  assert_eq "application/vnd.oci.image.layer.v1.tar+zstd" "$(echo "$z" | awk '{print $4}')"
  # gzip header says: no name, no timestamp
  assert_not_contains "$(file "$gb")" "last modified"
  assert_not_contains "$(file "$gb")" "was \""
  assert_contains "$(file "$gb")" "from Unix"
}

test_same_blob_from_other_folder_times_owners_and_cpu_count() {
  need_tool
  t=$(tmpdir); trap 'umount "$t/small" 2>/dev/null || true; rm -rf "$t"' EXIT; make_src "$t/src"; mkdir "$t/blobs"
  mkdir -p "$t/elsewhere/deeper/path"
  cp -a "$t/src" "$t/elsewhere/deeper/path/copy"
  local c=$t/elsewhere/deeper/path/copy
  find "$c" -exec touch -h -d '2001-02-03 04:05:06' {} +
  [ "$(id -u)" = 0 ] && chown -hR 1234:5678 "$c"
  cat "$c/big.txt" >/dev/null   # atime
  for comp in gzip zstd; do
    local a b one
    a=$(layer --compress $comp "$t/blobs" "hostdir:/srv=$t/src" | awk '{print $1}')
    b=$(layer --compress $comp "$t/blobs" "hostdir:/srv=$c" | awk '{print $1}')
    assert_eq "$a" "$b" "$comp across folders/times/owners"
    one=$(taskset -c 0 "$LAYERTOOL" --compress $comp "$t/blobs" "hostdir:/srv=$t/src" | awk '{print $1}')
    assert_eq "$a" "$one" "$comp on one CPU"
  done
  # and the content does count
  echo changed >>"$c/sub/readme.txt"
  b=$(layer "$t/blobs" "hostdir:/srv=$c" | awk '{print $1}')
  a=$(layer "$t/blobs" "hostdir:/srv=$t/src" | awk '{print $1}')
  assert_ne "$a" "$b" "changed content"
}

test_rootfs_matches_what_gnu_tar_extracts_from_the_layer() {
  need_tool
  t=$(tmpdir); trap 'umount "$t/small" 2>/dev/null || true; rm -rf "$t"' EXIT; make_src "$t/src"; mkdir "$t/blobs" "$t/x"
  local init=/bin/true
  local res; res=$(layer --rootfs "$t/rootfs" "$t/blobs" "base:static=$init" "hostdir:/srv=$t/src")
  local blob=$t/blobs/$(echo "$res" | awk '{print $1}' | cut -d: -f2)
  tar --numeric-owner -xpzf "$blob" -C "$t/x"
  ( cd "$t/x" && find . -printf '%P %M %U:%G %s %T@ %l\n' | sort ) >"$t/from-tar"
  ( cd "$t/rootfs" && find . -printf '%P %M %U:%G %s %T@ %l\n' | sort ) >"$t/from-rootfs"
  # the top folder itself is not an entry of the layer
  diff <(grep -v '^ ' "$t/from-tar") <(grep -v '^ ' "$t/from-rootfs") || fail "metadata differs"
  diff -r "$t/x" "$t/rootfs" >/dev/null || fail "content differs"
  assert_contains "$(cat "$t/from-rootfs")" "tmp drwxrwxrwt 0:0"
  assert_contains "$(cat "$t/from-rootfs")" "home/nonroot drwx------ 65532:65532"
}

test_archive_escaping_destination_is_refused_naming_the_entry() {
  need_tool
  t=$(tmpdir); trap 'umount "$t/small" 2>/dev/null || true; rm -rf "$t"' EXIT; mkdir "$t/blobs"
  python3 - "$t" <<'EOF'
import io, sys, tarfile
d = sys.argv[1]
def mk(name, members):
    with tarfile.open(f"{d}/{name}", "w:gz") as tf:
        for kind, n, v in members:
            ti = tarfile.TarInfo(n)
            if kind == "f":
                ti.size = len(v); tf.addfile(ti, io.BytesIO(v))
            else:
                ti.type = tarfile.SYMTYPE; ti.linkname = v; tf.addfile(ti)
mk("dotdot.tgz", [("f", "ok.txt", b"fine"), ("f", "../../etc/evil", b"pwned")])
mk("abs.tgz", [("f", "/etc/evil", b"pwned")])
mk("link.tgz", [("l", "cfg", "/etc"), ("f", "cfg/evil", b"pwned")])
mk("good.tgz", [("f", "bin/tool", b"#!/bin/true\n")])
EOF
  for a in dotdot abs link; do
    capture "$LAYERTOOL" "$t/blobs" "archive:/opt/tool=$t/$a.tgz"
    assert_eq 1 "$rc" "$a exit status"
    assert_contains "$err" "$a.tgz" "$a error names the archive"
  done
  capture "$LAYERTOOL" "$t/blobs" "archive:/opt/tool=$t/dotdot.tgz"; assert_contains "$err" "../../etc/evil"
  capture "$LAYERTOOL" "$t/blobs" "archive:/opt/tool=$t/abs.tgz"; assert_contains "$err" "/etc/evil"
  capture "$LAYERTOOL" "$t/blobs" "archive:/opt/tool=$t/link.tgz"; assert_contains "$err" "symlink"
  assert_eq "" "$(ls -A "$t/blobs")" "no blob, no temp file left"
  capture "$LAYERTOOL" "$t/blobs" "archive:/opt/tool=$t/good.tgz"
  assert_eq 0 "$rc" "good archive"
  local blob=$t/blobs/$(echo "$out" | awk '{print $1}' | cut -d: -f2)
  assert_contains "$(tar -tzf "$blob")" "opt/tool/bin/tool"
}

test_archives_in_every_common_compression_unpack_the_same() {
  need_tool
  t=$(tmpdir); trap 'rm -rf "$t"' EXIT
  make_src "$t/src"; mkdir "$t/blobs"
  tar -C "$t/src" --owner=0 --group=0 --numeric-owner -cf "$t/a.tar" .
  gzip -k "$t/a.tar"; xz -k "$t/a.tar"; zstd -q -k "$t/a.tar"; bzip2 -k "$t/a.tar"
  (cd "$t/src" && zip -qryX "$t/a.zip" .) 2>/dev/null || rm -f "$t/a.zip"
  local want; want=$(layer "$t/blobs" "hostdir:/opt=$t/src" | awk '{print $2}')
  local n=0 f
  for f in "$t"/a.tar "$t"/a.tar.* "$t"/a.zip; do
    [ -e "$f" ] || continue
    assert_eq "$want" "$(layer "$t/blobs" "archive:/opt=$f" | awk '{print $2}')" "$(basename "$f")"
    n=$((n + 1))
  done
  [ "$n" -ge 5 ] || fail "only $n archive kinds tried"
}

test_unwritable_blob_folder_fails_and_leaves_nothing() {
  need_tool
  t=$(tmpdir); trap 'umount "$t/small" 2>/dev/null || true; rm -rf "$t"' EXIT; make_src "$t/src"
  capture "$LAYERTOOL" "$t/missing/blobs" "hostdir:/srv=$t/src"
  assert_eq 1 "$rc"
  assert_contains "$err" "$t/missing/blobs"
  [ ! -e "$t/missing" ] || fail "created $t/missing"
}

test_long_names_round_trip_and_stay_reproducible() {
  need_tool
  t=$(tmpdir); trap 'umount "$t/small" 2>/dev/null || true; rm -rf "$t"' EXIT; mkdir "$t/blobs"
  local dir file
  dir=$(printf 'd%.0s' {1..120}); file=$(printf 'f%.0s' {1..150})
  mkdir -p "$t/src/$dir"; echo hi >"$t/src/$dir/$file"
  # two processes (different pids): pax header names must not carry anything variable
  local a b
  a=$(layer "$t/blobs" "hostdir:/=$t/src" | awk '{print $1}')
  b=$(layer "$t/blobs" "hostdir:/=$t/src" | awk '{print $1}')
  assert_eq "$a" "$b" "long names"
  assert_eq "$dir/$file" "$(tar -tzf "$t/blobs/${a#sha256:}" | tail -1)" "GNU tar reads the long name"
}

test_full_disk_fails_cleanly_and_names_the_cause() {
  need_tool
  t=$(tmpdir); trap 'umount "$t/small" 2>/dev/null || true; rm -rf "$t"' EXIT; make_src "$t/src"; mkdir "$t/small"
  head -c 2000000 /dev/urandom >"$t/src/random.bin"   # does not compress: blob > 1 MiB
  mount -t tmpfs -o size=1m tmpfs "$t/small" 2>/dev/null || skip "cannot mount a tmpfs here"
  for comp in gzip zstd none; do
    capture "$LAYERTOOL" --compress $comp "$t/small" "hostdir:/srv=$t/src"
    assert_eq 1 "$rc" "$comp exit status"
    assert_contains "$err" "No space left on device" "$comp"
    assert_eq "" "$(ls -A "$t/small")" "$comp: nothing left behind"
  done
  umount "$t/small"
}

run_tests
