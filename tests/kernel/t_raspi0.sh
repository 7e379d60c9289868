#!/usr/bin/env bash
# tests/kernel/t_raspi0.sh — Debian's Raspberry Pi kernel (linux-image-rpi:armel, ARMv6) on
# qemu-system-arm's raspi0 board (ARM1176, one CPU, the package's bcm2835-rpi-zero.dtb):
# the arm/v6 init as PID 1 and every check of tests/kernel/check.sh with it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kernel_lib.sh"
kernel_suite raspi0
