#!/usr/bin/env python3
"""tests/builder/sbom_check.py — reads armlet's SPDX documents for the SBOM tests.

  sbom_check.py validate SCHEMA DOC     DOC validates against the SPDX 2.3 JSON schema
  sbom_check.py packages DOC            "NAME VERSION PURL" per package, sorted
  sbom_check.py gomods DOC              "PATH VERSION H1" per Go module a program depends on
  sbom_check.py owner DOC PATH          the package that CONTAINS file PATH ("-" if none)
  sbom_check.py sha256 DOC PATH         the SHA-256 the document gives file PATH
  sbom_check.py control FILE...         each file parses as one Debian control stanza
                                        (python3-debian's Deb822): "Package Version" lines
"""
import base64
import json
import sys


def load(p):
    with open(p) as f:
        return json.load(f)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "validate":
        import jsonschema
        jsonschema.validate(load(args[1]), load(args[0]))
        return
    if cmd == "control":
        from debian.deb822 import Deb822
        for path in args:
            with open(path) as f:
                stanzas = list(Deb822.iter_paragraphs(f))
            if len(stanzas) != 1 or "Package" not in stanzas[0] or "Version" not in stanzas[0]:
                sys.exit(f"{path}: not one control stanza with Package and Version")
            print(stanzas[0]["Package"], stanzas[0]["Version"])
        return
    d = load(args[0])
    ids = {p["SPDXID"]: p for p in d.get("packages", [])}
    files = {f["SPDXID"]: f for f in d.get("files", [])}
    rels = d.get("relationships", [])
    if cmd == "packages":
        for p in sorted(d["packages"], key=lambda p: (p["name"], p.get("versionInfo", ""))):
            purl = [r["referenceLocator"] for r in p.get("externalRefs", [])]
            print(p["name"], p.get("versionInfo", "-"), purl[0] if purl else "-")
    elif cmd == "gomods":
        for r in rels:
            if r["relationshipType"] != "DEPENDS_ON":
                continue
            p = ids[r["relatedSpdxElement"]]
            if p["name"] == "stdlib":
                print("stdlib", p["versionInfo"], "-")
                continue
            h1 = "-"
            for c in p.get("checksums", []):
                h1 = "h1:" + base64.b64encode(bytes.fromhex(c["checksumValue"])).decode()
            print(p["name"], p.get("versionInfo", "-"), h1)
    elif cmd in ("owner", "sha256"):
        fid = [i for i, f in files.items() if f["fileName"] == args[1]]
        if not fid:
            sys.exit(f"no file {args[1]} in the document")
        if cmd == "sha256":
            print(files[fid[0]]["checksums"][0]["checksumValue"])
            return
        own = [r["spdxElementId"] for r in rels if r["relationshipType"] == "CONTAINS"
               and r["relatedSpdxElement"] == fid[0] and r["spdxElementId"] in ids
               and r["spdxElementId"] != "SPDXRef-Image"]
        print(" ".join(ids[o]["name"] + " " + ids[o].get("versionInfo", "") for o in own) or "-")
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
