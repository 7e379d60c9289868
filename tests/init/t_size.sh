#!/usr/bin/env bash
# tests/init/t_size.sh — what a user gets on disk: each platform's armlet-init is static,
# at most 16 KiB gzip -9 (issue 2's budget), answers --version, arm64 keeps 64 KiB
# segment alignment (4K/16K/64K page kernels), arm/v6 is ARMv6 code, arm/v7 on an ARMv6
# CPU says so.
. "$(dirname "$0")/../lib.sh"

platforms_test_init_is_static_and_within_16_kib_gzipped() { :; }
test_init_is_static_and_within_16_kib_gzipped() {
  assert_file "$INIT"
  local gz; gz=$(gzip -9c "$INIT" | wc -c)
  echo "    $PLATFORM: $(stat -c %s "$INIT") bytes, $gz gzip -9" >&2
  [ "$gz" -le 16384 ] || fail "$INIT is $gz bytes gzip -9, over the 16384 budget"
  ! readelf -d "$INIT" 2>/dev/null | grep -q NEEDED || fail "$INIT needs shared libraries"
  readelf -lW "$INIT" | grep -q INTERP && fail "$INIT has a program interpreter"
  capture "$INIT" --version
  assert_eq 0 "$rc" "--version: $err"
  assert_contains "$out" "armlet-init"
}

test_arm64_segments_are_64k_aligned() {
  local f; f=$(init_for linux-arm64)
  local aligns; aligns=$(readelf -lW "$f" | awk '$1 == "LOAD" {print $NF}' | sort -u)
  [ -n "$aligns" ] || fail "no PT_LOAD in $f"
  assert_eq 0x10000 "$aligns" "PT_LOAD alignment of $f"
}

test_arm_v6_init_is_armv6_code_and_runs_on_an_arm1176() {
  local f; f=$(init_for linux-arm-v6)
  assert_eq "Tag_CPU_arch: v6" "$(readelf -A "$f" | grep -o 'Tag_CPU_arch: .*' | head -1 | sed 's/ *$//')"
  capture env QEMU_CPU=arm1176 "$f" -- /bin/sh -c 'exit 5'
  assert_eq 5 "$rc" "arm/v6 init on an ARM1176: $err"
}

# Some runtimes offer the arm/v7 image to an ARMv6 CPU (Pi Zero/1): the init says why it
# cannot run instead of dying of SIGILL in its first Thumb-2 instruction.
test_arm_v7_init_on_an_armv6_cpu_says_so_and_exits_126() {
  local f; f=$(init_for linux-arm-v7)
  capture env QEMU_CPU=arm1176 "$f" -- /bin/sh -c 'echo ran'
  assert_eq "126 armlet-init: this CPU is ARMv6: use the linux/arm/v6 image" "$rc $err"
  assert_eq "" "$out" "the program ran:"
  capture env QEMU_CPU=cortex-a7 "$f" -- /bin/sh -c 'echo ran; exit 4'
  assert_eq "4 ran" "$rc $out" "on an ARMv7: $err"
}

run_tests
