#!/usr/bin/env python3
"""Benign models made here with the real libraries, for the real-world corpus.

    python gen_made.py OUTDIR        (build_corpus.py runs it with PYTHONPATH=userpkg)

Every file is what the library writes for ordinary objects: fitted scikit-learn
estimators and pipelines, pandas objects of every dtype, numpy arrays and random
generators, dill/cloudpickle functions with harmless code, xgboost/lightgbm models, the
stdlib and a user package's enums/dataclasses/namedtuples, torch state dicts, whole
modules, TorchScript and ONNX exports, onnx.helper graphs, safetensors and GGUF.
Each section is independent: one that fails (library missing) is reported and skipped.
The files are never loaded back here.
"""

from __future__ import annotations

import bz2
import collections
import datetime
import decimal
import enum
import fractions
import functools
import gzip
import io
import lzma
import operator
import pickle
import sys
import traceback
import zoneinfo
from collections import namedtuple
from pathlib import Path

import numpy as np

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/corpus/realworld/made")
COUNTS: collections.Counter = collections.Counter()


def write(section: str, rel: str, data: bytes) -> None:
    p = OUT / section / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    COUNTS[section] += 1


def pickles(section: str, stem: str, obj, protocols=range(0, 6)) -> None:
    """obj through pickle.dumps with each protocol."""
    for proto in protocols:
        try:
            write(section, f"{stem}.p{proto}.pkl", pickle.dumps(obj, protocol=proto))
        except Exception as e:  # some objects refuse old protocols
            print(f"  {section}/{stem} p{proto}: {type(e).__name__}: {e}"[:200])


JOBLIB_COMPRESS = {
    "none": 0,
    "zlib": 3,
    "gzip": ("gzip", 3),
    "bz2": ("bz2", 3),
    "lzma": ("lzma", 3),
    "xz": ("xz", 3),
}


def joblibs(section: str, stem: str, obj) -> None:
    import joblib

    for name, c in JOBLIB_COMPRESS.items():
        p = OUT / section / f"{stem}.{name}.joblib"
        p.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(obj, p, compress=c)
        COUNTS[section] += 1


# __main__ objects, as a notebook or script pickles them.
class MainColor(enum.Enum):
    RED = "red"
    BLUE = "blue"


MainPair = namedtuple("MainPair", "a b")


class MainRecord:
    def __init__(self, name, values):
        self.name = name
        self.values = values


def main_square(x):
    return x * x


# --------------------------------------------------------------------------- sklearn
def sklearn_models(seed: int):
    import pandas as pd
    from sklearn import (cluster, compose, decomposition, ensemble, feature_extraction,
                         impute, linear_model, naive_bayes, neighbors, neural_network,
                         pipeline, preprocessing, svm, tree)
    from sklearn.datasets import make_classification, make_regression

    rng = np.random.default_rng(seed)
    X, y = make_classification(n_samples=80, n_features=6, n_informative=3, random_state=seed)
    Xr, yr = make_regression(n_samples=60, n_features=5, random_state=seed)
    df = pd.DataFrame({
        "age": rng.integers(18, 90, 80),
        "income": rng.normal(50, 10, 80),
        "city": rng.choice(["paris", "oslo", "lima"], 80),
        "plan": rng.choice(["free", "pro"], 80),
    })
    texts = [f"the {w} model scored {i}" for i, w in enumerate(rng.choice(["small", "large", "tiny", "deep"], 40))]
    ty = np.arange(40) % 2
    ct = compose.ColumnTransformer([
        ("num", preprocessing.StandardScaler(), ["age", "income"]),
        ("cat", preprocessing.OneHotEncoder(handle_unknown="ignore"), ["city", "plan"]),
    ])
    ct_ord = compose.ColumnTransformer([
        ("num", pipeline.make_pipeline(impute.SimpleImputer(), preprocessing.MinMaxScaler()), ["age", "income"]),
        ("cat", preprocessing.OrdinalEncoder(), ["city", "plan"]),
    ], remainder="drop")
    models = {
        "onehot": (preprocessing.OneHotEncoder(), df[["city", "plan"]], None),
        "ordinal": (preprocessing.OrdinalEncoder(), df[["city", "plan"]], None),
        "labelenc": (preprocessing.LabelEncoder(), df["city"].to_numpy(), None),
        "coltrans": (ct, df, None),
        "coltrans_logreg": (pipeline.make_pipeline(ct, linear_model.LogisticRegression(max_iter=200)), df, y),
        "coltrans_ord_rf": (pipeline.Pipeline([("prep", ct_ord), ("rf", ensemble.RandomForestClassifier(n_estimators=5, random_state=seed))]), df, y),
        "scaler": (preprocessing.StandardScaler(), X, None),
        "rf": (ensemble.RandomForestClassifier(n_estimators=5, max_depth=3, random_state=seed), X, y),
        "extratrees": (ensemble.ExtraTreesRegressor(n_estimators=4, max_depth=3, random_state=seed), Xr, yr),
        "gb": (ensemble.GradientBoostingClassifier(n_estimators=5, random_state=seed), X, y),
        "hgb": (ensemble.HistGradientBoostingClassifier(max_iter=5, random_state=seed), X, y),
        "hgb_cat": (ensemble.HistGradientBoostingClassifier(max_iter=5, categorical_features="from_dtype", random_state=seed),
                    df.assign(city=df.city.astype("category"), plan=df.plan.astype("category")), y),
        "adaboost": (ensemble.AdaBoostClassifier(n_estimators=5, random_state=seed), X, y),
        "logreg": (linear_model.LogisticRegression(max_iter=200), X, y),
        "ridge": (linear_model.Ridge(alpha=0.5 + seed), Xr, yr),
        "sgd": (linear_model.SGDClassifier(random_state=seed), X, y),
        "svc": (svm.SVC(probability=False, random_state=seed), X, y),
        "svr": (svm.SVR(), Xr, yr),
        "knn": (neighbors.KNeighborsClassifier(n_neighbors=3), X, y),
        "tree": (tree.DecisionTreeClassifier(max_depth=3, random_state=seed), X, y),
        "nb": (naive_bayes.GaussianNB(), X, y),
        "kmeans": (cluster.KMeans(n_clusters=3, n_init=2, random_state=seed), X, None),
        "dbscan": (cluster.DBSCAN(), X, None),
        "pca": (decomposition.PCA(n_components=3, random_state=seed), X, None),
        "tsvd": (decomposition.TruncatedSVD(n_components=2, random_state=seed), X, None),
        "mlp": (neural_network.MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=seed), X, y),
        "tfidf": (feature_extraction.text.TfidfVectorizer(), texts, None),
        "count": (feature_extraction.text.CountVectorizer(ngram_range=(1, 2)), texts, None),
        "tfidf_logreg": (pipeline.make_pipeline(feature_extraction.text.TfidfVectorizer(), linear_model.LogisticRegression()), texts, ty),
        "hashing_nb": (pipeline.make_pipeline(feature_extraction.text.HashingVectorizer(n_features=64, alternate_sign=False), naive_bayes.MultinomialNB()), texts, ty),
        "poly_ridge": (pipeline.make_pipeline(preprocessing.PolynomialFeatures(2), preprocessing.StandardScaler(), linear_model.Ridge()), Xr, yr),
        "func_transformer": (preprocessing.FunctionTransformer(np.log1p), np.abs(X), None),
        "func_transformer_sqrt": (pipeline.make_pipeline(preprocessing.FunctionTransformer(np.sqrt), linear_model.LogisticRegression()), np.abs(X), y),
        "voting": (ensemble.VotingClassifier([("lr", linear_model.LogisticRegression()), ("nb", naive_bayes.GaussianNB())]), X, y),
        "stacking": (ensemble.StackingClassifier([("t", tree.DecisionTreeClassifier(max_depth=2))], final_estimator=linear_model.LogisticRegression()), X, y),
        "kbins": (preprocessing.KBinsDiscretizer(n_bins=3, encode="ordinal", quantile_method="averaged_inverted_cdf"), X, None),
        "target_enc": (preprocessing.TargetEncoder(random_state=seed), df[["city", "plan"]], y),
    }
    fitted = {}
    for name, (est, Xf, yf) in models.items():
        try:
            est.fit(Xf) if yf is None else est.fit(Xf, yf)
            fitted[name] = est
        except Exception as e:
            print(f"  sklearn {name}: {type(e).__name__}: {e}"[:200])
    return fitted


