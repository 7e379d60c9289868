#!/usr/bin/env bash
# armlet-init's command line: --help documents every option and exit code, --version,
# --verbose (and ARMLET_INIT_VERBOSE=1) says what it does, every option also works as
# ARMLET_INIT_<NAME> with flags winning, and a bad option or value is an error naming it
# with the child never started. Every test runs on all four platforms.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/init_lib.sh"

platforms_test_help_documents_every_option_and_exit_code() { :; }
test_help_documents_every_option_and_exit_code() {
  capture "$INIT" --help
  assert_eq 0 "$rc"
  local o
  for o in --pgroup --grace --stop-delay --rewrite --exit-zero --cpu --cpu-env --memory \
           --nofile --user --seccomp --preload --verbose --version --help ARMLET_INIT_; do
    assert_contains "$out" "$o" "--help:"
  done
  for o in "126 " "127 " "128+N" "2 " "111 " "0-125"; do
    assert_contains "$out" "  $o" "--help exit codes:"
  done
}

platforms_test_version_prints_the_version() { :; }
test_version_prints_the_version() {
  capture "$INIT" --version
  assert_eq 0 "$rc"
  case "$out" in "armlet-init "?*) ;; *) fail "unexpected --version output: $out";; esac
}

platforms_test_bad_option_is_named_and_the_child_never_starts() { :; }
test_bad_option_is_named_and_the_child_never_starts() {
  local d; d=$(tmpdir)
  capture "$INIT" --bogus -- touch "$d/started"
  assert_eq 2 "$rc"; assert_contains "$err" "--bogus"
  capture "$INIT" --grace soon -- touch "$d/started"
  assert_eq 2 "$rc"; assert_contains "$err" "--grace"; assert_contains "$err" "soon"
  capture "$INIT" --rewrite TERM:NOSUCHSIG -- touch "$d/started"
  assert_eq 2 "$rc"; assert_contains "$err" "--rewrite"; assert_contains "$err" "NOSUCHSIG"
  capture "$INIT" --exit-zero 300 -- touch "$d/started"
  assert_eq 2 "$rc"; assert_contains "$err" "--exit-zero"
  capture env ARMLET_INIT_STOP_DELAY=later "$INIT" -- touch "$d/started"
  assert_eq 2 "$rc"; assert_contains "$err" "ARMLET_INIT_STOP_DELAY"; assert_contains "$err" "later"
  capture "$INIT" --verbose
  assert_eq 2 "$rc"; assert_contains "$err" "PROGRAM"
  [ ! -e "$d/started" ] || fail "the child was started despite a bad option"
  # The same command with good values does start it (the check above can fail).
  capture "$INIT" --grace 1s -- touch "$d/started"
  assert_eq 0 "$rc"; assert_file "$d/started"
}

platforms_test_verbose_says_what_it_does() { :; }
test_verbose_says_what_it_does() {
  capture "$INIT" --verbose -- sh -c 'exit 7'
  assert_eq 7 "$rc"
  assert_contains "$err" "started sh as pid"
  assert_contains "$err" "sh exited with status 7"
  capture "$INIT" -- sh -c 'exit 7'
  assert_eq "" "$err" "without --verbose the init is silent:"
  capture env ARMLET_INIT_VERBOSE=1 "$INIT" -- sh -c 'kill -TERM $$'
  assert_eq 143 "$rc"
  assert_contains "$err" "killed by SIGTERM, exit status 143"
  capture env ARMLET_INIT_VERBOSE=0 "$INIT" -- true
  assert_eq "" "$err" "ARMLET_INIT_VERBOSE=0:"
}

platforms_test_environment_variables_set_options_and_flags_win() { :; }
test_environment_variables_set_options_and_flags_win() {
  # ARMLET_INIT_EXIT_ZERO=143 turns a SIGTERM death into 0 ...
  capture env ARMLET_INIT_EXIT_ZERO=143 "$INIT" -- sh -c 'kill -TERM $$'
  assert_eq 0 "$rc"
  # ... a list works, and other codes pass unchanged.
  capture env ARMLET_INIT_EXIT_ZERO=130,3 "$INIT" -- sh -c 'exit 3'
  assert_eq 0 "$rc"
  capture env ARMLET_INIT_EXIT_ZERO=143 "$INIT" -- sh -c 'exit 3'
  assert_eq 3 "$rc"
  # A flag beats its variable: the variable drops USR1, the flag rewrites it to USR2.
  local d; d=$(tmpdir)
  env ARMLET_INIT_REWRITE=USR1:0 "$INIT" --rewrite USR1:USR2 -- "$HELPER" catch >"$d/out" &
  local pid=$!
  wait_for "$d/out" ready
  kill -USR1 "$pid"
  wait_for "$d/out" "got $(kill -l USR2)"
  kill -TERM "$pid"
  wait_exit "$pid"
  assert_eq 0 "$rc"
  assert_not_contains "$(cat "$d/out")" "got $(kill -l USR1)"
  # And the variable alone does drop it. USR2 follows as the positive event: the init
  # handles its signals one at a time in the order they came, and the helper takes pending
  # ones lowest first, so a forwarded USR1 (10) would show before USR2 (12).
  env ARMLET_INIT_REWRITE=USR1:0 "$INIT" -- "$HELPER" catch >"$d/out2" &
  pid=$!
  wait_for "$d/out2" ready
  kill -USR1 "$pid"
  kill -USR2 "$pid"
  wait_for "$d/out2" "got $(kill -l USR2)"
  kill -TERM "$pid"
  wait_exit "$pid"
  assert_eq "got $(kill -l USR2) got $(kill -l TERM) " "$(grep got "$d/out2" | tr '\n' ' ')"
}

run_tests
