#!/usr/bin/env bash
# Recipe `init preload=entrypoint|none|PATH`: what `armlet build` puts at
# /etc/armlet/preload and whether the init gets --preload; and the whole loop:
# build --rootfs, armlet profile that rootfs, build again with the recorded list.
. "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"    # free_port
export SOURCE_DATE_EPOCH=1700000000
export ARMLET_INIT_DIR=${ARMLET_INIT_DIR:-$OUT}   # the ASan builder in out/asan/ has no inits beside it

BB=/bin/busybox   # Debian's busybox-static (ci/install-deps), amd64

# A recipe for busybox httpd on amd64 in folder $1 with init line $2.
write_recipe() {
  [ -x "$BB" ] || fail "need Debian's busybox-static at $BB (ci/install-deps)"
  mkdir -p "$1"
  echo '<h1>hi</h1>' >"$1/index.html"
  cat >"$1/app.recipe" <<EOF
name        bb
platforms   linux/amd64
base        static
file        /bin/busybox     $BB  mode=0755
symlink     /bin/httpd       busybox
file        /www/index.html  index.html  mode=0644
entrypoint  ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]
$2
EOF
}
# Debian's dynamic /usr/bin/true carried with its libraries, as recipe file $1.
write_dyn_recipe() {
  printf '%s\n' 'name dyn' 'platforms linux/amd64' 'base static' \
    'file /usr/bin/true /usr/bin/true mode=0755 libs' 'entrypoint ["/usr/bin/true"]' \
    'init preload=entrypoint' >"$1"
}
workdir() { mkdir -p "$OUT/test-tmp"; mktemp -d "$OUT/test-tmp/profile-build.XXXXXX"; }
# "blobs/sha256/<hex>" of layer N (0 base, 1 app) of the image $1:$2 for linux/amd64.
layer_blob() {
  local mt digest size
  read -r mt digest size < <(oci_manifest_for "$1" "$2" linux/amd64) || fail "no amd64 manifest in $1:$2"
  echo "$1/blobs/sha256/$(json_get "d['layers'][$3]['digest'].split(':')[1]" "$1/blobs/sha256/${digest#sha256:}")"
}
# type, mode, owner, size and link target of everything under $1, sorted
tree_listing() { (cd "$1" && find . -mindepth 1 -printf '%P %y %m %U:%G %s %l\n' | LC_ALL=C sort); }
entrypoint_of() { "$ARMLET" inspect "$1" | sed -n 's/^ *entrypoint: //p'; }

test_entrypoint_recipe_lists_the_entrypoints_load_segments_and_passes_the_flag() {
  local d; d=$(workdir)
  write_recipe "$d" "init preload=entrypoint"
  capture "$ARMLET" build "$d/app.recipe" --oci "$d/oci" --tag t
  assert_eq 0 "$rc" "build: $err"
  capture "$ARMLET" build "$d/app.recipe" --rootfs "$d/rootfs"
  assert_eq 0 "$rc" "build --rootfs: $err"
  # the symlink /bin/httpd is followed to the file it names
  local want; want=$("$ARMLET" profile "$d/rootfs" --entrypoint-only -- /bin/busybox)
  assert_contains "$want" "/bin/busybox 0:"
  assert_eq "$want" "$(cat "$d/rootfs/etc/armlet/preload")"
  assert_contains "$(entrypoint_of "$d/oci:t")" "--preload=/etc/armlet/preload -- /bin/httpd"
  rm -rf "$d"
}

# A dynamic program carried with `libs`: its loader is listed after it, found through
# the image's symlinks (/lib64 -> usr/lib64, and the loader's own link).
test_entrypoint_list_of_a_dynamic_program_adds_its_loader() {
  local d; d=$(workdir)
  write_dyn_recipe "$d/app.recipe"
  capture "$ARMLET" build "$d/app.recipe" --rootfs "$d/rootfs"
  assert_eq 0 "$rc" "build --rootfs: $err"
  local first second
  first=$(sed -n 1p "$d/rootfs/etc/armlet/preload" | cut -d' ' -f1)
  second=$(sed -n 2p "$d/rootfs/etc/armlet/preload" | cut -d' ' -f1)
  assert_eq /usr/bin/true "$first"
  assert_contains "$second" "/ld-linux-x86-64.so.2"
  [ -f "$d/rootfs$second" ] && [ ! -L "$d/rootfs$second" ] || fail "$second is not a file of the image"
  assert_contains "$(sed -n 2p "$d/rootfs/etc/armlet/preload")" "$second 0:"
  rm -rf "$d"
}

test_preload_none_adds_no_list_and_no_flag() {
  local d; d=$(workdir)
  write_recipe "$d" "init cpu=floor preload=none"
  capture "$ARMLET" build "$d/app.recipe" --oci "$d/oci" --tag t
  assert_eq 0 "$rc" "build: $err"
  capture "$ARMLET" build "$d/app.recipe" --rootfs "$d/rootfs"
  [ ! -e "$d/rootfs/etc/armlet/preload" ] || fail "preload=none still wrote /etc/armlet/preload"
  assert_not_contains "$(entrypoint_of "$d/oci:t")" "--preload"
  # and the app layer keeps plain sorted order
  local names; names=$(tar -tzf "$(layer_blob "$d/oci" t 1)")
  assert_eq "bin/" "$(echo "$names" | head -1)"
  assert_eq "$(echo "$names" | LC_ALL=C sort)" "$names"
  rm -rf "$d"
}

test_profiled_list_recorded_from_the_rootfs_goes_into_the_image() {
  local d port; d=$(workdir); port=$(free_port)
  write_recipe "$d" ""
  capture "$ARMLET" build "$d/app.recipe" --rootfs "$d/rootfs"
  assert_eq 0 "$rc" "build --rootfs: $err"
  capture "$ARMLET" profile "$d/rootfs" --url "http://127.0.0.1:$port/" -o "$d/app.preload" -- \
    /bin/httpd -f -p "127.0.0.1:$port" -h /www
  assert_eq 0 "$rc" "profile: $err"
  assert_contains "$(cat "$d/app.preload")" "/www/index.html 0:"
  write_recipe "$d" "init cpu=floor preload=app.preload"
  rm -rf "$d/rootfs"
  capture "$ARMLET" build "$d/app.recipe" --rootfs "$d/rootfs"
  assert_eq 0 "$rc" "build with preload=app.preload: $err"
  assert_eq "$(cat "$d/app.preload")" "$(cat "$d/rootfs/etc/armlet/preload")"
  rm -rf "$d"
}

test_a_malformed_list_is_an_error_naming_the_file_and_line() {
  local d; d=$(workdir)
  write_recipe "$d" "init preload=bad.preload"
  printf '/bin/busybox 0:4096\n/www/index.html 12:\n' >"$d/bad.preload"
  capture "$ARMLET" build "$d/app.recipe" --rootfs "$d/rootfs"
  assert_eq 1 "$rc"
  assert_contains "$err" "bad.preload:2:"
  assert_contains "$err" "expected OFFSET:LENGTH"
  printf 'relative/path\n' >"$d/bad.preload"
  capture "$ARMLET" build "$d/app.recipe" --rootfs "$d/rootfs2"
  assert_eq 1 "$rc"
  assert_contains "$err" "bad.preload:1: path \"relative/path\" is not absolute"
  rm -rf "$d"
}

# The files of a recorded list lead the app layer, in list order (a listed symlink puts
# the file it names there), each after its folders; the rest follows sorted. GNU tar
# unpacks the two layers to the same tree as --rootfs, and a second build gives the
# same blob.
test_listed_files_lead_the_app_layer_in_list_order() {
  local d; d=$(workdir)
  write_recipe "$d" "init cpu=floor preload=app.preload"
  printf '/www/index.html\n/bin/httpd 0:4096\n/etc/passwd\n' >"$d/app.preload"
  capture "$ARMLET" build "$d/app.recipe" --oci "$d/oci" --tag t
  assert_eq 0 "$rc" "build: $err"
  local blob names
  blob=$(layer_blob "$d/oci" t 1)
  names=$(tar -tzf "$blob")
  # /etc/passwd is a file of the base layer: it cannot lead the app layer
  assert_eq "www/ www/index.html bin/ bin/busybox bin/httpd" "$(echo "$names" | head -5 | tr '\n' ' ' | sed 's/ $//')"
  assert_eq "$(echo "$names" | tail -n +5 | LC_ALL=C sort)" "$(echo "$names" | tail -n +5)" "the rest is sorted:"
  assert_contains "$names" "etc/armlet/preload"
  capture "$ARMLET" build "$d/app.recipe" --oci "$d/oci2" --tag t
  assert_eq 0 "$rc" "second build: $err"
  cmp "$blob" "$(layer_blob "$d/oci2" t 1)" || fail "second build gave other bytes"
  # GNU tar, base layer then app layer, gives the tree --rootfs writes
  mkdir "$d/untar"
  tar -xzpf "$(layer_blob "$d/oci" t 0)" -C "$d/untar"
  tar -xzpf "$blob" -C "$d/untar"
  capture "$ARMLET" build "$d/app.recipe" --rootfs "$d/rootfs"
  assert_eq 0 "$rc" "build --rootfs: $err"
  assert_eq "$(tree_listing "$d/rootfs")" "$(tree_listing "$d/untar")" "tar vs --rootfs:"
  diff -r --no-dereference "$d/rootfs" "$d/untar" >/dev/null || fail "contents differ between tar and --rootfs"
  rm -rf "$d"
}

# The default list (preload=entrypoint) orders the layer too: the program, then its
# loader, ahead of etc/ and lib/ that sort before them.
test_entrypoint_program_its_loader_and_libc_lead_the_app_layer() {
  local d; d=$(workdir)
  write_dyn_recipe "$d/app.recipe"
  capture "$ARMLET" build "$d/app.recipe" --oci "$d/oci" --tag t
  assert_eq 0 "$rc" "build: $err"
  local names; names=$(tar -tzf "$(layer_blob "$d/oci" t 1)")
  assert_eq "usr/ usr/bin/ usr/bin/true" "$(echo "$names" | head -3 | tr '\n' ' ' | sed 's/ $//')"
  assert_contains "$(echo "$names" | sed -n 6p)" "/ld-linux-x86-64.so.2"
  assert_contains "$(echo "$names" | sed -n 7p)" "/libc.so.6"   # its library (true's only one)
  assert_eq "$(echo "$names" | tail -n +8 | LC_ALL=C sort)" "$(echo "$names" | tail -n +8)" "the rest is sorted:"
  rm -rf "$d"
}


run_tests
