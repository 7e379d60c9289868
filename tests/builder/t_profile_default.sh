#!/usr/bin/env bash
# Profiled preload lists recorded by the build: `init preload=profile` (or
# `init url=...|seconds=...`) gets the list of every page the entrypoint touched (in any
# of 3 cold runs) until its http:// health URL (or url=) answered, recorded by `armlet
# build` itself in the sandbox and kept beside the recipe; builds of a Go server (Debian's
# docker-registry) then give one image digest (the kept list is reused: t_profile_keep.sh
# tests the keeping itself). The default is no list, health URL or not (opt-in:
# docs/README-coldstart.md, "Why the default is none"), and runs nothing. `--no-profile`
# and `preload=entrypoint|none|PATH` run nothing and keep nothing; a preload=profile that
# cannot record fails the build.
. "$(dirname "$0")/../lib.sh"
export SOURCE_DATE_EPOCH=1700000000
export ARMLET_INIT_DIR=${ARMLET_INIT_DIR:-$OUT}   # the ASan builder has no inits beside it

source "$TOP/tests/builder/profile_lib.sh"   # workdir, write_recipe, build_rootfs

# The device setting profiling changes for its run, to check it is put back: read under
# the lock profile runs take (profile_record.h), so never in the middle of someone's run.
PROFILE_LOCK=/run/lock/armlet-profile.lock
[ -w /run/lock ] || PROFILE_LOCK=/tmp/armlet-profile.lock
ra_of() {
  local st q; st=$(stat -c '%D' "$1")
  q=/sys/dev/block/$((0x$st >> 8)):$((0x$st & 0xff))
  [ -e "$q/queue/read_ahead_kb" ] || q=$q/..
  flock "$PROFILE_LOCK" cat "$q/queue/read_ahead_kb" 2>/dev/null || echo none
}

test_preload_profile_with_a_health_url_gets_the_list_of_what_its_entrypoint_read() {
  local d; d=$(workdir)
  write_recipe "$d" linux/amd64
  local ra; ra=$(ra_of "$d")
  build_rootfs "$d" rootfs
  assert_eq 0 "$rc" "build: $err"
  assert_contains "$err" "resident when the URL answered"
  local list=$d/rootfs/etc/armlet/preload
  # the server first, then what it read to answer: only a recorded list has healthz
  assert_eq /bin/busybox "$(head -1 "$list" | cut -d' ' -f1)"
  assert_contains "$(cat "$list")" "/www/healthz"
  # three runs, whole pages (the file's end may end one), split into the init's 128 KiB calls
  assert_contains "$err" "run 3 of 3:"
  assert_contains "$err" "(every page touched in any run)"
  awk '$1 == "/bin/busybox" { for (i = 2; i <= NF; i++) { split($i, a, ":");
        if (a[1] % 4096 || a[2] > 131072) { print "bad range " $i; exit 1 } } }' "$list" ||
    fail "busybox's ranges are not whole pages: $(head -1 "$list")"
  assert_contains "$err" "armlet: profile: recorded linux/amd64 list, kept in $d/app.recipe.preload/linux-amd64"
  # and less than the whole binary: the list is what it touched, not the file
  local listed size
  listed=$(awk '$1 == "/bin/busybox" { for (i = 2; i <= NF; i++) { split($i, a, ":"); n += a[2] } } END { print n }' "$list")
  size=$(stat -c %s "$d/rootfs/bin/busybox")
  [ "$listed" -lt "$size" ] || fail "listed $listed bytes of a $size-byte binary"
  # nothing left behind: the temporary image folder is gone, read_ahead_kb as before
  assert_eq "" "$(find "$d" -maxdepth 1 -name '.armlet-profile.*')" "temporary folders:"
  assert_eq "$ra" "$(ra_of "$d")" "read_ahead_kb after the build:"
  # the image's config runs the init with that list (kept: this build runs nothing)
  capture "$ARMLET" build "$d/app.recipe" --platform linux/amd64 --oci "$d/oci" --tag t
  assert_eq 0 "$rc" "build --oci: $err"
  assert_not_contains "$err" "warning"
  assert_contains "$err" "reused the list kept in"
  assert_contains "$("$ARMLET" inspect "$d/oci:t")" "--preload=/etc/armlet/preload"
}

