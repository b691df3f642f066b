"""Typed report objects, built from the report model the Rust scanner writes
(``docs/report.md``, schema ``modelguard.report/1``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from . import _native

#: Severities, least to most severe.
SEVERITIES = ("info", "low", "medium", "high", "critical")
_VERDICT_ORDER = ("safe", "unknown", "suspicious", "malicious")
_STATUS_ORDER = ("complete", "incomplete", "error")


def severity_rank(severity: str) -> int:
    """Position of ``severity`` in :data:`SEVERITIES` (``ValueError`` when unknown)."""
    try:
        return SEVERITIES.index(severity.lower())
    except ValueError:
        raise ValueError(
            f"unknown severity {severity!r} (info, low, medium, high, critical)"
        ) from None


@dataclass(frozen=True)
class Location:
    """Where a finding was seen: ``member`` inside containers (``!``-separated), byte
    ``offset``, pickle ``opcode`` index. All optional."""

    member: Optional[str] = None
    offset: Optional[int] = None
    opcode: Optional[int] = None

    @classmethod
    def _from(cls, d: Optional[Dict[str, Any]]) -> "Location":
        d = d or {}
        return cls(d.get("member"), d.get("offset"), d.get("opcode"))

    def __str__(self) -> str:
        parts = []
        if self.member is not None:
            parts.append(self.member)
        if self.offset is not None:
            parts.append(f"@{self.offset}")
        if self.opcode is not None:
            parts.append(f"op {self.opcode}")
        return " ".join(parts)


@dataclass(frozen=True)
class Finding:
    """One thing a rule found. ``rule`` is a stable ID (``modelguard explain RULE``)."""

    rule: str
    severity: str
    message: str
    evidence: Optional[str]
    location: Location
    #: The reason, when the policy suppressed it (suppressed findings never fail a scan).
    suppressed: Optional[str] = None
    #: The file it was found in.
    path: str = ""

    @classmethod
    def _from(cls, d: Dict[str, Any], path: str) -> "Finding":
        return cls(
            rule=d["rule"],
            severity=d["severity"],
            message=d["message"],
            evidence=d.get("evidence"),
            location=Location._from(d.get("location")),
            suppressed=d.get("suppressed"),
            path=path,
        )

    def __str__(self) -> str:
        where = f" [{self.location}]" if str(self.location) else ""
        ev = f": {self.evidence}" if self.evidence else ""
        return f"{self.path}{where}: {self.severity} {self.rule} {self.message}{ev}"


@dataclass(frozen=True)
class ScanErrorInfo:
    """Something that stopped (part of) the analysis of a file."""

    kind: str
    message: str
    location: Location


@dataclass(frozen=True)
class Member:
    """A member analysed inside a container."""

    path: str
    format: str
    size: int


@dataclass(frozen=True)
class Import:
    """A global a pickle imports, judged ``innocuous``, ``suspicious`` or ``dangerous``."""

    module: str
    name: str
    safety: str


@dataclass(frozen=True)
class FileReport:
    """The result for one file."""

    path: str
    sha256: Optional[str]
    size: int
    format: str
    #: ``complete``, ``incomplete`` or ``error``; only ``complete`` can be ``safe``.
    status: str
    #: ``malicious``, ``suspicious``, ``safe`` or ``unknown``.
    verdict: str
    findings: List[Finding]
    errors: List[ScanErrorInfo]
    members: List[Member]
    imports: List[Import]

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "FileReport":
        path = d["path"]
        return cls(
            path=path,
            sha256=d.get("sha256"),
            size=d["size"],
            format=d["format"],
            status=d["status"],
            verdict=d["verdict"],
            findings=[Finding._from(f, path) for f in d.get("findings", [])],
            errors=[
                ScanErrorInfo(e["kind"], e["message"], Location._from(e.get("location")))
                for e in d.get("errors", [])
            ],
            members=[Member(m["path"], m["format"], m["size"]) for m in d.get("members", [])],
            imports=[Import(i["module"], i["name"], i["safety"]) for i in d.get("imports", [])],
        )

    @property
    def max_severity(self) -> Optional[str]:
        """Highest severity among unsuppressed findings."""
        sev = [f.severity for f in self.findings if f.suppressed is None]
        return max(sev, key=severity_rank) if sev else None


class Report:
    """The result of a scan: one :class:`FileReport` per file (``files``), in report order.

    ``verdict`` and ``status`` are the worst over the files; ``findings`` lists every
    file's findings (each knows its ``path``). ``exit_code`` is the CLI's for the same scan
    (0 clean, 1 a finding at or above ``fail_on``, 2 an error or incompletely analysed file).
    ``str(report)`` is the CLI's text output; :meth:`to_json` and :meth:`to_sarif` its JSON
    and SARIF.
    """

    def __init__(
        self,
        raw: str,
        walk_errors: Optional[List[str]] = None,
        exit_code: int = 0,
        fail_on: str = "high",
    ) -> None:
        self._raw = raw
        doc = json.loads(raw)
        self.schema: str = doc["schema"]
        self.scanner: Dict[str, str] = doc["scanner"]
        self.files: List[FileReport] = [FileReport._from(f) for f in doc["files"]]
        self.summary: Dict[str, int] = doc["summary"]
        self.walk_errors: List[str] = list(walk_errors or [])
        self.exit_code: int = exit_code
        self.fail_on: str = fail_on

    @property
    def verdict(self) -> str:
        """Worst verdict over the files (``safe`` for no file)."""
        return max((f.verdict for f in self.files), key=_VERDICT_ORDER.index, default="safe")

    @property
    def status(self) -> str:
        """Worst status over the files (``error`` when the walk failed somewhere)."""
        worst = max((f.status for f in self.files), key=_STATUS_ORDER.index, default="complete")
        return "error" if self.walk_errors else worst

    @property
    def findings(self) -> List[Finding]:
        """Every finding of every file, suppressed ones included (see ``suppressed``)."""
        return [x for f in self.files for x in f.findings]

    @property
    def failed(self) -> bool:
        """An unsuppressed finding at or above ``fail_on`` (exit code 1)."""
        return self.exit_code == 1

    @property
    def ok(self) -> bool:
        """Nothing at or above ``fail_on`` and every file fully analysed (exit code 0)."""
        return self.exit_code == 0

    def blocking(self) -> List[Finding]:
        """Unsuppressed findings at or above ``fail_on``."""
        t = severity_rank(self.fail_on)
        return [
            x for x in self.findings if x.suppressed is None and severity_rank(x.severity) >= t
        ]

    def to_json(self) -> str:
        """The report model as JSON, byte for byte what ``modelguard scan --format json`` writes."""
        return self._raw

    def to_dict(self) -> Dict[str, Any]:
        """The report model as Python objects (``json.loads(self.to_json())``)."""
        doc: Dict[str, Any] = json.loads(self._raw)
        return doc

    def to_sarif(self) -> str:
        """SARIF 2.1.0, as ``modelguard scan --format sarif`` writes it."""
        return _native.render(self._raw, "sarif", self.walk_errors)

    def to_hf(self) -> str:
        """Hub-style per-file status, as ``modelguard scan --format hf`` writes it."""
        return _native.render(self._raw, "hf", self.walk_errors)

    def to_text(self, quiet: bool = False) -> str:
        """The CLI's text output (no colour)."""
        return _native.render(self._raw, "text", self.walk_errors, quiet)

    def __str__(self) -> str:
        return self.to_text().rstrip("\n")

    def __repr__(self) -> str:
        return (
            f"<modelguard.Report verdict={self.verdict} status={self.status} "
            f"files={len(self.files)} findings={len(self.findings)} exit_code={self.exit_code}>"
        )

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)
