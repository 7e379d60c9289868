#!/usr/bin/env bash
# tests/builder/t_build_atomic.sh — one commit point (issue #12.2-12.4): a failed build
# leaves the layout byte for byte as it was (unreferenced blobs included), outputs appear
# only with the commit, the garbage collector keeps what it cannot prove unreferenced
# (artifact `blobs`, referrers via `subject`, schema1 `fsLayers`, other tags whose
# documents it cannot read), and a corrupt blob is rewritten by the next build. Ends with
# a property test: random recipes over random trees, each failing one must change nothing.
. "$(dirname "$0")/../lib.sh"

WORK=$(tmpdir)
trap 'umount "$WORK/tiny" 2>/dev/null; rm -rf "$WORK"' EXIT
. "$(dirname "$0")/build_lib.sh"

. "$(dirname "$0")/layout_lib.sh"
layout_payloads

# put FILE into layout $1 as a blob; prints its digest
put_blob() { local h; h=$(sha256sum "$2" | cut -d' ' -f1); cp "$2" "$1/blobs/sha256/$h"; echo "sha256:$h"; }
# add an index.json entry: layout, tag, mediaType, digest
add_entry() {
  local size; size=$(stat -c %s "$(blob "$1" "$4")")
  jq -c --arg t "$2" --arg m "$3" --arg d "$4" --argjson s "$size" \
    '.manifests += [{mediaType:$m, digest:$d, size:$s, annotations:{"org.opencontainers.image.ref.name":$t}}]' \
    "$1/index.json" >"$1/index.json.new" && mv "$1/index.json.new" "$1/index.json"
}
desc() { jq -cn --arg m "$1" --arg d "$2" --argjson s "$(stat -c %s "$3")" '{mediaType:$m, digest:$d, size:$s}'; }
# referrer LAYOUT CONFIG LAYER SUBJECT-TYPE SUBJECT FILE: an OCI manifest in FILE whose
# subject is SUBJECT, put into the layout (in no index.json); prints its digest.
referrer() {
  jq -cn --argjson c "$(desc application/vnd.oci.empty.v1+json "$2" "$(blob "$1" "$2")")" \
    --argjson l "$(desc application/vnd.example.signature "$3" "$(blob "$1" "$3")")" \
    --argjson s "$(desc "$4" "$5" "$(blob "$1" "$5")")" \
    '{schemaVersion:2, mediaType:"application/vnd.oci.image.manifest.v1+json", artifactType:"application/vnd.example.signature", config:$c, layers:[$l], subject:$s}' >"$6"
  put_blob "$1" "$6"
}
# Every blob index.json reaches hashes to its name (python: the checker reads every JSON).
verify_layout() {
  python3 - "$1" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
def blob(d): return os.path.join(root, "blobs", "sha256", d.split(":", 1)[1])
seen, todo = set(), [json.load(open(os.path.join(root, "index.json")))]
def descs(v):
    if isinstance(v, dict):
        if isinstance(v.get("digest"), str): yield v
        for x in v.values(): yield from descs(x)
    elif isinstance(v, list):
        for x in v: yield from descs(x)
while todo:
    for d in descs(todo.pop()):
        if d["digest"] in seen: continue
        seen.add(d["digest"])
        data = open(blob(d["digest"]), "rb").read()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == d["digest"], d["digest"]
        assert len(data) == d["size"], d["digest"]
        if d.get("mediaType", "").endswith("+json") and "layer" not in d.get("mediaType", ""):
            todo.append(json.loads(data))
PY
}

