#!/usr/bin/env python3
"""hostile_registry.py --dir D [--tls CERT KEY]

A fake OCI registry that misbehaves on purpose, for tests/push/t_push_hostile.sh. It
serves enough of the distribution API for `armlet push` (GET /v2/, blob HEAD/POST/PUT,
manifest HEAD/PUT, a token realm at /token) and reads its behaviour from D/mode (JSON
{"mode": M, "arg": A}) at every request, so one server runs many cases; a request for
repository R follows D/mode.R instead when that file exists. It listens on:
  127.0.0.1:D/port   the registry (TLS with --tls)
  127.0.0.2:D/port2  "another host": upload Locations and realms that must get no
                     credentials point here (plain http)
  127.0.0.1:D/trap   a raw TCP listener standing in for any non-http target (gopher,
                     dict, smtp ...): it logs one line per connection to D/trap.log,
                     in the order they came (one at a time), so a test that connects
                     last and sees its own line knows every earlier one is logged
Every HTTP request is logged to D/requests.log as JSON: which server, method, path, the
Authorization header as received, and the header names.

Modes (main server unless said):
  ok                  a registry without authentication
  basic               Basic authentication (user armlet, password = arg)
  bearer              Bearer, realm = own /token, which wants Basic armlet:arg
  location            POST answers 202 with Location: arg (verbatim)
  realm               every request without a token gets 401 Bearer realm=arg
  other-upload        bearer (password = arg), and POST answers with a Location on
                      127.0.0.2; there PUT answers 201
  other-upload-401    the same, but 127.0.0.2 answers 401 with a Bearer realm of its own
  token               bearer, and /token answers with arg (a JSON text) as the body
  error-body          POST answers 400 with {"errors":[{"code":"DENIED","message":arg}]}
  challenge           GET /v2/ answers 401 with WWW-Authenticate: arg
  digest              blob PUT answers 201 with Docker-Content-Digest: arg
  endless-body        GET /v2/ answers 200 and an endless body
  drip-body           GET /v2/ answers 200 and one byte every 0.2 s, forever
  stall               GET /v2/ is read and never answered
  huge-header         GET /v2/ answers 200 with one header of arg bytes
  many-headers        GET /v2/ answers 200 with arg headers of 100 bytes each"""
