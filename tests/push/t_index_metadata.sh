#!/usr/bin/env bash
# Machine-readable results of `armlet index`: --metadata-file writes JSON valid against
# tests/fixtures/metadata/metadata.schema.json with the digest and size of the written
# index and of each platform manifest (and the pushed ref for a registry DEST), only when
# the merge succeeded; --progress plain gives one line per blob, manifest and the tag and
# no control byte; quiet gives nothing on stderr.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"

VALIDATE=$TOP/tests/fixtures/metadata/validate.py

size_of() { stat -c %s "$(blob_of "$1" "$2")"; }

# The "PLATFORM DIGEST SIZE" lines of an index file, as the metadata file lists them.
index_lines() {
  jq -r '.manifests[] | "\(.platform.os)/\(.platform.architecture)\(if .platform.variant then "/"+.platform.variant else "" end) \(.digest) \(.size)"' "$1"
}
md_lines() { jq -r '.manifests[] | "\(.platform) \(.digest) \(.size)"' "$1"; }

# The distinct blobs (configs and layers) the manifests of layout $1's tag $2 name.
blobs_of() {
  jq -r '.manifests[].digest' "$(blob_of "$1" "$(index_digest "$1" "$2")")" |
    while read -r m; do jq -r '.config.digest, .layers[].digest' "$(blob_of "$1" "$m")"; done | sort -u
}

test_index_into_a_layout_writes_valid_metadata_naming_what_it_wrote() {
  local d; d=$(tmpdir)
  mklayout "$d/src" v1 >/dev/null
  capture "$ARMLET" index create "oci:$d/merged:app" "oci:$d/src:v1" --metadata-file "$d/md.json"
  assert_eq 0 "$rc" "$err"
  python3 "$VALIDATE" "$d/md.json" || fail "schema: $(cat "$d/md.json")"
  local dig; dig=$(index_digest "$d/merged" app)
  assert_eq "index app $d/merged" "$(jq -r '"\(.command) \(.tag) \(.layout)"' "$d/md.json")"
  assert_eq "application/vnd.oci.image.index.v1+json $dig $(size_of "$d/merged" "$dig")" \
    "$(jq -r '"\(.index.mediaType) \(.index.digest) \(.index.size)"' "$d/md.json")"
  assert_eq "$(index_lines "$(blob_of "$d/merged" "$dig")")" "$(md_lines "$d/md.json")" "manifests"
  assert_eq 4 "$(jq '.manifests | length' "$d/md.json")"
  local m; for m in $(jq -r '.manifests[] | "\(.digest)=\(.size)=\(.mediaType)"' "$d/md.json"); do
    local dg=${m%%=*} rest=${m#*=}
    assert_eq "${rest%%=*}" "$(size_of "$d/merged" "$dg")" "size of $dg"
    assert_eq "${rest#*=}" "$(jq -r .mediaType "$(blob_of "$d/merged" "$dg")")" "media type of $dg"
  done
  assert_eq "[]" "$(jq -c .pushed "$d/md.json")" "nothing pushed to a layout"
}

test_index_into_the_registry_writes_the_pushed_ref() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/src" v1 >/dev/null
  capture "$ARMLET" index create "$REG_HOST/app:1" "oci:$d/src:v1" --metadata-file "$d/md.json"
  assert_eq 0 "$rc" "$err"
  python3 "$VALIDATE" "$d/md.json" || fail "schema: $(cat "$d/md.json")"
  raw_of "$REG_HOST/app:1" "$d/index.json" --tls-verify=false
  local dig; dig="sha256:$(sha256sum <"$d/index.json" | cut -d' ' -f1)"
  assert_contains "$out" "$REG_HOST/app:1@$dig"
  assert_eq "index 1 $dig $(stat -c %s "$d/index.json")" \
    "$(jq -r '"\(.command) \(.tag) \(.index.digest) \(.index.size)"' "$d/md.json")"
  assert_eq "null" "$(jq -r .layout "$d/md.json")" "no layout for a registry DEST"
  assert_eq "$REG_HOST/app:1@$dig" "$(jq -r '.pushed[0]' "$d/md.json")"
  assert_eq "$dig" "$(jq -r '."containerimage.digest"' "$d/md.json")"
  assert_eq "$REG_HOST/app:1" "$(jq -r '."image.name"' "$d/md.json")"
  assert_eq "$(index_lines "$d/index.json")" "$(md_lines "$d/md.json")" "manifests"
  # each manifest as the registry serves it: the digest and size of its bytes
  local m; for m in $(jq -r '.manifests[] | "\(.digest)=\(.size)"' "$d/md.json"); do
    raw_of "$REG_HOST/app@${m%=*}" "$d/m.json" --tls-verify=false
    assert_eq "${m%=*} ${m#*=}" "sha256:$(sha256sum <"$d/m.json" | cut -d' ' -f1) $(stat -c %s "$d/m.json")" \
      "manifest ${m%=*} in the registry"
  done
}

