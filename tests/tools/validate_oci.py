#!/usr/bin/python3
"""validate_oci.py — check an OCI image layout against the image-spec JSON schemas.

    validate_oci.py SCHEMA_DIR LAYOUT_DIR       every document of the layout
    validate_oci.py SCHEMA_DIR --doc KIND FILE  one document (KIND: layout index manifest config)

Walks the layout from index.json: each descriptor's blob must exist, have the size and
sha256 the descriptor says, and (for index, manifest and config media types) validate
against the matching schema, as must oci-layout and index.json themselves. Manifests
listed by an index must carry a platform. Prints one line per document checked and
"ok: N documents" at the end; exits 1 with the first problems found otherwise.

Runs with Debian's python3-jsonschema (/usr/bin/python3). The schemas name each other by
relative file names resolved against their "id" URLs (https://opencontainers.org/schema/
...), so every such URL is mapped to the local file of the same base name.
"""
import hashlib
import json
import os
import sys
import urllib.parse

import jsonschema

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
SCHEMA_FILES = {
    "layout": "image-layout-schema.json",
    "index": "image-index-schema.json",
    "manifest": "image-manifest-schema.json",
    "config": "config-schema.json",
}


class Schemas:
    def __init__(self, folder):
        self.folder = folder
        self.by_name = {}
        self.by_id = {}
        for name in os.listdir(folder):
            if name.endswith(".json"):
                with open(os.path.join(folder, name)) as f:
                    doc = json.load(f)
                self.by_name[name] = doc
                if "id" in doc:
                    self.by_id[doc["id"]] = doc

    def _fetch(self, uri):
        """Resolve an https://opencontainers.org/... reference to the local file."""
        base = uri.split("#", 1)[0]
        if base in self.by_id:
            return self.by_id[base]
        name = os.path.basename(urllib.parse.urlparse(base).path)
        if name in self.by_name:
            return self.by_name[name]
        raise jsonschema.RefResolutionError("schema %s not in %s" % (uri, self.folder))

    def validator(self, kind):
        schema = self.by_name[SCHEMA_FILES[kind]]
        resolver = jsonschema.RefResolver(
            base_uri=schema.get("id", ""), referrer=schema,
            handlers={"https": self._fetch, "http": self._fetch})
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
        return cls(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())

    def errors(self, kind, doc):
        return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", e.message)
                for e in self.validator(kind).iter_errors(doc)]


def check_layout(schemas, layout):
    problems = []
    checked = 0

    def validate(kind, what, doc):
        nonlocal checked
        errs = schemas.errors(kind, doc)
        problems.extend("%s (%s): %s" % (what, kind, e) for e in errs)
        checked += 1
        print("%s %s %s" % ("ok  " if not errs else "BAD ", kind, what))

    def load(path, what):
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            problems.append("%s: %s" % (what, e))
            return None

    raw = load(os.path.join(layout, "oci-layout"), "oci-layout")
    if raw is not None:
        validate("layout", "oci-layout", json.loads(raw))
    raw = load(os.path.join(layout, "index.json"), "index.json")
    if raw is None:
        return problems, checked
    top = json.loads(raw)
    validate("index", "index.json", top)

    seen = set()

    def walk(desc, where, parent_is_index):
        digest = desc.get("digest", "")
        algo, _, hexd = digest.partition(":")
        what = "%s -> %s" % (where, digest)
        if algo != "sha256":
            problems.append("%s: unsupported digest algorithm" % what)
            return
        data = load(os.path.join(layout, "blobs", algo, hexd), what)
        if data is None:
            return
        if len(data) != desc.get("size"):
            problems.append("%s: size %d, descriptor says %s" % (what, len(data), desc.get("size")))
        if hashlib.sha256(data).hexdigest() != hexd:
            problems.append("%s: content does not hash to its digest" % what)
        mt = desc.get("mediaType")
        if mt not in (MT_INDEX, MT_MANIFEST, MT_CONFIG) or digest in seen:
            return
        seen.add(digest)
        doc = json.loads(data)
        if doc.get("mediaType", mt) != mt:
            problems.append("%s: document mediaType %s, descriptor says %s"
                            % (what, doc.get("mediaType"), mt))
        if mt == MT_INDEX:
            validate("index", what, doc)
            for i, m in enumerate(doc.get("manifests", [])):
                walk(m, "%s manifests[%d]" % (digest[:19], i), True)
        elif mt == MT_MANIFEST:
            if parent_is_index and "platform" not in desc:
                problems.append("%s: manifest listed by an index without a platform" % what)
            validate("manifest", what, doc)
            walk(doc.get("config", {}), "%s config" % digest[:19], False)
            for i, l in enumerate(doc.get("layers", [])):
                walk(l, "%s layers[%d]" % (digest[:19], i), False)
        else:
            validate("config", what, doc)

    for i, d in enumerate(top.get("manifests", [])):
        walk(d, "index.json manifests[%d]" % i, False)
    return problems, checked


def main(argv):
    if len(argv) == 5 and argv[2] == "--doc":
        schemas = Schemas(argv[1])
        with open(argv[4]) as f:
            errs = schemas.errors(argv[3], json.load(f))
        for e in errs:
            print("BAD %s: %s" % (argv[4], e))
        if not errs:
            print("ok: %s is a valid %s" % (argv[4], argv[3]))
        return 1 if errs else 0
    if len(argv) != 3:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    problems, checked = check_layout(Schemas(argv[1]), argv[2])
    for p in problems:
        print("problem: " + p, file=sys.stderr)
    if problems:
        return 1
    print("ok: %d documents" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
