#!/usr/bin/env bash
# armlet index create|add against real docker-registries on 127.0.0.1 and OCI layouts:
# per-platform builds merged into one multi-platform tag, mounts within a registry, copies
# across registries, order independence, --replace, and the tag written last.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"
. "$TOP/tests/tools/oci.sh"

PLATS="linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6"

# build_each DIR: the recipe DIR/p/app.recipe built once per platform, each into its own
# layout DIR/l-<os>-<arch>[-<variant>] with tag app, as four CI runners would.
build_each() {
  local d=$1 p
  [ -x "$OUT/linux-arm-v6/armlet-init" ] || skip "inits not built (make inits)"
  mkdir -p "$d/p"
  echo "hello from a per-platform job" >"$d/p/msg.txt"
  cat >"$d/p/app.recipe" <<'EOF'
name        app
platforms   linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6
base        scratch
file        /msg-${arch}${variant}.txt msg.txt
label       org.opencontainers.image.title=App
label       org.opencontainers.image.description="merged from four jobs"
entrypoint  /msg.txt
EOF
  for p in $PLATS; do
    SOURCE_DATE_EPOCH=0 ARMLET_INIT_DIR=$OUT "$ARMLET" build "$d/p/app.recipe" --platform "$p" \
      --oci "$d/l-${p//\//-}" --tag app >/dev/null || fail "build $p"
  done
}

# platforms of an index file, in order
plats_of() { jq -r '[.manifests[].platform | "\(.os)/\(.architecture)\(if .variant then "/"+.variant else "" end)"] | join(" ")' "$1"; }
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

