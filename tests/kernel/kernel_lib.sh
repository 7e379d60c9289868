# tests/kernel/kernel_lib.sh — boots one of Debian's ARM kernels under qemu-system (full
# emulation, no KVM) with the project's inits and records what tests/kernel/check.sh saw
# there. Sourced by tests/kernel/t_<board>.sh after tests/lib.sh; not a test file itself.
#
#   kernel_suite BOARD      arm64 | armhf | raspi0
#
# Steps: fetch the kernel (tests/kernel/fetch.sh, through its metapackage), build ktest
# (tests/kernel/ktest.c, with the Makefile's own musl cross compilers) and gotest (Debian's
# Go, CGO_ENABLED=0) for each platform the board runs, compile the default seccomp filter
# (and --native-only) with the builder, pack an initramfs (busybox-static of the board's
# arch, the inits, /check.sh), boot it with rdinit=/sbin/armlet-init under `timeout`, and
# turn each "KTEST ..." console line into one result in $RESULTS (tests/lib.sh's format):
#   pass NAME / fail NAME / skip NAME, NAME = t_<board>.sh:check[platform]
# plus two of its own: boot[BOARD] (the console reached "KTEST end") and
# pid1_exit_status[...] (the kernel's panic line shows armlet-init, PID 1, exiting with
# check.sh's 42). Skips (one line, with the reason) only when qemu-system is missing or
# Debian's archive cannot be reached. The console is kept in out/kernel/console-BOARD.log.

KDIR=$OUT/kernel
KERNEL_TIMEOUT=${KERNEL_TIMEOUT:-300}   # bounds a hang only; a boot takes 15-60 s

# ktest_record RESULT NAME [WHY]: one result line, the same as tests/lib.sh's _run_one.
ktest_record() {
  local r=$1 name="$KFILE:$2" why=${3:-}
  echo "$(echo "$r" | tr a-z A-Z) $name${why:+: $why}"
  echo "$r $name" >>"$RESULTS"
}

# board_platforms BOARD: the init platforms whose programs run on that kernel (the first is
# the kernel's own): arm64 runs arm/v7 and arm/v6 programs as compat; an ARMv7 kernel runs
# arm/v6 programs; the Pi Zero's ARM1176 only arm/v6.
board_platforms() {
  case $1 in
    arm64)  echo linux-arm64 linux-arm-v7 linux-arm-v6 ;;
    armhf)  echo linux-arm-v7 linux-arm-v6 ;;
    raspi0) echo linux-arm-v6 ;;
  esac
}
goarch_env() {
  case $1 in
    linux-arm64)  echo GOARCH=arm64 ;;
    linux-arm-v7) echo GOARCH=arm GOARM=7 ;;
    linux-arm-v6) echo GOARCH=arm GOARM=6 ;;
  esac
}
busybox_for() { case $1 in arm64) echo busybox-arm64;; armhf) echo busybox-armv7;; raspi0) echo busybox-armv6;; esac; }

# build_programs PLATFORM DIR: ktest, gotest, default.bpf, native.bpf and the init into DIR.
# ktest/gotest are rebuilt only when their source (or the Makefile, whose CC_<platform> builds ktest) is newer. Returns non-zero with a message.
build_programs() {
  local p=$1 d=$2 cc
  mkdir -p "$d"
  if [ ! -x "$d/ktest" ] || [ "$TOP/tests/kernel/ktest.c" -nt "$d/ktest" ] || [ "$TOP/Makefile" -nt "$d/ktest" ]; then
    # The init's own compiler line (CC_<platform> in the Makefile), read without editing it.
    cc=$(make -s -C "$TOP" --no-print-directory --eval 'print-cc-%: ; @echo $(CC_$*)' "print-cc-$p") || return 1
    $cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -static -s -o "$d/ktest" "$TOP/tests/kernel/ktest.c" || return 1
  fi
  if [ ! -x "$d/gotest" ] || [ "$TOP/tests/kernel/gotest/main.go" -nt "$d/gotest" ]; then
    ( cd "$TOP/tests/kernel/gotest" && env CGO_ENABLED=0 GOOS=linux $(goarch_env "$p") \
        go build -trimpath -ldflags='-s -w' -o "$d/gotest" main.go ) || return 1
  fi
  "$ARMLET" seccomp compile default --platform "${p//-//}" -o "$d/default.bpf" &&
    "$ARMLET" seccomp compile default --platform "${p//-//}" --native-only -o "$d/native.bpf" || return 1
  install -m 0755 "$(init_for "$p")" "$d/armlet-init"
}

# build_initramfs BOARD OUTFILE
build_initramfs() {
  local board=$1 img=$2 root=$KDIR/root-$1 p a
  rm -rf "$root"
  mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,p}
  install -m 0755 "$TOP/recipes/dist/$(busybox_for "$board")" "$root/bin/busybox"
  # Applet links from the host's busybox-static (the same Debian version and configuration).
  for a in $(busybox --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
  mknod -m 0600 "$root/dev/console" c 5 1
  install -m 0755 "$TOP/tests/kernel/check.sh" "$root/check.sh"
  for p in $(board_platforms "$board"); do
    build_programs "$p" "$KDIR/build/$p" || { echo "cannot build the $p programs" >&2; return 1; }
    cp -a "$KDIR/build/$p" "$root/p/$p"
  done
  # The Pi Zero also gets the arm/v7 init alone: it must refuse the ARMv6 CPU with a message.
  [ "$board" = raspi0 ] && install -D -m 0755 "$(init_for linux-arm-v7)" "$root/p/v7-on-v6/armlet-init"
  p=$(board_platforms "$board"); p=${p%% *}
  install -m 0755 "$(init_for "$p")" "$root/sbin/armlet-init"
  printf 'BOARD=%s\nNATIVE=%s\nPLATS="%s"\n' "$board" "$p" "$(board_platforms "$board")" >"$root/etc/ktest.conf"
  ( cd "$root" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -6 >"$img" )
}

