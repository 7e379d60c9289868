#!/usr/bin/env bash
# armlet-init --nofile and --user: the child starts with the FD limit asked for (or the
# most it may have, with a warning), and as the user asked for (ids 65532 for nonroot,
# no supplementary groups); a user it cannot become stops it with 126 before exec.
# Root here lacks CAP_SYS_RESOURCE: the hard limit (20000 on this host) cannot be raised.
# Every test runs once per platform (arm inits under qemu-user).
source "$(dirname "$0")/../lib.sh"

HARD=$(ulimit -Hn)

platforms_test_nofile_max_raises_soft_to_hard() { :; }
test_nofile_max_raises_soft_to_hard() {
  capture sh -c 'ulimit -Sn 1024; exec "$@"' sh "$INIT" --verbose --nofile max -- sh -c 'ulimit -Sn; ulimit -Hn'
  assert_eq 0 "$rc" "$err"
  assert_eq "$HARD
$HARD" "$out"
  assert_contains "$err" "nofile: soft limit 1024 -> $HARD (hard $HARD)"
}

platforms_test_nofile_n_sets_the_soft_limit() { :; }
test_nofile_n_sets_the_soft_limit() {
  capture sh -c 'ulimit -Sn 1024; exec "$@"' sh "$INIT" --nofile 4096 -- sh -c 'ulimit -Sn; ulimit -Hn'
  assert_eq "4096
$HARD" "$out"
  assert_eq "" "$err" "no message without --verbose:"
  # off (the default) leaves it alone
  capture sh -c 'ulimit -Sn 1024; exec "$@"' sh "$INIT" --nofile off -- sh -c 'ulimit -Sn'
  assert_eq 1024 "$out"
  # ARMLET_INIT_NOFILE works as the flag does
  capture sh -c 'ulimit -Sn 1024; ARMLET_INIT_NOFILE=2048 exec "$@"' sh "$INIT" -- sh -c 'ulimit -Sn'
  assert_eq 2048 "$out"
}

platforms_test_nofile_above_hard_limit_warns_and_uses_the_hard_limit() { :; }
test_nofile_above_hard_limit_warns_and_uses_the_hard_limit() {
  [ "$(id -u)" = 0 ] && capsh --has-p=cap_sys_resource 2>/dev/null && skip "this root can raise hard limits"
  local want=$((HARD + 1000))
  capture sh -c 'ulimit -Sn 1024; exec "$@"' sh "$INIT" --nofile "$want" -- sh -c 'ulimit -Sn'
  assert_eq 0 "$rc" "a limit it cannot have is a warning, not a failure"
  assert_eq "$HARD" "$out"
  assert_contains "$err" "nofile: $want is above the hard limit $HARD"
  assert_contains "$err" "CAP_SYS_RESOURCE"
}

test_nofile_hard_limit_is_raised_when_permitted() {
  INIT=$(init_for linux-amd64)
  # Start the init with both limits lowered, ask for the old hard limit back: raising a
  # hard limit needs CAP_SYS_RESOURCE in the initial user namespace.
  local low=$((HARD - 10))
  sh -c "ulimit -n $low && ulimit -Hn $HARD" 2>/dev/null ||
    skip "no CAP_SYS_RESOURCE here: a hard limit cannot be raised (the fallback is shown by the warning test)"
  capture sh -c "ulimit -n $low; exec \"\$@\"" sh "$INIT" --nofile "$HARD" -- sh -c 'ulimit -Sn; ulimit -Hn'
  assert_eq "$HARD
$HARD" "$out" "hard limit raised:"
}

platforms_test_user_nonroot_runs_the_child_as_65532() { :; }
test_user_nonroot_runs_the_child_as_65532() {
  [ "$(id -u)" = 0 ] || skip "needs root to change user"
  capture "$INIT" --user nonroot -- sh -c 'id -u; id -g; id -G; grep -E "^(Uid|Gid|Groups):" /proc/self/status | tr -s "\t " " "'
  assert_eq 0 "$rc" "$err"
  assert_eq "65532
65532
65532
Uid: 65532 65532 65532 65532
Gid: 65532 65532 65532 65532
Groups:" "$(echo "$out" | sed 's/ *$//')"
  capture "$INIT" --user 1000:2000 -- sh -c 'echo $(id -u):$(id -g)'
  assert_eq "1000:2000" "$out"
  capture "$INIT" --user 1234 -- sh -c 'echo $(id -u):$(id -g)'
  assert_eq "1234:1234" "$out" "GID defaults to UID:"
}

platforms_test_user_that_cannot_be_become_exits_126_before_exec() { :; }
test_user_that_cannot_be_become_exits_126_before_exec() {
  [ "$(id -u)" = 0 ] || skip "needs root to drop to another user first"
  # The init and the folder the program would write in, where uid 65532 can reach them:
  # the clone may sit in a 0700 folder (mktemp -d), which qemu-user, opening an ARM
  # program by its path as that user, cannot enter.
  local d; d=$(mktemp -d "${TMPDIR:-/tmp}/armlet-user.XXXXXX")
  trap 'rm -rf "$d"' RETURN
  chmod 1777 "$d"
  cp "$INIT" "$d/init" && chmod 0755 "$d/init"
  local INIT=$d/init
  # an unprivileged init (uid 65532) cannot become uid 1000
  capture setpriv --reuid 65532 --regid 65532 --clear-groups "$INIT" --user 1000 -- touch "$d/ran"
  assert_eq 126 "$rc"
  assert_contains "$err" "--user 1000:1000: setgroups"
  [ ! -e "$d/ran" ] || fail "the program ran although the user drop failed"
  # asking for the user it already is works without privileges
  capture setpriv --reuid 65532 --regid 65532 --clear-groups "$INIT" --user nonroot -- id -u
  assert_eq 0 "$rc" "$err"
  assert_eq 65532 "$out"
}

platforms_test_nofile_never_lowers_the_soft_limit() { :; }
test_nofile_never_lowers_the_soft_limit() {
  capture sh -c 'ulimit -Sn 1024; exec "$@"' sh "$INIT" --verbose --nofile 3 -- sh -c 'ulimit -Sn'
  assert_eq 0 "$rc" "$err"
  assert_eq 1024 "$out"
  assert_contains "$err" "nofile: soft limit 1024 -> 1024"
}

platforms_test_nofile_above_nr_open_uses_nr_open_and_says_so() { :; }
test_nofile_above_nr_open_uses_nr_open_and_says_so() {
  local nr; nr=$(cat /proc/sys/fs/nr_open)
  capture sh -c 'ulimit -Sn 1024; exec "$@"' sh "$INIT" --nofile $((nr + 1)) -- sh -c 'ulimit -Sn'
  assert_eq 0 "$rc" "$err"
  assert_contains "$err" "nofile: $((nr + 1)) is above fs.nr_open: using $nr"
  if [ "$out" = "$nr" ]; then return 0; fi   # this root may raise the hard limit
  assert_eq "$HARD" "$out"
  assert_contains "$err" "nofile: $nr is above the hard limit $HARD (raising it needs CAP_SYS_RESOURCE)"
}

run_tests
