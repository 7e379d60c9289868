#!/usr/bin/env bash
# `armlet seccomp compile` + armlet-init --seccomp. Natively on amd64 the kernel enforces
# the filter: a denied syscall fails with the profile's errno, a number the profile
# cannot know with ENOSYS (as without the filter), the rest works, real programs run
# under `default` and Docker's default.json (tests/fixtures/seccomp). qemu-user does not enforce a
# guest's filter (it refuses to install one), so the arm64, arm/v7 and arm/v6 filters are
# run by tests/tools/bpf_eval on seccomp_data with that arch's AUDIT_ARCH and syscall
# numbers. A malformed BPF file stops the init with 2 before the child starts. With
# --cpu/--memory on too, the filter loads while the init reads the cgroups: the variables
# still arrive (through a pipe), no pipe is left open, and a profile denying read is 126.
source "$(dirname "$0")/../lib.sh"

PROFILES=$TOP/tests/fixtures/seccomp   # Docker's profiles (moby; README.md there)
NATIVE_INIT=$(init_for linux-amd64)
BPF_EVAL=$OUT/test-helpers/bpf_eval
mkdir -p "$OUT/test-helpers"
if [ ! -x "$BPF_EVAL" ] || [ "$TOP/tests/tools/bpf_eval.c" -nt "$BPF_EVAL" ] ||
   [ "$TOP/common/bpf_eval.h" -nt "$BPF_EVAL" ]; then
  cc -std=c11 -O2 -Wall -Wextra -Werror -I"$TOP/common" -o "$BPF_EVAL.$$" "$TOP/tests/tools/bpf_eval.c" &&
    mv -f "$BPF_EVAL.$$" "$BPF_EVAL" || { echo "cannot build bpf_eval" >&2; exit 1; }
fi

oci_of() { case "$1" in linux-amd64) echo linux/amd64;; linux-arm64) echo linux/arm64;;
                        linux-arm-v7) echo linux/arm/v7;; linux-arm-v6) echo linux/arm/v6;; esac; }

# A profile that allows everything but mkdir/mkdirat, which fail with ENOSYS (38).
deny_mkdir_profile() {
  cat >"$1" <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "archMap": [
    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
  ],
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
  ]
}
EOF
}

test_compile_cli_usage_and_field_errors() {
  local d; d=$(tmpdir)
  capture "$ARMLET" seccomp --help
  assert_eq 0 "$rc"; assert_contains "$out" "seccomp compile PROFILE.json|default --platform P -o FILE"
  capture "$ARMLET" seccomp compile default --platform linux/arm64
  assert_eq 2 "$rc"; assert_contains "$err" "-o FILE is required"
  capture "$ARMLET" seccomp compile default --platform linux/s390x -o "$d/x.bpf"
  assert_eq 2 "$rc"; assert_contains "$err" "unknown platform 'linux/s390x'"
  printf '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},
{"names":["getpid"],"action":"SCMP_ACT_ALLOW"},{"names":["gettid"],"action":"SCMP_ACT_ALLOW"},
{"names":["write"],"action":"SCMP_ACT_FOO"}]}' >"$d/profile.json"
  capture "$ARMLET" seccomp compile "$d/profile.json" --platform linux/amd64 -o "$d/x.bpf"
  assert_eq 1 "$rc"
  assert_eq "armlet: seccomp compile: $d/profile.json: syscalls[3].action: unknown action \"SCMP_ACT_FOO\"" "$err"
  [ ! -e "$d/x.bpf" ] || fail "a failed compile left an output file"
  capture "$ARMLET" seccomp compile "$d/missing.json" --platform linux/amd64 -o "$d/x.bpf"
  assert_eq 1 "$rc"; assert_contains "$err" "missing.json: No such file or directory"
  # typos: a syscall no architecture has, an architecture name outside the spec's list
  printf '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},
{"names":["mkdir","mkdri"],"action":"SCMP_ACT_ALLOW"}]}' >"$d/typo.json"
  capture "$ARMLET" seccomp compile "$d/typo.json" --platform linux/arm64 -o "$d/x.bpf"
  assert_eq 1 "$rc"
  assert_contains "$err" "armlet: seccomp compile: $d/typo.json: syscalls[1].names[1]: unknown syscall \"mkdri\""
  printf '{"defaultAction":"SCMP_ACT_ERRNO","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_I386"]}]}' >"$d/arch.json"
  capture "$ARMLET" seccomp compile "$d/arch.json" --platform linux/amd64 -o "$d/x.bpf"
  assert_eq 1 "$rc"
  assert_eq "armlet: seccomp compile: $d/arch.json: archMap[0].subArchitectures[1]: unknown architecture \"SCMP_ARCH_I386\"" "$err"
  [ ! -e "$d/x.bpf" ] || fail "a failed compile left an output file"
}

