#!/usr/bin/env bash
# tests/builder/t_libs.sh — `file DEST SRC libs`: a dynamic program from Debian (jq for
# arm64: libjq1, libonig5, glibc) carried with its shared-library closure and loader,
# run in the built rootfs (chroot through qemu binfmt) and in runc; --sysroot; the default
# sysroot (the host's multiarch folders) with Debian's hello:arm64; and clear errors for a
# library that is not there.
#
# jq's arm64 libraries come from a sysroot the test makes (apt-get download + dpkg -x),
# not from the host: libjq1:arm64 cannot be installed beside an amd64 jq of another
# version (Multi-Arch: same), which is what a fresh Debian 12 machine's apt offers.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/armlet-libs.XXXXXX")
trap 'tools_cleanup; rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=1700000000
ML=/usr/lib/aarch64-linux-gnu          # the host's arm64 folder (libc6:arm64)
SJ=$OUT/sysroot-jq-arm64               # jq's packages unpacked: the sysroot the jq tests use
SJL=$SJ/lib/aarch64-linux-gnu          # libc6 ships /lib/<triplet>; dpkg -x makes no /lib link
SJU=$SJ/usr/lib/aarch64-linux-gnu      # libjq1, libonig5

# unpack DIR PKG:ARCH...: Debian's packages (.debs cached in $OUT/debs) unpacked together
# with dpkg -x into DIR, once per package list. Skips the test when apt cannot fetch one.
unpack() {
  local dir=$1 spec deb tmp=$1.tmp.$$; shift
  [ "$(cat "$dir.stamp" 2>/dev/null)" = "$*" ] && [ -d "$dir" ] && return 0
  mkdir -p "$OUT/debs"
  rm -rf "$tmp"
  for spec; do
    deb=$(ls "$OUT/debs/${spec%:*}_"*"_${spec#*:}.deb" 2>/dev/null | tail -1)
    if [ -z "$deb" ]; then
      (cd "$OUT/debs" && apt-get download "$spec" >/dev/null 2>&1) ||
        { rm -rf "$tmp"; skip "Debian's $spec cannot be fetched (apt-get download $spec failed)"; }
      deb=$(ls "$OUT/debs/${spec%:*}_"*"_${spec#*:}.deb" | tail -1)
    fi
    dpkg -x "$deb" "$tmp"
  done
  rm -rf "$dir" && mv "$tmp" "$dir" && echo "$*" >"$dir.stamp"
}

# Debian's jq:arm64 with its libraries and glibc in $SJ; $WORK/jq points there.
jq_arm64() {
  unpack "$SJ" libjq1:arm64 libonig5:arm64 libc6:arm64 jq:arm64
  ln -sfn "$SJ" "$WORK/jq"
}

# recipe NAME PLATFORM FILE-LINE: a recipe in $WORK running jq -n '[1,2,3]|add'.
recipe() {
  cat >"$WORK/$1.recipe" <<R
name        $1
platforms   $2
base        scratch
$3
entrypoint  ["/usr/bin/jq", "-n", "-c", "{sum: ([1,2,3]|add), arch: \"$2\"}"]
init        seccomp=unconfined
R
}

