# tests/tools/oci.sh — run images armlet built with the real tools: umoci, runc, curl.
# Sourced by ci/demo and tests/builder/t_tools*.sh, t_thirdparty*.sh. Needs jq.
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
#   free_port                             print a free TCP port on 127.0.0.1
#   wait_http URL [SECONDS]               print URL's body once it answers (default 30 s)
#   binfmt_ready QEMU                     0 if qemu-aarch64 / qemu-arm binfmt is enabled

_tools_ids=()
_tools_dirs=()

oci_manifest_for() {
  local oci=$1 tag=$2 plat=$3 os arch variant top mt digest
  IFS=/ read -r os arch variant <<<"$plat"
  top=$(jq -r --arg t "$tag" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)][0]
        | "\(.mediaType) \(.digest)"' "$oci/index.json") || return 1
  read -r mt digest <<<"$top"
  [ "$digest" != null ] || { echo "oci: no tag $tag in $oci/index.json" >&2; return 1; }
  case $mt in
    application/vnd.oci.image.index.v1+json)
      jq -er --arg os "$os" --arg a "$arch" --arg v "${variant:-}" \
        '[.manifests[] | select(.platform.os == $os and .platform.architecture == $a
                               and (.platform.variant // "") == $v)][0]
         | select(. != null) | "\(.mediaType) \(.digest) \(.size)"' \
        "$oci/blobs/sha256/${digest#sha256:}" \
        || { echo "oci: $oci:$tag has no manifest for $plat" >&2; return 1; } ;;
    *) jq -r --arg t "$tag" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)][0]
         | "\(.mediaType) \(.digest) \(.size)"' "$oci/index.json" ;;
  esac
}

oci_select() {
  local oci=$1 tag=$2 plat=$3 dest=$4 mt digest size
  read -r mt digest size < <(oci_manifest_for "$oci" "$tag" "$plat") || return 1
  [ -n "${digest:-}" ] || return 1
  mkdir -p "$dest/blobs/sha256"
  cp -al "$oci/blobs/sha256/." "$dest/blobs/sha256/" 2>/dev/null || cp -a "$oci/blobs/sha256/." "$dest/blobs/sha256/"
  cp "$oci/oci-layout" "$dest/oci-layout"
  jq -n --arg mt "$mt" --arg d "$digest" --argjson s "$size" --arg t "$tag" \
    '{schemaVersion: 2, manifests: [{mediaType: $mt, digest: $d, size: $s,
      annotations: {"org.opencontainers.image.ref.name": $t}}]}' >"$dest/index.json"
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
  local map='{}'
  while [ $# -ge 2 ]; do map=$(jq -c --arg f "$1" --arg t "$2" '. + {($f): $t}' <<<"$map"); shift 2; done
  jq --argjson m "$map" '.process.terminal = false
      | .linux.namespaces |= map(select(.type != "network"))
      | .process.args |= map(if $m[.] != null then $m[.] else . end)' \
    "$bundle/config.json" >"$bundle/config.json.new" && mv "$bundle/config.json.new" "$bundle/config.json"
}

bundle_for_qemu() {
  # qemu-user cannot honour a guest's seccomp filter (it would apply to qemu's own host
  # syscalls), so it fails prctl(PR_SET_SECCOMP) with EINVAL and armlet-init, rightly,
  # refuses to start the program unprotected. Real arm64/arm boards install it fine.
  jq 'def drop_seccomp: reduce .[] as $a ({out: [], skip: false};
        if .skip then .skip = false
        elif $a == "--seccomp" then .skip = true
        elif ($a | startswith("--seccomp=")) then .
        else .out += [$a] end) | .out;
      (.process.args | index("--")) as $d
      | .process.args = (if $d == null then (.process.args | drop_seccomp)
                         else (.process.args[:$d] | drop_seccomp) + .process.args[$d:] end)' \
    "$1/config.json" >"$1/config.json.new" && mv "$1/config.json.new" "$1/config.json"
}

runc_start() {
  local id=$1 bundle=$2 log=$3
  _tools_ids+=("$id")
  runc run -d --bundle "$bundle" "$id" >"$log" 2>&1 </dev/null
}

runc_gone() {
  runc kill "$1" KILL >/dev/null 2>&1 || true
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
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
