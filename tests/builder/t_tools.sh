#!/usr/bin/env bash
# tests/builder/t_tools.sh — images built by `armlet build` read, unpacked and run by the
# real tools a user has: the OCI schemas, skopeo, umoci, runc (amd64 natively, arm64
# under qemu binfmt) and podman. Builds recipes/hello.recipe once per run.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"

# The OCI image-spec v1.1.1 schemas, carried in tests/fixtures/oci-schema (origin and
# license in its README), or OCI_SCHEMA_DIR.
SCHEMAS=${OCI_SCHEMA_DIR:-$TOP/tests/fixtures/oci-schema}
VALIDATE=(/usr/bin/python3 "$TOP/tests/tools/validate_oci.py" "$SCHEMAS")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/armlet-tools.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=1700000000
private_armlet "$WORK"
PLATS="linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6"

# The hello image, built once into $WORK/oci (tag hello); the Go binaries first if missing.
hello_oci() {
  if [ ! -f "$WORK/oci/index.json" ]; then
    local b
    for b in amd64 arm64 armv7 armv6; do
      [ -x "$TOP/recipes/dist/hello-$b" ] && continue
      bash "$TOP/recipes/hello/build.sh" >/dev/null || fail "recipes/hello/build.sh failed"
      break
    done
    capture "$ARMLET" build "$TOP/recipes/hello.recipe" --oci "$WORK/oci" --tag hello
    [ "$rc" = 0 ] || fail "armlet build recipes/hello.recipe exited $rc: $err"
  fi
  echo "$WORK/oci"
}

