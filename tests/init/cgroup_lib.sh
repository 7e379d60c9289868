# tests/init/cgroup_lib.sh — cgroup helpers shared by t_cgroup.sh and t_gomaxprocs.sh
# (sourced after tests/lib.sh): real v1 cgroups of this host, removed when the test
# exits, and a cgroup2-shaped tree a real init reads as its own (run_v2). Not a test file.

CPU_V1=/sys/fs/cgroup/cpu
CPUSET_V1=/sys/fs/cgroup/cpuset
MEM_V1=/sys/fs/cgroup/memory
NCPU=$(nproc --all)
NATIVE_INIT=$(init_for linux-amd64)

# cg_make DIR...: create cgroup directories, removed (deepest first) when the test exits.
_cgs=()
cg_make() {
  local d
  for d in "$@"; do mkdir -p "$d"; _cgs=("$d" "${_cgs[@]}"); done
  trap cg_cleanup EXIT
}
cg_cleanup() {
  local d i
  for d in "${_cgs[@]}"; do
    # (removable once its last process has gone: retried for up to 30 s)
    for ((i = 0; i < 600; i++)); do rmdir "$d" 2>/dev/null && break; [ -d "$d" ] || break; sleep 0.05; done
  done
}
need_v1() { [ -w "$1/cgroup.procs" ] || skip "no writable cgroup v1 hierarchy at $1"; }

# in_cgroups "DIR..." CMD...: run CMD in a shell first moved into each cgroup DIR.
in_cgroups() {
  local dirs=$1; shift
  sh -c 'for d in $1; do echo $$ > "$d/cgroup.procs" || exit 99; done; shift; exec "$@"' sh "$dirs" "$@"
}

# run_v2 TREE-SETUP CGROUP-PATH INIT-ARGS...: in a private mount namespace, mount a tmpfs
# over /sys/fs/cgroup, let TREE-SETUP (a shell snippet, cwd = that mount) lay out the
# cgroup2 files, make /proc/<pid>/cgroup say "0::CGROUP-PATH" and /proc/<pid>/mountinfo
# list a cgroup2 mount at /sys/fs/cgroup, then exec the init with INIT-ARGS.
run_v2() {
  local setup=$1 path=$2; shift 2
  local d; d=$(tmpdir)
  printf '0::%s\n' "$path" >"$d/cgroup"
  printf '40 30 0:99 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n' >"$d/mountinfo"
  unshare -m sh -c '
    mount --make-rprivate / && mount -t tmpfs armlet-v2 /sys/fs/cgroup && cd /sys/fs/cgroup &&
    eval "$1" && mount --bind "$2/cgroup" /proc/$$/cgroup && mount --bind "$2/mountinfo" /proc/$$/mountinfo &&
    shift 2 && exec "$@"' sh "$setup" "$d" "$@"
}
