#!/usr/bin/env bash
# tests/docker/t_build.sh — every Dockerfile under recipes/ built by the real engine with
# BuildKit (DOCKER_BUILDKIT=1, one platform per build: Debian's docker.io 20.10 has no
# buildx), the images it starts FROM pushed to a local docker-registry first; each result
# runs on its platform (arm64, arm/v7, arm/v6 through qemu binfmt) and a server turns
# `healthy` (--health-interval 1s; unhealthy fails the test at once).
#   recipes/hello/Dockerfile             FROM the armlet hello image (armlet push)
#   recipes/busybox-httpd/Dockerfile     FROM scratch + the tree of `armlet build --rootfs`
#                                        (arm64, arm/v7)
#   recipes/Dockerfile.add-init          armlet-init from the builder image in front of busybox
#                                        (amd64, arm/v6)
#   recipes/Dockerfile.go-app            compile stage, builder stage, FROM scratch (a one-shot
#                                        program: it runs and exits 0, no healthcheck) (arm/v6)
# hello's on amd64 (what most users build on) and arm/v6 (BuildKit must pick the v6
# image of the index, not v7's; tests/docker/t_run.sh runs the hello image itself on all
# four); the others on the platforms in brackets; all four with DOCKER_ALL_PLATFORMS=1
# (see dockerfile_platforms).
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"
source "$TOP/tests/docker/lib_docker.sh"
docker_init
export SOURCE_DATE_EPOCH=1700000000

# The platform's binfmt, or skip.
need_binfmt() {
  case $1 in linux/amd64) ;; linux/arm64) binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)";;
    *) binfmt_ready qemu-arm || skip "qemu-arm binfmt is not enabled (bash ci/install-deps)";; esac
}

# dockerfile_platforms DEFAULT...: the platforms a Dockerfile test builds: DEFAULT (every
# platform at least once across the four Dockerfiles), or all four
# with DOCKER_ALL_PLATFORMS=1 (every combination passed; about 10 minutes at load 10 on
# the shared 2-core machine, against the ~5 minutes all Docker tests may take).
dockerfile_platforms() {
  if [ "${DOCKER_ALL_PLATFORMS:-}" = 1 ]; then echo linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6
  else echo "$@"; fi
}

# push_once NAME CMD...: run the command that puts an image into the registry once per
# file (marker $DOCKER_DIR/pushed-NAME).
push_once() {
  local name=$1; shift
  [ -f "$DOCKER_DIR/pushed-$name" ] && return 0
  capture "$@"
  [ "$rc" = 0 ] || fail "$name: $* exited $rc: $err"
  touch "$DOCKER_DIR/pushed-$name"
}

# build TAG ARGS...: dk_build -t TAG ARGS, failing with BuildKit's last lines.
build() {
  local tag=$1; shift
  capture dk_build -t "$tag" "$@"
  [ "$rc" = 0 ] || fail "docker build $* exited $rc: $(tail -15 <<<"$err")"
}

# The builder image (armlet.recipe, amd64: its stages run on the build machine) in the
# registry as armlet/armlet:latest.
push_builder() {
  [ -f "$DOCKER_DIR/pushed-builder" ] && return 0
  capture bash "$TOP/recipes/armlet/build.sh"
  [ "$rc" = 0 ] || fail "recipes/armlet/build.sh: $err"
  push_once builder "$ARMLET" build "$TOP/recipes/armlet.recipe" --platform linux/amd64 \
    --oci "$DOCKER_DIR/builder" --tag armlet --push "$REG_HOST/armlet/armlet:latest"
}

