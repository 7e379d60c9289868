# shellcheck shell=bash
# tests/tools/oci.sh — run images armlet built with the real tools: umoci, runc, curl.
# Sourced by ci/demo and tests/builder/t_tools*.sh, t_thirdparty*.sh. The JSON work is
# done by ocijson.py with Debian's python3, not jq (jq:amd64 and libjq1:arm64 of different
# Debian updates cannot be installed together, and the libs tests want the latter).
#
#   oci_manifest_for OCI TAG PLATFORM     print "MEDIATYPE DIGEST SIZE" of TAG's manifest
#                                         for PLATFORM ("linux/arm/v7"); 1 if none
#   oci_select OCI TAG PLATFORM DEST      a one-platform layout DEST with tag TAG (umoci
#                                         unpacks one manifest only); blobs hard-linked
#   oci_unpack OCI TAG PLATFORM BUNDLE    umoci unpack that platform into BUNDLE
#   bundle_on_host_net BUNDLE [FROM TO]...  config.json: no terminal, no network
#                                         namespace (the server listens on the host's
#                                         loopback), each process arg FROM replaced by TO
#   bundle_for_qemu BUNDLE                drop the init's --seccomp flag: qemu-user refuses
#                                         PR_SET_SECCOMP (EINVAL), so a foreign-arch image
#                                         runs under binfmt only without its filter
#   runc_start ID BUNDLE LOG              runc run -d; the container's output goes to LOG
#   runc_gone ID                          kill and delete the container (never fails)
#   tools_cleanup                         runc_gone every container runc_start started and
#                                         remove every dir given to tools_track; put it
#                                         in an EXIT trap: `trap tools_cleanup EXIT`
#   tools_track DIR...                    remove DIR in tools_cleanup
#   json_get EXPR [FILE]                  print a Python expression over the JSON `d`
#                                         of FILE or stdin (ocijson.py get)
#   json_edit FILE STATEMENTS             edit FILE's JSON `d` in place (ocijson.py edit)
#   private_armlet DIR                    copy $ARMLET into DIR and point ARMLET at the
#                                         copy, so a rebuild of out/ by someone else in
#                                         the middle of a run does not fail the tests;
#                                         the inits stay in $OUT (ARMLET_INIT_DIR)
#   free_port                             print a free TCP port on 127.0.0.1
#   wait_http URL [SECONDS]               print URL's body once it answers (default 30 s)
#   binfmt_ready QEMU                     0 if qemu-aarch64 / qemu-arm binfmt is enabled

_tools_ids=()
_tools_dirs=()

_tools_py=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ocijson.py
json_get() { /usr/bin/python3 "$_tools_py" get "$@"; }
json_edit() { /usr/bin/python3 "$_tools_py" edit "$@"; }

oci_manifest_for() {
  /usr/bin/python3 "$_tools_py" manifest-for "$1" "$2" "$3"
}

oci_select() {
  local oci=$1 tag=$2 plat=$3 dest=$4 mt digest size
  read -r mt digest size < <(oci_manifest_for "$oci" "$tag" "$plat") || return 1
  [ -n "${size:-}" ] || return 1
  mkdir -p "$dest/blobs/sha256"
  cp -al "$oci/blobs/sha256/." "$dest/blobs/sha256/" 2>/dev/null || cp -a "$oci/blobs/sha256/." "$dest/blobs/sha256/"
  cp "$oci/oci-layout" "$dest/oci-layout"
  /usr/bin/python3 "$_tools_py" one-index "$mt" "$digest" "$size" "$tag" >"$dest/index.json"
}

oci_unpack() {
  local oci=$1 tag=$2 plat=$3 bundle=$4 tmp rc=0
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/armlet-sel.XXXXXX")
  { oci_select "$oci" "$tag" "$plat" "$tmp/l" && umoci unpack --image "$tmp/l:$tag" "$bundle" >/dev/null; } || rc=$?
  rm -rf "$tmp"
  return $rc
}

bundle_on_host_net() {
  local bundle=$1; shift
  /usr/bin/python3 "$_tools_py" bundle "$bundle/config.json" --host-net "$@"
}

bundle_for_qemu() {
  # qemu-user cannot honour a guest's seccomp filter (it would apply to qemu's own host
  # syscalls), so it fails prctl(PR_SET_SECCOMP) with EINVAL and armlet-init, rightly,
  # refuses to start the program unprotected. Real arm64/arm boards install it fine.
  /usr/bin/python3 "$_tools_py" bundle "$1/config.json" --no-seccomp
}

runc_start() {
  local id=$1 bundle=$2 log=$3
  _tools_ids+=("$id")
  runc run -d --bundle "$bundle" "$id" >"$log" 2>&1 </dev/null
}

runc_gone() {
  runc kill "$1" KILL >/dev/null 2>&1 || true
  for _ in $(seq 1 150); do   # 30 s at most
    runc delete --force "$1" >/dev/null 2>&1 || true
    runc state "$1" >/dev/null 2>&1 || return 0
    sleep 0.2
  done
  return 0
}

tools_track() { _tools_dirs+=("$@"); }

tools_cleanup() {
  local id d
  for id in ${_tools_ids[@]+"${_tools_ids[@]}"}; do runc_gone "$id"; done
  for d in ${_tools_dirs[@]+"${_tools_dirs[@]}"}; do rm -rf "$d"; done
  _tools_ids=(); _tools_dirs=()
}

private_armlet() {
  for _ in $(seq 1 60); do "$ARMLET" --help >/dev/null 2>&1 && break; sleep 0.5; done
  cp "$ARMLET" "$1/armlet" && ARMLET=$1/armlet
  export ARMLET_INIT_DIR=${ARMLET_INIT_DIR:-$OUT}
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() {
  local url=$1 secs=${2:-30} end body
  end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$end" ]; do
    if body=$(curl -fsS --max-time 3 "$url" 2>/dev/null); then printf '%s\n' "$body"; return 0; fi
    sleep 0.05
  done
  echo "no answer from $url after ${secs}s" >&2
  return 1
}

binfmt_ready() {
  [ "$(head -1 "/proc/sys/fs/binfmt_misc/$1" 2>/dev/null)" = enabled ]
}
