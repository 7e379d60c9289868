#!/usr/bin/env bash
# armlet profile runs images other people built: the program it runs plays the attacker
# here. As image root and as nonroot it tries to leave its rootfs (second chroot, ..,
# /proc/1/root), to write host files, to read armlet's environment, to reach a host
# port, to signal a host process, to mount, to regain capabilities. Each attempt prints
# ESCAPED:<what> if it worked; the script ends with ATTEMPTS-DONE (the positive event
# that shows the attempts ran). Host files must be unchanged byte for byte.
. "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"    # free_port

source "$TOP/tests/builder/profile_lib.sh"   # busybox_rootfs, BUSYBOX

make_rootfs() {
  local r; r=$(busybox_rootfs sandbox)
  mkdir -p "$r/home/nonroot"
  chown 65532:65532 "$r/home/nonroot"
  for a in sh cat ls env echo chroot mkdir mount kill nc grep id wc; do ln -s busybox "$r/bin/$a"; done
  echo "$r"
}

# The attack script, run inside the sandbox. $1: a host folder; $2: a host file; $3: a
# host TCP port; $4: a host PID; $5: where to try planting a file in the image's
# root-owned / (the control run points it into $1, never at the host's /); $6: the
# folder it makes a chroot in and mounts a tmpfs on (/tmp; the control's is in $1).
ATTACK='
h=$1 f=$2 port=$3 hpid=$4 plant=${5:-/planted} t=${6:-/tmp}
try() { if eval "$2" >/dev/null 2>&1; then echo "ESCAPED:$1"; else echo "held:$1"; fi; }
try write-host-file "echo pwned >>$f"
try write-host-folder "echo pwned >$h/new"
try see-host-folder "ls $h/secret.txt"
try dotdot "ls /../../../../$h/secret.txt"
try proc1-root "ls /proc/1/root$h/secret.txt"
try chroot-escape "mkdir -p $t/e && chroot $t/e /bin/busybox true"
try mount-tmpfs "mount -t tmpfs none $t"
try host-port "echo hi | nc -w 2 127.0.0.1 $port"
try signal-host "kill -0 $hpid"
try host-env "env | grep -q ARMLET_TEST_SECRET"
try proc-environ "cat /proc/*/environ | grep -q ARMLET_TEST_SECRET"
try caps "grep -q \"CapEff:.*[1-9a-f]\" /proc/self/status"
try caps-bounding "grep -q \"CapBnd:.*[1-9a-f]\" /proc/self/status"
try write-rootfs-root "echo x >$plant"
echo "whoami:$(id -u):$(id -g)"
echo ATTEMPTS-DONE
'

# A host folder with a secret file and a listener that records any connection.
with_host_targets() {
  mkdir -p "$OUT/test-tmp"    # the control, first in name order, may be the first to need it
  H=$(mktemp -d "$OUT/test-tmp/host.XXXXXX"); chmod 0777 "$H"
  echo "host secret" >"$H/secret.txt"; chmod 0666 "$H/secret.txt"
  SUM_BEFORE=$(cd "$H" && find . -type f -exec sha256sum {} + | sort)
  PORT=$(free_port)
  python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
print("ready", flush=True)
c, _ = s.accept(); open(sys.argv[2], "w").write("connected\n")
' "$PORT" "$H/listener.log" >"$H/listener.out" 2>/dev/null &
  LISTENER=$!
  local i; for ((i = 0; i < 600; i++)); do grep -qs ready "$H/listener.out" && break; sleep 0.05; done
  grep -qs ready "$H/listener.out" || fail "host listener did not start"
}

check_host_unchanged() {
  kill "$LISTENER" 2>/dev/null || true; wait "$LISTENER" 2>/dev/null || true
  [ ! -e "$H/listener.log" ] || fail "the sandboxed program reached a host port"
  rm -f "$H/listener.out"
  local after; after=$(cd "$H" && find . -type f -exec sha256sum {} + | sort)
  assert_eq "$SUM_BEFORE" "$after" "host folder after the run"
}