import argparse, base64, hashlib, json, os, socket, ssl, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    d = a.dir
    lock = threading.Lock()
    reqlog = open(os.path.join(d, "requests.log"), "a", buffering=1)
    traplog = open(os.path.join(d, "trap.log"), "a", buffering=1)
    stop = threading.Event()

    def mode(path):
        # D/mode.<repository> when there is one (so that cases can run side by side, one
        # repository each), else D/mode
        parts = path.split("/")
        name = "mode"
        if len(parts) > 3 and parts[1] == "v2" and os.path.exists(os.path.join(d, "mode." + parts[2])):
            name = "mode." + parts[2]
        try:
            with open(os.path.join(d, name)) as f:
                m = json.load(f)
            return m.get("mode", "ok"), m.get("arg", "")
        except (OSError, ValueError):
            return "ok", ""

    def write_port(name, port):
        with open(os.path.join(d, name + ".tmp"), "w") as f:
            f.write(str(port))
        os.rename(os.path.join(d, name + ".tmp"), os.path.join(d, name))

    def make_handler(role):
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, code, body=b"", headers=()):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def raw_header(self, k, v):
                # send_header() refuses nothing, but spell it out: the value goes verbatim
                self._headers_buffer.append(("%s: %s\r\n" % (k, v)).encode("latin-1"))

            def handle_any(self):
                m, arg = mode(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with lock:
                    reqlog.write(json.dumps({"srv": role, "method": self.command, "path": self.path,
                                             "auth": self.headers.get("Authorization") or "",
                                             "headers": list(self.headers.keys())}) + "\n")
                u = urlparse(self.path)
                if role == "other":
                    return self.other(m, arg, u, body)
                if u.path == "/token":
                    return self.token(m, arg)
                if m in ("endless-body", "drip-body", "stall", "huge-header", "many-headers") and u.path == "/v2/":
                    return self.hostile_reply(m, arg)
                if m == "challenge" and u.path == "/v2/":
                    self.send_response(401)
                    self.raw_header("WWW-Authenticate", arg)
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                if not self.authorized(m, arg):
                    return
                if u.path.endswith("/blobs/uploads/") and self.command == "POST":
                    return self.start_upload(m, arg)
                if "/blobs/uploads/" in u.path and self.command == "PUT":
                    dig = parse_qs(u.query).get("digest", [""])[0]
                    self.send_response(201)
                    self.raw_header("Docker-Content-Digest", arg if m == "digest" else dig)
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                if "/manifests/" in u.path and self.command == "PUT":
                    return self.send(201, headers=[("Docker-Content-Digest", "sha256:" + hashlib.sha256(body).hexdigest())])
                if u.path == "/v2/":
                    return self.send(200, b"{}", [("Content-Type", "application/json")])
                return self.send(404, b'{"errors":[{"code":"NOT_FOUND","message":"not here"}]}')

            def authorized(self, m, arg):
                got = self.headers.get("Authorization") or ""
                port = open(os.path.join(d, "port")).read()
                scheme = "https" if a.tls else "http"
                if m == "basic":
                    if got == "Basic " + base64.b64encode(("armlet:" + arg).encode()).decode():
                        return True
                    self.send(401, headers=[("WWW-Authenticate", 'Basic realm="hostile"')])
                    return False
                if m in ("bearer", "other-upload", "other-upload-401", "token", "realm"):
                    if got.startswith("Bearer good-token"):
                        return True
                    realm = arg if m == "realm" else "%s://127.0.0.1:%s/token" % (scheme, port)
                    self.send(401, headers=[("WWW-Authenticate", 'Bearer realm="%s",service="hostile"' % realm)])
                    return False
                return True

            def token(self, m, arg):
                if m == "token":
                    return self.send(200, arg.encode(), [("Content-Type", "application/json")])
                pw = arg
                if self.headers.get("Authorization") != "Basic " + base64.b64encode(("armlet:" + pw).encode()).decode():
                    return self.send(401)
                return self.send(200, b'{"token":"good-token"}', [("Content-Type", "application/json")])

            def start_upload(self, m, arg):
                port2 = open(os.path.join(d, "port2")).read()
                if m == "location":
                    loc = arg
                elif m in ("other-upload", "other-upload-401"):
                    loc = "http://127.0.0.2:%s/upload/1?state=x" % port2
                else:
                    loc = "/v2/app/blobs/uploads/1?state=x"
                if m == "error-body":
                    body = json.dumps({"errors": [{"code": "DENIED", "message": arg}]}).encode()
                    return self.send(400, body, [("Content-Type", "application/json")])
                self.send_response(202)
                self.raw_header("Location", loc)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def other(self, m, arg, u, body):
                port2 = open(os.path.join(d, "port2")).read()
                if m == "other-upload-401" or u.path == "/token":
                    realm = "http://127.0.0.2:%s/token" % port2
                    return self.send(401, headers=[("WWW-Authenticate", 'Bearer realm="%s",service="other"' % realm)])
                if self.command == "PUT":
                    dig = parse_qs(u.query).get("digest", [""])[0]
                    return self.send(201, headers=[("Docker-Content-Digest", dig)])
                return self.send(404)

            def hostile_reply(self, m, arg):
                if m == "stall":
                    stop.wait(300)
                    return
                self.send_response(200)
                if m == "huge-header":
                    self.send_header("X-Big", "a" * int(arg))
                if m == "many-headers":
                    for i in range(int(arg)):
                        self.send_header("X-Many-%06d" % i, "b" * 80)
                if m in ("huge-header", "many-headers"):
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                    return
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                chunk = b"x" * 65536 if m == "endless-body" else b"x"
                try:
                    while not stop.is_set():
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if m == "drip-body":
                            time.sleep(0.2)
                except OSError:
                    pass

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any
        return H

    # a client hanging up on a hostile reply is expected: no traceback on stderr
    ThreadingHTTPServer.handle_error = lambda self, request, client_address: None
    main_srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler("main"))
    main_srv.daemon_threads = True
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        main_srv.socket = ctx.wrap_socket(main_srv.socket, server_side=True)
    other_srv = ThreadingHTTPServer(("127.0.0.2", 0), make_handler("other"))
    other_srv.daemon_threads = True
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen(16)

    def trap_loop():
        while True:
            c, _ = trap.accept()
            c.settimeout(2)
            try:
                got = c.recv(65536)
            except OSError:
                got = b""
            traplog.write("connection, %d bytes: %r\n" % (len(got), got[:40]))
            c.close()

    for t in (lambda: other_srv.serve_forever(), trap_loop):
        threading.Thread(target=t, daemon=True).start()
    write_port("port2", other_srv.server_address[1])
    write_port("trap", trap.getsockname()[1])
    write_port("port", main_srv.server_address[1])
    try:
        main_srv.serve_forever()
    finally:
        stop.set()


main()
