#!/usr/bin/env python3
"""token_server.py --port-file F --key KEY.pem --user U --password P [--log F]
                   [--password-file F] [--refresh-token T] [--pad N]

A Docker-style Bearer token realm for tests: GET /token?service=S&scope=...&scope=...
with Basic credentials U:P returns {"token": JWT} granting what was asked; anything else
is 401. With --refresh-token T it also takes the OAuth2 refresh-token grant Docker sends
for an identity token: POST /token with the form grant_type=refresh_token&refresh_token=T
&service=S&scope=... (a wrong token is 401). --password-file reads P from a file (a long
password stays off the command line); --pad N adds N bytes to every JWT (a big token). JWTs are RS256, signed with KEY, with the libtrust key id the registry derives
from the certificate in its rootcertbundle. The log gets one line per request: the
scopes asked and the answer (never the credentials)."""
import argparse, base64, hashlib, json, os, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ISSUER = "armlet-test-issuer"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def libtrust_kid(pub):
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(s[i:i + 4] for i in range(0, 48, 4))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password")
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--password-file")
    ap.add_argument("--refresh-token")
    ap.add_argument("--pad", type=int, default=0)
    a = ap.parse_args()
    if a.password_file:
        with open(a.password_file) as f:
            a.password = f.read()
    with open(a.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    kid = libtrust_kid(key.public_key())
    good = "Basic " + base64.b64encode(("%s:%s" % (a.user, a.password)).encode()).decode()
    log = open(a.log, "a", buffering=1)

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def deny(self, what, scopes):
            log.write("401 %sscopes=%s\n" % (what, " ".join(scopes)))
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            body = b'{"details":"bad credentials"}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def grant(self, what, q, scopes, extra):
            access = []
            for s in scopes:
                parts = s.split(":")
                if len(parts) >= 3:
                    access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                                   "actions": parts[-1].split(",")})
            now = int(time.time())
            claims = {"iss": ISSUER, "sub": a.user, "aud": q.get("service", [""])[0], "exp": now + 600,
                      "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
            if a.pad:
                claims["pad"] = "x" * a.pad
            head = {"typ": "JWT", "alg": "RS256", "kid": kid}
            signing = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())
            sig = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
            tok = signing + "." + b64url(sig)
            reply = {"token": tok, "access_token": tok, "expires_in": 600}
            reply.update(extra)
            body = json.dumps(reply).encode()
            log.write("200 %sscopes=%s\n" % (what, " ".join(scopes)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            q = parse_qs(urlparse(self.path).query)
            scopes = q.get("scope", [])
            if self.headers.get("Authorization") != good:
                return self.deny("", scopes)
            self.grant("", q, scopes, {})

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(n).decode())
            scopes = " ".join(form.get("scope", [])).split()
            what = "POST grant_type=%s client_id=%s query=%s " % (
                form.get("grant_type", [""])[0], form.get("client_id", [""])[0], urlparse(self.path).query)
            if (not a.refresh_token or form.get("grant_type") != ["refresh_token"]
                    or form.get("refresh_token") != [a.refresh_token]):
                return self.deny(what, scopes)
            self.grant(what, form, scopes, {"refresh_token": a.refresh_token})

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


main()
