#!/usr/bin/env bash
# Machine-readable results: --metadata-file on push and build writes JSON valid against
# tests/fixtures/metadata/metadata.schema.json, with the digests and sizes of the layout,
# atomically (a failed run leaves an earlier file as it was); --progress plain (the
# default when stderr is not a terminal) writes one line per blob and per step and no
# control byte, quiet writes nothing, a terminal gets the line rewritten in place.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"

VALIDATE=$TOP/tests/fixtures/metadata/validate.py

# A one-file amd64 project in $1 (as tests/builder/t_build_push.sh).
hi_project() {
  mkdir -p "$1/dist"
  printf '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n' >"$1/hi.c"
  musl-gcc -static -Os -o "$1/dist/hi-amd64" "$1/hi.c"
  printf 'name hi\nplatforms linux/amd64\nfile /hi dist/hi-${arch}\nentrypoint /hi\n' >"$1/hi.recipe"
}

size_of() { stat -c %s "$(blob_of "$1" "$2")"; }

test_push_metadata_file_is_valid_and_names_every_digest_and_size() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  local dig; dig=$(mklayout "$d/oci" v1)
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --metadata-file "$d/md.json"
  assert_eq 0 "$rc" "$err"
  python3 "$VALIDATE" "$d/md.json" || fail "schema: $(cat "$d/md.json")"
  assert_eq "push 1 $d/oci" "$(jq -r '"\(.command) \(.tag) \(.layout)"' "$d/md.json")"
  assert_eq "$dig $(size_of "$d/oci" "$dig")" "$(jq -r '"\(.index.digest) \(.index.size)"' "$d/md.json")"
  assert_eq "$REG_HOST/app:1@$dig" "$(jq -r '.pushed[0]' "$d/md.json")"
  assert_eq "$dig" "$(jq -r '."containerimage.digest"' "$d/md.json")"
  assert_eq "$REG_HOST/app:1" "$(jq -r '."image.name"' "$d/md.json")"
  # each platform manifest of the index, with its platform, digest and size
  local want got
  want=$(jq -r '.manifests[] | "\(.platform.os)/\(.platform.architecture)\(if .platform.variant then "/"+.platform.variant else "" end) \(.digest) \(.size)"' \
    "$(blob_of "$d/oci" "$dig")")
  got=$(jq -r '.manifests[] | "\(.platform) \(.digest) \(.size)"' "$d/md.json")
  assert_eq "$want" "$got" "manifests"
  assert_eq 4 "$(jq '.manifests | length' "$d/md.json")"
  local m; for m in $(jq -r '.manifests[] | "\(.digest)=\(.size)"' "$d/md.json"); do
    assert_eq "${m#*=}" "$(size_of "$d/oci" "${m%=*}")" "size of ${m%=*}"
  done
}

test_failed_push_leaves_an_earlier_metadata_file_as_it_was() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --metadata-file "$d/md.json"
  assert_eq 0 "$rc" "$err"
  local before; before=$(sha256sum <"$d/md.json")
  capture "$ARMLET" push "$d/oci:v1" "127.0.0.1:$(free_port)/app:2" --metadata-file "$d/md.json"
  assert_eq 1 "$rc"
  assert_eq "$before" "$(sha256sum <"$d/md.json")" "metadata file after a failed push"
  assert_eq "" "$(find "$d" -maxdepth 1 -name '.armlet-metadata.*')" "temporary files left"
  # a folder that does not exist: the error names the file
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --metadata-file "$d/no/such/md.json"
  assert_eq 1 "$rc"
  assert_contains "$err" "--metadata-file $d/no/such/md.json: cannot create a temporary file beside it"
}