def gen_sklearn() -> None:
    for seed in (0, 1):
        for name, est in sklearn_models(seed).items():
            stem = f"s{seed}/{name}"
            joblibs("sklearn", stem, est)
            pickles("sklearn", stem, est, protocols=(2, 4, 5) if seed else range(0, 6))


# --------------------------------------------------------------------------- pandas
def pandas_objects() -> dict:
    import pandas as pd

    n = 6
    objs = {
        "int": pd.DataFrame({"a": np.arange(n, dtype="int64"), "b": np.arange(n, dtype="int8")}),
        "float": pd.DataFrame({"x": np.linspace(0, 1, n), "y": np.float32(np.arange(n))}),
        "object": pd.DataFrame({"o": ["a", 1, 2.5, None, (1, 2), {"k": 1}]}),
        "string_py": pd.DataFrame({"s": pd.array(list("abcdef"), dtype=pd.StringDtype("python"))}),
        "string_default": pd.Series(list("abcdef"), dtype="string"),
        "str3": pd.Series(list("abcdef"), dtype="str"),
        "category": pd.DataFrame({"c": pd.Categorical(list("abcabc"), ordered=True)}),
        "datetime": pd.DataFrame({"t": pd.date_range("2024-01-01", periods=n, freq="D")}),
        "datetime_tz": pd.DataFrame({"t": pd.date_range("2024-01-01", periods=n, freq="h", tz="Europe/Paris")}),
        "datetime_zoneinfo": pd.Series(pd.date_range("2024-03-01", periods=n, tz=zoneinfo.ZoneInfo("America/New_York"))),
        "datetime_utc_index": pd.Series(np.arange(n), index=pd.date_range("2024", periods=n, tz="UTC")),
        "timedelta": pd.Series(pd.to_timedelta(np.arange(n), unit="s")),
        "period": pd.Series(pd.period_range("2024-01", periods=n, freq="M")),
        "interval": pd.Series(pd.interval_range(0, n)),
        "sparse": pd.DataFrame({"sp": pd.arrays.SparseArray([0, 0, 1, 0, 2, 0])}),
        "boolean": pd.Series([True, False, None, True, False, True], dtype="boolean"),
        "bool": pd.Series([True, False] * 3),
        "Int64": pd.Series([1, None, 3, 4, None, 6], dtype="Int64"),
        "Float64": pd.Series([1.5, None, 3, 4, None, 6], dtype="Float64"),
        "UInt8": pd.Series([1, 2, 3, 4, 5, 6], dtype="UInt8"),
        "complex": pd.Series(np.arange(n) * (1 + 1j)),
        "multiindex": pd.DataFrame({"v": range(n)}, index=pd.MultiIndex.from_product([["a", "b"], [1, 2, 3]])),
        "rangeindex": pd.Series(range(n), index=pd.RangeIndex(10, 10 + n)),
        "categorical_index": pd.Series(range(n), index=pd.CategoricalIndex(list("xyzxyz"))),
        "timestamp": pd.Timestamp("2024-05-06 07:08:09", tz="Asia/Tokyo"),
        "timedelta_scalar": pd.Timedelta("1 days 2 hours"),
        "period_scalar": pd.Period("2024Q1"),
        "offsets": [pd.offsets.MonthEnd(2), pd.offsets.BusinessDay(), pd.DateOffset(days=3)],
        "na": [pd.NA, pd.NaT, np.nan],
        "mixed": pd.DataFrame({
            "i": range(n), "f": np.arange(n) / 3, "s": list("uvwxyz"),
            "c": pd.Categorical(list("ababab")), "t": pd.date_range("2020", periods=n, tz="UTC"),
            "b": pd.array([True, None, False, True, True, False], dtype="boolean"),
        }),
    }
    try:
        import pyarrow as pa

        objs["arrow_int"] = pd.Series([1, 2, None], dtype=pd.ArrowDtype(pa.int64()))
        objs["arrow_str"] = pd.Series(["a", None, "c"], dtype=pd.ArrowDtype(pa.string()))
        objs["arrow_ts"] = pd.Series(pd.date_range("2024", periods=3, tz="UTC"), dtype=pd.ArrowDtype(pa.timestamp("us", tz="UTC")))
        objs["string_pyarrow"] = pd.Series(list("abc"), dtype=pd.StringDtype("pyarrow"))
        objs["arrow_list"] = pd.Series([[1, 2], [3]], dtype=pd.ArrowDtype(pa.list_(pa.int32())))
    except Exception as e:
        print(f"  pandas arrow: {e}")
    return objs