test_rootfs_failure_leaves_layout_unchanged_and_writes_nothing() {
  project "$WORK/r"
  build "$WORK/r/app.recipe" --oci "$WORK/r/oci" >/dev/null
  echo 'not referenced by any tag' >"$WORK/r/stray"; put_blob "$WORK/r/oci" "$WORK/r/stray" >/dev/null
  local before; before=$(snapshot "$WORK/r/oci")
  echo changed >>"$WORK/r/dist/hello-amd64"
  # The rootfs's parent does not exist: seen only when the tree is written, after every
  # blob of the new image is ready (it used to fail after the tag was already written).
  capture build "$WORK/r/app.recipe" --oci "$WORK/r/oci" --rootfs "$WORK/r/missing/rootfs"
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "--rootfs $WORK/r/missing/rootfs: No such file or directory"
  assert_eq "$before" "$(snapshot "$WORK/r/oci")" "layout after a failed --rootfs"
  # A disk that fills up while the rootfs is written (a 64 KiB tmpfs).
  mkdir -p "$WORK/tiny"
  if mount -t tmpfs -o size=64k tmpfs "$WORK/tiny" 2>/dev/null; then
    head -c 200000 /dev/urandom >"$WORK/r/dist/big"
    echo "file /big dist/big" >>"$WORK/r/app.recipe"
    capture build "$WORK/r/app.recipe" --oci "$WORK/r/oci" --rootfs "$WORK/tiny/rootfs"
    assert_eq 1 "$rc" "$err"
    assert_contains "$err" "No space left on device"
    assert_eq "$before" "$(snapshot "$WORK/r/oci")" "layout after a full disk"
    assert_eq "" "$(ls -A "$WORK/tiny")" "the full disk holds no half-written rootfs"
    umount "$WORK/tiny"
    sed -i '$d' "$WORK/r/app.recipe"
  else
    echo "    note: cannot mount a tmpfs here: the full-disk case did not run" >&2
  fi
  # With both outputs fine, the rootfs and the tag appear together.
  capture build "$WORK/r/app.recipe" --oci "$WORK/r/oci" --rootfs "$WORK/r/rootfs"
  assert_eq 0 "$rc" "$err"
  assert_file "$WORK/r/rootfs/app"
  assert_eq 755 "$(stat -c %a "$WORK/r/rootfs")" "mode of the rootfs folder"
  assert_eq "" "$(ls -A "$WORK/r" | grep '\.tmp\.' || true)" "temporary folders left"
}

test_failed_build_keeps_unreferenced_blobs_and_leftovers() {
  project "$WORK/u"
  build "$WORK/u/app.recipe" --oci "$WORK/u/oci" >/dev/null
  echo 'unreferenced' >"$WORK/u/stray"; put_blob "$WORK/u/oci" "$WORK/u/stray" >/dev/null
  echo 'a killed build' >"$WORK/u/oci/blobs/sha256/.tmp-layer-abcdef"
  local before; before=$(snapshot "$WORK/u/oci")
  local what
  for what in missing-source wrong-arch bad-archive docker-archive-under-file; do
    project "$WORK/u/$what"
    case $what in
      missing-source) echo "file /x dist/nope" >>"$WORK/u/$what/app.recipe" ;;
      wrong-arch) cp "$WORK/dist/hello-arm64" "$WORK/u/$what/dist/hello-amd64" ;;
      bad-archive) mkdir -p "$WORK/u/evil/sub"; echo pwned >"$WORK/u/evil/x"
                   tar -C "$WORK/u/evil/sub" -cPf "$WORK/u/bad.tar" ../x
                   echo "archive /opt $WORK/u/bad.tar" >>"$WORK/u/$what/app.recipe" ;;
    esac
    local extra=(); [ "$what" = docker-archive-under-file ] && extra=(--docker-archive "$WORK/u/stray/x.tar")
    capture build "$WORK/u/$what/app.recipe" --oci "$WORK/u/oci" "${extra[@]}"
    assert_eq 1 "$rc" "$what: $err"
    assert_eq "$before" "$(snapshot "$WORK/u/oci")" "layout after $what"
  done
}

