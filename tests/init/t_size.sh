#!/usr/bin/env bash
# tests/init/t_size.sh — what a user gets on disk: each platform's armlet-init is static,
# at most 16 KiB gzip -9 (issue 2's budget), answers --version, arm64 keeps 64 KiB
# segment alignment (4K/16K/64K page kernels), arm/v6 is ARMv6 code.
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

run_tests