test_no_profile_and_explicit_lists_run_nothing() {
  local d; d=$(workdir)
  write_recipe "$d" linux/amd64
  build_rootfs "$d" noprof linux/amd64 --no-profile
  assert_eq 0 "$rc" "build --no-profile: $err"
  assert_not_contains "$err" "armlet: profile:"
  # the fallback is no list (the entrypoint list was slower than none on the SD model)
  [ ! -e "$d/noprof/etc/armlet/preload" ] || fail "--no-profile wrote a list: $(head -c 300 "$d/noprof/etc/armlet/preload")"
  [ ! -e "$d/app.recipe.preload" ] || fail "--no-profile kept a list"
  capture "$ARMLET" build "$d/app.recipe" --platform linux/amd64 --oci "$d/oci" --tag t --no-profile
  assert_eq 0 "$rc" "build --oci --no-profile: $err"
  assert_not_contains "$("$ARMLET" inspect "$d/oci:t")" "--preload"
  local want; want=$("$ARMLET" profile "$d/noprof" --entrypoint-only -- /bin/busybox)
  # an explicit preload= is kept as it is, health or not
  write_recipe "$d" linux/amd64 "init preload=entrypoint"
  build_rootfs "$d" explicit
  assert_eq 0 "$rc" "build preload=entrypoint: $err"
  assert_not_contains "$err" "armlet: profile:"
  assert_eq "$want" "$(cat "$d/explicit/etc/armlet/preload")" "preload=entrypoint list:"
  write_recipe "$d" linux/amd64 "init preload=none"
  build_rootfs "$d" none
  assert_eq 0 "$rc" "build preload=none: $err"
  [ ! -e "$d/none/etc/armlet/preload" ] || fail "preload=none wrote a list"
  # the default, with an http:// health URL: nothing runs, no list
  write_recipe "$d" linux/amd64 ""
  build_rootfs "$d" default
  assert_eq 0 "$rc" "build with the default preload: $err"
  assert_not_contains "$err" "armlet: profile:"
  [ ! -e "$d/default/etc/armlet/preload" ] || fail "the default wrote a list"
  # no readiness signal: nothing runs; no list
  write_recipe "$d" linux/amd64 "" ""
  build_rootfs "$d" nohealth
  assert_eq 0 "$rc" "build without health: $err"
  assert_not_contains "$err" "armlet: profile:"
  [ ! -e "$d/nohealth/etc/armlet/preload" ] || fail "a recipe without health got a list"
  [ ! -e "$d/app.recipe.preload" ] || fail "a build that recorded nothing kept a list"
}

# url= and seconds= on the init line are the readiness signal when there is no health
# line: url= is asked until it answers, seconds= is how long the program runs.
test_init_url_and_seconds_record_without_a_health_line() {
  local d; d=$(workdir)
  write_recipe "$d" linux/amd64 "init url=http://127.0.0.1:8080/healthz" ""
  build_rootfs "$d" url
  assert_eq 0 "$rc" "build with init url=: $err"
  assert_contains "$err" "resident when the URL answered"
  assert_contains "$(cat "$d/url/etc/armlet/preload")" "/www/healthz"
  write_recipe "$d" linux/amd64 "init preload=profile seconds=1" ""
  build_rootfs "$d" seconds
  assert_eq 0 "$rc" "build with init seconds=1: $err"
  assert_contains "$err" "run 3 of 3:"
  assert_not_contains "$err" "when the URL answered"
  assert_eq /bin/busybox "$(head -1 "$d/seconds/etc/armlet/preload" | cut -d' ' -f1)"
}

# A server that cannot be recorded (it exits at once: a port it cannot take) fails a build
# that asked for preload=profile, naming why, and leaves nothing.
test_a_profile_that_cannot_be_recorded_fails_the_build() {
  local d; d=$(workdir)
  local EP_ADDR=127.0.0.1:99999
  write_recipe "$d" linux/amd64 "init preload=profile"
  build_rootfs "$d" explicit
  assert_eq 1 "$rc" "build preload=profile that cannot record"
  assert_contains "$err" "exited before http://127.0.0.1:8080/healthz answered"
  [ ! -e "$d/explicit" ] || fail "a failed build left its rootfs"
  [ ! -e "$d/app.recipe.preload" ] || fail "a failed build kept a list"
}

