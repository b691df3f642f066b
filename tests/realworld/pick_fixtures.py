#!/usr/bin/env python3
"""Copy small made-here corpus files that the baseline build flags into
tests/fixtures/realworld/, with their `manifest.json` (expect: safe), which
crates/core/tests/fixtures.rs checks like every other fixture manifest.

    pick_fixtures.py REPORT.json [--corpus /work/corpus/realworld]

These are the files the judge used to flag (issue 12); they must stay clean. Only files made
here (build_corpus.py made/keras) are copied, never downloaded third-party files; each is
below 50 KB and is listed only if the report gives it a finding at low or above.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEST = HERE.parent / "fixtures" / "realworld"
SEV = ["info", "low", "medium", "high", "critical"]

# corpus path (under made/) -> what it is
PICKS = {
    "sklearn/s0/onehot.none.joblib": "joblib.dump(OneHotEncoder fitted on a DataFrame): object arrays written as nested pickles with their own memo",
    "sklearn/s0/ordinal.zlib.joblib": "joblib.dump(OrdinalEncoder, compress=3) (zlib)",
    "sklearn/s0/coltrans.none.joblib": "joblib.dump(ColumnTransformer(StandardScaler, OneHotEncoder))",
    "sklearn/s0/func_transformer.p4.pkl": "pickle of FunctionTransformer(np.log1p)",
    "dill/lambda_double.default.pkl": "dill.dumps(lambda x: x * 2) from a script (__main__ globals)",
    "dill/uses_numpy.default.pkl": "dill.dumps of a function calling np.mean",
    "dill/closure.recurse.pkl": "dill.dumps(closure, recurse=True): cells",
    "dill/calls_len.recurse.pkl": "dill.dumps(function calling len/max/set, recurse=True)",
    "cloudpickle/lambda_np.p5.pkl": "cloudpickle.dumps(lambda a: np.clip(a, 0, 1)): subimport('numpy')",
    "cloudpickle/lambda_double.p2.pkl": "cloudpickle.dumps(lambda x: x * 2, protocol=2)",
    "cloudpickle/tokenize.p5.pkl": "cloudpickle.dumps of a function calling str methods",
    "cloudpickle/local_class.p5.pkl": "cloudpickle.dumps of a local class (dynamic class)",
    "pandas/pickle/string_py.p5.pkl": "pickle of a DataFrame with StringDtype('python')",
    "pandas/pickle/period.p5.pkl": "pickle of a Series of PeriodDtype",
    "pandas/pickle/datetime_zoneinfo.p5.pkl": "pickle of a tz-aware (zoneinfo) datetime Series",
    "pandas/pickle/str3.p5.pkl": "pickle of a pandas 3 'str' Series (pyarrow-backed)",
    "pandas/pickle/int.p5.pkl": "pickle of an int DataFrame (pandas 3: RangeIndex, pyarrow column names)",
    "pandas/to_pickle/category.gzip.pkl": "DataFrame.to_pickle(compression='gzip') of a categorical column",
    "pandas/pickle/arrow_int.p5.pkl": "pickle of an ArrowDtype(int64) Series",
    "numpy/objects/seedseq.p4.pkl": "pickle of np.random.SeedSequence",
    "numpy/objects/bitgen_MT19937.p4.pkl": "pickle of np.random.MT19937",
    "numpy/objects/gen_PCG64.p4.pkl": "pickle of np.random.Generator(PCG64)",
    "numpy/objects/randomstate.p4.pkl": "pickle of np.random.RandomState",
    "numpy/objects/masked.p4.pkl": "pickle of a numpy MaskedArray",
    "numpy/objects/recarray.p4.pkl": "pickle of a numpy recarray",
    "numpy/objects/ufuncs.p4.pkl": "pickle of [np.log1p, np.sqrt, np.add, np.exp, np.maximum]",
    "stdlib/operator_refs.p4.pkl": "pickle of operator.itemgetter/attrgetter objects and operator.add",
    "stdlib/builtins_refs.p4.pkl": "pickle of [abs, len, min, max, sum, sorted, round, str, int, float, list, dict]",
    "stdlib/enum_main.p4.pkl": "pickle of enum members defined in __main__",
    "stdlib/namedtuple_main.p4.pkl": "pickle of a namedtuple defined in __main__",
    "stdlib/future_annotations.p4.pkl": "pickle of __future__.annotations",
    "stdlib/zoneinfo.p4.pkl": "pickle of zoneinfo.ZoneInfo('Asia/Kolkata')",
    "stdlib/enum_user.p4.pkl": "pickle of a user package's Enum/IntFlag/str-Enum members",
    "stdlib/dataclass_user.p4.pkl": "pickle of a user package's dataclass holding an Enum",
    "torch/tensors/size_dtype_device.pt": "torch.save([torch.Size, dtype, device, per_tensor_affine, per_channel_affine])",
    "torch/plain_pickle/f32.p4.pkl": "pickle.dumps(torch tensor): storage through torch.storage._load_from_bytes",
    "torch/tensors/quant_per_tensor.pt": "torch.save(quantize_per_tensor(...)): qscheme constant",
    "torch/full/tinynet.pt": "torch.save(whole user nn.Module)",
    "transformers/run0/training_args.bin": "torch.save(transformers.TrainingArguments()), as the Trainer writes training_args.bin",
    "transformers/generation_config.pt": "torch.save({'generation_config': transformers.GenerationConfig(...)})",
    "sklearn_all/MultiLabelBinarizer.joblib": "joblib.dump(MultiLabelBinarizer fitted): object array as a nested pickle",
    "scipy/poisson_frozen.p4.pkl": "pickle of scipy.stats.poisson(3) (frozen discrete distribution: bound methods by getattr)",
    "scipy/norm_frozen.p4.pkl": "pickle of scipy.stats.norm(1, 2) (frozen continuous distribution)",
    "scipy/csr_matrix.p4.pkl": "pickle of a scipy.sparse csr_matrix",
    "scipy/bspline.p4.pkl": "pickle of a scipy.interpolate BSpline",
    "statsmodels/ols_array.small.pickle": "statsmodels OLS results .save(remove_data=True)",
    "networkx/karate.p4.pkl": "pickle of networkx.karate_club_graph()",
    "sympy/poly.p4.pkl": "pickle of a sympy expression",
    "tokenizers/bpe.p4.pkl": "pickle of a trained tokenizers.Tokenizer (BPE)",
    "safetensors/torch_2.safetensors": "safetensors with a metadata description containing 'curl ... | sh' install text (metadata is never executed)",
    "keras/lambda_tf_reduce_mean.keras": "Keras 3 .keras with Lambda(lambda x: tf.reduce_mean(x, ...))",
    "keras/lambda_fn_keras_relu.keras": "Keras 3 .keras with Lambda(keras.activations.relu): written as builtins function 'relu'",
    "keras/tf_keras/lambda_fn_relu.h5": "tf_keras (Keras 2) legacy .h5 with Lambda(tf.nn.relu)",
    "onnx/helper/Relu_opset13.W.pb": "onnx TensorProto serialised alone (.pb), as ONNX test data is stored",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--corpus", type=Path, default=Path("/work/corpus/realworld"))
    a = ap.parse_args()
    files = {f["path"]: f for f in json.load(open(a.report))["files"]}
    DEST.mkdir(parents=True, exist_ok=True)
    entries = []
    for rel, note in PICKS.items():
        f = files.get(f"made/{rel}")
        src = a.corpus / "made" / rel
        if f is None or not src.is_file():
            print(f"skip (not in report/corpus): {rel}")
            continue
        live = [x for x in f["findings"] if not x.get("suppressed") and SEV.index(x["severity"]) >= 1]
        if not live or src.stat().st_size >= 50_000:
            print(f"skip (no finding >= low, or too big): {rel}")
            continue
        dst = DEST / rel.replace("/", "__")
        shutil.copyfile(src, dst)
        data = dst.read_bytes()
        worst = max(live, key=lambda x: SEV.index(x["severity"]))
        entries.append({
            "path": f"realworld/{dst.name}",
            "expect": "safe",
            "min_severity": None,
            "format": f["format"],
            "technique": f"benign-realworld-{rel.split('/')[0]}",
            "note": note + " (tests/realworld/gen_made.py or gen_keras.py)",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        })
    (DEST / "manifest.json").write_text(json.dumps(entries, indent=2) + "\n")
    print(f"{len(entries)} fixtures in {DEST} (manifest.json)")


if __name__ == "__main__":
    main()
