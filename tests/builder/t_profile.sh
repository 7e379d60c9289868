#!/usr/bin/env bash
# armlet profile: runs a real server (Debian's busybox httpd) sandboxed in a rootfs with
# the rootfs evicted from the page cache, and lists what it read until it answered.
. "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"    # free_port

source "$TOP/tests/builder/profile_lib.sh"   # busybox_rootfs

# A rootfs with busybox httpd, its config, a page it serves, and a 3 MiB file it never
# touches.
make_rootfs() {
  local r; r=$(busybox_rootfs profile)
  mkdir -p "$r/www"
  ln -s busybox "$r/bin/httpd"
  printf 'H:/www\n' >"$r/etc/httpd.conf"
  echo '<h1>hello</h1>' >"$r/www/index.html"
  head -c 3145728 /dev/urandom >"$r/www/untouched.bin"
  echo 'root:x:0:0:root:/:/bin/sh' >"$r/etc/passwd"
  sync
  echo "$r"
}

test_profile_records_the_server_and_files_it_read_but_not_untouched_ones() {
  local r port; r=$(make_rootfs); port=$(free_port)
  capture "$ARMLET" profile "$r" --url "http://127.0.0.1:$port/" -o "$r.list" -- \
    /bin/httpd -f -p "127.0.0.1:$port" -c /etc/httpd.conf
  assert_eq 0 "$rc" "profile exit status ($err)"
  assert_contains "$err" "resident when the URL answered"
  local list; list=$(cat "$r.list")
  assert_eq /bin/busybox "$(head -1 "$r.list" | cut -d' ' -f1)" "first line is the entrypoint program"
  assert_contains "$list" "/etc/httpd.conf 0:"
  assert_contains "$list" "/www/index.html 0:"
  assert_not_contains "$list" "/www/untouched.bin"
  assert_not_contains "$list" "/etc/passwd"
  # the server is stopped afterwards: nothing listens on the port any more
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "httpd still answers on $port after profile"
  rm -rf "$r" "$r.list"
}

test_profile_lists_files_in_order_of_first_read() {
  local r; r=$(make_rootfs)
  # busybox sh reads b.txt, then (at least a tenth of a second later: more than the
  # kernel's coarse clock step, so the atimes differ whatever the load) a.txt: the list
  # follows that order, not the alphabet. --seconds only bounds a hang: profile returns
  # when the program exits.
  echo b >"$r/www/b.txt"; echo a >"$r/www/a.txt"; sync
  capture "$ARMLET" profile "$r" --seconds 60 -- /bin/busybox sh -c \
    'read x </www/b.txt; /bin/busybox sleep 0.1; read y </www/a.txt'
  assert_eq 0 "$rc" "profile exit status ($err)"
  assert_contains "$err" "when the program exited"
  # (each path where it first appears: in first-touch order busybox comes back between)
  local order; order=$(echo "$out" | cut -d' ' -f1 | awk '!seen[$0]++' | tr '\n' ' ')
  assert_eq "/bin/busybox /www/b.txt /www/a.txt " "$order"
  rm -rf "$r"
}

# With tracefs, the list follows the program's first touch block by block: the end of a
# data file, then another file, then the data file's start; each part read once.
test_profile_lists_blocks_in_the_order_the_program_first_touched_them() {
  local r; r=$(make_rootfs)
  mkdir -p "$r/data"; head -c 1048576 /dev/urandom >"$r/data/big"; echo a >"$r/www/a.txt"; sync
  capture "$ARMLET" profile "$r" --seconds 60 -- /bin/busybox sh -c \
    'busybox dd if=/data/big of=/dev/null bs=4096 skip=200 count=1 2>/dev/null
     read x </www/a.txt
     busybox dd if=/data/big of=/dev/null bs=4096 count=1 2>/dev/null'
  assert_eq 0 "$rc" "profile exit status ($err)"
  case "$err" in *"no first-touch order"*)
    skip "this kernel or machine cannot trace page-cache insertions: $(echo "$err" | grep 'first-touch')";; esac
  local lines; lines=$(echo "$out" | grep -n -E '^/data/big |^/www/a.txt' | tr '\n' '|')
  # (one run: the pages as touched, 200 * 4096 = 819200)
  [[ "$lines" =~ ^[0-9]+:/data/big\ 819200:4096\|[0-9]+:/www/a.txt\ 0:2\|[0-9]+:/data/big\ 0:4096\|$ ]] \
    || fail "want /data/big's block 6, /www/a.txt, /data/big's block 0; got: $out"
  rm -rf "$r"
}

