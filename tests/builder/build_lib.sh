# tests/builder/build_lib.sh — what the `armlet build` script tests share. Source it after
# tests/lib.sh, once $WORK (the test file's temp folder) exists:
#
#   INITS                a private copy of the inits, $INITS/<platform>/armlet-init: a `make`
#                        running meanwhile cannot change them under a test
#   compile_payloads FN  runs FN once (it compiles the test programs into $WORK/dist), output
#                        in $WORK/cc.log; a failure is kept in PAYLOAD_ERR for project_dir
#   project_dir DIR      makes DIR with a copy of $WORK/dist in DIR/dist; fails the test, with
#                        the compiler's output, when the payloads did not compile
#   build ARGS...        `armlet build ARGS` with the private inits, SOURCE_DATE_EPOCH=${EPOCH:-0}

INITS=$WORK/inits
for p in linux-amd64 linux-arm64 linux-arm-v7 linux-arm-v6; do
  mkdir -p "$INITS/$p"; cp "$OUT/$p/armlet-init" "$INITS/$p/" 2>/dev/null || true
done

PAYLOAD_ERR=
compile_payloads() { "$1" >"$WORK/cc.log" 2>&1 || PAYLOAD_ERR=$(cat "$WORK/cc.log"); }

project_dir() {
  [ -z "$PAYLOAD_ERR" ] || fail "cannot build test payloads: $PAYLOAD_ERR"
  mkdir -p "$1"
  cp -r "$WORK/dist" "$1/dist"
}

build() { SOURCE_DATE_EPOCH=${EPOCH:-0} ARMLET_INIT_DIR=$INITS "$ARMLET" build "$@"; }

# layout_sums DIR: every file of a layout with its sha256, one per line (what "a failed
# build changed nothing" compares).
layout_sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
# oci_plat PLATFORM: linux-arm-v7 -> linux/arm/v7 (the init folders' names to OCI's).
oci_plat() { echo "${1//-//}"; }