test_arm64_jq_from_debian_runs_in_the_built_rootfs_under_qemu() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  jq_arm64
  recipe jq linux/arm64 "file /usr/bin/jq jq/usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jq.recipe" --sysroot "linux/arm64=$SJ" --rootfs "$WORK/rootfs"
  assert_eq 0 "$rc" "armlet build: $err"
  local r=$WORK/rootfs f interp
  # Laid out as in the sysroot (dpkg -x: a real /lib, glibc in /lib/<triplet>, jq's
  # libraries in /usr/lib/<triplet>), soname links kept, the loader where PT_INTERP says.
  [ -d "$r/lib" ] && [ ! -L "$r/lib" ] || fail "/lib should be a folder as in the sysroot"
  interp=$(readelf -W -l "$SJ/usr/bin/jq" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
  assert_eq /lib/ld-linux-aarch64.so.1 "$interp"
  assert_eq aarch64-linux-gnu/ld-linux-aarch64.so.1 "$(readlink "$r$interp")"
  assert_eq libjq.so.1.0.4 "$(readlink "$r/usr/lib/aarch64-linux-gnu/libjq.so.1")"
  assert_eq libonig.so.5.3.0 "$(readlink "$r/usr/lib/aarch64-linux-gnu/libonig.so.5")"
  for f in usr/lib/aarch64-linux-gnu/libjq.so.1.0.4 usr/lib/aarch64-linux-gnu/libonig.so.5.3.0 \
           lib/aarch64-linux-gnu/libc.so.6 lib/aarch64-linux-gnu/libm.so.6 \
           lib/aarch64-linux-gnu/ld-linux-aarch64.so.1; do
    [ -f "$r/$f" ] && [ ! -L "$r/$f" ] || fail "/$f is not a file in the rootfs"
  done
  # Nothing else of the sysroot's library folders came along (glibc has 40-odd files).
  assert_eq 8 "$(find "$r/lib" "$r/usr/lib" \( -type f -o -type l \) | wc -l)" \
    "files under /lib and /usr/lib: $(find "$r/lib" "$r/usr/lib")"
  capture chroot "$r" /usr/bin/jq -n -c '{sum: ([1,2,3]|add)}'
  assert_eq 0 "$rc" "jq in the chroot: $err"
  assert_eq '{"sum":6}' "$out"
  # And under armlet-init, as the image's entrypoint would run it.
  capture chroot "$r" /sbin/armlet-init -- /usr/bin/jq -n '"under init"'
  assert_eq '"under init"' "$out" "$err"
}

test_arm64_jq_image_runs_in_runc() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  jq_arm64
  recipe jq linux/arm64 "file /usr/bin/jq jq/usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jq.recipe" --sysroot "linux/arm64=$SJ" --oci "$WORK/oci" --tag jq
  assert_eq 0 "$rc" "armlet build: $err"
  local b id
  b=$(tmpdir); tools_track "$b"
  oci_unpack "$WORK/oci" jq linux/arm64 "$b/bundle" || fail "umoci unpack failed"
  bundle_on_host_net "$b/bundle"
  id=armlet-libs-$BASHPID-$RANDOM
  capture timeout 120 runc run --bundle "$b/bundle" "$id"
  runc_gone "$id"
  assert_eq 0 "$rc" "runc run: $err"
  assert_eq '{"sum":6,"arch":"linux/arm64"}' "$out"
}

test_amd64_host_jq_carries_its_libraries() {
  [ -x /usr/bin/jq ] || skip "no /usr/bin/jq on this host"
  recipe jqh linux/amd64 "file /usr/bin/jq /usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jqh.recipe" --rootfs "$WORK/rootfs-amd64"
  assert_eq 0 "$rc" "armlet build: $err"
  assert_file "$WORK/rootfs-amd64/lib64/ld-linux-x86-64.so.2"
  capture chroot "$WORK/rootfs-amd64" /usr/bin/jq -n -c '[1,2,3]|add'
  assert_eq 0 "$rc" "$err"
  assert_eq 6 "$out"
}

test_sysroot_option_takes_libraries_from_that_folder() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  jq_arm64
  # A sysroot laid out the old way (real /lib/<triplet>, no merged /usr), with an
  # absolute soname link: it must be read inside the sysroot, and copied as it is.
  local s=$WORK/sysroot d=$WORK/sysroot/lib/aarch64-linux-gnu
  mkdir -p "$d"
  cp -L "$SJL"/{libc.so.6,libm.so.6,ld-linux-aarch64.so.1} "$SJU/libonig.so.5" "$d/"
  cp -L "$SJU/libjq.so.1" "$d/libjq.so.1.0.4"
  ln -s /lib/aarch64-linux-gnu/libjq.so.1.0.4 "$d/libjq.so.1"
  ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$s/lib/ld-linux-aarch64.so.1"
  recipe jqs linux/arm64 "file /usr/bin/jq jq/usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jqs.recipe" --sysroot "linux/arm64=$s" --rootfs "$WORK/rootfs-s"
  assert_eq 0 "$rc" "armlet build: $err"
  local r=$WORK/rootfs-s
  [ -d "$r/lib/aarch64-linux-gnu" ] && [ ! -L "$r/lib" ] || fail "/lib should be a folder as in the sysroot"
  assert_eq /lib/aarch64-linux-gnu/libjq.so.1.0.4 "$(readlink "$r/lib/aarch64-linux-gnu/libjq.so.1")"
  [ ! -e "$r/usr/lib" ] || fail "nothing should come from the host's /usr/lib: $(find "$r/usr/lib")"
  capture chroot "$r" /usr/bin/jq -n -c '[1,2,3]|add'
  assert_eq 6 "$out" "jq in the chroot: $err"
}

