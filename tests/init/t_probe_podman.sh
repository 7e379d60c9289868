#!/usr/bin/env bash
# tests/init/t_probe_podman.sh — a recipe's `health` line in a real container engine:
# podman loads the image (armlet build --docker-archive), runs it, and `podman
# healthcheck run` execs /sbin/armlet-init probe inside it. The server is Debian's
# busybox httpd; the health file is removed and restored inside the running container,
# so one container goes healthy -> unhealthy (404) -> healthy, then (amd64) unhealthy when the
# server is gone. amd64 natively, arm64 under qemu binfmt.
# No step races a clock: the health timeout is 30 s, which only a stopped server reaches
# (the probe of a busy or emulated machine answers well within it), and the loops below
# wait for a state, at most 30 s.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/armlet-hc.XXXXXX")
P=(podman --root "$WORK/root" --runroot "$WORK/run" --storage-driver vfs)
trap '"${P[@]}" rm -a -f >/dev/null 2>&1; "${P[@]}" rmi -a -f >/dev/null 2>&1; rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=1700000000

# Build, load and start platform $1's image as container hc-$2. Prints nothing.
start_container() {
  local plat=$1 name=$2 ref
  busybox_dist
  cp "$TOP/recipes/busybox-httpd/index.html" "$WORK/healthz"
  cat >"$WORK/hc.recipe" <<R
name        hc
platforms   linux/amd64 linux/arm64
base        static
file        /bin/busybox  $TOP/recipes/dist/busybox-\${arch}  mode=0755
dir         /www owner=65532:65532
file        /www/healthz  healthz  owner=65532:65532
user        nonroot
entrypoint  ["/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"]
health      http://127.0.0.1:8080/healthz interval=30s timeout=30s retries=1
init        seccomp=unconfined
R
  # --no-profile: the health URL would make the build record a preload list (3 runs)
  capture "$ARMLET" build "$WORK/hc.recipe" --platform "$plat" --docker-archive "$WORK/$name.tar" --tag "$name" --no-profile
  [ "$rc" = 0 ] || fail "armlet build: $err"
  capture "${P[@]}" load -i "$WORK/$name.tar"
  [ "$rc" = 0 ] || fail "podman load: $out $err"
  ref=$(printf '%s\n' "$out" | sed -n 's/^Loaded image[^:]*: *//p' | head -1 | cut -d, -f1)
  capture "${P[@]}" image inspect "$ref" --format '{{json .Config.Healthcheck.Test}}'
  # The probe's own deadline is 9/10 of the engine's 30s, so its reason reaches the log.
  assert_eq '["CMD","/sbin/armlet-init","probe","http://127.0.0.1:8080/healthz","--timeout","27000ms"]' \
    "$out" "image Healthcheck:"
  # Own network namespace (loopback only): the probe's 127.0.0.1:8080 is the container's.
  capture timeout 120 "${P[@]}" run -d --runtime runc --ulimit nofile=1024:1024 \
    --ulimit nproc=1024:1024 --network none --name "hc-$name" "$ref"
  [ "$rc" = 0 ] || fail "podman run: $err"
}

# health_until NAME WANT-RC: podman healthcheck run until it exits WANT-RC (30 s).
health_until() {
  local i
  for i in $(seq 1 60); do
    capture "${P[@]}" healthcheck run "hc-$1"
    [ "$rc" = "$2" ] && return 0
    sleep 0.5
  done
  fail "podman healthcheck run hc-$1: wanted exit $2, last $rc: $out $err"
}

check_transitions() {
  local name=$1
  health_until "$name" 0
  assert_eq healthy "$("${P[@]}" inspect "hc-$name" --format '{{.State.Health.Status}}')"
  # The health file goes away: the server answers 404, the probe says so.
  "${P[@]}" exec "hc-$name" /bin/busybox rm /www/healthz || fail "podman exec rm"
  health_until "$name" 1
  assert_contains "$out" "unhealthy"
  assert_contains "$("${P[@]}" inspect "hc-$name" --format '{{json .State.Health.Log}}')" \
    "armlet-init: probe: http://127.0.0.1:8080/healthz: 404 Not Found"
  "${P[@]}" exec "hc-$name" /bin/busybox touch /www/healthz || fail "podman exec touch"
  health_until "$name" 0
  [ "${2:-}" = hang ] || return 0
  # The server hangs (SIGSTOP to the httpd under the init): connections queue up
  # unanswered until the health check's timeout (the one step that waits for it: 27 s).
  # Once, natively: the probe's deadline is the same code on every platform, and the
  # arm64 container's transitions above already show the probe under qemu in the engine.
  "${P[@]}" exec "hc-$name" /bin/busybox killall -STOP busybox || fail "podman exec killall -STOP busybox"
  capture "${P[@]}" healthcheck run "hc-$name"
  assert_eq 1 "$rc" "healthcheck of a hung server: $out $err"
  assert_contains "$("${P[@]}" inspect "hc-$name" --format '{{json .State.Health.Log}}')" \
    "armlet-init: probe: http://127.0.0.1:8080/healthz: timed out after 27000ms"
  "${P[@]}" exec "hc-$name" /bin/busybox killall -CONT busybox || true
}

test_podman_healthcheck_follows_the_server_amd64() {
  start_container linux/amd64 amd64
  check_transitions amd64 hang
}

test_podman_healthcheck_follows_the_server_arm64_under_qemu() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  start_container linux/arm64 arm64
  check_transitions arm64
}

run_tests
