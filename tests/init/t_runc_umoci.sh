#!/usr/bin/env bash
# armlet-init as PID 1 of a runc container made the way a user makes one: `armlet build`
# a recipe for the four platforms, `umoci unpack` one platform's manifest, set
# process.terminal=false, `runc run` (issue 2 point 3). The payload is Debian's
# busybox-static for the platform (recipes/busybox-httpd/fetch.sh) running a shell script
# that orphans processes onto PID 1. What the container holds is read from inside with
# `runc exec` (its /proc), not from the payload's word. amd64 runs natively, arm64 and
# arm/v7 (Cortex-A7) under qemu binfmt, arm/v6 as an ARM1176 (QEMU_CPU in the container's
# environment: qemu-user takes it from the program it runs, so every process and every
# `runc exec` in the container gets that CPU).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/init_lib.sh"
source "$TOP/tests/tools/oci.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/armlet-umoci.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=1700000000
private_armlet "$WORK"

# The payload: /orphans.sh MODE [N]
#   serve N  orphan N cats that read the container's stdin until it ends (when the test
#            closes its end of the FIFO start_container makes: they outlive the shell
#            that started them, whatever the machine's speed) and 3 sleeps of 300 s onto PID 1, start one sleep of its own, print "ready
#            PID" (its own PID in the container), then wait (in the shell's `wait`, so it
#            has no short-lived children of its own) until TERM: print "got-TERM", exit 33
#   exit     orphan 3 sleeps of 300 s, start one of its own, print "leaving", exit 7
PAYLOAD='#!/bin/sh
# orphan COUNT COMMAND: COUNT COMMANDs whose parent shell exits at once, so PID 1 adopts
# them (all of them by the time it returns)
orphan() { sh -c "i=0; while [ \$i -lt $1 ]; do $2 & i=\$((i+1)); done"; }
case $1 in
serve)
  trap "echo got-TERM; exit 33" TERM
  # (the stdin of a background command is /dev/null unless redirected: fd 3 is the real one)
  exec 3<&0
  orphan "$2" "cat <&3 >/dev/null"
  exec 3<&-
  orphan 3 "sleep 300"
  sleep 100000 &
  echo "ready $$"
  wait $!
  ;;
exit)
  orphan 3 "sleep 300"
  sleep 300 &
  echo leaving
  exit 7
  ;;
esac
exit 99'

# The image, built once per run into $WORK/oci with tag orphanage, four platforms, the
# default init line (seccomp=default included) but preload=none, plus verbose; prints the
# layout's path. (preload=entrypoint forks a read-ahead helper that the init reaps and
# --verbose reports as one more "reaped orphan": the counts below would be off by one.)
orphanage_oci() {
  local r=$WORK/recipe
  if [ ! -f "$WORK/oci/index.json" ]; then
    busybox_dist
    mkdir -p "$r"
    printf '%s\n' "$PAYLOAD" >"$r/orphans.sh"
    cat >"$r/orphanage.recipe" <<EOF
name        orphanage
platforms   linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6
base        static
file        /bin/busybox   $TOP/recipes/dist/busybox-\${arch}\${variant}  mode=0755
symlink     /bin/sh        /bin/busybox
symlink     /bin/sleep     /bin/busybox
symlink     /bin/cat       /bin/busybox
file        /orphans.sh    orphans.sh  mode=0755
user        nonroot
entrypoint  ["/bin/sh", "/orphans.sh"]
cmd         serve 20
init        cpu=floor memory=0.9 nofile=max seccomp=default preload=none verbose
EOF
    capture "$ARMLET" build "$r/orphanage.recipe" --oci "$WORK/oci.tmp" --tag orphanage
    [ "$rc" = 0 ] || fail "armlet build orphanage.recipe exited $rc: $err"
    mv "$WORK/oci.tmp" "$WORK/oci"
  fi
  echo "$WORK/oci"
}

# OCI platform string of the init platform name ($PLATFORM: linux-arm-v7 -> linux/arm/v7).
oci_platform() { echo "$1" | tr - /; }

# The emulated CPU of a board of that platform, for QEMU_CPU (empty: qemu's default).
board_cpu() {
  case $1 in
    linux-arm-v6) echo arm1176 ;;
    linux-arm-v7) echo cortex-a7 ;;
  esac
}

