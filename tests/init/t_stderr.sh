#!/usr/bin/env bash
# A broken stderr never hurts PID 1 or its child: with stderr a pipe whose reader has
# gone, the init's own writes fail with EPIPE and the kernel raises SIGPIPE on the init.
# That signal is the init's, not the child's: it is never forwarded (on main it was, and
# the message about it raised another, forever: TERM never got through). Messages are
# dropped when stderr cannot take them. Control bytes in a message come out escaped.
# Every test on all four platforms.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/init_lib.sh"

# Open fd 8 on a FIFO with no reader left: opened read-write (a reader and a writer) and
# write-only, then the read-write end closed. Writes to fd 8 get EPIPE + SIGPIPE.
broken_fd8() {
  mkfifo "$1"
  exec 7<>"$1"
  exec 8>"$1"
  exec 7<&-
}
# On the test's exit, the init it started is killed (on main it spun forever, holding the
# harness's stdout open).
kill_at_exit() { trap "pkill -KILL -P $1 || true; kill -KILL $1 2>/dev/null || true" EXIT; }

platforms_test_broken_stderr_with_verbose_the_child_gets_term_and_its_status_is_returned() { :; }
test_broken_stderr_with_verbose_the_child_gets_term_and_its_status_is_returned() {
  local d pid; d=$(tmpdir)
  mkfifo "$d/ready"
  broken_fd8 "$d/err"
  # The child logs any SIGPIPE it gets, says ready, and exits 42 on TERM.
  "$INIT" --verbose -- /bin/sh -c 'trap "echo PIPE >>$0/log" PIPE; trap "exit 42" TERM
    echo ready >$0/ready; while :; do sleep 0.05; done' "$d" 2>&8 &
  pid=$!
  kill_at_exit "$pid"
  exec 8>&-
  assert_eq ready "$(timeout 30 cat "$d/ready")" "the child did not start"
  kill -TERM "$pid"
  wait_exit "$pid" 30
  assert_eq 42 "$rc" "exit status of the init"
  [ ! -e "$d/log" ] || fail "the child got SIGPIPE $(wc -l <"$d/log") times"
}

platforms_test_a_warning_to_a_broken_stderr_does_not_kill_the_child() { :; }
test_a_warning_to_a_broken_stderr_does_not_kill_the_child() {
  local d pid; d=$(tmpdir)
  broken_fd8 "$d/err"
  # --nofile far above any hard limit: always a warning on stderr (here: EPIPE, and the
  # SIGPIPE the kernel raises on the init, pending from before the fork). The child exits
  # only after a WINCH it sent the init has come back: the init takes pending signals
  # lowest first, so PIPE (13), had it been forwarded, would have reached the child before
  # WINCH (28) and killed it (141).
  "$INIT" --nofile 999999999 -- /bin/sh -c 'trap "exit 5" WINCH; kill -WINCH $PPID
    i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done; exit 6' 2>&8 &
  pid=$!
  kill_at_exit "$pid"
  exec 8>&-
  wait_exit "$pid" 30
  assert_eq 5 "$rc" "exit status (141 = the child died of SIGPIPE; 6 = WINCH never came back)"
}

platforms_test_control_bytes_in_a_message_are_escaped() { :; }
test_control_bytes_in_a_message_are_escaped() {
  local d; d=$(tmpdir)
  # A program name with an escape sequence and a newline in it: not found, named escaped.
  capture "$INIT" -- "$(printf 'no\033[2Jsuch\nprog')"
  assert_eq 127 "$rc"
  assert_eq 'armlet-init: no\x1b[2Jsuch\x0aprog: not found: No such file or directory' "$err"
}

run_tests
