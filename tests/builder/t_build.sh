#!/usr/bin/env bash
# tests/builder/t_build.sh — `armlet build` and `armlet inspect` driven as a user would:
# reproducible digests, atomic layouts that survive failed builds, tag GC, --rootfs,
# --docker-archive, inspect output. Payloads are tiny static programs built here with the
# musl cross compilers (the Makefile's CC_* lines).
. "$(dirname "$0")/../lib.sh"

EPOCH=1700000000
WORK=$(tmpdir)
trap 'chattr -R -i "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
. "$(dirname "$0")/build_lib.sh"

# One static "hello" per platform in $WORK/dist (hello-amd64, hello-arm64, hello-armv7,
# hello-armv6: the names ${arch}${variant} expands to).
make_payloads() {
  mkdir -p "$WORK/dist"
  printf '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n' >"$WORK/hello.c"
  local cc
  while read -r name cc; do
    $cc -static -Os -o "$WORK/dist/hello-$name" "$WORK/hello.c" || return 1
  done <<EOF
amd64 musl-gcc
arm64 aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs
armv7 arm-linux-gnueabihf-gcc -specs /usr/lib/arm-linux-musleabihf/musl-gcc.specs -march=armv7-a+fp -mthumb
armv6 arm-linux-gnueabi-gcc -specs /usr/lib/arm-linux-musleabi/musl-gcc.specs -march=armv6 -marm -mfloat-abi=soft
EOF
}
compile_payloads make_payloads

# A project folder: copy of the payloads and a recipe (extra lines appended).
# usage: project DIR [EXTRA-RECIPE-LINES]
project() {
  project_dir "$1"
  cat >"$1/app.recipe" <<EOF
name        hello
platforms   linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6
base        static
file        /app  dist/hello-\${arch}\${variant}  mode=0755
dir         /data mode=0750 owner=65532:65532
symlink     /usr/bin/hello /app
env         TZ=UTC
user        nonroot
workdir     /home/nonroot
entrypoint  ["/app", "--listen", ":8080"]
cmd         --verbose
expose      8080/tcp
label       org.opencontainers.image.source=https://example.com/hello
stop-signal SIGTERM
init        cpu=floor memory=0.9 nofile=max grace=10s
${2:-}
EOF
}

# Every file of a layout with its sha256, one per line: what "nothing changed" compares.
snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# digest of the tag's image index in layout $1
tag_digest() { jq -r --arg t "${2:-latest}" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t) | .digest' "$1/index.json"; }
blob() { echo "$1/blobs/sha256/${2#sha256:}"; }

test_same_inputs_give_same_index_across_folders_and_platform_order() {
  project "$WORK/r1/a"; project "$WORK/r1/b"
  capture build "$WORK/r1/a/app.recipe" --oci "$WORK/r1/a/oci" --platform linux/arm/v6,linux/amd64,linux/arm64
  assert_eq 0 "$rc" "first build: $err"
  (cd "$WORK/r1/b" && build app.recipe --oci oci2 --platform linux/arm64,linux/amd64,linux/arm/v6 >/dev/null)
  assert_eq "$(cat "$WORK/r1/a/oci/index.json")" "$(cat "$WORK/r1/b/oci2/index.json")" "index.json"
  assert_eq "$(snapshot "$WORK/r1/a/oci")" "$(snapshot "$WORK/r1/b/oci2")" "every blob"
  # Platform order in the image index is fixed, whatever --platform said.
  local order; order=$(jq -r '.manifests[].platform | .architecture + (.variant // "")' "$(blob "$WORK/r1/a/oci" "$(tag_digest "$WORK/r1/a/oci")")" | tr '\n' ' ')
  assert_eq "amd64 arm64 armv6 " "$order"
  # A rebuild in place changes nothing and removes nothing.
  local before; before=$(snapshot "$WORK/r1/a/oci")
  build "$WORK/r1/a/app.recipe" --oci "$WORK/r1/a/oci" --platform linux/amd64,linux/arm64,linux/arm/v6 >/dev/null
  assert_eq "$before" "$(snapshot "$WORK/r1/a/oci")" "rebuild"
}

