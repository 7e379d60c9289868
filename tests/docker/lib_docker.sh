# shellcheck shell=bash
# tests/docker/lib_docker.sh — the real Docker engine for tests/docker/t_*.sh: one private
# dockerd and one docker-registry per test file, started by the first test that needs
# them and stopped when the file exits. Source after tests/lib.sh, then call docker_init
# at file level (it sets the EXIT trap).
#
# Lifecycle. Each test function runs in its own subshell, so nothing a test starts may
# live in shell variables only: everything is under $DOCKER_DIR (made by docker_init),
# whose paths are fixed — the socket, dockerd's pidfile, the registry's host:port and
# PID. The first docker_need starts dockerd there; later tests find it answering. At
# exit, docker_teardown removes every container, stops dockerd (and the containerd it
# runs) by PID, stops the registry by PID, unmounts what dockerd left under $DOCKER_DIR
# and removes it.
#
#   docker_init               file level: make $DOCKER_DIR, trap docker_teardown EXIT
#   docker_need               in a test: dockerd answering, or skip saying why it could
#                             not start (once: a failed start is not retried)
#   dk ARGS...                /usr/bin/docker against the private engine (the engine's
#                             own 20.10 client: a newer one on PATH may lack buildx)
#   dk_build ARGS...          DOCKER_BUILDKIT=1 docker build --network host ARGS (one
#                             platform per build: no buildx here)
#   registry_need             a docker-registry on 127.0.0.1: sets REG_HOST (host:port)
#   dk_empty_store            remove every container and image: `docker images` is empty
#   dk_run_bg NAME ARGS...    docker run -d --name NAME ARGS; prints nothing, fails with
#                             the engine's message
#   dk_app_pid NAME [ARGV0]   host PID of the container's process whose argv[0] is ARGV0
#                             (default /app; under qemu binfmt the program after qemu's
#                             path), once it has exec'd (bounded poll, 30 s)
#   dk_wait_healthy NAME [S]  until .State.Health.Status is healthy (S seconds, default
#                             60); fails at once on unhealthy or when the container exits,
#                             with the health log
#   dk_wait_log NAME TEXT [S] until the container's output contains TEXT
#   dk_stop_ok NAME [CODE]    docker stop with the default 10 s grace: exit status CODE
#                             (default 0: the server exits 0 on SIGTERM; 143 for one that
#                             dies of it) and gone in less than 5 s (a kill after the
#                             grace would show 137)
#   hello_oci                 recipes/hello.recipe built once per file, four platforms,
#                             as $DOCKER_DIR/oci:hello (the Go binaries first if missing)
#   oci_plat P / plat_arch P  linux-arm-v7 -> linux/arm/v7; linux/arm/v7 -> armv7 (the
#                             hello server's and recipes/dist's name for it)
#   qemu_cpu_env P            -e QEMU_CPU=arm1176 for linux/arm/v6 (qemu takes it from
#                             the container's environment: an ARM1176, as a Pi Zero)
DOCKER_BIN=/usr/bin/docker
_dk_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$_dk_here/../push/lib_registry.sh"