def gen_pandas() -> None:
    import pandas as pd

    for name, obj in pandas_objects().items():
        pickles("pandas", f"pickle/{name}", obj, protocols=(2, 4, 5))
        if isinstance(obj, (pd.DataFrame, pd.Series)):
            for comp in (None, "gzip", "bz2", "xz", "zip", "zstd"):
                p = OUT / "pandas" / "to_pickle" / f"{name}.{comp or 'none'}.pkl"
                p.parent.mkdir(parents=True, exist_ok=True)
                try:
                    obj.to_pickle(p, compression=comp)
                    COUNTS["pandas"] += 1
                except Exception as e:
                    print(f"  pandas {name} {comp}: {e}"[:200])


# --------------------------------------------------------------------------- numpy
def gen_numpy() -> None:
    rng = np.random.default_rng(7)
    arrays = {
        "f64": rng.random((4, 3)),
        "f32": rng.random(8).astype(np.float32),
        "f16": np.arange(5, dtype=np.float16),
        "i8": np.arange(-4, 4, dtype=np.int8),
        "u64": np.arange(6, dtype=np.uint64),
        "bool": np.array([True, False, True]),
        "c128": np.arange(3) * (1 + 2j),
        "str_u": np.array(["alpha", "beta"]),
        "bytes_s": np.array([b"ab", b"cd"]),
        "datetime64": np.arange("2024-01-01", "2024-01-05", dtype="datetime64[D]"),
        "timedelta64": np.array([1, 2, 3], dtype="timedelta64[ms]"),
        "structured": np.array([(1, 2.0, b"x"), (3, 4.0, b"y")], dtype=[("i", "<i4"), ("f", "<f8"), ("s", "S1")]),
        "nested_struct": np.zeros(2, dtype=[("pos", "<f4", (3,)), ("meta", [("id", "<u2"), ("ok", "?")])]),
        "fortran": np.asfortranarray(rng.random((3, 4))),
        "bigendian": np.arange(4, dtype=">i4"),
        "empty": np.empty((0, 3)),
        "scalar0d": np.array(3.5),
        "object_mixed": np.array([1, "two", 3.0, None, (4, 5)], dtype=object),
        "object_lists": np.array([[1, 2], [3]], dtype=object),
        "object_decimal": np.array([decimal.Decimal("1.1"), fractions.Fraction(1, 3)], dtype=object),
        "stringdtype": np.array(["a", "bc", "def"], dtype=np.dtypes.StringDType()),
    }
    for name, a in arrays.items():
        obj = a.dtype == object or a.dtype.kind == "T"
        buf = io.BytesIO()
        try:
            np.save(buf, a, allow_pickle=True)
            write("numpy", f"npy/{name}.npy", buf.getvalue())
        except Exception as e:
            print(f"  numpy save {name}: {e}")
        pickles("numpy", f"pickle/{name}", a, protocols=range(0, 6) if not obj else (2, 4, 5))
    for kind, fn in (("savez", np.savez), ("savez_compressed", np.savez_compressed)):
        for i, keys in enumerate((["f64", "i8"], ["structured", "datetime64", "bool"], ["object_mixed", "f32"], list(arrays))):
            buf = io.BytesIO()
            try:
                fn(buf, **{k: arrays[k] for k in keys})
                write("numpy", f"npz/{kind}_{i}.npz", buf.getvalue())
            except Exception as e:
                print(f"  numpy {kind} {i}: {e}")
    # Random state objects: Generator over each bit generator, RandomState, SeedSequence.
    rs = {
        "seedseq": np.random.SeedSequence(12345),
        "seedseq_spawned": np.random.SeedSequence(1).spawn(2),
        "randomstate": np.random.RandomState(3),
        "randomstate_mt": np.random.RandomState(np.random.MT19937(4)),
        "legacy_global_state": np.random.get_state(),
    }
    for bg in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
        rs[f"gen_{bg}"] = np.random.Generator(getattr(np.random, bg)(5))
        rs[f"bitgen_{bg}"] = getattr(np.random, bg)(6)
    misc = {
        "masked": np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]),
        "masked_2d": np.ma.masked_invalid(np.array([[1.0, np.nan], [3.0, 4.0]])),
        "masked_scalar": np.ma.masked,
        "recarray": np.rec.fromrecords([(1, "a"), (2, "b")], names="n,s"),
        "record": np.rec.fromrecords([(1, "a")], names="n,s")[0],
        "matrix": np.matrix([[1, 2], [3, 4]]),
        "memmap_like_view": np.arange(10)[::2],
        "scalars": [np.float64(1.5), np.int32(7), np.bool_(True), np.complex64(1j), np.str_("s"), np.datetime64("2024-01-01")],
        "dtypes": [np.dtype("f8"), np.dtype([("a", "i4")]), np.dtype("M8[ns]"), np.dtypes.StringDType()],
        "ufuncs": [np.log1p, np.sqrt, np.add, np.exp, np.maximum],
        "functions": [np.mean, np.median, np.percentile],
        "finfo_like": {"eps": np.finfo(np.float32).eps, "max": np.iinfo(np.int16).max},
        "poly": np.polynomial.Polynomial([1, 2, 3]),
        "poly1d": np.poly1d([1, 0, -1]),
    }
    for name, obj in {**rs, **misc}.items():
        pickles("numpy", f"objects/{name}", obj, protocols=(2, 3, 4, 5))
        if name in ("masked", "recarray", "matrix"):
            buf = io.BytesIO()
            np.save(buf, obj, allow_pickle=True)
            write("numpy", f"npy/{name}.npy", buf.getvalue())