test_source_date_epoch_sets_created_and_changes_digest() {
  project "$WORK/r2"
  build "$WORK/r2/app.recipe" --oci "$WORK/r2/oci" --platform linux/amd64 >/dev/null
  local d1; d1=$(tag_digest "$WORK/r2/oci")
  local man; man=$(jq -r '.manifests[0].digest' "$(blob "$WORK/r2/oci" "$d1")")
  local cfg; cfg=$(jq -r '.config.digest' "$(blob "$WORK/r2/oci" "$man")")
  assert_eq "2023-11-14T22:13:20Z" "$(jq -r .created "$(blob "$WORK/r2/oci" "$cfg")")"
  assert_eq "2023-11-14T22:13:20Z" "$(jq -r '.history[0].created' "$(blob "$WORK/r2/oci" "$cfg")")"
  EPOCH=0 build "$WORK/r2/app.recipe" --oci "$WORK/r2/oci" --platform linux/amd64 >/dev/null
  assert_ne "$d1" "$(tag_digest "$WORK/r2/oci")" "digest with another SOURCE_DATE_EPOCH"
}

test_config_wraps_entrypoint_in_init_with_recipe_flags() {
  project "$WORK/r3" "init preload=entrypoint"   # the default without health: no list
  build "$WORK/r3/app.recipe" --oci "$WORK/r3/oci" --platform linux/arm/v7 >/dev/null
  local idx; idx=$(blob "$WORK/r3/oci" "$(tag_digest "$WORK/r3/oci")")
  assert_eq '{"architecture":"arm","os":"linux","variant":"v7"}' "$(jq -c '.manifests[0].platform' "$idx")"
  local man; man=$(blob "$WORK/r3/oci" "$(jq -r '.manifests[0].digest' "$idx")")
  assert_eq 2 "$(jq '.layers | length' "$man")" "base + app layers"
  assert_eq application/vnd.oci.image.layer.v1.tar+gzip "$(jq -r '.layers[0].mediaType' "$man")"
  local cfg; cfg=$(blob "$WORK/r3/oci" "$(jq -r '.config.digest' "$man")")
  assert_eq '["/sbin/armlet-init","--cpu=floor","--memory=0.9","--nofile=max","--seccomp=/etc/armlet/seccomp.bpf","--preload=/etc/armlet/preload","--grace=10s","--","/app","--listen",":8080"]' \
    "$(jq -c .config.Entrypoint "$cfg")"
  assert_eq '["--verbose"]' "$(jq -c .config.Cmd "$cfg")"
  assert_eq 65532:65532 "$(jq -r .config.User "$cfg")"
  assert_eq /home/nonroot "$(jq -r .config.WorkingDir "$cfg")"
  assert_eq '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt","TZ=UTC"]' \
    "$(jq -c .config.Env "$cfg")"
  assert_eq '{"8080/tcp":{}}' "$(jq -c .config.ExposedPorts "$cfg")"
  assert_eq SIGTERM "$(jq -r .config.StopSignal "$cfg")"
  assert_eq arm/v7 "$(jq -r '.architecture + "/" + .variant' "$cfg")"
  # diff_ids are the sha256 of the uncompressed layers.
  local i
  for i in 0 1; do
    assert_eq "$(jq -r ".rootfs.diff_ids[$i]" "$cfg")" \
      "sha256:$(gzip -dc "$(blob "$WORK/r3/oci" "$(jq -r ".layers[$i].digest" "$man")")" | sha256sum | cut -d' ' -f1)"
  done
}

test_base_layer_is_shared_between_recipes() {
  project "$WORK/r4a"; project "$WORK/r4b" "env OTHER=1"
  sed -i 's|^file .*|file /bin/other dist/hello-${arch}${variant}|' "$WORK/r4b/app.recipe"
  build "$WORK/r4a/app.recipe" --oci "$WORK/r4/oci" --platform linux/arm64 --tag a >/dev/null
  build "$WORK/r4b/app.recipe" --oci "$WORK/r4/oci" --platform linux/arm64 --tag b >/dev/null
  local la lb
  la=$(jq -r '.manifests[0].digest' "$(blob "$WORK/r4/oci" "$(tag_digest "$WORK/r4/oci" a)")")
  lb=$(jq -r '.manifests[0].digest' "$(blob "$WORK/r4/oci" "$(tag_digest "$WORK/r4/oci" b)")")
  assert_ne "$la" "$lb" "the two images differ"
  assert_eq "$(jq -r '.layers[0].digest' "$(blob "$WORK/r4/oci" "$la")")" \
            "$(jq -r '.layers[0].digest' "$(blob "$WORK/r4/oci" "$lb")")" "base layer"
}

