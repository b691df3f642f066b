"""Differential corpus for modelguard's Python codecs (crates/pycode/src/pycodecs.rs).

Runs CPython's own codecs over random and adversarial inputs and records what they return or
raise. The Rust test `crates/pycode/tests/codecs.rs` replays every record and requires the same
result (or the same exception class); "unanalysable" answers are counted, never accepted as a
pass-through.

Output: corpus.json.gz next to this script, a list of records
    [op, codec, errors, input_kind, input_hex, result_kind, result]
op: "lookup" (codecs.lookup(codec) -> module), "d" (codecs.decode), "e" (codecs.encode),
    "bd" (bytes.decode), "se" (str.encode); kinds: "b" bytes, "s" str (hex of
    s.encode('utf-8', 'surrogatepass')), "m" module name, "x" exception class.
Python 3.11.7 (the project venv). Deterministic (seeded).

Run: /work/main/.venv/bin/python crates/pycode/tests/data/codecs/gen_codec_corpus.py
"""
import bz2
import codecs
import gzip
import json
import os
import random
import sys
import warnings
import zlib
import encodings
import encodings.aliases

warnings.simplefilter("ignore")
rng = random.Random(20261206)
OUT = os.path.join(os.path.dirname(__file__), "corpus.json.gz")
records = []
N = 1000  # inputs per family


def exc_name(e):
    t = type(e)
    return t.__qualname__ if t.__module__ == "builtins" else t.__module__ + "." + t.__qualname__


def enc_val(v):
    if isinstance(v, str):
        return "s", v.encode("utf-8", "surrogatepass").hex()
    if isinstance(v, (bytes, bytearray)):
        return "b", bytes(v).hex()
    raise TypeError(type(v))


def run(op, codec, errors, value):
    kind, hexv = enc_val(value)
    try:
        if op == "d":
            r = codecs.decode(value, codec, errors)
        elif op == "e":
            r = codecs.encode(value, codec, errors)
        elif op == "f":
            r = FUNCS[codec](value)
        elif op == "bd":
            r = value.decode(codec, errors)
        else:
            r = value.encode(codec, errors)
        rk, rv = enc_val(r)
    except Exception as e:  # noqa: BLE001 - every exception class is data here
        rk, rv = "x", exc_name(e)
    records.append([op, codec, errors, kind, hexv, rk, rv])


import base64
import binascii
import quopri

FUNCS = {
    "base64.b64decode": base64.b64decode,
    "base64.standard_b64decode": base64.standard_b64decode,
    "base64.urlsafe_b64decode": base64.urlsafe_b64decode,
    "base64.decodebytes": base64.decodebytes,
    "base64.b32decode": base64.b32decode,
    "base64.b32hexdecode": base64.b32hexdecode,
    "base64.b16decode": base64.b16decode,
    "binascii.a2b_base64": binascii.a2b_base64,
    "binascii.a2b_hex": binascii.a2b_hex,
    "binascii.unhexlify": binascii.unhexlify,
    "binascii.a2b_qp": binascii.a2b_qp,
    "quopri.decodestring": quopri.decodestring,
    "builtins.bytes.fromhex": bytes.fromhex,
    "builtins.bytearray.fromhex": lambda s: bytes(bytearray.fromhex(s)),
    "zlib.decompress": zlib.decompress,
    "bz2.decompress": bz2.decompress,
}


def rand_bytes(alphabet=None, n=None):
    n = rng.randint(0, 24) if n is None else n
    if alphabet is None:
        return bytes(rng.randrange(256) for _ in range(n))
    return bytes(rng.choice(alphabet) for _ in range(n))


def rand_str(n=None, wide=True):
    n = rng.randint(0, 16) if n is None else n
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.5:
            out.append(chr(rng.randrange(32, 127)))
        elif r < 0.6:
            out.append(chr(rng.randrange(0, 256)))
        elif r < 0.75 and wide:
            out.append(chr(rng.randrange(0x100, 0x3000)))
        elif r < 0.85 and wide:
            out.append(chr(rng.randrange(0xD800, 0xE000)))  # lone surrogates
        elif r < 0.95 and wide:
            out.append(chr(rng.randrange(0x10000, 0x110000)))
        else:
            out.append(rng.choice("+-\\=&#?\n\r\t."))
    return "".join(out)


