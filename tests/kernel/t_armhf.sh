#!/usr/bin/env bash
# tests/kernel/t_armhf.sh — Debian's ARMv7 LPAE kernel (linux-image-armmp-lpae:armhf) on
# qemu-system-arm virt/cortex-a15, 2 CPUs: the arm/v7 init as PID 1 and every check of
# tests/kernel/check.sh with the arm/v7 and arm/v6 inits.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kernel_lib.sh"
kernel_suite armhf
