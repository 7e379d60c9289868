#!/usr/bin/env bash
# armlet push against a real docker-registry over plain HTTP on 127.0.0.1: what lands in
# the registry, what a second push sends, chunked uploads, cross-repository mounts.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"

test_pushed_index_is_byte_identical_to_the_layouts() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  local dig; dig=$(mklayout "$d/oci" v1)
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/team/app:1.0"
  assert_eq 0 "$rc" "push exit status ($err)"
  assert_eq "pushed $REG_HOST/team/app:1.0@$dig" "$out"
  raw_of "$REG_HOST/team/app:1.0" "$d/raw" --tls-verify=false
  cmp "$d/raw" "$(blob_of "$d/oci" "$dig")" || fail "registry's index differs from the layout's"
  # every platform manifest is there by digest, byte-identical too
  for m in $(jq -r '.manifests[].digest' "$d/raw"); do
    raw_of "$REG_HOST/team/app@$m" "$d/m" --tls-verify=false
    cmp "$d/m" "$(blob_of "$d/oci" "$m")" || fail "manifest $m differs"
  done
}

test_insecure_flag_and_loopback_default_both_use_plain_http() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:a" --insecure
  assert_eq 0 "$rc" "--insecure ($err)"
  capture "$ARMLET" push "$d/oci:v1" "localhost:$REG_PORT/app:b" --verbose
  assert_eq 0 "$rc" "loopback without --insecure ($err)"
  assert_contains "$err" "does not speak TLS; using plain http (loopback)"
}

test_each_platform_pulls_back_with_its_own_config() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  local dig; dig=$(mklayout "$d/oci" v1)
  "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v1" >/dev/null 2>&1
  local idx p arch var want got cfg; idx=$(blob_of "$d/oci" "$dig")
  for p in amd64: arm64: arm:v7 arm:v6; do
    arch=${p%%:*}; var=${p#*:}
    skopeo --override-os linux --override-arch "$arch" ${var:+--override-variant "$var"} \
      copy -q --src-tls-verify=false "docker://$REG_HOST/app:v1" "oci:$d/pull-$arch$var:x" >/dev/null
    want=$(jq -r --arg a "$arch" --arg v "$var" \
      '.manifests[] | select(.platform.architecture==$a and (.platform.variant // "")==$v) | .digest' "$idx")
    local man; man=$(blob_of "$d/oci" "$want")
    got=$(jq -r '.manifests[0].digest' "$d/pull-$arch$var/index.json")
    assert_eq "$want" "$got" "manifest pulled for $p"
    cfg=$(blob_of "$d/pull-$arch$var" "$(jq -r .config.digest "$man")")
    assert_eq "$arch" "$(jq -r .architecture "$cfg")" "config architecture for $p"
    assert_eq "$var" "$(jq -r '.variant // ""' "$cfg")" "config variant for $p"
    cmp "$cfg" "$(blob_of "$d/oci" "$(jq -r .config.digest "$man")")" || fail "config of $p differs"
  done
}

test_second_push_sends_only_head_requests() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/oci" v1 >/dev/null
  "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v1" >/dev/null 2>&1
  local before; before=$(grep -c '" [0-9][0-9][0-9] ' "$REG_LOG")
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v1"
  assert_eq 0 "$rc" "second push ($err)"
  assert_contains "$err" "blobs 0 uploaded, 0 mounted, 9 already present"
  assert_contains "$err" "tag already up to date"
  local second; second=$(grep '" [0-9][0-9][0-9] ' "$REG_LOG" | tail -n +"$((before + 1))")
  local methods; methods=$(echo "$second" | sed -E 's/.*"([A-Z]+) .*/\1/' | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
  # 9 blobs + 4 manifests + the tag are HEADs; the only other request is the GET /v2/ ping
  assert_eq "GET=1 HEAD=14 " "$methods" "requests of the second push"
}

