#!/usr/bin/env bash
# ci/publish end to end: every recipe in recipes/ built for its platforms (four unless its
# `platforms` line says fewer, as the builder image's does) and pushed to
# a real docker-registry, one multi-arch tag each; later images mount the shared base.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"

test_publish_pushes_every_recipe_as_a_multi_platform_index() {
  [ -x "$OUT/linux-arm-v6/armlet-init" ] || skip "inits not built (make inits)"
  local d; d=$(tmpdir); reg_start "$d/reg"
  capture env REGISTRY="$REG_HOST/armlet" TAG=ci1 ARMLET="$ARMLET" bash "$TOP/ci/publish"
  assert_eq 0 "$rc" "publish ($err)"
  local r name n want
  n=0
  for r in "$TOP"/recipes/*.recipe; do
    name=$(awk '$1 == "name" { print $2; exit }' "$r")
    raw_of "$REG_HOST/armlet/$name:ci1" "$d/raw" --tls-verify=false
    want=$(awk '$1 == "platforms" { $1 = ""; print; exit }' "$r" | sed 's/#.*//' | xargs)
    assert_eq "${want:-linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6}" \
      "$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)\(if .variant then "/"+.variant else "" end)"] | join(" ")' "$d/raw")" \
      "platforms of $name"
    n=$((n + 1))
  done
  [ "$n" -ge 2 ] || fail "expected at least two recipes, found $n"
  assert_contains "$err" "publish: $n image(s) published"
  # an image mounts the four base layers the previous four-platform image pushed
  assert_contains "$err" "4 mounted"
}

run_tests
