#!/usr/bin/env bash
# armlet push against a hostile registry (tests/push/hostile_registry.py): whatever the
# server answers, armlet follows only http(s) URLs, sends credentials only to the
# registry and its realm, puts no server text raw on the terminal or into a header, and
# ends a stalled or endless reply with a clear error. Each case checks what must NOT
# have happened: no file written, no byte at the non-http target, no credentials at the
# other host, no raw control byte on stderr.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_registry.sh"
HOSTILE=$PUSH_HELPERS/hostile_registry.py
PW=hostile-Pa55

# hostile_start DIR [tls]: sets H (its folder), REG (127.0.0.1:port), PORT2 (127.0.0.2),
# TRAP (the raw listener's port), LAYOUT (a one-platform layout, tag v1).
hostile_start() {
  H=$1; mkdir -p "$H"
  local tls=()
  if [ "${2:-}" = tls ]; then make_ca "$H"; tls=(--tls "$H/server.pem" "$H/server.key"); fi
  python3 "$HOSTILE" --dir "$H" "${tls[@]}" &
  _reg_pids+=("$!"); trap reg_stop EXIT
  _wait_file "$H/port" || { echo "hostile registry did not start" >&2; return 1; }
  REG=127.0.0.1:$(cat "$H/port"); PORT2=$(cat "$H/port2"); TRAP=$(cat "$H/trap")
  LAYOUT=$H/oci
  mklayout "$LAYOUT" v1 --platforms linux/amd64 --base-kib 1 --layer-kib 1 >/dev/null
}
# set_mode MODE [ARG]: what the server does from its next request on.
set_mode() { set_repo_mode "" "$@"; }
# set_repo_mode REPO MODE [ARG]: the same for requests about repository REPO only.
set_repo_mode() {
  local f=$H/mode${1:+.$1}
  jq -n --arg m "$2" --arg a "${3:-}" '{mode: $m, arg: $a}' >"$f.tmp" && mv "$f.tmp" "$f"
}
# push [args]: armlet push of the layout to REG/app:v1, no retries, bounded in time.
push() {
  capture timeout 120 "$ARMLET" push "$LAYOUT:v1" "$REG/app:v1" --retries 0 "$@"
}
# No raw control byte (ESC, CR, BEL ...) in the text, newlines aside.
assert_no_control() {
  if printf '%s' "$1" | LC_ALL=C tr -d '\n' | LC_ALL=C grep -q '[[:cntrl:]]'; then
    fail "raw control bytes on stderr: $(printf '%s' "$1" | od -c | head -5)"
  fi
}
# The trap listener saw no connection: connect to it ourselves and, once our own
# connection is logged (it handles one at a time, in order), it must be the only one.
assert_trap_untouched() {
  exec 3<>"/dev/tcp/127.0.0.1/$TRAP"; printf 'CONTROL' >&3; exec 3>&-
  local i; for i in $(seq 1 300); do grep -q CONTROL "$H/trap.log" 2>/dev/null && break; sleep 0.1; done
  grep -q CONTROL "$H/trap.log" || fail "the trap listener does not log"
  assert_eq 1 "$(wc -l <"$H/trap.log")" "connections to the non-http target: $(cat "$H/trap.log")"
}
# sha256 of every file of the layout (a push must leave it exactly as it was).
layout_sums() { (cd "$LAYOUT" && find . -type f | sort | xargs sha256sum); }
# Requests the server logged, as "srv method path auth" lines (jq over requests.log).
requests() { jq -r "$1" "$H/requests.log"; }

SCHEMES="file gopher gophers dict ftp ftps ldap ldaps smb smbs telnet tftp scp sftp imap imaps pop3 pop3s
         smtp smtps rtsp rtmp mqtt ws wss"
# The URL a hostile server names for scheme s: a file to create, or the trap listener.
hostile_url() { if [ "$1" = file ]; then echo "file://$H/pwned-$2"; else echo "$1://127.0.0.1:$TRAP/_armlet-$2"; fi; }

# push_each_scheme MODE [push args]: for every scheme, repository s-<scheme> in MODE with
# that scheme's hostile URL (in $H/url.<scheme>), pushed to 6 at a time; each push's
# exit status and stderr land in $H/rc.<scheme> and $H/err.<scheme>.
push_each_scheme() {
  local kind=$1 s pids=(); shift
  for s in $SCHEMES; do
    hostile_url "$s" "$kind" >"$H/url.$s"
    set_repo_mode "s-$s" "$kind" "$(cat "$H/url.$s")"
    ( rc=0; timeout 120 "$ARMLET" push "$LAYOUT:v1" "$REG/s-$s:v1" --retries 0 "$@" >/dev/null 2>"$H/err.$s" \
        || rc=$?; echo "$rc" >"$H/rc.$s" ) &
    pids+=("$!")
    [ "${#pids[@]}" -lt 6 ] || { wait "${pids[@]}"; pids=(); }
  done
  [ "${#pids[@]}" -eq 0 ] || wait "${pids[@]}"
}

