#!/usr/bin/env bash
# tests/builder/t_recipe_errors.sh — recipe values that would give a broken image are
# refused with file:line:col, and the failed build leaves the layout byte for byte as it
# was: OCI whiteout names (".wh.*") as destinations, made by ${variant}, or inside an
# archive; text that is not UTF-8 in each directive that goes into the image config; bad
# JSON exec forms (and continued ones that are fine); a SOURCE_DATE_EPOCH that is not
# plain digits.
. "$(dirname "$0")/../lib.sh"

WORK=$(tmpdir)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/build_lib.sh"

# A project with a good layout in $1/oci (tag "good"), recipe lines "${@:2}" appended
# to the recipe app.recipe (lines 1-5 are fixed, the extra ones start at line 6).
project() {
  local d=$1; shift
  mkdir -p "$d/dist"
  printf '#!/bin/sh\necho hi\n' >"$d/dist/app"
  {
    printf 'name        errs\nplatforms   linux/amd64 linux/arm64\nbase        scratch\n'
    printf 'file        /app dist/app mode=0755\nentrypoint  /app\n'
    local l; for l; do printf '%s\n' "$l"; done
  } >"$d/app.recipe"
  printf 'name good\nplatforms linux/amd64 linux/arm64\nbase scratch\nfile /app dist/app\nentrypoint /app\n' \
    >"$d/good.recipe"
  # The good layout is the same bytes for every project: built once, then copied.
  if [ ! -d "$WORK/good-oci" ]; then
    capture build "$d/good.recipe" --oci "$WORK/good-oci" --tag good
    assert_eq 0 "$rc" "the good build: $err"
  fi
  cp -a "$WORK/good-oci" "$d/oci"
}

# fails DIR WANT: app.recipe's build into DIR/oci fails with WANT in its message (one
# line, no "out of memory") and the layout is unchanged.
fails() {
  local d=$1 want=$2 before; before=$(layout_sums "$d/oci")
  capture build "$d/app.recipe" --oci "$d/oci"
  assert_eq 1 "$rc" "exit status ($err)"
  assert_contains "$err" "$want"
  assert_not_contains "$err" "out of memory"
  assert_eq 1 "$(wc -l <<<"$err")" "one line: $err"
  assert_eq "$before" "$(layout_sums "$d/oci")" "layout after the failed build"
}

test_whiteout_destinations_are_refused_with_their_column() {
  local d=$WORK/wh1 k=0 line
  for line in 'file /etc/.wh.passwd dist/app' 'dir /.wh..wh..opq' 'symlink /x/.wh.y /app' \
              'archive /opt/.wh.tool dist/app'; do
    k=$((k + 1))
    project "$d$k" "$line"
    fails "$d$k" "app.recipe:6:"
    assert_contains "$err" '".wh." names are OCI whiteouts'
  done
  assert_contains "$err" "app.recipe:6:14: archive: destination \"/opt/.wh.tool\""
}

test_whiteout_made_by_a_variable_is_refused_naming_the_line() {
  # On amd64 ${variant} is empty: "/.${variant}wh.app" becomes "/.wh.app".
  project "$WORK/wh2" 'file /x/.${variant}wh.app dist/app'
  fails "$WORK/wh2" "app.recipe:6:9: file (linux/amd64): destination \"/x/.wh.app\": \".wh.\" names are OCI whiteouts"
}

test_whiteout_archive_entries_are_refused_naming_archive_and_entry() {
  local d=$WORK/wh3 name
  for name in etc/.wh.ssl .wh..wh..opq; do
    rm -rf "$d.src"; mkdir -p "$d.src/$(dirname "$name")"; echo x >"$d.src/$name"
    tar -C "$d.src" -cf "$WORK/wh.tar" "$name"
    project "$d" "archive /opt $WORK/wh.tar"
    fails "$d" "app.recipe:6:9: archive: $WORK/wh.tar: entry \"$name\": path"
    assert_contains "$err" "\"$(basename "$name")\" is an OCI whiteout name"
    rm -rf "$d"
  done
}

test_non_utf8_text_in_each_config_directive_names_line_and_column() {
  local d=$WORK/u k=0 spec dir col
  # directive, its line (\xff is the bad byte), the column of that byte
  while IFS='|' read -r dir spec col; do
    k=$((k + 1))
    project "$d$k" "$(printf "$spec")"
    fails "$d$k" "app.recipe:6:$col: $dir: text is not UTF-8 (byte 0xff)"
  done <<'EOF2'
label|label a=b\xff|10
env|env A=\xff|7
cmd|cmd x\xff|6
workdir|workdir /w\xff|11
health|health http://h/\xff|17
cmd|cmd ["/a\xff"]|9
EOF2
  # entrypoint is on line 5 in project(): a second one there is "given twice", so the
  # shell-word form gets its own recipe.
  project "$d.ep"
  sed -i "s|^entrypoint .*|$(printf 'entrypoint  /app --x=\xff')|" "$d.ep/app.recipe"
  fails "$d.ep" "app.recipe:5:22: entrypoint: text is not UTF-8 (byte 0xff)"
}

test_json_exec_form_with_continuation_lines_builds() {
  local d=$WORK/j1
  project "$d"
  sed -i 's|^entrypoint .*|entrypoint  ["/app", \\\n             "--listen", \\\n             ":8080"]|' "$d/app.recipe"
  capture build "$d/app.recipe" --oci "$d/oci" --platform linux/amd64
  assert_eq 0 "$rc" "$err"
  local idx man cfg b=$d/oci/blobs/sha256
  idx=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="latest") | .digest' "$d/oci/index.json")
  man=$(jq -r '.manifests[0].digest' "$b/${idx#sha256:}")
  cfg=$(jq -r .config.digest "$b/${man#sha256:}")
  assert_eq '["--","/app","--listen",":8080"]' "$(jq -c '.config.Entrypoint | .[index("--"):]' "$b/${cfg#sha256:}")"
}

test_bad_json_exec_form_names_the_line_of_the_fault() {
  local d=$WORK/j2
  project "$d"
  sed -i 's|^entrypoint .*|entrypoint  ["/app", \\\n             "--listen" ":8080"]|' "$d/app.recipe"
  fails "$d" "app.recipe:6:31: entrypoint: bad JSON exec form: ']' expected"
  assert_contains "$err" '(expected ["PROGRAM", "ARG", ...])'
}

test_source_date_epoch_must_be_plain_digits() {
  local d=$WORK/sde v
  project "$d"
  for v in " 12" "12 " "+5" "-0" "-1" "1e3" "0x10" "1.5" "253402300800" "99999999999999999999999"; do
    EPOCH=$v fails "$d" "SOURCE_DATE_EPOCH=\"$v\": expected decimal digits only"
  done
  EPOCH=0012 capture build "$d/app.recipe" --oci "$d/oci"
  assert_eq 0 "$rc" "leading zeros are digits: $err"
}

run_tests