test_retag_replaces_entry_and_removes_unreferenced_blobs() {
  project "$WORK/r5"
  local oci=$WORK/r5/oci
  build "$WORK/r5/app.recipe" --oci "$oci" --platform linux/amd64 --tag v1 >/dev/null
  local man1; man1=$(jq -r '.manifests[0].digest' "$(blob "$oci" "$(tag_digest "$oci" v1)")")
  local app1; app1=$(jq -r '.layers[1].digest' "$(blob "$oci" "$man1")")
  local base1; base1=$(jq -r '.layers[0].digest' "$(blob "$oci" "$man1")")
  echo "extra" >>"$WORK/r5/dist/hello-amd64"     # new app content
  capture build "$WORK/r5/app.recipe" --oci "$oci" --platform linux/amd64 --tag v1
  assert_eq 0 "$rc" "$err"
  assert_eq 1 "$(jq '.manifests | length' "$oci/index.json")" "one entry for v1"
  [ ! -e "$(blob "$oci" "$app1")" ] || fail "old app layer still there"
  [ ! -e "$(blob "$oci" "$man1")" ] || fail "old manifest still there"
  assert_file "$(blob "$oci" "$base1")"
  # Exactly the referenced blobs remain: index, manifest, config, 2 layers, and the
  # manifest's referrers (docs/README-sbom.md): SBOM + provenance, their 2 manifests,
  # the empty config.
  assert_eq 10 "$(ls "$oci/blobs/sha256" | wc -l)"
}

test_two_tags_coexist_and_keep_their_blobs() {
  project "$WORK/r6"
  local oci=$WORK/r6/oci
  build "$WORK/r6/app.recipe" --oci "$oci" --platform linux/amd64 --tag v1 >/dev/null
  echo "v2" >>"$WORK/r6/dist/hello-amd64"
  build "$WORK/r6/app.recipe" --oci "$oci" --platform linux/amd64 --tag v2 >/dev/null
  assert_eq "v1 v2 " "$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$oci/index.json" | tr '\n' ' ')"
  assert_ne "$(tag_digest "$oci" v1)" "$(tag_digest "$oci" v2)"
  # 2 indexes + 2 manifests + 2 configs + 1 shared base + 2 app layers, and per manifest
  # an SBOM, a provenance and their manifests, plus one shared empty config
  assert_eq 18 "$(ls "$oci/blobs/sha256" | wc -l)"
  capture "$ARMLET" inspect "$oci:v1"
  assert_eq 0 "$rc" "$err"
  assert_contains "$out" "$(tag_digest "$oci" v1)"
}

# Build a good image, then run a failing build ("$@" edits the project), and check the
# failure is reported with $expect and that the layout is byte-for-byte unchanged. The
# good layout is built once per file (the project's recipe and payloads are the same for
# every caller, so its bytes are too) and copied: ten builds for four platforms saved.
assert_failed_build_keeps_layout() {
  local dir=$1 expect=$2; shift 2
  if [ ! -d "$WORK/good/oci" ]; then
    project "$WORK/good"
    build "$WORK/good/app.recipe" --oci "$WORK/good/oci" >/dev/null || fail "the good build failed"
  fi
  project "$dir"
  cp -a "$WORK/good/oci" "$dir/oci"
  local before; before=$(snapshot "$dir/oci")
  "$@"
  capture build "$dir/app.recipe" --oci "$dir/oci"
  assert_ne 0 "$rc" "exit status"
  assert_contains "$err" "$expect"
  assert_eq "$before" "$(snapshot "$dir/oci")" "layout after the failed build"
}

test_missing_source_fails_naming_line_and_keeps_layout() {
  assert_failed_build_keeps_layout "$WORK/f1" 'app.recipe:4:13: file: source "dist/hello-arm64" not found' \
    rm "$WORK/f1/dist/hello-arm64"
}

test_wrong_arch_elf_fails_naming_both_platforms_and_keeps_layout() {
  assert_failed_build_keeps_layout "$WORK/f2" "app.recipe:4:13: file:" \
    cp "$WORK/dist/hello-arm64" "$WORK/f2/dist/hello-armv7"
  assert_contains "$err" "linux/arm/v7"
  assert_contains "$err" "linux/arm64"
}

test_armv7_binary_refused_for_armv6() {
  assert_failed_build_keeps_layout "$WORK/f3" "app.recipe:4:13: file:" \
    cp "$WORK/dist/hello-armv7" "$WORK/f3/dist/hello-armv6"
  assert_contains "$err" "linux/arm/v6"
}

test_unknown_directive_fails_naming_line_and_keeps_layout() {
  assert_failed_build_keeps_layout "$WORK/f4" "app.recipe:17:1" \
    sed -i '$a frobnicate yes' "$WORK/f4/app.recipe"
}

test_path_outside_root_fails_and_keeps_layout() {
  assert_failed_build_keeps_layout "$WORK/f5" "app.recipe:17:" \
    sed -i '$a file /../../etc/evil dist/hello-${arch}${variant}' "$WORK/f5/app.recipe"
  assert_contains "$err" '"/../../etc/evil"'
}

