"""Generate the test fixtures in this directory with a real CPython (3.11 here).

    python3 gen_test_data.py

Writes:
- *.marshal: marshal.dumps(code) of small functions (benign and malicious);
- lambda_mul.pyc: a .pyc (header + marshal) of a benign module;
- *.py: obfuscated payload sources whose inner layers were produced by base64/zlib/bz2/
  lzma/gzip/codecs, so the Rust decoders are checked against Python's encoders.
The malicious samples only call `os.system('id')`-style commands and are never executed.
"""
import base64
import bz2
import codecs
import gzip
import importlib.util
import lzma
import marshal
import os
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
VER = "%d%d" % sys.version_info[:2]


def write(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(HERE, name), mode) as f:
        f.write(data)


def code_of(src, name):
    ns = {}
    exec(compile(src, "<fixture>", "exec"), ns)
    return ns[name].__code__


# --- marshalled code objects ------------------------------------------------------------
fixtures = {
    "lambda_mul": ("f = lambda x: x * 2", "f"),
    "keras_reduce_mean": ("f = lambda x: tf.reduce_mean(x, axis=1) + K.sum(x)", "f"),
    "os_system": ("def f(cmd):\n    import os\n    return os.system('id')\n", "f"),
    "import_concat": (
        "def f():\n"
        "    o = 'o'\n"
        "    s = 's'\n"
        "    m = __import__(o + s)\n"
        "    return getattr(m, 'sy' + s + 'tem')('id')\n",
        "f",
    ),
    "nested": (
        "def outer():\n"
        "    def inner(args):\n"
        "        import subprocess\n"
        "        return subprocess.check_output(args)\n"
        "    return inner\n",
        "outer",
    ),
    "subclasses": ("f = lambda: ().__class__.__base__.__subclasses__()", "f"),
    "exec_b64": (
        "import base64\n"
        "def f():\n"
        "    exec(base64.b64decode(%r))\n"
        % base64.b64encode(b"import os; os.system('id')").decode(),
        "f",
    ),
    "from_import_alias": (
        "def f():\n    from os import system as s\n    s('id')\n",
        "f",
    ),
    "benign_math": (
        "import math\n"
        "def f(x, y=2):\n"
        "    z = [v * y for v in range(3)]\n"
        "    return math.sqrt(abs(x)) + len(z) + max(z) if x else min(1, 2)\n",
        "f",
    ),
}
for name, (src, fn) in fixtures.items():
    write(f"{name}.py{VER}.marshal", marshal.dumps(code_of(src, fn)))

module_src = "import os\nos.system('id')\n"
write(f"module_os.py{VER}.marshal", marshal.dumps(compile(module_src, "<m>", "exec")))

# A .pyc: header (magic, flags, mtime, size) + marshal data.
pyc = importlib.util.MAGIC_NUMBER + b"\x00" * 12 + marshal.dumps(compile("x = 1 + 2\n", "<m>", "exec"))
write(f"benign.py{VER}.pyc", pyc)

# --- decoding layers ----------------------------------------------------------------------
inner = b"import os; os.system('id')"
layers = {
    "layer_b64.py": "import base64\nexec(base64.b64decode(%r))\n" % base64.b64encode(inner).decode(),
    "layer_zlib_b64.py": "import base64, zlib\nexec(zlib.decompress(base64.b64decode(%r)))\n"
    % base64.b64encode(zlib.compress(inner)).decode(),
    "layer_bz2_b85.py": "import base64, bz2\nexec(bz2.decompress(base64.b85decode(%r)))\n"
    % base64.b85encode(bz2.compress(inner)).decode(),
    "layer_lzma_b32.py": "import base64, lzma\nexec(lzma.decompress(base64.b32decode(%r)))\n"
    % base64.b32encode(lzma.compress(inner)).decode(),
    "layer_lzma_alone_a85.py": "import base64, lzma\nexec(lzma.decompress(base64.a85decode(%r)))\n"
    % base64.a85encode(lzma.compress(inner, format=lzma.FORMAT_ALONE)).decode(),
    "layer_gzip_hex.py": "import gzip\nexec(gzip.decompress(bytes.fromhex(%r)))\n"
    % gzip.compress(inner, mtime=0).hex(),
    "layer_rot13.py": "import codecs\nexec(codecs.decode(%r, 'rot13'))\n"
    % codecs.encode(inner.decode(), "rot13"),
    "layer_codecs_b64_zlib.py": "import codecs\nexec(codecs.decode(codecs.decode(%r, 'base64'), 'zlib'))\n"
    % base64.b64encode(zlib.compress(inner)),
    "layer_reversed_b64.py": "import base64\nexec(base64.b64decode(%r[::-1]))\n"
    % base64.b64encode(inner).decode()[::-1],
    "layer_unhexlify_unicode_escape.py": "import binascii, codecs\nexec(codecs.decode(binascii.unhexlify(%r), 'unicode_escape'))\n"
    % "".join("\\x%02x" % c for c in inner).encode().hex(),
    "layer_marshal.py": "import marshal, base64\nexec(marshal.loads(base64.b64decode(%r)))\n"
    % base64.b64encode(marshal.dumps(compile(inner, "<p>", "exec"))).decode(),
    "layer_pickle.py": "import pickle, base64\npickle.loads(base64.b64decode(%r))\n"
    % base64.b64encode(b"cos\nsystem\n(S'id'\ntR.").decode(),
}
for name, src in layers.items():
    compile(src, name, "exec")  # must be valid Python
    write(name, src)
print("ok", VER)