# --------------------------------------------------------------------------- stdlib / user package
def gen_stdlib() -> None:
    import mgcorpus_userpkg as up

    objs = {
        "enum_user": [up.Color.RED, up.Flags.READ | up.Flags.WRITE, up.Stage.EVAL],
        "dataclass_user": up.TrainConfig(lr=0.1, tags=["a"], stage=up.Stage.EVAL),
        "dataclass_slots_user": up.Point(1.0, 2.0),
        "namedtuple_user": [up.Pair(1, 2), up.Span(3, 4)],
        "vocab_user": up.Vocab(["the", "a", "model"]),
        "function_ref_user": up.double,
        "enum_main": [MainColor.RED, MainColor.BLUE],
        "namedtuple_main": MainPair(1, "x"),
        "class_main": MainRecord("r", [1, 2]),
        "function_ref_main": main_square,
        "fraction": fractions.Fraction(3, 7),
        "decimal": decimal.Decimal("3.14159"),
        "decimal_context": decimal.Context(prec=10),
        "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5),
        "datetime_tz_utc": datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
        "datetime_zoneinfo": datetime.datetime(2024, 6, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
        "zoneinfo": zoneinfo.ZoneInfo("Asia/Kolkata"),
        "date_time_delta": [datetime.date(2020, 2, 29), datetime.time(13, 14), datetime.timedelta(days=2, seconds=3)],
        "timezone_offset": datetime.timezone(datetime.timedelta(hours=5, minutes=30), "IST"),
        "collections": [collections.OrderedDict(a=1), collections.deque([1, 2], maxlen=5),
                        collections.Counter("hello"), collections.defaultdict(list, {"k": [1]}),
                        collections.defaultdict(int), collections.ChainMap({"a": 1}, {"b": 2})],
        "sets": [set([1, 2]), frozenset(["x"]), range(3, 9, 2), slice(1, 5), complex(1, 2), bytearray(b"ab")],
        "builtins_refs": [abs, len, min, max, sum, sorted, round, str, int, float, list, dict],
        "operator_refs": [operator.itemgetter(1), operator.itemgetter("a", "b"), operator.attrgetter("x.y"), operator.add, operator.mul],
        "partial_round": functools.partial(round, ndigits=2),
        "partial_int_base": functools.partial(int, base=16),
        "partial_user": functools.partial(up.double),
        "uuid": __import__("uuid").UUID(int=12345),
        "pathlib": [Path("models/model.bin"), __import__("pathlib").PurePosixPath("/a/b")],
        "re_pattern": __import__("re").compile(r"\d+", 2),
        "array_module": __import__("array").array("d", [1.0, 2.0]),
        "ipaddress": [__import__("ipaddress").ip_address("10.0.0.1"), __import__("ipaddress").ip_network("10.0.0.0/8")],
        "future_annotations": __import__("__future__").annotations,
        "struct_time": datetime.datetime(2024, 1, 1).timetuple(),
        "types_simplenamespace": __import__("types").SimpleNamespace(a=1, b="x"),
    }
    for name, obj in objs.items():
        pickles("stdlib", name, obj)


# --------------------------------------------------------------------------- dill / cloudpickle
def harmless_functions() -> dict:
    import math

    import mgcorpus_userpkg as up

    def closure_factory(k):
        def scale(x):
            return x * k
        return scale

    def uses_numpy(x):
        return np.mean(np.asarray(x) ** 2)

    def uses_math(x):
        return math.sqrt(abs(x)) + math.pi

    def with_defaults(x, y=3, *args, z=None, **kw):
        total = x + y + sum(args)
        return total if z is None else total * z

    def generator(n):
        for i in range(n):
            yield i * i

    def comprehension(xs):
        return {x: [y for y in range(x)] for x in xs if x % 2 == 0}

    def calls_len(xs):
        return len(xs) / max(1, len(set(xs)))

    async def async_fn(x):
        return x

    class Local:
        factor = 2

        def __init__(self, v):
            self.v = v

        def scaled(self):
            return self.v * self.factor

    @functools.lru_cache(maxsize=None)
    def cached(x):
        return x + 1

    def tokenize(text):
        return [t.lower().strip(".,") for t in text.split()]

    return {
        "lambda_double": lambda x: x * 2,
        "lambda_np": lambda a: np.clip(a, 0, 1),
        "lambda_tuple": lambda x, y: (x + y, x - y),
        "closure": closure_factory(3),
        "uses_numpy": uses_numpy,
        "uses_math": uses_math,
        "with_defaults": with_defaults,
        "generator_fn": generator,
        "comprehension": comprehension,
        "calls_len": calls_len,
        "async_fn": async_fn,
        "local_class": Local,
        "local_instance": Local(5),
        "cached": cached,
        "tokenize": tokenize,
        "main_func": main_square,
        "main_class_instance": MainRecord("m", [3]),
        "user_func": up.double,
        "list_of_lambdas": [lambda x: x + 1, lambda x: x - 1],
        "dict_with_fn": {"preprocess": tokenize, "post": lambda s: s.upper()},
        "partial_lambda": functools.partial(lambda a, b: a * b, 2),
        "staticmethod_like": staticmethod(abs).__func__,
    }


def gen_dill_cloudpickle() -> None:
    import cloudpickle
    import dill

    for name, fn in harmless_functions().items():
        for proto in (2, 3, 4, 5):
            try:
                write("cloudpickle", f"{name}.p{proto}.pkl", cloudpickle.dumps(fn, protocol=proto))
            except Exception as e:
                print(f"  cloudpickle {name}: {e}"[:200])
        for variant, kw in (("default", {}), ("recurse", {"recurse": True}), ("byref", {"byref": True}), ("p2", {"protocol": 2})):
            try:
                write("dill", f"{name}.{variant}.pkl", dill.dumps(fn, **kw))
            except Exception as e:
                print(f"  dill {name} {variant}: {e}"[:200])
    # dill's session dump of a module holding data and a helper function.
    import types

    # Its function is defined in the module's own namespace, so the dump holds only it
    # (a lambda from this script would carry this script's globals).
    m = types.ModuleType("mgcorpus_session")
    exec("data = [1, 2, 3]\ndef fn(x):\n    return [v + x for v in data]\n", m.__dict__)
    buf = io.BytesIO()
    try:
        dill.dump_module(buf, module=m, refimported=True)
        write("dill", "dump_module.pkl", buf.getvalue())
    except Exception as e:
        print(f"  dill dump_module: {e}")


# --------------------------------------------------------------------------- xgboost / lightgbm
def gen_boosters() -> None:
    import joblib
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    try:
        import xgboost as xgb

        for i, params in enumerate(({"n_estimators": 3, "max_depth": 2}, {"n_estimators": 5, "max_depth": 3, "learning_rate": 0.3})):
            clf = xgb.XGBClassifier(**params, random_state=i).fit(X, y)
            pickles("xgboost", f"sklearn_api_{i}", clf, protocols=(2, 4, 5))
            joblibs("xgboost", f"sklearn_api_{i}", clf)
            booster = xgb.train({"max_depth": 2}, xgb.DMatrix(X, y), num_boost_round=3)
            pickles("xgboost", f"booster_{i}", booster, protocols=(4, 5))
            for ext in ("json", "ubj"):
                p = OUT / "xgboost" / f"booster_{i}.{ext}"
                booster.save_model(p)
                COUNTS["xgboost"] += 1
    except Exception:
        traceback.print_exc()
    try:
        import lightgbm as lgb

        for i in range(2):
            clf = lgb.LGBMClassifier(n_estimators=3 + i, num_leaves=4, verbose=-1, random_state=i).fit(X, y)
            pickles("lightgbm", f"sklearn_api_{i}", clf, protocols=(2, 4, 5))
            joblibs("lightgbm", f"sklearn_api_{i}", clf)
            pickles("lightgbm", f"booster_{i}", clf.booster_, protocols=(4, 5))
            p = OUT / "lightgbm" / f"booster_{i}.txt"
            clf.booster_.save_model(p)
            COUNTS["lightgbm"] += 1
    except Exception:
        traceback.print_exc()


# --------------------------------------------------------------------------- torch
def gen_torch() -> None:
    import torch
    from torch import nn

    from mgcorpus_userpkg.torch_modules import TinyConv, TinyNet

    torch.manual_seed(0)
    d = OUT / "torch"
    d.mkdir(parents=True, exist_ok=True)

    def save(rel, obj, **kw):
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        torch.save(obj, p, **kw)
        COUNTS["torch"] += 1

    models = {
        "tinynet": TinyNet(),
        "tinyconv": TinyConv(),
        "sequential": nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Dropout(0.1), nn.Linear(4, 1)),
        "lstm": nn.LSTM(4, 6, batch_first=True),
        "gru": nn.GRU(3, 5),
        "embedding_bag": nn.Sequential(nn.Embedding(10, 4), nn.LayerNorm(4)),
        "transformer_layer": nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True),
        "conv_bn": nn.Sequential(nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3), nn.GELU(), nn.MaxPool1d(2)),
    }
    for name, m in models.items():
        sd = m.state_dict()
        save(f"state_dict/{name}.pt", sd)
        save(f"state_dict_legacy/{name}.pt", sd, _use_new_zipfile_serialization=False)
        save(f"full/{name}.pt", m)
        save(f"full_legacy/{name}.pt", m, _use_new_zipfile_serialization=False)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        save(f"checkpoint/{name}.ckpt", {"epoch": 3, "model": sd, "optimizer": opt.state_dict(),
                                         "config": {"lr": 1e-3, "name": name}, "rng": torch.get_rng_state()})
    tensors = {
        "f32": torch.randn(3, 4),
        "bf16": torch.randn(4).to(torch.bfloat16),
        "f16": torch.randn(4).half(),
        "int64": torch.arange(5),
        "bool": torch.tensor([True, False]),
        "complex": torch.randn(3, dtype=torch.complex64),
        "uint8": torch.arange(4, dtype=torch.uint8),
        "float8": torch.randn(4).to(torch.float8_e4m3fn),
        "sparse_coo": torch.eye(3).to_sparse(),
        "sparse_csr": torch.eye(3).to_sparse_csr(),
        "quant_per_tensor": torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.quint8),
        "quant_per_channel": torch.quantize_per_channel(torch.randn(2, 3), torch.tensor([0.1, 0.2]), torch.tensor([0, 0]), 0, torch.qint8),
        "parameter": nn.Parameter(torch.randn(2)),
        "size_dtype_device": [torch.Size([2, 3]), torch.float32, torch.device("cpu"), torch.per_tensor_affine, torch.per_channel_affine],
        "view_shared": (lambda t: {"a": t, "b": t[1:]})(torch.arange(6.0)),
        "nested_tensor_dict": {"layer": {"w": torch.ones(2, 2), "b": torch.zeros(2)}, "step": 10},
        "numpy_in_torch": {"arr": np.arange(4), "t": torch.ones(1)},
    }
    for name, t in tensors.items():
        try:
            save(f"tensors/{name}.pt", t)
            save(f"tensors_legacy/{name}.pt", t, _use_new_zipfile_serialization=False)
        except Exception as e:
            print(f"  torch.save {name}: {e}"[:200])
        for proto in (2, 4, 5):  # plain pickle of tensors: storages through _load_from_bytes
            try:
                write("torch", f"plain_pickle/{name}.p{proto}.pkl", pickle.dumps(t, protocol=proto))
            except Exception as e:
                print(f"  pickle {name}: {e}"[:200])
    # TorchScript: scripted and traced.
    for name in ("tinynet", "sequential", "conv_bn", "tinyconv"):
        m = models[name].eval()
        x = {"tinynet": torch.randn(1, 4), "sequential": torch.randn(1, 3), "conv_bn": torch.randn(1, 2, 8), "tinyconv": torch.randn(1, 1, 6, 6)}[name]
        try:
            (d / "torchscript").mkdir(exist_ok=True)
            torch.jit.save(torch.jit.script(m), d / f"torchscript/{name}.scripted.pt")
            COUNTS["torch"] += 1
        except Exception as e:
            print(f"  jit.script {name}: {e}"[:200])
        try:
            torch.jit.save(torch.jit.trace(m, x), d / f"torchscript/{name}.traced.pt")
            COUNTS["torch"] += 1
        except Exception as e:
            print(f"  jit.trace {name}: {e}"[:200])
        # ONNX export (TorchScript-based exporter; the dynamo one needs onnxscript).
        for dyn in (False, True):
            try:
                (d / "onnx").mkdir(exist_ok=True)
                torch.onnx.export(m, (x,), str(d / f"onnx/{name}.{'dynamo' if dyn else 'ts'}.onnx"), dynamo=dyn)
                COUNTS["torch"] += 1
            except Exception as e:
                print(f"  onnx export {name} dynamo={dyn}: {type(e).__name__}: {e}"[:200])
    try:
        @torch.jit.script
        def scripted_fn(x: torch.Tensor, k: int = 2) -> torch.Tensor:
            return torch.relu(x) * k + x.mean()

        scripted_fn.save(str(d / "torchscript/scripted_fn.pt"))
        COUNTS["torch"] += 1
    except Exception as e:
        print(f"  scripted fn: {e}")