test_failed_index_leaves_an_earlier_metadata_file_as_it_was() {
  local d; d=$(tmpdir)
  mklayout "$d/src" v1 >/dev/null
  capture "$ARMLET" index create "oci:$d/merged:app" "oci:$d/src:v1" --metadata-file "$d/md.json"
  assert_eq 0 "$rc" "$err"
  local before; before=$(sha256sum <"$d/md.json")
  capture "$ARMLET" index create "127.0.0.1:$(free_port)/app:2" "oci:$d/src:v1" --retries 0 \
    --metadata-file "$d/md.json"
  assert_eq 1 "$rc"
  assert_eq "$before" "$(sha256sum <"$d/md.json")" "metadata file after a failed index"
  capture "$ARMLET" index create "oci:$d/merged:app" "oci:$d/no-such:v1" --metadata-file "$d/md.json"
  assert_eq 1 "$rc"
  assert_eq "$before" "$(sha256sum <"$d/md.json")" "metadata file after a missing SRC"
  assert_eq "" "$(find "$d" -maxdepth 1 -name '.armlet-metadata.*')" "temporary files left"
}

test_plain_progress_is_one_line_per_blob_and_manifest_without_control_bytes() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/src" v1 >/dev/null
  local blobs; blobs=$(blobs_of "$d/src" v1)
  assert_eq 9 "$(wc -l <<<"$blobs")"
  # into a layout (stderr is a file: auto means plain)
  "$ARMLET" index create "oci:$d/merged:app" "oci:$d/src:v1" 2>"$d/err" >/dev/null || fail "index: $(cat "$d/err")"
  assert_eq 9 "$(grep -c '^armlet: index: blob sha256:[0-9a-f]* (linux/[a-z0-9/]*, [0-9]* bytes): copied$' "$d/err")" \
    "blob lines: $(cat "$d/err")"
  local b; for b in $blobs; do
    assert_eq 1 "$(grep -c "^armlet: index: blob $b " "$d/err")" "lines for blob $b"
  done
  assert_eq 4 "$(grep -c '^armlet: index: manifest sha256:.* (linux/.*): written$' "$d/err")"
  assert_eq 1 "$(grep -c '^armlet: index: tag app -> sha256:.*: updated$' "$d/err")"
  assert_eq 0 "$(LC_ALL=C grep -c $'[\x01-\x09\x0b-\x1f\x7f]' "$d/err")" "control bytes on stderr"
  # into the registry, asked for explicitly
  capture "$ARMLET" index create "$REG_HOST/app:1" "oci:$d/src:v1" --progress plain
  assert_eq 0 "$rc" "$err"
  assert_eq 9 "$(grep -c '^armlet: index: blob sha256:.*: uploaded$' <<<"$err")" "registry blob lines: $err"
  assert_eq 4 "$(grep -c '^armlet: index: manifest sha256:.*: sent$' <<<"$err")"
  assert_eq 1 "$(grep -c '^armlet: index: tag 1 -> sha256:.*: updated$' <<<"$err")"
  assert_eq 0 "$(LC_ALL=C grep -c $'[\x01-\x09\x0b-\x1f\x7f]' <<<"$err")" "control bytes on stderr"
  # again into another repository of the same registry: every blob mounted
  capture "$ARMLET" index create "$REG_HOST/other:1" "$REG_HOST/app:1" --progress plain
  assert_eq 0 "$rc" "$err"
  assert_eq 9 "$(grep -c '^armlet: index: blob sha256:.*: mounted$' <<<"$err")" "mount lines: $err"
  # quiet: nothing on stderr, the result still on stdout
  capture "$ARMLET" index create "$REG_HOST/app:1" "oci:$d/src:v1" --progress quiet
  assert_eq 0 "$rc" "$err"
  assert_eq "" "$err"
  assert_contains "$out" "$REG_HOST/app:1@sha256:"
  capture "$ARMLET" index create "$REG_HOST/app:1" "oci:$d/src:v1" --progress fancy
  assert_eq 2 "$rc"
  assert_contains "$err" "--progress: \"fancy\" is not auto, plain or quiet"
}

run_tests
