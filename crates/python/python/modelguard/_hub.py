"""Scanning a Hugging Face Hub repository before downloading it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional

from . import _native
from ._policy import Policy, _native_args
from ._report import FileReport, Report


@dataclass(frozen=True)
class RepoFile:
    """A file of the repository: its listing entry and how many bytes the scan fetched."""

    path: str
    size: int
    #: ``lfs.oid`` from the tree listing (the SHA-256 of an LFS file), if announced.
    sha256: Optional[str]
    #: Bytes downloaded to scan it (range reads: a few KiB of a multi-GB checkpoint).
    bytes_fetched: int


class RepoReport(Report):
    """A :class:`Report` over a Hub repository, plus what was fetched: ``repo_files``
    (listing entries with ``bytes_fetched``) and ``bytes_fetched`` in total."""

    def __init__(self, raw: str, repo: str, revision: str, repo_files: List[RepoFile],
                 bytes_fetched: int, exit_code: int, fail_on: str) -> None:
        super().__init__(raw, [], exit_code, fail_on)
        self.repo = repo
        self.revision = revision
        self.repo_files = repo_files
        self.bytes_fetched = bytes_fetched

    def file(self, path: str) -> FileReport:
        """The report of one repository file (``KeyError`` if it is not in the repository)."""
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)

    def __repr__(self) -> str:
        return (
            f"<modelguard.RepoReport {self.repo}@{self.revision} verdict={self.verdict} "
            f"files={len(self.files)} findings={len(self.findings)} "
            f"bytes_fetched={self.bytes_fetched}>"
        )


def scan_repo(
    repo: str,
    revision: str = "main",
    repo_type: str = "model",
    endpoint: Optional[str] = None,
    token: Optional[str] = None,
    *,
    policy: Optional[Policy] = None,
    fail_on: str = "high",
) -> RepoReport:
    """List ``repo`` (``org/name``) at ``revision`` through the Hub API and scan every file by
    HTTP range reads, without downloading whole files: the check to run before
    ``from_pretrained``.

    - ``repo_type``: ``model``, ``dataset`` or ``space``;
    - ``endpoint``: the Hub (default ``$HF_ENDPOINT`` or ``https://huggingface.co``);
    - ``token``: a bearer token for private or gated repositories (default ``$HF_TOKEN``).

    Raises :class:`HubError` when the repository cannot be listed; a file that cannot be
    read is reported with status ``error``, never as safe.
    """
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    token = token if token is not None else (os.environ.get("HF_TOKEN") or None)
    raw, files, fetched, code = _native.scan_repo(
        repo, revision=revision, repo_type=repo_type, endpoint=endpoint, token=token,
        fail_on=fail_on, **_native_args(policy)
    )
    repo_files = [RepoFile(p, s, h, b) for (p, s, h, b) in files]
    return RepoReport(raw, repo, revision, repo_files, fetched, code, fail_on)
