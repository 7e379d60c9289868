#!/usr/bin/env bash
# tests/builder/t_go_cpu.sh — the init's --cpu value follows the entrypoint's Go version
# (docs/README-limits.md, "Go 1.25 and later"): the builder reads it from the program's
# .go.buildinfo; for Go >= 1.25, whose runtime sets GOMAXPROCS from the cgroup itself and
# follows the limit, recipe cpu=floor/ceil become --cpu=go-floor/go-ceil (GOMAXPROCS only
# where armlet's number differs); cpu=force/force-ceil keep setting it; a Go 1.19 program
# or a C program gets --cpu=floor as before.
#
# Fixtures: a Go program built here with Debian's golang-go (1.19), and a copy of it whose
# build info says "go1.25.0" (Debian 12 has no Go 1.25): the version string in
# .go.buildinfo (inline format: varint length at byte 32, then the text) patched in place,
# same length, so the file stays a valid ELF that elfcheck reads like a real 1.25 build.
. "$(dirname "$0")/../lib.sh"

WORK=$(tmpdir)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/build_lib.sh"

make_payloads() {
  command -v go >/dev/null || { echo "golang-go is not installed (ci/install-deps)"; return 1; }
  mkdir -p "$WORK/dist" "$WORK/go"
  printf 'package main\nfunc main() { println("hi") }\n' >"$WORK/go/main.go"
  (cd "$WORK/go" && GO111MODULE=off CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    go build -trimpath -o "$WORK/dist/go119" main.go) || return 1
  /usr/bin/python3 - "$WORK/dist/go119" "$WORK/dist/go125" <<'EOF' || return 1
import sys
data = bytearray(open(sys.argv[1], 'rb').read())
at = data.index(b'\xff Go buildinf:')
assert data[at + 15] & 2, 'not the inline build info format'
n = data[at + 32]
old = bytes(data[at + 33:at + 33 + n])
assert old.startswith(b'go1.19'), old
new = b'go1.25.0'.ljust(n, b'\0')[:n] if n == 8 else None
assert new is not None, 'version string of unexpected length: %r' % old
data[at + 33:at + 33 + n] = new
open(sys.argv[2], 'wb').write(data)
EOF
  chmod 0755 "$WORK/dist/go125"
  printf 'int main(void){return 0;}\n' >"$WORK/c.c"
  musl-gcc -static -Os -o "$WORK/dist/cprog" "$WORK/c.c"
}
compile_payloads make_payloads

# entrypoint_of PROGRAM [INIT-LINE]: the image config's Entrypoint (compact JSON) for a
# linux/amd64 image whose entrypoint is dist/PROGRAM (through a symlink /bin/app).
entrypoint_of() {
  local d; d=$(mktemp -d "$WORK/p.XXXXXX")
  project_dir "$d"
  cat >"$d/app.recipe" <<EOF
name        go
platforms   linux/amd64
base        scratch
file        /srv/app  dist/$1  mode=0755
symlink     /bin/app /srv/app
entrypoint  /bin/app
init        seccomp=unconfined preload=none ${2:-}
EOF
  capture build "$d/app.recipe" --oci "$d/oci"
  assert_eq 0 "$rc" "build: $err"
  local idx man cfg
  idx=$(jq -r '.manifests[0].digest' "$d/oci/index.json")
  idx=$(jq -r '.manifests[0].digest' "$d/oci/blobs/sha256/${idx#sha256:}")
  cfg=$(jq -r '.config.digest' "$d/oci/blobs/sha256/${idx#sha256:}")
  jq -c .config.Entrypoint "$d/oci/blobs/sha256/${cfg#sha256:}"
}

test_go_1_25_entrypoint_leaves_gomaxprocs_to_the_runtime_by_default() {
  assert_eq '["/sbin/armlet-init","--cpu=go-floor","--memory=0.9","--nofile=max","--","/bin/app"]' \
    "$(entrypoint_of go125)" "go1.25.0, default:"
  assert_eq '["/sbin/armlet-init","--cpu=go-ceil","--memory=0.9","--nofile=max","--","/bin/app"]' \
    "$(entrypoint_of go125 cpu=ceil)" "go1.25.0, cpu=ceil:"
}

test_cpu_force_keeps_setting_gomaxprocs_for_go_1_25() {
  assert_eq '["/sbin/armlet-init","--cpu=floor","--memory=0.9","--nofile=max","--","/bin/app"]' \
    "$(entrypoint_of go125 cpu=force)" "cpu=force:"
  assert_eq '["/sbin/armlet-init","--cpu=ceil","--memory=0.9","--nofile=max","--","/bin/app"]' \
    "$(entrypoint_of go125 cpu=force-ceil)" "cpu=force-ceil:"
  assert_eq '["/sbin/armlet-init","--cpu=off","--memory=0.9","--nofile=max","--","/bin/app"]' \
    "$(entrypoint_of go125 cpu=off)" "cpu=off:"
}

test_go_1_19_and_c_programs_get_floor_as_before() {
  assert_eq '["/sbin/armlet-init","--cpu=floor","--memory=0.9","--nofile=max","--","/bin/app"]' \
    "$(entrypoint_of go119)" "go1.19:"
  assert_eq '["/sbin/armlet-init","--cpu=ceil","--memory=0.9","--nofile=max","--","/bin/app"]' \
    "$(entrypoint_of cprog cpu=ceil)" "C program, cpu=ceil:"
}

test_bad_cpu_value_names_the_choices() {
  local d="$WORK/bad"
  project_dir "$d"
  printf 'name x\nplatforms linux/amd64\nbase scratch\nfile /app dist/go125 mode=0755\nentrypoint /app\ninit cpu=sometimes\n' >"$d/app.recipe"
  capture build "$d/app.recipe" --oci "$d/oci"
  assert_ne 0 "$rc"
  assert_contains "$err" "floor, ceil, off, force or force-ceil"
  assert_contains "$err" "app.recipe:6"
}

run_tests