test_missing_library_names_it_the_program_and_the_recipe_line() {
  jq_arm64
  local s=$WORK/thin d=$WORK/thin/lib/aarch64-linux-gnu
  mkdir -p "$d"
  cp -L "$SJL"/{libc.so.6,libm.so.6,ld-linux-aarch64.so.1} "$d/"
  ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$s/lib/ld-linux-aarch64.so.1"
  recipe jqm linux/arm64 "file /usr/bin/jq jq/usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jqm.recipe" --sysroot "linux/arm64=$s" --oci "$WORK/layout"
  assert_eq 1 "$rc"
  assert_contains "$err" "jqm.recipe:4:6: file: "
  assert_contains "$err" "jq/usr/bin/jq: shared library \"libjq.so.1\" not found in sysroot $s for linux/arm64"
  assert_contains "$err" "install its :arm64 package or pass --sysroot linux/arm64=DIR"
  assert_eq 1 "$(wc -l <<<"$err")" "one line: $err"
  # A library of a library: the message says who needs it.
  cp -L "$SJU/libjq.so.1" "$d/"
  capture "$ARMLET" build "$WORK/jqm.recipe" --sysroot "linux/arm64=$s" --oci "$WORK/layout"
  assert_eq 1 "$rc"
  assert_contains "$err" "\"libonig.so.5\" (needed by /lib/aarch64-linux-gnu/libjq.so.1) not found"
  # An amd64 library of the same name is no substitute: the loader would skip it too.
  cp -L /usr/lib/x86_64-linux-gnu/libonig.so.5 "$d/"
  capture "$ARMLET" build "$WORK/jqm.recipe" --sysroot "linux/arm64=$s" --oci "$WORK/layout"
  assert_eq 1 "$rc"
  assert_contains "$err" "\"libonig.so.5\" (needed by /lib/aarch64-linux-gnu/libjq.so.1) not found"
  # A sysroot without the loader.
  rm "$s/lib/ld-linux-aarch64.so.1"
  capture "$ARMLET" build "$WORK/jqm.recipe" --sysroot "linux/arm64=$s" --oci "$WORK/layout"
  assert_eq 1 "$rc"
  assert_contains "$err" "loader /lib/ld-linux-aarch64.so.1 not found in sysroot $s for linux/arm64; install libc6:arm64"
  [ ! -e "$WORK/layout/index.json" ] || assert_eq 0 "$(jq '.manifests | length' "$WORK/layout/index.json")" \
    "a failed build tagged an image"
}

