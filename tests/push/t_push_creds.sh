#!/usr/bin/env bash
# armlet push with credentials the way Docker and podman keep them: credential helpers
# (credsStore, credHelpers) run as `docker-credential-NAME get`, identity tokens (the
# OAuth2 refresh-token grant), registry tokens, REGISTRY_AUTH_FILE and containers
# auth.json; long passwords and big token replies; helpers that hang, fail or print
# garbage end with an error naming the helper and never print a secret.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"

# A clean credential environment: nothing from the machine's own files or variables.
clean_env() {
  local d=$1
  mkdir -p "$d/home" "$d/bin"
  CENV=(env -u ARMLET_REGISTRY_CREDS -u DOCKER_CONFIG -u REGISTRY_AUTH_FILE -u XDG_RUNTIME_DIR
        -u XDG_CONFIG_HOME HOME="$d/home" PATH="$d/bin:$PATH")
}

# helper DIR NAME SCRIPT: an executable docker-credential-NAME in DIR/bin running SCRIPT
# (bash); it logs its arguments and what it read on stdin to DIR/NAME.calls.
helper() {
  local d=$1 name=$2 body=$3
  mkdir -p "$d/bin"
  {
    printf '#!/usr/bin/env bash\n'
    printf 'in=$(cat); printf "argv=%%s stdin=%%s\\n" "$*" "$in" >>%q\n' "$d/$name.calls"
    printf '%s\n' "$body"
  } >"$d/bin/docker-credential-$name"
  chmod +x "$d/bin/docker-credential-$name"
}

# A helper answering Username armlet and the Secret in file $1.
secret_helper_body() {
  printf 'printf '"'"'{"ServerURL":"%%s","Username":"armlet","Secret":"%%s"}'"'"' "$in" "$(cat %q)"' "$1"
}

test_credential_helper_gives_a_3kb_password_to_an_htpasswd_registry() {
  local d; d=$(tmpdir); clean_env "$d"
  # a 3,000-byte password; htpasswd refuses more than 256 bytes, and bcrypt reads only
  # the first 72, so the registry's hash is made from those (the token test below checks
  # that every byte arrives)
  REG_PASS=$(head -c 2250 /dev/urandom | base64 -w0)
  local full=$REG_PASS
  REG_PASS=${full:0:72} reg_start "$d/reg" htpasswd tls
  printf %s "$full" >"$d/secret"
  helper "$d" test "$(secret_helper_body "$d/secret")"
  mkdir -p "$d/home/.docker"
  printf '{"auths":{"%s":{}},"credsStore":"test"}\n' "$REG_HOST" >"$d/home/.docker/config.json"
  local dig; dig=$(mklayout "$d/oci" v1)
  capture "${CENV[@]}" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --ca-cert "$REG_CA"
  assert_eq 0 "$rc" "credsStore helper: $err"
  assert_eq "argv=get stdin=$REG_HOST" "$(cat "$d/test.calls")" "the helper's command line and stdin"
  assert_not_contains "$out$err" "${full:0:40}" "the password was printed"
  # credHelpers names a helper per registry and wins over credsStore
  helper "$d" other 'exit 3'
  printf '{"credsStore":"other","credHelpers":{"%s":"test"}}\n' "$REG_HOST" >"$d/home/.docker/config.json"
  capture "${CENV[@]}" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:2" --ca-cert "$REG_CA"
  assert_eq 0 "$rc" "credHelpers helper: $err"
  [ ! -e "$d/other.calls" ] || fail "credsStore ran although credHelpers names the registry"
  raw_of "$REG_HOST/app:2" "$d/raw" --cert-dir "$(mkdir -p "$d/certs"; cp "$REG_CA" "$d/certs/ca.crt"; echo "$d/certs")" \
    --creds "armlet:${full:0:72}"
  cmp "$d/raw" "$(blob_of "$d/oci" "$dig")" || fail "index differs"
}

