#!/usr/bin/env bash
# Large ranges are read completely: one posix_fadvise(WILLNEED) reads at most the
# device's window, max(read_ahead_kb, max_sectors_kb), so `armlet build` splits the list
# it writes into the image into ranges of at most 128 KiB, and a file listed whole that
# is larger than the window ends fully resident once the init's helper has run.
. "$(dirname "$0")/../lib.sh"
export SOURCE_DATE_EPOCH=1700000000
export ARMLET_INIT_DIR=${ARMLET_INIT_DIR:-$OUT}   # the ASan builder has no inits beside it

BB=/bin/busybox   # Debian's busybox-static (ci/install-deps): the child that waits
CHUNK=131072

workdir() { mkdir -p "$OUT/test-tmp"; mktemp -d "$OUT/test-tmp/preload-split.XXXXXX"; }
evict() { dd of="$1" oflag=nocache conv=notrunc,fdatasync count=0 status=none; }
pages() { fincore --raw --noheadings --output PAGES "$1" | tr -d ' '; }
# The most one WILLNEED call reads on the disk holding $1, in KiB (the kernel's
# force_page_cache_ra: max(read_ahead_kb, max_sectors_kb)); 8192 when sysfs says nothing.
window_kb() {
  local dev pk q ra ms
  dev=$(findmnt -no SOURCE --target "$1" | sed 's/\[.*//')
  pk=$(lsblk -no PKNAME "$dev" 2>/dev/null | head -1)
  q=/sys/block/${pk:-$(basename "$dev")}/queue
  ra=$(cat "$q/read_ahead_kb" 2>/dev/null || echo 0)
  ms=$(cat "$q/max_sectors_kb" 2>/dev/null || echo 0)
  [ "$ra" -gt 0 ] || [ "$ms" -gt 0 ] || { echo 8192; return; }
  echo $(( ra > ms ? ra : ms ))
}
# Run the image's init on list $2 of rootfs $1 with a child that waits (chroot), until
# its helper says it has asked for every range; print the resident pages of $3 then.
preload_pages() {
  local r=$1 list=$2 file=$3 log pid i
  log=$(mktemp "$r/../init.XXXXXX")
  chroot "$r" /sbin/armlet-init --verbose --preload="$list" -- /bin/busybox sleep 120 2>"$log" &
  pid=$!
  # positive event: the helper's last message, after its last fadvise call returned
  for ((i = 0; i < 600; i++)); do
    grep -q 'bytes read ahead' "$log" && break
    sleep 0.05
  done
  grep -q 'bytes read ahead' "$log" || { kill "$pid"; wait "$pid"; fail "init never finished the list: $(cat "$log")"; }
  pages "$file"
  kill "$pid"; wait "$pid" || true
}

# A rootfs with a file larger than four read windows, and the list naming it whole.
setup() {
  [ -x "$BB" ] || fail "need Debian's busybox-static at $BB (ci/install-deps)"
  command -v fincore >/dev/null || fail "need fincore (util-linux)"
  D=$(workdir)
  local w; w=$(window_kb "$D")
  MB=$(( w * 4 / 1024 )); [ "$MB" -ge 64 ] || MB=64
  head -c $(( MB * 1048576 )) /dev/urandom >"$D/big.bin"
  echo /data/big.bin >"$D/big.list"
  cat >"$D/app.recipe" <<EOF
name        big
platforms   linux/amd64
base        static
file        /bin/busybox   $BB  mode=0755
file        /data/big.bin  big.bin  mode=0644
entrypoint  ["/bin/busybox", "sleep", "120"]
init        preload=big.list
EOF
  capture "$ARMLET" build "$D/app.recipe" --rootfs "$D/rootfs"
  assert_eq 0 "$rc" "build --rootfs: $err"
  BIG=$D/rootfs/data/big.bin
  TOTAL=$(( MB * 256 ))
  evict "$BIG"
  [ "$(pages "$BIG")" = 0 ] || skip "cannot evict $BIG from the page cache (tmpfs?)"
}

test_the_built_list_covers_a_whole_file_in_ranges_of_at_most_128_KiB() {
  setup
  local list=$D/rootfs/etc/armlet/preload
  assert_file "$list"
  # every range of /data/big.bin, in order, adjacent, none over 128 KiB, up to its size
  local got
  got=$(awk -v chunk=$CHUNK '$1 == "/data/big.bin" { for (i = 2; i <= NF; i++) { split($i, a, ":");
          if (a[1] != next_off || a[2] > chunk || a[2] < 1) { print "bad " $i; exit }
          next_off = a[1] + a[2]; n++ } } END { print n " " next_off }' next_off=0 "$list")
  assert_eq "$(( MB * 8 )) $(( MB * 1048576 ))" "$got" "ranges of /data/big.bin"
}