test_rerun_after_partial_push_uploads_only_the_missing_blobs() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/oci" v1 >/dev/null
  mklayout "$d/oci" v2 --seed 2 >/dev/null   # same layout, another tag with other blobs
  "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v1" >/dev/null 2>&1
  local before; before=$(reg_count PUT /blobs/uploads/)
  capture "$ARMLET" push "$d/oci:v2" "$REG_HOST/app:v2"
  assert_eq 0 "$rc" "$err"
  # v2 shares nothing but needs its own 9 blobs; v1's blobs were never sent again
  assert_eq 9 "$(( $(reg_count PUT /blobs/uploads/) - before ))" "blob PUTs for v2"
}

test_large_blobs_go_up_in_chunks_with_content_range() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  local dig; dig=$(mklayout "$d/oci" v1 --layer-kib 300)
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:chunked" --chunk-size 100000
  assert_eq 0 "$rc" "$err"
  local patches; patches=$(reg_count PATCH /blobs/uploads/)
  # four 300 KiB layers in 100000-byte chunks: 4 PATCHes each
  [ "$patches" -ge 16 ] || fail "expected >= 16 PATCH requests, saw $patches"
  skopeo --override-arch arm64 copy -q --src-tls-verify=false "docker://$REG_HOST/app:chunked" "oci:$d/pull:x" >/dev/null
  local man; man=$(blob_of "$d/pull" "$(jq -r '.manifests[0].digest' "$d/pull/index.json")")
  local l; for l in $(jq -r '.layers[].digest' "$man"); do
    cmp "$(blob_of "$d/pull" "$l")" "$(blob_of "$d/oci" "$l")" || fail "layer $l differs after chunked upload"
  done
}

test_chunks_are_at_least_the_registrys_minimum_length() {
  local d; d=$(tmpdir); reg_start "$d/reg"; proxy_start chunk-min
  local dig; dig=$(mklayout "$d/oci" v1 --layer-kib 300)
  capture "$ARMLET" push "$d/oci:v1" "$PROXY_HOST/app:v1" --chunk-size 100000
  assert_eq 0 "$rc" "$err"
  # 300 KiB layers in chunks of max(100000, OCI-Chunk-Min-Length 200000): 2 each, not 4
  assert_eq 8 "$(grep -c '^PATCH ' "$PROXY_LOG")" "PATCH requests for four 300 KiB layers"
  raw_of "$REG_HOST/app:v1" "$d/raw" --tls-verify=false
  cmp "$d/raw" "$(blob_of "$d/oci" "$dig")" || fail "index differs"
}

test_registry_refusing_monolithic_upload_gets_chunks() {
  local d; d=$(tmpdir); reg_start "$d/reg"; proxy_start 413-monolithic
  local dig; dig=$(mklayout "$d/oci" v1)
  capture "$ARMLET" push "$d/oci:v1" "$PROXY_HOST/app:v1"
  assert_eq 0 "$rc" "$err"
  assert_contains "$(cat "$PROXY_LOG")" "413 fault"
  assert_contains "$(cat "$PROXY_LOG")" "PATCH /v2/app/blobs/uploads/"
  raw_of "$REG_HOST/app:v1" "$d/raw" --tls-verify=false
  cmp "$d/raw" "$(blob_of "$d/oci" "$dig")" || fail "index differs"
}

test_from_mounts_blobs_from_another_repository() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/oci" v1 >/dev/null
  "$ARMLET" push "$d/oci:v1" "$REG_HOST/first:v1" >/dev/null 2>&1
  local puts; puts=$(reg_count PUT /blobs/uploads/)
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/second:v1" --from first
  assert_eq 0 "$rc" "$err"
  assert_contains "$err" "blobs 0 uploaded, 9 mounted"
  assert_eq "$puts" "$(reg_count PUT /blobs/uploads/)" "no blob was uploaded again"
  assert_eq 9 "$(grep -c '"POST /v2/second/blobs/uploads/?mount=sha256[^"]*" 201' "$REG_LOG")" "mount requests answered 201"
}

test_progress_line_only_on_a_terminal() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v1"
  assert_not_contains "$err" "MiB/s"
  # script(1) gives the command a pseudo-terminal
  script -qec "$ARMLET push $d/oci:v1 $REG_HOST/app:v2" /dev/null >"$d/tty.out" 2>&1 </dev/null
  assert_contains "$(cat "$d/tty.out")" "MiB sent,"
  assert_contains "$(cat "$d/tty.out")" "MiB/s"
}

run_tests
