"""scan_repo against a local fake Hub with Range support: per-file reports, bytes fetched,
and a 2 GB checkpoint scanned by fetching less than 1 MB."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import shutil

import pytest

import modelguard
from conftest import EXAMPLES, REPO
from fakehub import FakeHub, VirtualFile, torch_zip

GB2 = 2 << 30
MB = 1 << 20


def evil_pickle() -> bytes:
    return b"\x80\x02cposix\nsystem\nq\x00X\x07\x00\x00\x00echo hiq\x01\x85q\x02Rq\x03."


@pytest.fixture
def hub():
    with FakeHub() as h:
        h.add("org/big", {
            "pytorch_model.bin": torch_zip(evil_pickle(), GB2),
            "config.json": VirtualFile.of(b'{"model_type": "bert"}'),
            "weights.npy": VirtualFile.of((EXAMPLES / "benign_array.npy").read_bytes()),
            "sub/dir/state.pt": VirtualFile.of((EXAMPLES / "benign_state_dict.pt").read_bytes()),
        })
        h.add("org/clean", {
            "model.pt": torch_zip(pickle.dumps({"step": 1}, protocol=2), GB2),
            "README.md": VirtualFile.of(b"# a model\n"),
        })
        h.add("org/data", {"train.pkl": VirtualFile.of(evil_pickle())}, repo_type="dataset")
        yield h


def test_two_gigabyte_checkpoint_fetches_under_a_megabyte(hub):
    r = modelguard.scan_repo("org/big", endpoint=hub.url)
    assert isinstance(r, modelguard.RepoReport) and isinstance(r, modelguard.Report)
    assert r.repo == "org/big" and r.revision == "main"
    big = r.file("pytorch_model.bin")
    assert big.size > GB2
    assert big.verdict == "malicious" and big.status == "complete"
    assert any(f.rule == "MG-PKL-PROC" for f in big.findings)
    assert r.file("weights.npy").verdict == "safe"
    assert r.file("sub/dir/state.pt").verdict == "safe"
    assert r.verdict == "malicious" and r.exit_code == 1
    fetched = {f.path: f for f in r.repo_files}
    assert fetched["pytorch_model.bin"].bytes_fetched < MB
    assert fetched["pytorch_model.bin"].sha256 and len(fetched["pytorch_model.bin"].sha256) == 64
    assert r.bytes_fetched < 2 * MB
    # The server's own count: what really crossed the wire for the checkpoint.
    assert 0 < hub.sent["pytorch_model.bin"] < MB, hub.sent
    print(f"2 GB checkpoint: {hub.sent['pytorch_model.bin']} bytes sent by the fake hub, "
          f"{fetched['pytorch_model.bin'].bytes_fetched} reported")
    assert any("pytorch_model.bin" in q and "bytes=" in q for q in hub.requests)


def test_clean_repo_and_reports(hub):
    r = modelguard.scan_repo("org/clean", "main", endpoint=hub.url)
    assert r.file("model.pt").verdict == "safe", r.file("model.pt")
    assert r.ok and r.verdict == "safe"
    assert hub.sent["model.pt"] < MB
    assert "org/clean" in repr(r)
    assert '"schema": "modelguard.report/1"' in r.to_json()
    assert '"2.1.0"' in r.to_sarif()


def test_dataset_repo_type(hub):
    r = modelguard.scan_repo("org/data", repo_type="dataset", endpoint=hub.url)
    assert r.file("train.pkl").verdict == "malicious"


def test_errors_are_hub_errors(hub):
    with pytest.raises(modelguard.HubError, match="404"):
        modelguard.scan_repo("org/missing", endpoint=hub.url)
    with pytest.raises(modelguard.ArgumentError, match="repo_type"):
        modelguard.scan_repo("org/big", repo_type="notebook", endpoint=hub.url)
    with pytest.raises(modelguard.ArgumentError):
        modelguard.scan_repo("not a repo", endpoint=hub.url)
    with pytest.raises(modelguard.HubError):
        modelguard.scan_repo("org/big", endpoint="http://127.0.0.1:9")  # nothing listens
    assert issubclass(modelguard.HubError, OSError)


def test_token_is_sent():
    with FakeHub(token="s3cret") as h:
        h.add("org/private", {"m.pkl": VirtualFile.of(evil_pickle())})
        with pytest.raises(modelguard.HubError, match="401"):
            modelguard.scan_repo("org/private", endpoint=h.url)
        r = modelguard.scan_repo("org/private", endpoint=h.url, token="s3cret")
        assert r.file("m.pkl").verdict == "malicious"


def test_cli_hf_url(hub):
    exe = shutil.which("modelguard", path=os.path.dirname(sys.executable))
    assert exe
    env = dict(os.environ, HF_ENDPOINT=hub.url)
    p = subprocess.run([exe, "scan", "--no-config", "hf://org/big@main"], capture_output=True,
                       text=True, env=env, cwd=REPO, timeout=300)
    assert p.returncode == 1, p.stderr
    assert "pytorch_model.bin" in p.stdout and "MG-PKL-PROC" in p.stdout
    assert hub.sent["pytorch_model.bin"] < MB
    p = subprocess.run([exe, "scan", "--no-config", "hf://org/clean"], capture_output=True,
                       text=True, env=env, cwd=REPO, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def test_announced_hash_is_checked_on_whole_downloads():
    with FakeHub() as h:
        good = VirtualFile.of((EXAMPLES / "benign_state_dict.pt").read_bytes())
        h.add("org/tampered", {"state.pt": good})
        good.sha256 = lambda: "0" * 64  # type: ignore[method-assign]
        r = modelguard.scan_repo("org/tampered", endpoint=h.url)
        f = r.file("state.pt")
        assert f.status == "error" and f.verdict == "unknown"
        assert "does not match the announced" in f.errors[0].message
        assert not r.ok