run_attack() {   # $1 rootfs, $2 user
  capture env ARMLET_TEST_SECRET=hunter2 "$ARMLET" profile "$1" --seconds 20 --user "$2" \
    -- /bin/sh -c "$ATTACK" sh "$H" "$H/secret.txt" "$PORT" "$$"
}

assert_contained() {
  assert_eq 0 "$rc" "profile exit status ($err)"
  assert_contains "$err" "ATTEMPTS-DONE"
  assert_contains "$err" "held:write-host-file"
  assert_not_contains "$err" "ESCAPED:"
  assert_not_contains "$err" "hunter2"
  [ ! -e "$1/planted" ] || fail "image root wrote into the rootfs's root-owned /"
}

test_image_root_cannot_leave_the_sandbox() {
  local r; r=$(make_rootfs); with_host_targets
  run_attack "$r" root
  assert_contained "$r"
  assert_contains "$err" "whoami:0:0"     # image root inside, the host's nobody outside
  check_host_unchanged
  rm -rf "$r" "$H"
}

test_nonroot_image_user_cannot_leave_the_sandbox() {
  local r; r=$(make_rootfs); with_host_targets
  run_attack "$r" 65532:65532
  assert_contained "$r"
  assert_contains "$err" "whoami:65532:65532"
  check_host_unchanged
  rm -rf "$r" "$H"
}

# Control: the same script run without the sandbox (busybox on the host, as root) does
# get out, so the detector above can tell contained from not. It runs in a private
# mount namespace, and its chroot and mount attempts go to a folder inside the host
# folder: a tmpfs over /tmp would hide the host folder itself when the clone lives
# under /tmp (`mktemp -d` clones: every host-file attempt then came out "held").
test_control_the_attack_script_detects_an_unconfined_run() {
  with_host_targets
  mkdir "$H/tmp"
  capture env ARMLET_TEST_SECRET=hunter2 unshare --mount --propagation private -- \
    "$BUSYBOX" sh -c "$ATTACK" sh "$H" "$H/secret.txt" "$PORT" "$$" "$H/planted" "$H/tmp"
  assert_contains "$out" "ATTEMPTS-DONE"
  assert_contains "$out" "ESCAPED:write-host-file"
  assert_contains "$out" "ESCAPED:host-env"
  assert_contains "$out" "ESCAPED:signal-host"
  assert_contains "$out" "ESCAPED:see-host-folder"
  assert_contains "$out" "ESCAPED:mount-tmpfs"
  kill "$LISTENER" 2>/dev/null || true; wait "$LISTENER" 2>/dev/null || true
  rm -rf "$H"
}

# The image's environment is exactly what --env gives, nothing of armlet's.
test_program_gets_only_the_images_environment() {
  local r; r=$(make_rootfs)
  capture env ARMLET_TEST_SECRET=hunter2 "$ARMLET" profile "$r" --seconds 20 \
    --env PATH=/bin --env GREETING=hi --workdir /home/nonroot -- /bin/sh -c 'env; pwd; echo ENV-DONE'
  assert_eq 0 "$rc" "$err"
  assert_contains "$err" "ENV-DONE"
  assert_contains "$err" "GREETING=hi"
  assert_contains "$err" "/home/nonroot"
  assert_not_contains "$err" "hunter2"
  assert_not_contains "$err" "HOME=/root"
  rm -rf "$r"
}

# An image whose /proc is a symlink out of it is refused before anything runs.
test_image_with_a_symlinked_proc_is_refused() {
  local r; r=$(make_rootfs)
  ln -s /etc "$r/proc"
  capture "$ARMLET" profile "$r" --seconds 5 -- /bin/sh -c 'echo RAN'
  assert_eq 1 "$rc"
  assert_contains "$err" "proc is not a folder"
  assert_not_contains "$err" "RAN"
  rm -rf "$r"
}

run_tests