test_archive_escaping_dest_fails_and_keeps_layout() {
  mkdir -p "$WORK/f6src/sub"
  echo pwned >"$WORK/f6src/evil"
  tar -C "$WORK/f6src/sub" -cPf "$WORK/evil.tar" ../evil
  tar -tf "$WORK/evil.tar" 2>/dev/null | grep -q '\.\./' || skip "could not make an archive with ../ entries"
  assert_failed_build_keeps_layout "$WORK/f6" "app.recipe:17:" \
    sed -i "\$a archive /opt $WORK/evil.tar" "$WORK/f6/app.recipe"
  assert_contains "$err" "archive: $WORK/evil.tar: entry escapes its destination"
}

test_bad_seccomp_profile_fails_naming_the_init_key_and_keeps_layout() {
  echo '{"defaultAction":"SCMP_ACT_FOO"}' >"$WORK/bad-profile.json"
  assert_failed_build_keeps_layout "$WORK/f9" "app.recipe:17:6: init seccomp=$WORK/bad-profile.json (linux/amd64):" \
    sed -i "\$a init seccomp=$WORK/bad-profile.json" "$WORK/f9/app.recipe"
  assert_contains "$err" 'defaultAction: unknown action "SCMP_ACT_FOO"'
}

test_unwritable_layout_fails_clearly_and_keeps_layout() {
  project "$WORK/f7"
  build "$WORK/f7/app.recipe" --oci "$WORK/f7/oci" >/dev/null
  local before; before=$(snapshot "$WORK/f7/oci")
  echo "changed" >>"$WORK/f7/dist/hello-amd64"
  chattr +i "$WORK/f7/oci" 2>/dev/null || skip "chattr +i not supported on this filesystem"
  capture build "$WORK/f7/app.recipe" --oci "$WORK/f7/oci"
  chattr -i "$WORK/f7/oci"
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "$WORK/f7/oci/index.json"
  assert_eq "$before" "$(snapshot "$WORK/f7/oci")" "layout after the failed build"
}

test_output_under_a_file_is_a_clear_error() {
  project "$WORK/f8"
  touch "$WORK/f8/plain"
  capture build "$WORK/f8/app.recipe" --oci "$WORK/f8/plain/oci" --platform linux/amd64
  assert_eq 1 "$rc"
  assert_contains "$err" "cannot create OCI layout folder $WORK/f8/plain/oci: Not a directory"
  capture build "$WORK/f8/app.recipe" --docker-archive "$WORK/f8/plain/img.tar" --platform linux/amd64
  assert_eq 1 "$rc"
  assert_contains "$err" "cannot write docker archive $WORK/f8/plain/img.tar.tmp: Not a directory"
  capture build "$WORK/f8/app.recipe" --rootfs "$WORK/f8/plain/rootfs" --platform linux/amd64
  assert_eq 1 "$rc"
  assert_contains "$err" "--rootfs $WORK/f8/plain/rootfs: Not a directory"
}

test_killed_build_leaves_layout_readable_and_next_build_cleans_up() {
  project "$WORK/k1"
  build "$WORK/k1/app.recipe" --oci "$WORK/k1/oci" --platform linux/amd64 >/dev/null
  local before; before=$(cat "$WORK/k1/oci/index.json")
  # A big incompressible file keeps the layer writer busy. The build is killed while a
  # layer is half written: each look at its temporary layer file is taken with the build
  # stopped (SIGSTOP), so what is seen is still so when the SIGKILL lands.
  head -c 128M /dev/urandom >"$WORK/k1/big"
  echo "file /big $WORK/k1/big" >>"$WORK/k1/app.recipe"
  SOURCE_DATE_EPOCH=$EPOCH ARMLET_INIT_DIR=$INITS "$ARMLET" build "$WORK/k1/app.recipe" --oci "$WORK/k1/oci" --platform linux/amd64 >/dev/null 2>&1 &
  local pid=$! i killed=
  for ((i = 0; i < 1200; i++)); do
    kill -STOP "$pid" 2>/dev/null || break
    # (a stop takes effect when the process next runs: look once it has)
    local st j
    for ((j = 0; j < 3000; j++)); do
      st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || st=gone
      case $st in T|t|Z|X|gone|"") break ;; esac
      sleep 0.01
    done
    if [ -n "$(find "$WORK/k1/oci/blobs" -name '.tmp-layer-*' -size +0 2>/dev/null)" ]; then
      kill -KILL "$pid" 2>/dev/null && killed=1
      break
    fi
    kill -CONT "$pid" 2>/dev/null || break
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
  [ -n "$killed" ] || skip "the build wrote no temporary layer file that could be caught (it exited or took over 60 s)"
  assert_eq "$before" "$(cat "$WORK/k1/oci/index.json")" "index.json after kill -9"
  capture "$ARMLET" inspect "$WORK/k1/oci"
  assert_eq 0 "$rc" "inspect after kill: $err"
  # The next build's GC removes what the killed one left behind.
  sed -i '$d' "$WORK/k1/app.recipe"
  rm -f "$WORK/k1/big"
  build "$WORK/k1/app.recipe" --oci "$WORK/k1/oci" --platform linux/amd64 >/dev/null
  assert_eq 10 "$(ls -A "$WORK/k1/oci/blobs/sha256" | wc -l)" "blobs after the next build (5 + SBOM/provenance referrers)"
}

