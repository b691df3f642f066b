"""Differential oracle for tests/oracle.rs: what CPython's own tools say about a stream.

Usage:
  python3 oracle.py FILE [MAX_PICKLES] [--repr]
    Line 1: the opcode count of each pickle in the stream (pickletools.genops), separated by
    spaces. Stops after MAX_PICKLES pickles (default 64), at the end of the data, or when the
    next byte is not an opcode (trailing bytes).
    Line 2 (with --repr): repr() of the first pickle's object as pickle.loads builds it. Only
    use this on trusted samples: it really unpickles.
  python3 oracle.py FILE --events
    Loads the first pickle with the C unpickler over io.BytesIO, the pure-Python unpickler and
    the C unpickler over one buffer holding everything (as pickle.loads reads), with find_class and
    persistent_load replaced so that nothing is imported or run: every global is a harmless
    class that counts its invocations (construction, call, append/extend, __setitem__, add).
    Prints one line per unpickler: ok|error, the event count, then the (module, name) pairs
    passed to find_class, tab-separated as `module|name`.
"""
import io
import pickle
import pickletools
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
path = args[0]
data = open(path, "rb").read()

if "--events" in sys.argv:
    events = [0]

    class Anything:
        def __new__(cls, *a, **k):
            events[0] += 1
            return object.__new__(cls)

        def __init__(self, *a, **k):
            pass

        def __setstate__(self, state):
            pass

        def __call__(self, *a, **k):
            events[0] += 1
            return object.__new__(Anything)

        def append(self, x):
            events[0] += 1

        def extend(self, x):
            events[0] += 1

        def __setitem__(self, k, v):
            events[0] += 1

        def add(self, x):
            events[0] += 1

    # C reading io.BytesIO (frames read() into its buffer), pure Python, C over memory
    # (pickle.loads: no file, frames do not matter). They differ on reads crossing a frame end.
    for impl, memory in ((pickle.Unpickler, False), (pickle._Unpickler, False), (pickle.Unpickler, True)):
        imports = []

        class U(impl):
            def find_class(self, module, name):
                imports.append(f"{module}|{name}")
                return Anything

            def persistent_load(self, pid):
                return object.__new__(Anything)

        events[0] = 0
        try:
            if memory:
                # A peekable file holding all the data in its buffer: the C unpickler reads it
                # as pickle.loads reads memory (one buffer, frames do not matter).
                f = io.BufferedReader(io.BytesIO(data), buffer_size=max(len(data), 1) + 1)
                U(f, buffers=[b"x"] * 8).load()
            else:
                U(io.BytesIO(data), buffers=[b"x"] * 8).load()
            status = "ok"
        except Exception:
            status = "error"
        clean = [i.replace("\n", "\\n").replace("\t", "\\t") for i in imports]
        print("\t".join([status, str(events[0])] + clean))
    sys.exit(0)

limit = int(args[1]) if len(args) > 1 else 64
codes = {op.code.encode("latin-1") for op in pickletools.opcodes}
f = io.BytesIO(data)
counts = []
while f.tell() < len(data) and len(counts) < limit:
    if data[f.tell():f.tell() + 1] not in codes:
        break
    counts.append(sum(1 for _ in pickletools.genops(f)))
print(" ".join(map(str, counts)))
if "--repr" in sys.argv:
    print(repr(pickle.loads(data)))