# Builds of a Go server, whose runtime touches other pages on each start (Debian's
# docker-registry, as bench-coldstart packages it), give one image digest: the first
# records three cold runs and keeps the list, the others reuse it and run nothing.
test_builds_of_a_go_server_give_one_digest() {
  local reg=/usr/bin/docker-registry
  [ -x "$reg" ] || skip "no $reg (Debian's docker-registry, ci/install-deps)"
  local d i digests=""; d=$(workdir)
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: 127.0.0.1:5000\n' >"$d/registry.yml"
  cat >"$d/app.recipe" <<EOF
name        registry
platforms   linux/amd64
base        static
file        /usr/bin/docker-registry  $reg  mode=0755 libs
file        /etc/registry.yml  registry.yml  mode=0644
dir         /var/lib/registry  mode=0755
entrypoint  ["/usr/bin/docker-registry", "serve", "/etc/registry.yml"]
health      http://127.0.0.1:5000/v2/
init        preload=profile
EOF
  for i in 1 2 3; do
    capture "$ARMLET" build "$d/app.recipe" --oci "$d/oci$i" --tag t
    assert_eq 0 "$rc" "build $i: $err"
    if [ "$i" = 1 ]; then
      assert_contains "$err" "resident when the URL answered"
      assert_contains "$err" "recorded linux/amd64 list, kept in"
    else
      assert_contains "$err" "reused the list kept in"
      assert_not_contains "$err" "resident when"
    fi
    digests+="$(jq -r '.manifests[0].digest' "$d/oci$i/index.json") "
  done
  assert_contains "$("$ARMLET" inspect "$d/oci1:t")" "--preload=/etc/armlet/preload"
  assert_eq 1 "$(tr ' ' '\n' <<<"$digests" | grep . | sort -u | wc -l)" \
    "distinct digests of 3 builds ($digests):"
}

# Builds that profile at once (tests/run -j, a CI matrix) take turns: each sets the disk's
# read_ahead_kb to 0 and puts back what it found, so overlapping runs would leave 0.
# --profile=record: each records (none reuses what another kept meanwhile), and the three
# replace the kept list one after the other, each whole.
test_concurrent_builds_leave_read_ahead_kb_as_it_was() {
  local d; d=$(workdir)
  write_recipe "$d" linux/amd64
  local ra; ra=$(ra_of "$d")
  local pids=() i
  for i in 1 2 3; do
    "$ARMLET" build "$d/app.recipe" --platform linux/amd64 --rootfs "$d/r$i" --profile=record \
      2>"$d/log$i" & pids+=($!)
  done
  for i in 0 1 2; do wait "${pids[$i]}" || fail "build $((i + 1)): $(cat "$d/log$((i + 1))")"; done
  assert_eq "$ra" "$(ra_of "$d")" "read_ahead_kb after three concurrent builds:"
  for i in 1 2 3; do assert_contains "$(cat "$d/log$i")" "resident when the URL answered"; done
  # the kept list is one of the three recordings, whole: a build that reuses it gets it
  capture "$ARMLET" build "$d/app.recipe" --platform linux/amd64 --rootfs "$d/r4"
  assert_eq 0 "$rc" "build reusing the kept list: $err"
  assert_contains "$err" "reused the list kept in"
  local kept; kept=$(cat "$d/r4/etc/armlet/preload")
  [ "$kept" = "$(cat "$d/r1/etc/armlet/preload")" ] || [ "$kept" = "$(cat "$d/r2/etc/armlet/preload")" ] ||
    [ "$kept" = "$(cat "$d/r3/etc/armlet/preload")" ] || fail "the kept list is none of the three: $kept"
}

# A foreign platform's server runs through qemu-user binfmt: the list names the image's
# files only (qemu and its libraries are the host's) and what the server read.
test_a_foreign_platform_is_profiled_through_binfmt() {
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || skip "no qemu-aarch64 binfmt on this host"
  local d; d=$(workdir)
  write_recipe "$d" linux/arm64
  build_rootfs "$d" rootfs linux/arm64
  assert_eq 0 "$rc" "build: $err"
  assert_contains "$err" "resident when the URL answered"
  local paths; paths=$(cut -d' ' -f1 "$d/rootfs/etc/armlet/preload" | uniq | tr '\n' ' ')
  assert_eq "/bin/busybox /www/healthz " "$paths" "files listed for arm64:"
}

run_tests
