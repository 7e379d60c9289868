#!/usr/bin/env bash
# armlet push on bad input: each failure names what failed and exits 1 (usage: 2).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"

test_missing_tag_names_the_tags_the_layout_has() {
  local d; d=$(tmpdir)
  mklayout "$d/oci" v1 >/dev/null; mklayout "$d/oci" v2 --seed 2 >/dev/null
  capture "$ARMLET" push "$d/oci:nope" "127.0.0.1:9/app"
  assert_eq 1 "$rc"
  assert_contains "$err" "$d/oci has no tag \"nope\" (tags: v1, v2)"
  capture "$ARMLET" push "$d/oci" "127.0.0.1:9/app"
  assert_eq 1 "$rc" "two tags and none named"
  assert_contains "$err" "name one as $d/oci:TAG"
}

test_unknown_registry_fails_naming_it() {
  local d; d=$(tmpdir); mklayout "$d/oci" v1 >/dev/null
  local port; port=$(free_port)   # nothing listens there
  local t0; t0=$(date +%s)
  capture "$ARMLET" push "$d/oci:v1" "127.0.0.1:$port/app:1"
  assert_eq 1 "$rc"
  assert_contains "$err" "cannot connect to registry 127.0.0.1:$port"
  [ $(( $(date +%s) - t0 )) -le 5 ] || fail "took too long to give up on a closed port"
}

test_not_a_layout_and_broken_blobs_are_named() {
  local d; d=$(tmpdir); mkdir -p "$d/empty"
  capture "$ARMLET" push "$d/empty:v1" "127.0.0.1:9/app"
  assert_eq 1 "$rc"
  assert_contains "$err" "$d/empty: not an OCI image layout"
  local dig; dig=$(mklayout "$d/oci" v1)
  local man; man=$(jq -r '.manifests[1].digest' "$(blob_of "$d/oci" "$dig")")
  local layer; layer=$(jq -r '.layers[1].digest' "$(blob_of "$d/oci" "$man")")
  truncate -s 10 "$(blob_of "$d/oci" "$layer")"
  capture "$ARMLET" push "$d/oci:v1" "127.0.0.1:9/app"
  assert_eq 1 "$rc"
  assert_contains "$err" "layer 2 of linux/arm64: blob $d/oci/blobs/sha256/${layer#sha256:} is 10 bytes"
  echo '{}' >"$(blob_of "$d/oci" "$man")"
  capture "$ARMLET" push "$d/oci:v1" "127.0.0.1:9/app"
  assert_eq 1 "$rc"
  assert_contains "$err" "manifest of linux/arm64"
}

test_bad_references_and_usage() {
  local d; d=$(tmpdir); mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "127.0.0.1:5000/Bad/Repo:1"
  assert_eq 1 "$rc"; assert_contains "$err" "repository \"Bad/Repo\" is not valid"
  capture "$ARMLET" push "$d/oci:v1" "127.0.0.1:5000/app@sha256:abc"
  assert_eq 1 "$rc"; assert_contains "$err" "is not sha256:<64 hex digits>"
  capture "$ARMLET" push "$d/oci:v1"
  assert_eq 2 "$rc" "one argument"
  capture "$ARMLET" push "$d/oci:v1" "127.0.0.1:5000/app" --jobs 0
  assert_eq 2 "$rc" "--jobs 0"
  capture "$ARMLET" push --help
  assert_eq 0 "$rc"; assert_contains "$out" "usage: armlet push OCI_DIR[:TAG] REF"
  capture "$ARMLET" push "$d/oci:v1" "127.0.0.1:5000/app" --creds nocolon
  assert_eq 1 "$rc"; assert_contains "$err" "credentials from --creds: expected USER:PASS"
}

run_tests
