#!/usr/bin/env bash
# armlet push of an image with SBOMs to Debian's docker-registry (2.8: no referrers API):
# each platform's SBOM lands in the distribution-spec 1.1 fallback tag sha256-<hex of the
# platform manifest>, which is merged with what is already there (another tool's
# referrer survives), a second push changes nothing, and `armlet sbom REF` reads each
# platform's SBOM back byte for byte.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"
export SOURCE_DATE_EPOCH=1700000000

build_two() {   # build_two DIR: an amd64 + arm64 image with SBOMs in DIR/oci
  local p
  for p in linux-amd64 linux-arm64; do
    [ -x "$OUT/$p/armlet-init" ] || skip "no $OUT/$p/armlet-init (make)"
  done
  printf 'name app\nplatforms linux/amd64 linux/arm64\nbase static\nentrypoint /bin/true\n' >"$1/r.recipe"
  "$ARMLET" build "$1/r.recipe" --oci "$1/oci" --tag v1 --init-dir "$OUT" >/dev/null || fail "build"
}

# fallback DIGEST: the registry's fallback index for that subject, on stdout
fallback() { curl -fsS -H "Accept: application/vnd.oci.image.index.v1+json" \
  "http://$REG_HOST/v2/app/manifests/sha256-${1#sha256:}"; }

test_each_platforms_sbom_is_in_its_fallback_tag_and_reads_back() {
  local d; d=$(tmpdir); reg_start "$d/reg"; build_two "$d"
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v1"
  assert_eq 0 "$rc" "push: $err"
  local idx m p ref
  idx=$(blob_of "$d/oci" "$(index_digest "$d/oci" v1)")
  for p in linux/amd64 linux/arm64; do
    m=$(jq -r --arg a "${p#linux/}" '.manifests[] | select(.platform.architecture==$a) | .digest' "$idx")
    fallback "$m" >"$d/fb.json" || fail "no fallback tag for $p's manifest $m"
    assert_eq "application/spdx+json application/vnd.in-toto+json" \
      "$(jq -r '[.manifests[].artifactType] | sort | join(" ")' "$d/fb.json")" "$p referrers"
    ref=$(jq -r '.manifests[] | select(.artifactType == "application/spdx+json") | .digest' "$d/fb.json")
    # the referrer is the layout's, byte for byte, and names the platform manifest
    curl -fsS -H "Accept: application/vnd.oci.image.manifest.v1+json" \
      "http://$REG_HOST/v2/app/manifests/$ref" >"$d/ref.json" || fail "referrer $ref not pushed"
    cmp "$d/ref.json" "$(blob_of "$d/oci" "$ref")" || fail "pushed referrer differs"
    assert_eq "$m" "$(jq -r .subject.digest "$d/ref.json")"
    "$ARMLET" sbom "$REG_HOST/app:v1" --platform "$p" >"$d/reg.json" || fail "armlet sbom REF --platform $p"
    "$ARMLET" sbom "$d/oci:v1" --platform "$p" >"$d/lay.json" || fail "armlet sbom layout"
    cmp "$d/reg.json" "$d/lay.json" || fail "$p: the registry's SBOM differs from the layout's"
    "$ARMLET" sbom "$REG_HOST/app@$(index_digest "$d/oci" v1)" --platform "$p" >"$d/byd.json" || fail "sbom by digest"
    cmp "$d/byd.json" "$d/lay.json" || fail "$p: by digest"
  done
  capture "$ARMLET" sbom "$REG_HOST/app:v1"
  assert_eq 1 "$rc"
  assert_contains "$err" "give --platform"
}

# put_other_referrer DIR SUBJECT: a referrer manifest of SUBJECT with a one-blob payload,
# pushed with curl; its descriptor (with artifactType) on stdout.
put_other_referrer() {
  local d=$1 subj=$2 loc sig man
  printf 'signature' >"$d/sig"
  sig=sha256:$(sha256sum <"$d/sig" | cut -d' ' -f1)
  loc=$(curl -fsS -X POST -D - -o /dev/null "http://$REG_HOST/v2/app/blobs/uploads/" |
        tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case $loc in http*) ;; *) loc=http://$REG_HOST$loc;; esac
  curl -fsS -X PUT --data-binary "@$d/sig" -H "Content-Type: application/octet-stream" \
    "$loc&digest=$sig" >/dev/null || fail "sig blob upload"
  jq -cn --arg s "$subj" --arg l "$sig" '{
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json",
    config: {mediaType: "application/vnd.oci.empty.v1+json",
             digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2},
    layers: [{mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", digest: $l, size: 9}],
    subject: {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $s, size: 0}}' |
    jq -c ".subject.size = $(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG_HOST/v2/app/manifests/$subj" | wc -c)" >"$d/other.json"
  man=sha256:$(sha256sum <"$d/other.json" | cut -d' ' -f1)
  curl -fsS -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
    --data-binary "@$d/other.json" "http://$REG_HOST/v2/app/manifests/$man" >/dev/null || fail "other referrer"
  jq -cn --arg m "$man" --argjson sz "$(wc -c <"$d/other.json")" \
    '{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $sz,
      artifactType: "application/vnd.dev.cosign.artifact.sig.v1+json"}'
}

test_fallback_tag_is_merged_not_overwritten_and_a_second_push_puts_nothing() {
  local d; d=$(tmpdir); reg_start "$d/reg"; build_two "$d"
  "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v1" >/dev/null 2>&1 || fail "first push"
  local idx m other fb before
  idx=$(blob_of "$d/oci" "$(index_digest "$d/oci" v1)")
  m=$(jq -r '.manifests[0].digest' "$idx")
  # another tool's referrer of the same subject (a signature-like artifact), pushed and
  # added to the fallback index by hand: docker-registry checks that an index's
  # manifests exist
  other=$(put_other_referrer "$d" "$m")
  fallback "$m" | jq -c --argjson o "$other" '.manifests += [$o]' >"$d/fb2.json"
  curl -fsS -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" \
    --data-binary "@$d/fb2.json" "http://$REG_HOST/v2/app/manifests/sha256-${m#sha256:}" >/dev/null ||
    fail "cannot put the hand-made fallback index"
  # the same image pushed to another tag: nothing to add, the fallback index stays
  before=$(reg_count PUT "/manifests/sha256-")
  "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v2" >/dev/null 2>&1 || fail "second push"
  assert_eq "$before" "$(reg_count PUT "/manifests/sha256-")" "fallback tags put again"
  fb=$(fallback "$m")
  assert_eq 3 "$(jq '.manifests | length' <<<"$fb")" "entries after the second push"
  assert_contains "$fb" "application/vnd.dev.cosign.artifact.sig.v1+json"
  # now the hand-made entry is there and ours removed: the next push adds ours back
  jq -c '.manifests |= map(select(.artifactType != "application/spdx+json"))' <<<"$fb" >"$d/fb3.json"
  curl -fsS -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" \
    --data-binary "@$d/fb3.json" "http://$REG_HOST/v2/app/manifests/sha256-${m#sha256:}" >/dev/null
  "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:v3" >/dev/null 2>&1 || fail "third push"
  fb=$(fallback "$m")
  assert_eq "application/spdx+json application/vnd.dev.cosign.artifact.sig.v1+json application/vnd.in-toto+json" \
    "$(jq -r '[.manifests[].artifactType] | sort | join(" ")' <<<"$fb")" "merged entries"
  assert_eq application/spdx+json "$(jq -r '.manifests[-1].artifactType' <<<"$fb")" "ours appended, theirs kept in place"
}

run_tests