test_concurrent_builds_into_one_layout_keep_every_tag() {
  project "$WORK/cc"
  local oci=$WORK/cc/oci t
  for t in a b c; do
    build "$WORK/cc/app.recipe" --oci "$oci" --platform linux/amd64,linux/arm64 --tag $t >"$WORK/cc/$t.log" 2>&1 &
  done
  wait
  assert_eq "a b c " "$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$oci/index.json" | tr '\n' ' ')"
  # All three are the same image, so the layout holds one image's blobs and nothing else.
  assert_eq 18 "$(ls -A "$oci/blobs/sha256" | wc -l)" "index + 2 x (manifest, config, base, app, SBOM, provenance, their manifests) + empty config"
  capture /usr/bin/python3 "$TOP/tests/tools/validate_oci.py" "$TOP/tests/fixtures/oci-schema" "$oci"
  assert_eq 0 "$rc" "schema validation: $out $err"
}

test_rootfs_has_files_with_owners_and_modes() {
  project "$WORK/r7"
  capture build "$WORK/r7/app.recipe" --rootfs "$WORK/r7/rootfs" --platform linux/arm64
  assert_eq 0 "$rc" "$err"
  local r=$WORK/r7/rootfs
  assert_eq "755 0:0" "$(stat -c '%a %u:%g' "$r/app")"
  cmp -s "$r/app" "$WORK/dist/hello-arm64" || fail "/app is not the arm64 payload"
  assert_eq "750 65532:65532" "$(stat -c '%a %u:%g' "$r/data")"
  assert_eq /app "$(readlink "$r/usr/bin/hello")"
  assert_eq "755 0:0" "$(stat -c '%a %u:%g' "$r/sbin/armlet-init")"
  cmp -s "$r/sbin/armlet-init" "$INITS/linux-arm64/armlet-init" || fail "init is not the arm64 one"
  assert_contains "$(cat "$r/etc/passwd")" "nonroot:x:65532:65532"
  assert_eq "1777" "$(stat -c '%a' "$r/tmp")"
  assert_file "$r/etc/ssl/certs/ca-certificates.crt"
  assert_eq "$EPOCH" "$(stat -c '%Y' "$r/app")" "mtime"
  [ ! -e "$WORK/r7/oci" ] || fail "--rootfs alone should not write a layout"
}

test_side_files_follow_the_init_line() {
  project "$WORK/s1" "init preload=entrypoint"
  build "$WORK/s1/app.recipe" --rootfs "$WORK/s1/rootfs" --platform linux/arm64 >/dev/null
  local bpf=$WORK/s1/rootfs/etc/armlet/seccomp.bpf
  assert_file "$bpf"
  local n; n=$(stat -c %s "$bpf")
  [ "$n" -gt 0 ] && [ $((n % 8)) -eq 0 ] || fail "seccomp.bpf is $n bytes, not a BPF program"
  assert_contains "$(cat "$WORK/s1/rootfs/etc/armlet/preload")" "/app "
  # unconfined / none: no side files and no flags.
  project "$WORK/s2" "init seccomp=unconfined preload=none"
  build "$WORK/s2/app.recipe" --rootfs "$WORK/s2/rootfs" --platform linux/arm64 >/dev/null
  [ ! -e "$WORK/s2/rootfs/etc/armlet/seccomp.bpf" ] || fail "seccomp.bpf written for unconfined"
  [ ! -e "$WORK/s2/rootfs/etc/armlet/preload" ] || fail "preload written for none"
  build "$WORK/s2/app.recipe" --oci "$WORK/s2/oci" --platform linux/arm64 >/dev/null
  local man; man=$(jq -r '.manifests[0].digest' "$(blob "$WORK/s2/oci" "$(tag_digest "$WORK/s2/oci")")")
  local ep; ep=$(jq -c .config.Entrypoint "$(blob "$WORK/s2/oci" "$(jq -r .config.digest "$(blob "$WORK/s2/oci" "$man")")")")
  assert_not_contains "$ep" "--seccomp"
  assert_not_contains "$ep" "--preload"
}