test_merge_of_four_single_platform_layouts_built_separately() {
  local d; d=$(tmpdir); build_each "$d"
  capture "$ARMLET" index create "oci:$d/merged:app" oci:"$d"/l-linux-arm-v6:app oci:"$d"/l-linux-amd64:app \
    oci:"$d"/l-linux-arm64:app oci:"$d"/l-linux-arm-v7:app
  assert_eq 0 "$rc" "index create ($err)"
  local dig; dig=$(index_digest "$d/merged" app)
  assert_contains "$out" "oci:$d/merged:app@$dig"
  local idx; idx=$(blob_of "$d/merged" "$dig")
  assert_eq "$PLATS" "$(plats_of "$idx")" "platforms in canonical order"
  # each descriptor is the manifest the platform's own build wrote
  local p m
  for p in $PLATS; do
    m=$(jq -r --arg p "$p" '.manifests[] | select((.platform.os+"/"+.platform.architecture+(if .platform.variant then "/"+.platform.variant else "" end))==$p) | .digest' "$idx")
    assert_eq "$(jq -r '.manifests[0].digest' "$(blob_of "$d/l-${p//\//-}" "$(index_digest "$d/l-${p//\//-}" app)")")" "$m" "manifest of $p"
  done
  # the recipe's OCI labels are index annotations (what GHCR shows)
  assert_eq "App" "$(jq -r '.annotations["org.opencontainers.image.title"]' "$idx")" "title on the index"
  # skopeo reads the index and pulls each platform; umoci unpacks one
  skopeo inspect --raw "oci:$d/merged:app" | cmp - "$idx" || fail "skopeo's raw index differs"
  skopeo --override-os linux --override-arch arm --override-variant v7 copy -q "oci:$d/merged:app" \
    "oci:$d/pulled:x" >/dev/null || fail "skopeo copy of arm/v7"
  assert_eq "arm" "$(jq -r .architecture "$(blob_of "$d/pulled" "$(jq -r .config.digest "$(blob_of "$d/pulled" "$(jq -r '.manifests[0].digest' "$d/pulled/index.json")")")")")" "pulled config"
  oci_unpack "$d/merged" app linux/arm64 "$d/bundle" || fail "umoci unpack of linux/arm64"
  assert_eq "hello from a per-platform job" "$(cat "$d/bundle/rootfs/msg-arm64.txt")" "arm64 file"
}

test_merge_from_registry_refs_in_two_repositories_mounts_every_blob() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/a" v1 --platforms linux/amd64,linux/arm64 --seed 3 >/dev/null
  mklayout "$d/b" v1 --platforms linux/arm/v7,linux/arm/v6 --seed 4 >/dev/null
  "$ARMLET" push "$d/a:v1" "$REG_HOST/team/app-a:v1" >/dev/null 2>&1 || fail "push a"
  "$ARMLET" push "$d/b:v1" "$REG_HOST/team/app-b:v1" >/dev/null 2>&1 || fail "push b"
  local before; before=$(wc -l <"$REG_LOG")
  capture "$ARMLET" index create "$REG_HOST/team/app:1.0" "docker://$REG_HOST/team/app-b:v1" "$REG_HOST/team/app-a:v1"
  assert_eq 0 "$rc" "index create ($err)"
  # 2 base layers + 4 own layers + 4 configs, each mounted once: not one blob byte uploaded
  assert_contains "$err" "blobs 0 copied, 10 mounted, 0 already present (0 bytes sent)"
  local log; log=$(tail -n +"$((before + 1))" "$REG_LOG")
  assert_eq 10 "$(grep -c '"POST /v2/team/app/blobs/uploads/?mount=sha256%3A[0-9a-f]*&from=team%2Fapp-[ab] HTTP/1.1" 201\|"POST /v2/team/app/blobs/uploads/?mount=sha256%3A[0-9a-f]*&from=team/app-[ab] HTTP/1.1" 201' <<<"$log")" "mounts answered 201 in the access log"
  assert_eq 0 "$(grep -c '"P[AU]T[CH]* /v2/team/app/blobs/uploads' <<<"$log" || true)" "blob uploads (PUT/PATCH) in the access log"
  raw_of "$REG_HOST/team/app:1.0" "$d/raw" --tls-verify=false
  assert_eq "$PLATS" "$(plats_of "$d/raw")" "platforms"
  # the index is what the command printed, and skopeo pulls a platform through it
  assert_contains "$out" "@sha256:$(sha256sum <"$d/raw" | cut -d' ' -f1)"
  skopeo --override-arch arm --override-variant v6 copy -q --src-tls-verify=false \
    "docker://$REG_HOST/team/app:1.0" "oci:$d/pull:x" >/dev/null || fail "skopeo copy of arm/v6"
  # a platform manifest named by digest is a source too (@sha256: accepted)
  local m; m=$(jq -r '.manifests[0].digest' "$d/raw")
  capture "$ARMLET" index create "$REG_HOST/team/one:1" "$REG_HOST/team/app@$m"
  assert_eq 0 "$rc" "by digest ($err)"
  raw_of "$REG_HOST/team/one:1" "$d/one" --tls-verify=false
  assert_eq "linux/amd64" "$(plats_of "$d/one")" "platform read from the manifest's config"
}

test_same_inputs_in_any_order_give_the_same_index_digest() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  local p s i=0
  for p in $PLATS; do
    i=$((i + 1))
    mklayout "$d/l$i" v1 --platforms "$p" --seed "$i" >/dev/null
  done
  "$ARMLET" push "$d/l3:v1" "$REG_HOST/src/v7:1" >/dev/null 2>&1 || fail "push"
  local first=""
  for order in "1 2 3 4" "4 3 2 1" "2 4 1 3" "3 1 4 2"; do
    local args=()
    for s in $order; do
      if [ "$s" = 3 ]; then args+=("$REG_HOST/src/v7:1"); else args+=("oci:$d/l$s:v1"); fi
    done
    capture "$ARMLET" index create "oci:$d/out-${order// /}:m" "${args[@]}"
    assert_eq 0 "$rc" "order $order ($err)"
    local dig; dig=$(index_digest "$d/out-${order// /}" m)
    [ -n "$first" ] || first=$dig
    assert_eq "$first" "$dig" "index digest for order $order"
    capture "$ARMLET" index create "$REG_HOST/dst/app:${order// /}" "${args[@]}"
    assert_eq 0 "$rc" "to the registry, order $order ($err)"
    raw_of "$REG_HOST/dst/app:${order// /}" "$d/raw" --tls-verify=false
    cmp "$d/raw" "$(blob_of "$d/out-1234" "$first")" || fail "registry index for order $order differs from the layout's"
  done
}