test_missing_blob_of_another_tag_builds_with_a_warning_and_removes_nothing() {
  project "$WORK/m"
  build "$WORK/m/app.recipe" --oci "$WORK/m/oci" --tag a >/dev/null
  echo b >>"$WORK/m/dist/hello-amd64"
  build "$WORK/m/app.recipe" --oci "$WORK/m/oci" --tag b >/dev/null
  build "$WORK/m/app.recipe" --oci "$WORK/m/oci" --tag a2 >/dev/null
  local idx_b; idx_b=$(tag_digest "$WORK/m/oci" b)
  rm "$(blob "$WORK/m/oci" "$idx_b")"
  local files_before; files_before=$(cd "$WORK/m/oci/blobs/sha256" && ls)
  echo c >>"$WORK/m/dist/hello-amd64"
  capture build "$WORK/m/app.recipe" --oci "$WORK/m/oci" --tag a2   # a2's old blobs are now unreferenced
  assert_eq 0 "$rc" "$err"
  assert_contains "$err" "garbage collection skipped, nothing removed: blob $idx_b"
  assert_contains "$err" "is missing"
  local f
  for f in $files_before; do [ -e "$WORK/m/oci/blobs/sha256/$f" ] || fail "removed $f"; done
  capture "$ARMLET" inspect "$WORK/m/oci:a2"
  assert_eq 0 "$rc" "$err"
}

test_gc_keeps_artifact_blobs_referrers_and_schema1_layers() {
  project "$WORK/g"
  local oci=$WORK/g/oci
  build "$WORK/g/app.recipe" --oci "$oci" --tag keep >/dev/null
  echo latest >>"$WORK/g/dist/hello-amd64"
  build "$WORK/g/app.recipe" --oci "$oci" >/dev/null
  local old_app; old_app=$(layer_of "$oci" latest 1)
  # An OCI artifact manifest with `blobs` (tag art).
  echo 'artifact payload' >"$WORK/g/payload"; local pay; pay=$(put_blob "$oci" "$WORK/g/payload")
  jq -cn --argjson b "$(desc application/octet-stream "$pay" "$WORK/g/payload")" \
    '{mediaType:"application/vnd.oci.artifact.manifest.v1+json", artifactType:"application/x-test", blobs:[$b]}' >"$WORK/g/art.json"
  local art; art=$(put_blob "$oci" "$WORK/g/art.json")
  add_entry "$oci" art application/vnd.oci.artifact.manifest.v1+json "$art"
  # A referrer of tag keep's index (in no index.json), with its own layer, and a referrer
  # of that referrer.
  echo '{}' | tr -d '\n' >"$WORK/g/empty"; local empty; empty=$(put_blob "$oci" "$WORK/g/empty")
  echo 'signature' >"$WORK/g/sig"; local sig; sig=$(put_blob "$oci" "$WORK/g/sig")
  local keep_idx; keep_idx=$(tag_digest "$oci" keep)
  local ref1; ref1=$(referrer "$oci" "$empty" "$sig" application/vnd.oci.image.index.v1+json "$keep_idx" "$WORK/g/ref1.json")
  echo 'counter-signature' >"$WORK/g/sig2"; local sig2; sig2=$(put_blob "$oci" "$WORK/g/sig2")
  local ref2; ref2=$(referrer "$oci" "$empty" "$sig2" application/vnd.oci.image.manifest.v1+json "$ref1" "$WORK/g/ref2.json")
  # A referrer of something nobody keeps: collected.
  jq -c --arg d "sha256:$(printf 'gone' | sha256sum | cut -d' ' -f1)" '.subject.digest = $d' "$WORK/g/ref1.json" >"$WORK/g/orphan.json"
  local orphan; orphan=$(put_blob "$oci" "$WORK/g/orphan.json")
  # A schema1 manifest (tag old) whose layers are fsLayers[].blobSum.
  echo 'schema1 layer' >"$WORK/g/s1layer"; local s1l; s1l=$(put_blob "$oci" "$WORK/g/s1layer")
  jq -cn --arg b "$s1l" '{schemaVersion:1, name:"x", tag:"old", architecture:"amd64", fsLayers:[{blobSum:$b}], history:[{v1Compatibility:"{}"}]}' >"$WORK/g/s1.json"
  local s1; s1=$(put_blob "$oci" "$WORK/g/s1.json")
  add_entry "$oci" old application/vnd.docker.distribution.manifest.v1+json "$s1"
  # An unknown media type pointing at a JSON document that references another blob.
  echo 'deep data' >"$WORK/g/deep"; local deep; deep=$(put_blob "$oci" "$WORK/g/deep")
  jq -cn --argjson d "$(desc application/octet-stream "$deep" "$WORK/g/deep")" '{things:[{nested:$d}]}' >"$WORK/g/unk.json"
  local unk; unk=$(put_blob "$oci" "$WORK/g/unk.json")
  add_entry "$oci" unk application/vnd.example.unknown+json "$unk"

  echo changed >>"$WORK/g/dist/hello-amd64"
  capture build "$WORK/g/app.recipe" --oci "$oci"
  assert_eq 0 "$rc" "$err"
  assert_not_contains "$err" "garbage collection skipped"
  [ ! -e "$(blob "$oci" "$old_app")" ] || fail "the GC did not run: old app layer still there"
  [ ! -e "$(blob "$oci" "$orphan")" ] || fail "a referrer of nothing kept was not collected"
  local d
  for d in "$pay" "$art" "$empty" "$sig" "$ref1" "$sig2" "$ref2" "$s1l" "$s1" "$deep" "$unk" "$keep_idx"; do
    [ -f "$(blob "$oci" "$d")" ] || fail "GC removed $d"
  done
  verify_layout "$oci" || fail "layout does not verify"
}

