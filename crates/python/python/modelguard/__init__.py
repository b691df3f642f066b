"""modelguard: a security scanner for machine-learning model files.

Model files are code: pickles (and PyTorch, NumPy object arrays, joblib built on them) run
functions when loaded. modelguard rebuilds what a file would do when loaded, without
executing anything, and gives a verdict with evidence. This package is the Rust scanner
(the same code as the ``modelguard`` command) behind a Python API:

>>> import modelguard
>>> report = modelguard.scan("examples/")              # doctest: +SKIP
>>> report.verdict, [f.rule for f in report.findings]  # doctest: +SKIP

- :func:`scan`: files, directories, bytes or binary file objects → :class:`Report`;
- :mod:`modelguard.guard`: scan before ``torch.load``/``pickle.load``/``joblib.load``/
  ``numpy.load``/``keras.models.load_model`` and refuse unsafe files
  (:class:`UnsafeModelError`) before the loader sees a byte;
- :func:`scan_repo`: scan a Hugging Face Hub repository by range reads, before download;
- :class:`Policy`: what ``modelguard.toml`` holds.

See docs/python.md.
"""

from __future__ import annotations

import errno
import io
import os
from typing import Any, BinaryIO, Optional, Sequence, Union

from . import _native
from ._errors import (
    ArgumentError,
    HubError,
    IncompleteScanError,
    ModelguardError,
    PolicyError,
    UnsafeModelError,
)
from ._policy import Ignore, Policy, _native_args
from ._report import (
    SEVERITIES,
    FileReport,
    Finding,
    Import,
    Location,
    Member,
    Report,
    ScanErrorInfo,
)
from ._hub import RepoFile, RepoReport, scan_repo

__version__: str = _native.version()

__all__ = [
    "scan",
    "scan_repo",
    "load",
    "safe_torch_load",
    "Report",
    "FileReport",
    "Finding",
    "Location",
    "Member",
    "Import",
    "ScanErrorInfo",
    "RepoReport",
    "RepoFile",
    "Policy",
    "Ignore",
    "SEVERITIES",
    "ModelguardError",
    "ArgumentError",
    "PolicyError",
    "HubError",
    "UnsafeModelError",
    "IncompleteScanError",
]

PathLike = Union[str, "os.PathLike[str]"]
Target = Union[PathLike, bytes, bytearray, memoryview, BinaryIO, Sequence[PathLike]]


def scan(
    target: Target,
    *,
    policy: Optional[Policy] = None,
    fail_on: str = "high",
    name: Optional[str] = None,
    exclude: Sequence[str] = (),
    hash: str = "auto",
    jobs: Optional[int] = None,
) -> Report:
    """Scan a file, a directory (recursively, in parallel), several paths, bytes, or a binary
    file object, and return the :class:`Report`.

    - ``policy``: a :class:`Policy` (default: the built-in policy only; unlike the CLI, no
      ``modelguard.toml`` is looked up implicitly: pass ``Policy.discover()`` for that);
    - ``fail_on``: lowest severity that makes ``report.exit_code`` 1 / ``report.failed``;
    - ``name``: the report's path for bytes and file objects (also the extension hint);
    - ``exclude``: globs of paths not to scan (``--exclude``);
    - ``hash``: ``auto`` (files up to 256 MiB), ``always`` or ``never``;
    - ``jobs``: worker threads (default: one per core).

    The GIL is released while scanning. A file object is read from its current position to
    its end into memory (scan a path to get positional reads of large files).

    >>> modelguard.scan(b"cos\\nsystem\\n(S'echo hi'\\ntR.", name="x.pkl").verdict  # doctest: +SKIP
    'malicious'
    """
    args = _native_args(policy)
    if isinstance(target, (bytes, bytearray, memoryview)):
        raw, walk_errors, code = _native.scan_bytes(
            name or "<bytes>", bytes(target), hash=hash, fail_on=fail_on, **args
        )
    elif isinstance(target, (str, os.PathLike)) or (
        isinstance(target, (list, tuple)) and all(isinstance(t, (str, os.PathLike)) for t in target)
    ):
        items = [target] if isinstance(target, (str, os.PathLike)) else list(target)
        paths = [os.fsdecode(os.fspath(t)) for t in items]
        if not paths:
            raise ArgumentError("scan: no path given")
        for p in paths:
            if not os.path.lexists(p):
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", p)
        raw, walk_errors, code = _native.scan_paths(
            paths, exclude=list(exclude), hash=hash, fail_on=fail_on, jobs=jobs, **args
        )
    elif hasattr(target, "read"):
        data = target.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("scan: the file object must be opened in binary mode ('rb')")
        fname = name or os.path.basename(str(getattr(target, "name", "") or "")) or "<stream>"
        raw, walk_errors, code = _native.scan_bytes(
            fname, bytes(data), hash=hash, fail_on=fail_on, **args
        )
    else:
        raise TypeError(
            "scan: expected a path, a list of paths, bytes or a binary file object, "
            f"not {type(target).__name__}"
        )
    return Report(raw, walk_errors, code, fail_on)


def load(target: Any, loader: Any = None, **kwargs: Any) -> Any:
    """Scan ``target`` then, only if it is safe, ``loader(target, **kwargs)`` (default
    ``torch.load``). See :func:`modelguard.guard.load`."""
    from .guard import load as _load

    return _load(target, loader, **kwargs)


def safe_torch_load(f: Any, **kwargs: Any) -> Any:
    """``torch.load`` behind the guard. See :func:`modelguard.guard.safe_torch_load`."""
    from .guard import safe_torch_load as _stl

    return _stl(f, **kwargs)