# Globals the EXIT trap needs after the test function returns: B (bundle), R (runc state
# root, private to the test so `runc list` elsewhere never sees these containers).
umoci_cleanup() {
  local id
  if [ -n "${R:-}" ] && [ -d "$R" ]; then
    for id in $(runc --root "$R" list -q 2>/dev/null); do
      runc --root "$R" kill "$id" KILL >/dev/null 2>&1 || true
      for _ in $(seq 1 150); do   # 30 s at most
        runc --root "$R" delete --force "$id" >/dev/null 2>&1 || true
        runc --root "$R" state "$id" >/dev/null 2>&1 || break
        sleep 0.2
      done
    done
  fi
  # runc delete leaves the container's cgroup folders now and then (seen once for
  # arm/v6 under qemu, empty): the host keeps nothing of the test.
  [ -z "${ID:-}" ] || rmdir /sys/fs/cgroup/*/"$ID" /sys/fs/cgroup/"$ID" 2>/dev/null || true
  [ -z "${D:-}" ] || [ -n "${KEEP:-}" ] || rm -rf "$D"
}

# make_bundle ARGS...: unpack this platform's image into $D/bundle (umoci), no terminal,
# the board CPU in the environment, the payload's arguments (after /orphans.sh) replaced
# by ARGS. Sets D, B, R, ID.
make_bundle() {
  local oci plat cpu args
  command -v runc >/dev/null || skip "runc is not installed (bash ci/install-deps)"
  command -v umoci >/dev/null || skip "umoci is not installed (bash ci/install-deps)"
  case $PLATFORM in
    linux-arm64) binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)" ;;
    linux-arm-*) binfmt_ready qemu-arm || skip "qemu-arm binfmt is not enabled (bash ci/install-deps)" ;;
  esac
  oci=$(orphanage_oci)
  plat=$(oci_platform "$PLATFORM")
  D=$(tmpdir); B=$D/bundle; R=$D/state; ID=armlet-umoci-$BASHPID-$PLATFORM
  trap umoci_cleanup EXIT
  oci_unpack "$oci" orphanage "$plat" "$B" || fail "umoci unpack $plat failed"
  cpu=$(board_cpu "$PLATFORM")
  args=$("$PY" -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@")
  json_edit "$B/config.json" "
d['process']['terminal'] = False
a = d['process']['args']
d['process']['args'] = a[:a.index('/orphans.sh') + 1] + $args
if '$cpu': d['process']['env'].append('QEMU_CPU=$cpu')"
}

# start_container: runc run (attached, in the background) with stdout in $D/out and stderr
# in $D/err; its pid in RUNC_PID. Its stdin is a FIFO whose only writer is the test's fd 9
# (runc passes stdin on to PID 1 and its child): the payload's cats live until
# `exec 9>&-` (or the test's end).
start_container() {
  mkfifo "$D/in"
  runc --root "$R" run --bundle "$B" "$ID" >"$D/out" 2>"$D/err" <"$D/in" &
  RUNC_PID=$!
  exec 9>"$D/in"
}

# in_container CMD...: run CMD in the container (runc exec), stdout to stdout. (Without
# the gates' fds: only the test holds them.)
in_container() { runc --root "$R" exec "$ID" "$@" 8>&- 9>&-; }

# exec_orphans: a `runc exec` shell starts 5 cats and exits, so they are orphaned onto
# PID 1; they read the stdin runc exec gives them, a FIFO the test holds open as fd 8, and
# end at its end: never before their shell has gone. (Their stdout and stderr go nowhere:
# runc exec returns once its process's output ends.)
exec_orphans() {
  mkfifo "$D/gate2"
  exec 8<>"$D/gate2"
  in_container /bin/sh -c 'exec 3<&0; for i in 1 2 3 4 5; do cat <&3 >/dev/null 2>&1 & done' <"$D/gate2" ||
    fail "runc exec failed"
}

# until_true SECONDS CMD...: run CMD until it succeeds; 1 if it never did in SECONDS.
until_true() {
  local end=$(( $(date +%s) + $1 )); shift
  until "$@"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.2; done
}

# snapshot: one line per process in the container, "PID (COMM) STATE PPID ...", as
# /proc/PID/stat says, read by a busybox shell started with runc exec (its own line has
# PPID 0: its parent, runc, is outside the container's PID namespace).
snapshot() {
  in_container /bin/sh -c 'for s in /proc/[0-9]*/stat; do read -r l <"$s" && echo "$l"; done'
}

# count AWK_CONDITION: processes of the snapshot on stdin matching it ($1 pid, $2 (comm),
# $3 state, $4 ppid). Under qemu a busybox applet run from the shell may keep the comm
# "sh" (and qemu fakes the reading shell's own stat line: state "0"), so the tests tell
# processes apart by PID and parent, not by name.
count() { awk "$1 { n++ } END { print n + 0 }"; }

