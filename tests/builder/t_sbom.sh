#!/usr/bin/env bash
# tests/builder/t_sbom.sh — the SPDX 2.3 SBOM of every platform image (docs/README-sbom.md):
# valid against the SPDX 2.3 JSON schema (tests/fixtures/spdx), Go modules as `go version -m`
# lists them, the base content's and a `libs` program's Debian packages as the dpkg
# database of the host / the sysroot has them, status.d entries that parse as Debian
# control files, byte-identical SBOMs from two builds, referrers kept by garbage
# collection exactly while their subject lives, and `sbom off` / --no-sbom.
source "$(dirname "$0")/../lib.sh"

SCHEMA=$TOP/tests/fixtures/spdx/spdx-schema-2.3.json
CHECK=$TOP/tests/builder/sbom_check.py
# Debian's python3 (python3-jsonschema, python3-debian), not another one first on PATH
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
export SOURCE_DATE_EPOCH=1700000000

need_tools() {
  "$PY" -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed (bash ci/install-deps)"
  [ -x "$OUT/linux-amd64/armlet-init" ] || skip "no $OUT/linux-amd64/armlet-init (make)"
}

# A Go program for arm64 that depends on a module with a version and a go.sum hash:
# example.com/greet v1.2.3 served from a file:// module proxy the test writes (no
# network), built once into $OUT/sbom-go/app.
go_app() {
  command -v go >/dev/null || skip "go is not installed (golang-go)"
  [ -x "$OUT/linux-arm64/armlet-init" ] || skip "no $OUT/linux-arm64/armlet-init (make)"
  local g=$OUT/sbom-go
  [ -x "$g/app/app" ] && return 0
  rm -rf "$g" && mkdir -p "$g/proxy/example.com/greet/@v" "$g/app"
  python3 - "$g/proxy/example.com/greet/@v" <<'PY'
import sys, zipfile
d = sys.argv[1]
mod = "module example.com/greet\n\ngo 1.19\n"
with zipfile.ZipFile(d + "/v1.2.3.zip", "w") as z:
    z.writestr("example.com/greet@v1.2.3/go.mod", mod)
    z.writestr("example.com/greet@v1.2.3/greet.go",
               'package greet\n\nfunc Hello() string { return "hello from greet" }\n')
open(d + "/v1.2.3.mod", "w").write(mod)
open(d + "/v1.2.3.info", "w").write('{"Version":"v1.2.3","Time":"2023-01-01T00:00:00Z"}\n')
open(d + "/list", "w").write("v1.2.3\n")
PY
  printf 'module example.com/app\n\ngo 1.19\n\nrequire example.com/greet v1.2.3\n' >"$g/app/go.mod"
  printf 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n' >"$g/app/main.go"
  (cd "$g/app" && env HOME="$g/home" GOPATH="$g/gopath" GOCACHE="$GOCACHE" \
     GOPROXY="file://$g/proxy" GOSUMDB=off GOFLAGS=-mod=mod CGO_ENABLED=0 GOOS=linux GOARCH=arm64 \
     go build -trimpath -buildvcs=false -o app .) >"$g/build.log" 2>&1 || { cat "$g/build.log" >&2; fail "go build"; }
}

# sbom_of LAYOUT[:TAG] [--platform P]: the document into $SB (a file), exit status checked.
sbom_of() {
  SB=$(mktemp "${TMPDIR:-/tmp}/armlet-sbom.XXXXXX")
  "$ARMLET" sbom "$@" >"$SB" || fail "armlet sbom $*"
  "$PY" "$CHECK" validate "$SCHEMA" "$SB" || fail "the SBOM of $* does not validate against SPDX 2.3"
}

# layers_into LAYOUT MANIFEST_DIGEST DIR: unpack every layer of the manifest into DIR.
layers_into() {
  local m; mkdir -p "$3"
  for m in $(jq -r '.layers[].digest' "$1/blobs/sha256/${2#sha256:}"); do
    tar -xzf "$1/blobs/sha256/${m#sha256:}" -C "$3"
  done
}