# What `file` says of a binary built for platform P.
file_says() {
  case $1 in
    linux/amd64) echo "ELF 64-bit LSB executable, x86-64" ;;
    linux/arm64) echo "ELF 64-bit LSB executable, ARM aarch64" ;;
    linux/arm/*) echo "ELF 32-bit LSB executable, ARM" ;;
  esac
}

test_the_demo_job_answers_from_amd64_and_arm64_and_leaves_no_container() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  local d; d=$(tmpdir)
  # The quick start's main job (make demo = install-deps, all, then this), into a temp OUT.
  capture env OUT="$d" ARMLET="$ARMLET" bash "$TOP/ci/demo"
  rm -rf "$d"
  [ "$rc" = 0 ] || fail "ci/demo exited $rc: $(tail -5 <<<"$out") $err"
  [[ "$out" =~ "hello from amd64 pid="[0-9]+" uid=65532" ]] || fail "no amd64 answer in: $out"
  [[ "$out" =~ "hello from arm64 pid="[0-9]+" uid=65532" ]] || fail "no arm64 answer in: $out"
  assert_contains "$out" "linux/arm/v6"   # armlet inspect lists all four platforms
  assert_not_contains "$(runc list -q)" "demo-hello-"
}

test_every_json_document_of_the_layout_validates_against_the_oci_schemas() {
  [ -f "$SCHEMAS/image-index-schema.json" ] || fail "no OCI schemas in $SCHEMAS (set OCI_SCHEMA_DIR)"
  local oci; oci=$(hello_oci)
  capture "${VALIDATE[@]}" "$oci"
  [ "$rc" = 0 ] || fail "layout does not validate: $out $err"
  # oci-layout + index.json + the image index + 4 manifests + 4 configs.
  assert_contains "$out" "ok: 11 documents"
  # The validator rejects what the schemas reject (so a pass above means something):
  # the amd64 config with a numeric architecture.
  local cfg; cfg=$(json_get 'd["config"]["digest"]' "$oci/blobs/sha256/$(oci_manifest_for "$oci" hello linux/amd64 | awk '{print $2}' | cut -d: -f2)")
  cp "$oci/blobs/sha256/${cfg#sha256:}" "$WORK/bad-config.json"
  json_edit "$WORK/bad-config.json" 'd["architecture"] = 64'
  capture "${VALIDATE[@]}" --doc config "$WORK/bad-config.json"
  assert_eq 1 "$rc" "validator on a config with a numeric architecture:"
  assert_contains "$out" "architecture"
}

test_skopeo_inspect_shows_one_index_of_four_platforms_and_picks_arm_v7_and_v6() {
  local oci; oci=$(hello_oci)
  capture skopeo inspect --raw "oci:$oci:hello"
  [ "$rc" = 0 ] || fail "skopeo inspect --raw: $err"
  assert_eq application/vnd.oci.image.index.v1+json "$(json_get 'd["mediaType"]' <<<"$out")"
  assert_eq "linux/amd64 linux/arm/v6 linux/arm/v7 linux/arm64" \
    "$(json_get '" ".join(sorted("/".join(filter(None, (m["platform"]["os"], m["platform"]["architecture"], m["platform"].get("variant")))) for m in d["manifests"]))' <<<"$out")"
  # skopeo picks the arm/v7 and arm/v6 manifests as a pull on a Raspberry Pi 2 / Zero would.
  local v
  for v in v7 v6; do
    capture skopeo inspect --config --override-arch arm --override-variant "$v" "oci:$oci:hello"
    [ "$rc" = 0 ] || fail "skopeo inspect arm/$v: $err"
    assert_eq "arm $v" "$(json_get 'd["architecture"] + " " + d.get("variant", "")' <<<"$out")" "config skopeo picked for arm/$v:"
  done
  capture skopeo inspect "oci:$oci:hello"
  assert_contains "$(json_get 'd["Labels"]' <<<"$out")" "org.opencontainers.image.source"
}

test_skopeo_copy_all_copies_every_platform_to_a_new_layout() {
  local oci; oci=$(hello_oci)
  capture skopeo copy --all "oci:$oci:hello" "oci:$WORK/copy:hello"
  [ "$rc" = 0 ] || fail "skopeo copy --all: $err"
  local p want got
  for p in $PLATS; do
    want=$(oci_manifest_for "$oci" hello "$p" | awk '{print $2}')
    got=$(oci_manifest_for "$WORK/copy" hello "$p" | awk '{print $2}') || fail "copy has no $p manifest"
    assert_eq "$want" "$got" "$p manifest digest after skopeo copy:"
  done
  [ -f "$SCHEMAS/image-index-schema.json" ] || fail "no OCI schemas in $SCHEMAS (set OCI_SCHEMA_DIR)"
  capture "${VALIDATE[@]}" "$WORK/copy"
  [ "$rc" = 0 ] || fail "the copy does not validate: $out $err"
}

test_umoci_unpacks_each_platform_with_init_app_users_and_ca_bundle() {
  local oci p b r; oci=$(hello_oci)
  trap tools_cleanup EXIT
  for p in $PLATS; do
    b=$(tmpdir); tools_track "$b"; r=$b/bundle/rootfs
    oci_unpack "$oci" hello "$p" "$b/bundle" || fail "umoci unpack $p failed"
    assert_contains "$(file -b "$r/sbin/armlet-init")" "$(file_says "$p")" "$p /sbin/armlet-init:"
    assert_contains "$(file -b "$r/sbin/armlet-init")" "statically linked" "$p /sbin/armlet-init:"
    assert_contains "$(file -bL "$r/app")" "$(file_says "$p")" "$p /app:"
    assert_eq /app "$(readlink "$r/usr/bin/hello")" "$p /usr/bin/hello ->"
    assert_contains "$(cat "$r/etc/passwd")" "nonroot:x:65532:65532:" "$p /etc/passwd:"
    assert_eq "65532:65532 700" "$(stat -c '%u:%g %a' "$r/home/nonroot")" "$p /home/nonroot:"
    assert_eq "65532:65532 750" "$(stat -c '%u:%g %a' "$r/data")" "$p /data:"
    assert_eq "1777" "$(stat -c '%a' "$r/tmp")" "$p /tmp mode:"
    cmp -s /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/ca-certificates.crt" \
      || fail "$p: /etc/ssl/certs/ca-certificates.crt is not the build host's CA bundle"
    # umoci turns the image config into the runtime config: init first, as nonroot.
    assert_eq "65532 65532" "$(json_get '"%d %d" % (d["process"]["user"]["uid"], d["process"]["user"]["gid"])' "$b/bundle/config.json")" "$p user:"
    assert_eq /sbin/armlet-init "$(json_get 'd["process"]["args"][0]' "$b/bundle/config.json")" "$p args[0]:"
    assert_contains "$(json_get '" ".join(d["process"]["args"])' "$b/bundle/config.json")" " -- /app --listen :8080"
    assert_contains "$(json_get '" ".join(d["process"]["env"])' "$b/bundle/config.json")" "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
    # The recipe's init line: seccomp=default and preload=entrypoint become side files.
    assert_contains "$(json_get '" ".join(d["process"]["args"])' "$b/bundle/config.json")" "--seccomp"
    [ -s "$r/etc/armlet/seccomp.bpf" ] || fail "$p: no /etc/armlet/seccomp.bpf"
    assert_contains "$(cat "$r/etc/armlet/preload" 2>/dev/null)" "/app" "$p /etc/armlet/preload:"
  done
}

# Start the hello image for platform $1 in runc, listening on the host's 127.0.0.1, and
# wait for its first answer. Under qemu binfmt (not amd64) the init's --seccomp flag is
# dropped, as qemu-user cannot install a filter (tests/tools/oci.sh, bundle_for_qemu);
# test_runc_amd64_server_runs_under_the_recipes_seccomp_filter covers seccomp natively.
# $2: extra Python statements editing config.json as `d` (json_edit). Sets
# globals (the EXIT trap needs them after the caller returns): HELLO_ID, HELLO_DIR
# (bundle + log), HELLO_PORT, HELLO_BODY (the answer to GET /).
start_hello() {
  local plat=$1 edit=${2:-} oci
  oci=$(hello_oci)
  trap tools_cleanup EXIT
  HELLO_DIR=$(tmpdir); tools_track "$HELLO_DIR"
  oci_unpack "$oci" hello "$plat" "$HELLO_DIR/bundle" || fail "umoci unpack $plat failed"
  HELLO_PORT=$(free_port)
  bundle_on_host_net "$HELLO_DIR/bundle" ":8080" "127.0.0.1:$HELLO_PORT"
  [ "$plat" = linux/amd64 ] || bundle_for_qemu "$HELLO_DIR/bundle"
  [ -z "$edit" ] || json_edit "$HELLO_DIR/bundle/config.json" "$edit"
  HELLO_ID=armlet-tools-$BASHPID-$RANDOM
  runc_start "$HELLO_ID" "$HELLO_DIR/bundle" "$HELLO_DIR/log" || fail "runc run failed: $(cat "$HELLO_DIR/log")"
  HELLO_BODY=$(wait_http "http://127.0.0.1:$HELLO_PORT/" 60) \
    || fail "no HTTP answer; container output: $(cat "$HELLO_DIR/log")"
}

# Host PID of the container's process whose program (argv[0]) is $2.
container_pid() {
  runc ps "$1" -e -o pid,args | awk -v c="$2" 'NR > 1 && $2 == c { print $1; exit }'
}

# Run the hello image for platform $1 in runc and check it answers as a child of
# armlet-init (PID 1), as uid 65532, then stops on SIGTERM. (Its own PID is not 2 here:
# under runc 1.1.5 the first child of PID 1 gets 6 or 7, with or without armlet-init.)
run_hello_in_runc() {
  local plat=$1 says=$2 init st
  start_hello "$plat"
  [[ "$HELLO_BODY" =~ ^"hello from $says pid="([0-9]+)" uid=65532"$ ]] || fail "GET / answered: $HELLO_BODY"
  assert_ne 1 "${BASH_REMATCH[1]}" "the server's PID:"
  init=$(curl -fsS --max-time 5 "http://127.0.0.1:$HELLO_PORT/init") || fail "GET /init failed"
  assert_contains "$init" "ppid=1 pid1=" "the server's parent:"
  assert_contains "$init" "/sbin/armlet-init" "PID 1's command line:"
  assert_contains "$init" "-- /app --listen 127.0.0.1:$HELLO_PORT" "PID 1's command line:"
  runc kill "$HELLO_ID" TERM || fail "runc kill TERM failed"
  # Wait for the state; 30 s only bounds a container that ignores TERM.
  local end=$(( $(date +%s) + 30 ))
  while :; do
    st=$(runc state "$HELLO_ID" 2>/dev/null | json_get 'd["status"]' 2>/dev/null)
    [ -n "$st" ] || st=gone
    { [ "$st" = stopped ] || [ "$st" = gone ] || [ "$(date +%s)" -ge "$end" ]; } && break
    sleep 0.2
  done
  assert_eq stopped "$st" "container state after SIGTERM (30 s at most):"
  assert_contains "$(cat "$HELLO_DIR/log")" "hello: $says listening on 127.0.0.1:$HELLO_PORT"
}

test_runc_runs_the_amd64_image_under_armlet_init_as_pid_1_as_nonroot() {
  run_hello_in_runc linux/amd64 amd64
}

test_runc_runs_the_arm64_image_under_qemu_binfmt_as_pid_1_as_nonroot() {
  binfmt_ready qemu-aarch64 || skip "qemu-aarch64 binfmt is not enabled (bash ci/install-deps)"
  run_hello_in_runc linux/arm64 arm64
}

# qemu takes QEMU_CPU from the environment of the program it runs, so putting it in the
# container's env makes every process in it run on that emulated CPU.
test_runc_runs_the_arm_v6_image_on_an_emulated_arm1176_and_arm_v7_on_a_cortex_a7() {
  binfmt_ready qemu-arm || skip "qemu-arm binfmt is not enabled (bash ci/install-deps)"
  start_hello linux/arm/v6 'd["process"]["env"].append("QEMU_CPU=arm1176")'
  [[ "$HELLO_BODY" =~ ^"hello from armv6 pid="[0-9]+" uid=65532"$ ]] || fail "arm/v6 on arm1176 answered: $HELLO_BODY"
  tools_cleanup
  start_hello linux/arm/v7 'd["process"]["env"].append("QEMU_CPU=cortex-a7")'
  [[ "$HELLO_BODY" =~ ^"hello from armv7 pid="[0-9]+" uid=65532"$ ]] || fail "arm/v7 on cortex-a7 answered: $HELLO_BODY"
}

# The CPU choice above is real: what the arm/v6 image holds runs on an ARM1176, what the
# arm/v7 image holds does not (SIGILL). Checked outside runc: a qemu-emulated PID 1 that
# faults cannot die (PID 1 ignores the signal qemu sends itself) and hangs the container.
test_the_arm_v6_images_programs_run_on_an_arm1176_and_the_arm_v7_ones_do_not() {
  command -v qemu-arm-static >/dev/null || skip "qemu-arm-static is not installed (bash ci/install-deps)"
  local oci b v
  oci=$(hello_oci)
  trap tools_cleanup EXIT
  b=$(tmpdir); tools_track "$b"
  for v in v6 v7; do
    oci_unpack "$oci" hello "linux/arm/$v" "$b/$v" || fail "umoci unpack arm/$v failed"
  done
  capture qemu-arm-static -cpu arm1176 "$b/v6/rootfs/sbin/armlet-init" --version
  assert_eq 0 "$rc" "arm/v6 /sbin/armlet-init --version on arm1176:"
  capture qemu-arm-static -cpu arm1176 "$b/v6/rootfs/app" --help
  assert_eq 0 "$rc" "arm/v6 /app --help on arm1176:"
  # (sh, not exec: the shell reports 128+N without bash printing "Illegal instruction")
  capture sh -c 'ulimit -c 0; qemu-arm-static -cpu arm1176 "$1" --help; exit $?' sh "$b/v7/rootfs/app"
  assert_eq 132 "$rc" "arm/v7 /app on arm1176 (128 + SIGILL):"
  # The arm/v7 init checks the CPU before its first ARMv7 instruction and says why.
  capture sh -c 'ulimit -c 0; qemu-arm-static -cpu arm1176 "$1" --version; exit $?' sh "$b/v7/rootfs/sbin/armlet-init"
  assert_eq 126 "$rc" "arm/v7 /sbin/armlet-init on arm1176 (cannot run here):"
  assert_contains "$err" "this CPU is ARMv6: use the linux/arm/v6 image"
}

test_runc_cpu_limit_of_one_cpu_gives_the_go_server_gomaxprocs_1() {
  [ "$(nproc)" -ge 2 ] || skip "one CPU here: a 1-CPU limit would change nothing"
  # runc writes cpu.cfs_quota_us / cpu.max; armlet-init (--cpu=floor) turns it into GOMAXPROCS.
  start_hello linux/amd64 'd["linux"].setdefault("resources", {})["cpu"] = {"quota": 100000, "period": 100000}'
  assert_contains "$(cat "$HELLO_DIR/log")" "GOMAXPROCS 1)" "startup line under a 1-CPU limit:"
}

test_runc_amd64_server_runs_under_the_recipes_seccomp_filter() {
  local pid status
  # runc itself installs no filter and leaves no_new_privs off, so what shows is the init's.
  start_hello linux/amd64 'd["process"]["noNewPrivileges"] = False; d["linux"].pop("seccomp", None)'
  pid=$(container_pid "$HELLO_ID" /app)
  [ -n "$pid" ] || fail "no /app process in runc ps: $(runc ps "$HELLO_ID" 2>&1)"
  status=$(grep -E '^(Seccomp|NoNewPrivs):' "/proc/$pid/status" | tr -s '\t\n' '  ')
  # The recipe says seccomp=default: the kernel reports a filter (mode 2) and no_new_privs.
  assert_contains "$status" "NoNewPrivs: 1" "/proc/<server>/status:"
  assert_contains "$status" "Seccomp: 2" "/proc/<server>/status:"
}

test_buildah_builds_the_recipes_dockerfile_on_top_of_the_image_for_amd64_and_arm64() {
  local oci p m c base_ep ep b port body
  oci=$(hello_oci)
  # Globals for the EXIT trap (it runs after this function returns).
  # Lower case only: buildah names the build container after the oci: path, and a
  # container name with capitals (as mktemp makes) is refused.
  BUILDAH_DIR=${TMPDIR:-/tmp}/armlet-buildah-$BASHPID-$RANDOM
  mkdir -p "$BUILDAH_DIR"
  BH=(buildah --root "$BUILDAH_DIR/root" --runroot "$BUILDAH_DIR/run" --storage-driver vfs)
  trap 'tools_cleanup; "${BH[@]}" rm -a >/dev/null 2>&1; "${BH[@]}" rmi -a -f >/dev/null 2>&1; rm -rf "$BUILDAH_DIR"' EXIT
  cp -al "$oci" "$BUILDAH_DIR/base" 2>/dev/null || cp -a "$oci" "$BUILDAH_DIR/base"
  capture "${BH[@]}" bud --platform linux/amd64,linux/arm64 --manifest hello-plus \
    --build-arg "BASE=oci:$BUILDAH_DIR/base:hello" -f "$TOP/recipes/hello/Dockerfile" "$TOP/recipes/hello"
  [ "$rc" = 0 ] || fail "buildah bud exited $rc: $err"
  capture "${BH[@]}" manifest push --all hello-plus "oci:$BUILDAH_DIR/out:plus"
  [ "$rc" = 0 ] || fail "buildah manifest push exited $rc: $err"
  for p in linux/amd64 linux/arm64; do
    m=$(oci_manifest_for "$BUILDAH_DIR/out" plus "$p" | awk '{print $2}') || fail "no $p manifest in buildah's index"
    c=$(json_get 'd["config"]["digest"]' "$BUILDAH_DIR/out/blobs/sha256/${m#sha256:}")
    ep=$(json_get 'd["config"]["Entrypoint"]' "$BUILDAH_DIR/out/blobs/sha256/${c#sha256:}")
    m=$(oci_manifest_for "$oci" hello "$p" | awk '{print $2}')
    base_ep=$(json_get 'd["config"]["Entrypoint"]' "$oci/blobs/sha256/$(json_get 'd["config"]["digest"]' "$oci/blobs/sha256/${m#sha256:}" | cut -d: -f2)")
    assert_eq "$base_ep" "$ep" "$p Entrypoint inherited from the armlet image:"
    assert_eq '["--listen",":9090"]' "$(json_get 'd["config"]["Cmd"]' "$BUILDAH_DIR/out/blobs/sha256/${c#sha256:}")" "$p Cmd:"
  done
  # The amd64 result runs: the server listens where the Dockerfile's CMD says.
  b=$BUILDAH_DIR/bundle
  oci_unpack "$BUILDAH_DIR/out" plus linux/amd64 "$b" || fail "umoci unpack of buildah's image failed"
  assert_eq "65532 hello from a Dockerfile layer on top of an armlet image" \
    "$(stat -c %u "$b/rootfs/data/greeting.txt") $(cat "$b/rootfs/data/greeting.txt")"
  port=$(free_port)
  bundle_on_host_net "$b" ":9090" "127.0.0.1:$port"
  runc_start "armlet-tools-bh-$BASHPID" "$b" "$BUILDAH_DIR/log" || fail "runc run: $(cat "$BUILDAH_DIR/log")"
  body=$(wait_http "http://127.0.0.1:$port/" 60) || fail "no answer: $(cat "$BUILDAH_DIR/log")"
  [[ "$body" =~ ^"hello from amd64 pid="[0-9]+" uid=65532"$ ]] || fail "GET / answered: $body"
}

# Build platform $1's docker archive and `podman load` it into a private store (vfs, under
# a temp dir). Sets globals for the EXIT trap and the caller: PODMAN_DIR, P (the podman
# command), PODMAN_REF (the loaded image's name).
podman_load_hello() {
  local plat=$1 b
  # (a short name: podman refuses a runroot path over 50 characters, and TMPDIR may be long)
  PODMAN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pm.XXXXXX"); b=$PODMAN_DIR
  P=(podman --root "$b/root" --runroot "$b/r" --storage-driver vfs)
  trap '"${P[@]}" rm -a -f >/dev/null 2>&1; "${P[@]}" rmi -a -f >/dev/null 2>&1; rm -rf "$PODMAN_DIR"' EXIT
  hello_oci >/dev/null   # the Go binaries
  capture "$ARMLET" build "$TOP/recipes/hello.recipe" --platform "$plat" \
    --oci "$b/oci" --tag hello --docker-archive "$b/hello.tar"
  [ "$rc" = 0 ] || fail "armlet build --docker-archive exited $rc: $err"
  capture "${P[@]}" load -i "$b/hello.tar"
  [ "$rc" = 0 ] || fail "podman load: $out $err"
  PODMAN_REF=$(printf '%s\n' "$out" | sed -n 's/^Loaded image[^:]*: *//p' | head -1 | cut -d, -f1)
  [ -n "$PODMAN_REF" ] || fail "podman load printed no image name: $out"
}