# Docker's argument values are uint64: 2^63 and up compile exactly.
test_argument_values_from_2_pow_63_compile_exactly() {
  local d; d=$(tmpdir)
  printf '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW",
"args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]},{"names":["getpid"],"action":"SCMP_ACT_ALLOW",
"args":[{"index":1,"value":9223372036854775808,"valueTwo":9223372036854775808,"op":"SCMP_CMP_MASKED_EQ"}]}]}' >"$d/big.json"
  capture "$ARMLET" seccomp compile "$d/big.json" --platform linux/amd64 -o "$d/big.bpf"
  assert_eq 0 "$rc" "$err"
  assert_eq ALLOW "$("$BPF_EVAL" "$d/big.bpf" x86_64 135 0xffffffffffffffff)"
  assert_eq "ERRNO 1" "$("$BPF_EVAL" "$d/big.bpf" x86_64 135 0xffffffff)"
  assert_eq ALLOW "$("$BPF_EVAL" "$d/big.bpf" x86_64 39 0 0x8000000000000001)"
  assert_eq "ERRNO 1" "$("$BPF_EVAL" "$d/big.bpf" x86_64 39 0 0x7fffffffffffffff)"
}

test_compile_compacts_libseccomps_filter_and_says_by_how_much() {
  local d p n raw; d=$(tmpdir)
  for p in linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6; do
    capture "$ARMLET" seccomp compile default --platform $p -o "$d/a.bpf" --verbose
    assert_eq 0 "$rc" "$err"
    # one line, no "using libseccomp's filter as is" warning: the self-check passed
    assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "$err"
    n=$(printf '%s' "$err" | sed -n 's/.*: \([0-9]*\) instructions (uncompacted: \([0-9]*\) = .*/\1 \2/p')
    [ -n "$n" ] || fail "$p: --verbose does not give both lengths: $err"
    set -- $n
    assert_eq "$1" $(( $(stat -c %s "$d/a.bpf") / 8 )) "$p: reported length"
    [ "$1" -lt $(( $2 / 2 )) ] || fail "$p: compacted $1 instructions, libseccomp $2: not under half"
    "$ARMLET" seccomp compile default --platform $p --no-compact -o "$d/b.bpf"
    assert_eq "$2" $(( $(stat -c %s "$d/b.bpf") / 8 )) "$p: --no-compact is the uncompacted program"
  done
}

