#!/usr/bin/env bash
# tests/init/t_probe.sh — `armlet-init probe URL [--timeout D]` against real servers on
# the loopback: Python's http.server (200, 404, 301), a closed port, and a listener that
# accepts connections and never answers. Every init platform: amd64 natively, the ARM
# ones under qemu binfmt (the probe's sockets are real host sockets either way).
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/tools/oci.sh"    # free_port

WORK=$(mktemp -d "${TMPDIR:-/tmp}/armlet-probe.XXXXXX")
mkdir -p "$WORK/www/sub"
echo ok >"$WORK/www/healthz"
HTTP_PORT=$(free_port)
(cd "$WORK/www" && exec /usr/bin/python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 \
   >"$WORK/http.log" 2>&1) &
HTTP_PID=$!
# A listener that completes the TCP handshake (the kernel does, from the backlog) but
# never reads or answers: the probe must give up at its deadline. It writes the file
# $WORK/mute.ready once it listens.
MUTE_PORT=$(free_port)
/usr/bin/python3 -c 'import socket,sys,time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(128)
open(sys.argv[2], "w").write("ready\n"); time.sleep(3600)' "$MUTE_PORT" "$WORK/mute.ready" &
MUTE_PID=$!
# An IPv6 loopback server, when the host has ::1.
HTTP6_PORT=$(free_port)
(cd "$WORK/www" && exec /usr/bin/python3 -m http.server "$HTTP6_PORT" --bind ::1 \
   >"$WORK/http6.log" 2>&1) &
HTTP6_PID=$!
trap 'kill $HTTP_PID $MUTE_PID $HTTP6_PID 2>/dev/null; rm -rf "$WORK"' EXIT
CLOSED_PORT=$(free_port)   # nothing listens here
# Every server is up before the first test (a slow start would read as a refusal); the
# IPv6 one only where the host has ::1 (it exits at once where it cannot bind). 30 s only
# bounds a server that never starts.
HTTP6_UP=
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && [ -s "$WORK/mute.ready" ] &&
    { [ -n "$HTTP6_UP" ] || ! kill -0 "$HTTP6_PID" 2>/dev/null; } && break
  [ -z "$HTTP6_UP" ] && curl -sf "http://[::1]:$HTTP6_PORT/healthz" >/dev/null 2>&1 && HTTP6_UP=1
  sleep 0.05
done

platforms_test_healthy_http_answer_exits_0_and_says_the_status() { :; }
test_healthy_http_answer_exits_0_and_says_the_status() {
  capture "$INIT" probe "http://127.0.0.1:$HTTP_PORT/healthz"
  assert_eq 0 "$rc" "exit status ($err)"
  assert_eq "probe: http://127.0.0.1:$HTTP_PORT/healthz: 200 OK" "$out"
  # The server really got a GET for that path.
  grep -q '"GET /healthz HTTP/1.0" 200' "$WORK/http.log" || fail "server log: $(cat "$WORK/http.log")"
}

platforms_test_redirect_counts_as_healthy() { :; }
test_redirect_counts_as_healthy() {
  # http.server answers a folder without its trailing slash with 301.
  capture "$INIT" probe "http://localhost:$HTTP_PORT/sub"
  assert_eq 0 "$rc" "exit status ($err)"
  assert_contains "$out" ": 301 "
}

platforms_test_404_exits_1_with_a_one_line_reason() { :; }
test_404_exits_1_with_a_one_line_reason() {
  capture "$INIT" probe "http://127.0.0.1:$HTTP_PORT/missing"
  assert_eq 1 "$rc"
  assert_eq "armlet-init: probe: http://127.0.0.1:$HTTP_PORT/missing: 404 File not found" "$err"
  assert_eq "" "$out"
}

platforms_test_closed_port_is_connection_refused() { :; }
test_closed_port_is_connection_refused() {
  capture "$INIT" probe "http://127.0.0.1:$CLOSED_PORT/healthz"
  assert_eq 1 "$rc"
  assert_eq "armlet-init: probe: http://127.0.0.1:$CLOSED_PORT/healthz: Connection refused" "$err"
  capture "$INIT" probe "tcp://127.0.0.1:$CLOSED_PORT"
  assert_eq 1 "$rc"
  assert_contains "$err" "Connection refused"
}

platforms_test_silent_listener_times_out_at_the_deadline() { :; }
test_silent_listener_times_out_at_the_deadline() {
  local t0 ms
  t0=$(date +%s%N)
  # (timeout 30 only bounds a probe that ignores its deadline: rc 124)
  capture timeout 30 "$INIT" probe "http://127.0.0.1:$MUTE_PORT/healthz" --timeout 1s
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  assert_eq 1 "$rc"
  assert_eq "armlet-init: probe: http://127.0.0.1:$MUTE_PORT/healthz: timed out after 1s" "$err"
  # The deadline was kept: not before it, and the upper bound only catches one far off (a
  # busy or emulated machine adds time, never subtracts it).
  [ "$ms" -ge 950 ] && [ "$ms" -lt 20000 ] || fail "took ${ms} ms for a 1s timeout"
  capture "$INIT" probe "http://127.0.0.1:$MUTE_PORT/" --timeout=300ms
  assert_contains "$err" "timed out after 300ms"
}

platforms_test_tcp_probe_only_connects() { :; }
test_tcp_probe_only_connects() {
  # The silent listener is healthy for tcp:// (the connection opens) though not for http://.
  capture "$INIT" probe "tcp://127.0.0.1:$MUTE_PORT" --timeout 1s
  assert_eq 0 "$rc" "exit status ($err)"
  assert_eq "probe: tcp://127.0.0.1:$MUTE_PORT: connected" "$out"
}

platforms_test_ipv6_loopback() { :; }
test_ipv6_loopback() {
  [ -n "$HTTP6_UP" ] || skip "no IPv6 loopback here (an http.server cannot listen on [::1])"
  capture "$INIT" probe "http://[::1]:$HTTP6_PORT/healthz"
  assert_eq 0 "$rc" "exit status ($err)"
  assert_eq "probe: http://[::1]:$HTTP6_PORT/healthz: 200 OK" "$out"
}

platforms_test_bad_urls_and_host_names_are_refused_with_a_reason() { :; }
test_bad_urls_and_host_names_are_refused_with_a_reason() {
  capture "$INIT" probe "ftp://127.0.0.1/"
  assert_eq 1 "$rc"; assert_contains "$err" "expected http://HOST:PORT/PATH or tcp://HOST:PORT"
  capture "$INIT" probe "http://example.com/"
  assert_eq 1 "$rc"; assert_contains "$err" "no DNS in the init"
  capture "$INIT" probe "tcp://127.0.0.1"
  assert_eq 1 "$rc"; assert_contains "$err" "tcp:// needs a port"
  capture "$INIT" probe "http://127.0.0.1:99999/"
  assert_eq 1 "$rc"; assert_contains "$err" "bad port"
  capture "$INIT" probe "http://127.0.0.1:$HTTP_PORT/" --timeout soon
  assert_eq 1 "$rc"; assert_contains "$err" "--timeout 'soon'"
  capture "$INIT" probe
  assert_eq 1 "$rc"; assert_contains "$err" "missing URL"
  # Never 2: Docker reserves that status for health commands.
  capture "$INIT" probe --bogus
  assert_eq 1 "$rc"; assert_contains "$err" "unexpected argument '--bogus'"
}

run_tests