# --------------------------------------------------------------------------- onnx.helper
def gen_onnx() -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    for i, (op, attrs) in enumerate([("Relu", {}), ("Sigmoid", {}), ("Softmax", {"axis": 1}),
                                     ("LeakyRelu", {"alpha": 0.1}), ("Gelu", {}), ("Tanh", {})]):
        for opset in (13, 17, 20):
            if op == "Gelu" and opset < 20:
                continue
            W = numpy_helper.from_array(rng.random((4, 3)).astype(np.float32), "W")
            B = numpy_helper.from_array(np.zeros(3, np.float32), "B")
            nodes = [helper.make_node("MatMul", ["X", "W"], ["H"]), helper.make_node("Add", ["H", "B"], ["Z"]),
                     helper.make_node(op, ["Z"], ["Y"], **attrs)]
            g = helper.make_graph(nodes, f"g_{op}", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
                                  [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 3])], [W, B])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="mgcorpus",
                                  doc_string=f"tiny {op} model")
            helper.set_model_props(m, {"author": "corpus", "license": "MIT"})
            onnx.checker.check_model(m)
            write("onnx", f"helper/{op}_opset{opset}.onnx", m.SerializeToString())
            write("onnx", f"helper/{op}_opset{opset}.W.pb", W.SerializeToString())
    # External data: weights in a side file, as large models store them.
    W = numpy_helper.from_array(rng.random((64, 64)).astype(np.float32), "W")
    g = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "ext",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 64])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 64])], [W])
    m = helper.make_model(g)
    (OUT / "onnx" / "external").mkdir(parents=True, exist_ok=True)
    onnx.save_model(m, OUT / "onnx/external/model.onnx", save_as_external_data=True,
                    location="model.onnx.data", size_threshold=0)
    COUNTS["onnx"] += 2
    # A function (local function) and an If subgraph.
    then_g = helper.make_graph([helper.make_node("Identity", ["X"], ["Y1"])], "then", [], [helper.make_tensor_value_info("Y1", TensorProto.FLOAT, [1])])
    else_g = helper.make_graph([helper.make_node("Neg", ["X"], ["Y2"])], "else", [], [helper.make_tensor_value_info("Y2", TensorProto.FLOAT, [1])])
    g = helper.make_graph([helper.make_node("If", ["C"], ["Y"], then_branch=then_g, else_branch=else_g)], "if",
                          [helper.make_tensor_value_info("C", TensorProto.BOOL, []), helper.make_tensor_value_info("X", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1])])
    write("onnx", "helper/if_subgraph.onnx", helper.make_model(g).SerializeToString())


