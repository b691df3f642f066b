"""The guard: malicious files are refused before any byte reaches the loader (a canary proves
the payload did not run), benign files load. torch and keras are exercised with stand-in
modules when they are not installed (CI does not install torch: its wheel is gigabytes); the
real torch path runs when torch is importable."""

from __future__ import annotations

import io
import pickle
import sys
import types
import zipfile

import pytest

import modelguard
from modelguard import guard
from conftest import EXAMPLES, FIXTURES, Payload

np = pytest.importorskip("numpy")
joblib = pytest.importorskip("joblib")


def refused(exc: pytest.ExceptionInfo) -> None:
    e = exc.value
    assert isinstance(e, modelguard.UnsafeModelError)
    assert e.findings and e.report.verdict == "malicious"
    assert any(f.severity in ("high", "critical") for f in e.findings)
    assert "modelguard refused" in str(e)


# --- pickle ---------------------------------------------------------------------------

def test_pickle_load_refused_before_payload(tmp_path, canary, payload_pickle):
    path = tmp_path / "model.pkl"
    path.write_bytes(payload_pickle)
    with guard.guarded("pickle"):
        with pytest.raises(modelguard.UnsafeModelError) as exc, open(path, "rb") as fh:
            pickle.load(fh)
        refused(exc)
        with pytest.raises(modelguard.UnsafeModelError):
            pickle.loads(payload_pickle)
    assert not canary.exists(), "the payload ran"
    # Control: the fixture is live, unguarded pickle.load runs the payload.
    assert pickle.load.__name__ == "load" and not hasattr(pickle.load, "__modelguard_original__")
    with open(path, "rb") as fh:
        pickle.load(fh)
    assert canary.read_text() == "payload ran"


def test_pickle_benign_loads_and_stream_position_kept(tmp_path):
    path = tmp_path / "two.pkl"
    with open(path, "wb") as fh:
        pickle.dump({"a": 1}, fh)
        pickle.dump([2, 3], fh)
    with guard.guarded("pickle"), open(path, "rb") as fh:
        assert pickle.load(fh) == {"a": 1}
        assert pickle.load(fh) == [2, 3]
    assert pickle.loads(pickle.dumps({"x": 1})) == {"x": 1}


# --- joblib ---------------------------------------------------------------------------

def test_joblib_refused_before_payload(tmp_path, canary):
    path = tmp_path / "model.joblib"
    joblib.dump({"model": Payload(canary), "coef": np.arange(3.0)}, path)
    with guard.guarded("joblib"):
        with pytest.raises(modelguard.UnsafeModelError) as exc:
            joblib.load(path)
        refused(exc)
        with pytest.raises(modelguard.UnsafeModelError):
            joblib.load(str(path))
    assert not canary.exists()
    with pytest.raises(modelguard.UnsafeModelError):
        modelguard.load(path, loader=joblib.load)
    assert not canary.exists()
    joblib.load(path)  # control
    assert canary.exists()


def test_joblib_benign(tmp_path):
    path = tmp_path / "ok.joblib"
    joblib.dump({"coef": np.arange(4.0), "name": "lr"}, path, compress=3)
    with guard.guarded("joblib"):
        got = joblib.load(path)
    assert got["name"] == "lr" and list(got["coef"]) == [0.0, 1.0, 2.0, 3.0]
    assert modelguard.load(path, loader=joblib.load)["name"] == "lr"
    assert modelguard.load(FIXTURES / "pickle/benign/joblib_logreg.joblib", loader=lambda p: "ok") == "ok"


# --- numpy ----------------------------------------------------------------------------

def test_numpy_object_array_refused_before_payload(tmp_path, canary):
    path = tmp_path / "arr.npy"
    np.save(path, np.array([Payload(canary), 1], dtype=object), allow_pickle=True)
    with guard.guarded("numpy"):
        with pytest.raises(modelguard.UnsafeModelError) as exc:
            np.load(path, allow_pickle=True)
        refused(exc)
        with pytest.raises(modelguard.UnsafeModelError), open(path, "rb") as fh:
            np.load(fh, allow_pickle=True)
    assert not canary.exists()
    np.load(path, allow_pickle=True)  # control
    assert canary.exists()


def test_numpy_benign_and_nested_pickle_guard(tmp_path):
    path = tmp_path / "ok.npy"
    np.save(path, np.arange(5, dtype=np.float32))
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    # numpy.load calls pickle.load inside: the file is scanned once, by the outer guard.
    with guard.guarded("numpy", "pickle"):
        assert np.load(path).tolist() == [0, 1, 2, 3, 4]
        assert np.load(obj, allow_pickle=True)[0] == {"a": 1}
    assert modelguard.load(EXAMPLES / "benign_array.npy", loader=np.load).shape


# --- torch ----------------------------------------------------------------------------