test_go_program_lists_its_modules_as_go_version_m_does() {
  need_tools; go_app
  local d; d=$(tmpdir)
  cat >"$d/app.recipe" <<R
name        goapp
platforms   linux/arm64
base        static
file        /app $OUT/sbom-go/app/app
entrypoint  /app
R
  capture "$ARMLET" build "$d/app.recipe" --oci "$d/oci" --init-dir "$OUT"
  assert_eq 0 "$rc" "build: $err"
  sbom_of "$d/oci:latest"
  # go version -m: "dep PATH VERSION H1" lines, and the Go version on the first line
  local want got gover
  gover=$(go version -m "$OUT/sbom-go/app/app" | sed -n '1s/.*: //p')
  want=$( (echo "stdlib $gover -"; go version -m "$OUT/sbom-go/app/app" | awk '$1 == "dep" {print $2, $3, $4}') | sort)
  got=$("$PY" "$CHECK" gomods "$SB" | sort)
  assert_eq "$want" "$got" "modules"
  assert_contains "$("$PY" "$CHECK" packages "$SB")" "example.com/greet v1.2.3 pkg:golang/example.com/greet@v1.2.3"
  assert_contains "$("$PY" "$CHECK" owner "$SB" /app)" "example.com/app (devel)"
  assert_eq "$(sha256sum <"$OUT/sbom-go/app/app" | cut -d' ' -f1)" "$("$PY" "$CHECK" sha256 "$SB" /app)"
  assert_contains "$("$PY" "$CHECK" owner "$SB" /sbin/armlet-init)" "armlet-init"
}

test_base_content_is_attributed_to_the_hosts_debian_packages_with_status_d() {
  need_tools
  "$PY" -c 'import debian' 2>/dev/null || skip "python3-debian is not installed (bash ci/install-deps)"
  local d; d=$(tmpdir)
  printf 'name base\nplatforms linux/amd64\nbase static\nentrypoint /bin/true\n' >"$d/r.recipe"
  capture "$ARMLET" build "$d/r.recipe" --oci "$d/oci" --init-dir "$OUT"
  assert_eq 0 "$rc" "build: $err"
  sbom_of "$d/oci"
  local ca tz pk
  ca=$(dpkg-query -W -f '${Version}' ca-certificates)
  tz=$(dpkg-query -W -f '${Version}' tzdata)
  pk=$("$PY" "$CHECK" packages "$SB")
  assert_contains "$pk" "ca-certificates $ca pkg:deb/debian/ca-certificates@$ca?arch=all"
  assert_contains "$pk" "tzdata $tz pkg:deb/debian/tzdata@$tz?arch=all"
  assert_eq "ca-certificates $ca" "$("$PY" "$CHECK" owner "$SB" /etc/ssl/certs/ca-certificates.crt)"
  assert_eq "tzdata $tz" "$("$PY" "$CHECK" owner "$SB" /usr/share/zoneinfo/Europe/Paris)"
  # Files armlet generates have no package: listed with their checksum only.
  assert_eq "-" "$("$PY" "$CHECK" owner "$SB" /etc/passwd)"
  # status.d in the image, each a control stanza a scanner reads
  local man; man=$(jq -r '.manifests[0].digest' "$d/oci/blobs/sha256/$(jq -r '.manifests[0].digest' "$d/oci/index.json" | cut -d: -f2)")
  layers_into "$d/oci" "$man" "$d/root"
  assert_eq "ca-certificates $ca
tzdata $tz" "$("$PY" "$CHECK" control "$d/root/var/lib/dpkg/status.d/"*)"
  grep -q '^Status:' "$d/root/var/lib/dpkg/status.d/"* && fail "status.d entries carry no Status line (distroless has none)"
  return 0
}

