#!/usr/bin/env bash
# tests/builder/t_build_push.sh — `armlet build --push REF`: the tag just built lands in a
# real docker-registry (127.0.0.1, plain HTTP) byte for byte.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../push/lib_registry.sh"

WORK=$(tmpdir)
trap 'reg_stop; rm -rf "$WORK"' EXIT

# A one-file amd64 project in $1: hi.recipe and dist/hi-amd64.
hi_project() {
  mkdir -p "$1/dist"
  printf '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n' >"$1/hi.c"
  musl-gcc -static -Os -o "$1/dist/hi-amd64" "$1/hi.c"
  printf 'name hi\nplatforms linux/amd64\nfile /hi dist/hi-${arch}\nentrypoint /hi\n' >"$1/hi.recipe"
}

test_build_push_puts_the_built_index_in_the_registry() {
  command -v docker-registry >/dev/null || skip "docker-registry not installed"
  reg_start "$WORK/reg" >/dev/null || fail "registry did not start"
  hi_project "$WORK/p"
  capture env SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR="$OUT" "$ARMLET" build "$WORK/p/hi.recipe" \
    --oci "$WORK/p/oci" --tag t1 --push "$REG_HOST/armlet/hi:t1"
  assert_eq 0 "$rc" "$err"
  local dig; dig=$(jq -r '.manifests[0].digest' "$WORK/p/oci/index.json")
  capture skopeo inspect --raw --tls-verify=false "docker://$REG_HOST/armlet/hi:t1"
  assert_eq 0 "$rc" "$err"
  assert_eq "$(cat "$WORK/p/oci/blobs/sha256/${dig#sha256:}")" "$out" "registry's index"
}

test_build_push_failure_says_the_build_succeeded() {
  hi_project "$WORK/q"
  local port; port=$(free_port)
  capture env ARMLET_INIT_DIR="$OUT" "$ARMLET" build "$WORK/q/hi.recipe" --oci "$WORK/q/oci" \
    --push "127.0.0.1:$port/armlet/hi:t1"
  assert_eq 1 "$rc"
  assert_contains "$err" "built $WORK/q/oci:latest, but push to 127.0.0.1:$port/armlet/hi:t1 failed"
  assert_file "$WORK/q/oci/index.json"
}

run_tests
