#!/usr/bin/env bash
# armlet-init as the PID 1 entrypoint of a real runc container (a bundle made by hand:
# rootfs = the platform's static init + Debian's busybox-static for the child programs,
# config from `runc spec` with process.terminal=false): it reaps orphans, exits with the
# child's status and forwards `runc kill`'s TERM. All four platforms (a foreign-arch init
# runs through qemu binfmt's F flag, which works inside containers).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/init_lib.sh"

# make_bundle DIR ARGS...: a bundle in DIR whose process is /sbin/armlet-init ARGS...
make_bundle() {
  local b=$1; shift
  mkdir -p "$b/rootfs/sbin" "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys" "$b/rootfs/tmp"
  cp "$INIT" "$b/rootfs/sbin/armlet-init"
  cp /bin/busybox "$b/rootfs/bin/busybox"
  local t; for t in sh sleep cat awk echo; do ln -sf busybox "$b/rootfs/bin/$t"; done
  (cd "$b" && runc spec)
  local args; args=$("$PY" -c 'import json, sys; print(json.dumps(sys.argv[1:]))' /sbin/armlet-init "$@")
  jq --argjson a "$args" '.process.terminal = false | .process.args = $a
      | .process.env = ["PATH=/bin:/sbin"] + (if env.QEMU_CPU then ["QEMU_CPU=" + env.QEMU_CPU] else [] end)' \
    "$b/config.json" >"$b/config.json.new"
  mv "$b/config.json.new" "$b/config.json"
}

platforms_test_runc_container_reaps_orphans_and_exits_with_the_childs_status() { :; }
test_runc_container_reaps_orphans_and_exits_with_the_childs_status() {
  command -v runc >/dev/null || skip "runc is not installed"
  local d id; d=$(tmpdir); id=armlet-reap-$$-$PLATFORM
  make_bundle "$d/b" --verbose -- /bin/sh -c "$ORPHANS" sh 20
  capture timeout 60 runc --root "$d/state" run --bundle "$d/b" "$id"
  runc --root "$d/state" delete -f "$id" >/dev/null 2>&1 || true
  assert_eq 7 "$rc" "container exit status ($err):"
  assert_contains "$err" "running as PID 1"
  assert_eq "adopted=21 zombies=0" "$out"
  assert_eq 20 "$(grep -c 'reaped orphan' <<<"$err")" "orphans reaped:"
}

platforms_test_runc_kill_term_reaches_the_child() { :; }
test_runc_kill_term_reaches_the_child() {
  command -v runc >/dev/null || skip "runc is not installed"
  local d id pid; d=$(tmpdir); id=armlet-kill-$$-$PLATFORM
  make_bundle "$d/b" -- /bin/sh -c 'trap "echo got-TERM; exit 33" TERM; echo ready; while :; do sleep 0.1; done'
  runc --root "$d/state" run --bundle "$d/b" "$id" >"$d/out" 2>"$d/err" &
  pid=$!
  wait_for "$d/out" ready 30
  runc --root "$d/state" kill "$id" TERM
  wait_exit "$pid" 60
  runc --root "$d/state" delete -f "$id" >/dev/null 2>&1 || true
  assert_eq 33 "$rc" "container exit status ($(cat "$d/err")):"
  assert_contains "$(cat "$d/out")" "got-TERM"
}

run_tests
