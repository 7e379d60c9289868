#!/usr/bin/env bash
# tests/kernel/t_arm64.sh — Debian's arm64 kernel (linux-image-arm64) on qemu-system-aarch64
# virt/cortex-a53, 2 CPUs: the arm64 init as PID 1 and every check of tests/kernel/check.sh
# with the arm64, arm/v7 and arm/v6 inits, plus 32-bit programs under the arm64 filter.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kernel_lib.sh"
kernel_suite arm64
