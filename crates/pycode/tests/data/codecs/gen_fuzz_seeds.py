"""Seed corpus for the `codecs` fuzz target (fuzz/fuzz_targets/codecs.rs) from the
differential corpus: byte 0 picks the codec (index in CODECS below, same order as the target),
byte 1 the error handler and entry point, then the input.

Run: python3 crates/pycode/tests/data/codecs/gen_fuzz_seeds.py
"""
import gzip
import hashlib
import json
import os
import random

HERE = os.path.dirname(__file__)
OUT = os.path.join(HERE, "..", "..", "..", "..", "..", "fuzz", "corpus", "codecs")
CODECS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be",
          "utf-7", "latin-1", "ascii", "cp1252", "cp037", "charmap", "unicode_escape",
          "raw_unicode_escape", "punycode", "idna", "rot13", "hex", "base64", "zlib", "bz2", "uu",
          "quopri", "undefined", "gbk", "mac-roman", "koi8_r", "cp437", "U7", "ROT-13"]
ERRORS = ["strict", "ignore", "replace", "backslashreplace", "surrogateescape", "surrogatepass",
          "xmlcharrefreplace", "namereplace"]
OPS = {("d", "b"): 0, ("d", "s"): 1, ("e", "s"): 2, ("e", "b"): 3, ("bd", "b"): 0, ("se", "s"): 2}

records = json.load(gzip.open(os.path.join(HERE, "corpus.json.gz"), "rt"))
rng = random.Random(7)
rng.shuffle(records)
os.makedirs(OUT, exist_ok=True)
per_codec = {}
for op, codec, errors, ikind, ihex, _rk, _rv in records:
    if op == "lookup" or errors not in ERRORS:
        continue
    norm = codec.lower().replace("_", "-")
    idx = next((i for i, c in enumerate(CODECS) if c.replace("_", "-") == norm), None)
    if idx is None or per_codec.get(idx, 0) >= 12 or (op, ikind) not in OPS:
        continue
    per_codec[idx] = per_codec.get(idx, 0) + 1
    seed = bytes([idx, ERRORS.index(errors) | (OPS[(op, ikind)] << 3)]) + bytes.fromhex(ihex)
    with open(os.path.join(OUT, hashlib.sha1(seed).hexdigest()), "wb") as f:
        f.write(seed)
print(sum(per_codec.values()), "seeds")
