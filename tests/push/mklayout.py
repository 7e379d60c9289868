#!/usr/bin/env python3
"""mklayout.py DIR TAG [--base-kib N] [--layer-kib N] [--seed S] [--platforms LIST]

Writes an OCI image layout like `armlet build --oci` does: DIR/index.json names TAG
(org.opencontainers.image.ref.name) -> an image index -> one manifest per platform ->
config + a base layer shared by all platforms + a layer of its own. Layers are real
gzip'd tars of random bytes (so sizes are real and nothing compresses). Running it again
on the same DIR with another TAG adds that tag. --seed makes the bytes reproducible."""
import argparse, gzip, hashlib, io, json, os, random, tarfile

PLATFORMS = "linux/amd64,linux/arm64,linux/arm/v7,linux/arm/v6"


def put_blob(d, data):
    dig = hashlib.sha256(data).hexdigest()
    path = os.path.join(d, "blobs", "sha256", dig)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return {"digest": "sha256:" + dig, "size": len(data)}


def layer(rng, name, size):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mtime, ti.mode = size, 0, 0o644
        t.addfile(ti, io.BytesIO(rng.randbytes(size)))
    tar = raw.getvalue()
    gz = gzip.compress(tar, compresslevel=1, mtime=0)
    return gz, "sha256:" + hashlib.sha256(tar).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("tag")
    ap.add_argument("--base-kib", type=int, default=64)
    ap.add_argument("--layer-kib", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--platforms", default=PLATFORMS)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.dir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    base_gz, base_diff = layer(rng, "base.bin", a.base_kib * 1024)
    base = put_blob(a.dir, base_gz)
    mans = []
    for p in a.platforms.split(","):
        os_, arch, *var = p.split("/")
        gz, diff = layer(rng, "app-%s.bin" % p.replace("/", "-"), a.layer_kib * 1024)
        lay = put_blob(a.dir, gz)
        cfg = {"architecture": arch, "os": os_, "created": "1970-01-01T00:00:00Z",
               "config": {"Entrypoint": ["/app"], "Labels": {"armlet.test.platform": p}},
               "rootfs": {"type": "layers", "diff_ids": [base_diff, diff]}}
        if var:
            cfg["variant"] = var[0]
        cdesc = put_blob(a.dir, json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode())
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **cdesc),
               "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **base),
                          dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **lay)]}
        mdesc = put_blob(a.dir, json.dumps(man, separators=(",", ":")).encode())
        plat = {"architecture": arch, "os": os_}
        if var:
            plat["variant"] = var[0]
        mans.append(dict(mediaType=man["mediaType"], platform=plat, **mdesc))
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": mans}
    idesc = put_blob(a.dir, json.dumps(idx, indent=2).encode())
    path = os.path.join(a.dir, "index.json")
    top = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
    if os.path.exists(path):
        with open(path) as f:
            top = json.load(f)
    top["manifests"] = [m for m in top["manifests"]
                        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != a.tag]
    top["manifests"].append(dict(mediaType=idx["mediaType"], annotations={
        "org.opencontainers.image.ref.name": a.tag}, **idesc))
    with open(path, "w") as f:
        json.dump(top, f, indent=2)
    print(idesc["digest"])


main()
