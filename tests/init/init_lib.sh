# tests/init/init_lib.sh — helpers shared by the armlet-init script tests (sourced after
# tests/lib.sh). Not a test file itself (no t_ prefix).

HELPER_SRC=$TOP/tests/init/helper.c
HELPER=$OUT/test-helpers/helper
PY=/usr/bin/python3   # Debian's, not a pyenv shim: it starts in 15 ms instead of 100 ms

# Build tests/init/helper.c once (host-native) unless it is up to date.
build_helper() {
  if [ ! -x "$HELPER" ] || [ "$HELPER_SRC" -nt "$HELPER" ]; then
    mkdir -p "$(dirname "$HELPER")"
    cc -O2 -Wall -Werror -o "$HELPER.$$" "$HELPER_SRC" && mv -f "$HELPER.$$" "$HELPER"
  fi
}
build_helper || { echo "cannot build $HELPER" >&2; exit 1; }

# The waits below poll for a positive event; their bound (30 s unless told) only ends a
# hang, so it is generous: a busy or emulated machine is slow, never wrong.
# wait_for FILE PATTERN [SECONDS]: poll until FILE has a line matching PATTERN.
wait_for() {
  local i n=$(( ${3:-30} * 20 ))
  for ((i = 0; i < n; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "timed out waiting for '$2' in $1: $(cat "$1" 2>/dev/null)"
}

# wait_exit PID [SECONDS]: wait for a background job; its status in $rc. Fails on timeout.
wait_exit() {
  local i n=$(( ${2:-30} * 20 ))
  for ((i = 0; i < n; i++)); do
    kill -0 "$1" 2>/dev/null || { rc=0; wait "$1" || rc=$?; return 0; }
    sleep 0.05
  done
  kill -KILL "$1" 2>/dev/null
  fail "pid $1 still running after ${2:-30}s"
}

# wait_gone PID [SECONDS]: wait until PID has ended (gone, or a zombie nobody reaped).
# Returns 1 if it still runs after SECONDS (30).
wait_gone() {
  local i n=$(( ${2:-30} * 20 ))
  for ((i = 0; i < n; i++)); do
    alive "$1" || return 0
    sleep 0.05
  done
  return 1
}

# Is process PID still there (and not a zombie)?
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# utime+stime of PID in clock ticks.
cpu_ticks() { awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }

# The main child: start N background grandchildren that outlive their parent shell (so they
# are orphaned onto the init), check they were re-parented to the init ($PPID), let them
# exit, then count zombies whose parent is the init. Prints "adopted=A zombies=Z".
# No nap has to be long enough: the orphans are `cat`s blocked on a pipe whose only writer
# is the counting subshell, so all are alive when counted and all exit once it is done;
# the loops wait for a state (all adopted; none left) and only their 30 s bounds a hang.
ORPHANS='
  n=$1 init=$PPID
  kids() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$init" -v st="$1" '\''{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); if (f[2] == p && f[1] ~ st) n++ } END { print n + 0 }'\''; }
  exec 4>&1
  {
    i=0; while [ "$(kids "^[^Z]")" -lt $((n + 1)) ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
    printf "adopted=%s " "$(kids "^[^Z]")" >&4
  } | sh -c "exec 3<&0; i=0; while [ \$i -lt $n ]; do cat <&3 >/dev/null 3<&- & i=\$((i + 1)); done"
  i=0; while [ "$(kids .)" -gt 1 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
  echo "zombies=$(kids "^Z")"
  exit 7'