DEC_ERRORS = ["strict", "ignore", "replace", "backslashreplace", "surrogateescape",
              "surrogatepass", "xmlcharrefreplace", "namereplace"]
ENC_ERRORS = DEC_ERRORS


def utf8ish():
    parts = []
    for _ in range(rng.randint(0, 8)):
        r = rng.random()
        if r < 0.3:
            parts.append(chr(rng.randrange(0, 0x110000)).encode("utf-8", "surrogatepass"))
        elif r < 0.5:
            parts.append(bytes([rng.choice([0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x80, 0xBF])]))
        elif r < 0.7:
            parts.append(bytes([rng.choice([0x80, 0x9F, 0xA0, 0xBF, 0x8F, 0x90, 0xC0])]))
        else:
            parts.append(rand_bytes(b"abc \x00\x7f", rng.randint(0, 3)))
    return b"".join(parts)


# --- names ---------------------------------------------------------------------------------
def mutate_name(n):
    out = []
    for c in n:
        r = rng.random()
        if c == "_" and r < 0.5:
            out.append(rng.choice(["-", " ", "", "__", ".", "  -", "\t"]))
        elif r < 0.2:
            out.append(c.upper())
        else:
            out.append(c)
    s = "".join(out)
    r = rng.random()
    if r < 0.1:
        s = " " + s
    elif r < 0.2:
        s = s + "-"
    elif r < 0.25:
        s = s + "\u00e9"
    elif r < 0.3:
        s = s.replace("_", ".")
    return s


modules = sorted(set(encodings.aliases.aliases.values()))
names = list(encodings.aliases.aliases) + modules + ["aliases", "mbcs", "oem", "", "-", ".", "utf-8\u00e9", "bogus", "utf..8", "UTF8.", "x.utf_8"]
def look(n):
    try:
        ci = codecs.lookup(n)
        # The encodings module behind the CodecInfo (every stdlib codec defines its own
        # IncrementalEncoder class).
        return "m", ci.incrementalencoder.__module__.split(".", 1)[1]
    except Exception as e:  # noqa: BLE001
        return "x", exc_name(e)


def add_lookup(n):
    rk, rv = look(n)
    records.append(["lookup", n, "", "", "", rk, rv])


for n in names:
    add_lookup(n)
for _ in range(N):
    add_lookup(mutate_name(rng.choice(names)))

# --- UTF-8 / UTF-16 / UTF-32 -------------------------------------------------------------------
for _ in range(N):
    codec = rng.choice(["utf-8", "utf8", "utf-8-sig", "U8"])
    data = utf8ish()
    if codec == "utf-8-sig" and rng.random() < 0.3:
        data = b"\xef\xbb\xbf" + data
    run(rng.choice(["d", "bd"]), codec, rng.choice(DEC_ERRORS), data)
    run(rng.choice(["e", "se"]), codec, rng.choice(ENC_ERRORS), rand_str())

for fam in (["utf-16", "utf-16-le", "utf-16-be", "UTF16LE"], ["utf-32", "utf-32-le", "utf-32-be", "utf_32BE"]):
    for _ in range(N):
        codec = rng.choice(fam)
        r = rng.random()
        if r < 0.4:
            s = rand_str()
            enc = rng.choice(["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-16", "utf-32"])
            data = s.encode(enc, "surrogatepass")
            if rng.random() < 0.3 and data:
                data = data[: rng.randrange(len(data))]
        elif r < 0.6:
            data = rng.choice([b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b""]) + rand_bytes(b"\x00\xd8\xdc\xdf\xff\x41\x11\x10", rng.randint(0, 12))
        else:
            data = rand_bytes()
        run(rng.choice(["d", "bd"]), codec, rng.choice(DEC_ERRORS), data)
        run(rng.choice(["e", "se"]), codec, rng.choice(ENC_ERRORS), rand_str())

