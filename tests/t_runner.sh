# tests/run itself: what a run leaves on the machine.
. "$(dirname "$0")/lib.sh"

# runner_on FIXTURE... in a fresh OUT and TMPDIR under $W (the nested run must not
# rewrite this run's out/test-times); prints its output.
W=
runner_on() {
  mkdir "$W/out" "$W/tmp"
  OUT=$W/out TMPDIR=$W/tmp LITTER_LOG=$W/log RESULTS= bash "$TOP/tests/run" "$@" 2>&1
}

test_a_run_leaves_nothing_in_tmpdir() {
  W=$(tmpdir); local out; out=$(runner_on "$TOP/tests/fixtures/runner/t_litter.sh") \
    || fail "the fixture run failed: $out"
  assert_contains "$out" "1 passed, 0 failed, 0 skipped"
  # The file ran with a TMPDIR of its own, below the one the run was given...
  local ft; ft=$(cat "$W/log")
  case "$ft" in "$W/tmp/"?*) ;; *) fail "the file's TMPDIR was '$ft', not below $W/tmp";; esac
  # (its name is short, as podman wants a runroot of at most 50 characters, and has no
  # capital letters, as buildah takes oci: paths for image names)
  local rel=${ft#"$W/tmp/"}
  [[ "$rel" != *[A-Z]* ]] || fail "the file's TMPDIR $ft has capital letters"
  [ "${#rel}" -le 20 ] || fail "the file's TMPDIR $ft is ${#rel} characters below the run's"
  # ...and what it left there is gone with it.
  [ ! -e "$ft" ] || fail "the file's TMPDIR $ft is still there"
  assert_eq "" "$(ls -A "$W/tmp")" "what the run left in its TMPDIR"
}

test_a_mount_left_behind_fails_the_file_and_is_taken_down() {
  W=$(tmpdir); local out rc=0
  out=$(LITTER_MOUNT=1 runner_on "$TOP/tests/fixtures/runner/t_litter.sh") || rc=$?
  [ "$rc" != 0 ] || fail "the run passed although its file left a mount: $out"
  assert_contains "$out" "t_litter.sh: left mounts under its TMPDIR"
  assert_contains "$out" "1 passed, 1 failed, 0 skipped"
  local m; m=$(awk -v d="$W/" 'substr($5, 1, length(d)) == d' /proc/self/mountinfo)
  assert_eq "" "$m" "mounts left under $W"
  assert_eq "" "$(ls -A "$W/tmp")" "what the run left in its TMPDIR"
}

# Stopped by a signal to its whole process group (SIGTERM here: Ctrl-C's SIGINT is ignored
# by a job started in the background, as this one must be).
test_an_interrupted_run_leaves_nothing_in_tmpdir() {
  W=$(tmpdir); mkdir "$W/out" "$W/tmp"; mkfifo "$W/hold" "$W/ready"
  local ready; exec {ready}<>"$W/ready"   # (read-write: opening never blocks)
  OUT=$W/out TMPDIR=$W/tmp LITTER_LOG=$W/log LITTER_HOLD=$W/hold LITTER_READY=$W/ready \
    RESULTS= setsid bash "$TOP/tests/run" "$TOP/tests/fixtures/runner/t_litter.sh" >/dev/null 2>&1 &
  local runner=$! line
  # positive event: the file has made its folders and says so (30 s only bounds a hang)
  read -r -t 30 -u "$ready" line || { kill -KILL -- -"$runner"; fail "the fixture never started"; }
  kill -TERM -- -"$runner"
  local rc=0; wait "$runner" || rc=$?
  assert_eq 143 "$rc" "the interrupted run's exit status"
  assert_eq "" "$(ls -A "$W/tmp")" "what the interrupted run left in its TMPDIR"
}

run_tests
