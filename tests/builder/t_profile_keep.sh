#!/usr/bin/env bash
# Kept preload lists (docs/README-coldstart.md, "Kept lists"): the first build of a recipe
# with `init preload=profile` records the list and keeps it in RECIPE.preload/<platform>
# with a key line; the next build with the same inputs reuses it and runs nothing (same
# image digest); a changed file or env makes it stale (recorded again); --profile=reuse
# (or ARMLET_PROFILE=reuse) refuses to record; a corrupt kept list fails the build naming
# file and line; a symlink at the kept path is refused and its target never written; a
# folder the build cannot write keeps nothing and the build goes on.
. "$(dirname "$0")/../lib.sh"
export SOURCE_DATE_EPOCH=1700000000
export ARMLET_INIT_DIR=${ARMLET_INIT_DIR:-$OUT}   # the ASan builder has no inits beside it
source "$TOP/tests/builder/profile_lib.sh"   # workdir, write_recipe, build_rootfs

digest_of() { jq -r '.manifests[0].digest' "$1/index.json"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }
# new_recipe: sets d (a new folder with app.recipe, preload=profile) and kept (its kept
# list's path); the caller declares both local
new_recipe() { d=$(workdir); write_recipe "$d" linux/amd64; kept=$d/app.recipe.preload/linux-amd64; }

test_the_first_build_keeps_its_recording_and_the_next_reuses_it_running_nothing() {
  local d kept; new_recipe
  capture "$ARMLET" build "$d/app.recipe" --oci "$d/oci1" --tag t
  assert_eq 0 "$rc" "first build: $err"
  assert_contains "$err" "no kept list: recording"
  assert_contains "$err" "run 3 of 3:"
  assert_contains "$err" "armlet: profile: recorded linux/amd64 list, kept in $kept"
  [ -f "$kept" ] || fail "no kept list at $kept"
  # the key line, then the list: the server and the file it read to answer
  head -1 "$kept" | grep -Eq '^# armlet-preload-key sha256:[0-9a-f]{64} linux/amd64$' ||
    fail "first line of the kept list: $(head -1 "$kept")"
  assert_contains "$(cat "$kept")" "/www/healthz"
  local before; before=$(sum "$kept")
  # the second build runs nothing (it says so, and no run is reported) and gives the same image
  capture "$ARMLET" build "$d/app.recipe" --oci "$d/oci2" --tag t
  assert_eq 0 "$rc" "second build: $err"
  assert_contains "$err" "reused the list kept in $kept"
  assert_contains "$err" "nothing run"
  assert_not_contains "$err" "resident"
  assert_not_contains "$err" "recording"
  assert_eq "$(digest_of "$d/oci1")" "$(digest_of "$d/oci2")" "image digests of the two builds:"
  assert_eq "$before" "$(sum "$kept")" "the kept list after the reusing build:"
  # --rootfs reuses the same list (the same key: the tree as the layers stack it)
  build_rootfs "$d" rootfs
  assert_eq 0 "$rc" "build --rootfs: $err"
  assert_contains "$err" "reused the list kept in $kept"
  # --profile=record records again and replaces it
  build_rootfs "$d" again linux/amd64 --profile=record
  assert_eq 0 "$rc" "build --profile=record: $err"
  assert_contains "$err" "run 3 of 3:"
  assert_contains "$err" "recorded linux/amd64 list, kept in $kept"
  assert_eq "" "$(find "$d" -name '.armlet-profile.*' -o -name '.linux-amd64.*')" "temporary files left:"
}

test_a_changed_file_or_env_makes_the_kept_list_stale() {
  local d kept; new_recipe
  build_rootfs "$d" r1
  assert_eq 0 "$rc" "first build: $err"
  local key1; key1=$(head -1 "$kept")
  # a file of the image changed (the server's content): recorded again, a new key
  echo "ok, changed" >"$d/healthz"
  build_rootfs "$d" r2
  assert_eq 0 "$rc" "build with a changed file: $err"
  assert_contains "$err" "the kept list is stale"
  assert_contains "$err" "run 3 of 3:"
  local key2; key2=$(head -1 "$kept")
  [ "$key1" != "$key2" ] || fail "the key did not change with the file: $key2"
  # an env line: stale again
  echo "env         GREETING=hi" >>"$d/app.recipe"
  build_rootfs "$d" r3
  assert_eq 0 "$rc" "build with an env line: $err"
  assert_contains "$err" "the kept list is stale"
  [ "$key2" != "$(head -1 "$kept")" ] || fail "the key did not change with the env"
  # what does not reach the program (the health check's retries) keeps the key
  local key3; key3=$(head -1 "$kept")
  sed -i 's/retries=1/retries=3/' "$d/app.recipe"
  build_rootfs "$d" r4
  assert_eq 0 "$rc" "build with other health retries: $err"
  assert_contains "$err" "reused the list kept in"
  assert_eq "$key3" "$(head -1 "$kept")" "key after a retries change:"
}

