"""Scan before load: refuse a model file before any byte of it reaches the loader.

Three ways in:

- :func:`load` / :func:`safe_torch_load`: one guarded call;
- :func:`guarded`: a context manager that patches ``torch.load``, ``pickle.load``/``loads``,
  ``joblib.load``, ``numpy.load`` and ``keras.models.load_model`` for its duration;
- :func:`patch`: the same patch until ``restore()`` (e.g. at program start).

A file is refused with :class:`UnsafeModelError` when it has an unsuppressed finding at or
above ``fail_on``, and with :class:`IncompleteScanError` (a subclass) when it could not be
fully analysed, unless ``allow_incomplete=True``. The scan reads the file (or the stream,
which is then rewound); only after it passes is the loader called.

Limits: the patch replaces module attributes, so a reference taken before it
(``from torch import load``) is not guarded, nor are ``pickle.Unpickler`` objects. A path is
scanned, then opened again by the loader: the guard protects against malicious files, not
against a concurrent writer replacing the file in between.
"""

from __future__ import annotations

import functools
import importlib
import io
import os
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ._errors import IncompleteScanError, UnsafeModelError
from ._policy import Policy
from ._report import Report

__all__ = ["check", "load", "safe_torch_load", "guarded", "patch", "Patch", "LOADERS"]

#: Guardable loaders: target name → (module, attribute, name of the file argument, kind).
#: ``kind`` is ``file`` (a path or a binary file object) or ``bytes`` (``pickle.loads``).
LOADERS: Dict[str, List[Tuple[str, str, str, str]]] = {
    "torch": [("torch", "load", "f", "file")],
    "pickle": [("pickle", "load", "file", "file"), ("pickle", "loads", "data", "bytes")],
    "joblib": [("joblib", "load", "filename", "file")],
    "numpy": [("numpy", "load", "file", "file")],
    "keras": [
        ("keras.models", "load_model", "filepath", "file"),
        ("keras.saving", "load_model", "filepath", "file"),
    ],
}

_state = threading.local()


def check(
    target: Any,
    *,
    policy: Optional[Policy] = None,
    fail_on: str = "high",
    allow_incomplete: bool = False,
    name: Optional[str] = None,
) -> Report:
    """Scan ``target`` (path, bytes or binary file object, read to its end) and raise
    :class:`UnsafeModelError` / :class:`IncompleteScanError` if it must not be loaded;
    return the report otherwise."""
    from . import scan

    report = scan(target, policy=policy, fail_on=fail_on, name=name)
    _enforce(report, allow_incomplete)
    return report


def _enforce(report: Report, allow_incomplete: bool) -> None:
    blocking = report.blocking()
    where = ", ".join(f.path for f in report.files[:3]) or "(no file)"
    if blocking:
        first = blocking[0]
        more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
        raise UnsafeModelError(
            f"modelguard refused {where}: {first.severity} {first.rule}: {first.message}"
            + (f" — {first.evidence}" if first.evidence else "")
            + more,
            report,
            blocking,
        )
    if report.status != "complete" and not allow_incomplete:
        errs = [e.message for f in report.files for e in f.errors] + report.walk_errors
        detail = f": {errs[0]}" if errs else ""
        raise IncompleteScanError(
            f"modelguard refused {where}: could not be fully analysed "
            f"(status {report.status}{detail}); it is not known to be safe "
            "(allow_incomplete=True loads it anyway when nothing was found)",
            report,
        )


def _guard_file(arg: Any, opts: Dict[str, Any]) -> Any:
    """Scan a loader's file argument; return what to hand to the loader instead."""
    if isinstance(arg, (str, bytes, os.PathLike)):
        path = os.fsdecode(os.fspath(arg))
        check(path, **opts)
        return arg
    if hasattr(arg, "read"):
        seekable = bool(getattr(arg, "seekable", lambda: False)())
        pos = arg.tell() if seekable else None
        data = arg.read()
        name = os.path.basename(str(getattr(arg, "name", "") or "")) or None
        check(data, name=name, **opts)
        if pos is not None:
            arg.seek(pos)
            return arg
        # A pipe or socket: the bytes were consumed by the scan; the loader gets the same
        # bytes from memory.
        return io.BytesIO(data)
    raise TypeError(f"modelguard guard: cannot scan a {type(arg).__name__} argument")


