#!/usr/bin/env python3
"""fault_proxy.py --port-file F --upstream HOST:PORT --mode MODE [--log F]

An HTTP/1.1 forwarding proxy in front of a registry that injects one kind of fault:
  none              forward everything
  drop-blob-once    the first blob upload (PUT/PATCH with a body): read half, then
                    drop the connection without answering
  500-blob-once     the first blob upload gets 500
  drop-blob-always  every blob upload with a body is dropped half-way
  500-manifest-after-1  the first manifest PUT by digest passes, every later manifest
                    PUT gets 500 (so the push cannot complete)
  413-monolithic    a PUT carrying a whole blob gets 413 (chunked PATCHes pass)
  429-once          the first blob HEAD gets 429 with Retry-After: 1
  401-once          the first blob upload gets 401 with the challenge the registry
                    sent for GET /v2/ (as when a token expires mid-push)
  foreign-location  upload Locations point at this proxy under another host name
                    (localhost instead of 127.0.0.1); logs whether they carried credentials
  chunk-min         upload-session answers (POST) carry OCI-Chunk-Min-Length: 200000
  wrong-digest      manifest PUT answers carry a Docker-Content-Digest of all zeros
The log gets one line per request: METHOD PATH STATUS [FAULT]."""
import argparse, http.client, os, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--mode", default="none")
    ap.add_argument("--log", default=os.devnull)
    a = ap.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    log = open(a.log, "a", buffering=1)
    lock = threading.Lock()
    state = {"faults": 0, "manifests": 0}

    def once():
        with lock:
            state["faults"] += 1
            return state["faults"] == 1

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, body=b""):
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            is_upload = "/blobs/uploads/" in self.path and self.command in ("PUT", "PATCH") and n > 0
            fault = None
            if is_upload and ((a.mode == "drop-blob-once" and once()) or a.mode == "drop-blob-always"):
                self.rfile.read(n // 2)
                log.write("%s %s - drop\n" % (self.command, self.path.split("?")[0]))
                self.close_connection = True
                self.connection.shutdown(2)
                return
            body = self.rfile.read(n) if n else None
            if is_upload and a.mode == "500-blob-once" and once():
                fault = 500
            if is_upload and a.mode == "413-monolithic" and self.command == "PUT":
                fault = 413
            if self.command == "PUT" and "/manifests/sha256:" in self.path and a.mode == "500-manifest-after-1":
                with lock:
                    state["manifests"] += 1
                    if state["manifests"] > 1:
                        fault = 500
            if a.mode == "429-once" and self.command == "HEAD" and "/blobs/" in self.path and once():
                log.write("%s %s 429 fault\n" % (self.command, self.path.split("?")[0]))
                self.send_response(429)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if is_upload and a.mode == "401-once" and once():
                c = http.client.HTTPConnection(host, int(port), timeout=30)
                c.request("GET", "/v2/")
                chal = c.getresponse().getheader("WWW-Authenticate") or ""
                c.close()
                log.write("%s %s 401 fault\n" % (self.command, self.path.split("?")[0]))
                self.send_response(401)
                self.send_header("WWW-Authenticate", chal)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if a.mode == "foreign-location" and "/blobs/uploads/" in self.path and self.command in ("PUT", "PATCH"):
                log.write("upload to %s auth=%s\n" % (self.headers.get("Host"),
                                                       "yes" if self.headers.get("Authorization") else "no"))
            if fault:
                log.write("%s %s %d fault\n" % (self.command, self.path.split("?")[0], fault))
                self.reply(fault, b'{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}')
                return
            c = http.client.HTTPConnection(host, int(port), timeout=120)
            hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            c.request(self.command, self.path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            log.write("%s %s %d\n" % (self.command, self.path.split("?")[0], r.status))
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    if a.mode == "foreign-location" and k.lower() == "location":
                        v = v.replace("127.0.0.1:", "localhost:")
                    if (a.mode == "wrong-digest" and k.lower() == "docker-content-digest"
                            and self.command == "PUT" and "/manifests/" in self.path):
                        v = "sha256:" + "0" * 64
                    self.send_header(k, v)
            if a.mode == "chunk-min" and self.command == "POST" and "/blobs/uploads/" in self.path:
                self.send_header("OCI-Chunk-Min-Length", "200000")
            self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else r.getheader("Content-Length") or 0))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            c.close()

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


main()