# --------------------------------------------------------------------------- safetensors
def gen_safetensors() -> None:
    import torch
    from safetensors.numpy import save as np_save
    from safetensors.torch import save as t_save

    torch.manual_seed(0)

    metas = [
        None,
        {"format": "pt"},
        {"format": "pt", "description": "A tiny test model. Install the tools with: curl -fsSL https://example.com/install.sh | sh"},
        {"training_command": "python train.py --lr 1e-3 --epochs 3", "framework": "pytorch"},
        {"readme": "from transformers import AutoModel\nmodel = AutoModel.from_pretrained('org/model')"},
        {"note": "loaded with eval() of the config in v0? no: config is json", "json": '{"a": 1}'},
    ]
    for i, meta in enumerate(metas):
        tensors = {"w": torch.randn(4, 4), "b": torch.zeros(4), "emb": torch.randn(10, 2).half()}
        write("safetensors", f"torch_{i}.safetensors", t_save(tensors, metadata=meta))
        arrs = {"a": np.arange(6, dtype=np.int32).reshape(2, 3), "f": np.ones(3, np.float64)}
        write("safetensors", f"numpy_{i}.safetensors", np_save(arrs, metadata=meta))


# --------------------------------------------------------------------------- gguf
def gen_gguf() -> None:
    import gguf

    templates = [
        "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + '</s>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}",
        "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] | trim + ' [/INST]' }}{% else %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}",
        None,
    ]
    for i, tpl in enumerate(templates):
        for arch in ("llama", "gpt2"):
            p = OUT / "gguf" / f"{arch}_{i}.gguf"
            p.parent.mkdir(parents=True, exist_ok=True)
            w = gguf.GGUFWriter(str(p), arch)
            w.add_name(f"corpus-{arch}-{i}")
            w.add_context_length(128)
            w.add_embedding_length(8)
            w.add_block_count(1)
            w.add_tokenizer_model("gpt2" if arch == "gpt2" else "llama")
            w.add_token_list(["<s>", "</s>", "a", "b"])
            if tpl:
                w.add_chat_template(tpl)
            w.add_tensor("token_embd.weight", np.random.default_rng(i).random((4, 8)).astype(np.float32))
            w.add_tensor("output_norm.weight", np.ones(8, np.float32))
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file()
            w.close()
            COUNTS["gguf"] += 1