def torch_zip(path, payload: bytes) -> None:
    """A torch.save-style zip (archive/data.pkl, archive/version)."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")


def stand_in_torch() -> types.ModuleType:
    """What torch.load(weights_only=False) does with a zip checkpoint: unpickle data.pkl."""
    m = types.ModuleType("torch")

    def load(f, map_location=None, weights_only=False, **kw):
        with zipfile.ZipFile(f) as z:
            name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            return pickle.loads(z.read(name))

    m.load = load  # type: ignore[attr-defined]
    return m


@pytest.fixture
def torch_module(monkeypatch):
    try:
        import torch  # type: ignore[import-not-found]

        return torch
    except ImportError:
        fake = stand_in_torch()
        monkeypatch.setitem(sys.modules, "torch", fake)
        return fake


def test_torch_refused_before_payload(tmp_path, canary, payload_pickle, torch_module):
    path = tmp_path / "model.pt"
    if hasattr(torch_module, "save"):
        torch_module.save({"hook": Payload(canary)}, path)  # real torch
    else:
        torch_zip(path, payload_pickle)
    with pytest.raises(modelguard.UnsafeModelError) as exc:
        modelguard.safe_torch_load(path, weights_only=False)
    refused(exc)
    with pytest.raises(modelguard.UnsafeModelError):
        modelguard.load(path)  # default loader: torch.load
    with guard.guarded("torch"):
        with pytest.raises(modelguard.UnsafeModelError), open(path, "rb") as fh:
            torch_module.load(fh, weights_only=False)
    assert not canary.exists()
    torch_module.load(path, weights_only=False)  # control: the payload is live
    assert canary.exists()


def test_torch_benign(tmp_path, torch_module):
    path = tmp_path / "ok.pt"
    if hasattr(torch_module, "save"):
        torch_module.save({"step": 3}, path)
    else:
        torch_zip(path, pickle.dumps({"step": 3}, protocol=2))
    assert modelguard.safe_torch_load(path, weights_only=False) == {"step": 3}
    with guard.guarded("torch"):
        assert torch_module.load(path, weights_only=False) == {"step": 3}


# --- keras (stand-in) -----------------------------------------------------------------

def test_keras_patch_mechanism(monkeypatch):
    calls = []
    keras = types.ModuleType("keras")
    models = types.ModuleType("keras.models")
    saving = types.ModuleType("keras.saving")

    def load_model(filepath, **kw):
        calls.append(filepath)
        return "model"

    models.load_model = load_model  # type: ignore[attr-defined]
    saving.load_model = load_model  # type: ignore[attr-defined]
    keras.models, keras.saving = models, saving  # type: ignore[attr-defined]
    for name, mod in (("keras", keras), ("keras.models", models), ("keras.saving", saving)):
        monkeypatch.setitem(sys.modules, name, mod)
    bad = sorted(p for p in (FIXTURES / "keras").rglob("*") if p.is_file()
                 and modelguard.scan(p).verdict == "malicious")
    good = EXAMPLES / "benign_array.npy"
    with guard.guarded("keras") as p:
        assert "keras.models.load_model" in p.patched
        assert bad, "a malicious Keras fixture"
        with pytest.raises(modelguard.UnsafeModelError):
            models.load_model(str(bad[0]))
        assert saving.load_model(good) == "model"
    assert calls == [good]
    assert models.load_model is load_model  # restored


# --- incomplete files, options, patch bookkeeping ------------------------------------

def test_incomplete_refused_unless_allowed(tmp_path):
    path = tmp_path / "mystery.pt"
    path.write_bytes(b"\x00GGML not a pickle" * 10)
    r = modelguard.scan(path)
    assert r.status != "complete"
    loaded = []
    with pytest.raises(modelguard.IncompleteScanError, match="not known to be safe"):
        modelguard.load(path, loader=loaded.append)
    assert not loaded
    modelguard.load(path, loader=loaded.append, allow_incomplete=True)
    assert loaded == [path]


def test_fail_on_and_policy(tmp_path, canary, payload_pickle):
    path = tmp_path / "m.pkl"
    path.write_bytes(payload_pickle)
    # The payload's findings are high (exec reaching a file write): fail_on decides.
    with pytest.raises(modelguard.UnsafeModelError):
        guard.check(path, fail_on="high")
    assert guard.check(path, fail_on="critical").verdict == "malicious"
    # A policy that disables every rule lets it through (suppressed findings stay reported).
    r = guard.check(path, policy=modelguard.Policy(disable=["*"]))
    assert r.findings and all(f.suppressed for f in r.findings)


def test_patch_errors_and_restore():
    with pytest.raises(ValueError, match="unknown loader"):
        guard.patch("tensorflow-lite")
    p = guard.patch()  # pickle plus already-imported loaders
    try:
        assert "pickle.load" in p.patched
        assert hasattr(pickle.load, "__modelguard_original__")
        again = guard.patch("pickle")  # not patched twice
        assert again.patched == []
    finally:
        p.restore()
    assert not hasattr(pickle.load, "__modelguard_original__")