test_build_metadata_file_is_valid_with_and_without_push() {
  command -v musl-gcc >/dev/null || skip "musl-gcc not installed"
  [ -x "$OUT/linux-amd64/armlet-init" ] || skip "no $OUT/linux-amd64/armlet-init (make inits)"
  local d; d=$(tmpdir); hi_project "$d/p"
  capture env SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR="$OUT" "$ARMLET" build "$d/p/hi.recipe" \
    --oci "$d/oci" --tag t1 --metadata-file "$d/build.json"
  assert_eq 0 "$rc" "$err"
  python3 "$VALIDATE" "$d/build.json" || fail "schema: $(cat "$d/build.json")"
  local dig; dig=$(index_digest "$d/oci" t1)
  assert_eq "build t1 $dig $(size_of "$d/oci" "$dig")" \
    "$(jq -r '"\(.command) \(.tag) \(.index.digest) \(.index.size)"' "$d/build.json")"
  assert_eq "linux/amd64" "$(jq -r '.manifests[0].platform' "$d/build.json")"
  assert_eq "[]" "$(jq -c .pushed "$d/build.json")"
  reg_start "$d/reg"
  capture env SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR="$OUT" "$ARMLET" build "$d/p/hi.recipe" \
    --oci "$d/oci" --tag t1 --push "$REG_HOST/hi:t1" --metadata-file "$d/push.json"
  assert_eq 0 "$rc" "$err"
  python3 "$VALIDATE" "$d/push.json" || fail "schema: $(cat "$d/push.json")"
  assert_eq "$REG_HOST/hi:t1@$dig" "$(jq -r '.pushed[0]' "$d/push.json")"
  assert_eq 1 "$(jq '.manifests | length' "$d/push.json")"
  # plain progress of a build: one line per blob (base layer, app layer, config,
  # manifest) and the index, no control byte
  capture env SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR="$OUT" "$ARMLET" build "$d/p/hi.recipe" --oci "$d/oci" --tag t2
  assert_eq 0 "$rc" "$err"
  assert_eq 5 "$(grep -c '^armlet: build: ' <<<"$err")" "build step lines: $err"
  assert_contains "$err" "armlet: build: linux/amd64: base layer sha256:"
  assert_contains "$err" "armlet: build: image index $dig"
}

test_plain_progress_is_one_line_per_blob_without_control_bytes() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/oci" v1 >/dev/null
  # stderr is a file here: auto means plain
  "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" 2>"$d/err" >/dev/null || fail "push: $(cat "$d/err")"
  local blobs; blobs=$(jq -r '.manifests[].digest' "$(blob_of "$d/oci" "$(index_digest "$d/oci" v1)")" |
    while read -r m; do jq -r '.config.digest, .layers[].digest' "$(blob_of "$d/oci" "$m")"; done | sort -u)
  assert_eq 9 "$(wc -l <<<"$blobs")"
  assert_eq 9 "$(grep -c '^armlet: push: blob sha256:.*: uploaded$' "$d/err")" "blob lines: $(cat "$d/err")"
  local b; for b in $blobs; do
    assert_eq 1 "$(grep -c "^armlet: push: blob $b " "$d/err")" "lines for blob $b"
  done
  assert_eq 4 "$(grep -c '^armlet: push: manifest sha256:.*: sent$' "$d/err")"
  assert_eq 1 "$(grep -c '^armlet: push: tag 1 -> sha256:.*: updated$' "$d/err")"
  assert_eq 0 "$(LC_ALL=C grep -c $'[\x01-\x09\x0b-\x1f\x7f]' "$d/err")" "control bytes on stderr"
  # a second push: every blob already present, the same one line each
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --progress plain
  assert_eq 9 "$(grep -c '^armlet: push: blob sha256:.*: already present$' <<<"$err")"
  # quiet: nothing on stderr, the result still on stdout
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --progress quiet
  assert_eq 0 "$rc" "$err"
  assert_eq "" "$err"
  assert_contains "$out" "pushed $REG_HOST/app:1@sha256:"
  # a terminal (script(1) gives one): the line rewritten in place, no step lines
  script -qec "$ARMLET push $d/oci:v1 $REG_HOST/app:tty" /dev/null >"$d/tty.out" 2>&1 </dev/null
  assert_contains "$(cat "$d/tty.out")" "MiB/s"
  assert_not_contains "$(cat "$d/tty.out")" "armlet: push: blob "
  # ... unless plain is asked for
  script -qec "$ARMLET push $d/oci:v1 $REG_HOST/app:tty2 --progress plain" /dev/null >"$d/tty2.out" 2>&1 </dev/null
  assert_contains "$(cat "$d/tty2.out")" "armlet: push: blob "
  assert_not_contains "$(cat "$d/tty2.out")" "MiB/s"
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --progress fancy
  assert_eq 2 "$rc"
  assert_contains "$err" "--progress: \"fancy\" is not auto, plain or quiet"
}

run_tests