# qemu_command BOARD KERNEL_DIR INITRD: sets QEMU_CMD to the qemu-system line for that board
# (DESIGN.md, "Test environment facts"). -nic none: the virt board's default NIC wants a
# ROM not installed without recommends. -no-reboot: the kernel's panic=-1 reboot ends qemu.
qemu_command() {
  local board=$1 k=$2 initrd=$3
  case $board in
    arm64)  QEMU_CMD=(qemu-system-aarch64 -M virt -cpu cortex-a53 -smp 2 -m 512) ;;
    armhf)  QEMU_CMD=(qemu-system-arm -M virt -cpu cortex-a15 -smp 2 -m 512) ;;
    raspi0) QEMU_CMD=(qemu-system-arm -M raspi0 -dtb "$k/board.dtb" -icount shift=auto) ;;
  esac
  QEMU_CMD+=(-nographic -monitor none -nic none -no-reboot -kernel "$k/vmlinuz" -initrd "$initrd")
}

# The check groups of check.sh (its `want` names); TEST_FILTER selects among them.
KERNEL_GROUPS="boot pid1 exit_codes signal orphans seccomp enosys nofile cgroup compat armv7"

kernel_suite() {
  local board=$1 kdir initrd log append qemu plats
  KFILE=t_$board.sh
  # A filter that names no group here need not boot anything.
  case " $KERNEL_GROUPS " in *"${TEST_FILTER:-}"*) ;; *) return 0 ;; esac
  local tag="[$board]"
  case $board in arm64) qemu=qemu-system-aarch64;; *) qemu=qemu-system-arm;; esac
  if ! command -v "$qemu" >/dev/null; then
    ktest_record skip "boot$tag" "$qemu is not installed (Debian package qemu-system-arm, ci/install-deps)"
    return 0
  fi
  mkdir -p "$KDIR"
  if ! kdir=$(bash "$TOP/tests/kernel/fetch.sh" "$board" 2>"$KDIR/fetch-$board.err"); then
    ktest_record skip "boot$tag" "Debian's kernel package is not reachable: $(cat "$KDIR/fetch-$board.err")"
    return 0
  fi
  local bb; bb=$(busybox_dist 2>&1) || { ktest_record skip "boot$tag" "${bb#*SKIP: }"; return 0; }
  plats=$(board_platforms "$board")
  for p in $plats; do
    [ -x "$(init_for "$p")" ] || { ktest_record fail "boot$tag" "$(init_for "$p") is not built (make inits)"; return 0; }
  done
  initrd=$KDIR/initrd-$board.gz
  build_initramfs "$board" "$initrd" || { ktest_record fail "boot$tag" "cannot build the initramfs"; return 0; }

  # Everything after the one `--` is init's argv; KTEST_FILTER=... is passed as environment.
  append="console=ttyAMA0 panic=-1 loglevel=4"
  [ "$board" = raspi0 ] && append="$append initcall_blacklist=bcm2835_power_driver_init"
  [ -n "${TEST_FILTER:-}" ] && append="$append KTEST_FILTER=$TEST_FILTER"
  append="$append rdinit=/sbin/armlet-init -- /bin/sh /check.sh"
  log=$KDIR/console-$board.log
  local start=$SECONDS
  qemu_command "$board" "$kdir" "$initrd"
  echo "    $(cat "$kdir/version"), $(stat -c %s "$initrd") B initramfs; console in $log"
  timeout -k 10 "$KERNEL_TIMEOUT" "${QEMU_CMD[@]}" -append "$append" </dev/null >"$log" 2>&1
  local qrc=$? secs=$((SECONDS - start))
  tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"

  local line r name why ran=
  while IFS= read -r line; do
    line=${line#*KTEST }
    r=${line%% *}; line=${line#* }; name=${line%% *}; why=${line#"$name"}; why=${why# }
    case $r in
      pass|fail|skip) ktest_record "$r" "$name" "$why"; ran="$ran $name" ;;
      xfail) ktest_record skip "$name" "expected failure $why" ;;
    esac
  done < <(grep -a -o 'KTEST \(pass\|fail\|skip\|xfail\) .*' "$log")
  # A hung command's process table (check.sh's watchdog), where each process waited.
  grep -a -o 'KTEST diag .*' "$log" | sed 's/^KTEST diag /    /'

  if grep -aq 'KTEST end' "$log"; then
    ktest_record pass "boot$tag" "$secs s, $(grep -a -o 'KTEST start .*' "$log" | sed 's/^KTEST start //'), checks ended at $(grep -a -o 'KTEST end .*' "$log" | sed 's/^KTEST end //')"
    # check.sh exits 42: PID 1 (armlet-init) exits with it, and the kernel reports the
    # wait status 42 << 8 when init exits.
    if grep -aq 'Attempted to kill init! exitcode=0x00002a00' "$log"; then
      ktest_record pass "pid1_exit_status[$(board_platforms "$board" | cut -d' ' -f1)]"
    else
      ktest_record fail "pid1_exit_status[$(board_platforms "$board" | cut -d' ' -f1)]" \
        "no 'Attempted to kill init! exitcode=0x00002a00': $(grep -a 'kill init' "$log" | head -1)"
    fi
  else
    echo "    last console lines:"; tail -25 "$log" | sed 's/^/      /'
    ktest_record fail "boot$tag" "never reached 'KTEST end' (qemu exit $qrc after $secs s)"
  fi
}
