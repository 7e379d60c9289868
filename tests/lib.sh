# tests/lib.sh — the harness every script test sources.
#
# A test file defines functions named test_<what_it_shows>() and ends with `run_tests`.
# Each function runs in its own subshell with `set -e`; it passes when it returns 0,
# fails otherwise, and is skipped only by calling `skip "reason"` (reported as skipped,
# never as passed). Results go to $RESULTS (one line each) so tests/run can total them.
#
# Helpers: fail MSG, skip MSG, assert_eq WANT GOT [MSG], assert_contains HAYSTACK NEEDLE,
#          assert_file PATH.
# Per platform: defining platforms_test_X runs test_X once per $INIT_PLATFORMS entry
# ($PLATFORM, $INIT set); when platforms_test_X prints platforms (linux-arm-v6 ...), only
# those of $INIT_PLATFORMS; when it prints nothing, all of them.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$TOP/out}
ARMLET=${ARMLET:-$OUT/asan/armlet}
[ -x "$ARMLET" ] || ARMLET=$OUT/armlet
RESULTS=${RESULTS:-/dev/null}
# Platforms the init tests run on: amd64 natively, the rest under qemu binfmt.
INIT_PLATFORMS=${INIT_PLATFORMS:-"linux-amd64 linux-arm64 linux-arm-v7 linux-arm-v6"}
# One Go build cache for every test that compiles Go (and recipes/hello/build.sh): the
# standard library is compiled once per GOARCH/GOARM and flag set, not once per file.
# Go's cache is safe for concurrent builds (tests/run -j).
export GOCACHE=${GOCACHE:-$OUT/go-cache}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

fail() { echo "    FAIL: $*" >&2; exit 1; }
skip() { echo "    SKIP: $*" >&2; exit 77; }
assert_eq() { [ "$1" = "$2" ] || fail "${3:-} expected '$1', got '$2'"; }
assert_ne() { [ "$1" != "$2" ] || fail "${3:-} expected something other than '$1'"; }
assert_contains() { case "$1" in *"$2"*) ;; *) fail "${3:-} expected to contain '$2', got: $1";; esac; }
assert_not_contains() { case "$1" in *"$2"*) fail "${3:-} expected not to contain '$2', got: $1";; esac; }
assert_file() { [ -e "$1" ] || fail "missing file $1"; }
# Run "$@", capture exit status in $rc, stdout in $out, stderr in $err (never trips set -e).
capture() { local _o _e; _o=$(mktemp); _e=$(mktemp); rc=0; "$@" >"$_o" 2>"$_e" || rc=$?; out=$(cat "$_o"); err=$(cat "$_e"); rm -f "$_o" "$_e"; }

# Debian's busybox-static for every platform under recipes/dist/busybox-<arch><variant>
# (recipes/busybox-httpd/fetch.sh: apt-get download, kept in out/debs). Skips the test,
# saying why, only when Debian's archive cannot be reached.
# Under a lock: test files running side by side (tests/run -j) fetch them once.
busybox_dist() {
  local b _out
  for b in amd64 arm64 armv7 armv6; do
    [ -x "$TOP/recipes/dist/busybox-$b" ] && continue
    mkdir -p "$OUT"
    _out=$(flock "$OUT/.busybox-dist.lock" bash -c '
      for b in amd64 arm64 armv7 armv6; do
        [ -x "$1/recipes/dist/busybox-$b" ] || exec bash "$1/recipes/busybox-httpd/fetch.sh"
      done' bash "$TOP" 2>&1) \
      || skip "Debian's busybox-static packages are not reachable: $_out"
    return 0
  done
}

# Path of the init for platform P (linux-amd64 ...).
init_for() { echo "$OUT/$1/armlet-init"; }
# Environment needed to run platform P's binaries (arm/v6 emulates an ARM1176).
qemu_env_for() { case "$1" in linux-arm-v6) echo "QEMU_CPU=arm1176";; *) echo "";; esac; }

_tmpdirs=()
tmpdir() { local d; d=$(mktemp -d "${TMPDIR:-/tmp}/armlet-test.XXXXXX"); echo "$d"; }

run_tests() {
  local file; file=$(basename "$0")
  local fns; fns=$(declare -F | awk '{print $3}' | grep '^test_' )
  local only=${TEST_FILTER:-}
  for fn in $fns; do
    [ -n "$only" ] && [[ "$fn" != *$only* ]] && continue
    if declare -F "platforms_$fn" >/dev/null || [ "${PER_PLATFORM:-}" = 1 ]; then
      local want=""
      declare -F "platforms_$fn" >/dev/null && want=$("platforms_$fn")
      for p in $INIT_PLATFORMS; do
        [ -z "$want" ] || [[ " $want " == *" $p "* ]] || continue
        _run_one "$file" "$fn" "$p"
      done
    else
      _run_one "$file" "$fn" ""
    fi
  done
}

_run_one() {
  local file=$1 fn=$2 plat=$3 name rc start
  name="$file:$fn${plat:+[$plat]}"
  start=$(date +%s%N)
  ( set -e; PLATFORM=$plat; INIT=${plat:+$(init_for "$plat")}; 
    [ -n "$plat" ] && export $(qemu_env_for "$plat") >/dev/null 2>&1; "$fn" ) </dev/null
  rc=$?
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  case $rc in
    0)  echo "PASS $name (${ms} ms)"; echo "pass $name" >>"$RESULTS";;
    77) echo "SKIP $name"; echo "skip $name" >>"$RESULTS";;
    *)  echo "FAIL $name (rc=$rc)"; echo "fail $name" >>"$RESULTS";;
  esac
}
