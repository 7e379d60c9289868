#!/usr/bin/env bash
# tests/builder/t_recipe_expand.sh — ${os} ${arch} ${variant} expand in every value a
# recipe carries into the image (docs/README-recipe.md, "Variables"): one test per
# directive, each run for every platform (INIT_PLATFORMS). One image per platform is built
# from a recipe that uses the variables everywhere; each test reads what its directive
# became in that image (config, app layer, side files). The sources exist only under
# their expanded names, so a literal "${arch}" anywhere would fail the build.
. "$(dirname "$0")/../lib.sh"

WORK=$(tmpdir)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/build_lib.sh"

P=$WORK/project
mkdir -p "$P/dist" "$P/tars"
for av in amd64: arm64: arm:v7 arm:v6; do
  a=${av%:*} v=${av#*:}
  printf '#!/bin/sh\necho %s%s\n' "$a" "$v" >"$P/dist/app-$a$v"
  mkdir -p "$WORK/t/$a"; echo "$a" >"$WORK/t/$a/inside-$a"
  tar -C "$WORK/t/$a" -cf "$P/tars/t-$a.tar" "inside-$a"
  echo '{"defaultAction":"SCMP_ACT_ALLOW"}' >"$P/profile-$a.json"
done
cat >"$P/app.recipe" <<'R'
name        expand
platforms   linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6
base        scratch
file        /app-${arch}${variant} dist/app-${arch}${variant} mode=0755
dir         /data/${os}-${arch}
symlink     /usr/bin/app /app-${arch}${variant}
archive     /opt/${arch} tars/t-${arch}.tar
env         TARGET=${os}/${arch}${variant} \
            PLAIN=$HOME
workdir     /data/${os}-${arch}
entrypoint  /app-${arch}${variant} --os ${os}
cmd         ["--variant=${variant}", "--arch", "${arch}"]
label       org.example.arch=${arch} org.example.${arch}=yes
health      http://127.0.0.1:8080/health/${arch}${variant}
init        seccomp=profile-${arch}.json grace=5s preload=entrypoint
R

# The image for $PLATFORM (built once, then shared by that platform's tests) in $IMG;
# $A and $V: what ${arch} and ${variant} are on it.
image() {
  local oci; oci=$(oci_plat "$PLATFORM")
  A=$(cut -d/ -f2 <<<"$oci"); V=$(cut -d/ -f3 <<<"$oci")
  IMG=$WORK/oci-$PLATFORM
  if [ ! -e "$IMG.ok" ]; then
    capture build "$P/app.recipe" --platform "$oci" --oci "$IMG"
    assert_eq 0 "$rc" "armlet build --platform $oci: $err"
    touch "$IMG.ok"
  fi
}
blob() { echo "$IMG/blobs/sha256/${1#sha256:}"; }
manifest() { blob "$(jq -r '.manifests[0].digest' "$(blob "$(jq -r '.manifests[0].digest' "$IMG/index.json")")")"; }
config() { jq -c "$1" "$(blob "$(jq -r .config.digest "$(manifest)")")"; }
# The app layer's listing (tar -tv: modes, names, link targets), and one file of it.
app_layer() { tar -tvzf "$(blob "$(jq -r '.layers[1].digest' "$(manifest)")")"; }
app_file() { tar -xOzf "$(blob "$(jq -r '.layers[1].digest' "$(manifest)")")" "$1"; }

for t in file dir symlink archive env workdir entrypoint cmd label health init preload; do
  eval "platforms_test_${t}_expands() { :; }"
done

test_file_expands() { image;
  assert_contains "$(app_layer)" " app-$A$V"
  assert_eq "echo $A$V" "$(app_file "app-$A$V" | tail -1)"
}
test_dir_expands() { image; assert_contains "$(app_layer)" " data/linux-$A/"; }
test_symlink_expands() { image; assert_contains "$(app_layer)" "usr/bin/app -> /app-$A$V"; }
test_archive_expands() { image;
  assert_contains "$(app_layer)" " opt/$A/inside-$A"
  assert_eq "$A" "$(app_file "opt/$A/inside-$A")"
}
test_env_expands() { image;
  assert_eq "[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"TARGET=linux/$A$V\",\"PLAIN=\$HOME\"]" \
    "$(config .config.Env)"
}
test_workdir_expands() { image; assert_eq "\"/data/linux-$A\"" "$(config .config.WorkingDir)"; }
test_entrypoint_expands() { image;
  assert_eq "[\"--\",\"/app-$A$V\",\"--os\",\"linux\"]" "$(config '.config.Entrypoint | .[index("--"):]')"
}
test_cmd_expands() { image; assert_eq "[\"--variant=$V\",\"--arch\",\"$A\"]" "$(config .config.Cmd)"; }
test_label_expands() { image;
  assert_eq "$A yes" "$(config '.config.Labels | .["org.example.arch"] + " " + .["org.example.'"$A"'"]' | tr -d '"')"
}
test_health_expands() { image;
  assert_eq "\"http://127.0.0.1:8080/health/$A$V\"" "$(config '.config.Healthcheck.Test[3]')"
}
test_init_expands() { image;
  # profile-${arch}.json exists only expanded: the build read it and the filter is in.
  assert_contains "$(config .config.Entrypoint)" '"--seccomp=/etc/armlet/seccomp.bpf",'
  assert_contains "$(config .config.Entrypoint)" '"--grace=5s","--"'
  assert_contains "$(app_layer)" " etc/armlet/seccomp.bpf"
}
test_preload_expands() { image;
  # preload=entrypoint found the expanded program and listed it.
  assert_contains "$(config .config.Entrypoint)" '"--preload=/etc/armlet/preload"'
  assert_contains "$(app_file etc/armlet/preload)" "/app-$A$V"
}

run_tests
