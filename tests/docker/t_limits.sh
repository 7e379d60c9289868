#!/usr/bin/env bash
# tests/docker/t_limits.sh — the limits and security options users pass to `docker run`,
# as the Go server inside sees them, with the real engine (a private dockerd,
# tests/docker/lib_docker.sh) and its runc. The values are read from the host: the
# server's /proc/<pid>/environ (GOMAXPROCS, GOMEMLIMIT, as armlet-init exported them),
# /proc/<pid>/limits and /proc/<pid>/status, and the server's own startup line.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"
source "$TOP/tests/docker/lib_docker.sh"
docker_init
export SOURCE_DATE_EPOCH=1700000000

# hello_image PLATFORM (linux/...): the hello image of that platform, loaded from armlet's
# docker archive once per file; prints its name.
hello_image() {
  local plat=$1 tag; tag=${1//\//-}
  if [ ! -f "$DOCKER_DIR/loaded-$tag" ]; then
    ls "$TOP"/recipes/dist/hello-{amd64,arm64,armv7,armv6} >/dev/null 2>&1 \
      || bash "$TOP/recipes/hello/build.sh" >/dev/null || fail "recipes/hello/build.sh failed"
    capture "$ARMLET" build "$TOP/recipes/hello.recipe" --platform "$plat" --oci "$DOCKER_DIR/oci-$tag" \
      --tag "$tag" --docker-archive "$DOCKER_DIR/$tag.tar"
    [ "$rc" = 0 ] || fail "armlet build --docker-archive exited $rc: $err"
    capture dk load -i "$DOCKER_DIR/$tag.tar"
    [ "$rc" = 0 ] || fail "docker load exited $rc: $err"
    touch "$DOCKER_DIR/loaded-$tag"
  fi
  echo "hello:$tag"
}

# seen PID: one line "GOMAXPROCS=… GOMEMLIMIT=… nofile=SOFT:HARD filters=N" for the
# process: the two variables from its environment ("-" when absent), its open-file
# limits, and how many seccomp filters it runs under.
seen() {
  local env
  env=$(tr '\0' '\n' <"/proc/$1/environ")
  printf 'GOMAXPROCS=%s GOMEMLIMIT=%s nofile=%s filters=%s\n' \
    "$(sed -n 's/^GOMAXPROCS=//p' <<<"$env" | grep . || echo -)" \
    "$(sed -n 's/^GOMEMLIMIT=//p' <<<"$env" | grep . || echo -)" \
    "$(awk '/^Max open files/ {print $4 ":" $5}' "/proc/$1/limits")" \
    "$(awk '/^Seccomp_filters:/ {print $2}' "/proc/$1/status")"
}

# limits_under SECCOMP-OPT...: each case's container started at once (they run side by
# side), then each checked. Docker's default profile is one seccomp filter and the
# recipe's (armlet-init --seccomp) a second; seccomp=unconfined leaves the init's alone.
limits_under() {
  local filters=$1 n=0 cpus; shift
  local img; img=$(hello_image linux/amd64)
  cpus=$(dk info -f '{{.NCPU}}')
  # name | docker run options | what the server must see | its startup line's GOMAXPROCS
  local cases=(
    "none||GOMAXPROCS=$cpus GOMEMLIMIT=- nofile=%H:%H|$cpus"
    "cpus15|--cpus 1.5|GOMAXPROCS=1 GOMEMLIMIT=- nofile=%H:%H|1"
    "cpus05|--cpus 0.5|GOMAXPROCS=1 GOMEMLIMIT=- nofile=%H:%H|1"
    "cpuset0|--cpuset-cpus 0|GOMAXPROCS=1 GOMEMLIMIT=- nofile=%H:%H|1"
    "mem256|--memory 256m|GOMAXPROCS=$cpus GOMEMLIMIT=241591910 nofile=%H:%H|$cpus"
    "nofile|--ulimit nofile=4096:8192|GOMAXPROCS=$cpus GOMEMLIMIT=- nofile=8192:8192|$cpus"
  )
  [ "$cpus" -ge 2 ] || cases=("${cases[@]:0:1}" "${cases[@]:2}")   # --cpus 1.5 needs 2 CPUs
  local c name opts want procs pid hard
  # The engine's default open-file limit (its own hard limit): what nofile=max raises to.
  hard=$(awk '/^Max open files/ {print $5}' "/proc/$(cat "$DOCKER_DIR/dockerd.pid")/limits")
  for c in "${cases[@]}"; do
    IFS='|' read -r name opts want procs <<<"$c"
    dk_run_bg "$filters-$name" --network none "$@" $opts "$img"
  done
  for c in "${cases[@]}"; do
    IFS='|' read -r name opts want procs <<<"$c"
    dk_wait_log "$filters-$name" "GOMAXPROCS $procs)"
    pid=$(dk_app_pid "$filters-$name")
    assert_eq "${want//%H/$hard} filters=$filters" "$(seen "$pid")" "docker run ${opts:-(no option)} $*:"
    n=$((n + 1))
  done
  dk rm -f $(dk ps -aq) >/dev/null
  [ "$n" -ge 5 ] || fail "only $n cases ran"
}

test_cpu_memory_nofile_limits_reach_the_server_under_dockers_default_seccomp() {
  docker_need
  limits_under 2
}

test_cpu_memory_nofile_limits_reach_the_server_with_seccomp_unconfined() {
  docker_need
  limits_under 1 --security-opt seccomp=unconfined
}

# The same three limits at once on each platform (ARM through qemu binfmt, where the
# init reads the same cgroup files; qemu-user cannot install the recipe's filter, and the
# init says so and runs the server without it).
platforms_test_limits_reach_the_server_on_each_platform() { :; }
test_limits_reach_the_server_on_each_platform() {
  docker_need
  local plat img name pid
  plat=$(oci_plat "$PLATFORM")
  case $plat in linux/amd64) ;; linux/arm64) binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)";;
    *) binfmt_ready qemu-arm || skip "qemu-arm binfmt is not enabled (bash ci/install-deps)";; esac
  img=$(hello_image "$plat"); name=all-$PLATFORM
  dk_run_bg "$name" --network none --cpus 0.5 --memory 256m --ulimit nofile=4096:8192 \
    $(qemu_cpu_env "$plat") "$img"
  dk_wait_log "$name" "GOMAXPROCS 1)"
  pid=$(dk_app_pid "$name")
  assert_contains "$(seen "$pid")" "GOMAXPROCS=1 GOMEMLIMIT=241591910 nofile=8192:8192 " "$plat:"
  dk_stop_ok "$name"
}

