#!/usr/bin/env bash
# With a controlling terminal the child runs in its own process group in the terminal's
# foreground, as under `docker run -it`: it can read the terminal (a background group would
# be stopped by SIGTTIN) and Ctrl-C reaches it straight from the terminal. Driven through a
# pseudo-terminal made by python3's pty module; all four platforms. Job control as under
# an interactive shell: Ctrl-Z stops the child and the init, and the shell gets its prompt
# back; `fg` gives the terminal back to the child; a child started in the background that
# reads the terminal stops the job, and `fg` lets it read.
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

# Python for the drivers: until(WORD) reads the pty until WORD (30 s at most: the bound
# only ends a hang), prints and returns what came up to it; what follows stays for the
# next call. fd is the pty.
PTY_LIB='
import os, pty, select, sys, time
buf = b""
def until(word, secs=30):
    global buf
    end = time.time() + secs
    while word.encode() not in buf:
        if time.time() > end:
            sys.stdout.write(buf.decode(errors="replace")); sys.exit("timeout waiting for " + word)
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: buf += os.read(fd, 4096)
            except OSError: break
    i = buf.index(word.encode()) + len(word)
    seen, buf = buf[:i], buf[i:]
    sys.stdout.write(seen.decode(errors="replace").replace("\r", ""))
    return seen
def say(text): os.write(fd, text.encode())
'

PTY_DRIVER=$PTY_LIB'
init, child = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(init, [init, "--", "/bin/sh", "-c", child])
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
  capture timeout 120 "$PY" -c "$PTY_DRIVER" "$INIT" "$CHILD"
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

# An interactive bash on a pty runs the init as a job. Each step waits for what the user
# would see: the child's output, bash's "Stopped", a command's answer at the prompt.
JOB_DRIVER=$PTY_LIB'
init = sys.argv[1]
pid, fd = pty.fork()
if pid == 0:
    os.environ["PS1"] = "PROMPT> "
    os.environ["INIT"] = init
    os.execv("/bin/bash", ["bash", "--norc", "--noprofile", "-i"])
until("PROMPT> ")
# foreground: Ctrl-Z, the prompt is back, fg, the child reads the terminal again
say("$INIT -- /bin/sh -c \"echo child-up; read l; echo got:\\$l; exit 7\"\n")
until("child-up\r")
say("\x1a")
until("Stopped")
until("PROMPT> ")
say("echo back-$((40+2))\n")
until("back-42")
until("PROMPT> ")
say("fg\n")
say("hello\n")
until("got:hello")
until("PROMPT> ")
say("echo rc=$?\n")
until("rc=7")
until("PROMPT> ")
# background: the child reads the terminal, the job stops, fg lets it read
say("$INIT -- /bin/sh -c \"read l; echo bg-got:\\$l; exit 9\" &\n")
end = time.time() + 60
while b"Stopped" not in until("PROMPT> "):   # bash reports the stop at a prompt
    if time.time() > end: sys.exit("the background job never stopped")
    say("jobs\n")
say("fg\n")
say("world\n")
until("bg-got:world")
say("echo rc=$?\n")
until("rc=9")
say("exit\n")
os.waitpid(pid, 0)
print("\nDONE")
'

platforms_test_ctrl_z_stops_the_job_and_the_shell_gets_its_prompt_back() { :; }
test_ctrl_z_stops_the_job_and_the_shell_gets_its_prompt_back() {
  capture timeout 300 "$PY" -c "$JOB_DRIVER" "$INIT"
  assert_eq 0 "$rc" "driver: $out $err"
  assert_contains "$out" "DONE"
}

run_tests
