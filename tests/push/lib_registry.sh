# tests/push/lib_registry.sh — a real docker-registry on 127.0.0.1 for the push tests
# and the push benchmark. Source after tests/lib.sh (or standalone: needs only bash).
#
#   reg_start DIR [none|htpasswd|token] [tls]   writes DIR/config.yml, starts the
#       registry on a free port; sets REG_PORT, REG_PID, REG_LOG (access + app log),
#       REG_HOST=127.0.0.1:$REG_PORT, and for tls REG_CA (the CA to trust).
#       htpasswd: user "armlet", password $REG_PASS. token: also a token server
#       (TOK_PID, TOK_LOG) with the same credentials, and the options in $TOK_ARGS.
#   reg_stop                 stops what reg_start started (also on EXIT via trap)
#   proxy_start MODE         fault_proxy.py in front of the registry: PROXY_HOST, PROXY_LOG
#   reg_count METHOD PATHPART   requests in the access log with that method and path part
#   reg_wait_log AFTER REGEX    until the access log past line AFTER has a line matching REGEX
#   make_ca DIR              DIR/ca.pem, DIR/server.pem, DIR/server.key for 127.0.0.1
PUSH_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REG_PASS=${REG_PASS:-s3cret-Pa55}
_reg_pids=()

# _wait_file FILE: until a helper has written FILE (its port); 30 s only bounds a hang.
_wait_file() { local i; for i in $(seq 1 600); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

make_ca() {
  local d=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=armlet test CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" \
    -out "$d/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/san.ext" -out "$d/server.pem" >/dev/null 2>&1
}

reg_start() {
  local d=$1 auth=${2:-none} tls=${3:-}
  mkdir -p "$d/data"
  REG_PORT=$(free_port)
  REG_HOST=127.0.0.1:$REG_PORT
  REG_LOG=$d/registry.log
  {
    printf 'version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n'
    printf 'storage:\n  filesystem:\n    rootdirectory: %s/data\n  delete:\n    enabled: true\n' "$d"
    printf 'http:\n  addr: 127.0.0.1:%s\n  secret: armlet-test-secret\n' "$REG_PORT"
  } >"$d/config.yml"
  if [ "$tls" = tls ]; then
    make_ca "$d"
    REG_CA=$d/ca.pem
    printf '  tls:\n    certificate: %s/server.pem\n    key: %s/server.key\n' "$d" "$d" >>"$d/config.yml"
  fi
  case $auth in
    htpasswd)
      htpasswd -Bbc "$d/htpasswd" armlet "$REG_PASS" >/dev/null 2>&1
      printf 'auth:\n  htpasswd:\n    realm: armlet-test\n    path: %s/htpasswd\n' "$d" >>"$d/config.yml" ;;
    token)
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=armlet token signer" \
        -keyout "$d/token.key" -out "$d/token.pem" >/dev/null 2>&1
      TOK_LOG=$d/token.log
      python3 "$PUSH_HELPERS/token_server.py" --port-file "$d/token.port" --key "$d/token.key" \
        --user armlet --password-file <(printf %s "$REG_PASS") --log "$TOK_LOG" ${TOK_ARGS:-} &
      TOK_PID=$!; _reg_pids+=("$TOK_PID")
      _wait_file "$d/token.port" || { echo "token server did not start" >&2; return 1; }
      printf 'auth:\n  token:\n    realm: http://127.0.0.1:%s/token\n    service: armlet-test\n    issuer: armlet-test-issuer\n    rootcertbundle: %s/token.pem\n' \
        "$(cat "$d/token.port")" "$d" >>"$d/config.yml" ;;
  esac
  docker-registry serve "$d/config.yml" >"$REG_LOG" 2>&1 &
  REG_PID=$!; _reg_pids+=("$REG_PID")
  trap reg_stop EXIT
  local scheme=http i; [ "$tls" = tls ] && scheme=https
  for i in $(seq 1 300); do   # 30 s and more: only bounds a registry that never answers
    curl -s -o /dev/null ${REG_CA:+--cacert "$REG_CA"} "$scheme://$REG_HOST/v2/" && return 0
    kill -0 "$REG_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "registry did not start:" >&2; tail -5 "$REG_LOG" >&2
  return 1
}

proxy_start() {
  local d; d=$(mktemp -d "${TMPDIR:-/tmp}/armlet-proxy.XXXXXX")
  PROXY_LOG=$d/proxy.log
  python3 "$PUSH_HELPERS/fault_proxy.py" --port-file "$d/port" --upstream "$REG_HOST" \
    --mode "$1" --log "$PROXY_LOG" &
  _reg_pids+=("$!")
  _wait_file "$d/port" || { echo "proxy did not start" >&2; return 1; }
  PROXY_HOST=127.0.0.1:$(cat "$d/port")
}

reg_stop() {
  local p
  for p in "${_reg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${_reg_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  _reg_pids=()
}

# Access-log lines look like: 127.0.0.1 - - [date] "HEAD /v2/app/blobs/sha256:... HTTP/1.1" 200 ...
reg_count() { grep -c "\"$1 [^\"]*$2" "$REG_LOG" || true; }

# reg_wait_log AFTER REGEX: until a line past line AFTER of the access log matches the
# extended REGEX, e.g. the request a command sent last (the registry writes a request's
# line as it answers, which can be after the client has exited); counting that command's
# requests is then complete. 30 s only bounds a hang: then a message and status 1.
reg_wait_log() {
  local i
  for i in $(seq 1 300); do
    tail -n +"$(($1 + 1))" "$REG_LOG" | grep -qE "$2" && return 0
    sleep 0.1
  done
  echo "reg_wait_log: no line matching '$2' in $REG_LOG after 30 s" >&2
  return 1
}

# mklayout DIR TAG [args]: a four-platform test layout (see mklayout.py); prints the
# index digest.
mklayout() { python3 "$PUSH_HELPERS/mklayout.py" "$@"; }
# Path of a blob of layout DIR by digest.
blob_of() { echo "$1/blobs/sha256/${2#sha256:}"; }
# Digest of tag T's index in layout DIR.
index_digest() { jq -r --arg t "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t) | .digest' "$1/index.json"; }
# skopeo inspect --raw of docker://REF into FILE; extra skopeo options after.
raw_of() { local ref=$1 file=$2; shift 2; skopeo inspect --raw "$@" "docker://$ref" >"$file"; }
