#!/usr/bin/env bash
# Reaping: as PID 1 (unshare --pid --fork --mount-proc) and as a child subreaper the init
# reaps every zombie, orphans re-parented to it included, and exits as soon as the main
# child has exited. A storm of 10,000 signals while hundreds of children exit loses no
# signal, leaves no zombie and gives the right exit status. All four platforms.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/init_lib.sh"


platforms_test_pid1_in_a_pid_namespace_reaps_orphans() { :; }
test_pid1_in_a_pid_namespace_reaps_orphans() {
  capture unshare --pid --fork --mount-proc "$INIT" --verbose -- sh -c "$ORPHANS" sh 50
  assert_eq 7 "$rc" "exit status:"
  assert_contains "$err" "running as PID 1"
  # 50 sleeps + the main child itself have the init as parent.
  assert_eq "adopted=51 zombies=0" "$out"
  assert_eq 50 "$(grep -c 'reaped orphan' <<<"$err")" "orphans reaped:"
}

platforms_test_subreaper_reaps_orphans_when_not_pid1() { :; }
test_subreaper_reaps_orphans_when_not_pid1() {
  capture "$INIT" --verbose -- true
  case "$err" in *"cannot become a child subreaper"*"Invalid argument"*)
    [ "$PLATFORM" != linux-amd64 ] && skip "qemu-user 7.2 does not implement prctl(PR_SET_CHILD_SUBREAPER) (EINVAL); PID 1 reaping is tested on this platform";;
  esac
  capture "$INIT" --verbose -- sh -c "$ORPHANS" sh 50
  assert_eq 7 "$rc"
  assert_contains "$err" "child subreaper"
  assert_eq "adopted=51 zombies=0" "$out"
}

platforms_test_exits_when_the_main_child_exits_even_with_others_running() { :; }
test_exits_when_the_main_child_exits_even_with_others_running() {
  # The other process never ends on its own (it waits for a FIFO nobody opens for
  # writing), so an init that waited for it would hang; 60 s only bounds that hang
  # (rc 124). It goes away with the PID namespace once its PID 1 exits; --kill-child ends
  # that namespace if the timeout fires. The background job keeps stdout open, so send
  # it elsewhere to see the init's exit.
  local d; d=$(tmpdir); mkfifo "$d/never"
  capture timeout 60 unshare --pid --fork --mount-proc --kill-child "$INIT" -- \
    sh -c 'cat "$1" >/dev/null 2>&1 & exit 4' sh "$d/never"
  rm -rf "$d"
  assert_eq 4 "$rc" "exit status (124: the init waited for the other process):"
}

platforms_test_signal_storm_loses_no_signal_and_leaves_no_zombie() { :; }
test_signal_storm_loses_no_signal_and_leaves_no_zombie() {
  # 10,000 real-time signals (queued one by one by the kernel, so any loss shows as a
  # count short of 10,000) sent to the init while its child forks 500 children, each of
  # which orphans a grandchild onto the init: 1,000 exits to reap. Same counts on every
  # platform (the emulated init keeps up).
  local d n=10000 kids=500 sig=40 i w; d=$(tmpdir)
  "$INIT" -- "$HELPER" storm "$kids" "$n" "$sig" >"$d/out" &
  pid=$!
  # The watchdog only bounds a hang (signals lost: the helper waits for them forever).
  ( sleep 120; kill -KILL "$pid" ) 2>/dev/null &
  w=$!
  wait_for "$d/out" ready 30
  for ((i = 0; i < n; i++)); do kill -s "$sig" "$pid"; done
  rc=0; wait "$pid" || rc=$?
  kill "$w" 2>/dev/null || true
  assert_eq 42 "$rc" "exit status (137 = watchdog: signals lost):"
  assert_eq "got=$n children=$kids zombies=0" "$(grep got= "$d/out")"
}

run_tests
