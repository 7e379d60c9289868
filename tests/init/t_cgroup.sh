#!/usr/bin/env bash
# armlet-init --cpu / --cpu-env / --memory on real cgroups of this host: the child gets
# GOMAXPROCS = min(affinity, cpuset, tightest CPU quota from its cgroup up to the root),
# rounded down or up, and GOMEMLIMIT = RATIO x the tightest memory limit; a variable the
# user set is never overridden. v1 hierarchies are writable here; the cpu and memory
# controllers are bound to v1, so a real cgroup2 mount has no cpu.max/memory.max: v2
# limits are shown with a cgroup2-shaped tree mounted over /sys/fs/cgroup in a private
# mount namespace, with the init's own /proc/PID/{cgroup,mountinfo} bind-mounted to
# describe it — the files a container sees, read by the real init binary.
# The quota tests run once per platform (arm inits under qemu-user, which passes the
# cgroup and /proc reads through to this kernel).
source "$(dirname "$0")/../lib.sh"

source "$(dirname "$0")/cgroup_lib.sh"

platforms_test_v1_quota_1_5_gives_1_with_floor_and_2_with_ceil() { :; }
test_v1_quota_1_5_gives_1_with_floor_and_2_with_ceil() {
  need_v1 $CPU_V1
  [ "$NCPU" -ge 2 ] || skip "needs 2 CPUs to tell floor from ceil"
  local cg=$CPU_V1/armlet-test-$$-q
  cg_make "$cg"
  echo 100000 >"$cg/cpu.cfs_period_us"; echo 150000 >"$cg/cpu.cfs_quota_us"
  capture in_cgroups "$cg" "$INIT" --verbose --cpu floor -- sh -c 'echo $GOMAXPROCS'
  assert_eq 0 "$rc"; assert_eq 1 "$out" "floor:"
  assert_contains "$err" "quota 1.5 (cgroup /armlet-test-$$-q cpu.cfs_quota_us)"
  assert_contains "$err" "GOMAXPROCS=1 (floor)"
  capture in_cgroups "$cg" "$INIT" --cpu ceil -- sh -c 'echo $GOMAXPROCS'
  assert_eq 2 "$out" "ceil:"
  # outside the cgroup: no quota, every CPU
  capture "$INIT" --cpu floor -- sh -c 'echo $GOMAXPROCS'
  assert_eq "$NCPU" "$out" "no quota:"
}

test_v1_parent_tighter_than_leaf_wins() {
  INIT=$NATIVE_INIT
  need_v1 $CPU_V1
  [ "$NCPU" -ge 2 ] || skip "needs 2 CPUs"
  # A pod-level limit with an unlimited container below it: reading only the leaf (as
  # Go 1.25 and automaxprocs do) would say "no limit".
  local p=$CPU_V1/armlet-test-$$-p
  cg_make "$p" "$p/leaf"
  echo 100000 >"$p/cpu.cfs_quota_us"; echo -1 >"$p/leaf/cpu.cfs_quota_us"
  capture in_cgroups "$p/leaf" "$INIT" --verbose --cpu ceil -- sh -c 'echo $GOMAXPROCS'
  assert_eq 1 "$out" "leaf unlimited, parent 1 CPU:"
  assert_contains "$err" "(cgroup /armlet-test-$$-p cpu.cfs_quota_us)"
  # v1 refuses a leaf quota above its parent's, so the other way round: leaf 0.5 under
  # parent 1.0 — the leaf is the tightest now.
  echo 50000 >"$p/leaf/cpu.cfs_quota_us"
  capture in_cgroups "$p/leaf" "$INIT" --verbose --cpu ceil -- sh -c 'echo $GOMAXPROCS'
  assert_eq 1 "$out"
  assert_contains "$err" "quota 0.5 (cgroup /armlet-test-$$-p/leaf cpu.cfs_quota_us)"
}