test_default_is_dockers_default_for_a_process_without_capabilities() {
  local d p; d=$(tmpdir)
  # the embedded profile is up to date with the generator and Docker's file
  bash "$TOP/tests/tools/gen-seccomp-default" "$PROFILES/default.json" >"$d/gen.c"
  cmp -s "$d/gen.c" "$TOP/builder/seccomp/seccomp_default.c" || fail "builder/seccomp/seccomp_default.c is stale: rerun tests/tools/gen-seccomp-default"
  # and compiles to exactly the filter of Docker's default.json (caps not granted)
  for p in linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6; do
    "$ARMLET" seccomp compile default --platform $p -o "$d/a.bpf"
    "$ARMLET" seccomp compile "$PROFILES/default.json" --platform $p -o "$d/b.bpf"
    cmp -s "$d/a.bpf" "$d/b.bpf" || fail "$p: default differs from Docker's default.json"
  done
  # the other formats compile too
  "$ARMLET" seccomp compile "$PROFILES/default-old-format.json" --platform linux/amd64 -o "$d/o.bpf"
  "$ARMLET" seccomp compile "$PROFILES/conditional_include.json" --platform linux/arm64 -o "$d/c.bpf"
  assert_eq 0 $(( $(stat -c %s "$d/o.bpf") % 8 ))
}

test_denied_syscall_fails_with_the_profiles_errno_natively() {
  local d; d=$(tmpdir)
  deny_mkdir_profile "$d/p.json"
  "$ARMLET" seccomp compile "$d/p.json" --platform linux/amd64 -o "$d/p.bpf"
  capture "$NATIVE_INIT" --seccomp "$d/p.bpf" -- sh -c "mkdir '$d/newdir'; echo mkdir=\$?; touch '$d/file' && echo touch=ok"
  assert_eq 0 "$rc"
  assert_eq "mkdir=1
touch=ok" "$out"
  assert_contains "$err" "Function not implemented"
  [ ! -d "$d/newdir" ] || fail "mkdir was not denied"
  # a 32-bit x86 (compat arch) syscall is filtered by number too: mkdir is 39 on i386,
  # getpid is 39 on x86_64 — the arch check keeps them apart
  assert_eq "ERRNO 38" "$("$BPF_EVAL" "$d/p.bpf" x86 39)"
  assert_eq "ALLOW" "$("$BPF_EVAL" "$d/p.bpf" x86_64 39)"
}

# syscall(NR) for each NR argument (all arguments 0), printed as "NR=ERRNO-NAME" or "NR=ok".
SYSCALLS_PY='import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
print(" ".join(a + "=" + ("ok" if libc.syscall(ctypes.c_long(int(a, 0)), 0, 0, 0, 0, 0, 0) >= 0
                          else errno.errorcode[ctypes.get_errno()]) for a in sys.argv[1:]))'

# What the profile cannot know answers ENOSYS, as the kernel does without the filter, so
# programs fall back on newer kernels; a known syscall it does not allow keeps its errno.
# 999: above every number; 0x3fffffff: the top of x86_64's; 462: mseal (Linux 6.10), which
# Docker's default allows but libseccomp 2.5.4 has no name for: ENOSYS, as on a kernel
# without it (whatever this libseccomp says, the kernel must agree with bpf_eval); 169
# reboot and 180 nfsservctl: known, not allowed. (Not 335, uretprobe: the kernel exempts
# it from seccomp and kills a caller outside a uprobe.)
test_unknown_syscalls_get_enosys_denied_known_ones_the_profiles_errno_natively() {
  local d; d=$(tmpdir)
  "$ARMLET" seccomp compile default --platform linux/amd64 -o "$d/default.bpf"
  "$ARMLET" seccomp compile default --platform linux/amd64 --native-only -o "$d/native.bpf"
  capture "$NATIVE_INIT" -- python3 -c "$SYSCALLS_PY" 999 0x3fffffff 39
  assert_eq 0 "$rc" "$err"
  assert_eq "999=ENOSYS 0x3fffffff=ENOSYS 39=ok" "$out" "without a filter:"
  local mseal=ok; [ "$("$BPF_EVAL" "$d/default.bpf" x86_64 462)" = "ERRNO 38" ] && mseal=ENOSYS
  for f in default native; do
    capture "$NATIVE_INIT" --seccomp "$d/$f.bpf" -- python3 -c "$SYSCALLS_PY" 999 0x3fffffff 462 169 180 39
    assert_eq 0 "$rc" "$f: $err"
    assert_eq "999=ENOSYS 0x3fffffff=ENOSYS 462=$mseal 169=EPERM 180=EPERM 39=ok" "$out" "$f:"
  done
  # the profile's own errno for what it knows; ENOSYS still for what it does not
  jq '.defaultErrnoRet = 13' "$PROFILES/default.json" >"$d/eacces.json"
  "$ARMLET" seccomp compile "$d/eacces.json" --platform linux/amd64 -o "$d/eacces.bpf"
  capture "$NATIVE_INIT" --seccomp "$d/eacces.bpf" -- python3 -c "$SYSCALLS_PY" 999 169 39
  assert_eq "999=ENOSYS 169=EACCES 39=ok" "$out" "defaultErrnoRet 13: $err"
  # a profile that allows by default adds nothing: the kernel answers for itself
  deny_mkdir_profile "$d/p.json"
  capture "$ARMLET" seccomp compile "$d/p.json" --platform linux/amd64 -o "$d/p.bpf" --verbose
  assert_contains "$err" "+ ENOSYS prelude 0)"
  capture "$NATIVE_INIT" --seccomp "$d/p.bpf" -- python3 -c "$SYSCALLS_PY" 999 83
  assert_eq "999=ENOSYS 83=ENOSYS" "$out" "allow-by-default profile denying mkdir (83) with ENOSYS:"
}