test_amd64_rootfs_runs_its_config_entrypoint() {
  project "$WORK/x1"
  sed -i 's|^entrypoint .*|entrypoint ["/app"]|; s|^cmd .*||; s|^user .*|user 65532:65532|' "$WORK/x1/app.recipe"
  build "$WORK/x1/app.recipe" --oci "$WORK/x1/oci" --rootfs "$WORK/x1/rootfs" --platform linux/amd64 >/dev/null
  local man; man=$(jq -r '.manifests[0].digest' "$(blob "$WORK/x1/oci" "$(tag_digest "$WORK/x1/oci")")")
  local cfg; cfg=$(blob "$WORK/x1/oci" "$(jq -r .config.digest "$(blob "$WORK/x1/oci" "$man")")")
  local -a argv; mapfile -t argv < <(jq -r '.config.Entrypoint[]' "$cfg")
  # The image's own entrypoint (init, its flags, seccomp filter, preload list) in a chroot,
  # as the config's user.
  capture chroot --userspec=65532:65532 "$WORK/x1/rootfs" "${argv[@]}"
  assert_eq 0 "$rc" "$err"
  assert_eq hello "$out"
}

test_rootfs_refuses_non_empty_folder_and_many_platforms() {
  project "$WORK/r8"
  mkdir -p "$WORK/r8/rootfs"; echo keep >"$WORK/r8/rootfs/mine"
  capture build "$WORK/r8/app.recipe" --rootfs "$WORK/r8/rootfs" --platform linux/amd64
  assert_eq 1 "$rc"
  assert_contains "$err" "not empty"
  assert_eq keep "$(cat "$WORK/r8/rootfs/mine")"
  capture build "$WORK/r8/app.recipe" --rootfs "$WORK/r8/new"
  assert_eq 1 "$rc"
  assert_contains "$err" "--rootfs needs exactly one platform"
}

test_docker_archive_has_manifest_config_and_uncompressed_layers() {
  project "$WORK/d1"
  capture build "$WORK/d1/app.recipe" --docker-archive "$WORK/d1/img.tar" --platform linux/amd64 --tag v3
  assert_eq 0 "$rc" "$err"
  mkdir "$WORK/d1/x"; tar -C "$WORK/d1/x" -xf "$WORK/d1/img.tar"
  local m=$WORK/d1/x/manifest.json
  assert_eq '["hello:v3"]' "$(jq -c '.[0].RepoTags' "$m")"
  local cfg; cfg=$WORK/d1/x/$(jq -r '.[0].Config' "$m")
  assert_eq amd64 "$(jq -r .architecture "$cfg")"
  local n; n=$(jq '.[0].Layers | length' "$m")
  assert_eq 2 "$n"
  local i
  for ((i = 0; i < n; i++)); do
    assert_eq "$(jq -r ".rootfs.diff_ids[$i]" "$cfg")" \
      "sha256:$(sha256sum "$WORK/d1/x/$(jq -r ".[0].Layers[$i]" "$m")" | cut -d' ' -f1)" "layer $i"
  done
  [ ! -e "$WORK/d1/img.tar.tmp" ] || fail "temporary file left"
  # Same build again: same bytes.
  build "$WORK/d1/app.recipe" --docker-archive "$WORK/d1/img2.tar" --platform linux/amd64 --tag v3 >/dev/null
  cmp -s "$WORK/d1/img.tar" "$WORK/d1/img2.tar" || fail "docker archive not reproducible"
  capture build "$WORK/d1/app.recipe" --docker-archive "$WORK/d1/all.tar"
  assert_eq 1 "$rc"
  assert_contains "$err" "--docker-archive holds one platform"
}

test_docker_archive_loads_in_podman() {
  command -v podman >/dev/null || skip "podman not installed"
  project "$WORK/d2"
  build "$WORK/d2/app.recipe" --docker-archive "$WORK/d2/img.tar" --platform linux/amd64 --tag t1 >/dev/null
  local root=$WORK/d2/storage
  capture podman --root "$root" --runroot "$WORK/d2/run" --storage-driver vfs load -i "$WORK/d2/img.tar"
  assert_eq 0 "$rc" "podman load: $err"
  capture podman --root "$root" --runroot "$WORK/d2/run" --storage-driver vfs image inspect hello:t1 --format '{{.Config.User}} {{.Architecture}}'
  assert_eq 0 "$rc" "$err"
  assert_eq "65532:65532 amd64" "$out"
}

