"""Regenerates the sample pickles of this directory (run from it: `python3 gen.py`).

Nothing here is loaded by the tests at run time except through the committed files; the
script documents how they were made. Needs only the standard library, plus joblib and numpy
for `joblib_mixed.joblib`. Python 3.11 was used.
"""
import collections
import io
import os
import pickle
import sys
import types


class Payload:
    """The classic attack: unpickling calls os.system('echo hi')."""

    def __reduce__(self):
        return (os.system, ("echo hi",))


for proto in range(6):
    with open(f"reduce_p{proto}.pkl", "wb") as f:
        pickle.dump(Payload(), f, protocol=proto)

# A value of every kind the VM models, for the opcode-count differential test.
mixed = {
    "ints": [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31, 2**63, -2**63 - 1, 2**100, -(2**200)],
    "floats": [0.0, -1.5, 1e100, float("inf")],
    "text": ["", "a", "é\n\\'\"", "x" * 300, "\U0001f600"],
    "bytes": [b"", b"\x00\xff", b"y" * 300],
    "bytearray": bytearray(b"ba"),
    "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
    "sets": [set(), {1, 2}, frozenset(), frozenset({3})],
    "consts": [None, True, False],
    "shared": None,
}
shared = [1, 2]
mixed["shared"] = [shared, shared]
for proto in range(6):
    try:
        data = pickle.dumps(mixed, protocol=proto)
    except Exception:
        continue
    with open(f"mixed_p{proto}.pkl", "wb") as f:
        f.write(data)

# A torch-like state dict without torch: fake modules with the names torch uses.
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called")


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
torch._utils = torch_utils


class FloatStorage:
    pass


FloatStorage.__module__ = "torch"
torch.FloatStorage = FloatStorage
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class Tensor:
    def __init__(self, storage, size, stride):
        self.storage, self.size, self.stride = storage, size, stride

    def __reduce_ex__(self, proto):
        return (
            _rebuild_tensor_v2,
            (self.storage, 0, self.size, self.stride, False, collections.OrderedDict()),
        )


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


state = collections.OrderedDict()
state["weight"] = Tensor(Storage("0", 4), (2, 2), (2, 1))
state["bias"] = Tensor(Storage("1", 2), (2,), (1,))
buf = io.BytesIO()
TorchPickler(buf, protocol=2).dump(state)
with open("state_dict.pkl", "wb") as f:
    f.write(buf.getvalue())

# Legacy (non-zip) torch.save layout: five pickles, then raw storage bytes.
legacy = io.BytesIO()
pickle.dump(0x1950A86A20F9469CFC6C, legacy, protocol=2)
pickle.dump(1001, legacy, protocol=2)
pickle.dump({"protocol_version": 1001, "little_endian": True,
             "type_sizes": {"short": 2, "int": 4, "long": 4}}, legacy, protocol=2)
legacy.write(buf.getvalue())
pickle.dump(["0", "1"], legacy, protocol=2)
# Raw float32 storage data: starts with bytes that are valid opcodes ('R' = REDUCE).
legacy.write(b"R" * 8 + b"\x00" * 16)
with open("legacy_torch.pt", "wb") as f:
    f.write(legacy.getvalue())

try:
    import joblib
    import numpy as np

    obj = np.empty(2, dtype=object)
    obj[0] = Payload()
    obj[1] = "x"
    joblib.dump(
        {
            "a": np.arange(6, dtype="<i2").reshape(2, 3),
            "o": obj,
            "z": np.zeros((0,), dtype="f4"),
            "u": np.array(["ab", "c"], dtype="U2"),
        },
        "joblib_mixed.joblib",
    )
except ImportError:
    print("joblib/numpy missing: joblib_mixed.joblib not regenerated", file=sys.stderr)
