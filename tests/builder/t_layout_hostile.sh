#!/usr/bin/env bash
# tests/builder/t_layout_hostile.sh — an OCI layout is untrusted input (issue #11.4): a
# layout someone else wrote, with planted symlinks, FIFOs and look-alike blobs, never makes
# `armlet build`, `inspect` or `push` write outside it, read through a symlink, hang, or
# send a blob whose bytes are not its name. Each test checks the files outside the layout
# byte for byte (sha256) and, where the command fails, the layout too.
. "$(dirname "$0")/../lib.sh"

WORK=$(tmpdir)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/build_lib.sh"

. "$(dirname "$0")/layout_lib.sh"
layout_payloads

# A folder outside every layout with a precious file, and its snapshot in $2.
outside() { mkdir -p "$1"; echo "precious $RANDOM" >"$1/precious"; printf 'x%.0s' $(seq 1 300) >"$1/data"; }

test_symlinked_blobs_sha256_fails_closed_and_outside_is_untouched() {
  project "$WORK/a"
  build "$WORK/a/app.recipe" --oci "$WORK/a/oci" >/dev/null
  outside "$WORK/a/out"
  # blobs/sha256 -> a folder outside, holding copies of the blobs and someone's files
  cp -a "$WORK/a/oci/blobs/sha256/." "$WORK/a/out/"
  rm -rf "$WORK/a/oci/blobs/sha256"
  ln -s "$WORK/a/out" "$WORK/a/oci/blobs/sha256"
  local before_out before_oci; before_out=$(snapshot "$WORK/a/out"); before_oci=$(snapshot "$WORK/a/oci")
  echo changed >>"$WORK/a/dist/hello-amd64"
  capture timeout 30 env SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR="$INITS" "$ARMLET" build "$WORK/a/app.recipe" --oci "$WORK/a/oci" --tag other
  assert_eq 1 "$rc" "build into a layout whose blobs/sha256 is a symlink: $err"
  assert_contains "$err" "$WORK/a/oci: blobs/ or blobs/sha256 is a symbolic link or not a folder"
  capture timeout 30 "$ARMLET" inspect "$WORK/a/oci"
  assert_eq 1 "$rc" "inspect: $out"
  assert_contains "$err" "symbolic link"
  assert_eq "$before_out" "$(snapshot "$WORK/a/out")" "the folder outside"
  assert_eq "$before_oci" "$(snapshot "$WORK/a/oci")" "the layout"
  # The same with blobs/ itself a symlink.
  rm "$WORK/a/oci/blobs/sha256"; mkdir -p "$WORK/a/out2/sha256"; cp -a "$WORK/a/out/." "$WORK/a/out2/sha256/"
  rmdir "$WORK/a/oci/blobs"; ln -s "$WORK/a/out2" "$WORK/a/oci/blobs"
  before_out=$(snapshot "$WORK/a/out2")
  capture timeout 30 env SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR="$INITS" "$ARMLET" build "$WORK/a/app.recipe" --oci "$WORK/a/oci"
  assert_eq 1 "$rc" "build with blobs/ a symlink: $err"
  assert_eq "$before_out" "$(snapshot "$WORK/a/out2")" "the folder outside (blobs/)"
}

test_planted_index_json_tmp_symlink_redirects_no_write() {
  project "$WORK/b"
  build "$WORK/b/app.recipe" --oci "$WORK/b/oci" >/dev/null
  outside "$WORK/b/out"
  ln -s "$WORK/b/out/precious" "$WORK/b/oci/index.json.tmp"
  ln -s "$WORK/b/out/data" "$WORK/b/oci/oci-layout.tmp"
  local before; before=$(snapshot "$WORK/b/out")
  echo changed >>"$WORK/b/dist/hello-amd64"
  capture build "$WORK/b/app.recipe" --oci "$WORK/b/oci"
  assert_eq 0 "$rc" "$err"
  assert_eq "$before" "$(snapshot "$WORK/b/out")" "the symlinks' targets"
  assert_eq "$WORK/b/out/precious" "$(readlink "$WORK/b/oci/index.json.tmp")" "the planted link is left as it was"
  [ ! -L "$WORK/b/oci/index.json" ] || fail "index.json became a symlink"
  capture "$ARMLET" inspect "$WORK/b/oci"
  assert_eq 0 "$rc" "$err"
}

