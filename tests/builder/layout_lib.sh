# tests/builder/layout_lib.sh — what the layout safety tests (t_layout_hostile.sh,
# t_build_atomic.sh) share. Source after tests/lib.sh and build_lib.sh:
#
#   layout_payloads      compiles $WORK/dist/hello-amd64 (and hello-arm64, a wrong-arch
#                        file for amd64) once, through compile_payloads
#   project DIR [LINES]  a one-platform (amd64), scratch-base, no-seccomp recipe: fast
#   snapshot DIR         every entry (type, path, link target, mode) and every regular
#                        file's sha256: what "nothing changed" compares (FIFOs are listed,
#                        never read)
#   tag_digest DIR [TAG] / blob DIR DIGEST / manifest_of DIR [TAG] / config_of DIR [TAG]
#   layer_of DIR TAG N   the digest of layer N of the tag's (only) platform manifest

_layout_payloads() {
  mkdir -p "$WORK/dist"
  printf '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n' >"$WORK/hello.c"
  musl-gcc -static -Os -o "$WORK/dist/hello-amd64" "$WORK/hello.c" &&
    aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs -static -Os \
      -o "$WORK/dist/hello-arm64" "$WORK/hello.c"
}
layout_payloads() { compile_payloads _layout_payloads; }

project() {
  project_dir "$1"
  cat >"$1/app.recipe" <<REC
name       hello
platforms  linux/amd64
base       scratch
file       /app dist/hello-\${arch}
entrypoint /app
init       seccomp=unconfined preload=none
${2:-}
REC
}

snapshot() {
  (cd "$1" && find . -printf '%y %p %l %m\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

tag_digest() { jq -r --arg t "${2:-latest}" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t) | .digest' "$1/index.json"; }
blob() { echo "$1/blobs/sha256/${2#sha256:}"; }
manifest_of() { jq -r '.manifests[0].digest' "$(blob "$1" "$(tag_digest "$1" "${2:-latest}")")"; }
config_of() { jq -r '.config.digest' "$(blob "$1" "$(manifest_of "$1" "${2:-latest}")")"; }
layer_of() { jq -r ".layers[${3:-0}].digest" "$(blob "$1" "$(manifest_of "$1" "${2:-latest}")")"; }