# --------------------------------------------------------------------------- transformers
def gen_transformers() -> None:
    """Hugging Face layouts: save_pretrained (safetensors + config.json), the legacy
    pytorch_model.bin (torch.save of the state dict), a whole model through torch.save,
    and training_args.bin (torch.save(TrainingArguments), which the Trainer writes)."""
    import torch
    import transformers as tr

    torch.manual_seed(0)
    configs = {
        "bert": (tr.BertConfig, tr.BertModel, {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32, "vocab_size": 64}),
        "gpt2": (tr.GPT2Config, tr.GPT2LMHeadModel, {"n_embd": 16, "n_layer": 1, "n_head": 2, "vocab_size": 64, "n_positions": 32}),
        "t5": (tr.T5Config, tr.T5ForConditionalGeneration, {"d_model": 16, "d_ff": 32, "num_layers": 1, "num_heads": 2, "d_kv": 8, "vocab_size": 64}),
        "vit": (tr.ViTConfig, tr.ViTModel, {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32, "image_size": 8, "patch_size": 4}),
    }
    d = OUT / "transformers"
    for name, (cfg_cls, model_cls, kw) in configs.items():
        try:
            m = model_cls(cfg_cls(**kw))
            m.save_pretrained(d / name)
            COUNTS["transformers"] += len(list((d / name).iterdir()))
            torch.save(m.state_dict(), d / name / "pytorch_model.bin")
            torch.save(m, d / f"{name}_full_model.pt")
            COUNTS["transformers"] += 2
        except Exception as e:
            print(f"  transformers {name}: {type(e).__name__}: {e}"[:200])
    for i, kw in enumerate(({}, {"learning_rate": 3e-5, "num_train_epochs": 2, "lr_scheduler_type": "cosine", "fp16": False})):
        try:
            ta = tr.TrainingArguments(output_dir="/tmp/mgcorpus-training-output", report_to=[], **kw)
            (d / f"run{i}").mkdir(parents=True, exist_ok=True)
            torch.save(ta, d / f"run{i}" / "training_args.bin")
            COUNTS["transformers"] += 1
        except Exception as e:
            print(f"  training_args: {type(e).__name__}: {e}"[:200])
    try:
        gen = tr.GenerationConfig(max_new_tokens=8, do_sample=True, top_p=0.9)
        torch.save({"generation_config": gen, "step": 3}, d / "generation_config.pt")
        COUNTS["transformers"] += 1
    except Exception as e:
        print(f"  generation config: {e}"[:200])

# --------------------------------------------------------------------------- more libraries
def gen_sklearn_all() -> None:
    """Every estimator scikit-learn lists (all_estimators), default parameters, fitted on a
    small dataset when it can be: one pickle and one joblib file each."""
    import warnings

    import joblib
    from sklearn.datasets import make_classification
    from sklearn.utils.discovery import all_estimators

    warnings.filterwarnings("ignore")
    X, y = make_classification(n_samples=60, n_features=4, n_informative=2, random_state=0)
    Xp = np.abs(X)
    for name, cls in all_estimators():
        try:
            est = cls()
        except Exception:
            continue  # needs arguments (meta-estimators)
        fitted = False
        for data in ((Xp, y), (Xp,), ([{"a": 1, "b": 2}, {"a": 3}] * 3,), (["some text", "more text"] * 3,)):
            try:
                est.fit(*data)
                fitted = True
                break
            except Exception:
                continue
        stem = f"{name}{'' if fitted else '.unfitted'}"
        try:
            write("sklearn_all", f"{stem}.p4.pkl", pickle.dumps(est, protocol=4))
            p = OUT / "sklearn_all" / f"{stem}.joblib"
            joblib.dump(est, p)
            COUNTS["sklearn_all"] += 1
        except Exception as e:
            print(f"  sklearn_all {name}: {type(e).__name__}: {e}"[:200])


def gen_scipy() -> None:
    from scipy import interpolate, sparse, spatial, stats

    rng = np.random.default_rng(3)
    m = sparse.random(6, 5, density=0.3, random_state=1)
    x = np.linspace(0, 1, 8)
    objs = {
        "csr_matrix": m.tocsr(), "csc_matrix": m.tocsc(), "coo_matrix": m.tocoo(), "lil_matrix": m.tolil(),
        "dok_matrix": m.todok(), "bsr_matrix": m.tobsr(), "dia_matrix": sparse.eye(4, format="dia"),
        "csr_array": sparse.csr_array(m), "coo_array": sparse.coo_array(m),
        "norm_frozen": stats.norm(loc=1, scale=2), "gamma_frozen": stats.gamma(2.0),
        "poisson_frozen": stats.poisson(3), "multivariate_normal": stats.multivariate_normal([0, 0], np.eye(2)),
        "gaussian_kde": stats.gaussian_kde(rng.random(20)),
        "kdtree": spatial.KDTree(rng.random((10, 2))), "ckdtree": spatial.cKDTree(rng.random((10, 2))),
        "rotation": spatial.transform.Rotation.from_euler("xyz", [10, 20, 30], degrees=True),
        "interp1d": interpolate.interp1d(x, x ** 2),
        "cubic_spline": interpolate.CubicSpline(x, np.sin(x)),
        "univariate_spline": interpolate.UnivariateSpline(x, np.cos(x)),
        "rbf": interpolate.RBFInterpolator(rng.random((8, 2)), rng.random(8)),
        "ppoly": interpolate.PPoly(np.ones((2, 1)), [0, 1]),
        "bspline": interpolate.make_interp_spline(x, x ** 3),
    }
    for name, obj in objs.items():
        pickles("scipy", name, obj, protocols=(2, 4, 5))
    buf = io.BytesIO()
    sparse.save_npz(buf, m.tocsr())
    write("scipy", "save_npz_csr.npz", buf.getvalue())
    buf = io.BytesIO()
    sparse.save_npz(buf, m.tocoo(), compressed=False)
    write("scipy", "save_npz_coo.npz", buf.getvalue())


def gen_statsmodels() -> None:
    import warnings

    import pandas as pd
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"x": rng.random(40), "g": rng.choice(["a", "b"], 40)})
    df["y"] = 2 * df.x + (df.g == "a") + rng.normal(0, 0.1, 40)
    df["c"] = (df.y > df.y.median()).astype(int)
    ts = pd.Series(np.cumsum(rng.normal(size=60)), index=pd.date_range("2020", periods=60, freq="MS"))
    fits = {
        "ols": lambda: smf.ols("y ~ x + g", df).fit(),
        "logit": lambda: smf.logit("c ~ x", df).fit(disp=0),
        "glm_poisson": lambda: sm.GLM(np.round(df.y.abs() * 3), sm.add_constant(df.x), family=sm.families.Poisson()).fit(),
        "arima": lambda: sm.tsa.ARIMA(ts, order=(1, 0, 0)).fit(),
        "exp_smoothing": lambda: sm.tsa.ExponentialSmoothing(ts, trend="add").fit(),
        "ols_array": lambda: sm.OLS(df.y.to_numpy(), sm.add_constant(df.x.to_numpy())).fit(),
    }
    for name, fit in fits.items():
        try:
            res = fit()
            for remove in (False, True):
                p = OUT / "statsmodels" / f"{name}{'.small' if remove else ''}.pickle"
                p.parent.mkdir(parents=True, exist_ok=True)
                res.save(str(p), remove_data=remove)  # statsmodels' own pickle-based save
                COUNTS["statsmodels"] += 1
        except Exception as e:
            print(f"  statsmodels {name}: {type(e).__name__}: {e}"[:200])