# start_hello NAME OPTIONS...: the amd64 server on the host's loopback (--network host,
# a free port); sets PORT and BODY (its answer to GET /).
start_hello() {
  local name=$1; shift
  PORT=$(free_port)
  dk_run_bg "$name" --network host "$@" "$(hello_image linux/amd64)" --listen "127.0.0.1:$PORT"
  BODY=$(wait_http "http://127.0.0.1:$PORT/" 60) || fail "$name: no answer; logs: $(dk logs "$name" 2>&1)"
}

# /proc/<pid>/status field $2 of process $1.
status_of() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

test_read_only_root_the_server_runs_and_its_root_is_read_only() {
  docker_need
  start_hello ro --read-only
  [[ "$BODY" =~ ^"hello from amd64 pid="[0-9]+" uid=65532"$ ]] || fail "GET / answered: $BODY"
  # mountinfo field 5 is the mount point, 6 its options.
  assert_contains "$(awk '$5 == "/" {print $6}' "/proc/$(dk_app_pid ro)/mountinfo")" "ro" "the server's / mount:"
  dk_stop_ok ro
}

test_cap_drop_all_the_server_runs_without_any_capability() {
  docker_need
  start_hello nocap --cap-drop ALL
  [[ "$BODY" =~ ^"hello from amd64 pid="[0-9]+" uid=65532"$ ]] || fail "GET / answered: $BODY"
  assert_eq 0000000000000000 "$(status_of "$(dk_app_pid nocap)" CapBnd)" "the server's bounding set:"
  assert_eq 0000000000000000 "$(status_of "$(dk inspect -f '{{.State.Pid}}' nocap)" CapBnd)" "PID 1's bounding set:"
  dk_stop_ok nocap
}

test_no_new_privileges_sets_it_on_the_init_and_the_server_runs() {
  docker_need
  # Without the option, PID 1 has no_new_privs off (the init sets it in the child only,
  # for its filter); with it, Docker sets it before the init starts.
  start_hello nnp --security-opt no-new-privileges
  [[ "$BODY" =~ ^"hello from amd64 pid="[0-9]+" uid=65532"$ ]] || fail "GET / answered: $BODY"
  assert_eq 1 "$(status_of "$(dk inspect -f '{{.State.Pid}}' nnp)" NoNewPrivs)" "PID 1's NoNewPrivs:"
  assert_eq 2 "$(status_of "$(dk_app_pid nnp)" Seccomp)" "the server's seccomp mode:"
  dk_stop_ok nnp
  start_hello nnp-off
  assert_eq 0 "$(status_of "$(dk inspect -f '{{.State.Pid}}' nnp-off)" NoNewPrivs)" "PID 1's NoNewPrivs without the option:"
  dk_stop_ok nnp-off
}

test_user_1234_runs_the_init_and_the_server_as_1234() {
  docker_need
  start_hello u1234 --user 1234:1234
  [[ "$BODY" =~ ^"hello from amd64 pid="[0-9]+" uid=1234"$ ]] || fail "GET / answered: $BODY"
  assert_eq "1234 1234" "$(status_of "$(dk inspect -f '{{.State.Pid}}' u1234)" Uid) $(status_of "$(dk_app_pid u1234)" Gid)" "PID 1's uid, the server's gid:"
  dk_stop_ok u1234
}

test_docker_init_in_front_of_armlet_init_forwards_the_stop() {
  docker_need
  local init
  start_hello dinit --init
  [[ "$BODY" =~ ^"hello from amd64 pid="[0-9]+" uid=65532"$ ]] || fail "GET / answered: $BODY"
  # PID 1 is Docker's init (tini), armlet-init its child and the server's parent.
  init=$(curl -fsS --max-time 5 "http://127.0.0.1:$PORT/init") || fail "GET /init failed"
  [[ "$init" =~ ^ppid=([0-9]+)" pid1=/sbin/docker-init -- /sbin/armlet-init "(.*)$ ]] || fail "GET /init answered: $init"
  assert_ne 1 "${BASH_REMATCH[1]}" "the server's parent:"
  dk_stop_ok dinit
  assert_contains "$(dk logs dinit 2>&1)" "hello: terminated, exiting"
}

test_all_the_security_options_together_the_server_runs_and_stops_with_0() {
  docker_need
  start_hello all --read-only --cap-drop ALL --security-opt no-new-privileges --user 1234:1234 --init
  [[ "$BODY" =~ ^"hello from amd64 pid="[0-9]+" uid=1234"$ ]] || fail "GET / answered: $BODY"
  dk_stop_ok all
}

run_tests