test_planted_docker_archive_tmp_symlink_redirects_no_write() {
  project "$WORK/c"
  outside "$WORK/c/out"
  ln -s "$WORK/c/out/precious" "$WORK/c/img.tar.tmp"
  local before; before=$(snapshot "$WORK/c/out")
  capture build "$WORK/c/app.recipe" --docker-archive "$WORK/c/img.tar"
  assert_eq 0 "$rc" "$err"
  assert_eq "$before" "$(snapshot "$WORK/c/out")" "the symlink's target"
  assert_eq "$WORK/c/out/precious" "$(readlink "$WORK/c/img.tar.tmp")"
  tar -tf "$WORK/c/img.tar" | grep -qx manifest.json || fail "img.tar is not the archive"
  [ -z "$(ls "$WORK/c" | grep 'img.tar.tmp.')" ] || fail "temporary file left: $(ls "$WORK/c")"
  # An existing archive is replaced by a rename, never written through: a hard link to it
  # outside keeps the old bytes.
  ln "$WORK/c/img.tar" "$WORK/c/out/hardlink.tar"
  before=$(snapshot "$WORK/c/out")
  echo changed >>"$WORK/c/dist/hello-amd64"
  capture build "$WORK/c/app.recipe" --docker-archive "$WORK/c/img.tar"
  assert_eq 0 "$rc" "$err"
  assert_eq "$before" "$(snapshot "$WORK/c/out")" "a hard link to the old archive"
  cmp -s "$WORK/c/img.tar" "$WORK/c/out/hardlink.tar" && fail "the archive was not rebuilt"
  true
}

test_fifo_as_index_json_fails_at_once_in_build_and_inspect() {
  project "$WORK/d"
  build "$WORK/d/app.recipe" --oci "$WORK/d/oci" >/dev/null
  rm "$WORK/d/oci/index.json"; mkfifo "$WORK/d/oci/index.json"
  local before; before=$(snapshot "$WORK/d/oci")
  capture timeout 30 "$ARMLET" inspect "$WORK/d/oci"
  assert_eq 1 "$rc" "inspect (124 = hung)"
  assert_contains "$err" "$WORK/d/oci/index.json is a FIFO, not a regular file"
  capture timeout 30 env SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR="$INITS" "$ARMLET" build "$WORK/d/app.recipe" --oci "$WORK/d/oci"
  assert_eq 1 "$rc" "build (124 = hung)"
  assert_contains "$err" "index.json is a FIFO"
  capture timeout 30 "$ARMLET" push "$WORK/d/oci:latest" 127.0.0.1:9/app:1
  assert_eq 1 "$rc" "push (124 = hung)"
  assert_contains "$err" "index.json is a FIFO"
  assert_eq "$before" "$(snapshot "$WORK/d/oci")" "the layout"
  # index.json as a symlink to a good index outside: refused too, never followed.
  rm "$WORK/d/oci/index.json"; echo '{"schemaVersion":2,"manifests":[]}' >"$WORK/d/idx"
  ln -s "$WORK/d/idx" "$WORK/d/oci/index.json"
  capture timeout 30 "$ARMLET" inspect "$WORK/d/oci"
  assert_eq 1 "$rc"
  assert_contains "$err" "index.json is a symbolic link"
}

test_fifo_as_blob_never_hangs_and_a_rebuild_repairs_it() {
  project "$WORK/e"
  build "$WORK/e/app.recipe" --oci "$WORK/e/oci" >/dev/null
  local cfg; cfg=$(config_of "$WORK/e/oci")
  rm "$(blob "$WORK/e/oci" "$cfg")"; mkfifo "$(blob "$WORK/e/oci" "$cfg")"
  capture timeout 30 "$ARMLET" inspect "$WORK/e/oci"
  assert_eq 1 "$rc" "inspect (124 = hung)"
  assert_contains "$err" "blob $WORK/e/oci/blobs/sha256/${cfg#sha256:} is a FIFO, not a regular file"
  # The rebuild writes that config again: the FIFO is replaced by the real blob.
  capture timeout 30 env SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR="$INITS" "$ARMLET" build "$WORK/e/app.recipe" --oci "$WORK/e/oci"
  assert_eq 0 "$rc" "rebuild (124 = hung): $err"
  [ -f "$(blob "$WORK/e/oci" "$cfg")" ] && [ ! -p "$(blob "$WORK/e/oci" "$cfg")" ] || fail "config still a FIFO"
  capture timeout 30 "$ARMLET" inspect "$WORK/e/oci"
  assert_eq 0 "$rc" "$err"
  # A FIFO as the manifest of ANOTHER tag: the build succeeds, the garbage collector
  # cannot read that manifest, so it removes nothing and says so.
  build "$WORK/e/app.recipe" --oci "$WORK/e/oci" --tag other >/dev/null
  local man; man=$(manifest_of "$WORK/e/oci" other)
  echo v2 >>"$WORK/e/dist/hello-amd64"
  build "$WORK/e/app.recipe" --oci "$WORK/e/oci" --tag other >/dev/null   # other's blobs now differ
  man=$(manifest_of "$WORK/e/oci" other)
  rm "$(blob "$WORK/e/oci" "$man")"; mkfifo "$(blob "$WORK/e/oci" "$man")"
  local before; before=$(snapshot "$WORK/e/oci")
  echo v3 >>"$WORK/e/dist/hello-amd64"
  capture timeout 30 env SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR="$INITS" "$ARMLET" build "$WORK/e/app.recipe" --oci "$WORK/e/oci"
  assert_eq 0 "$rc" "build beside a FIFO manifest (124 = hung): $err"
  assert_contains "$err" "garbage collection skipped, nothing removed: blob $man"
  # everything that was there is still there (the old latest's blobs included)
  local f
  while read -r f; do
    [ -e "$WORK/e/oci/blobs/sha256/$f" ] || fail "GC removed $f although it could not see every reference"
  done < <(cd "$WORK/e/oci/blobs/sha256" && ls)
  [ -p "$(blob "$WORK/e/oci" "$man")" ] || fail "the FIFO was touched"
  echo "$before" | grep -q "blobs/sha256" || fail "snapshot empty"
}