def _guarded_call(func: Callable[..., Any], argname: str, kind: str, opts: Dict[str, Any],
                  args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    # A loader called by a guarded loader (numpy.load → pickle.load) reads bytes already
    # scanned as part of the outer file.
    if getattr(_state, "depth", 0) > 0:
        return func(*args, **kwargs)
    args_l = list(args)
    if args_l:
        value = args_l[0]
    elif argname in kwargs:
        value = kwargs[argname]
    else:
        return func(*args, **kwargs)  # the loader will raise its own TypeError
    if kind == "bytes":
        check(bytes(value), name="<bytes>.pkl", **opts)
        new = value
    else:
        new = _guard_file(value, opts)
    if args_l:
        args_l[0] = new
    else:
        kwargs[argname] = new
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        return func(*args_l, **kwargs)
    finally:
        _state.depth -= 1


def load(
    target: Any,
    loader: Optional[Callable[..., Any]] = None,
    *,
    policy: Optional[Policy] = None,
    fail_on: str = "high",
    allow_incomplete: bool = False,
    **kwargs: Any,
) -> Any:
    """Scan ``target`` (a path or binary file object), then return
    ``loader(target, **kwargs)`` (default ``torch.load``). Raises :class:`UnsafeModelError`
    (or :class:`IncompleteScanError`) without calling the loader when the file is refused.

    >>> import pickle, modelguard
    >>> obj = modelguard.load("model.pkl", loader=lambda f: pickle.load(open(f, "rb")))  # doctest: +SKIP
    """
    if loader is None:
        import torch  # type: ignore[import-not-found, unused-ignore]

        loader = torch.load
    opts = {"policy": policy, "fail_on": fail_on, "allow_incomplete": allow_incomplete}
    return _guarded_call(loader, "", "file", opts, (target,), kwargs)


def safe_torch_load(
    f: Any,
    *,
    policy: Optional[Policy] = None,
    fail_on: str = "high",
    allow_incomplete: bool = False,
    **kwargs: Any,
) -> Any:
    """``torch.load(f, **kwargs)`` after a scan of ``f`` (see :func:`load`)."""
    import torch  # type: ignore[import-not-found, unused-ignore]

    return load(
        f, torch.load, policy=policy, fail_on=fail_on, allow_incomplete=allow_incomplete,
        **kwargs,
    )


class Patch:
    """Guarded loaders installed in their modules; :meth:`restore` puts the originals back."""

    def __init__(self, targets: Sequence[str], opts: Dict[str, Any]) -> None:
        self._saved: List[Tuple[Any, str, Any]] = []
        self.patched: List[str] = []
        explicit = bool(targets)
        names = list(targets) if explicit else list(LOADERS)
        for t in names:
            if t not in LOADERS:
                raise ValueError(f"unknown loader {t!r} (one of {', '.join(LOADERS)})")
        available = set()
        for t in names:
            for modname, attr, argname, kind in LOADERS[t]:
                mod = sys.modules.get(modname)
                if mod is None and (explicit or modname == "pickle"):
                    try:
                        mod = importlib.import_module(modname)
                    except ImportError:
                        mod = None
                if mod is None:
                    continue  # not installed, or (default targets) not imported
                orig = getattr(mod, attr, None)
                if orig is None:
                    continue
                available.add(t)
                if getattr(orig, "__modelguard_original__", None) is not None:
                    continue  # already guarded by another patch
                self._saved.append((mod, attr, orig))
                setattr(mod, attr, _wrap(orig, argname, kind, opts))
                self.patched.append(f"{modname}.{attr}")
        missing = [t for t in names if explicit and t not in available]
        if missing:
            self.restore()
            raise ImportError(
                f"modelguard guard: cannot patch {', '.join(missing)}: not installed"
            )

    def restore(self) -> None:
        """Put the original loaders back (in reverse order)."""
        while self._saved:
            mod, attr, orig = self._saved.pop()
            setattr(mod, attr, orig)
        self.patched = []

    def __enter__(self) -> "Patch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.restore()


def _wrap(orig: Callable[..., Any], argname: str, kind: str,
          opts: Dict[str, Any]) -> Callable[..., Any]:
    @functools.wraps(orig)
    def guarded_loader(*args: Any, **kwargs: Any) -> Any:
        return _guarded_call(orig, argname, kind, opts, args, kwargs)

    guarded_loader.__modelguard_original__ = orig  # type: ignore[attr-defined]
    return guarded_loader


def patch(
    *targets: str,
    policy: Optional[Policy] = None,
    fail_on: str = "high",
    allow_incomplete: bool = False,
) -> Patch:
    """Guard loaders until ``restore()``: ``targets`` among ``torch``, ``pickle``, ``joblib``,
    ``numpy``, ``keras`` (each imported; ``ImportError`` if not installed). Without targets:
    ``pickle`` plus every other one whose module is already imported."""
    return Patch(targets, {"policy": policy, "fail_on": fail_on,
                           "allow_incomplete": allow_incomplete})


@contextmanager
def guarded(
    *targets: str,
    policy: Optional[Policy] = None,
    fail_on: str = "high",
    allow_incomplete: bool = False,
) -> Iterator[Patch]:
    """:func:`patch` for the duration of a ``with`` block.

    >>> with modelguard.guard.guarded("torch"):  # doctest: +SKIP
    ...     model = torch.load("model.pt")        # raises UnsafeModelError if unsafe
    """
    p = patch(*targets, policy=policy, fail_on=fail_on, allow_incomplete=allow_incomplete)
    try:
        yield p
    finally:
        p.restore()