test_inspect_shows_digests_config_and_layers() {
  project "$WORK/i1"
  build "$WORK/i1/app.recipe" --oci "$WORK/i1/oci" --platform linux/amd64,linux/arm/v6 >/dev/null
  local oci=$WORK/i1/oci idx; idx=$(tag_digest "$oci")
  capture "$ARMLET" inspect "$oci"
  assert_eq 0 "$rc" "$err"
  assert_contains "$out" "index $idx"
  local man
  for man in $(jq -r '.manifests[].digest' "$(blob "$oci" "$idx")"); do
    assert_contains "$out" "manifest:   $man"
    local l
    for l in $(jq -r '.layers[] | .digest + " " + (.size|tostring)' "$(blob "$oci" "$man")" | tr ' ' '='); do
      assert_contains "$out" "${l%%=*} ${l#*=} bytes"
    done
  done
  assert_contains "$out" "linux/arm/v6"
  assert_contains "$out" "entrypoint: /sbin/armlet-init --cpu=floor"
  assert_contains "$out" "user:       65532:65532"
  assert_contains "$out" "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
  capture "$ARMLET" inspect "$oci:latest" --json
  assert_eq 0 "$rc" "$err"
  assert_eq "$(cat "$(blob "$oci" "$idx")")" "$out" "--json is the index blob"
  capture "$ARMLET" inspect "$oci:nope"
  assert_eq 1 "$rc"
  assert_contains "$err" 'has no tag "nope" (tags: latest)'
  capture "$ARMLET" inspect "$WORK/i1"
  assert_eq 1 "$rc"
  assert_contains "$err" "not an OCI layout"
}

test_inspect_reads_a_single_manifest_tag_written_by_skopeo() {
  command -v skopeo >/dev/null || skip "skopeo not installed"
  project "$WORK/i2"
  build "$WORK/i2/app.recipe" --oci "$WORK/i2/oci" --platform linux/amd64,linux/arm64 >/dev/null
  capture skopeo copy --override-arch arm64 "oci:$WORK/i2/oci:latest" "oci:$WORK/i2/one:single"
  assert_eq 0 "$rc" "skopeo copy: $err"
  capture "$ARMLET" inspect "$WORK/i2/one:single"
  assert_eq 0 "$rc" "$err"
  assert_contains "$out" "manifest sha256:"
  assert_contains "$out" "linux/arm64"
  assert_contains "$out" "user:       65532:65532"
  # armlet builds into a layout skopeo wrote: the foreign tag and its blobs stay.
  build "$WORK/i2/app.recipe" --oci "$WORK/i2/one" --platform linux/amd64 --tag mine >/dev/null
  capture "$ARMLET" inspect "$WORK/i2/one:single"
  assert_eq 0 "$rc" "foreign tag after an armlet build: $err"
  local m l; m=$(blob "$WORK/i2/one" "$(tag_digest "$WORK/i2/one" single)")
  for l in $(jq -r '.config.digest, .layers[].digest' "$m"); do
    assert_file "$(blob "$WORK/i2/one" "$l")"
  done
}

test_zstd_and_none_compression_set_media_types() {
  project "$WORK/c1"
  local c mt
  for c in zstd none; do
    build "$WORK/c1/app.recipe" --oci "$WORK/c1/oci" --platform linux/amd64 --compress $c --tag $c >/dev/null
    local man; man=$(jq -r '.manifests[0].digest' "$(blob "$WORK/c1/oci" "$(tag_digest "$WORK/c1/oci" $c)")")
    mt=$(jq -r '.layers[0].mediaType' "$(blob "$WORK/c1/oci" "$man")")
    case $c in
      zstd) assert_eq application/vnd.oci.image.layer.v1.tar+zstd "$mt";;
      none) assert_eq application/vnd.oci.image.layer.v1.tar "$mt";;
    esac
  done
}

test_zstd_digest_does_not_depend_on_cpu_count() {
  command -v taskset >/dev/null || skip "taskset not installed"
  [ "$(nproc)" -gt 1 ] || skip "one CPU: nothing to compare"
  project "$WORK/z1"
  taskset -c 0 env SOURCE_DATE_EPOCH=$EPOCH ARMLET_INIT_DIR="$INITS" "$ARMLET" build "$WORK/z1/app.recipe" \
    --oci "$WORK/z1/one" --compress zstd >/dev/null
  build "$WORK/z1/app.recipe" --oci "$WORK/z1/all" --compress zstd >/dev/null
  assert_eq "$(cat "$WORK/z1/one/index.json")" "$(cat "$WORK/z1/all/index.json")"
}

