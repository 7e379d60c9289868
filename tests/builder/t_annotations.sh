#!/usr/bin/env bash
# OCI annotations on built images, read back with skopeo inspect --raw: the defaults
# (created from SOURCE_DATE_EPOCH, git revision and source without credentials, the
# recipe's org.opencontainers.image.* labels on the index too), the recipe's `annotation`
# lines, --annotation [index:|manifest:]KEY=VALUE, and builds that stay byte-identical.
. "$(dirname "$0")/../lib.sh"
WORK=$(tmpdir)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/build_lib.sh"

OCI=org.opencontainers.image

# recipe DIR: a small scratch-based recipe in DIR (no ELF: no compiler needed)
recipe() {
  mkdir -p "$1"
  echo "payload" >"$1/data.txt"
  cat >"$1/app.recipe" <<'EOF'
name        app
base        scratch
file        /data.txt data.txt
label       org.opencontainers.image.title=Demo
label       org.opencontainers.image.description="A demo image"
label       org.opencontainers.image.version=1.2.3
label       com.example.internal=not-mirrored
annotation  com.example.team=blue com.example.tier=web
entrypoint  /data.txt
EOF
}

# git_repo DIR URL: DIR becomes a git checkout with one commit and origin URL
git_repo() {
  git -C "$1" init -q
  git -C "$1" add -A
  GIT_AUTHOR_DATE="2001-01-01T00:00:00Z" GIT_COMMITTER_DATE="2001-01-01T00:00:00Z" git -C "$1" -c user.email=t@example.com -c user.name=t commit -qm one
  git -C "$1" remote add origin "$2"
}

idx_of() { skopeo inspect --raw "oci:$1:${2:-latest}"; }
man_of() { local dig; dig=$(idx_of "$1" | jq -r '.manifests[0].digest'); cat "$1/blobs/sha256/${dig#sha256:}"; }
# skopeo reads the one-platform manifest itself through the layout too
man_skopeo() { skopeo inspect --raw --override-arch amd64 "oci:$1:${2:-latest}" >/dev/null && man_of "$1"; }

test_defaults_recipe_lines_and_labels_on_index_and_manifest() {
  [ -x "$INITS/linux-amd64/armlet-init" ] || skip "inits not built (make inits)"
  recipe "$WORK/a"
  # not a git checkout: no revision or source (git looks no further up than $WORK)
  EPOCH=1700000000 GIT_CEILING_DIRECTORIES=$WORK capture build "$WORK/a/app.recipe" --oci "$WORK/a/oci" --platform linux/amd64,linux/arm64
  assert_eq 0 "$rc" "build ($err)"
  local idx man
  idx=$(idx_of "$WORK/a/oci"); man=$(man_skopeo "$WORK/a/oci")
  for doc in "$idx" "$man"; do
    assert_eq "2023-11-14T22:13:20Z" "$(jq -r --arg k "$OCI.created" '.annotations[$k]' <<<"$doc")" "created"
    assert_eq "Demo" "$(jq -r --arg k "$OCI.title" '.annotations[$k]' <<<"$doc")" "title"
    assert_eq "A demo image" "$(jq -r --arg k "$OCI.description" '.annotations[$k]' <<<"$doc")" "description"
    assert_eq "1.2.3" "$(jq -r --arg k "$OCI.version" '.annotations[$k]' <<<"$doc")" "version"
    assert_eq "blue web" "$(jq -r '.annotations["com.example.team"] + " " + .annotations["com.example.tier"]' <<<"$doc")" "recipe annotations"
    assert_eq "null null null" "$(jq -r --arg r "$OCI.revision" --arg s "$OCI.source" '"\(.annotations[$r]) \(.annotations[$s]) \(.annotations["com.example.internal"])"' <<<"$doc")" \
      "no git values outside a checkout, other labels not mirrored"
  done
}

test_git_checkout_gives_revision_and_source_without_credentials() {
  [ -x "$INITS/linux-amd64/armlet-init" ] || skip "inits not built (make inits)"
  command -v git >/dev/null || skip "git not installed"
  recipe "$WORK/g"
  git_repo "$WORK/g" "https://ci-bot:ghp_SeCrEtToKeN@github.com/acme/demo.git"
  local rev; rev=$(git -C "$WORK/g" rev-parse HEAD)
  capture build "$WORK/g/app.recipe" --oci "$WORK/g/oci" --platform linux/amd64
  assert_eq 0 "$rc" "build ($err)"
  local idx; idx=$(idx_of "$WORK/g/oci")
  assert_eq "$rev" "$(jq -r --arg k "$OCI.revision" '.annotations[$k]' <<<"$idx")" "revision"
  assert_eq "https://github.com/acme/demo.git" "$(jq -r --arg k "$OCI.source" '.annotations[$k]' <<<"$idx")" "source"
  assert_eq "$rev" "$(man_of "$WORK/g/oci" | jq -r --arg k "$OCI.revision" '.annotations[$k]')" "revision on the manifest"
  ! grep -rq "SeCrEtToKeN\|ci-bot" "$WORK/g/oci" || fail "the remote's credentials are in the layout"
  # scp-like remotes become https URLs; local paths are not a source
  git -C "$WORK/g" remote set-url origin git@gitlab.example.com:team/demo.git
  build "$WORK/g/app.recipe" --oci "$WORK/g/oci" --platform linux/amd64 >/dev/null
  assert_eq "https://gitlab.example.com/team/demo.git" "$(idx_of "$WORK/g/oci" | jq -r --arg k "$OCI.source" '.annotations[$k]')" "scp-like"
  git -C "$WORK/g" remote set-url origin /srv/git/demo.git
  build "$WORK/g/app.recipe" --oci "$WORK/g/oci" --platform linux/amd64 >/dev/null
  assert_eq "null" "$(idx_of "$WORK/g/oci" | jq -r --arg k "$OCI.source" '.annotations[$k]')" "local path"
}