# --- UTF-7 ---------------------------------------------------------------------------------------
for _ in range(N):
    r = rng.random()
    if r < 0.4:
        data = rand_str().encode("utf-7")
        if data and rng.random() < 0.5:
            i = rng.randrange(len(data))
            data = data[:i] + bytes([rng.choice(b"+-A/z9 \x80~\\")]) + data[i + 1:]
    else:
        data = rand_bytes(b"+-AQgwB/z09 .~\\\x80\xff", rng.randint(0, 20))
    run(rng.choice(["d", "bd"]), rng.choice(["utf-7", "U7", "utf7", "unicode-1-1-utf-7"]), rng.choice(DEC_ERRORS), data)
    run(rng.choice(["e", "se"]), "utf-7", "strict", rand_str())

# --- single-byte code pages ----------------------------------------------------------------------
charmaps = [m for m in modules if m.startswith(("cp", "iso8859", "mac_", "koi8", "hp_", "tis", "ptcp", "kz", "palmos"))]
charmaps = [m for m in charmaps if m not in ("cp932", "cp949", "cp950")] + ["latin_1", "ascii", "charmap", "iso8859_1"]
for _ in range(N):
    codec = rng.choice(charmaps)
    run(rng.choice(["d", "bd"]), codec, rng.choice(DEC_ERRORS), rand_bytes())
    run(rng.choice(["e", "se"]), codec, rng.choice(ENC_ERRORS), rand_str(wide=rng.random() < 0.5))

# --- unicode_escape / raw_unicode_escape ----------------------------------------------------------
ESC = [b"\\x41", b"\\x4", b"\\xzz", b"\\u0069", b"\\u00e9", b"\\u12", b"\\U0001F600", b"\\U00110000",
       b"\\UFFFFFFFF", b"\\U0000006", b"\\n", b"\\t", b"\\\\", b"\\'", b"\\\"", b"\\a", b"\\q", b"\\",
       b"\\101", b"\\777", b"\\0", b"\\8", b"\\N{LATIN SMALL LETTER A}", b"\\N{latin small letter o}",
       b"\\N{SPACE}", b"\\N{NUL}", b"\\N{}", b"\\N{NO SUCH NAME}", b"\\N", b"\\N{BOGUS", b"\\\n",
       b"abc", b"\xe9", b"\xff", b"\\\xff", b" ", b"\\U0000DC80", b"\\ud800"]
for _ in range(N):
    data = b"".join(rng.choice(ESC) for _ in range(rng.randint(0, 5)))
    codec = rng.choice(["unicode_escape", "raw_unicode_escape", "unicode-escape", "raw-unicode-escape"])
    value = data
    if rng.random() < 0.25:
        value = data.decode("latin-1")  # str input is taken as its UTF-8 bytes
    op = rng.choice(["d", "bd"]) if isinstance(value, bytes) else "d"
    run(op, codec, rng.choice(DEC_ERRORS), value)
    run(rng.choice(["e", "se"]), codec, "strict", rand_str())

# --- punycode / idna -----------------------------------------------------------------------------
for _ in range(N):
    r = rng.random()
    if r < 0.4:
        s = rand_str(rng.randint(0, 8))
        s = "".join(c for c in s if not 0xD800 <= ord(c) < 0xE000)
        data = s.encode("punycode")
        if data and rng.random() < 0.4:
            i = rng.randrange(len(data))
            data = data[:i] + bytes([rng.choice(b"-a9z!\x80Z")]) + data[i + 1:]
    else:
        data = rand_bytes(b"abcxyzAZ09-!\x80", rng.randint(0, 14))
    value = data.decode("latin-1") if rng.random() < 0.2 else data
    run("d", "punycode", rng.choice(["strict", "replace", "ignore", "backslashreplace"]), value)
    run("e", "punycode", "strict", rng.choice([rand_str(rng.randint(0, 8)), b"", b"ab"]))
