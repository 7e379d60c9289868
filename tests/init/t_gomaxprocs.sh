#!/usr/bin/env bash
# armlet-init --cpu go-floor / go-ceil: what the builder passes for a Go >= 1.25 program
# (docs/README-limits.md, "Go 1.25 and later"). Such a runtime picks GOMAXPROCS itself,
# min(affinity, max(2, the leaf cgroup's CPU quota rounded up)), and follows the limit
# while it runs unless GOMAXPROCS is set. So the child gets GOMAXPROCS only where armlet's
# number (whole cgroup path, cpuset, floor or ceil) differs from that; --cpu-env names
# are always exported. Every run is pinned to CPUs 0 and 1 (taskset), so affinity is 2
# on any host with 2 CPUs or more. The cgroup2 cases use the cgroup2-shaped tree of
# cgroup_lib.sh (run_v2); the v1 case runs in real cgroups of this host, on every
# platform (arm inits under qemu-user).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/cgroup_lib.sh"

need_2() { [ "$NCPU" -ge 2 ] || skip "needs 2 CPUs (affinity 2 is what the cases assume)"; }

# v2 CPU.MAX-LINES CGROUP MODE [INIT-ARGS...]: the child's "GOMAXPROCS CPUS" (unset when
# not exported), in a tree where each "DIR QUOTA PERIOD" line sets DIR/cpu.max.
v2() {
  local lines=$1 path=$2 mode=$3; shift 3
  local tree="mkdir -p .${path%/}" dir q per
  while read -r dir q per; do
    [ -n "$dir" ] && tree="$tree && mkdir -p .$dir && echo '$q $per' > .$dir/cpu.max"
  done <<<"$lines"
  capture run_v2 "$tree" "$path" taskset -c 0,1 "$NATIVE_INIT" --verbose --cpu "$mode" --cpu-env CPUS "$@" \
    -- sh -c 'echo ${GOMAXPROCS-unset} ${CPUS-unset}'
  assert_eq 0 "$rc" "$err"
}

test_no_quota_leaves_gomaxprocs_to_go() {
  need_2
  v2 "" /ctr go-floor
  assert_eq "unset 2" "$out" "no quota, go-floor (Go picks affinity 2 too):"
  assert_contains "$err" "-> GOMAXPROCS=2 (floor; Go's own: not set)"
  v2 "" /ctr floor
  assert_eq "2 2" "$out" "no quota, floor (forced, as before):"
}

test_leaf_quota_go_agrees_only_with_ceil() {
  need_2
  # 1.5 CPUs at the leaf: Go rounds up to 2; armlet's floor says 1 and sets it.
  v2 "/ctr 150000 100000" /ctr go-floor
  assert_eq "1 1" "$out" "1.5, go-floor:"
  assert_contains "$err" "-> GOMAXPROCS=1 (floor)"
  v2 "/ctr 150000 100000" /ctr go-ceil
  assert_eq "unset 2" "$out" "1.5, go-ceil:"
  # 3 CPUs at the leaf, affinity 2: both say 2.
  v2 "/ctr 300000 100000" /ctr go-floor
  assert_eq "unset 2" "$out" "3 CPUs, affinity 2:"
}

test_go_floor_of_two_is_not_armlets() {
  need_2
  # Half a CPU: Go's own default would be 2 (its floor), armlet's 1 with ceil too.
  v2 "/ctr 50000 100000" /ctr go-ceil
  assert_eq "1 1" "$out" "0.5 CPU:"
}

test_parent_quota_is_seen_by_armlet_not_by_go() {
  need_2
  # A pod-level limit of 1 CPU over an unlimited container: Go reads the leaf only and
  # would run 2 Ps; armlet reads the whole path and sets 1.
  v2 "/pod 100000 100000
/pod/ctr max 100000" /pod/ctr go-ceil
  assert_eq "1 1" "$out" "parent 1 CPU, leaf unlimited:"
  assert_contains "$err" "quota 1 (cgroup /pod cpu.max)"
}

test_users_gomaxprocs_stays_and_env_variable_selects_the_mode() {
  need_2
  capture run_v2 "mkdir ctr && echo '150000 100000' > ctr/cpu.max" /ctr env GOMAXPROCS=7 \
    taskset -c 0,1 "$NATIVE_INIT" --cpu go-floor -- sh -c 'echo $GOMAXPROCS'
  assert_eq 7 "$out" "the user's GOMAXPROCS:"
  capture run_v2 "mkdir ctr && echo '150000 100000' > ctr/cpu.max" /ctr env ARMLET_INIT_CPU=go-ceil \
    taskset -c 0,1 "$NATIVE_INIT" -- sh -c 'echo ${GOMAXPROCS-unset}'
  assert_eq unset "$out" "ARMLET_INIT_CPU=go-ceil:"
}

test_bad_cpu_value_is_a_usage_error() {
  capture "$NATIVE_INIT" --cpu go-sometimes -- true
  assert_eq 2 "$rc"
  assert_contains "$err" "--cpu: expected [go-]floor, ceil or off, got 'go-sometimes'"
}

# Real v1 cgroups, every platform: the measured example of docs/README-limits.md.
platforms_test_v1_quota_go_floor_and_floor() { :; }
test_v1_quota_go_floor_and_floor() {
  need_v1 $CPU_V1
  need_2
  local c=$CPU_V1/armlet-test-$$-go
  cg_make "$c"
  echo 100000 >"$c/cpu.cfs_period_us"
  echo 200000 >"$c/cpu.cfs_quota_us"
  capture in_cgroups "$c" taskset -c 0,1 "$INIT" --cpu go-floor -- sh -c 'echo ${GOMAXPROCS-unset}'
  assert_eq unset "$out" "quota 2, go-floor: $err"
  capture in_cgroups "$c" taskset -c 0,1 "$INIT" --cpu floor -- sh -c 'echo ${GOMAXPROCS-unset}'
  assert_eq 2 "$out" "quota 2, floor: $err"
  echo 150000 >"$c/cpu.cfs_quota_us"
  capture in_cgroups "$c" taskset -c 0,1 "$INIT" --cpu go-floor -- sh -c 'echo ${GOMAXPROCS-unset}'
  assert_eq 1 "$out" "quota 1.5, go-floor: $err"
}

run_tests