test_v1_cpuset_narrower_than_quota_wins() {
  INIT=$NATIVE_INIT
  need_v1 $CPU_V1; need_v1 $CPUSET_V1
  [ "$NCPU" -ge 2 ] || skip "needs 2 CPUs"
  local c=$CPU_V1/armlet-test-$$-c s=$CPUSET_V1/armlet-test-$$-s
  cg_make "$c" "$s"
  echo 150000 >"$c/cpu.cfs_quota_us"
  cat "$CPUSET_V1/cpuset.mems" >"$s/cpuset.mems"; echo 1 >"$s/cpuset.cpus"
  capture in_cgroups "$c $s" "$INIT" --verbose --cpu ceil -- sh -c 'echo $GOMAXPROCS'
  assert_eq 1 "$out" "cpuset {1} under quota 1.5 ceil:"
  assert_contains "$err" "cpuset 1, quota 1.5"
}

test_v1_cgroup_namespace_sees_its_own_cgroup_as_root() {
  INIT=$NATIVE_INIT
  need_v1 $CPU_V1
  [ "$NCPU" -ge 2 ] || skip "needs 2 CPUs"
  local c=$CPU_V1/armlet-test-$$-ns
  cg_make "$c"
  echo 150000 >"$c/cpu.cfs_quota_us"
  # As a container with a private cgroup namespace: /proc/self/cgroup says "/" and the
  # hierarchy is mounted afresh, its root "/" being the container's cgroup.
  capture in_cgroups "$c" unshare -C -m sh -c 'umount '$CPU_V1' && mount -t cgroup -o cpu cgroup '$CPU_V1' &&
    grep -q "^[0-9]*:cpu:/$" /proc/self/cgroup && exec "$@"' sh "$INIT" --verbose --cpu floor -- sh -c 'echo $GOMAXPROCS'
  assert_eq 0 "$rc" "$err"
  assert_eq 1 "$out"
  assert_contains "$err" "quota 1.5 (cgroup / cpu.cfs_quota_us)"
}

test_users_gomaxprocs_and_cpu_env_are_never_overridden() {
  INIT=$NATIVE_INIT
  need_v1 $CPU_V1
  local c=$CPU_V1/armlet-test-$$-u
  cg_make "$c"
  echo 100000 >"$c/cpu.cfs_quota_us"
  capture in_cgroups "$c" env GOMAXPROCS=7 UV_THREADPOOL_SIZE=9 "$INIT" --verbose --cpu floor \
    --cpu-env UV_THREADPOOL_SIZE --cpu-env NPROC -- sh -c 'echo $GOMAXPROCS $UV_THREADPOOL_SIZE $NPROC'
  assert_eq "7 9 1" "$out"
  assert_contains "$err" "GOMAXPROCS is set already"
}

test_v1_memory_limit_on_the_path_gives_gomemlimit() {
  INIT=$NATIVE_INIT
  need_v1 $MEM_V1
  local here; here=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
  local m=$MEM_V1${here%/}/armlet-test-$$-m
  cg_make "$m" "$m/leaf"
  echo 536870912 >"$m/memory.limit_in_bytes"
  capture in_cgroups "$m/leaf" "$INIT" --verbose --memory 0.9 -- sh -c 'echo ${GOMEMLIMIT-unset}'
  assert_eq 0 "$rc" "$err"
  assert_eq 483183820 "$out" "floor(0.9 x 512 MiB) from the parent:"
  assert_contains "$err" "memory: limit 536870912 (cgroup ${here%/}/armlet-test-$$-m memory.limit_in_bytes) x 0.9"
  capture in_cgroups "$m/leaf" env GOMEMLIMIT=1GiB "$INIT" --memory 0.9 -- sh -c 'echo $GOMEMLIMIT'
  assert_eq 1GiB "$out" "user's GOMEMLIMIT:"
  capture in_cgroups "$m/leaf" "$INIT" --memory off -- sh -c 'echo ${GOMEMLIMIT-unset}'
  assert_eq unset "$out" "--memory off:"
  # no limit anywhere on the path (this host's own cgroups are unlimited): nothing exported
  capture "$INIT" --memory 0.9 -- sh -c 'echo ${GOMEMLIMIT-unset}'
  if [ "$(cat "$MEM_V1${here%/}/memory.limit_in_bytes")" -gt 4611686018427387904 ]; then
    assert_eq unset "$out" "unlimited:"
  fi
}

