#!/usr/bin/env bash
# tests/docker/t_run.sh — `armlet build --docker-archive` → `docker load` → `docker run`
# with the real engine (a private dockerd, tests/docker/lib_docker.sh), on each of the
# four platforms: amd64 natively, arm64 / arm/v7 / arm/v6 through qemu binfmt.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"
source "$TOP/tests/docker/lib_docker.sh"
docker_init
export SOURCE_DATE_EPOCH=1700000000

# What a user does with a docker archive: load it, run it, talk to it, stop it. The
# server listens on the host's loopback (--network host, a free port); GET / says its
# architecture, PID and uid, GET /init shows PID 1's command line.
platforms_test_docker_load_and_run_answers_under_armlet_init_as_65532_and_stops_with_0() { :; }
test_docker_load_and_run_answers_under_armlet_init_as_65532_and_stops_with_0() {
  docker_need
  local plat arch ref port body init top name
  plat=$(oci_plat "$PLATFORM"); arch=$(plat_arch "$plat")
  case $plat in linux/amd64) ;; linux/arm64) binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)";;
    *) binfmt_ready qemu-arm || skip "qemu-arm binfmt is not enabled (bash ci/install-deps)";; esac
  hello_oci >/dev/null   # the Go binaries
  d=$(tmpdir); trap 'rm -rf "$d"' EXIT   # (d: global, the trap runs after the return)
  capture "$ARMLET" build "$TOP/recipes/hello.recipe" --platform "$plat" --oci "$d/oci" \
    --tag "$PLATFORM" --docker-archive "$d/hello.tar"
  [ "$rc" = 0 ] || fail "armlet build --docker-archive exited $rc: $err"
  capture dk load -i "$d/hello.tar"
  [ "$rc" = 0 ] || fail "docker load exited $rc: $err"
  ref=hello:$PLATFORM
  assert_eq "Loaded image: $ref" "$out"
  assert_eq "$arch 65532:65532" "$(dk image inspect -f '{{.Architecture}}{{.Variant}} {{.Config.User}}' "$ref")" \
    "docker image inspect: architecture, User:"

  port=$(free_port); name=run-$PLATFORM
  dk_run_bg "$name" --network host $(qemu_cpu_env "$plat") "$ref" --listen "127.0.0.1:$port"
  body=$(wait_http "http://127.0.0.1:$port/" 60) || fail "no answer; logs: $(dk logs "$name" 2>&1)"
  [[ "$body" =~ ^"hello from $arch pid="([0-9]+)" uid=65532"$ ]] || fail "GET / answered: $body"
  assert_ne 1 "${BASH_REMATCH[1]}" "the server's PID:"
  # PID 1 is the init with the recipe's flags (under qemu binfmt its command line starts
  # with qemu's path), and the server's parent.
  init=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/init") || fail "GET /init failed"
  assert_contains "$init" "ppid=1 pid1="
  assert_contains "$init" "/sbin/armlet-init --cpu=floor --memory=0.9 --nofile=max --seccomp=/etc/armlet/seccomp.bpf --preload=/etc/armlet/preload --grace=10s -- /app --listen 127.0.0.1:$port"
  # docker top (the engine's view, ps on the host): both processes run as 65532.
  top=$(dk top "$name" -o pid,user,args)
  assert_eq 2 "$(awk 'NR > 1 && $2 == 65532' <<<"$top" | wc -l)" "processes running as 65532 in: $top"
  dk_stop_ok "$name"
  assert_contains "$(dk logs "$name" 2>&1)" "hello: terminated, exiting"
  dk rm "$name" >/dev/null
}

# `make demo-docker` (ci/demo --docker), against this file's engine through DOCKER_HOST,
# into a temp OUT: the amd64 and arm64 servers answer, stop with 0, and nothing is left.
test_the_docker_demo_answers_from_amd64_and_arm64_and_leaves_no_container() {
  docker_need
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  d=$(tmpdir); trap 'rm -rf "$d"' EXIT
  capture env OUT="$d" ARMLET="$ARMLET" DOCKER_HOST="unix://$DK_SOCK" \
    DEMO_PLATFORMS="linux/amd64 linux/arm64" bash "$TOP/ci/demo" --docker
  [ "$rc" = 0 ] || fail "ci/demo --docker exited $rc: $(tail -5 <<<"$out") $err"
  [[ "$out" =~ "hello from amd64 pid="[0-9]+" uid=65532" ]] || fail "no amd64 answer in: $out"
  [[ "$out" =~ "hello from arm64 pid="[0-9]+" uid=65532" ]] || fail "no arm64 answer in: $out"
  assert_eq 2 "$(grep -c '^exit status: 0$' <<<"$out")" "exit statuses after docker stop in: $out"
  assert_eq "" "$(dk ps -aq --filter name=demo-hello-)" "containers left:"
}

run_tests