test_corrupt_same_size_blob_is_repaired_by_rebuild() {
  project "$WORK/c"
  local oci=$WORK/c/oci
  build "$WORK/c/app.recipe" --oci "$oci" >/dev/null
  local layer; layer=$(layer_of "$oci" latest 1)
  local cfg; cfg=$(config_of "$oci")
  # same size, other bytes
  printf 'XXXX' | dd of="$(blob "$oci" "$layer")" bs=1 seek=100 conv=notrunc status=none
  printf '  ' | dd of="$(blob "$oci" "$cfg")" bs=1 seek=1 conv=notrunc status=none
  capture "$ARMLET" inspect "$oci"
  assert_eq 1 "$rc"
  assert_contains "$err" "blob $oci/blobs/sha256/${cfg#sha256:}: content does not match its digest"
  capture build "$WORK/c/app.recipe" --oci "$oci"
  assert_eq 0 "$rc" "$err"
  assert_eq "${layer#sha256:}" "$(sha256sum "$(blob "$oci" "$layer")" | cut -d' ' -f1)" "layer repaired"
  assert_eq "${cfg#sha256:}" "$(sha256sum "$(blob "$oci" "$cfg")" | cut -d' ' -f1)" "config repaired"
  capture "$ARMLET" inspect "$oci"
  assert_eq 0 "$rc" "$err"
  verify_layout "$oci" || fail "layout does not verify"
}

test_failed_commit_puts_replaced_blobs_back_byte_for_byte() {
  project "$WORK/x"
  local oci=$WORK/x/oci
  build "$WORK/x/app.recipe" --oci "$oci" >/dev/null
  local base; base=$(layer_of "$oci" latest 0)
  # A corrupt copy of the base layer (which the next build writes again), then a build
  # whose commit fails (index.json's folder made immutable): the corrupt bytes come back
  # exactly, as the rule is "a failed build changes nothing".
  printf 'Z' | dd of="$(blob "$oci" "$base")" bs=1 seek=50 conv=notrunc status=none
  echo changed >>"$WORK/x/dist/hello-amd64"
  local before; before=$(snapshot "$oci")
  chattr +i "$oci" 2>/dev/null || skip "chattr +i not supported here"
  capture build "$WORK/x/app.recipe" --oci "$oci"
  chattr -i "$oci"
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "cannot replace $oci/index.json"
  assert_eq "$before" "$(snapshot "$oci")" "layout after a failed commit"
}

# ------------------------------------------------------------------ property test

