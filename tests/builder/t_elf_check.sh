#!/usr/bin/env bash
# tests/builder/t_elf_check.sh — the recipe parser's and the ELF check's messages as a
# user meets them through `armlet build`: dynamic programs refused without "libs",
# scripts passing, truncated ELF files, an ARMv6 program accepted in an arm/v7 image,
# and recipe syntax errors with file:line:col. Payloads are built here with the
# cross compilers.
. "$(dirname "$0")/../lib.sh"

WORK=$(tmpdir)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/build_lib.sh"

make_payloads() {
  mkdir -p "$WORK/dist"
  printf '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n' >"$WORK/hello.c"
  musl-gcc -static -Os -o "$WORK/dist/hello-amd64" "$WORK/hello.c" &&
  gcc -Os -o "$WORK/dist/hello-dyn-amd64" "$WORK/hello.c" &&
  aarch64-linux-gnu-gcc -Os -o "$WORK/dist/hello-dyn-arm64" "$WORK/hello.c" &&
  arm-linux-gnueabi-gcc -specs /usr/lib/arm-linux-musleabi/musl-gcc.specs -march=armv6 -marm \
    -mfloat-abi=soft -static -Os -o "$WORK/dist/hello-armv6" "$WORK/hello.c" &&
  printf '#!/bin/sh\necho hi\n' >"$WORK/dist/hello.sh"
}
compile_payloads make_payloads

# usage: project DIR PLATFORMS FILE-LINE [EXTRA-LINES] — a recipe in DIR/app.recipe whose
# line 3 is FILE-LINE.
project() {
  project_dir "$1"
  printf 'name hello\nplatforms %s\n%s\nentrypoint /app\nbase scratch\n%s\n' "$2" "$3" "${4:-}" >"$1/app.recipe"
}

test_dynamic_program_refused_without_libs_naming_its_interpreter() {
  project "$WORK/d1" linux/amd64 'file /app dist/hello-dyn-amd64'
  capture build "$WORK/d1/app.recipe" --oci "$WORK/d1/oci"
  assert_ne 0 "$rc" "exit status"
  assert_contains "$err" "app.recipe:3:6: file:"
  assert_contains "$err" 'ELF for linux/amd64 is dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2); add "libs" to carry its libraries'
}

test_dynamic_arm64_program_refused_in_arm64_image() {
  project "$WORK/d2" linux/arm64 'file /app dist/hello-dyn-arm64'
  capture build "$WORK/d2/app.recipe" --oci "$WORK/d2/oci"
  assert_ne 0 "$rc" "exit status"
  assert_contains "$err" "interpreter /lib/ld-linux-aarch64.so.1"
}

test_shell_script_passes_the_elf_check() {
  project "$WORK/s1" linux/arm/v6 'file /app dist/hello.sh mode=0755'
  capture build "$WORK/s1/app.recipe" --rootfs "$WORK/s1/rootfs"
  [ "$rc" = 0 ] || fail "build failed: $err"
  assert_eq "$(cat "$WORK/dist/hello.sh")" "$(cat "$WORK/s1/rootfs/app")" "script content"
}

test_armv6_program_accepted_in_arm_v7_image() {
  project "$WORK/v1" 'linux/arm/v7 linux/arm/v6' 'file /app dist/hello-armv6'
  capture build "$WORK/v1/app.recipe" --oci "$WORK/v1/oci"
  [ "$rc" = 0 ] || fail "build failed: $err"
  assert_file "$WORK/v1/oci/index.json"
}

test_truncated_elf_is_a_clear_error() {
  project "$WORK/t1" linux/amd64 'file /app dist/hello-amd64'
  head -c 300 "$WORK/dist/hello-amd64" >"$WORK/t1/dist/hello-amd64"
  capture build "$WORK/t1/app.recipe" --oci "$WORK/t1/oci"
  assert_ne 0 "$rc" "exit status"
  assert_contains "$err" "dist/hello-amd64: not a valid ELF file:"
  assert_contains "$err" "truncated?"
}

test_recipe_syntax_errors_name_file_line_and_column() {
  project "$WORK/e1" linux/amd64 'file /app dist/hello-amd64 mode=0999'
  capture build "$WORK/e1/app.recipe" --oci "$WORK/e1/oci"
  assert_ne 0 "$rc" "exit status"
  assert_contains "$err" 'app.recipe:3:28: file: bad mode "0999": expected octal digits, at most 07777'
  project "$WORK/e2" linux/amd64 'file /app dist/hello-amd64' "env GREETING='hello"
  capture build "$WORK/e2/app.recipe" --oci "$WORK/e2/oci"
  assert_ne 0 "$rc" "exit status"
  assert_contains "$err" "app.recipe:6:14: unterminated single quote"
  project "$WORK/e3" linux/amd64 'file /app dist/hello-${cpu}'
  capture build "$WORK/e3/app.recipe" --oci "$WORK/e3/oci"
  assert_contains "$err" 'app.recipe:3:22: file: unknown variable "${cpu}" (expected ${os}, ${arch} or ${variant})'
}

run_tests