test_podman_loads_the_docker_archive_and_shows_entrypoint_and_architecture() {
  podman_load_hello linux/arm64
  capture "${P[@]}" image inspect "$PODMAN_REF"
  [ "$rc" = 0 ] || fail "podman image inspect $PODMAN_REF: $err"
  assert_eq arm64 "$(json_get 'd[0]["Architecture"]' <<<"$out")" "architecture:"
  assert_eq /sbin/armlet-init "$(json_get 'd[0]["Config"]["Entrypoint"][0]' <<<"$out")" "Entrypoint[0]:"
  assert_contains "$(json_get '" ".join(d[0]["Config"]["Entrypoint"])' <<<"$out")" " -- /app"
  assert_eq "65532:65532" "$(json_get 'd[0]["Config"]["User"]' <<<"$out")" "User:"
}

test_podman_healthcheck_runs_the_recipes_probe_healthy_then_unhealthy() {
  podman_load_hello linux/amd64
  local run=(timeout 60 "${P[@]}" run -d --runtime runc --ulimit nofile=1024:1024
             --ulimit nproc=1024:1024 --network none)
  # Own network namespace (loopback only): the probe's 127.0.0.1:8080 is the container's.
  capture "${run[@]}" --name hc-ok "$PODMAN_REF"
  [ "$rc" = 0 ] || fail "podman run exited $rc: $err"
  capture "${run[@]}" --name hc-bad "$PODMAN_REF" --listen :9999
  [ "$rc" = 0 ] || fail "podman run exited $rc: $err"
  local ok=1 end=$(( $(date +%s) + 60 ))
  while [ "$(date +%s)" -lt "$end" ]; do   # until the server is up (60 s only bounds a hang)
    "${P[@]}" healthcheck run hc-ok >/dev/null 2>&1 && { ok=0; break; }
    sleep 0.25
  done
  assert_eq 0 "$ok" "podman healthcheck run on the server at :8080:"
  capture "${P[@]}" healthcheck run hc-bad
  assert_eq 1 "$rc" "podman healthcheck run on a server that left :8080:"
  assert_contains "$out" "unhealthy"
  assert_contains "$("${P[@]}" inspect hc-bad --format '{{json .State.Health.Log}}')" \
    "armlet-init: probe: http://127.0.0.1:8080/healthz"
}

test_podman_runs_the_loaded_amd64_image_and_stops_it_with_exit_status_0() {
  local port body code
  podman_load_hello linux/amd64
  port=$(free_port)
  # Flags this host needs (docs/DESIGN.md): runc, explicit ulimits; host network: no CNI here.
  capture timeout 60 "${P[@]}" run -d --name hello-podman --runtime runc \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host \
    "$PODMAN_REF" --listen "127.0.0.1:$port"
  [ "$rc" = 0 ] || fail "podman run exited $rc: $err"
  body=$(wait_http "http://127.0.0.1:$port/" 60) || fail "no answer; logs: $("${P[@]}" logs hello-podman 2>&1)"
  [[ "$body" =~ ^"hello from amd64 pid="[0-9]+" uid=65532"$ ]] || fail "GET / answered: $body"
  # podman stop sends the image's StopSignal; armlet-init forwards it and the server exits 0.
  capture timeout 30 "${P[@]}" stop -t 10 hello-podman
  [ "$rc" = 0 ] || fail "podman stop exited $rc: $err"
  code=$("${P[@]}" inspect hello-podman --format '{{.State.ExitCode}}')
  assert_eq 0 "$code" "exit status after podman stop:"
}

run_tests