test_reuse_mode_refuses_to_record() {
  local d kept; new_recipe
  build_rootfs "$d" missing linux/amd64 --profile=reuse
  assert_eq 1 "$rc" "--profile=reuse without a kept list"
  assert_contains "$err" "$kept: no kept list for linux/amd64"
  assert_not_contains "$err" "run 1 of"
  [ ! -e "$d/missing" ] || fail "a refused build left its rootfs"
  [ ! -e "$d/app.recipe.preload" ] || fail "--profile=reuse kept a list"
  build_rootfs "$d" r1
  assert_eq 0 "$rc" "recording build: $err"
  local before; before=$(sum "$kept")
  echo "ok, changed" >"$d/healthz"
  ARMLET_PROFILE=reuse build_rootfs "$d" stale
  assert_eq 1 "$rc" "ARMLET_PROFILE=reuse with a stale kept list"
  assert_contains "$err" "$kept: the kept list for linux/amd64 is stale"
  assert_not_contains "$err" "run 1 of"
  [ ! -e "$d/stale" ] || fail "a refused build left its rootfs"
  assert_eq "$before" "$(sum "$kept")" "the stale kept list after the refusal:"
  # with a kept list that matches, reuse builds
  echo ok >"$d/healthz"
  ARMLET_PROFILE=reuse build_rootfs "$d" fresh
  assert_eq 0 "$rc" "ARMLET_PROFILE=reuse with a matching kept list: $err"
  assert_contains "$err" "reused the list kept in"
  capture "$ARMLET" build "$d/app.recipe" --rootfs "$d/bad" --profile=sometimes
  assert_eq 2 "$rc" "--profile=sometimes"
  assert_contains "$err" "expected auto, reuse or record"
}

test_a_corrupt_kept_list_fails_naming_file_and_line() {
  local d kept; new_recipe
  build_rootfs "$d" r1
  assert_eq 0 "$rc" "recording build: $err"
  # a bad range on line 3, under a key that matches
  sed -i '2a /bin/busybox 0:12x' "$kept"
  local before; before=$(sum "$kept")
  build_rootfs "$d" bad
  assert_eq 1 "$rc" "build with a corrupt kept list"
  assert_contains "$err" "$kept:3:"
  assert_contains "$err" "0:12x"
  [ ! -e "$d/bad" ] || fail "a failed build left its rootfs"
  assert_eq "$before" "$(sum "$kept")" "the corrupt kept list after the failed build:"
  # a file that is not a kept list at all (no key line): an error at line 1, left alone
  printf '/bin/busybox 0:4096\n' >"$kept"
  before=$(sum "$kept")
  build_rootfs "$d" nokey
  assert_eq 1 "$rc" "build with a list without a key line"
  assert_contains "$err" "$kept:1: not a list kept by armlet build"
  assert_eq "$before" "$(sum "$kept")" "the foreign list after the failed build:"
}

test_a_symlink_at_the_kept_path_is_refused_and_its_target_never_written() {
  local d; d=$(workdir)
  write_recipe "$d" linux/amd64
  mkdir -p "$d/elsewhere" "$d/app.recipe.preload"
  echo "precious" >"$d/elsewhere/target"
  local before; before=$(sum "$d/elsewhere/target")
  ln -s ../elsewhere/target "$d/app.recipe.preload/linux-amd64"
  build_rootfs "$d" r1
  assert_eq 1 "$rc" "build with a symlink at the kept path"
  assert_contains "$err" "app.recipe.preload/linux-amd64: a symbolic link"
  assert_eq "$before" "$(sum "$d/elsewhere/target")" "the link's target:"
  build_rootfs "$d" r2 linux/amd64 --profile=record
  assert_eq 1 "$rc" "--profile=record with a symlink at the kept path"
  assert_eq "$before" "$(sum "$d/elsewhere/target")" "the link's target after --profile=record:"
  [ -L "$d/app.recipe.preload/linux-amd64" ] || fail "the link was replaced"
  # the .preload folder itself a link to another folder: refused, that folder untouched
  rm -rf "$d/app.recipe.preload"
  ln -s elsewhere "$d/app.recipe.preload"
  build_rootfs "$d" r3
  assert_eq 1 "$rc" "build with a symlinked .preload folder"
  assert_contains "$err" "app.recipe.preload: a symbolic link"
  assert_eq "target" "$(ls -A "$d/elsewhere")" "the linked folder's files:"
  assert_eq "$before" "$(sum "$d/elsewhere/target")" "the linked folder's file:"
}

# A read-only build context: the build records, warns that it cannot keep the list, and
# succeeds with the fresh recording. The folder is made read-only by a bind mount in a
# mount namespace of the test's own (never on the host's folders).
test_a_read_only_recipe_folder_keeps_nothing_and_builds() {
  command -v unshare >/dev/null || skip "no unshare"
  local d; d=$(workdir)
  mkdir "$d/ctx" "$d/out"
  write_recipe "$d/ctx" linux/amd64
  capture unshare --mount --propagation private -- sh -c \
    'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && exec "$2" build "$1/app.recipe" --platform linux/amd64 --rootfs "$3"' \
    sh "$d/ctx" "$ARMLET" "$d/out/rootfs"
  assert_eq 0 "$rc" "build from a read-only folder: $err"
  assert_contains "$err" "warning: cannot keep the linux/amd64 list"
  assert_contains "$err" "Read-only file system"
  assert_contains "$(cat "$d/out/rootfs/etc/armlet/preload")" "/www/healthz"
  [ ! -e "$d/ctx/app.recipe.preload" ] || fail "a list was kept in a read-only folder"
}

run_tests