platforms_test_hello_dockerfile_builds_and_turns_healthy_on_its_port_9090() {
  [ "${DOCKER_ALL_PLATFORMS:-}" = 1 ] || echo linux-amd64 linux-arm-v6
}
test_hello_dockerfile_builds_and_turns_healthy_on_its_port_9090() {
  docker_need; registry_need
  local plat tag name ls; plat=$(oci_plat "$PLATFORM"); need_binfmt "$plat"
  push_once hello "$ARMLET" push "$(hello_oci):hello" "$REG_HOST/armlet/hello:latest"
  tag=hello-plus:$PLATFORM; name=hello-plus-$PLATFORM
  build "$tag" --platform "$plat" --build-arg "BASE=$REG_HOST/armlet/hello" \
    -f "$TOP/recipes/hello/Dockerfile" "$TOP/recipes/hello"
  assert_eq "$(plat_arch "$plat")" "$(dk image inspect -f '{{.Architecture}}{{.Variant}}' "$tag")" "architecture:"
  assert_contains "$(dk image inspect -f '{{json .Config.Healthcheck.Test}}' "$tag")" '"http://127.0.0.1:9090/healthz"'
  # Own network namespace (loopback only): the probe's 127.0.0.1:9090 is the container's.
  dk_run_bg "$name" --network none --health-interval 1s $(qemu_cpu_env "$plat") "$tag"
  dk_wait_healthy "$name"
  # The Dockerfile's layer: the greeting, owned by nonroot.
  ls=$(dk cp "$name:/data/greeting.txt" - | tar --numeric-owner -tvf -)
  assert_contains "$ls" "65532/65532" "/data/greeting.txt:"
  assert_eq "hello from a Dockerfile layer on top of an armlet image" "$(dk cp "$name:/data/greeting.txt" - | tar -xOf -)"
  dk_stop_ok "$name"
}

test_busybox_httpd_dockerfile_builds_from_the_rootfs_and_turns_healthy() {
  docker_need
  busybox_dist
  local plat
  for plat in $(dockerfile_platforms linux/arm64 linux/arm/v7); do busybox_httpd_on "$plat"; done
}