test_a_3kb_password_from_a_helper_reaches_the_token_server_whole() {
  local d; d=$(tmpdir); clean_env "$d"
  REG_PASS=$(head -c 2250 /dev/urandom | base64 -w0)
  reg_start "$d/reg" token   # the token server compares every byte of the password
  printf %s "$REG_PASS" >"$d/secret"
  helper "$d" test "$(secret_helper_body "$d/secret")"
  mkdir -p "$d/dc"
  printf '{"credHelpers":{"%s":"test"}}\n' "$REG_HOST" >"$d/dc/config.json"
  mklayout "$d/oci" v1 >/dev/null
  capture "${CENV[@]}" DOCKER_CONFIG="$d/dc" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_eq 0 "$rc" "$err"
  assert_contains "$(cat "$TOK_LOG")" "200 scopes=repository:app:pull,push"
  # one byte less is refused, and the message names the helper, not the secret
  printf %s "${REG_PASS:0:2999}" >"$d/secret"
  capture "${CENV[@]}" DOCKER_CONFIG="$d/dc" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:2"
  assert_eq 1 "$rc"
  assert_contains "$err" "credentials from docker-credential-test (credHelpers of $d/dc/config.json) rejected by token server"
  assert_not_contains "$err" "${REG_PASS:0:40}"
}

test_a_hanging_helper_is_killed_and_named() {
  local d; d=$(tmpdir); clean_env "$d"
  reg_start "$d/reg" htpasswd
  helper "$d" hang "echo \$\$ >$d/hang.pid; exec sleep 1000"
  mkdir -p "$d/home/.docker"; printf '{"credsStore":"hang"}\n' >"$d/home/.docker/config.json"
  mklayout "$d/oci" v1 >/dev/null
  capture timeout 30 "${CENV[@]}" ARMLET_CREDENTIAL_HELPER_TIMEOUT=1 "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "credential helper docker-credential-hang (credsStore of $d/home/.docker/config.json) did not answer within 1 s: killed"
  # armlet reaped it before exiting: the helper process is gone
  local pid; pid=$(cat "$d/hang.pid")
  ! kill -0 "$pid" 2>/dev/null || fail "helper $pid still running"
}

test_helpers_printing_garbage_or_failing_are_named_and_escaped() {
  local d; d=$(tmpdir); clean_env "$d"
  reg_start "$d/reg" htpasswd
  mklayout "$d/oci" v1 >/dev/null
  mkdir -p "$d/home/.docker"
  local cfg=$d/home/.docker/config.json
  printf '{"credsStore":"g"}\n' >"$cfg"
  local garbage
  for garbage in 'printf "\033]0;pwned\007 not json"' 'printf "[1,2]"' \
                 'printf "{\"Username\":\"armlet\"}"' 'printf "{\"Username\":\"a\",\"Secret\":\"x\\\\u0000y\"}"' \
                 'printf "{\"Username\":\"a:b\",\"Secret\":\"x\"}"'; do
    rm -f "$d/g.calls"; helper "$d" g "$garbage"
    capture "${CENV[@]}" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
    assert_eq 1 "$rc" "$garbage: $err"
    assert_contains "$err" "credential helper docker-credential-g (credsStore of $cfg)"
    case "$err" in *$'\033'*|*$'\a'*) fail "raw control byte on stderr: $err";; esac
  done
  # endless output: killed at 1 MiB
  helper "$d" g 'exec yes "{\"Secret\":"'
  capture timeout 30 "${CENV[@]}" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_eq 1 "$rc"
  assert_contains "$err" "docker-credential-g (credsStore of $cfg) printed more than 1024 KiB: killed"
  # a failing helper: its message, escaped
  helper "$d" g 'printf "keychain locked\033[2J\n"; exit 1'
  capture "${CENV[@]}" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_contains "$err" "docker-credential-g (credsStore of $cfg) failed (exit 1): keychain locked\\x1b[2J"
  # "credentials not found": the file's auths entry, then anonymous
  helper "$d" g 'echo "credentials not found in native keychain"; exit 1'
  printf '{"credsStore":"g","auths":{"%s":{"auth":"%s"}}}\n' "$REG_HOST" "$(printf 'armlet:%s' "$REG_PASS" | base64 -w0)" >"$cfg"
  capture "${CENV[@]}" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_eq 0 "$rc" "auths entry after the helper had nothing: $err"
  printf '{"credsStore":"g"}\n' >"$cfg"
  capture "${CENV[@]}" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_contains "$err" "authentication required (Basic)"
  # a helper not in PATH, and a name that tries to leave docker-credential-*
  printf '{"credsStore":"missing"}\n' >"$cfg"
  capture "${CENV[@]}" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_contains "$err" "docker-credential-missing not found in PATH"
  printf '#!/bin/sh\ntouch %q\n' "$d/escaped" >"$d/evil"; chmod +x "$d/evil"
  printf '{"credsStore":"../../../../../../%s"}\n' "${d#/}/evil" >"$cfg"
  capture "${CENV[@]}" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_contains "$err" "the name may hold only letters, digits"
  [ ! -e "$d/escaped" ] || fail "a helper outside docker-credential-* ran"
}