# Under $OUT rather than /tmp: a tmpfs someone mounts over /tmp while the tests run (seen
# on the shared test machine) would hide the folder, and with it the PIDs the teardown
# needs. /tmp only when $OUT is too deep for a unix socket path (108 bytes).
docker_init() {
  local base
  mkdir -p "$OUT"; base=$(cd "$OUT" && pwd)/docker-tests
  [ ${#base} -le 60 ] || base=${TMPDIR:-/tmp}
  mkdir -p "$base"
  DOCKER_DIR=$(mktemp -d "$base/run.XXXXXX")
  DK_SOCK=$DOCKER_DIR/docker.sock
  trap docker_teardown EXIT
}

dk() { "$DOCKER_BIN" -H "unix://$DK_SOCK" "$@"; }
dk_build() { DOCKER_BUILDKIT=1 "$DOCKER_BIN" -H "unix://$DK_SOCK" build --network host "$@"; }

# Start dockerd under $DOCKER_DIR; on failure print why and return 1.
_docker_start() {
  local d=$DOCKER_DIR pid i
  command -v dockerd >/dev/null || { echo "dockerd is not installed (bash ci/install-deps: docker.io)"; return 1; }
  [ -x "$DOCKER_BIN" ] || { echo "$DOCKER_BIN is not installed (docker.io)"; return 1; }
  mkdir -p "$d/data" "$d/exec"
  # No bridge and no iptables: containers use --network host or none, and the host's
  # firewall is left alone. In the test's process group: a Ctrl-C stops it too.
  dockerd --data-root "$d/data" --exec-root "$d/exec" -H "unix://$DK_SOCK" \
    --pidfile "$d/dockerd.pid" --storage-driver overlay2 --iptables=false --ip6tables=false \
    --bridge=none >"$d/dockerd.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$d/dockerd.pid.start"
  for i in $(seq 1 300); do   # 30 s; it answers in 2-3 s
    dk info >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "dockerd did not answer on $DK_SOCK within 30 s: $(tail -3 "$d/dockerd.log" | tr '\n' ' ')"
  return 1
}

docker_need() {
  [ -n "${DOCKER_DIR:-}" ] || fail "docker_init was not called"
  [ -f "$DOCKER_DIR/skip" ] && skip "$(cat "$DOCKER_DIR/skip")"
  dk info >/dev/null 2>&1 && return 0
  local why
  why=$(_docker_start) && return 0
  echo "$why" >"$DOCKER_DIR/skip"
  skip "$why"
}

registry_need() {
  if [ -f "$DOCKER_DIR/registry.host" ]; then
    REG_HOST=$(cat "$DOCKER_DIR/registry.host"); return 0
  fi
  local prev; prev=$(trap -p EXIT)
  reg_start "$DOCKER_DIR/registry" || fail "docker-registry did not start: $(tail -3 "$DOCKER_DIR/registry/registry.log" 2>/dev/null)"
  # reg_start would stop it when this test's subshell exits (its EXIT trap); the file's
  # teardown does instead: the test's own trap, if any, comes back.
  eval "${prev:-trap - EXIT}"
  echo "$REG_PID" >"$DOCKER_DIR/registry.pid"
  echo "$REG_HOST" >"$DOCKER_DIR/registry.host"
}

dk_empty_store() {
  local ids
  ids=$(dk ps -aq); [ -z "$ids" ] || dk rm -f $ids >/dev/null
  ids=$(dk images -aq); [ -z "$ids" ] || dk rmi -f $ids >/dev/null
  [ -z "$(dk images -aq)" ] || fail "the image store is not empty: $(dk images)"
}

dk_run_bg() {
  local name=$1 _err; shift
  _err=$(dk run -d --name "$name" "$@" 2>&1 >/dev/null) || fail "docker run $*: $_err"
}

dk_app_pid() {
  local name=$1 argv0=${2:-/app} i pid c
  for i in $(seq 1 300); do
    pid=$(dk inspect -f '{{.State.Pid}}' "$name" 2>/dev/null) || pid=
    if [ -n "$pid" ] && [ "$pid" != 0 ]; then
      # The container's processes are PID 1 and its descendants: walk the tree.
      local todo=("$pid")
      while [ ${#todo[@]} -gt 0 ]; do
        c=${todo[0]}; todo=("${todo[@]:1}")
        # Under qemu binfmt (P flag) argv is: interpreter, the program's path, argv[0]...
        tr '\0' '\n' <"/proc/$c/cmdline" 2>/dev/null | awk -v a="$argv0" \
          'NR == 1 && $0 == a {f = 1} NR == 1 && /-binfmt-P$/ {q = 1} NR == 2 && q && $0 == a {f = 1} END {exit !f}' \
          && { echo "$c"; return 0; }
        todo+=($(cat /proc/"$c"/task/*/children 2>/dev/null))
      done
    fi
    sleep 0.1
  done
  fail "$name: no process $argv0 after 30 s: $(dk top "$name" 2>&1 | tail -5)"
}

dk_wait_healthy() {
  local name=$1 secs=${2:-60} end st
  end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$end" ]; do
    st=$(dk inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$name") \
      || fail "docker inspect $name failed"
    case $st in
      "running healthy") return 0 ;;
      *" unhealthy") fail "$name turned unhealthy: $(dk inspect -f '{{json .State.Health.Log}}' "$name")" ;;
      *" none") fail "$name has no healthcheck" ;;
      running*) ;;
      *) fail "$name is $st: $(dk logs "$name" 2>&1 | tail -5)" ;;
    esac
    sleep 0.2
  done
  fail "$name not healthy after ${secs}s: $(dk inspect -f '{{json .State.Health}}' "$name")"
}

dk_wait_log() {
  local name=$1 text=$2 secs=${3:-30} end log
  end=$(( $(date +%s) + secs ))
  # The engine's json-file log, read directly: a docker CLI call per poll costs ~0.5 s
  # of CPU on a busy 2-core machine.
  log=$(dk inspect -f '{{.LogPath}}' "$name") || fail "docker inspect $name failed"
  while [ "$(date +%s)" -lt "$end" ]; do
    grep -qF -- "$text" "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "$name: no '$text' in its output: $(dk logs "$name" 2>&1 | tail -5)"
}

dk_stop_ok() {
  local name=$1 want=${2:-0} t0 ms code
  t0=$(date +%s%N)
  dk stop "$name" >/dev/null || fail "docker stop $name failed"
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  code=$(dk inspect -f '{{.State.ExitCode}}' "$name")
  assert_eq "$want" "$code" "$name: exit status after docker stop (${ms} ms):"
  # Stopped by its TERM, not by the engine's KILL when the 10 s grace ran out (which the
  # exit status shows too, 137); no tighter clock: a busy machine is slow, never wrong.
  [ "$ms" -lt 10000 ] || fail "$name: docker stop took ${ms} ms: the engine's grace (10 s) ran out"
}

hello_oci() {
  if [ ! -f "$DOCKER_DIR/oci/index.json" ]; then
    ls "$TOP"/recipes/dist/hello-{amd64,arm64,armv7,armv6} >/dev/null 2>&1 \
      || bash "$TOP/recipes/hello/build.sh" >/dev/null || fail "recipes/hello/build.sh failed"
    capture "$ARMLET" build "$TOP/recipes/hello.recipe" --oci "$DOCKER_DIR/oci" --tag hello
    [ "$rc" = 0 ] || fail "armlet build recipes/hello.recipe exited $rc: $err"
  fi
  echo "$DOCKER_DIR/oci"
}

oci_plat() { local p=${1//-//}; echo "$p"; }
plat_arch() { case $1 in linux/arm/*) echo "arm${1##*/}" ;; *) echo "${1#linux/}" ;; esac; }
qemu_cpu_env() { [ "$1" = linux/arm/v6 ] && echo "-e QEMU_CPU=arm1176" || true; }

docker_teardown() {
  local d=${DOCKER_DIR:-} pid kids ids i
  [ -n "$d" ] && [ -d "$d" ] || return 0
  pid=$(cat "$d/dockerd.pid.start" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    ids=$(dk ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1 || true
    kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)   # its containerd
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "docker_teardown: dockerd $pid still up after 30 s: killing it" >&2
      kill -KILL "$pid" $kids 2>/dev/null || true
    fi
  fi
  pid=$(cat "$d/registry.pid" 2>/dev/null || true)
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  for i in 1 2 3; do   # what dockerd leaves mounted (netns, overlays), innermost first
    awk -v w="$d/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    awk -v w="$d/" 'index($2, w) == 1 {n++} END {exit n > 0}' /proc/mounts && break
  done
  # Removing a folder that is still a mount point would leave a mount no path reaches.
  if awk -v w="$d/" 'index($2, w) == 1 {n++} END {exit n == 0}' /proc/mounts; then
    echo "docker_teardown: mounts left under $d, not removed" >&2; return 0
  fi
  rm -rf --one-file-system "$d"
}