for _ in range(N):
    r = rng.random()
    if r < 0.3:
        labels = [rng.choice(["xn--", "XN--", ""]) + rand_bytes(b"abcz09-", rng.randint(0, 8)).decode() for _ in range(rng.randint(1, 3))]
        data = ".".join(labels).encode()
    elif r < 0.6:
        s = rng.choice(["abc-", "a-b-", "b", "xn--abc-", "xn--a-", "xn--", "xn--mnchen-3ya", "xn--bcher-kva", "xn--n3h"])
        data = (s + rng.choice(["", ".", ".com", ".xn--ab-"])).encode()
    else:
        data = rand_bytes(b"abc.-xn\x80", rng.randint(0, 12))
    value = data.decode("latin-1") if rng.random() < 0.15 else data
    op = rng.choice(["d", "bd"]) if isinstance(value, bytes) else "d"
    run(op, "idna", rng.choice(["strict", "strict", "strict", "ignore"]), value)
    s = rng.choice([rand_bytes(b"abc.", rng.randint(0, 70)).decode(), "a" * 64, "a..b", "", "ab.", "m\u00fcnchen"])
    run(rng.choice(["e", "se"]), "idna", "strict", s)

# --- rot13 ---------------------------------------------------------------------------------------
for _ in range(N):
    value = rand_str() if rng.random() < 0.85 else rand_bytes()
    run(rng.choice(["d", "e"]), rng.choice(["rot13", "rot_13", "ROT-13"]), rng.choice(["strict", "bogus"]), value)
    if rng.random() < 0.05:
        run("bd", "rot13", "strict", rand_bytes())

# --- hex / base64 ---------------------------------------------------------------------------------
for _ in range(N):
    r = rng.random()
    data = rand_bytes(b"0123456789abcdefABCDEF", rng.randint(0, 16)) if r < 0.7 else rand_bytes(b"0a f\n\x80g", rng.randint(0, 8))
    value = data.decode("latin-1") if rng.random() < 0.3 else data
    run("d", rng.choice(["hex", "hex_codec", "HEX"]), "strict" if rng.random() < 0.9 else "ignore", value)
    run("e", "hex", "strict", rand_bytes() if rng.random() < 0.9 else rand_str())
for _ in range(N):
    r = rng.random()
    if r < 0.5:
        data = codecs.encode(rand_bytes(), "base64")
        if data and rng.random() < 0.5:
            i = rng.randrange(len(data))
            data = data[:i] + bytes([rng.choice(b"=A\n-_!")]) + data[i + 1:]
    else:
        data = rand_bytes(b"ABab09+/=\n-_ !", rng.randint(0, 20))
    value = data.decode("latin-1") if rng.random() < 0.1 else data
    run("d", rng.choice(["base64", "base64_codec", "base_64"]), "strict" if rng.random() < 0.95 else "replace", value)
    run("e", "base64", "strict", rand_bytes(n=rng.randint(0, 70)) if rng.random() < 0.95 else rand_str())

# --- zlib / bz2 ---------------------------------------------------------------------------------
for _ in range(N):
    payload = rand_bytes(n=rng.randint(0, 30))
    data = zlib.compress(payload, rng.choice([0, 1, 6, 9]))
    r = rng.random()
    if r < 0.2:
        data = data[: rng.randrange(len(data) + 1)]
    elif r < 0.4:
        i = rng.randrange(len(data))
        data = data[:i] + bytes([rng.randrange(256)]) + data[i + 1:]
    elif r < 0.5:
        data = data + rand_bytes()
    elif r < 0.55:
        data = rand_bytes()
    value = data if rng.random() < 0.97 else data.decode("latin-1")
    run("d", rng.choice(["zlib", "zip", "zlib_codec"]), "strict", value)
    if rng.random() < 0.3:
        run("e", "zlib", "strict", rng.choice([rand_bytes(n=rng.randint(0, 40)), payload * rng.randint(1, 6)]))
for _ in range(N):
    payload = rand_bytes(n=rng.randint(0, 30))
    data = bz2.compress(payload, rng.choice([1, 9]))
    r = rng.random()
    if r < 0.2:
        data = data[: rng.randrange(len(data) + 1)]
    elif r < 0.35:
        i = rng.randrange(len(data))
        data = data[:i] + bytes([rng.randrange(256)]) + data[i + 1:]
    elif r < 0.5:
        data = data + rand_bytes()
    elif r < 0.6:
        data = data + bz2.compress(rand_bytes())
    elif r < 0.65:
        data = rand_bytes()
    value = data if rng.random() < 0.97 else data.decode("latin-1")
    run("d", rng.choice(["bz2", "bz2_codec"]), "strict", value)
    if rng.random() < 0.3:
        run("e", "bz2", "strict", rand_bytes(n=rng.randint(0, 40)))