# busybox_httpd_on PLATFORM: build recipes/busybox-httpd/Dockerfile for it, run, healthy.
busybox_httpd_on() {
  local plat=$1 name arch ctx page tag; need_binfmt "$plat"
  tag=${plat//\//-}
  # The Dockerfile COPYs rootfs-${TARGETARCH}${TARGETVARIANT}: a context of its own, so
  # nothing is written into the source tree.
  arch=${plat#linux/}; arch=${arch//\//}
  ctx=$DOCKER_DIR/ctx-bb-$tag; mkdir -p "$ctx"
  cp "$TOP/recipes/busybox-httpd/Dockerfile" "$ctx/"
  capture "$ARMLET" build "$TOP/recipes/busybox-httpd.recipe" --platform "$plat" --rootfs "$ctx/rootfs-$arch"
  [ "$rc" = 0 ] || fail "armlet build --rootfs exited $rc: $err"
  name=bbhttpd-$tag
  build "$name" --platform "$plat" "$ctx"
  dk_run_bg "$name" --network none --health-interval 1s $(qemu_cpu_env "$plat") "$name"
  dk_wait_healthy "$name"
  page=$(dk exec "$name" /bin/busybox wget -q -O - http://127.0.0.1:8080/) || fail "wget in $name failed"
  assert_eq "$(cat "$TOP/recipes/busybox-httpd/index.html")" "$page" "$plat: GET / inside the container:"
  dk_stop_ok "$name" 143   # httpd dies of SIGTERM; the init exits 128+15 for it
}

# A busybox image without any init for platform $1 (Debian's busybox-static: /bin/busybox,
# /bin/sh -> busybox, CMD sh), built FROM scratch by BuildKit and pushed as
# busybox:<platform tag>; prints its reference.
push_busybox_base() {
  local plat=$1 tag=$2 ctx dist
  ctx=$DOCKER_DIR/ctx-base-$tag; mkdir -p "$ctx/bin"
  dist=${plat#linux/}; dist=${dist//\//}
  cp "$TOP/recipes/dist/busybox-$dist" "$ctx/bin/busybox"
  ln -sf busybox "$ctx/bin/sh"
  printf 'FROM scratch\nCOPY bin/ /bin/\nENV PATH=/bin\nCMD ["sh"]\n' >"$ctx/Dockerfile"
  build "$REG_HOST/busybox:$tag" --platform "$plat" "$ctx"
  capture dk push "$REG_HOST/busybox:$tag"
  [ "$rc" = 0 ] || fail "docker push busybox:$tag exited $rc: $err"
  echo "$REG_HOST/busybox:$tag"
}

test_add_init_dockerfile_puts_the_platforms_armlet_init_in_front_of_busybox() {
  docker_need; registry_need
  busybox_dist
  push_builder
  local plat
  for plat in $(dockerfile_platforms linux/amd64 linux/arm/v6); do add_init_on "$plat"; done
}

# add_init_on PLATFORM: recipes/Dockerfile.add-init over a busybox image of PLATFORM.
add_init_on() {
  local plat=$1 base name pid1 want tag; need_binfmt "$plat"
  tag=${plat//\//-}
  base=$(push_busybox_base "$plat" "$tag")
  name=add-init-$tag
  build "$name" --platform "$plat" --build-arg "BUILDER=$REG_HOST/armlet/armlet:latest" \
    --build-arg "BASE=$base" -f "$TOP/recipes/Dockerfile.add-init" "$TOP/recipes"
  # The init is the target platform's (file(1) on the copy in the image).
  case $plat in linux/amd64) want="x86-64";; linux/arm64) want="ARM aarch64";; *) want="32-bit LSB executable, ARM";; esac
  assert_contains "$(dk cp "$(dk create --platform "$plat" --name "$name-files" "$name")":/sbin/armlet-init - | tar -xOf - | file -b -)" \
    "$want" "$plat /sbin/armlet-init:"
  # busybox's httpd under the init; the image has no healthcheck of its own, so a user
  # gives one: the init's probe (a static binary: it needs nothing from the image).
  dk_run_bg "$name" --network none --health-cmd "/sbin/armlet-init probe tcp://127.0.0.1:8080" \
    --health-interval 1s $(qemu_cpu_env "$plat") "$name" busybox httpd -f -p 8080 -h /
  dk_wait_healthy "$name"
  pid1=$(dk exec "$name" busybox cat /proc/1/cmdline | tr '\0' ' ')
  assert_contains "$pid1" "/sbin/armlet-init --cpu=floor --nofile=max -- busybox httpd -f -p 8080 -h /" "$plat PID 1:"
  dk_stop_ok "$name" 143
}

# The compile stage cross-compiles Go's standard library cold for each platform (a
# minute or more on a loaded 2-core machine), so by default one: arm/v6, the one that
# needs the most (GOARM=6 from TARGETVARIANT, run on an emulated ARM1176; the other three
# Dockerfiles run natively too). DOCKER_ALL_PLATFORMS=1 or DOCKER_GO_APP_PLATFORMS="..."
# for more (each of the four passed here, 80-130 s apiece at load 12).
test_go_app_dockerfile_compiles_packages_and_runs_under_armlet_init() {
  docker_need; registry_need
  local plat arch variant name
  busybox_dist
  push_builder
  capture bash "$TOP/recipes/go-app/toolchain.sh"
  [ "$rc" = 0 ] || fail "recipes/go-app/toolchain.sh: $err"
  push_once toolchain "$ARMLET" build "$TOP/recipes/go-app/toolchain.recipe" --oci "$DOCKER_DIR/toolchain" \
    --tag go-toolchain --compress none --push "$REG_HOST/armlet/go-toolchain:latest"
  for plat in ${DOCKER_GO_APP_PLATFORMS:-$(dockerfile_platforms linux/arm/v6)}; do
    need_binfmt "$plat"
    IFS=/ read -r _ arch variant <<<"$plat"
    name=go-app-${plat//\//-}
    build "$name" --platform "$plat" --build-arg "TOOLCHAIN=$REG_HOST/armlet/go-toolchain:latest" \
      --build-arg "BUILDER=$REG_HOST/armlet/armlet:latest" -f "$TOP/recipes/Dockerfile.go-app" "$TOP/recipes"
    capture dk run --rm --network none $(qemu_cpu_env "$plat") "$name" one two
    assert_eq 0 "$rc" "docker run go-app ($plat): $err"
    assert_contains "$out" "go-app linux/$arch${variant:+ GOARM=${variant#v}} pid=" "$plat:"
    assert_contains "$out" "uid=65532 pid1="
    assert_contains "$out" "/sbin/armlet-init --cpu=floor --memory=0.9 --nofile=max --seccomp=/etc/armlet/seccomp.bpf -- /app one two"
    assert_contains "$out" "args: one two"
  done
}

run_tests