# One random project in $1 (random tree, random recipe lines; some fail on purpose).
random_project() {
  local p=$1 n i kind
  project "$p"
  mkdir -p "$p/tree"
  n=$((RANDOM % 5))
  for ((i = 0; i < n; i++)); do head -c $((RANDOM % 5000)) /dev/urandom >"$p/tree/f$i"; done
  tar -C "$p/tree" -czf "$p/tree.tgz" . 2>/dev/null
  for ((i = 0; i < 1 + RANDOM % 4; i++)); do
    kind=$((RANDOM % 14))
    case $kind in
      0) echo "file /data/f$i tree/f$((RANDOM % 6)) mode=0644" ;;   # may be missing
      1) echo "dir /d$i mode=0750 owner=$((RANDOM % 3)):0" ;;
      2) echo "symlink /l$i /app" ;;
      3) echo "archive /opt/t$i tree.tgz" ;;
      4) echo "env K$i=v$RANDOM" ;;
      5) echo "label l$i=$RANDOM" ;;
      6) echo "file /bad$i dist/hello-arm64" ;;                     # wrong arch: fails
      7) echo "frobnicate $i" ;;                                     # unknown directive
      8) echo "file /../escape dist/hello-amd64" ;;                  # escapes: fails
      9) echo "archive /x$i missing.tgz" ;;                          # missing: fails
      *) echo "file /bin/f$i dist/hello-amd64" ;;
    esac >>"$p/app.recipe"
  done
}

test_property_every_failing_random_build_leaves_the_layout_as_it_was() {
  local seed=${PROPERTY_SEED:-$((($(date +%s) % 30000) + 1))}
  RANDOM=$seed
  echo "    property test seed $seed (PROPERTY_SEED=$seed to repeat)" >&2
  local oci=$WORK/p/oci budget=${PROPERTY_SECONDS:-20} start=$SECONDS i=0 fails=0 oks=0
  mkdir -p "$WORK/p"; touch "$WORK/p/a-file"
  # A first image, so that every later build has a layout to keep or change.
  project "$WORK/p/base"
  build "$WORK/p/base/app.recipe" --oci "$oci" --tag t0 >/dev/null || fail "first build"
  # At least 10 builds however slow the machine (the budget adds more where time allows);
  # build 1 always fails and build 2 (the plain project) always succeeds, so both sides
  # are covered by construction, not by how many random builds fit in the time.
  while [ $i -lt 200 ] && { [ $i -lt 10 ] || [ $((SECONDS - start)) -lt "$budget" ]; }; do
    i=$((i + 1))
    if [ $i = 2 ]; then project "$WORK/p/r$i"; else random_project "$WORK/p/r$i"; fi
    [ $i = 1 ] && echo "frobnicate now" >>"$WORK/p/r$i/app.recipe"
    local args=(--oci "$oci" --tag "t$((RANDOM % 3))")
    [ $i = 2 ] || case $((RANDOM % 6)) in
      0) args+=(--rootfs "$WORK/p/no/such/rootfs$i") ;;               # fails late
      1) args+=(--docker-archive "$WORK/p/a-file/x.tar") ;;           # fails
      2) args+=(--docker-archive "$WORK/p/out$i.tar") ;;
      3) args+=(--compress "$(echo gzip zstd none | cut -d' ' -f$((1 + RANDOM % 3)))") ;;
    esac
    local before=""; [ -d "$oci" ] && before=$(snapshot "$oci")
    capture build "$WORK/p/r$i/app.recipe" "${args[@]}"
    [ $i != 1 ] || [ "$rc" != 0 ] || fail "a recipe with an unknown directive built (seed $seed)"
    [ $i != 2 ] || [ "$rc" = 0 ] || fail "the plain project's build failed (seed $seed): $err"
    if [ "$rc" != 0 ]; then
      fails=$((fails + 1))
      [ "$rc" = 1 ] || fail "build $i (seed $seed): exit $rc: $err"
      [ -z "$before" ] || assert_eq "$before" "$(snapshot "$oci")" "layout after failing build $i (seed $seed): $err"
      local left; left=$(ls -A "$WORK/p" | grep -E '\.tmp\.' || true)
      assert_eq "" "$left" "temporary outputs left by build $i (seed $seed)"
    else
      oks=$((oks + 1))
      verify_layout "$oci" || fail "layout after build $i does not verify (seed $seed)"
      [ -z "$(ls -A "$oci/blobs" | grep armlet-build || true)" ] || fail "staging folder left (seed $seed)"
    fi
    rm -rf "$WORK/p/r$i" "$WORK/p/out$i.tar"
  done
  echo "    $i builds: $oks succeeded, $fails failed, each failure left the layout unchanged" >&2
}

run_tests