# brief: the snapshot on stdin as "PID COMM STATE PPID" per process, for failure messages.
brief() { awk '{ printf "%s %s %s %s; ", $1, $2, $3, $4 }'; }

# ready_pid: the main child's PID in the container, from its "ready PID" line.
ready_pid() { awk '$1 == "ready" { print $2; exit }' "$D/out"; }

platforms_test_pid_1_is_armlet_init_and_it_reaps_every_orphan_while_the_child_runs() { :; }
test_pid_1_is_armlet_init_and_it_reaps_every_orphan_while_the_child_runs() {
  local snap cmd main
  make_bundle serve 20
  start_container
  wait_for "$D/out" ready 90
  main=$(ready_pid)
  # Before the gate opens all 20 cats (blocked on the FIFO) and the 3 long sleeps are PID
  # 1's children beside the main child, alive: adopted, none reaped yet.
  snap=$(snapshot) || fail "runc exec failed: $snap"
  assert_eq 24 "$(count '$4 == 1 && $3 != "Z"' <<<"$snap")" "PID 1's live children before the gate opens ($(brief <<<"$snap")):"
  assert_eq 0 "$(grep -c 'reaped orphan' "$D/err")" "'reaped orphan' lines before the gate opens:"
  # The gate opens: the cats read EOF and exit. Wait for that state: PID 1's children are
  # then the main child and the 3 long sleeps, and nothing is a zombie; the init has said
  # so for each. 120 s only bounds a hang (qemu on a loaded machine is slow).
  exec 9>&-
  reaped_all() {
    snap=$(snapshot) || return 1
    [ "$(count '$4 == 1' <<<"$snap")" = 4 ] && [ "$(count '$3 == "Z"' <<<"$snap")" = 0 ] &&
      [ "$(grep -c 'reaped orphan' "$D/err")" -ge 20 ]
  }
  until_true 120 reaped_all || fail "20 orphans gone, 3 left, no zombie, 20 reaped; last snapshot: $(brief <<<"$snap"); $(grep -c 'reaped orphan' "$D/err") reaped"
  # PID 1 is the init the image names, with the payload after its "--".
  assert_eq "(armlet-init)" "$(awk '$1 == 1 { print $2 }' <<<"$snap")" "PID 1's comm:"
  cmd=$(in_container /bin/cat /proc/1/cmdline | tr '\0' ' ')
  assert_contains "$cmd" "/sbin/armlet-init " "PID 1's command line:"
  assert_contains "$cmd" " -- /bin/sh /orphans.sh serve 20 " "PID 1's command line:"
  # On arm/v6 and arm/v7 the init (and so qemu running it) has the board's CPU.
  [ -z "$(board_cpu "$PLATFORM")" ] ||
    assert_contains "$(in_container /bin/cat /proc/1/environ | tr '\0' ' ')" "QEMU_CPU=$(board_cpu "$PLATFORM") " "PID 1's environment:"
  # The main child still runs, as PID 1's child, in `wait` (state S), with its own sleep.
  assert_eq "S 1" "$(awk -v m="$main" '$1 == m { print $3, $4 }' <<<"$snap")" "main child $main state and parent:"
  assert_eq 1 "$(count "\$4 == $main" <<<"$snap")" "children of the main child:"
  # The 3 long sleeps were re-parented to PID 1 (their shell exited) and still run.
  assert_eq 3 "$(count "\$4 == 1 && \$1 != $main && \$3 != \"Z\"" <<<"$snap")" "adopted orphans still running:"
  kill -0 "$RUNC_PID" 2>/dev/null || fail "the container stopped: $(cat "$D/err")"
  # The init's own account (--verbose from the recipe's init line): PID 1, and exactly the
  # 20 short orphans reaped as orphans (not the main child, which still runs).
  assert_contains "$(cat "$D/err")" "running as PID 1"
  assert_eq 20 "$(grep -c 'reaped orphan' "$D/err")" "'reaped orphan' lines in the init's stderr:"
}

