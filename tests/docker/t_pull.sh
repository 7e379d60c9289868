#!/usr/bin/env bash
# tests/docker/t_pull.sh — `armlet push` of the four-platform index to a real
# docker-registry, then `docker pull` by the real engine (a private dockerd,
# tests/docker/lib_docker.sh) from an empty image store: without --platform (the
# engine's own, amd64) and with --platform for each of the four; each pulled image runs
# (arm64, arm/v7 and arm/v6 through qemu binfmt) and answers as its own architecture.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"
source "$TOP/tests/docker/lib_docker.sh"
docker_init
export SOURCE_DATE_EPOCH=1700000000

# Push the hello index once per file: prints the registry reference and, in PUSHED, the
# index digest armlet reported.
push_hello() {
  local oci ref=$REG_HOST/armlet/hello:4p
  oci=$(hello_oci)
  if [ ! -f "$DOCKER_DIR/pushed" ]; then
    capture "$ARMLET" push "$oci:hello" "$ref"
    [ "$rc" = 0 ] || fail "armlet push exited $rc: $err"
    [[ "$out" =~ ^pushed\ $ref@(sha256:[0-9a-f]{64})$ ]] || fail "armlet push printed: $out"
    echo "${BASH_REMATCH[1]}" >"$DOCKER_DIR/pushed"
  fi
  PUSHED=$(cat "$DOCKER_DIR/pushed")
}

# pull_and_run NAME PLATFORM-FLAG...: docker pull into an emptied store, check what was
# pulled (the index digest, the architecture the flag asks for) and that it answers.
# $1: linux/... platform expected; the rest: extra `docker pull` arguments.
pull_and_run() {
  local plat=$1 arch ref port body name; shift
  arch=$(plat_arch "$plat"); ref=$REG_HOST/armlet/hello:4p
  case $plat in linux/amd64) ;; linux/arm64) binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)";;
    *) binfmt_ready qemu-arm || skip "qemu-arm binfmt is not enabled (bash ci/install-deps)";; esac
  dk_empty_store
  capture dk pull "$@" "$ref"
  [ "$rc" = 0 ] || fail "docker pull $* $ref exited $rc: $err"
  assert_contains "$out" "Digest: $PUSHED" "docker pull $*:"
  # One inspect: the digest it was pulled by (the pushed index) and the architecture.
  assert_eq "${ref%:4p}@$PUSHED $arch" "$(dk image inspect -f '{{index .RepoDigests 0}} {{.Architecture}}{{.Variant}}' "$ref")" \
    "docker pull $*: RepoDigests, architecture:"
  port=$(free_port); name=pull-${arch}
  dk_run_bg "$name" --network host $(qemu_cpu_env "$plat") "$ref" --listen "127.0.0.1:$port"
  body=$(wait_http "http://127.0.0.1:$port/" 60) || fail "no answer; logs: $(dk logs "$name" 2>&1)"
  [[ "$body" =~ ^"hello from $arch pid="[0-9]+" uid=65532"$ ]] || fail "$plat GET / answered: $body"
  dk_stop_ok "$name"
}

test_docker_pull_without_platform_takes_the_engines_own_amd64_image() {
  docker_need; registry_need; push_hello
  [ "$(dk info -f '{{.Architecture}}')" = x86_64 ] || skip "the engine is not amd64"
  pull_and_run linux/amd64
}

platforms_test_docker_pull_platform_takes_that_platforms_image_which_runs() { :; }
test_docker_pull_platform_takes_that_platforms_image_which_runs() {
  docker_need; registry_need; push_hello
  local plat; plat=$(oci_plat "$PLATFORM")
  pull_and_run "$plat" --platform "$plat"
}

run_tests
