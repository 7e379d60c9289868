#!/usr/bin/env bash
# --seccomp fails closed. Whatever the kernel would refuse (an opcode seccomp does not
# take, M[] out of range, a division by zero) and a filter compiled for another
# architecture stop the init with 2 and a message before any child starts (checked before
# fork: all four platforms, qemu included). Natively, when seccomp(2) is hidden (ENOSYS)
# and the prctl fallback answers EINVAL, the child is never run unfiltered: 126. The
# operator's run-time opt-out ARMLET_INIT_SECCOMP=off wins over --seccomp, with a warning.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/init_lib.sh"

JAIL=$OUT/test-helpers/seccomp_jail
if [ ! -x "$JAIL" ] || [ "$TOP/tests/init/seccomp_jail.c" -nt "$JAIL" ]; then
  cc -O2 -Wall -Werror -o "$JAIL.$$" "$TOP/tests/init/seccomp_jail.c" && mv -f "$JAIL.$$" "$JAIL" ||
    { echo "cannot build seccomp_jail" >&2; exit 1; }
fi

oci_of() { case "$1" in linux-amd64) echo linux/amd64;; linux-arm64) echo linux/arm64;;
                        linux-arm-v7) echo linux/arm/v7;; linux-arm-v6) echo linux/arm/v6;; esac; }
# A platform whose filter checks for another architecture than P's init.
other_of() { case "$1" in linux-amd64) echo linux/arm64;; *) echo linux/amd64;; esac; }

platforms_test_a_filter_for_another_architecture_exits_2_before_the_child_starts() { :; }
test_a_filter_for_another_architecture_exits_2_before_the_child_starts() {
  local d; d=$(tmpdir)
  "$ARMLET" seccomp compile default --platform "$(other_of "$PLATFORM")" -o "$d/other.bpf"
  capture "$INIT" --seccomp "$d/other.bpf" -- touch "$d/ran"
  assert_eq 2 "$rc" "$err"
  assert_contains "$err" "--seccomp $d/other.bpf: for another architecture"
  [ ! -e "$d/ran" ] || fail "the child ran"
  # its own platform's filter is accepted
  "$ARMLET" seccomp compile default --platform "$(oci_of "$PLATFORM")" -o "$d/own.bpf"
  capture "$INIT" --seccomp "$d/own.bpf" -- touch "$d/ran"
  assert_eq 0 "$rc" "$err"; assert_file "$d/ran"
}

# refused NAME BYTES WHY: the program of instruction BYTES then RET ALLOW stops the init
# with 2 and "--seccomp FILE: WHY" before the child (touch) runs.
refused() {
  local f=$d/$1
  printf "$2"'\x06\x00\x00\x00\x00\x00\xff\x7f' >"$f"
  capture "$INIT" --seccomp "$f" -- touch "$d/ran"
  assert_eq "2 armlet-init: --seccomp $f: $3" "$rc $err" "$1:"
  [ ! -e "$d/ran" ] || fail "$1: the child ran"
}

platforms_test_programs_the_kernel_would_refuse_exit_2_before_the_child_starts() { :; }
test_programs_the_kernel_would_refuse_exit_2_before_the_child_starts() {
  local d; d=$(tmpdir)
  refused mod '\x94\x00\x00\x00\x07\x00\x00\x00' "an opcode seccomp refuses"   # ALU MOD K
  refused ldb '\x30\x00\x00\x00\x00\x00\x00\x00' "an opcode seccomp refuses"   # LD B ABS
  refused mem16 '\x02\x00\x00\x00\x10\x00\x00\x00' "M[k] out of range"        # ST M[16]
  refused div0 '\x34\x00\x00\x00\x00\x00\x00\x00' "a division by zero"        # DIV K 0
  refused shl32 '\x64\x00\x00\x00\x20\x00\x00\x00' "a shift over 31"          # LSH K 32
}

test_hidden_seccomp_and_a_refused_prctl_never_run_the_child_unfiltered() {
  [ "$(uname -m)" = x86_64 ] || skip "the jail's filter is for x86_64 hosts"
  local d; d=$(tmpdir)
  "$ARMLET" seccomp compile default --platform linux/amd64 -o "$d/f.bpf"
  # the jail itself works: a child without --seccomp runs, seccomp(2) is ENOSYS
  capture "$JAIL" "$NATIVE" -- /bin/sh -c 'grep ^Seccomp: /proc/self/status'
  assert_eq 0 "$rc" "$err"; assert_contains "$out" "Seccomp:	2"
  capture "$JAIL" "$NATIVE" --seccomp "$d/f.bpf" -- touch "$d/ran"
  assert_eq 126 "$rc" "exit status; stderr: $err"
  assert_contains "$err" "--seccomp: installing the filter: Invalid argument"
  assert_not_contains "$err" "WITHOUT"
  [ ! -e "$d/ran" ] || fail "the child ran unfiltered"
}

platforms_test_armlet_init_seccomp_off_wins_over_the_flag_with_a_warning() { :; }
test_armlet_init_seccomp_off_wins_over_the_flag_with_a_warning() {
  local d; d=$(tmpdir)
  "$ARMLET" seccomp compile default --platform "$(oci_of "$PLATFORM")" -o "$d/f.bpf"
  capture env ARMLET_INIT_SECCOMP=off "$INIT" --seccomp "$d/f.bpf" -- /bin/sh -c 'grep ^Seccomp: /proc/self/status'
  assert_eq 0 "$rc" "$err"
  assert_eq "armlet-init: ARMLET_INIT_SECCOMP=off: running WITHOUT the filter $d/f.bpf" "$err"
  assert_contains "$out" "Seccomp:	0"
  # the file is not even read: a broken one does not stop the run
  printf 'abc' >"$d/broken.bpf"
  capture env ARMLET_INIT_SECCOMP=off "$INIT" --seccomp "$d/broken.bpf" -- true
  assert_eq 0 "$rc" "$err"
  # --seccomp off is no filter, without a warning; another variable value does not win
  capture "$INIT" --seccomp off -- true
  assert_eq 0 "$rc"; assert_eq "" "$err"
  capture env ARMLET_INIT_SECCOMP="$d/f.bpf" "$INIT" --seccomp "$d/broken.bpf" -- true
  assert_eq 2 "$rc" "the flag wins over a file named by the variable"
}

NATIVE=$(init_for linux-amd64)
run_tests