test_identity_token_uses_the_oauth2_refresh_token_grant() {
  local d; d=$(tmpdir); clean_env "$d"
  TOK_ARGS="--refresh-token refresh-7f3a9" reg_start "$d/reg" token
  local dig; dig=$(mklayout "$d/oci" v1)
  mkdir -p "$d/dc"
  printf '{"auths":{"%s":{"auth":"","identitytoken":"refresh-7f3a9"}}}\n' "$REG_HOST" >"$d/dc/config.json"
  capture "${CENV[@]}" DOCKER_CONFIG="$d/dc" "$ARMLET" push "$d/oci:v1" "$REG_HOST/team/app:1" --verbose
  assert_eq 0 "$rc" "$err"
  # a POST with the form (nothing in the query string), the push scope, no Basic GET
  assert_contains "$(cat "$TOK_LOG")" "200 POST grant_type=refresh_token client_id=armlet query= scopes=repository:team/app:pull,push"
  assert_not_contains "$(cat "$TOK_LOG")" "200 scopes="
  assert_not_contains "$out$err" "refresh-7f3a9"
  raw_of "$REG_HOST/team/app:1" "$d/raw" --tls-verify=false --creds "armlet:$REG_PASS"
  cmp "$d/raw" "$(blob_of "$d/oci" "$dig")" || fail "index differs"
  # a helper answering Username "<token>" gives an identity token too
  helper "$d" tok 'printf "{\"Username\":\"<token>\",\"Secret\":\"refresh-7f3a9\"}"'
  printf '{"credHelpers":{"%s":"tok"}}\n' "$REG_HOST" >"$d/dc/config.json"
  capture "${CENV[@]}" DOCKER_CONFIG="$d/dc" "$ARMLET" push "$d/oci:v1" "$REG_HOST/team/app:2"
  assert_eq 0 "$rc" "$err"
  # a wrong one is named by its source
  printf '{"auths":{"%s":{"identitytoken":"expired-1"}}}\n' "$REG_HOST" >"$d/dc/config.json"
  capture "${CENV[@]}" DOCKER_CONFIG="$d/dc" "$ARMLET" push "$d/oci:v1" "$REG_HOST/team/app:3"
  assert_eq 1 "$rc"
  assert_contains "$err" "identity token from $d/dc/config.json rejected by token server"
  assert_not_contains "$err" "expired-1"
}

