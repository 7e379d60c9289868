#!/usr/bin/env bash
# armlet push through a fault-injecting proxy (fault_proxy.py) in front of a real
# docker-registry: a dropped connection or a 500 mid-blob is retried and the push
# completes; a push that cannot complete fails with a clear error, leaves the tag
# unpublished, and a re-run completes sending only what is missing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"

# The tag resolves in the registry (skopeo exit 0)?
tag_exists() { skopeo inspect --raw --tls-verify=false "docker://$1" >/dev/null 2>&1; }

test_connection_dropped_mid_blob_is_retried_and_push_completes() {
  local d; d=$(tmpdir); reg_start "$d/reg"; proxy_start drop-blob-once
  local dig; dig=$(mklayout "$d/oci" v1)
  capture "$ARMLET" push "$d/oci:v1" "$PROXY_HOST/app:v1"
  assert_eq 0 "$rc" "$err"
  assert_eq 1 "$(grep -c ' - drop$' "$PROXY_LOG")" "the proxy dropped one upload"
  assert_contains "$err" "blobs 9 uploaded"
  raw_of "$REG_HOST/app:v1" "$d/raw" --tls-verify=false
  cmp "$d/raw" "$(blob_of "$d/oci" "$dig")" || fail "index differs"
}

test_server_error_on_a_blob_is_retried_after_a_fresh_head() {
  local d; d=$(tmpdir); reg_start "$d/reg"; proxy_start 500-blob-once
  local dig; dig=$(mklayout "$d/oci" v1)
  capture "$ARMLET" push "$d/oci:v1" "$PROXY_HOST/app:v1"
  assert_eq 0 "$rc" "$err"
  assert_eq 1 "$(grep -c ' 500 fault$' "$PROXY_LOG")" "one injected 500"
  # 9 blobs + one re-HEAD of the blob that failed
  assert_eq 10 "$(grep -c '^HEAD /v2/app/blobs/' "$PROXY_LOG")" "blob HEADs"
  raw_of "$REG_HOST/app:v1" "$d/raw" --tls-verify=false
  cmp "$d/raw" "$(blob_of "$d/oci" "$dig")" || fail "index differs"
}

test_failing_manifests_leave_the_tag_unpublished_and_a_rerun_completes() {
  local d; d=$(tmpdir); reg_start "$d/reg"; proxy_start 500-manifest-after-1
  local dig; dig=$(mklayout "$d/oci" v1)
  capture "$ARMLET" push "$d/oci:v1" "$PROXY_HOST/app:v1" --retries 1
  assert_eq 1 "$rc"
  assert_contains "$err" "(tag not updated)"
  assert_contains "$err" "PUT manifest sha256:"
  assert_contains "$err" "HTTP 500: UNKNOWN: injected fault"
  ! tag_exists "$REG_HOST/app:v1" || fail "the tag was published although manifests are missing"
  local puts; puts=$(reg_count PUT /blobs/uploads/)
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v1"
  assert_eq 0 "$rc" "re-run ($err)"
  assert_contains "$err" "blobs 0 uploaded, 0 mounted, 9 already present"
  assert_contains "$err" "manifests 3 sent, 1 present"
  assert_eq "$puts" "$(reg_count PUT /blobs/uploads/)" "the re-run uploaded no blob"
  raw_of "$REG_HOST/app:v1" "$d/raw" --tls-verify=false
  cmp "$d/raw" "$(blob_of "$d/oci" "$dig")" || fail "index differs"
}

test_uploads_that_always_drop_fail_clearly_then_rerun_completes() {
  local d; d=$(tmpdir); reg_start "$d/reg"; proxy_start drop-blob-always
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$PROXY_HOST/app:v1" --retries 2
  assert_eq 1 "$rc"
  assert_contains "$err" "blob sha256:"
  assert_contains "$err" "giving up after 2 retries"
  assert_contains "$err" "(tag not updated)"
  ! tag_exists "$REG_HOST/app:v1" || fail "tag published after a failed push"
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v1"
  assert_eq 0 "$rc" "re-run ($err)"
  tag_exists "$REG_HOST/app:v1" || fail "tag missing after the re-run"
}

test_too_many_requests_waits_for_retry_after_then_completes() {
  local d; d=$(tmpdir); reg_start "$d/reg"; proxy_start 429-once
  mklayout "$d/oci" v1 >/dev/null
  local t0; t0=$(date +%s%N)
  capture "$ARMLET" push "$d/oci:v1" "$PROXY_HOST/app:v1"
  assert_eq 0 "$rc" "$err"
  assert_eq 1 "$(grep -c ' 429 fault$' "$PROXY_LOG")" "one injected 429"
  [ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 1000 ] || fail "did not wait for Retry-After: 1"
  tag_exists "$REG_HOST/app:v1" || fail "tag missing"
}

test_digest_mismatch_from_registry_stops_before_the_tag() {
  local d; d=$(tmpdir); reg_start "$d/reg"; proxy_start wrong-digest
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$PROXY_HOST/app:v1"
  assert_eq 1 "$rc"
  assert_contains "$err" "registry computed sha256:0000000000000000000000000000000000000000000000000000000000000000, expected sha256:"
  assert_contains "$err" "(tag not updated)"
  ! tag_exists "$REG_HOST/app:v1" || fail "tag published although a manifest digest did not match"
}

test_token_rejected_mid_push_is_renewed_and_push_completes() {
  local d; d=$(tmpdir); reg_start "$d/reg" token; proxy_start 401-once
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$PROXY_HOST/app:v1" --creds "armlet:$REG_PASS"
  assert_eq 0 "$rc" "$err"
  assert_eq 1 "$(grep -c ' 401 fault$' "$PROXY_LOG")" "one injected 401"
  assert_eq 2 "$(grep -c '^200 ' "$TOK_LOG")" "tokens fetched: at the start and after the 401"
}

test_upload_location_on_another_host_gets_no_credentials() {
  local d; d=$(tmpdir); reg_start "$d/reg" token; proxy_start foreign-location
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$PROXY_HOST/app:v1" --creds "armlet:$REG_PASS"
  # the registry itself refuses the credential-less upload: what matters is what was sent
  assert_eq 1 "$rc" "uploads without a token must be refused by this registry"
  assert_contains "$(cat "$PROXY_LOG")" "upload to localhost:"
  assert_not_contains "$(cat "$PROXY_LOG")" "auth=yes"
}

run_tests