test_index_add_refuses_a_platform_twice_and_replaces_with_replace() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/old" v1 --platforms linux/amd64,linux/arm64 --seed 5 >/dev/null
  mklayout "$d/new" v1 --platforms linux/arm64 --seed 6 >/dev/null
  mklayout "$d/v7" v1 --platforms linux/arm/v7 --seed 7 >/dev/null
  local ref=$REG_HOST/app:1
  "$ARMLET" index create "$ref" "oci:$d/old:v1" >/dev/null 2>&1 || fail "create"
  raw_of "$ref" "$d/before" --tls-verify=false
  capture "$ARMLET" index add "$ref" "oci:$d/new:v1"
  assert_eq 1 "$rc" "add of a platform already there, without --replace"
  assert_contains "$err" "platform linux/arm64 is already in DEST"
  assert_contains "$err" "--replace"
  raw_of "$ref" "$d/after" --tls-verify=false
  cmp "$d/before" "$d/after" || fail "the refused add changed the tag"
  capture "$ARMLET" index add "$ref" "oci:$d/new:v1" "oci:$d/v7:v1" --replace
  assert_eq 0 "$rc" "add --replace ($err)"
  raw_of "$ref" "$d/after" --tls-verify=false
  assert_eq "linux/amd64 linux/arm64 linux/arm/v7" "$(plats_of "$d/after")" "platforms after add"
  local want; want=$(jq -r '.manifests[0].digest' "$(blob_of "$d/new" "$(index_digest "$d/new" v1)")")
  assert_eq "$want" "$(jq -r '.manifests[1].digest' "$d/after")" "arm64 replaced by the new build"
  assert_eq "$(jq -r '.manifests[0].digest' "$d/before")" "$(jq -r '.manifests[0].digest' "$d/after")" "amd64 kept"
  # the same on a layout DEST that is also a SRC's folder (one lock, no deadlock)
  mklayout "$d/one" base --platforms linux/amd64 --seed 8 >/dev/null
  mklayout "$d/one" extra --platforms linux/arm64 --seed 9 >/dev/null
  capture timeout 30 "$ARMLET" index add "oci:$d/one:base" "oci:$d/one:extra"
  assert_eq 0 "$rc" "index add within one layout ($err)"
  assert_eq "linux/amd64 linux/arm64" "$(plats_of "$(blob_of "$d/one" "$(index_digest "$d/one" base)")")" "layout add"
  skopeo inspect --raw "oci:$d/one:base" >/dev/null || fail "skopeo reads the added layout"
}

test_nothing_is_written_to_dest_when_a_source_is_incomplete() {
  local d; d=$(tmpdir); reg_start "$d/reg"
  mklayout "$d/good" v1 --platforms linux/amd64 --seed 10 >/dev/null
  mklayout "$d/bad" v1 --platforms linux/arm64 --seed 11 >/dev/null
  mklayout "$d/dest" keep --platforms linux/arm/v7 --seed 12 >/dev/null
  # the arm64 layer (the larger of its two layers) goes missing
  local man; man=$(blob_of "$d/bad" "$(jq -r '.manifests[0].digest' "$(blob_of "$d/bad" "$(index_digest "$d/bad" v1)")")")
  rm "$(blob_of "$d/bad" "$(jq -r '.layers[1].digest' "$man")")"
  local before; before=$(sums "$d/dest")
  capture "$ARMLET" index create "oci:$d/dest:new" "oci:$d/good:v1" "oci:$d/bad:v1"
  assert_eq 1 "$rc" "merge with a missing blob"
  assert_contains "$err" "tag not updated"
  assert_eq "$before" "$(sums "$d/dest")" "the DEST layout, byte for byte"
  capture "$ARMLET" index create "$REG_HOST/app:new" "oci:$d/good:v1" "oci:$d/bad:v1"
  assert_eq 1 "$rc" "registry merge with a missing blob"
  assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$REG_HOST/v2/app/manifests/new")" "the tag does not exist"
}