test_upload_location_with_any_other_scheme_is_refused_and_reaches_nothing() {
  hostile_start "$(tmpdir)"
  local s url before; before=$(layout_sums)
  push_each_scheme location --insecure
  for s in $SCHEMES; do
    url=$(cat "$H/url.$s"); err=$(cat "$H/err.$s")
    assert_eq 1 "$(cat "$H/rc.$s")" "$s Location must fail: $err"
    assert_contains "$err" "Location header \"$url\" is not http or https"
    assert_contains "$err" "(tag not updated)"
    assert_no_control "$err"
  done
  [ ! -e "$H/pwned-location" ] || fail "a file:// Location wrote $H/pwned-location"
  assert_eq "$before" "$(layout_sums)" "the layout changed"
  assert_trap_untouched
  assert_eq 0 "$(requests 'select(.method == "PUT" or .method == "PATCH") | .path' | wc -l)" "uploads sent"
}

test_relative_upload_locations_resolve_against_the_request_url() {
  hostile_start "$(tmpdir)"
  set_mode location "upload-7?state=a%2Fb"
  push --insecure
  assert_eq 0 "$rc" "$err"
  assert_eq 3 "$(requests 'select(.method == "PUT") | .path' | grep -c '^/v2/app/blobs/uploads/upload-7?state=a%2Fb&digest=sha256%3A')" \
    "blob PUTs at the resolved relative Location"
}

test_token_realm_with_any_other_scheme_is_refused_and_reaches_nothing() {
  hostile_start "$(tmpdir)"
  # a file:// realm names a file holding a token: were it read, the token would reach
  # the registry (which logs every Authorization it gets)
  printf '{"token":"STOLEN-LOCAL-FILE"}' >"$H/pwned-realm"
  local s url sum; sum=$(sha256sum <"$H/pwned-realm")
  push_each_scheme realm --insecure --creds "armlet:$PW"
  for s in $SCHEMES; do
    url=$(cat "$H/url.$s"); err=$(cat "$H/err.$s")
    assert_eq 1 "$(cat "$H/rc.$s")" "$s realm must fail: $err"
    assert_contains "$err" "token realm \"$url\" is not http or https"
    assert_no_control "$err"
    assert_not_contains "$err" "$PW"
  done
  assert_trap_untouched
  assert_not_contains "$(cat "$H/requests.log")" "STOLEN" "a file:// realm was read and its token sent"
  assert_eq "$sum" "$(sha256sum <"$H/pwned-realm")" "the file:// realm's file changed"
}

test_upload_on_another_loopback_address_gets_no_credentials() {
  hostile_start "$(tmpdir)"
  set_mode other-upload "$PW"
  push --insecure --creds "armlet:$PW"
  assert_eq 0 "$rc" "a storage Location on another host must work, without credentials: $err"
  assert_eq 3 "$(requests 'select(.srv == "other" and .method == "PUT") | .path' | wc -l)" "uploads at 127.0.0.2"
  assert_eq "" "$(requests 'select(.srv == "other") | .auth' | sort -u)" "Authorization sent to 127.0.0.2"
  assert_eq "Bearer good-token" "$(requests 'select(.srv == "main" and .method == "PUT") | .auth' | sort -u)" \
    "the registry itself gets the token"
}

test_a_401_from_another_host_fetches_no_token_there_and_sends_no_credentials() {
  hostile_start "$(tmpdir)"
  set_mode other-upload-401 "$PW"
  push --insecure --creds "armlet:$PW"
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "HTTP 401 from 127.0.0.2:$PORT2, which is not the registry $REG"
  assert_no_control "$err"
  assert_eq "" "$(requests 'select(.srv == "other") | .auth' | sort -u)" "Authorization sent to 127.0.0.2"
  assert_eq 0 "$(requests 'select(.srv == "other" and (.path | startswith("/token"))) | .path' | wc -l)" \
    "token requests at 127.0.0.2's realm"
}

test_tls_registry_with_plain_http_realm_on_another_host_gets_no_credentials() {
  python3 -c 'import socket; socket.socket(socket.AF_INET6)' 2>/dev/null \
    || skip "no IPv6 sockets: the other host is reached as [::ffff:127.0.0.2]"
  hostile_start "$(tmpdir)" tls
  # [::ffff:127.0.0.2] reaches the 127.0.0.2 server but is not a loopback literal for
  # armlet: it stands for any host on the network, without needing DNS.
  local realm="http://[::ffff:127.0.0.2]:$PORT2/token"
  set_mode realm "$realm"
  push --ca-cert "$H/ca.pem" --creds "armlet:$PW"
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "token realm $realm is plain http on another host"
  assert_no_control "$err"
  assert_eq 0 "$(requests 'select(.srv == "other") | .path' | wc -l)" "requests at the plain-http realm"
  # without credentials there is nothing to leak: the anonymous token request goes out
  # (which also shows the realm was reachable), and carries no Authorization
  push --ca-cert "$H/ca.pem"
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "refused anonymous access"
  assert_eq 1 "$(requests 'select(.srv == "other") | .path' | grep -c '^/token?')" "anonymous token request"
  assert_eq "" "$(requests 'select(.srv == "other") | .auth' | sort -u)" "Authorization at the realm"
}