# --- uu / quopri ---------------------------------------------------------------------------------
for _ in range(N):
    r = rng.random()
    if r < 0.5:
        data = codecs.encode(rand_bytes(n=rng.randint(0, 60)), "uu")
        if rng.random() < 0.6:
            i = rng.randrange(len(data))
            data = data[:i] + bytes([rng.choice(b" `\n\r!a~\x7f")]) + data[i + 1:]
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data) + 1)]
    else:
        data = b"begin 644 x\n" + rand_bytes(b" !\"#$%&`\n\rabc~", rng.randint(0, 30)) + rng.choice([b"\nend\n", b"end\n", b"", b"\nend\r\n"])
    run("d", rng.choice(["uu", "uu_codec"]), "strict", data)
    run("e", "uu", "strict", rand_bytes(n=rng.randint(0, 60)))
for _ in range(N):
    data = rand_bytes(b"=AF09af\r\n \tz_", rng.randint(0, 20))
    run("d", rng.choice(["quopri", "quotedprintable", "quoted_printable", "quopri_codec"]), "strict", data)
    r = rng.random()
    if r < 0.4:
        plain = rand_bytes(b"ab =.\t\r\n\x00\xff_", rng.randint(0, 40))
    elif r < 0.7:
        plain = rand_bytes(b"abcdefgh ", rng.randint(60, 110))
    else:
        plain = rand_bytes(n=rng.randint(0, 40))
    run("e", "quopri", "strict", plain)

# --- decoding functions of base64/binascii/quopri/zlib/bz2 and bytes.fromhex ------------------
def func_input(f):
    r = rng.random()
    payload = rand_bytes(n=rng.randint(0, 30))
    if f.startswith("base64.b32"):
        enc = base64.b32encode(payload) if f == "base64.b32decode" else base64.b32hexencode(payload)
        alpha = b"AZ27=09aV \n"
    elif f == "base64.b16decode":
        enc = base64.b16encode(payload)
        alpha = b"09AFaf g"
    elif "hex" in f:
        enc = payload.hex().encode()
        alpha = b"09afAF \t\ng"
    elif "qp" in f or "quopri" in f:
        enc = quopri.encodestring(payload)
        alpha = b"=AF09af\r\n _"
    elif f == "zlib.decompress":
        enc = zlib.compress(payload)
        alpha = b"x\x9c\x00"
    elif f == "bz2.decompress":
        enc = bz2.compress(payload)
        alpha = b"BZh9"
    else:
        enc = base64.b64encode(payload) if "urlsafe" not in f else base64.urlsafe_b64encode(payload)
        alpha = b"ABab09+/=\n-_ !"
    if r < 0.4:
        data = enc
    elif r < 0.7 and enc:
        i = rng.randrange(len(enc))
        data = enc[:i] + bytes([rng.choice(alpha)]) + enc[i + 1:]
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data) + 1)]
    else:
        data = rand_bytes(alpha, rng.randint(0, 24))
    if f.endswith("fromhex") or rng.random() < 0.2:
        return data.decode("latin-1") if rng.random() < 0.95 else data.decode("latin-1") + "\u0100"
    return data


for f in FUNCS:
    for _ in range(N // 2 if ("b32" in f or "qp" in f or "quopri" in f) else N // 4):
        run("f", f, "", func_input(f))

# --- misc: non-strict errors for bytes codecs, str inputs, undefined ------------------------------
for codec in ["hex", "base64", "zlib", "bz2", "uu", "quopri", "undefined", "rot13", "utf-8", "latin-1", "idna", "punycode"]:
    for value in [b"", "", b"6869", "6869", "\udc80"]:
        for errors in ["strict", "ignore"]:
            for op in ["d", "e"]:
                run(op, codec, errors, value)

with gzip.open(OUT, "wt", encoding="ascii", compresslevel=9) as f:
    json.dump(records, f, separators=(",", ":"))
print(len(records), "records ->", OUT, os.path.getsize(OUT), "bytes", file=sys.stderr)
