#!/usr/bin/env bash
# armlet-init runs PROGRAM with its arguments, environment and standard streams, and exits
# with the child's status: the code itself, 128+N for a death by signal N, 126 when PROGRAM
# cannot be executed and 127 when it is not found (with a message naming it).
# Every test runs once per platform: amd64 natively, arm64/arm-v7/arm-v6 under qemu.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/init_lib.sh"

platforms_test_args_env_and_stdio_pass_through() { :; }
test_args_env_and_stdio_pass_through() {
  local d; d=$(tmpdir)
  # PROGRAM is looked up in PATH; arguments keep spaces, quotes and empty strings.
  # (env -i keeps QEMU_CPU so arm/v6 still emulates an ARM1176.)
  local qenv; qenv=$(qemu_env_for "$PLATFORM")
  capture env -i $qenv PATH=/usr/bin:/bin FOO='bar baz' "$INIT" -- sh -c \
    'printf "[%s]" "$@"; echo; echo "FOO=$FOO"; cat; echo to-stderr >&2' sh 'a b' '' "q'x" \
    <<<"from stdin"
  assert_eq 0 "$rc" "exit status"
  assert_eq "[a b][][q'x]
FOO=bar baz
from stdin" "$out"
  assert_eq "to-stderr" "$err"
  # The child's environment is exactly ours: nothing added, nothing dropped (qemu-user
  # passes the guest environment on in its own order, hence the sort).
  env -i $qenv A=1 B=2 "$INIT" /usr/bin/env | sort >"$d/env"
  assert_eq "A=1
B=2${qenv:+
$qenv}" "$(cat "$d/env")"
}

platforms_test_exit_status_is_the_childs() { :; }
test_exit_status_is_the_childs() {
  local code
  for code in 0 1 3 125 200 255; do
    capture "$INIT" -- sh -c "exit $code"
    assert_eq "$code" "$rc" "child exit $code:"
  done
}

platforms_test_death_by_signal_exits_128_plus_n() { :; }
test_death_by_signal_exits_128_plus_n() {
  capture "$INIT" -- sh -c 'kill -TERM $$'
  assert_eq 143 "$rc" "SIGTERM:"
  capture "$INIT" -- sh -c 'kill -KILL $$'
  assert_eq 137 "$rc" "SIGKILL:"
  capture "$INIT" -- sh -c 'kill -USR1 $$'
  assert_eq 138 "$rc" "SIGUSR1:"
}

platforms_test_not_found_exits_127_naming_the_program() { :; }
test_not_found_exits_127_naming_the_program() {
  capture "$INIT" -- no-such-program-xyz arg
  assert_eq 127 "$rc"
  assert_contains "$err" "no-such-program-xyz"
  assert_contains "$err" "not found"
  capture "$INIT" -- /nonexistent/dir/prog
  assert_eq 127 "$rc"
  assert_contains "$err" "/nonexistent/dir/prog"
}

platforms_test_not_executable_exits_126_naming_the_program() { :; }
test_not_executable_exits_126_naming_the_program() {
  local d; d=$(tmpdir)
  printf '#!/bin/sh\necho should not run\n' >"$d/noexec"
  chmod 0644 "$d/noexec"
  capture "$INIT" -- "$d/noexec"
  assert_eq 126 "$rc"
  assert_contains "$err" "$d/noexec"
  assert_contains "$err" "cannot execute"
  assert_eq "" "$out"
  # A directory is found but cannot be executed either.
  capture "$INIT" -- "$d"
  assert_eq 126 "$rc"
  assert_contains "$err" "$d"
  # Root bypasses mode bits, but not on a file without any x bit; make sure we are not
  # fooled by that: a file with x set runs.
  chmod 0755 "$d/noexec"
  capture "$INIT" -- "$d/noexec"
  assert_eq 0 "$rc"
  assert_eq "should not run" "$out"
}

platforms_test_empty_path_entry_is_the_current_folder() { :; }
test_empty_path_entry_is_the_current_folder() {
  local d; d=$(tmpdir)
  printf '#!/bin/sh\necho ran-here\n' >"$d/armlet-here"
  chmod +x "$d/armlet-here"
  for path in "/nonexistent:" ":/nonexistent" "/nonexistent::/also-not"; do
    capture sh -c 'cd "$1" && PATH=$2 exec "$3" -- armlet-here' sh "$d" "$path" "$INIT"
    assert_eq "0 ran-here" "$rc $out" "PATH=$path: $err"
  done
}

run_tests
