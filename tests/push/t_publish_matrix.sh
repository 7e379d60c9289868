#!/usr/bin/env bash
# ci/publish as a CI matrix: one `ci/publish platform P` job per platform, each writing its
# own layout (the job's artifact), then `ci/publish merge` running `armlet index create`
# into a real docker-registry: one multi-platform tag, the same index digest a single
# four-platform build gives.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"

test_per_platform_jobs_then_merge_publish_one_multi_platform_tag() {
  [ -x "$OUT/linux-arm-v6/armlet-init" ] || skip "inits not built (make inits)"
  local d; d=$(tmpdir); reg_start "$d/reg"
  # the recipe's folder is no git checkout, even when $TMPDIR lies inside one whose HEAD
  # may move while the test runs (revision annotations would then differ between jobs)
  export GIT_CEILING_DIRECTORIES=$d
  mkdir -p "$d/src"
  echo "matrix" >"$d/src/data.txt"
  cat >"$d/src/app.recipe" <<'R'
name       matrixapp
base       scratch
file       /data.txt data.txt
label      org.opencontainers.image.description="built by four jobs"
entrypoint /data.txt
R
  cat >"$d/src/two.recipe" <<'R'
name       twoplat
platforms  linux/amd64 linux/arm64
base       scratch
file       /data.txt data.txt
entrypoint /data.txt
R
  local p
  for p in linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6; do
    # each job has its own workspace; its layout is the artifact the merge job downloads
    capture env RECIPES="$d/src/app.recipe $d/src/two.recipe" LAYOUTS="$d/job-${p//\//-}/layouts" \
      ARMLET="$ARMLET" ARMLET_INIT_DIR="$OUT" SOURCE_DATE_EPOCH=0 bash "$TOP/ci/publish" platform "$p"
    assert_eq 0 "$rc" "job $p ($err)"
    mkdir -p "$d/artifacts"
    cp -r "$d/job-${p//\//-}/layouts/${p//\//-}" "$d/artifacts/"
  done
  assert_contains "$err" "twoplat) is not built for linux/arm/v6: skipped"
  capture env RECIPES="$d/src/app.recipe $d/src/two.recipe" LAYOUTS="$d/artifacts" REGISTRY="$REG_HOST/ci" TAG=v1 \
    ARMLET="$ARMLET" bash "$TOP/ci/publish" merge
  assert_eq 0 "$rc" "merge job ($err)"
  assert_contains "$err" "publish: 2 image(s) published"
  raw_of "$REG_HOST/ci/matrixapp:v1" "$d/raw" --tls-verify=false
  assert_eq "linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6" \
    "$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)\(if .variant then "/"+.variant else "" end)"] | join(" ")' "$d/raw")"
  assert_eq "built by four jobs" "$(jq -r '.annotations["org.opencontainers.image.description"]' "$d/raw")" "description on the index"
  raw_of "$REG_HOST/ci/twoplat:v1" "$d/raw2" --tls-verify=false
  assert_eq 2 "$(jq '.manifests | length' "$d/raw2")" "twoplat platforms"
  # the merged index is byte for byte what one four-platform build writes
  SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR=$OUT "$ARMLET" build "$d/src/app.recipe" --oci "$d/all" --tag matrixapp >/dev/null
  cmp "$d/raw" "$(blob_of "$d/all" "$(index_digest "$d/all" matrixapp)")" || fail "merged index differs from a single build's"
}

run_tests