test_v2_real_cgroup2_mount_without_cpu_controller_means_no_limit() {
  INIT=$NATIVE_INIT
  # The real thing: a cgroup2 hierarchy mounted over /sys/fs/cgroup in a private mount
  # namespace. This host binds cpu/memory to v1, so it offers no cpu.max: no limit.
  unshare -m sh -c 'mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup' 2>/dev/null ||
    skip "cannot mount cgroup2 in a private mount namespace here"
  capture unshare -m sh -c 'mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup &&
    exec "$@"' sh "$INIT" --verbose --cpu floor --memory 0.5 -- sh -c 'echo $GOMAXPROCS ${GOMEMLIMIT-unset}'
  assert_eq 0 "$rc" "$err"
  assert_eq "$NCPU unset" "$out"
  assert_contains "$err" "quota none"
}

test_v2_nested_cpu_max_and_memory_max_tightest_wins() {
  INIT=$NATIVE_INIT
  [ "$NCPU" -ge 2 ] || skip "needs 2 CPUs"
  local tree='mkdir -p pod/ctr && echo "max 100000" > pod/ctr/cpu.max && echo max > pod/ctr/memory.max &&
    echo "150000 100000" > pod/cpu.max && echo 268435456 > pod/memory.max &&
    echo "400000 100000" > cpu.max && echo 1073741824 > memory.max'
  capture run_v2 "$tree" /pod/ctr "$INIT" --verbose --cpu floor --memory 0.5 -- sh -c 'echo $GOMAXPROCS $GOMEMLIMIT'
  assert_eq 0 "$rc" "$err"
  assert_eq "1 134217728" "$out"
  assert_contains "$err" "quota 1.5 (cgroup /pod cpu.max)"
  assert_contains "$err" "memory: limit 268435456 (cgroup /pod memory.max)"
  capture run_v2 "$tree" /pod/ctr "$INIT" --cpu ceil -- sh -c 'echo $GOMAXPROCS'
  assert_eq 2 "$out" "ceil:"
  # in a cgroup namespace the container's cgroup is "/": only its own files count
  capture run_v2 'echo "50000 100000" > cpu.max && echo 100000000 > memory.max' / \
    "$INIT" --cpu ceil --memory 1 -- sh -c 'echo $GOMAXPROCS $GOMEMLIMIT'
  assert_eq "1 100000000" "$out" "namespace root:"
}

# A Go program from Debian's golang-go (1.19: no cgroup awareness of its own), built for
# the platform under test (GOARCH/GOARM), static.
go_prog() {
  command -v go >/dev/null || skip "golang-go is not installed"
  local goarch goarm=""
  case $PLATFORM in
    linux-amd64) goarch=amd64;; linux-arm64) goarch=arm64;;
    linux-arm-v7) goarch=arm goarm=7;; linux-arm-v6) goarch=arm goarm=6;;
  esac
  GO_PROG=$OUT/test-helpers/gomaxprocs-$PLATFORM
  if [ ! -x "$GO_PROG" ]; then
    local d; d=$(tmpdir)
    mkdir -p "$(dirname "$GO_PROG")"
    printf 'package main\nimport ("fmt"; "runtime")\nfunc main() { fmt.Println(runtime.GOMAXPROCS(0)) }\n' >"$d/main.go"
    (cd "$d" && GOPATH=$d/gopath CGO_ENABLED=0 GO111MODULE=off \
      GOOS=linux GOARCH=$goarch GOARM=$goarm go build -trimpath -o "$GO_PROG" main.go) || fail "go build failed"
  fi
}

platforms_test_go_program_runtime_gomaxprocs_equals_the_cgroup_limit() { :; }
test_go_program_runtime_gomaxprocs_equals_the_cgroup_limit() {
  need_v1 $CPU_V1
  [ "$NCPU" -ge 2 ] || skip "needs 2 CPUs"
  go_prog
  local c=$CPU_V1/armlet-test-$$-go
  cg_make "$c"
  echo 100000 >"$c/cpu.cfs_quota_us"
  capture in_cgroups "$c" "$GO_PROG"
  assert_eq "$NCPU" "$out" "Go alone ignores the quota:"
  capture in_cgroups "$c" "$INIT" --cpu floor -- "$GO_PROG"
  assert_eq 1 "$out" "Go under armlet-init:"
}

run_tests