test_truncated_or_corrupt_library_is_a_clear_error() {
  jq_arm64
  local s=$WORK/broken d=$WORK/broken/lib/aarch64-linux-gnu
  mkdir -p "$d"
  cp -L "$SJL"/{libc.so.6,libm.so.6,ld-linux-aarch64.so.1} "$SJU/libonig.so.5" "$d/"
  ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 "$s/lib/ld-linux-aarch64.so.1"
  recipe jqb linux/arm64 "file /usr/bin/jq jq/usr/bin/jq libs"
  # Cut inside the program headers' targets: the dynamic section is past the end.
  head -c 4096 "$SJU/libjq.so.1" >"$d/libjq.so.1"
  capture "$ARMLET" build "$WORK/jqb.recipe" --sysroot "linux/arm64=$s" --rootfs "$WORK/rootfs-b"
  assert_eq 1 "$rc"
  assert_contains "$err" "jqb.recipe:4:6: file: "
  assert_contains "$err" "$d/libjq.so.1: "
  assert_contains "$err" "truncated?)"
  # A dynamic section whose string offsets point past its table (bytes overwritten).
  cp -L "$SJU/libjq.so.1" "$d/libjq.so.1"
  local off size
  read -r off size < <(readelf -W -S "$d/libjq.so.1" | sed 's/^ *\[ *[0-9]*\]//' | awk '$1 == ".dynamic" {print $4, $5}')
  [ -n "$off" ] || fail "no .dynamic in libjq"
  off=$((16#$off)) size=$((16#$size))
  # Every entry's value becomes 0x7fffffff (tags kept): DT_NEEDED names out of range.
  /usr/bin/python3 - "$d/libjq.so.1" "$off" "$size" <<'PY'
import struct, sys
p, off, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = bytearray(open(p, "rb").read())
for o in range(off, off + size, 16):
    tag = struct.unpack_from("<q", b, o)[0]
    if tag == 1:   # DT_NEEDED
        struct.pack_into("<Q", b, o + 8, 0x7fffffff)
open(p, "wb").write(bytes(b))
PY
  capture "$ARMLET" build "$WORK/jqb.recipe" --sysroot "linux/arm64=$s" --rootfs "$WORK/rootfs-b2"
  assert_eq 1 "$rc"
  assert_contains "$err" "$d/libjq.so.1: dynamic entry points outside its string table (corrupt?)"
}

test_without_libs_a_dynamic_program_is_refused() {
  jq_arm64
  recipe jqn linux/arm64 "file /usr/bin/jq jq/usr/bin/jq"
  capture "$ARMLET" build "$WORK/jqn.recipe" --rootfs "$WORK/rootfs-n"
  assert_eq 1 "$rc"
  assert_contains "$err" "jqn.recipe:4:6: file: "
  assert_contains "$err" "libs"
}

test_default_sysroot_is_the_hosts_multiarch_glibc_and_hello_runs() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  [ -f "$ML/libc.so.6" ] && [ -e /lib/ld-linux-aarch64.so.1 ] ||
    skip "libc6:arm64 is not installed on this host (ci/install-deps tries it and warns when apt refuses)"
  local h=$OUT/hello-arm64 r=$WORK/rootfs-hello f
  unpack "$h" hello:arm64
  cat >"$WORK/hello.recipe" <<R
name        hello
platforms   linux/arm64
base        scratch
file        /usr/bin/hello $h/usr/bin/hello libs
entrypoint  ["/usr/bin/hello"]
init        seccomp=unconfined
R
  capture "$ARMLET" build "$WORK/hello.recipe" --rootfs "$r"
  assert_eq 0 "$rc" "armlet build: $err"
  # Laid out as on the (merged-/usr) host: /lib links to usr/lib, the loader link kept.
  assert_eq usr/lib "$(readlink "$r/lib")"
  assert_eq aarch64-linux-gnu/ld-linux-aarch64.so.1 "$(readlink "$r/usr/lib/ld-linux-aarch64.so.1")"
  for f in libc.so.6 ld-linux-aarch64.so.1; do
    [ -f "$r$ML/$f" ] && [ ! -L "$r$ML/$f" ] || fail "$ML/$f is not a file in the rootfs"
  done
  # glibc alone: nothing else of the host's library folder came along.
  assert_eq 3 "$(find "$r/usr/lib" \( -type f -o -type l \) | wc -l)" "files under /usr/lib: $(find "$r/usr/lib")"
  capture chroot "$r" /usr/bin/hello
  assert_eq 0 "$rc" "hello in the chroot: $err"
  assert_eq "Hello, world!" "$out"
  capture chroot "$r" /sbin/armlet-init -- /usr/bin/hello -g "under init"
  assert_eq "under init" "$out" "$err"
}

test_sysroot_option_errors() {
  recipe jqo linux/arm64 "file /usr/bin/jq /usr/bin/jq libs"
  capture "$ARMLET" build "$WORK/jqo.recipe" --sysroot nonsense
  assert_eq 2 "$rc"; assert_contains "$err" "--sysroot \"nonsense\": expected PLATFORM=DIR"
  capture "$ARMLET" build "$WORK/jqo.recipe" --sysroot linux/mips=/
  assert_eq 2 "$rc"; assert_contains "$err" "unknown platform \"linux/mips\""
  capture "$ARMLET" build "$WORK/jqo.recipe" --sysroot "linux-arm64=$WORK/none"
  assert_eq 2 "$rc"; assert_contains "$err" "--sysroot linux/arm64: \"$WORK/none\": No such file or directory"
  # Carrying an amd64 program into an arm64 image is still the ELF check's error.
  capture "$ARMLET" build "$WORK/jqo.recipe" --rootfs "$WORK/rootfs-o"
  assert_eq 1 "$rc"; assert_contains "$err" "linux/amd64"
}

# origin_project DIR CC RPATH-OPTION: a program linked against a library of its own,
# dist/bin/hello -> dist/lib/libgreet.so (and copies of it under dist/lib/$LIB-like and
# $PLATFORM-like folders), found through the run path RPATH-OPTION gives.
origin_project() {
  local d=$1 cc=$2; shift 2
  mkdir -p "$d/dist/bin" "$d/dist/lib"
  printf '#include <stdio.h>\nvoid greet(void){puts("greetings from libgreet");}\n' >"$d/greet.c"
  printf 'void greet(void);\nint main(void){greet();return 0;}\n' >"$d/hello.c"
  $cc -shared -fPIC -o "$d/dist/lib/libgreet.so" "$d/greet.c" || fail "cannot compile with $cc"
  $cc -o "$d/dist/bin/hello" "$d/hello.c" -L"$d/dist/lib" -lgreet "$@" || fail "cannot link with $cc"
}
origin_recipe() {
  cat >"$1/app.recipe" <<R
name        origin
platforms   $2
base        scratch
file        /app/bin/hello dist/bin/hello libs
entrypoint  ["/app/bin/hello"]
init        seccomp=unconfined
R
}

# Build $1's recipe into a rootfs; the library must be at $3 in it, the program runs there
# (natively or under qemu binfmt $4) and prints its library's greeting.
origin_runs() {
  local d=$1 r=$1/rootfs lib=$3 qemu=${4:-}
  capture "$ARMLET" build "$d/app.recipe" --rootfs "$r"
  assert_eq 0 "$rc" "armlet build: $err"
  [ -f "$r$lib" ] && [ ! -L "$r$lib" ] || fail "$lib is not a file in the rootfs: $(cd "$r" && find . -name 'libgreet*')"
  assert_eq 1 "$(find "$r" -name libgreet.so | wc -l)" "one copy of the library"
  if [ -n "$qemu" ] && ! binfmt_ready "$qemu"; then
    echo "    (not run: $qemu binfmt is not enabled)"; return 0
  fi
  # The loader finds $ORIGIN through /proc/self/exe: a private /proc in the chroot.
  mkdir -p "$r/proc"
  capture unshare -m sh -c 'mount -t proc proc "$1/proc" && exec chroot "$1" /app/bin/hello' - "$r"
  assert_eq 0 "$rc" "hello in the chroot: $err"
  assert_eq "greetings from libgreet" "$out"
}

test_origin_dotdot_runpath_amd64_carries_the_library_and_runs() {
  local d=$WORK/origin-amd64
  origin_project "$d" gcc -Wl,-rpath,'$ORIGIN/../lib'
  readelf -d "$d/dist/bin/hello" | grep -q 'RUNPATH.*\$ORIGIN/../lib' || fail "no RUNPATH \$ORIGIN/../lib"
  origin_recipe "$d" linux/amd64
  origin_runs "$d" linux/amd64 /app/lib/libgreet.so
}

test_origin_dotdot_rpath_arm64_carries_the_library_and_runs() {
  command -v aarch64-linux-gnu-gcc >/dev/null || skip "no aarch64-linux-gnu-gcc"
  [ -f "$ML/libc.so.6" ] && [ -e /lib/ld-linux-aarch64.so.1 ] ||
    skip "libc6:arm64 is not installed on this host (ci/install-deps tries it and warns when apt refuses)"
  local d=$WORK/origin-arm64
  # DT_RPATH this time, with the ${ORIGIN} spelling.
  origin_project "$d" aarch64-linux-gnu-gcc -Wl,--disable-new-dtags -Wl,-rpath,'${ORIGIN}/../lib'
  readelf -d "$d/dist/bin/hello" | grep -q '(RPATH).*\${ORIGIN}/../lib' || fail "no RPATH \${ORIGIN}/../lib"
  origin_recipe "$d" linux/arm64
  origin_runs "$d" linux/arm64 /app/lib/libgreet.so qemu-aarch64
}

test_lib_and_platform_tokens_expand_as_the_loader_does() {
  local d=$WORK/dst-amd64 k
  # $LIB is Debian's lib/<triplet>, $PLATFORM the CPU's AT_PLATFORM: the libraries are
  # only there, and the loader in the chroot finds them there too.
  origin_project "$d" gcc -Wl,-rpath,'$ORIGIN/../$LIB'
  mkdir -p "$d/dist/lib/x86_64-linux-gnu" && mv "$d/dist/lib/libgreet.so" "$d/dist/lib/x86_64-linux-gnu/"
  origin_recipe "$d" linux/amd64
  origin_runs "$d" linux/amd64 /app/lib/x86_64-linux-gnu/libgreet.so
  d=$WORK/dst-amd64-platform
  origin_project "$d" gcc -Wl,-rpath,'$ORIGIN/../${PLATFORM}/.'
  mkdir -p "$d/dist/x86_64" && mv "$d/dist/lib/libgreet.so" "$d/dist/x86_64/"
  origin_recipe "$d" linux/amd64
  origin_runs "$d" linux/amd64 /app/x86_64/libgreet.so
  if command -v aarch64-linux-gnu-gcc >/dev/null && [ -f "$ML/libc.so.6" ]; then
    d=$WORK/dst-arm64
    origin_project "$d" aarch64-linux-gnu-gcc -Wl,-rpath,'$ORIGIN/../$LIB:$ORIGIN/../$PLATFORM'
    mkdir -p "$d/dist/aarch64" && mv "$d/dist/lib/libgreet.so" "$d/dist/aarch64/"
    origin_recipe "$d" linux/arm64
    origin_runs "$d" linux/arm64 /app/aarch64/libgreet.so qemu-aarch64
  fi
}

test_origin_dotdot_never_climbs_above_the_image_root() {
  local d=$WORK/climb/p
  # /app/bin/../../../vendor is /vendor in the image; on the host, three levels above
  # the program's folder is $WORK/climb, whose vendor/ holds a decoy: it must not be taken.
  origin_project "$d" gcc -Wl,-rpath,'$ORIGIN/../../../vendor'
  mkdir -p "$WORK/climb/vendor" && mv "$d/dist/lib/libgreet.so" "$WORK/climb/vendor/"
  origin_recipe "$d" linux/amd64
  capture "$ARMLET" build "$d/app.recipe" --oci "$d/oci"
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "app.recipe:4:13: file: $d/dist/bin/hello: shared library \"libgreet.so\" not found"
  assert_contains "$err" "(searched /vendor "
  [ ! -e "$d/oci/index.json" ] || assert_eq 0 "$(jq '.manifests | length' "$d/oci/index.json")"
  # Where the image root stands on the host (two levels up: dist/..), it is found.
  mkdir -p "$d/vendor" && cp "$WORK/climb/vendor/libgreet.so" "$d/vendor/"
  origin_runs "$d" linux/amd64 /vendor/libgreet.so
}

run_tests