test_registry_token_is_sent_as_bearer_without_a_realm() {
  local d; d=$(tmpdir); clean_env "$d"
  reg_start "$d/reg" token
  mklayout "$d/oci" v1 >/dev/null
  local realm tok
  realm=$(sed -n 's/^ *realm: //p' "$d/reg/config.yml")
  tok=$(curl -sf -u "armlet:$REG_PASS" "$realm?service=armlet-test&scope=repository:app:pull,push" | jq -r .token)
  [ -n "$tok" ] || fail "no token from $realm"
  local before; before=$(wc -l <"$TOK_LOG")
  printf '{"auths":{"%s":{"registrytoken":"%s"}}}\n' "$REG_HOST" "$tok" >"$d/auth.json"
  capture "${CENV[@]}" REGISTRY_AUTH_FILE="$d/auth.json" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_eq 0 "$rc" "$err"
  assert_eq "$before" "$(wc -l <"$TOK_LOG")" "armlet asked the realm although it had a registry token"
  printf '{"auths":{"%s":{"registrytoken":"not-a-valid-jwt"}}}\n' "$REG_HOST" >"$d/auth.json"
  capture "${CENV[@]}" REGISTRY_AUTH_FILE="$d/auth.json" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:2"
  assert_eq 1 "$rc"
  assert_contains "$err" "registry token from $d/auth.json rejected (HTTP 401)"
}

test_token_reply_over_8_kib_works() {
  local d; d=$(tmpdir); clean_env "$d"
  # a 53 kB JWT, sent twice in the reply ("token" and "access_token"): 107 kB of JSON
  TOK_ARGS="--pad 40000" reg_start "$d/reg" token
  mklayout "$d/oci" v1 >/dev/null
  capture "${CENV[@]}" ARMLET_REGISTRY_CREDS="armlet:$REG_PASS" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_eq 0 "$rc" "$err"
  assert_contains "$(cat "$TOK_LOG")" "200 scopes=repository:app:pull,push"
}

test_containers_auth_files_and_the_search_order() {
  local d; d=$(tmpdir); clean_env "$d"
  reg_start "$d/reg" htpasswd
  mklayout "$d/oci" v1 >/dev/null
  local good bad
  good=$(printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG_HOST" "$(printf 'armlet:%s' "$REG_PASS" | base64 -w0)")
  bad=$(printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG_HOST" "$(printf 'armlet:wrong' | base64 -w0)")
  # ${XDG_RUNTIME_DIR}/containers/auth.json (podman login's default)
  mkdir -p "$d/run/containers"; echo "$good" >"$d/run/containers/auth.json"
  capture "${CENV[@]}" XDG_RUNTIME_DIR="$d/run" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_eq 0 "$rc" "XDG_RUNTIME_DIR auth.json: $err"
  # ~/.config/containers/auth.json
  mkdir -p "$d/home/.config/containers"; echo "$good" >"$d/home/.config/containers/auth.json"
  capture "${CENV[@]}" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:2"
  assert_eq 0 "$rc" "~/.config/containers/auth.json: $err"
  # the Docker config comes before the containers files: a wrong password there is used
  mkdir -p "$d/home/.docker"; echo "$bad" >"$d/home/.docker/config.json"
  capture "${CENV[@]}" XDG_RUNTIME_DIR="$d/run" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:3"
  assert_contains "$err" "credentials from $d/home/.docker/config.json rejected"
  # REGISTRY_AUTH_FILE comes before the Docker config
  echo "$good" >"$d/authfile.json"
  capture "${CENV[@]}" REGISTRY_AUTH_FILE="$d/authfile.json" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:3"
  assert_eq 0 "$rc" "REGISTRY_AUTH_FILE: $err"
  # ARMLET_REGISTRY_CREDS before every file
  capture "${CENV[@]}" REGISTRY_AUTH_FILE="$d/authfile.json" ARMLET_REGISTRY_CREDS=armlet:nope "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:4"
  assert_contains "$err" "credentials from ARMLET_REGISTRY_CREDS rejected"
}

run_tests