# During the run the disk's read_ahead_kb is 0 (so the list holds touched pages only);
# interrupted, profile puts it back and kills the program.
test_interrupted_profile_restores_readahead_and_stops_the_program() {
  local r ra before; r=$(make_rootfs)
  ra=/sys/dev/block/$(mountpoint -d "$(stat -c %m "$r")")/queue/read_ahead_kb
  [ -w "$ra" ] || ra=/sys/dev/block/$(mountpoint -d "$(stat -c %m "$r")")/../queue/read_ahead_kb
  [ -w "$ra" ] || skip "no writable read_ahead_kb for $r's disk"
  before=$(cat "$ra")
  [ "$before" != 0 ] || skip "the disk's read_ahead_kb is already 0"
  # The program says it started through a folder its user (nonroot) may write; it is
  # found on the host by a command line no other process has.
  mkdir -p "$r/run" && chown 65532:65532 "$r/run"
  local marker="55.$$$RANDOM"
  "$ARMLET" profile "$r" --seconds 60 -- /bin/busybox sh -c "echo up >/run/started; exec /bin/busybox sleep $marker" 2>/dev/null &
  local p=$! i
  for ((i = 0; i < 600; i++)); do [ -s "$r/run/started" ] && pgrep -f "busybox sleep $marker" >/dev/null && break; sleep 0.05; done
  assert_eq 0 "$(cat "$ra")" "read_ahead_kb during the run"
  local child; child=$(pgrep -f "busybox sleep $marker") || fail "the program did not start"
  kill -INT "$p"
  rc=0; wait "$p" || rc=$?
  assert_eq 130 "$rc" "exit status after SIGINT"
  assert_eq "$before" "$(cat "$ra")" "read_ahead_kb after the interrupted run"
  for ((i = 0; i < 600; i++)); do kill -0 "$child" 2>/dev/null || break; sleep 0.05; done
  ! kill -0 "$child" 2>/dev/null || fail "the profiled program (pid $child) survived"
  # ...and removes its tracing instance (tracefs keeps one until it is removed)
  local left; left=$(unshare -m sh -c 'mount -t tracefs t /sys/kernel/tracing 2>/dev/null &&
                                        ls /sys/kernel/tracing/instances') || true
  case " $left " in *armlet-profile-$p*) fail "tracing instance armlet-profile-$p left behind";; esac
  rm -rf "$r"
}

test_profile_fails_when_the_url_never_answers() {
  local r port; r=$(make_rootfs); port=$(free_port)
  capture "$ARMLET" profile "$r" --url "http://127.0.0.1:$port/" --seconds 1 -- /bin/busybox sleep 30
  assert_eq 1 "$rc"
  assert_contains "$err" "timed out before http://127.0.0.1:$port/ answered"
  rm -rf "$r"
}

test_profile_refuses_a_missing_program_and_the_hosts_root() {
  local r; r=$(make_rootfs)
  capture "$ARMLET" profile "$r" -- /bin/nosuchprogram
  assert_eq 1 "$rc"
  assert_contains "$err" "no program /bin/nosuchprogram in it"
  capture "$ARMLET" profile "$r"
  assert_eq 2 "$rc" "no entrypoint is a usage error"
  # the host's own root is refused: eviction would re-stamp every file's atime
  capture "$ARMLET" profile / -- /bin/true
  assert_eq 1 "$rc"
  assert_contains "$err" "/ is the host's root"
  # refused before anything of the host is read: a program that is nowhere still gets
  # the host-root refusal, not "no program" (which would need the whole tree walked)
  capture "$ARMLET" profile / -- /no/such/program
  assert_eq 1 "$rc"
  assert_contains "$err" "/ is the host's root"
  assert_not_contains "$err" "no program"
  rm -rf "$r"
}

test_entrypoint_only_lists_the_programs_load_segments() {
  local r; r=$(make_rootfs)
  capture "$ARMLET" profile "$r" --entrypoint-only -- /bin/httpd
  assert_eq 0 "$rc" "$err"
  # what readelf says, as OFFSET:FILESZ in decimal, for every PT_LOAD with file bytes, in
  # the init's calls of at most 128 KiB (as armlet build writes it)
  local want
  want=$(readelf -lW "$r/bin/busybox" | while read -r t off va pa fs rest; do
    if [ "$t" = LOAD ] && [ $((fs)) -gt 0 ]; then
      for ((o = 0; o < fs; o += 131072)); do
        printf ' %d:%d' $((off + o)) $(( fs - o < 131072 ? fs - o : 131072 ))
      done
    fi; done)
  [ -n "$want" ] || fail "readelf found no PT_LOAD in busybox"
  assert_eq "/bin/busybox$want" "$out"
  rm -rf "$r"
}

# An arm64 server (Debian's busybox-static:arm64) runs through qemu binfmt: the F flag
# keeps the interpreter reachable from inside the sandbox.
test_profile_runs_a_foreign_platform_server_through_qemu() {
  local bb=$TOP/recipes/dist/busybox-arm64
  busybox_dist
  grep -qs flags:.*F /proc/sys/fs/binfmt_misc/qemu-aarch64 || fail "qemu-aarch64 binfmt with the F flag is not registered (ci/install-deps)"
  local r port; r=$(make_rootfs); port=$(free_port)
  cp "$bb" "$r/bin/busybox"; sync
  capture "$ARMLET" profile "$r" --url "http://127.0.0.1:$port/" -- \
    /bin/httpd -f -p "127.0.0.1:$port" -c /etc/httpd.conf
  assert_eq 0 "$rc" "profile exit status ($err)"
  assert_eq /bin/busybox "$(echo "$out" | head -1 | cut -d' ' -f1)"
  assert_contains "$out" "/www/index.html 0:"
  assert_not_contains "$out" "/www/untouched.bin"
  rm -rf "$r"
}

# The list profile writes is what the init reads: chrooted into the same rootfs, the init
# reads every line without complaint.
test_profiled_list_is_read_by_the_init_without_errors() {
  local r port; r=$(make_rootfs); port=$(free_port)
  capture "$ARMLET" profile "$r" --url "http://127.0.0.1:$port/" -o "$r.list" -- \
    /bin/httpd -f -p "127.0.0.1:$port" -c /etc/httpd.conf
  assert_eq 0 "$rc" "$err"
  mkdir -p "$r/sbin" "$r/etc/armlet"
  cp "$(init_for linux-amd64)" "$r/sbin/armlet-init"
  cp "$r.list" "$r/etc/armlet/preload"
  local n; n=$(grep -c . "$r.list")
  capture chroot "$r" /sbin/armlet-init --verbose --preload /etc/armlet/preload -- /bin/busybox true
  assert_eq 0 "$rc" "$err"
  assert_not_contains "$err" "skipped"
  assert_not_contains "$err" "No such file"
  rm -rf "$r" "$r.list"
}

run_tests