test_real_programs_run_under_default_and_dockers_default() {
  local d f; d=$(tmpdir)
  "$ARMLET" seccomp compile default --platform linux/amd64 -o "$d/default.bpf"
  "$ARMLET" seccomp compile "$PROFILES/default.json" --platform linux/amd64 -o "$d/docker.bpf"
  for f in default docker; do
    capture "$NATIVE_INIT" --seccomp "$d/$f.bpf" -- /usr/bin/python3 -c '
import json, os, subprocess, tempfile, threading, socket
t = threading.Thread(target=lambda: None); t.start(); t.join()
with tempfile.TemporaryDirectory() as x:
    os.mkdir(x + "/d"); open(x + "/d/f", "w").write("ok")
    s = socket.socketpair(); s[0].send(b"hi"); assert s[1].recv(2) == b"hi"
    print(subprocess.run(["sh", "-c", "cat " + x + "/d/f"], capture_output=True, text=True).stdout)'
    assert_eq 0 "$rc" "$f: $err"
    assert_eq ok "$out" "$f:"
    # what needs a capability is refused: a user namespace (unshare), mount
    capture "$NATIVE_INIT" --seccomp "$d/$f.bpf" -- unshare -r true
    assert_ne 0 "$rc" "$f: unshare must be refused"
    assert_contains "$err" "Operation not permitted"
  done
  # without the filter the same unshare works here (root): the filter made the difference
  capture "$NATIVE_INIT" -- unshare -r true
  assert_eq 0 "$rc" "unfiltered unshare: $err"
}

test_filter_is_installed_after_the_user_drop() {
  [ "$(id -u)" = 0 ] || skip "needs root to change user"
  local d; d=$(tmpdir)
  # a profile that forbids changing ids: the drop must happen before it is installed
  printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["setgroups","setresuid","setresgid","setuid","setgid"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}' >"$d/p.json"
  "$ARMLET" seccomp compile "$d/p.json" --platform linux/amd64 -o "$d/p.bpf"
  capture "$NATIVE_INIT" --user nonroot --seccomp "$d/p.bpf" -- sh -c 'id -u; grep NoNewPrivs /proc/self/status | tr -d "\t"; grep ^Seccomp: /proc/self/status | tr -d "\t"'
  assert_eq 0 "$rc" "$err"
  assert_eq "65532
NoNewPrivs:1
Seccomp:2" "$out"
}

