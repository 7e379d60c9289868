#!/usr/bin/python3
"""ocijson.py — the JSON work of tests/tools/oci.sh, in Debian's python3 (no jq needed).

    ocijson.py get EXPR [FILE]              print EXPR, a Python expression over the
                                            document `d` (FILE, or stdin): strings raw,
                                            anything else as compact JSON
    ocijson.py edit FILE STATEMENTS         run STATEMENTS on `d`, write FILE back
    ocijson.py manifest-for OCI TAG PLAT    "MEDIATYPE DIGEST SIZE" of TAG's manifest for
                                            PLAT (linux/arm/v7); exit 1 if none
    ocijson.py one-index MT DIGEST SIZE TAG an index.json naming that one manifest
    ocijson.py bundle CONFIG [--host-net] [--no-seccomp] [FROM TO]...
        runtime config edits: process.terminal=false; --host-net drops the network
        namespace; --no-seccomp drops the init's --seccomp flag (before "--"); each
        process argument equal to FROM becomes TO.
"""
import json
import os
import sys

MT_INDEX = "application/vnd.oci.image.index.v1+json"
REF = "org.opencontainers.image.ref.name"


def load(path):
    if path == "-":
        return json.load(sys.stdin)
    with open(path) as f:
        return json.load(f)


def save(path, doc):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def show(v):
    print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))


def manifest_for(oci, tag, plat):
    parts = plat.split("/")
    want = (parts[0], parts[1], parts[2] if len(parts) > 2 else "")
    tagged = [m for m in load(os.path.join(oci, "index.json")).get("manifests", [])
              if m.get("annotations", {}).get(REF) == tag]
    if not tagged:
        sys.exit("oci: no tag %s in %s/index.json" % (tag, oci))
    top = tagged[0]
    if top["mediaType"] != MT_INDEX:
        return top
    algo, _, hexd = top["digest"].partition(":")
    for m in load(os.path.join(oci, "blobs", algo, hexd)).get("manifests", []):
        p = m.get("platform", {})
        if (p.get("os"), p.get("architecture"), p.get("variant", "")) == want:
            return m
    sys.exit("oci: %s:%s has no manifest for %s" % (oci, tag, plat))


def drop_seccomp(args):
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a == "--seccomp":
            skip = True
        elif not a.startswith("--seccomp="):
            out.append(a)
    return out


def bundle(path, opts):
    c = load(path)
    c["process"]["terminal"] = False
    args = c["process"]["args"]
    swaps = {}
    while opts:
        o = opts.pop(0)
        if o == "--host-net":
            c["linux"]["namespaces"] = [n for n in c["linux"].get("namespaces", [])
                                        if n.get("type") != "network"]
        elif o == "--no-seccomp":
            cut = args.index("--") if "--" in args else len(args)
            args = drop_seccomp(args[:cut]) + args[cut:]
        else:
            swaps[o] = opts.pop(0)
    c["process"]["args"] = [swaps.get(a, a) for a in args]
    save(path, c)


def main(a):
    cmd = a[0] if a else ""
    if cmd == "get" and len(a) in (2, 3):
        d = load(a[2] if len(a) == 3 else "-")
        show(eval(a[1], {"d": d}))
    elif cmd == "edit" and len(a) == 3:
        d = load(a[1])
        exec(a[2], {"d": d})
        save(a[1], d)
    elif cmd == "manifest-for" and len(a) == 4:
        m = manifest_for(a[1], a[2], a[3])
        print(m["mediaType"], m["digest"], m["size"])
    elif cmd == "one-index" and len(a) == 5:
        show({"schemaVersion": 2, "manifests": [
            {"mediaType": a[1], "digest": a[2], "size": int(a[3]), "annotations": {REF: a[4]}}]})
    elif cmd == "bundle" and len(a) >= 2:
        bundle(a[1], a[2:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
