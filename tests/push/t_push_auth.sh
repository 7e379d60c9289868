#!/usr/bin/env bash
# armlet push with authentication: htpasswd Basic over TLS with a private CA, the Bearer
# token flow against a token realm, credentials from each source, and failures that say
# what failed without ever showing a secret.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"

# skopeo wants a directory of *.crt for a private CA
skopeo_ca() { mkdir -p "$1/certs"; cp "$REG_CA" "$1/certs/ca.crt"; echo "$1/certs"; }

test_basic_auth_over_tls_with_private_ca() {
  local d; d=$(tmpdir); reg_start "$d/reg" htpasswd tls
  local dig; dig=$(mklayout "$d/oci" v1)
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --ca-cert "$REG_CA" --creds "armlet:$REG_PASS"
  assert_eq 0 "$rc" "$err"
  raw_of "$REG_HOST/app:1" "$d/raw" --cert-dir "$(skopeo_ca "$d")" --creds "armlet:$REG_PASS"
  cmp "$d/raw" "$(blob_of "$d/oci" "$dig")" || fail "index differs"
}

test_credentials_come_from_docker_config_auths() {
  local d; d=$(tmpdir); reg_start "$d/reg" htpasswd tls
  mklayout "$d/oci" v1 >/dev/null
  mkdir -p "$d/dc"
  printf '{"auths":{"https://%s":{"auth":"%s"}}}\n' "$REG_HOST" \
    "$(printf 'armlet:%s' "$REG_PASS" | base64 -w0)" >"$d/dc/config.json"
  capture env DOCKER_CONFIG="$d/dc" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --ca-cert "$REG_CA"
  assert_eq 0 "$rc" "auth from DOCKER_CONFIG ($err)"
  # ~/.docker/config.json with username/password, when DOCKER_CONFIG is not set
  mkdir -p "$d/home/.docker"
  printf '{"auths":{"%s":{"username":"armlet","password":"%s"}}}\n' "$REG_HOST" "$REG_PASS" >"$d/home/.docker/config.json"
  capture env -u DOCKER_CONFIG HOME="$d/home" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:2" --ca-cert "$REG_CA"
  assert_eq 0 "$rc" "auth from ~/.docker/config.json ($err)"
  # ARMLET_REGISTRY_CREDS wins over the config file
  capture env HOME="$d/home" ARMLET_REGISTRY_CREDS="armlet:nope" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:3" --ca-cert "$REG_CA"
  assert_eq 1 "$rc" "wrong ARMLET_REGISTRY_CREDS must be used and fail"
  assert_contains "$err" "credentials from ARMLET_REGISTRY_CREDS rejected"
  capture env ARMLET_REGISTRY_CREDS="armlet:$REG_PASS" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:3" --ca-cert "$REG_CA"
  assert_eq 0 "$rc" "auth from ARMLET_REGISTRY_CREDS ($err)"
}

test_bad_credentials_fail_naming_registry_not_secret() {
  local d; d=$(tmpdir); reg_start "$d/reg" htpasswd tls
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --ca-cert "$REG_CA" --creds "armlet:Wr0ngSecret"
  assert_eq 1 "$rc"
  assert_contains "$err" "$REG_HOST: credentials from --creds rejected (HTTP 401)"
  assert_not_contains "$err" "Wr0ngSecret"
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --ca-cert "$REG_CA"
  assert_eq 1 "$rc" "no credentials at all"
  assert_contains "$err" "authentication required (Basic)"
}

test_wrong_ca_fails_naming_tls_trust() {
  local d; d=$(tmpdir); reg_start "$d/reg" htpasswd tls
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --creds "armlet:$REG_PASS"
  assert_eq 1 "$rc" "system CA store must not trust the test CA"
  assert_contains "$err" "$REG_HOST: TLS certificate not trusted"
  mkdir -p "$d/other"; make_ca "$d/other"
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --creds "armlet:$REG_PASS" --ca-cert "$d/other/ca.pem"
  assert_eq 1 "$rc" "another CA"
  assert_contains "$err" "TLS certificate not trusted"
  assert_contains "$err" "--ca-cert"
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --ca-cert "$d/missing.pem"
  assert_eq 1 "$rc"
  assert_contains "$err" "--ca-cert $d/missing.pem: No such file or directory"
}

test_bearer_token_flow_asks_push_scope_and_publishes() {
  local d; d=$(tmpdir); reg_start "$d/reg" token
  local dig; dig=$(mklayout "$d/oci" v1)
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/team/app:1" --creds "armlet:$REG_PASS"
  assert_eq 0 "$rc" "$err"
  assert_contains "$(cat "$TOK_LOG")" "200 scopes=repository:team/app:pull,push"
  raw_of "$REG_HOST/team/app:1" "$d/raw" --tls-verify=false --creds "armlet:$REG_PASS"
  cmp "$d/raw" "$(blob_of "$d/oci" "$dig")" || fail "index differs"
  # with --from, the token also covers pulling from the source repository, and blobs mount
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/team/copy:1" --creds "armlet:$REG_PASS" --from team/app
  assert_eq 0 "$rc" "$err"
  assert_contains "$err" "9 mounted"
  assert_contains "$(cat "$TOK_LOG")" "repository:team/copy:pull,push repository:team/app:pull"
}

test_bearer_realm_rejecting_credentials_is_a_clear_error() {
  local d; d=$(tmpdir); reg_start "$d/reg" token
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --creds "armlet:Wr0ngSecret"
  assert_eq 1 "$rc"
  assert_contains "$err" "credentials from --creds rejected by token server http://127.0.0.1:"
  assert_not_contains "$err" "Wr0ngSecret"
  capture env -u ARMLET_REGISTRY_CREDS HOME="$d" DOCKER_CONFIG="$d/none" "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1"
  assert_eq 1 "$rc"
  assert_contains "$err" "refused anonymous access"
  capture skopeo inspect --raw --tls-verify=false --creds "armlet:$REG_PASS" "docker://$REG_HOST/app:1"
  assert_ne 0 "$rc" "a failed push must not create the tag"
}

test_verbose_never_shows_secrets() {
  local d; d=$(tmpdir); reg_start "$d/reg" token
  mklayout "$d/oci" v1 >/dev/null
  capture "$ARMLET" push "$d/oci:v1" "$REG_HOST/app:1" --creds "armlet:$REG_PASS" --verbose
  assert_eq 0 "$rc" "$err"
  assert_contains "$err" "PUT /v2/app/manifests/1 -> 201"
  assert_not_contains "$err$out" "$REG_PASS"
  assert_not_contains "$err$out" "$(printf 'armlet:%s' "$REG_PASS" | base64 -w0)"
  assert_not_contains "$err$out" "Authorization"
  assert_not_contains "$err$out" "Bearer ey"
  assert_not_contains "$err$out" "token="
}

run_tests