def gen_misc_libs() -> None:
    """networkx graphs, sympy expressions, tokenizers, torch.export archives."""
    try:
        import networkx as nx

        graphs = {"karate": nx.karate_club_graph(), "digraph": nx.gnp_random_graph(8, 0.3, seed=1, directed=True),
                  "multigraph": nx.MultiGraph([(1, 2), (1, 2), (2, 3)]), "grid": nx.grid_2d_graph(3, 3)}
        for name, g in graphs.items():
            pickles("networkx", name, g, protocols=(2, 4, 5))
    except Exception:
        traceback.print_exc()
    try:
        import sympy

        x, y = sympy.symbols("x y")
        exprs = {"poly": x ** 2 + 3 * x * y - 1, "trig": sympy.sin(x) ** 2 + sympy.cos(x) ** 2,
                 "matrix": sympy.Matrix([[x, 1], [0, y]]), "rational": sympy.Rational(3, 7) * sympy.pi,
                 "integral": sympy.Integral(sympy.exp(-x ** 2), (x, 0, sympy.oo))}
        for name, e in exprs.items():
            pickles("sympy", name, e, protocols=(2, 4, 5))
    except Exception:
        traceback.print_exc()
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers, trainers

        for i, kind in enumerate(("bpe", "wordpiece", "unigram")):
            if kind == "bpe":
                tok, tr_ = Tokenizer(models.BPE(unk_token="[UNK]")), trainers.BpeTrainer(vocab_size=60, special_tokens=["[UNK]"])
            elif kind == "wordpiece":
                tok, tr_ = Tokenizer(models.WordPiece(unk_token="[UNK]")), trainers.WordPieceTrainer(vocab_size=60, special_tokens=["[UNK]"])
            else:
                tok, tr_ = Tokenizer(models.Unigram()), trainers.UnigramTrainer(vocab_size=40)
            tok.pre_tokenizer = pre_tokenizers.Whitespace()
            tok.train_from_iterator(["the quick brown fox", "jumps over the lazy dog"] * 5, tr_)
            pickles("tokenizers", kind, tok, protocols=(4, 5))
    except Exception:
        traceback.print_exc()
    try:
        import torch

        from mgcorpus_userpkg.torch_modules import TinyConv, TinyNet

        for name, m, x in (("tinynet", TinyNet(), torch.randn(2, 4)), ("tinyconv", TinyConv().eval(), torch.randn(1, 1, 6, 6))):
            ep = torch.export.export(m, (x,))
            p = OUT / "torch_export" / f"{name}.pt2"
            p.parent.mkdir(parents=True, exist_ok=True)
            torch.export.save(ep, str(p))
            COUNTS["torch_export"] += 1
    except Exception as e:
        print(f"  torch.export: {type(e).__name__}: {e}"[:200])
    try:
        import torch
        from torch import nn

        # Whole-module pickles of many torch.nn classes: torch.save(module).
        mods = [nn.Conv3d(1, 1, 2), nn.ConvTranspose2d(1, 1, 2), nn.GroupNorm(1, 2), nn.InstanceNorm1d(2),
                nn.PReLU(), nn.Softmax(dim=1), nn.LogSoftmax(dim=1), nn.Hardswish(), nn.Mish(), nn.SiLU(),
                nn.Upsample(scale_factor=2), nn.PixelShuffle(2), nn.Flatten(), nn.Unflatten(1, (2, 2)),
                nn.Identity(), nn.Bilinear(2, 2, 1), nn.RNN(2, 3), nn.LSTMCell(2, 3), nn.MultiheadAttention(4, 2),
                nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8),
                nn.CrossEntropyLoss(), nn.MSELoss(), nn.BCEWithLogitsLoss(pos_weight=torch.ones(1)),
                nn.ModuleDict({"a": nn.Linear(1, 1)}), nn.ParameterList([nn.Parameter(torch.ones(1))]),
                nn.EmbeddingBag(5, 2), nn.AvgPool2d(2), nn.Dropout2d(), nn.ZeroPad2d(1), nn.CosineSimilarity()]
        for m in mods:
            name = type(m).__name__
            p = OUT / "torch_nn" / f"{name}.pt"
            p.parent.mkdir(parents=True, exist_ok=True)
            torch.save(m, p)
            COUNTS["torch_nn"] += 1
        model = nn.Linear(3, 1)
        opts = {"sgd": torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), "adamw": torch.optim.AdamW(model.parameters()),
                "rmsprop": torch.optim.RMSprop(model.parameters())}
        for name, opt in opts.items():
            model(torch.randn(2, 3)).sum().backward()
            opt.step()
            sched = torch.optim.lr_scheduler.StepLR(opt, 2)
            torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, OUT / "torch_nn" / f"optim_{name}.pt")
            torch.save(opt, OUT / "torch_nn" / f"optim_{name}_whole.pt")
            COUNTS["torch_nn"] += 2
    except Exception:
        traceback.print_exc()


def main() -> None:
    sections = [gen_sklearn, gen_pandas, gen_numpy, gen_stdlib, gen_dill_cloudpickle,
                gen_boosters, gen_torch, gen_onnx, gen_safetensors, gen_gguf, gen_transformers,
                gen_sklearn_all, gen_scipy, gen_statsmodels, gen_misc_libs]
    only = set(sys.argv[2:])
    for fn in sections:
        if only and fn.__name__ not in only:
            continue
        print(f"{fn.__name__} ...", flush=True)
        try:
            fn()
        except Exception:
            traceback.print_exc()
    for k, v in sorted(COUNTS.items()):
        print(f"made/{k}: {v} files")
    print(f"made: {sum(COUNTS.values())} files")


if __name__ == "__main__":
    main()