# The zombie count above can see zombies: with a PID 1 that never reaps (busybox sleep in
# place of the init, same image), orphans left by a `runc exec` shell stay zombies; with
# armlet-init they are reaped. (One platform: this checks the measuring, not the init.)
test_the_zombie_count_sees_zombies_under_a_non_reaping_pid_1_and_none_under_the_init() {
  PLATFORM=linux-amd64
  local snap z
  make_bundle serve 5
  json_edit "$B/config.json" "d['process']['args'] = ['/bin/sleep', '300']"
  start_container
  until_true 60 in_container /bin/cat /proc/1/stat >/dev/null 2>&1 || fail "the control container never answered runc exec: $(cat "$D/err")"
  exec_orphans
  exec 8>&-
  # The 5 orphans end: wait for the state, 60 s at most.
  five_zombies() { snap=$(snapshot) && [ "$(count '$3 == "Z" && $4 == 1' <<<"$snap")" -ge 5 ]; }
  until_true 60 five_zombies || fail "no 5 zombies under busybox sleep as PID 1 in 60 s (snapshot: $(brief <<<"$snap"))"
  assert_eq "(sleep)" "$(awk '$1 == 1 { print $2 }' <<<"$snap")" "PID 1 of the control container:"
  z=$(count '$3 == "Z" && $4 == 1' <<<"$snap")
  assert_eq 5 "$z" "zombies under busybox sleep as PID 1 (snapshot: $(brief <<<"$snap")):"
  umoci_cleanup
  # The same orphans in the image as built: armlet-init reaps them (its own account: a
  # "reaped orphan" line each, written after the reap; 60 s only bounds a hang).
  make_bundle serve 5
  start_container
  wait_for "$D/out" ready 90
  exec_orphans
  exec 8>&- 9>&-
  ten_reaped() { [ "$(grep -c 'reaped orphan' "$D/err")" -ge 10 ]; }
  until_true 60 ten_reaped || fail "orphans reaped in 60 s: $(grep -c 'reaped orphan' "$D/err") of 10 (5 of the payload, 5 of runc exec)"
  snap=$(snapshot)
  assert_eq "(armlet-init)" "$(awk '$1 == 1 { print $2 }' <<<"$snap")" "PID 1:"
  assert_eq 0 "$(count '$3 == "Z"' <<<"$snap")" "zombies under armlet-init (snapshot: $(brief <<<"$snap")):"
  assert_eq 10 "$(grep -c 'reaped orphan' "$D/err")" "orphans reaped (5 of the payload, 5 of runc exec):"
}

platforms_test_container_exits_with_the_childs_status_while_orphans_still_run() { :; }
test_container_exits_with_the_childs_status_while_orphans_still_run() {
  local start secs
  make_bundle exit
  start=$(date +%s)
  # The 300 s sleeps (3 orphans and one child of the main child) must not hold it up: an
  # init that waited for them would still run at 240 s (timeout's 124). No tighter clock.
  capture timeout 240 runc --root "$R" run --bundle "$B" "$ID"
  secs=$(( $(date +%s) - start ))
  assert_eq 7 "$rc" "container exit status after ${secs}s (124: the init waited for the sleeps; stderr: $err):"
  assert_contains "$out" "leaving"
  assert_contains "$err" "running as PID 1"
}

platforms_test_runc_kill_term_reaches_the_child() { :; }
test_runc_kill_term_reaches_the_child() {
  make_bundle serve 3
  start_container
  wait_for "$D/out" ready 90
  runc --root "$R" kill "$ID" TERM || fail "runc kill TERM failed"
  wait_exit "$RUNC_PID" 60
  assert_eq 33 "$rc" "container exit status after runc kill TERM ($(cat "$D/err")):"
  assert_contains "$(cat "$D/out")" "got-TERM"
}

# The recipe's seccomp=default: natively the child runs under the filter and the init
# (PID 1) does not; under qemu-user, which refuses guest filters (EINVAL), the init says
# so and the child runs unfiltered, rather than the emulated container not starting.
platforms_test_seccomp_default_filters_the_child_natively_and_warns_under_qemu() { :; }
test_seccomp_default_filters_the_child_natively_and_warns_under_qemu() {
  local child st1 stc
  make_bundle serve 1
  start_container
  wait_for "$D/out" ready 90
  child=$(ready_pid)
  st1=$(in_container /bin/cat /proc/1/status | grep '^Seccomp:' | tr -s '\t ' ' ')
  stc=$(in_container /bin/cat "/proc/$child/status" | grep '^Seccomp:' | tr -s '\t ' ' ')
  assert_eq "Seccomp: 0" "$st1" "PID 1 (the init):"
  if [ "$PLATFORM" = linux-amd64 ]; then
    assert_eq "Seccomp: 2" "$stc" "the main child:"
    assert_not_contains "$(cat "$D/err")" "WITHOUT the filter"
  else
    assert_eq "Seccomp: 0" "$stc" "the main child under qemu:"
    # (the wording before the colon may change; "--seccomp: ... WITHOUT the filter" stays)
    assert_contains "$(cat "$D/err")" "--seccomp: "
    assert_contains "$(cat "$D/err")" "running WITHOUT the filter"
  fi
}

run_tests