test_tokens_with_cr_lf_or_control_characters_are_refused() {
  hostile_start "$(tmpdir)"
  local tok
  for tok in '{"token":"good-token\r\nX-Injected: 1"}' '{"token":"good-token\nX-Injected: 1"}' \
             '{"token":"good-token\u001b[2J"}' '{"access_token":"good token"}' '{"token":"good-tok\u00e9n"}'; do
    set_mode token "$tok"
    push --insecure --creds "armlet:$PW"
    assert_eq 1 "$rc" "token $tok: $err"
    assert_contains "$err" "the token holds a space, a control character (CR/LF) or a non-ASCII byte: refused"
    assert_no_control "$err"
  done
  assert_eq 0 "$(requests '.headers[]' | grep -ci '^x-injected$' || true)" "injected headers"
  assert_eq "" "$(requests 'select(.srv == "main" and (.auth | startswith("Bearer"))) | .auth')" "tokens sent"
  # a long, clean token (50,000 bytes) is fine
  set_mode token "{\"token\":\"good-token$(head -c 50000 /dev/zero | tr '\0' x)\"}"
  push --insecure --creds "armlet:$PW"
  assert_eq 0 "$rc" "a 50 kB token: $err"
}

test_terminal_escapes_in_server_text_are_escaped() {
  hostile_start "$(tmpdir)"
  set_mode error-body $'\e]0;pwned\a\e[2J\rforged\narmlet: pushed 127.0.0.1/app:v1 (forged)'
  push --insecure --progress quiet   # only the error: no step lines
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" 'HTTP 400: DENIED: \x1b]0;pwned\x07\x1b[2J\x0dforged\x0aarmlet: pushed'
  assert_no_control "$err"
  assert_eq 1 "$(printf '%s\n' "$err" | grep -c '^armlet: ')" "one line of output, no forged one"
  set_mode challenge $'Weird \e[31mred\e[0m'
  push --insecure
  assert_contains "$err" 'challenge "Weird \x1b[31mred\x1b[0m" names no Basic or Bearer scheme'
  assert_no_control "$err"
  set_mode digest $'sha256:\e[2Jzz'
  push --insecure
  assert_contains "$err" 'registry computed sha256:\x1b[2Jzz, expected sha256:'
  assert_no_control "$err"
  set_mode location $'http://127.0.0.1:1/\e[2J'
  push --insecure
  assert_contains "$err" 'Location header "http://127.0.0.1:1/\x1b[2J" holds a control character'
  assert_no_control "$err"
}

test_endless_body_ends_with_a_clear_error() {
  hostile_start "$(tmpdir)"
  set_mode endless-body
  push --insecure
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "GET $REG/v2/: reply body larger than 1024 KiB: refused"
  assert_no_control "$err"
}

test_dripping_body_ends_at_the_total_time_limit() {
  hostile_start "$(tmpdir)"
  set_mode drip-body
  push --insecure --timeout 1
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "GET $REG/v2/: the server stalled or was too slow (Operation timed out after"
  assert_contains "$err" "--timeout 1)"
  assert_no_control "$err"
}

test_stalled_server_ends_with_a_clear_error() {
  hostile_start "$(tmpdir)"
  set_mode stall
  push --insecure --timeout 2
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "GET $REG/v2/: the server stalled or was too slow"
  assert_contains "$err" "--timeout 2)"
  assert_no_control "$err"
}

test_huge_headers_end_with_a_clear_error() {
  hostile_start "$(tmpdir)"
  set_mode many-headers 3000
  push --insecure
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "GET $REG/v2/: reply headers larger than 128 KiB: refused"
  assert_no_control "$err"
  set_mode huge-header 200000
  push --insecure
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "GET $REG/v2/: reply refused: a header line longer than libcurl's 100 KiB limit"
  assert_no_control "$err"
  set_mode location "http://127.0.0.1:1/$(head -c 9000 /dev/zero | tr '\0' a)"
  push --insecure
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "reply header Location longer than 8191 bytes: refused"
  assert_no_control "$err"
  # a realm too long for the challenge parser's field is refused, not used cut short
  set_mode realm "http://127.0.0.1:$TRAP/$(head -c 1100 /dev/zero | tr '\0' a)"
  push --insecure
  assert_eq 1 "$rc" "$err"
  assert_contains "$err" "Bearer challenge: token realm longer than 1022 bytes"
  assert_trap_untouched
}

run_tests