test_sources_on_another_registry_are_copied_with_their_bytes_verified() {
  local d; d=$(tmpdir); reg_start "$d/reg1"
  local src=$REG_HOST
  mklayout "$d/a" v1 --platforms linux/amd64,linux/arm64 --seed 13 >/dev/null
  "$ARMLET" push "$d/a:v1" "$src/app:v1" >/dev/null 2>&1 || fail "push"
  local log1=$REG_LOG
  reg_start "$d/reg2" htpasswd
  export ARMLET_REGISTRY_CREDS=armlet:$REG_PASS
  capture "$ARMLET" index create "$REG_HOST/app:v1" "$src/app:v1"
  unset ARMLET_REGISTRY_CREDS
  assert_eq 0 "$rc" "copy across registries ($err)"
  assert_contains "$err" "blobs 5 copied, 0 mounted"
  raw_of "$REG_HOST/app:v1" "$d/raw" --tls-verify=false --creds "armlet:$REG_PASS"
  assert_eq "$(jq -c '[.manifests[].digest]' "$(blob_of "$d/a" "$(index_digest "$d/a" v1)")")" \
    "$(jq -c '[.manifests[].digest]' "$d/raw")" "the manifests copied"
  skopeo copy -q --src-tls-verify=false --src-creds "armlet:$REG_PASS" --override-arch arm64 \
    "docker://$REG_HOST/app:v1" "oci:$d/pull:x" >/dev/null || fail "skopeo pulls the copy"
  grep -q '"GET /v2/app/blobs/sha256' "$log1" || fail "no blob read from the source registry"
}

test_bearer_registry_mounts_with_the_source_repositorys_pull_scope() {
  local d; d=$(tmpdir); reg_start "$d/reg" token
  export ARMLET_REGISTRY_CREDS=armlet:$REG_PASS
  mklayout "$d/a" v1 --platforms linux/amd64 --seed 14 >/dev/null
  mklayout "$d/b" v1 --platforms linux/arm64 --seed 15 >/dev/null
  "$ARMLET" push "$d/a:v1" "$REG_HOST/a:v1" >/dev/null 2>&1 || fail "push a"
  "$ARMLET" push "$d/b:v1" "$REG_HOST/b:v1" >/dev/null 2>&1 || fail "push b"
  capture "$ARMLET" index create "$REG_HOST/ab:v1" "$REG_HOST/a:v1" "$REG_HOST/b:v1"
  unset ARMLET_REGISTRY_CREDS
  assert_eq 0 "$rc" "index create with Bearer auth ($err)"
  assert_contains "$err" "0 copied, 6 mounted"
  grep -q 'repository:a:pull' "$TOK_LOG" || fail "no pull scope asked for repository a: $(cat "$TOK_LOG")"
}

test_usage_and_reference_errors() {
  capture "$ARMLET" index
  assert_eq 2 "$rc" "no subcommand"
  capture "$ARMLET" index create oci:/nonexistent:x
  assert_eq 2 "$rc" "no SRC"
  capture "$ARMLET" index create "127.0.0.1:1/a@sha256:$(printf '0%.0s' $(seq 64))" oci:x:y
  assert_eq 1 "$rc" "DEST by digest"
  assert_contains "$err" "a digest cannot be written to"
  capture "$ARMLET" index create oci:"$(tmpdir)"/o:t "UPPER/Case:x"
  assert_eq 1 "$rc" "bad reference"
  assert_contains "$err" "SRC"
  capture "$ARMLET" index create oci:"$(tmpdir)"/o:t oci:/nonexistent:x --annotation manifest:a=b
  assert_eq 1 "$rc" "manifest annotation on index"
}

run_tests