# With a filter and --cpu/--memory on, the child loads its filter while the init reads the
# cgroups, and gets the variables through a pipe afterwards (init/setup.h). A v1 cpu
# cgroup with a 1-CPU quota and a v1 memory cgroup of 512 MiB, removed when the test exits.
CPU_V1=/sys/fs/cgroup/cpu
MEM_V1=/sys/fs/cgroup/memory
# limit_cgroups NAME: make them, set $CGS to both directories (for in_cgroups).
limit_cgroups() {
  [ -w "$CPU_V1/cgroup.procs" ] && [ -w "$MEM_V1/cgroup.procs" ] || skip "no writable cgroup v1 cpu and memory hierarchies"
  local here; here=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
  CGS="$CPU_V1/armlet-test-$$-$1 $MEM_V1${here%/}/armlet-test-$$-$1"
  # (A cgroup can be removed once its last process has gone: retried for up to 30 s.)
  trap 'for c in $CGS; do for i in $(seq 600); do rmdir "$c" 2>/dev/null && break; [ -d "$c" ] || break; sleep 0.05; done; done' EXIT
  local c; for c in $CGS; do mkdir "$c"; done
  echo 100000 >"$CPU_V1/armlet-test-$$-$1/cpu.cfs_quota_us"
  echo 536870912 >"$MEM_V1${here%/}/armlet-test-$$-$1/memory.limit_in_bytes"
}
# in_cgroups CMD...: run CMD moved into the cgroups $CGS.
in_cgroups() { sh -c 'for d in $1; do echo $$ > "$d/cgroup.procs" || exit 99; done; shift; exec "$@"' sh "$CGS" "$@"; }

