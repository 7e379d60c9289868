#!/usr/bin/env bash
# With a controlling terminal the child runs in its own process group in the terminal's
# foreground, as under `docker run -it`: it can read the terminal (a background group would
# be stopped by SIGTTIN) and Ctrl-C reaches it straight from the terminal. Driven through a
# pseudo-terminal made by python3's pty module; all four platforms.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/init_lib.sh"

# The child: report its process group and the terminal's foreground group, read a line
# from the terminal, then wait for Ctrl-C and exit 42 from the INT trap.
CHILD='read -r _ _ _ _ pgrp _ _ tpgid _ </proc/$$/stat
echo "pid=$$ pgrp=$pgrp tpgid=$tpgid"
trap "echo got-INT; exit 42" INT
echo ready
read -r line
echo "read:$line"
while :; do sleep 0.1; done'

PTY_DRIVER='
import os, pty, select, sys, time
init, child = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(init, [init, "--", "/bin/sh", "-c", child])
buf = b""
def until(word, secs=10):
    global buf
    end = time.time() + secs
    while word.encode() not in buf:
        if time.time() > end:
            sys.stdout.write(buf.decode(errors="replace")); sys.exit("timeout waiting for " + word)
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: buf += os.read(fd, 4096)
            except OSError: break
until("ready")
os.write(fd, b"hello\n")
until("read:hello")
os.write(fd, b"\x03")          # Ctrl-C, as typed
until("got-INT")
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace").replace("\r", ""))
print("status=%d" % os.waitstatus_to_exitcode(status))
'

platforms_test_child_gets_the_terminal_foreground_and_ctrl_c() { :; }
test_child_gets_the_terminal_foreground_and_ctrl_c() {
  capture timeout 30 "$PY" -c "$PTY_DRIVER" "$INIT" "$CHILD"
  assert_eq 0 "$rc" "driver: $out $err"
  local line pid pgrp tpgid
  line=$(grep '^pid=' <<<"$out")
  pid=${line#pid=}; pid=${pid%% *}
  pgrp=${line#*pgrp=}; pgrp=${pgrp%% *}
  tpgid=${line#*tpgid=}
  assert_eq "$pid" "$pgrp" "the child leads its own process group:"
  assert_eq "$pgrp" "$tpgid" "the child's group is the terminal's foreground:"
  assert_contains "$out" "read:hello"
  assert_contains "$out" "got-INT"
  assert_contains "$out" "status=42"
}

run_tests
