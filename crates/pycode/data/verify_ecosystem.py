#!/usr/bin/env python3
"""Differential check of ecosystem.tsv against pickle's own find_class.

Samples spellings from the table (re-exports, module aliases, class attributes, and dotted
paths through a module alias such as `sklearn.base` + `np.load`), asks
`pickle.Unpickler.find_class` (protocol 4, which walks dots like `pickle._getattribute`) what
each one really is in the pinned environment, and writes the answers to
../tests/data/ecosystem_find_class.tsv (module, name, real target). The Rust test `ecosystem_find_class` checks that
`ecosystem::resolve` names the same real target for every sample. Prints the agreement.

    .venv/bin/python crates/pycode/data/verify_ecosystem.py [--n 3000]
"""
import argparse
import os
import pickle
import random
import sys
import types
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "ecosystem.tsv")
OUT = os.path.join(HERE, "..", "tests", "data", "ecosystem_find_class.tsv")

sys.path.insert(0, HERE)
from gen_ecosystem import real_name  # noqa: E402 - the generator's own notion of "real"


def find_class(module, name):
    """What CPython's unpickler returns for a protocol-4 STACK_GLOBAL of this spelling."""
    def su(text):
        raw = text.encode()
        if len(raw) > 255:
            raise ValueError("long name")
        return b"\x8c" + bytes([len(raw)]) + raw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pickle.loads(b"\x80\x04" + su(module) + su(name) + b"\x93.")


def same_object(obj, target):
    """Whether the table's target names `obj` itself in this process."""
    try:
        if ":" in target:
            module, name = target.split(":", 1)
            return find_class(module, name) is obj
        return sys.modules.get(target) is obj or __import__("importlib").import_module(target) is obj
    except BaseException:  # noqa: BLE001
        return False


def describe(obj):
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    rn = real_name(obj)
    return f"{rn[0]}:{rn[1]}" if rn else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    rows = []
    with open(TABLE) as f:
        for line in f:
            if line.startswith("#"):
                continue
            key, kind, target, _flags = line.rstrip("\n").split("\t")
            # Patched or aliased at import time by other modules (setuptools and
            # numpy.distutils patch distutils; torch's deprecated _shard.checkpoint registers
            # its names under torch.distributed.checkpoint): what they hold depends on what
            # was imported before, in any process.
            if key.startswith(("distutils", "setuptools", "_distutils_hack",
                               "torch.distributed.checkpoint", "torch.distributed._shard")):
                continue
            if ":" in key and kind in ("m", "c", "f", "p") and target not in ("=", "?", "-"):
                rows.append((key, kind, target))
    rng = random.Random(args.seed)
    sample = rng.sample(rows, min(args.n, len(rows)))
    # Dotted paths through module aliases into a flagged record of the target module.
    flagged = {}
    with open(TABLE) as f:
        for line in f:
            if line.startswith("#"):
                continue
            key, kind, target, flags = line.rstrip("\n").split("\t")
            if ":" in key and flags and kind in ("f", "c"):
                flagged.setdefault(key.split(":")[0], []).append(key.split(":", 1)[1])
    aliases = [r for r in rows if r[1] == "m" and r[2] in flagged]
    for key, _, target in rng.sample(aliases, min(args.n // 3, len(aliases))):
        mod, attr = key.split(":", 1)
        sample.append((f"{mod}:{attr}.{rng.choice(flagged[target])}", "dotted", None))
    out, agree, failed = [], 0, 0
    for key, kind, target in sample:
        module, name = key.split(":", 1)
        try:
            obj = find_class(module, name)
        except BaseException:  # noqa: BLE001 - not loadable here: nothing to compare
            failed += 1
            continue
        real = describe(obj)
        if real is None:
            failed += 1
            continue
        # The same object can carry two labels in two processes (a module that reassigns a
        # function's __module__ when imported, sys.modules aliases registered on import):
        # what must agree is the object, so a differing label is checked by identity.
        if target is not None and real != target and same_object(obj, target):
            real = target
        out.append({"module": module, "name": name, "real": real})
        if target is None or real == target:
            agree += 1
        else:
            print(f"differs: {key}: table {target}, find_class {real}", file=sys.stderr)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("# generated by crates/pycode/data/verify_ecosystem.py: module, name, what\n"
                "# CPython's unpickler returns for that STACK_GLOBAL (real module:qualname)\n")
        for e in sorted(out, key=lambda e: (e["module"], e["name"])):
            f.write(f"{e['module']}\t{e['name']}\t{e['real']}\n")
    table_rows = sum(1 for e in sample if e[2] is not None)
    print(f"sampled {len(sample)} spellings: {len(out)} resolved by find_class, "
          f"{failed} not loadable here; table target == find_class for {agree} of "
          f"{len(out)} ({table_rows} table rows, {len(sample) - table_rows} dotted paths)")


if __name__ == "__main__":
    main()