test_filter_loads_while_the_init_reads_the_cgroups_and_the_env_still_arrives() {
  local d; d=$(tmpdir)
  limit_cgroups env
  "$ARMLET" seccomp compile default --platform linux/amd64 -o "$d/default.bpf"
  # the pipes the child and the init hold, to compare with a run that has no pipe. They
  # are read once the init is in its main loop, which it enters after closing its ends of
  # the pipe: a USR1 it forwards back to the child is the event that shows it got there.
  # The shell lists them into a file ($0) itself: a pipeline's subshell would see the
  # pipes the shell holds while it sets the pipeline up.
  local show='echo $GOMAXPROCS $NPROC ${GOMEMLIMIT-unset}; grep ^Seccomp: /proc/self/status | tr -d "\t"
    trap "got=1" USR1; got=; kill -USR1 $PPID; i=0; while [ -z "$got" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
    for f in /proc/$$/fd/* /proc/$PPID/fd/*; do readlink "$f"; done >"$0"; grep pipe: "$0" | sort | tr "\n" " "'
  capture in_cgroups "$NATIVE_INIT" --verbose --cpu floor --cpu-env NPROC --memory 0.9 --seccomp "$d/default.bpf" -- sh -c "$show" "$d/fds"
  assert_eq 0 "$rc" "$err"
  assert_eq "1 1 483183820
Seccomp:2" "$(echo "$out" | head -2)"
  assert_contains "$err" "GOMAXPROCS=1 (floor)"
  assert_contains "$err" "GOMEMLIMIT=483183820"
  local pipes; pipes=$(echo "$out" | sed -n 3p)
  # no filter: the sequential path, no pipe; the same pipes (inherited ones only) are open
  capture in_cgroups "$NATIVE_INIT" --cpu floor --cpu-env NPROC --memory 0.9 -- sh -c "$show" "$d/fds"
  assert_eq "1 1 483183820
Seccomp:0" "$(echo "$out" | head -2)"
  assert_eq "$(echo "$out" | sed -n 3p)" "$pipes" "pipes left open in the child or the init:"
  # what the user set is never overridden, on this path too
  capture in_cgroups env GOMAXPROCS=7 GOMEMLIMIT=1GiB "$NATIVE_INIT" --verbose --cpu floor --cpu-env NPROC \
    --memory 0.9 --seccomp "$d/default.bpf" -- sh -c 'echo $GOMAXPROCS $NPROC $GOMEMLIMIT'
  assert_eq 0 "$rc" "$err"
  assert_eq "7 1 1GiB" "$out"
  assert_contains "$err" "GOMAXPROCS is set already"
  assert_contains "$err" "GOMEMLIMIT is set already"
  # the init steps off the child's CPU while it reads the cgroups, then takes its own CPU
  # mask back (before it writes the pipe the child waits on); the child keeps the mask it
  # was started with
  local mine; mine=$(grep Cpus_allowed_list /proc/self/status | tr -d "\t")
  capture in_cgroups "$NATIVE_INIT" --cpu floor --seccomp "$d/default.bpf" -- sh -c \
    'grep -h Cpus_allowed_list /proc/$PPID/status /proc/$$/status | tr -d "\t"'
  assert_eq "$mine
$mine" "$out" "init, child:"
  # with one CPU allowed there is nowhere to step aside to: the same result, no move
  capture in_cgroups taskset -c 0 "$NATIVE_INIT" --cpu ceil --seccomp "$d/default.bpf" -- sh -c \
    'echo $GOMAXPROCS; grep -h Cpus_allowed_list /proc/$PPID/status | tr -d "\t"'
  assert_eq 0 "$rc" "$err"
  assert_eq "1
Cpus_allowed_list:0" "$out"
}

test_profile_denying_read_with_cpu_on_exits_126_and_says_why() {
  local d; d=$(tmpdir)
  printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO"}]}' >"$d/p.json"
  "$ARMLET" seccomp compile "$d/p.json" --platform linux/amd64 -o "$d/p.bpf"
  capture "$NATIVE_INIT" --cpu floor --seccomp "$d/p.bpf" -- touch "$d/ran"
  assert_eq 126 "$rc"
  assert_eq "armlet-init: --seccomp: cannot receive the environment from the init (the profile must allow read): read: Operation not permitted" "$err"
  [ ! -e "$d/ran" ] || fail "the program ran"
  # without --cpu/--memory nothing is read after the filter: a static program that reads
  # nothing itself (the init's --version) runs under the same profile
  capture "$NATIVE_INIT" --seccomp "$d/p.bpf" -- "$NATIVE_INIT" --version
  assert_eq 0 "$rc" "$err"
  assert_contains "$out" "armlet-init"
}

# Every platform's init takes the pipe path too (under qemu-user the filter is refused
# with a warning, and the variables still come through the pipe).
platforms_test_cpu_and_memory_with_a_filter_reach_the_child() { :; }
test_cpu_and_memory_with_a_filter_reach_the_child() {
  local d; d=$(tmpdir)
  limit_cgroups p
  deny_mkdir_profile "$d/p.json"
  "$ARMLET" seccomp compile "$d/p.json" --platform "$(oci_of "$PLATFORM")" -o "$d/p.bpf"
  capture in_cgroups "$INIT" --cpu ceil --memory 0.5 --seccomp "$d/p.bpf" -- sh -c 'echo $GOMAXPROCS $GOMEMLIMIT'
  assert_eq 0 "$rc" "$err"
  assert_eq "1 268435456" "$out"
}

# Foreign arches: evaluate the exported filter on that arch's seccomp_data.
platforms_test_filters_decide_by_each_archs_own_syscall_numbers() { :; }
test_filters_decide_by_each_archs_own_syscall_numbers() {
  local d; d=$(tmpdir)
  local oci; oci=$(oci_of "$PLATFORM")
  "$ARMLET" seccomp compile default --platform "$oci" -o "$d/default.bpf"
  deny_mkdir_profile "$d/p.json"
  "$ARMLET" seccomp compile "$d/p.json" --platform "$oci" -o "$d/p.bpf"
  ev() { "$BPF_EVAL" "$@"; }
  case $PLATFORM in
    linux-arm64)
      assert_eq ALLOW "$(ev "$d/default.bpf" aarch64 34)" "mkdirat"
      assert_eq ALLOW "$(ev "$d/default.bpf" aarch64 172)" "getpid"
      assert_eq "ERRNO 1" "$(ev "$d/default.bpf" aarch64 40)" "mount"
      assert_eq "ERRNO 1" "$(ev "$d/default.bpf" aarch64 142)" "reboot"
      assert_eq ALLOW "$(ev "$d/default.bpf" arm 323)" "compat arm mkdirat"
      assert_eq ALLOW "$(ev "$d/default.bpf" arm 983045)" "compat ARM set_tls"
      assert_eq "ERRNO 38" "$(ev "$d/p.bpf" aarch64 34)"
      assert_eq "ERRNO 38" "$(ev "$d/p.bpf" arm 323)"
      assert_eq "ERRNO 38" "$(ev "$d/p.bpf" arm 39)"
      assert_eq ALLOW "$(ev "$d/p.bpf" aarch64 39)" "39 is umount2 on arm64, not mkdir"
      assert_eq KILL_THREAD "$(ev "$d/default.bpf" x86_64 83)" "foreign arch"
      assert_eq KILL_THREAD "$(ev "$d/p.bpf" x86 39)" "foreign arch"
      # ENOSYS where libseccomp has no name: above, in aarch64's reserved 244..259, compat
      # arm above and in its holes (17) and in the ARM private range; get_tls (0xf0006)
      # is known and not allowed
      local nr; for nr in 999 244 259 0x3fffffff 0xffffffff; do
        assert_eq "ERRNO 38" "$(ev "$d/default.bpf" aarch64 $nr)" "aarch64 $nr"; done
      for nr in 999 17 0xf0000 0xf0007 0xf07ff 0xf0800 0x100000 0xffffffff; do
        assert_eq "ERRNO 38" "$(ev "$d/default.bpf" arm $nr)" "compat arm $nr"; done
      assert_eq "ERRNO 1" "$(ev "$d/default.bpf" arm 0xf0006)" "compat arm get_tls";;
    linux-arm-v7|linux-arm-v6)
      assert_eq ALLOW "$(ev "$d/default.bpf" arm 323)" "mkdirat"
      assert_eq ALLOW "$(ev "$d/default.bpf" arm 20)" "getpid"
      assert_eq ALLOW "$(ev "$d/default.bpf" arm 983045)" "ARM set_tls"
      assert_eq "ERRNO 1" "$(ev "$d/default.bpf" arm 21)" "mount"
      assert_eq "ERRNO 38" "$(ev "$d/p.bpf" arm 323)"
      assert_eq "ERRNO 38" "$(ev "$d/p.bpf" arm 39)"
      assert_eq KILL_THREAD "$(ev "$d/default.bpf" aarch64 34)" "arm has no compat arch"
      assert_eq KILL_THREAD "$(ev "$d/default.bpf" x86_64 83)" "foreign arch"
      local nr; for nr in 999 17 0xf0000 0xf0007 0xf07ff 0xf0800 0x100000 0xffffffff; do
        assert_eq "ERRNO 38" "$(ev "$d/default.bpf" arm $nr)" "arm $nr"; done
      assert_eq "ERRNO 1" "$(ev "$d/default.bpf" arm 0xf0006)" "get_tls";;
    linux-amd64)
      assert_eq ALLOW "$(ev "$d/default.bpf" x86_64 258)" "mkdirat"
      assert_eq ALLOW "$(ev "$d/default.bpf" x86 39)" "compat x86 mkdir"
      assert_eq ALLOW "$(ev "$d/default.bpf" x86_64 $((0x40000000 + 39)))" "x32 getpid"
      assert_eq "ERRNO 1" "$(ev "$d/default.bpf" x86_64 165)" "mount"
      assert_eq "ERRNO 38" "$(ev "$d/p.bpf" x86_64 83)"
      assert_eq KILL_THREAD "$(ev "$d/default.bpf" aarch64 34)" "foreign arch"
      # ENOSYS where libseccomp has no name: x86_64 above and its hole 335..423, x86's
      # holes (222) and above, x32's 64-bit-only numbers (16 ioctl: x32's is 514) and above
      local nr; for nr in 999 335 423 0x3fffffff; do
        assert_eq "ERRNO 38" "$(ev "$d/default.bpf" x86_64 $nr)" "x86_64 $nr"; done
      for nr in 222 999 0xffffffff; do assert_eq "ERRNO 38" "$(ev "$d/default.bpf" x86 $nr)" "x86 $nr"; done
      for nr in 16 999 0x3fffffff; do
        assert_eq "ERRNO 38" "$(ev "$d/default.bpf" x86_64 $((0x40000000 + nr)))" "x32 $nr"; done
      assert_eq "ERRNO 1" "$(ev "$d/default.bpf" x86_64 $((0x40000000 + 165)))" "x32 mount"
      # --native-only leaves x32 out: its numbers stay libseccomp's bad-arch kill
      "$ARMLET" seccomp compile default --platform linux/amd64 --native-only -o "$d/native.bpf"
      assert_eq KILL_THREAD "$(ev "$d/native.bpf" x86_64 $((0x40000000 + 39)))" "x32 getpid, native-only"
      assert_eq KILL_THREAD "$(ev "$d/native.bpf" x86_64 $((0x40000000 + 999)))" "x32 999, native-only"
      assert_eq "ERRNO 38" "$(ev "$d/native.bpf" x86_64 999)" "999, native-only";;
  esac
  # the init of this platform accepts the filter; under qemu-user, which refuses guest
  # filters, it says so and runs the program unfiltered rather than failing to start
  capture "$INIT" --seccomp "$d/p.bpf" -- sh -c 'echo started'
  assert_eq 0 "$rc" "$err"
  assert_eq started "$out"
  if [ "$PLATFORM" != linux-amd64 ]; then assert_contains "$err" "running WITHOUT the filter"; fi
}

platforms_test_malformed_bpf_file_exits_2_before_the_child_starts() { :; }
test_malformed_bpf_file_exits_2_before_the_child_starts() {
  local d f; d=$(tmpdir)
  printf 'abcdefg' >"$d/seven-bytes"
  : >"$d/empty"
  head -c $((4097 * 8)) /dev/zero | tr '\0' '\006' >"$d/too-long"
  # JA +5 then RET ALLOW: the jump leaves the program
  printf '\x05\x00\x00\x00\x05\x00\x00\x00\x06\x00\x00\x00\x00\x00\xff\x7f' >"$d/bad-jump"
  # LD W ABS 64 (past seccomp_data), RET
  printf '\x20\x00\x00\x00\x40\x00\x00\x00\x06\x00\x00\x00\x00\x00\xff\x7f' >"$d/bad-load"
  # LD W ABS 0 only: no RET at the end
  printf '\x20\x00\x00\x00\x00\x00\x00\x00' >"$d/no-ret"
  for f in seven-bytes empty too-long bad-jump bad-load no-ret missing; do
    rm -f "$d/ran"
    capture "$INIT" --seccomp "$d/$f" -- touch "$d/ran"
    assert_eq 2 "$rc" "$f:"
    assert_contains "$err" "--seccomp $d/$f"
    [ ! -e "$d/ran" ] || fail "$f: the child ran"
  done
  # exactly 4096 instructions of RET ALLOW is accepted
  for f in $(seq 4096); do printf '\x06\x00\x00\x00\x00\x00\xff\x7f'; done >"$d/max"
  capture "$INIT" --seccomp "$d/max" -- sh -c 'echo ran'
  assert_eq 0 "$rc" "$err"; assert_eq ran "$out"
}

run_tests