test_recipe_without_files_has_only_the_base_layer() {
  mkdir -p "$WORK/e1"
  printf 'name bare\nbase scratch\nplatforms linux/arm/v6\ninit seccomp=unconfined preload=none\nentrypoint /sbin/armlet-init --version\n' >"$WORK/e1/bare.recipe"
  capture build "$WORK/e1/bare.recipe" --oci "$WORK/e1/oci"
  assert_eq 0 "$rc" "$err"
  local man; man=$(blob "$WORK/e1/oci" "$(jq -r '.manifests[0].digest' "$(blob "$WORK/e1/oci" "$(tag_digest "$WORK/e1/oci")")")")
  assert_eq 1 "$(jq '.layers | length' "$man")"
  # base scratch: the init and nothing else
  assert_eq "sbin/ sbin/armlet-init " "$(gzip -dc "$(blob "$WORK/e1/oci" "$(jq -r '.layers[0].digest' "$man")")" | tar -t | tr '\n' ' ')"
}

test_platform_selection_errors() {
  project "$WORK/p1"
  sed -i 's|^platforms .*|platforms linux/amd64 linux/arm64|' "$WORK/p1/app.recipe"
  capture build "$WORK/p1/app.recipe" --oci "$WORK/p1/oci" --platform linux/arm/v7
  assert_eq 1 "$rc"
  assert_contains "$err" "linux/arm/v7 is not among the platforms of"
  capture build "$WORK/p1/app.recipe" --oci "$WORK/p1/oci" --platform linux/s390x
  assert_eq 1 "$rc"
  assert_contains "$err" 'unknown platform "linux/s390x"'
  # Without --platform: the recipe's own platforms.
  build "$WORK/p1/app.recipe" --oci "$WORK/p1/oci" >/dev/null
  assert_eq 2 "$(jq '.manifests | length' "$(blob "$WORK/p1/oci" "$(tag_digest "$WORK/p1/oci")")")"
}

test_missing_init_is_a_clear_error() {
  project "$WORK/n1"
  capture env SOURCE_DATE_EPOCH=$EPOCH "$ARMLET" build "$WORK/n1/app.recipe" --oci "$WORK/n1/oci" --init-dir "$WORK/n1/none" --platform linux/arm64
  assert_eq 1 "$rc"
  assert_contains "$err" "no armlet-init for linux/arm64: looked for $WORK/n1/none/linux-arm64/armlet-init"
}

test_init_found_beside_the_executable_under_the_prefix_and_one_up() {
  project "$WORK/n2"
  local exe layout
  # out/armlet + out/linux-amd64/, PREFIX/bin/armlet + PREFIX/lib/armlet/linux-amd64/,
  # out/asan/armlet + out/linux-amd64/
  for layout in "tree/armlet tree" "prefix/bin/armlet prefix/lib/armlet" "up/asan/armlet up"; do
    set -- $layout
    mkdir -p "$(dirname "$WORK/n2/$1")" "$WORK/n2/$2/linux-amd64"
    cp "$ARMLET" "$WORK/n2/$1"
    cp "$INITS/linux-amd64/armlet-init" "$WORK/n2/$2/linux-amd64/"
    capture env -u ARMLET_INIT_DIR SOURCE_DATE_EPOCH=0 "$WORK/n2/$1" build "$WORK/n2/app.recipe" \
      --oci "$WORK/n2/oci" --platform linux/amd64
    assert_eq 0 "$rc" "$1: $err"
  done
}

test_cli_help_usage_and_exit_codes() {
  capture "$ARMLET" build --help
  assert_eq 0 "$rc"
  assert_contains "$out" "--docker-archive FILE"
  capture "$ARMLET" inspect --help
  assert_eq 0 "$rc"
  assert_contains "$out" "OCI_DIR[:TAG]"
  capture "$ARMLET" build
  assert_eq 2 "$rc"
  capture "$ARMLET" build x.recipe --bogus
  assert_eq 2 "$rc"
  capture "$ARMLET" build x.recipe --compress lz4
  assert_eq 2 "$rc"
  capture "$ARMLET" inspect
  assert_eq 2 "$rc"
  project "$WORK/h1"
  capture build "$WORK/h1/app.recipe" --oci "$WORK/h1/oci" --tag 'bad:tag'
  assert_eq 1 "$rc"
  assert_contains "$err" '--tag "bad:tag"'
  capture env SOURCE_DATE_EPOCH=yesterday "$ARMLET" build "$WORK/h1/app.recipe" --oci "$WORK/h1/oci"
  assert_eq 1 "$rc"
  assert_contains "$err" 'SOURCE_DATE_EPOCH="yesterday"'
}

test_default_output_is_oci_folder_in_current_directory() {
  project "$WORK/o1"
  (cd "$WORK/o1" && build app.recipe --platform linux/amd64 >/dev/null)
  assert_file "$WORK/o1/oci/index.json"
  assert_file "$WORK/o1/oci/oci-layout"
}

run_tests