test_a_file_larger_than_the_read_window_listed_whole_is_fully_resident_after_the_preload() {
  setup
  # control: the same file listed whole, handed to the init directly (not through
  # armlet build): one fadvise call, which reads only the device's window
  echo /data/big.bin >"$D/rootfs/etc/armlet/unsplit"
  local n
  n=$(preload_pages "$D/rootfs" /etc/armlet/unsplit "$BIG")
  [ "$n" -lt "$TOTAL" ] || fail "control: one call for $MB MiB made all $n pages resident (window $(window_kb "$D") KiB): the test cannot tell"
  evict "$BIG"
  [ "$(pages "$BIG")" = 0 ] || skip "cannot evict $BIG again"
  # the list armlet build wrote
  n=$(preload_pages "$D/rootfs" /etc/armlet/preload "$BIG")
  assert_eq "$TOTAL" "$n" "resident pages of the $MB MiB file after the built list (control: unsplit list)"
}

# A list is the recipe's input, so hostile until checked: one that names two files half a
# million times each, alternately, each time with a new range (1 MiB of text, 1M entries),
# is merged in one sweep (O(n log n); comparing every entry with every other would not end
# in hours) and gives each file its ranges once. The timeout only bounds that hang.
test_a_list_naming_two_files_a_million_times_builds_and_reads_each_range_once() {
  [ -x "$BB" ] || fail "need Debian's busybox-static at $BB (ci/install-deps)"
  D=$(workdir)
  head -c 1048576 /dev/zero >"$D/a.bin"
  awk 'BEGIN { for (i = 0; i < 500000; i++) printf "/a %d:2\n/bin/busybox 0:4096\n", i * 2 }' >"$D/hostile.list"
  printf '%s\n' 'name hostile' 'platforms linux/amd64' 'base static' \
    "file /bin/busybox $BB mode=0755" "file /a a.bin mode=0644" \
    'entrypoint ["/bin/busybox", "true"]' 'init preload=hostile.list' >"$D/app.recipe"
  capture timeout 300 "$ARMLET" build "$D/app.recipe" --rootfs "$D/rootfs"
  assert_eq 0 "$rc" "build with the hostile list: $err"
  # /a's ranges touch each other: one range, 1000000 bytes, split in 128 KiB pieces;
  # busybox's page once, right after /a's first piece, where the list first names it
  local list=$D/rootfs/etc/armlet/preload
  assert_eq "/a /bin/busybox /a" "$(cut -d' ' -f1 "$list" | tr '\n' ' ' | sed 's/ $//')"
  assert_eq "/bin/busybox 0:4096" "$(sed -n 2p "$list")"
  assert_eq 1000000 "$(awk '$1 == "/a" { for (i = 2; i <= NF; i++) { split($i, r, ":"); n += r[2] } } END { print n }' "$list")"
}

# Point 2: a `libs` program's loader and shared libraries are read at start, so the
# entrypoint list has them after the program, each as its loadable segments, in the
# order the loader maps them (DT_NEEDED breadth-first), each a file of the image.
test_entrypoint_list_of_a_libs_program_has_its_loader_and_libraries() {
  local prog=/usr/bin/curl   # Debian's curl (ci/install-deps): libcurl, libssl, libc...
  [ -x "$prog" ] || fail "need $prog (ci/install-deps)"
  D=$(workdir)
  printf '%s\n' 'name dyn' 'platforms linux/amd64' 'base static' \
    "file /usr/bin/curl $prog mode=0755 libs" 'entrypoint ["/usr/bin/curl"]' \
    'init preload=entrypoint' >"$D/app.recipe"
  capture "$ARMLET" build "$D/app.recipe" --rootfs "$D/rootfs"
  assert_eq 0 "$rc" "build --rootfs: $err"
  local list=$D/rootfs/etc/armlet/preload paths
  paths=$(cut -d' ' -f1 "$list" | uniq)
  assert_eq /usr/bin/curl "$(echo "$paths" | sed -n 1p)"
  assert_contains "$(echo "$paths" | sed -n 2p)" /ld-linux-x86-64.so.2
  # every library ldd names is listed, by its real path in the image, with ranges
  local lib real
  for lib in $(ldd "$prog" | awk '$2 == "=>" { print $3 }'); do
    real=$(cd "$D/rootfs" && readlink -f ".$lib" | sed "s|^$D/rootfs||")
    echo "$paths" | grep -qx "$real" || fail "$lib ($real) is not in the list: $paths"
    [ -f "$D/rootfs$real" ] || fail "$real is not a file of the image"
  done
  assert_contains "$(grep "^$(echo "$paths" | sed -n 3p) " "$list")" " 0:"
  # the loader's order: the program's own DT_NEEDED first (libcurl), libc among them
  local n_curl n_libc
  n_curl=$(echo "$paths" | grep -n 'libcurl' | cut -d: -f1)
  n_libc=$(echo "$paths" | grep -n '/libc\.so' | cut -d: -f1)
  [ "$n_curl" = 3 ] || fail "libcurl (curl's first DT_NEEDED) is not right after the loader: $paths"
  [ -n "$n_libc" ] || fail "libc not listed"
}

run_tests
