#!/usr/bin/env bash
# tests/builder/t_dockerfile.sh — the Dockerfile examples in recipes/, built offline by
# buildah for several platforms and run by podman:
#   Dockerfile.go-app    compile stage = a Go toolchain image armlet built from Debian's
#                        golang-go (go-app/toolchain.recipe, `go` carried with `libs`);
#                        image stage = the builder image (armlet.recipe) running
#                        `armlet build --rootfs /rootfs`; final FROM scratch + COPY --from.
#   Dockerfile.add-init  armlet-init copied from the builder image into a busybox image
#                        built here (Debian's busybox-static), for every platform.
# Every image is given to buildah as FROM oci:DIR:TAG (--pull=never): no registry.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"

# buildah names an oci: image after its folder, which must be lower-case: no mktemp -d.
WORK=${TMPDIR:-/tmp}/armlet-df.$$.$RANDOM
mkdir -p "$WORK"
S=(--root "$WORK/store" --runroot "$WORK/run" --storage-driver overlay)
B=(buildah "${S[@]}")
P=(podman "${S[@]}")
cleanup() {
  "${P[@]}" rm -a -f >/dev/null 2>&1
  "${B[@]}" rm -a >/dev/null 2>&1
  "${P[@]}" rmi -a -f >/dev/null 2>&1
  local _
  for _ in 1 2 3; do   # overlay mounts of the private store, innermost first
    awk -v w="$WORK/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    awk -v w="$WORK/" 'index($2, w) == 1 {n++} END {exit n > 0}' /proc/mounts && break
  done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
PLATFORMS="linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6"
RUN=(timeout 120 "${P[@]}" run --rm --runtime runc --ulimit nofile=1024:1024
     --ulimit nproc=1024:1024 --network none)

need_tools() {
  command -v buildah >/dev/null && command -v podman >/dev/null || skip "buildah/podman not installed (bash ci/install-deps)"
  binfmt_ready qemu-aarch64 && binfmt_ready qemu-arm || skip "qemu binfmt is not enabled (bash ci/install-deps)"
}

# The builder image (amd64) and the Go toolchain image in $WORK/oci, built once.
stage_images() {
  [ -f "$WORK/oci/.done" ] && return 0
  capture bash "$TOP/recipes/armlet/build.sh"
  [ "$rc" = 0 ] || fail "recipes/armlet/build.sh: $err"
  capture bash "$TOP/recipes/go-app/toolchain.sh"
  [ "$rc" = 0 ] || fail "recipes/go-app/toolchain.sh: $err"
  capture "$ARMLET" build "$TOP/recipes/armlet.recipe" --platform linux/amd64 --oci "$WORK/oci" --tag armlet
  [ "$rc" = 0 ] || fail "armlet build recipes/armlet.recipe: $err"
  capture "$ARMLET" build "$TOP/recipes/go-app/toolchain.recipe" --oci "$WORK/oci" --tag go-toolchain --compress none
  [ "$rc" = 0 ] || fail "armlet build recipes/go-app/toolchain.recipe: $err"
  touch "$WORK/oci/.done"
}

# bud FILE MANIFEST BUILD-ARGS...: buildah bud of recipes/FILE for $PLATFORMS.
bud() {
  local file=$1 manifest=$2; shift 2   # $PLATFORMS: the platforms (default all four)
  capture "${B[@]}" bud --pull=never --platform "${PLATFORMS// /,}" "$@" \
    --manifest "$manifest" -f "$TOP/recipes/$file" "$TOP/recipes"
  [ "$rc" = 0 ] || fail "buildah bud $file exited $rc: $(grep -iv "^copying\|^writing\|^storing\|^getting" <<<"$err" | tail -20)"
}

# digest_for MANIFEST PLATFORM: the image of that platform in the manifest list.
digest_for() {
  local os arch variant
  IFS=/ read -r os arch variant <<<"$2"
  "${B[@]}" manifest inspect "$1" | jq -er --arg a "$arch" --arg v "${variant:-}" \
    '[.manifests[] | select(.platform.architecture == $a and (.platform.variant // "") == $v)][0].digest'
}

# The compile stage builds for arm64 and arm/v7 by default (GOARM from TARGETVARIANT),
# the two that tests/docker/t_build.sh's go-app build (arm/v6) does not cover; all four
# with DF_ALL_PLATFORMS=1 (or DOCKER_ALL_PLATFORMS=1). Its RUN steps get the clone's Go
# build cache at the toolchain image's GOCACHE (buildah bud -v, as a CI job mounts a
# cache): the hello build (make hello) has compiled the standard library with the same
# go and flags for every platform, so the stage does not compile it again (about 35 s of
# CPU per platform). Go's cache is keyed by content: a hit gives the same bytes.
go_app_platforms() {
  if [ "${DF_ALL_PLATFORMS:-${DOCKER_ALL_PLATFORMS:-}}" = 1 ]; then echo "$PLATFORMS"
  else echo linux/arm64 linux/arm/v7; fi
}

test_go_app_dockerfile_builds_for_several_platforms_each_runs_under_armlet_init() {
  need_tools
  stage_images
  local PLATFORMS; PLATFORMS=$(go_app_platforms)
  mkdir -p "$GOCACHE"
  bud Dockerfile.go-app go-app --build-arg "TOOLCHAIN=oci:$WORK/oci:go-toolchain" \
    --build-arg "BUILDER=oci:$WORK/oci:armlet" -v "$GOCACHE:/tmp/go-cache"
  local plat arch variant d want
  for plat in $PLATFORMS; do
    IFS=/ read -r _ arch variant <<<"$plat"
    d=$(digest_for go-app "$plat") || fail "no $plat image in the go-app manifest list"
    capture "${RUN[@]}" "localhost/go-app@$d" one two
    assert_eq 0 "$rc" "podman run go-app $plat: $err"
    want="go-app linux/$arch${variant:+ GOARM=${variant#v}} pid="
    assert_contains "$out" "$want" "$plat:"
    # PID 1 is the init with the recipe's flags; the app runs as nonroot, args passed on.
    assert_contains "$out" "uid=65532 pid1="
    assert_contains "$out" "/sbin/armlet-init --cpu=floor --memory=0.9 --nofile=max --seccomp=/etc/armlet/seccomp.bpf -- /app one two"
    assert_contains "$out" "args: one two"
    [[ "$out" =~ pid=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 1 ] || fail "$plat: app is PID 1? $out"
  done
  # One image per platform asked for, and the final images hold the tree armlet wrote.
  assert_eq "$(wc -w <<<"$PLATFORMS")" "$("${B[@]}" manifest inspect go-app | jq '.manifests | length')" "images in the go-app list"
  d=$(digest_for go-app linux/arm/v7)
  capture "${P[@]}" image inspect "localhost/go-app@$d" --format '{{.Architecture}} {{.Config.User}}'
  assert_eq "arm 65532:65532" "$out"
}

# A busybox image without any init, for four platforms, as $WORK/bbimage:busybox: an OCI
# layout written here (one layer: bin/busybox, bin/sh -> busybox; config Cmd ["sh"]).
# Not with buildah: Debian 12's buildah (1.28) writes "variant": "v7" into the config of
# a FROM scratch linux/arm/v6 build, and then cannot find that image for arm/v6.
busybox_base() {
  /usr/bin/python3 - "$WORK/bbimage" "$TOP/recipes/dist" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
out, dist = sys.argv[1], sys.argv[2]
os.makedirs(out + "/blobs/sha256", exist_ok=True)
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
mans = []
for arch, variant, name in [("amd64", "", "amd64"), ("arm64", "", "arm64"),
                            ("arm", "v7", "armv7"), ("arm", "v6", "armv6")]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in ("bin",):
            ti = tarfile.TarInfo(d); ti.type, ti.mode = tarfile.DIRTYPE, 0o755; t.addfile(ti)
        data = open(f"{dist}/busybox-{name}", "rb").read()
        ti = tarfile.TarInfo("bin/busybox"); ti.size, ti.mode = len(data), 0o755
        t.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("bin/sh"); ti.type, ti.linkname = tarfile.SYMTYPE, "busybox"
        t.addfile(ti)
    tar = raw.getvalue()
    layer = blob(gzip.compress(tar, mtime=0))
    plat = {"architecture": arch, "os": "linux"}
    if variant:
        plat["variant"] = variant
    cfg = dict(plat, config={"Cmd": ["sh"], "Env": ["PATH=/bin"]},
               rootfs={"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]})
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": dict(blob(json.dumps(cfg).encode()), mediaType="application/vnd.oci.image.config.v1+json"),
           "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+gzip")]}
    mans.append(dict(blob(json.dumps(man).encode()), mediaType=man["mediaType"], platform=plat))
idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": mans}
top = dict(blob(json.dumps(idx).encode()), mediaType=idx["mediaType"],
           annotations={"org.opencontainers.image.ref.name": "busybox"})
json.dump({"schemaVersion": 2, "manifests": [top]}, open(out + "/index.json", "w"))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
PY
}

test_add_init_dockerfile_puts_armlet_init_in_front_of_a_busybox_image() {
  need_tools
  stage_images
  busybox_base
  # amd64, arm64, arm/v7 in one bud. arm/v6 on its own, FROM the image's ID: Debian 12's
  # buildah (1.28) stores an arm/v6 image it pulls, then fails to find it ("locating
  # pulled image ... image not known"), in a bud as in `buildah pull --platform`.
  PLATFORMS="linux/amd64 linux/arm64 linux/arm/v7" bud Dockerfile.add-init with-init \
    --build-arg "BUILDER=oci:$WORK/oci:armlet" --build-arg "BASE=oci:$WORK/bbimage:busybox"
  "${B[@]}" pull --platform linux/arm/v6 "oci:$WORK/bbimage:busybox" >/dev/null 2>&1 || true
  local v6
  v6=$("${B[@]}" images --format '{{.ID}}' | while read -r i; do
         [ "$("${B[@]}" inspect --type image "$i" | jq -r '.OCIv1.variant')" = v6 ] && echo "$i"; done | head -1)
  [ -n "$v6" ] || fail "the arm/v6 busybox base was not pulled"
  PLATFORMS=linux/arm/v6 bud Dockerfile.add-init with-init \
    --build-arg "BUILDER=oci:$WORK/oci:armlet" --build-arg "BASE=$v6"
  local plat d
  for plat in $PLATFORMS; do
    d=$(digest_for with-init "$plat") || fail "no $plat image in the with-init manifest list"
    capture "${RUN[@]}" "localhost/with-init@$d" /bin/busybox sh -c \
      'echo "pid=$$ arch=$(/bin/busybox uname -m)"; /bin/busybox tr "\0" " " </proc/1/cmdline'
    assert_eq 0 "$rc" "podman run with-init $plat: $err"
    assert_contains "$out" "/sbin/armlet-init --cpu=floor --nofile=max -- /bin/busybox sh -c"
    [[ "$out" =~ pid=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 1 ] || fail "$plat: shell is PID 1? $out"
    case $plat in
      linux/amd64) assert_contains "$out" "arch=x86_64" ;;
      linux/arm64) assert_contains "$out" "arch=aarch64" ;;
      *) assert_contains "$out" "arch=armv7l" ;;   # qemu-arm's uname for both v7 and v6
    esac
  done
  capture "${P[@]}" image inspect "localhost/with-init@$(digest_for with-init linux/arm/v6)" --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}'
  assert_eq '["/sbin/armlet-init","--cpu=floor","--nofile=max","--"] ["sh"]' "$out"
}