test_symlink_blob_to_same_size_file_is_refused_by_inspect_and_push() {
  command -v docker-registry >/dev/null || skip "docker-registry not installed"
  . "$TOP/tests/push/lib_registry.sh"
  project "$WORK/f"
  build "$WORK/f/app.recipe" --oci "$WORK/f/oci" >/dev/null
  outside "$WORK/f/out"
  # A same-size look-alike of the app layer outside, and blobs/sha256/<layer> -> it.
  local layer; layer=$(layer_of "$WORK/f/oci" latest 1)
  local size; size=$(stat -c %s "$(blob "$WORK/f/oci" "$layer")")
  head -c "$size" /dev/urandom >"$WORK/f/out/secret"
  rm "$(blob "$WORK/f/oci" "$layer")"; ln -s "$WORK/f/out/secret" "$(blob "$WORK/f/oci" "$layer")"
  local before; before=$(snapshot "$WORK/f/out")
  capture timeout 30 "$ARMLET" inspect "$WORK/f/oci"
  assert_eq 1 "$rc" "inspect: $out"
  assert_contains "$err" "blob $WORK/f/oci/blobs/sha256/${layer#sha256:} is a symbolic link, not a regular file"
  reg_start "$WORK/f/reg"
  capture timeout 60 "$ARMLET" push "$WORK/f/oci:latest" "$REG_HOST/app:1"
  assert_eq 1 "$rc" "push of a symlinked blob: $out"
  assert_contains "$err" "layer 2 of linux/amd64: blob $WORK/f/oci/blobs/sha256/${layer#sha256:} is a symbolic link"
  assert_eq 0 "$(reg_count POST /blobs/uploads)" "uploads started"
  assert_eq 0 "$(reg_count PUT /app/)" "anything put"
  [ -z "$(find "$WORK/f/reg/data" -type f -size "${size}c" 2>/dev/null)" ] || fail "a blob of that size reached the registry"
  # The same bytes as a regular file (a corrupt same-size blob): refused before anything
  # is sent, naming the blob.
  rm "$(blob "$WORK/f/oci" "$layer")"; cp "$WORK/f/out/secret" "$(blob "$WORK/f/oci" "$layer")"
  capture timeout 60 "$ARMLET" push "$WORK/f/oci:latest" "$REG_HOST/app:1"
  assert_eq 1 "$rc"
  assert_contains "$err" "layer 2 of linux/amd64: blob $WORK/f/oci/blobs/sha256/${layer#sha256:}: content does not match its digest"
  assert_eq 0 "$(reg_count POST /blobs/uploads)" "uploads started"
  assert_eq 0 "$(reg_count HEAD /blobs/)" "requests sent before the check"
  assert_eq "$before" "$(snapshot "$WORK/f/out")" "the files outside"
  # Repaired by a rebuild, the push goes through.
  build "$WORK/f/app.recipe" --oci "$WORK/f/oci" >/dev/null
  capture timeout 60 "$ARMLET" push "$WORK/f/oci:latest" "$REG_HOST/app:1"
  assert_eq 0 "$rc" "$err"
}

test_push_waits_for_a_build_holding_the_layout_lock() {
  project "$WORK/g"
  build "$WORK/g/app.recipe" --oci "$WORK/g/oci" >/dev/null
  # While someone holds the exclusive lock (as a build does), push must not read: it
  # shows up in /proc/locks as a waiter on the layout folder's inode.
  local ino; ino=$(stat -c %i "$WORK/g/oci")
  exec {fd}<"$WORK/g/oci"
  flock -x "$fd"
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$ARMLET" push "$WORK/g/oci:latest" "127.0.0.1:$port/app:1" >"$WORK/g/out" 2>"$WORK/g/err" &
  local pid=$! i waiting=
  for i in $(seq 1 300); do
    grep -q -- "-> FLOCK.*:$ino " /proc/locks && { waiting=1; break; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  flock -u "$fd"; exec {fd}<&-
  local prc=0; wait "$pid" || prc=$?
  [ -n "$waiting" ] || fail "push never waited for the lock: $(cat "$WORK/g/err")"
  assert_eq 1 "$prc"
  assert_contains "$(cat "$WORK/g/err")" "cannot connect to registry 127.0.0.1:$port"
}

run_tests
