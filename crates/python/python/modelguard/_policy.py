"""Policy objects: the contents of a ``modelguard.toml`` (docs/policy.md) as Python values.

Validated by the same code that validates the policy file: unknown rule IDs, invalid globs
and unknown limit names raise :class:`~modelguard.PolicyError` at construction.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _native

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Ignore:
    """``[[ignore]]``: suppress ``rules`` (IDs, ``MG-PKL-*`` prefixes or ``*``) for files whose
    path matches the glob ``path`` (relative to the policy's ``root``)."""

    path: str
    rules: Sequence[str] = ("*",)
    reason: Optional[str] = None

    def _to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"path": self.path, "rules": list(self.rules)}
        if self.reason is not None:
            d["reason"] = self.reason
        return d


@dataclass(frozen=True)
class Policy:
    """What ``modelguard.toml`` holds.

    >>> Policy(allow=["mypkg.*"], severity={"MG-PKL-UNKNOWN": "medium"})  # doctest: +SKIP

    - ``strict``: unknown globals are suspicious (medium) however they are used;
    - ``allow``: extra globals treated as known-safe (``module:qualname``, ``module:*``,
      ``package.*``); findings they silence are reported as suppressed;
    - ``disable``: rules suppressed everywhere; ``severity``: per-rule severity overrides;
    - ``ignore``: per-path suppressions (:class:`Ignore`);
    - ``limits``: fields of the scanner's limits (``{"max_depth": 4}``);
    - ``root``: the directory ``ignore`` globs are relative to (a policy file's directory).
    """

    strict: bool = False
    allow: Sequence[str] = ()
    disable: Sequence[str] = ()
    severity: Dict[str, str] = field(default_factory=dict)
    ignore: Sequence[Ignore] = ()
    limits: Dict[str, Any] = field(default_factory=dict)
    root: Optional[str] = None
    #: The policy file it was read from, if any (never reported as policy-in-content).
    source: Optional[str] = None

    def __post_init__(self) -> None:
        if isinstance(self.allow, str) or isinstance(self.disable, str):
            raise TypeError("allow and disable are lists of strings, not a string")
        _native.check_policy(self._json())

    def _to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {}
        if self.strict:
            d["strict"] = True
        if self.allow:
            d["allow"] = {"globals": list(self.allow)}
        rules: Dict[str, Any] = {}
        if self.disable:
            rules["disable"] = list(self.disable)
        if self.severity:
            rules["severity"] = dict(self.severity)
        if rules:
            d["rules"] = rules
        if self.ignore:
            d["ignore"] = [
                (i if isinstance(i, Ignore) else Ignore(**i))._to_dict() for i in self.ignore
            ]
        if self.limits:
            d["limits"] = dict(self.limits)
        return d

    def _json(self) -> str:
        return json.dumps(self._to_dict())

    def to_toml_dict(self) -> Dict[str, Any]:
        """The ``modelguard.toml`` structure this policy mirrors."""
        return self._to_dict()

    @classmethod
    def from_toml(cls, text: str, root: Optional[PathLike] = None) -> "Policy":
        """Parse the text of a ``modelguard.toml``."""
        d = json.loads(_native.policy_from_toml(text))
        rules = d.get("rules", {})
        return cls(
            strict=bool(d.get("strict", False)),
            allow=tuple(d.get("allow", {}).get("globals", ())),
            disable=tuple(rules.get("disable", ())),
            severity=dict(rules.get("severity", {})),
            ignore=tuple(
                Ignore(i["path"], tuple(i.get("rules", ("*",))), i.get("reason"))
                for i in d.get("ignore", ())
            ),
            limits=dict(d.get("limits", {})),
            root=os.fspath(root) if root is not None else None,
        )

    @classmethod
    def load(cls, path: PathLike) -> "Policy":
        """Read a policy file; ``ignore`` globs are relative to its directory."""
        path = os.fspath(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            p = cls.from_toml(text, root=os.path.dirname(os.path.abspath(path)))
        except Exception as e:  # PolicyError: name the file like the CLI does
            if type(e).__name__ == "PolicyError":
                raise type(e)(f"{path}: {e}") from None
            raise
        return _replace(p, source=path)

    @classmethod
    def discover(cls, start: Optional[PathLike] = None) -> "Optional[Policy]":
        """The nearest ``modelguard.toml`` in ``start`` (default: the working directory) or a
        parent, as the CLI finds it; ``None`` when there is none."""
        d = os.path.abspath(os.fspath(start) if start is not None else os.getcwd())
        while True:
            p = os.path.join(d, "modelguard.toml")
            if os.path.isfile(p):
                return cls.load(p)
            parent = os.path.dirname(d)
            if parent == d:
                return None
            d = parent


def _replace(p: Policy, **kw: Any) -> Policy:
    from dataclasses import replace

    return replace(p, **kw)


def _native_args(policy: "Optional[Policy]") -> Dict[str, Any]:
    """Keyword arguments of the native scan functions for ``policy``."""
    if policy is None:
        return {}
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a modelguard.Policy or None, not {type(policy).__name__}")
    return {"policy": policy._json(), "root": policy.root, "source": policy.source}