# armlet_in_builder OCI PLATFORM: unpack that builder image, check its inits and CA bundle,
# and let the armlet inside (its own libraries, no host ones) build an arm/v6 image.
armlet_in_builder() {
  local b=$WORK/bundle-${2//\//-} p r
  oci_unpack "$1" armlet "$2" "$b" || fail "umoci unpack of the $2 builder image"
  r=$b/rootfs
  for p in linux-amd64 linux-arm64 linux-arm-v7 linux-arm-v6; do
    tar -xOf "$TOP/recipes/dist/armlet-inits.tar" "./$p/armlet-init" | cmp - "$r/usr/lib/armlet/$p/armlet-init" \
      || fail "$p init differs from recipes/dist/armlet-inits.tar"
    file -L "$r/usr/lib/armlet/$p/armlet-init" | grep -q "statically linked" || fail "$p init is not static"
  done
  assert_file "$r/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$r/work/dist" "$r/proc"   # armlet finds the inits beside /proc/self/exe
  cp "$TOP/recipes/dist/busybox-armv6" "$r/work/dist/busybox-armv6"
  printf '%s\n' 'name t' 'platforms linux/arm/v6' 'base static' \
    'file /bin/busybox dist/busybox-armv6' 'entrypoint ["/bin/busybox","true"]' >"$r/work/t.recipe"
  capture unshare --mount --fork sh -c 'mount -t proc proc "$1/proc" && exec env -i /usr/sbin/chroot "$1" /usr/bin/armlet build /work/t.recipe --oci /work/oci --tag t' sh "$r"
  assert_eq 0 "$rc" "armlet in the $2 builder image: $err"
  assert_contains "$out" "linux/arm/v6"
  capture env -i /usr/sbin/chroot "$r" /usr/bin/armlet inspect /work/oci:t
  assert_contains "$out" "/sbin/armlet-init"
}

test_builder_image_runs_armlet_and_finds_every_platforms_init() {
  need_tools
  stage_images
  armlet_in_builder "$WORK/oci" linux/amd64
}

test_arm64_builder_image_from_a_cross_built_armlet_and_its_sysroot() {
  need_tools
  stage_images
  # cross-arm64.sh downloads Debian's arm64 packages into a sysroot (apt cannot co-install
  # them with the amd64 ones here: see the script) and cross-compiles armlet against it.
  capture bash "$TOP/recipes/armlet/cross-arm64.sh"
  # Only an unreachable archive is environmental; a compile or link error is a failure.
  if [ "$rc" != 0 ]; then
    case "$err" in
      *"apt-get download of the arm64 packages failed"*) skip "Debian's arm64 packages unreachable: $(tail -3 <<<"$err")";;
      *) fail "recipes/armlet/cross-arm64.sh failed: $(tail -5 <<<"$err")";;
    esac
  fi
  capture "$ARMLET" build "$TOP/recipes/armlet.recipe" --sysroot "linux/arm64=$OUT/sysroot-arm64" \
    --oci "$WORK/oci64" --tag armlet
  assert_eq 0 "$rc" "armlet build recipes/armlet.recipe for both platforms: $err"
  assert_contains "$out" "linux/arm64"
  assert_contains "$out" "linux/amd64"
  armlet_in_builder "$WORK/oci64" linux/arm64
}

run_tests