test_two_clones_of_one_commit_build_byte_identical_layouts() {
  [ -x "$INITS/linux-amd64/armlet-init" ] || skip "inits not built (make inits)"
  command -v git >/dev/null || skip "git not installed"
  recipe "$WORK/c1"
  git_repo "$WORK/c1" "https://github.com/acme/demo.git"
  git clone -q "$WORK/c1" "$WORK/c2"
  git -C "$WORK/c2" remote set-url origin "https://github.com/acme/demo.git"
  build "$WORK/c1/app.recipe" --oci "$WORK/o1" --platform linux/amd64,linux/arm/v7 >/dev/null
  (cd "$WORK/c2" && build app.recipe --oci "$WORK/o2" --platform linux/arm/v7,linux/amd64 >/dev/null)
  assert_eq "$(layout_sums "$WORK/o1")" "$(layout_sums "$WORK/o2")" "every file of the two layouts"
  # and a rebuild in place changes nothing
  local before; before=$(layout_sums "$WORK/o1")
  build "$WORK/c1/app.recipe" --oci "$WORK/o1" --platform linux/amd64,linux/arm/v7 >/dev/null
  assert_eq "$before" "$(layout_sums "$WORK/o1")" "rebuild"
}

test_annotation_flag_picks_index_or_manifest_and_wins_over_the_recipe() {
  [ -x "$INITS/linux-amd64/armlet-init" ] || skip "inits not built (make inits)"
  recipe "$WORK/f"
  capture build "$WORK/f/app.recipe" --oci "$WORK/f/oci" --platform linux/amd64 \
    --annotation com.example.team=red --annotation index:only.index=i --annotation manifest:only.manifest=m \
    --annotation "$OCI.title=Overridden"
  assert_eq 0 "$rc" "build ($err)"
  local idx man; idx=$(idx_of "$WORK/f/oci"); man=$(man_of "$WORK/f/oci")
  assert_eq "red i null Overridden" "$(jq -r --arg t "$OCI.title" '"\(.annotations["com.example.team"]) \(.annotations["only.index"]) \(.annotations["only.manifest"]) \(.annotations[$t])"' <<<"$idx")" "index"
  assert_eq "red null m Overridden" "$(jq -r --arg t "$OCI.title" '"\(.annotations["com.example.team"]) \(.annotations["only.index"]) \(.annotations["only.manifest"]) \(.annotations[$t])"' <<<"$man")" "manifest"
  capture build "$WORK/f/app.recipe" --oci "$WORK/f/oci" --platform linux/amd64 --annotation "=nokey"
  assert_eq 1 "$rc" "an annotation without a key"
  assert_contains "$err" "--annotation =nokey: expected [index:|manifest:]KEY=VALUE"
}

test_bad_annotation_line_names_file_line_and_column() {
  recipe "$WORK/b"
  printf 'annotation novalue\n' >>"$WORK/b/app.recipe"
  capture build "$WORK/b/app.recipe" --oci "$WORK/b/oci" --platform linux/amd64
  assert_eq 1 "$rc" "bad annotation line"
  assert_contains "$err" "app.recipe:10:12: annotation: expected KEY=VALUE, got \"novalue\""
  [ ! -e "$WORK/b/oci" ] || fail "a failed build left a layout"
  printf 'annotation com.example.team=again\n' >"$WORK/b/dup.recipe"
  sed -n "1,9p" "$WORK/b/app.recipe" >"$WORK/b/app2.recipe"; cat "$WORK/b/dup.recipe" >>"$WORK/b/app2.recipe"
  capture build "$WORK/b/app2.recipe" --oci "$WORK/b/oci" --platform linux/amd64
  assert_eq 1 "$rc" "duplicate key"
  assert_contains "$err" "\"com.example.team\" already set on line 8"
}

test_index_create_keeps_what_all_sources_share_and_takes_index_annotations() {
  [ -x "$INITS/linux-arm64/armlet-init" ] || skip "inits not built (make inits)"
  recipe "$WORK/m"
  build "$WORK/m/app.recipe" --oci "$WORK/m/amd" --platform linux/amd64 --annotation index:job=amd64 >/dev/null
  build "$WORK/m/app.recipe" --oci "$WORK/m/arm" --platform linux/arm64 --annotation index:job=arm64 >/dev/null
  capture "$ARMLET" index create "oci:$WORK/m/all:v1" "oci:$WORK/m/arm:latest" "oci:$WORK/m/amd:latest" \
    --annotation "$OCI.version=2.0" --annotation index:extra=yes
  assert_eq 0 "$rc" "index create ($err)"
  local idx; idx=$(idx_of "$WORK/m/all" v1)
  assert_eq "Demo 2.0 yes null" "$(jq -r --arg t "$OCI.title" --arg v "$OCI.version" '"\(.annotations[$t]) \(.annotations[$v]) \(.annotations.extra) \(.annotations.job)"' <<<"$idx")" \
    "shared annotations kept, differing ones dropped, --annotation set"
}

run_tests
