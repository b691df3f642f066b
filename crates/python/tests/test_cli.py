"""The `modelguard` console script is the Rust CLI (same reports, same exit codes)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import modelguard
from conftest import EXAMPLES, REPO


def console() -> str:
    exe = shutil.which("modelguard", path=os.path.dirname(sys.executable))
    assert exe, "the wheel installs a `modelguard` console script next to the interpreter"
    return exe


def run(*args: str, exe: "str | None" = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [exe or console(), *args], capture_output=True, text=True, cwd=REPO, timeout=600
    )


def test_console_scan_examples_exit_code_and_text():
    p = run("scan", "--no-config", "examples/")
    assert p.returncode == 1, p.stderr
    assert "6 files: 3 malicious, 0 suspicious, 3 safe" in p.stdout
    assert "MG-PKL-PROC" in p.stdout


def test_console_json_equals_api_json(monkeypatch):
    p = run("scan", "--no-config", "--format", "json", "examples/")
    monkeypatch.chdir(REPO)
    api = modelguard.scan("examples/")
    assert p.stdout == api.to_json()


def test_console_usage_errors_and_subcommands():
    p = run("scan", "--fail-on", "severe", "examples/")
    assert p.returncode == 2 and "unknown severity" in p.stderr
    assert run("--version").stdout.startswith("modelguard ")
    assert run("explain", "MG-PKL-PROC").returncode == 0
    assert run("explain", "MG-NOPE").returncode == 2
    assert "MG-PKL-PROC" in run("rules").stdout
    p = subprocess.run([sys.executable, "-m", "modelguard", "scan", "--no-config",
                        "examples/benign_array.npy"], capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 0 and "safe" in p.stdout


@pytest.mark.skipif(not os.environ.get("MODELGUARD_BIN"), reason="MODELGUARD_BIN not set")
def test_console_matches_the_rust_binary():
    """Same bytes as the `modelguard` binary built by cargo (.ci/run sets MODELGUARD_BIN)."""
    for args in (
        ("scan", "--no-config", "--format", "json", "examples/"),
        ("scan", "--no-config", "examples/"),
        ("scan", "--no-config", "--format", "sarif", "examples/"),
        ("scan", "--no-config", "--format", "hf", "tests/fixtures/pickle/benign"),
    ):
        a, b = run(*args), run(*args, exe=os.environ["MODELGUARD_BIN"])
        assert (a.returncode, a.stdout) == (b.returncode, b.stdout), args
