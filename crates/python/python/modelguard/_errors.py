"""Exceptions raised by modelguard. Every one is a :class:`ModelguardError`."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    from ._report import Finding, Report


class ModelguardError(Exception):
    """Base class of every modelguard exception."""


class ArgumentError(ModelguardError, ValueError):
    """An invalid argument (unknown severity, format, hash mode, bad glob…)."""


class PolicyError(ModelguardError, ValueError):
    """An invalid policy: the message is the one ``modelguard.toml`` would get."""


class HubError(ModelguardError, OSError):
    """The Hub could not be listed or read (network, HTTP status, unexpected answer)."""


class UnsafeModelError(ModelguardError):
    """The guard refused a file: a finding at or above ``fail_on``.

    Raised before any byte of the file reaches the loader. ``report`` is the full
    :class:`~modelguard.Report`; ``findings`` are the unsuppressed findings that decided it.
    """

    def __init__(self, message: str, report: "Report", findings: "Optional[List[Finding]]" = None):
        super().__init__(message)
        self.report = report
        self.findings: List[Finding] = list(findings or [])

    @property
    def path(self) -> str:
        """The refused file's path (as given)."""
        return self.report.files[0].path if self.report.files else ""


class IncompleteScanError(UnsafeModelError):
    """The guard refused a file that could not be fully analysed (status ``incomplete`` or
    ``error``): it is not known to be safe. Pass ``allow_incomplete=True`` to load such files
    when they have no finding at or above ``fail_on``."""
