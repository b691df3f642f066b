"""Shared helpers for the modelguard Python tests (run by .ci/run against the installed wheel)."""

from __future__ import annotations

import os
import pathlib
import pickle

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
FIXTURES = REPO / "tests" / "fixtures"


class Payload:
    """A harmless exploit: unpickling it runs ``exec`` that writes ``canary``. Proves whether
    a loader ran the payload."""

    def __init__(self, canary: "os.PathLike[str] | str") -> None:
        self.canary = str(canary)

    def __reduce__(self):  # noqa: D105
        return (exec, (f"open({self.canary!r}, 'w').write('payload ran')",))


@pytest.fixture
def canary(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "canary"


@pytest.fixture
def payload_pickle(canary: pathlib.Path) -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0], "hook": Payload(canary)}, protocol=4)