# dpkg_sysroot DIR PKG:ARCH...: Debian's packages unpacked into DIR with a dpkg database
# (var/lib/dpkg/status, info/*.list) made from the .debs themselves, as an installed
# foreign sysroot has. Cached under $OUT/debs; skips when apt cannot fetch a package.
dpkg_sysroot() {
  local dir=$1 spec deb pkg ma list; shift
  [ "$(cat "$dir.stamp" 2>/dev/null)" = "$*" ] && return 0
  rm -rf "$dir"; mkdir -p "$dir/var/lib/dpkg/info" "$OUT/debs"
  for spec; do
    deb=$(ls "$OUT/debs/${spec%:*}_"*"_${spec#*:}.deb" 2>/dev/null | tail -1)
    if [ -z "$deb" ]; then
      (cd "$OUT/debs" && apt-get download "$spec" >/dev/null 2>&1) ||
        skip "Debian's $spec cannot be fetched (apt-get download $spec failed)"
      deb=$(ls "$OUT/debs/${spec%:*}_"*"_${spec#*:}.deb" | tail -1)
    fi
    dpkg -x "$deb" "$dir"
    pkg=$(dpkg-deb -f "$deb" Package); ma=$(dpkg-deb -f "$deb" Multi-Arch)
    { dpkg-deb -f "$deb" | sed '/^Package:/a Status: install ok installed'; echo; } >>"$dir/var/lib/dpkg/status"
    list=$pkg; [ "$ma" = same ] && list=$pkg:${spec#*:}
    dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|; s|/$||; s|^$|/.|' >"$dir/var/lib/dpkg/info/$list.list"
  done
  echo "$*" >"$dir.stamp"
}

test_libs_program_lists_the_sysroots_packages_and_versions() {
  need_tools
  [ -x "$OUT/linux-arm64/armlet-init" ] || skip "no $OUT/linux-arm64/armlet-init (make)"
  local s=$OUT/sysroot-sbom-arm64 d; d=$(tmpdir)
  dpkg_sysroot "$s" libjq1:arm64 libonig5:arm64 libc6:arm64 jq:arm64
  cat >"$d/jq.recipe" <<R
name        jq
platforms   linux/arm64
base        scratch
file        /usr/bin/jq $s/usr/bin/jq libs
entrypoint  /usr/bin/jq
R
  capture "$ARMLET" build "$d/jq.recipe" --oci "$d/oci" --init-dir "$OUT" --sysroot "linux/arm64=$s"
  assert_eq 0 "$rc" "build: $err"
  sbom_of "$d/oci" --platform linux/arm64
  local p v pk; pk=$("$PY" "$CHECK" packages "$SB")
  # each package as the sysroot's dpkg status has it (what `dpkg -l` there would show)
  for p in jq libjq1 libonig5 libc6; do
    v=$(awk -v p="$p" '/^Package:/ {n=$2} /^Version:/ && n==p {print $2}' "$s/var/lib/dpkg/status")
    assert_contains "$pk" "$p $v pkg:deb/debian/$p@$v?arch=arm64"
  done
  assert_contains "$("$PY" "$CHECK" owner "$SB" /lib/aarch64-linux-gnu/libc.so.6)" "libc6 "
  assert_contains "$("$PY" "$CHECK" owner "$SB" /usr/lib/aarch64-linux-gnu/libonig.so.5.3.0)" "libonig5 "
  # the sysroot's packages' status.d entries are in the app layer
  local man; man=$(jq -r '.manifests[0].digest' "$d/oci/blobs/sha256/$(jq -r '.manifests[0].digest' "$d/oci/index.json" | cut -d: -f2)")
  layers_into "$d/oci" "$man" "$d/root"
  assert_eq "jq libc6 libjq1 libonig5" "$(ls "$d/root/var/lib/dpkg/status.d" | tr '\n' ' ' | sed 's/ $//')"
}

test_two_builds_give_the_same_sbom_bytes() {
  need_tools
  local d; d=$(tmpdir)
  printf 'name rep\nplatforms linux/amd64\nbase static\nfile /etc/motd %s\nentrypoint /bin/true\n' \
    "$TOP/README.md" >"$d/r.recipe"
  "$ARMLET" build "$d/r.recipe" --oci "$d/a" --init-dir "$OUT" >/dev/null || fail "build a"
  "$ARMLET" build "$d/r.recipe" --oci "$d/b" --init-dir "$OUT" >/dev/null || fail "build b"
  "$ARMLET" sbom "$d/a" >"$d/a.json" && "$ARMLET" sbom "$d/b" >"$d/b.json" || fail "armlet sbom"
  cmp "$d/a.json" "$d/b.json" || fail "the two SBOMs differ"
  assert_eq "$(ls "$d/a/blobs/sha256")" "$(ls "$d/b/blobs/sha256")" "the two layouts' blobs"
  assert_eq "2023-11-14T22:13:20Z" "$(jq -r .creationInfo.created "$d/a.json")"
  local man; man=$(jq -r '.manifests[0].digest' "$d/a/blobs/sha256/$(jq -r '.manifests[0].digest' "$d/a/index.json" | cut -d: -f2)")
  assert_contains "$(jq -r .documentNamespace "$d/a.json")" "${man#sha256:}"
}

# referrer_count LAYOUT [ARTIFACT_TYPE]: manifests in blobs/ with a subject (of that type)
referrer_count() {
  local b n=0
  for b in "$1"/blobs/sha256/*; do
    [ "$(head -c1 "$b")" = "{" ] && jq -e --arg t "${2:-}" '(.subject.digest | type) == "string" and ($t == "" or .artifactType == $t)' \
      "$b" >/dev/null 2>&1 && n=$((n + 1))
  done
  echo "$n"
}

test_referrers_live_exactly_as_long_as_their_subject() {
  need_tools
  local d; d=$(tmpdir)
  printf 'name gc\nplatforms linux/amd64\nbase static\nentrypoint /bin/true\n' >"$d/r.recipe"
  SOURCE_DATE_EPOCH=1 "$ARMLET" build "$d/r.recipe" --oci "$d/oci" --tag one --init-dir "$OUT" >/dev/null || fail "build one"
  SOURCE_DATE_EPOCH=2 "$ARMLET" build "$d/r.recipe" --oci "$d/oci" --tag two --init-dir "$OUT" >/dev/null || fail "build two"
  assert_eq 2 "$(referrer_count "$d/oci" application/spdx+json)" "one SBOM per image, both kept"
  assert_eq 4 "$(referrer_count "$d/oci")" "an SBOM and a provenance per image"
  "$ARMLET" sbom "$d/oci:one" >/dev/null || fail "sbom of one after building two"
  # tag one rebuilt with other content: its old image and that image's SBOM go
  SOURCE_DATE_EPOCH=3 "$ARMLET" build "$d/r.recipe" --oci "$d/oci" --tag one --init-dir "$OUT" >/dev/null || fail "rebuild one"
  assert_eq 4 "$(referrer_count "$d/oci")" "the replaced image's SBOM and provenance collected"
  assert_eq "1970-01-01T00:00:03Z" "$("$ARMLET" sbom "$d/oci:one" | jq -r .creationInfo.created)"
  assert_eq "1970-01-01T00:00:02Z" "$("$ARMLET" sbom "$d/oci:two" | jq -r .creationInfo.created)"
}

test_sbom_off_and_no_sbom_attach_nothing_and_add_no_status_d() {
  need_tools
  local d; d=$(tmpdir)
  printf 'name off\nplatforms linux/amd64\nbase static\nsbom off\nentrypoint /bin/true\n' >"$d/off.recipe"
  printf 'name off\nplatforms linux/amd64\nbase static\nentrypoint /bin/true\n' >"$d/on.recipe"
  "$ARMLET" build "$d/off.recipe" --oci "$d/a" --init-dir "$OUT" >/dev/null || fail "build sbom off"
  "$ARMLET" build "$d/on.recipe" --oci "$d/b" --init-dir "$OUT" --no-sbom >/dev/null || fail "build --no-sbom"
  assert_eq 0 "$(referrer_count "$d/a")"
  assert_eq "$(cat "$d/a/index.json")" "$(cat "$d/b/index.json")" "sbom off and --no-sbom give the same image"
  capture "$ARMLET" sbom "$d/a"
  assert_eq 1 "$rc"
  assert_contains "$err" "no SBOM is attached"
  local man; man=$(jq -r '.manifests[0].digest' "$d/a/blobs/sha256/$(jq -r '.manifests[0].digest' "$d/a/index.json" | cut -d: -f2)")
  layers_into "$d/a" "$man" "$d/root"
  [ ! -e "$d/root/var/lib/dpkg" ] || fail "status.d written with sbom off"
  printf 'name bad\nsbom maybe\n' >"$d/bad.recipe"
  capture "$ARMLET" build "$d/bad.recipe" --oci "$d/c" --init-dir "$OUT"
  assert_eq 1 "$rc"
  assert_contains "$err" "bad.recipe:2:6: sbom: \"maybe\": expected on or off"
}

test_provenance_names_the_recipe_every_input_and_the_build_parameters() {
  need_tools
  local d; d=$(tmpdir)
  printf 'hello\n' >"$d/motd"
  printf 'name prov\nplatforms linux/amd64\nbase scratch\nfile /etc/motd motd\nentrypoint /bin/true\n' >"$d/r.recipe"
  "$ARMLET" build "$d/r.recipe" --oci "$d/oci" --init-dir "$OUT" --compress zstd >/dev/null || fail "build"
  local b st=""
  for b in "$d"/oci/blobs/sha256/*; do
    if jq -e '.artifactType == "application/vnd.in-toto+json"' "$b" >/dev/null 2>&1; then
      st=$d/oci/blobs/sha256/$(jq -r '.layers[0].digest' "$b" | cut -d: -f2)
      assert_eq "$(jq -r .subject.digest "$b")" "sha256:$(jq -r '.subject[0].digest.sha256' "$st")" "statement subject"
    fi
  done
  [ -n "$st" ] || fail "no provenance attached"
  assert_eq https://in-toto.io/Statement/v1 "$(jq -r ._type "$st")"
  assert_eq https://slsa.dev/provenance/v1 "$(jq -r .predicateType "$st")"
  assert_eq "$(sha256sum <"$d/r.recipe" | cut -d' ' -f1)" "$(jq -r .predicate.buildDefinition.externalParameters.recipe.digest.sha256 "$st")"
  assert_eq "linux/amd64 zstd 1700000000" "$(jq -r '.predicate.buildDefinition | "\(.externalParameters.platform) \(.externalParameters.compress) \(.internalParameters.SOURCE_DATE_EPOCH)"' "$st")"
  # every input: the recipe's file (relative to the recipe's folder) and the init
  assert_eq "file:motd $(sha256sum <"$d/motd" | cut -d' ' -f1)" \
    "$(jq -r '.predicate.buildDefinition.resolvedDependencies[] | select(.name == "/etc/motd") | "\(.uri) \(.digest.sha256)"' "$st")"
  assert_eq "$(sha256sum <"$OUT/linux-amd64/armlet-init" | cut -d' ' -f1)" \
    "$(jq -r '.predicate.buildDefinition.resolvedDependencies[] | select(.name == "/sbin/armlet-init") | .digest.sha256' "$st")"
  "$ARMLET" build "$d/r.recipe" --oci "$d/np" --init-dir "$OUT" --no-provenance >/dev/null || fail "build --no-provenance"
  assert_eq "1 0" "$(referrer_count "$d/np" application/spdx+json) $(referrer_count "$d/np" application/vnd.in-toto+json)"
}

run_tests
