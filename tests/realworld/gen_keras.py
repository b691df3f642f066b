#!/usr/bin/env python3
"""Keras 3 models for the real-world corpus (run with the tensorflow venv:
requirements-keras.txt). Built-in layers and activations referenced by name, harmless
Lambda layers (mean, scaling, slicing), saved as .keras (zip: config.json +
model.weights.h5), legacy .h5, weights-only .weights.h5, and TFLite conversions.
Nothing is loaded back.
"""

from __future__ import annotations

import collections
import sys
import traceback
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/corpus/realworld/made") / "keras"
OUT.mkdir(parents=True, exist_ok=True)
COUNTS: collections.Counter = collections.Counter()

ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "gelu", "swish", "elu", "selu",
               "softplus", "leaky_relu", "relu6", "silu", "linear", "hard_sigmoid", "mish"]


def mlp(act: str, n_in: int = 4) -> keras.Model:
    inp = keras.Input((n_in,))
    x = layers.Dense(8, activation=act)(inp)
    x = layers.Dropout(0.1)(x)
    out = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inp, out, name=f"mlp_{act}")


def lambda_models() -> dict:
    import tensorflow as tf

    inp = keras.Input((6,))
    m = {}
    m["lambda_tf_reduce_mean"] = keras.Model(inp, layers.Lambda(lambda x: tf.reduce_mean(x, axis=-1, keepdims=True))(inp))
    m["lambda_ops_mean"] = keras.Model(inp, layers.Lambda(lambda x: ops.mean(x, axis=-1, keepdims=True))(inp))
    m["lambda_scale"] = keras.Model(inp, layers.Lambda(lambda x: x * 2.0 + 1.0)(inp))
    m["lambda_slice"] = keras.Model(inp, layers.Lambda(lambda x: x[:, :3])(inp))
    m["lambda_l2norm"] = keras.Model(inp, layers.Lambda(lambda x: x / (ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True)) + 1e-6))(inp))
    m["lambda_concat"] = keras.Model(inp, layers.Lambda(lambda x: ops.concatenate([x, ops.abs(x)], axis=-1))(inp))
    m["lambda_tf_clip"] = keras.Model(inp, layers.Lambda(lambda x: tf.clip_by_value(x, 0.0, 1.0))(inp))
    # Functions passed by reference: Keras 3 writes {"module": "builtins", "class_name":
    # "function", "config": "relu"}, resolved through its own registry at load time.
    for fname, fn in (("keras_relu", keras.activations.relu), ("tf_nn_relu", tf.nn.relu),
                      ("ops_relu", ops.relu), ("tf_log1p", tf.math.log1p),
                      ("tf_softmax", tf.nn.softmax), ("keras_gelu", keras.activations.gelu)):
        m[f"lambda_fn_{fname}"] = keras.Model(inp, layers.Lambda(fn)(inp))
    seq = keras.Sequential([keras.Input((6,)), layers.Dense(4), layers.Lambda(lambda t: ops.relu(t) - 0.5), layers.Dense(1)])
    m["sequential_lambda"] = seq
    return m


def other_models() -> dict:
    m = {}
    for act in ACTIVATIONS:
        m[f"mlp_{act}"] = mlp(act)
    m["sequential"] = keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="relu"),
                                         layers.BatchNormalization(), layers.Dense(1, activation="sigmoid")])
    inp = keras.Input((8, 8, 1))
    x = layers.Conv2D(2, 3, activation="relu", padding="same")(inp)
    x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    m["cnn"] = keras.Model(inp, layers.Dense(3, activation="softmax")(x))
    inp = keras.Input((5,), dtype="int32")
    x = layers.Embedding(20, 4)(inp)
    x = layers.LSTM(3)(x)
    m["embedding_lstm"] = keras.Model(inp, layers.Dense(1)(x))
    inp = keras.Input((4, 8))
    x = layers.MultiHeadAttention(num_heads=2, key_dim=4)(inp, inp)
    x = layers.LayerNormalization()(x + inp)
    m["attention"] = keras.Model(inp, layers.GlobalAveragePooling1D()(x))
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    m["two_inputs"] = keras.Model([a, b], layers.Dense(1)(layers.Concatenate()([a, b])))
    inp = keras.Input((4,))
    m["activation_layers"] = keras.Model(inp, layers.Activation("gelu")(layers.ReLU(max_value=6.0)(layers.Dense(4)(inp))))
    m["rescaling_norm"] = keras.Sequential([keras.Input((3,)), layers.Rescaling(1 / 255.0), layers.Normalization(mean=0.5, variance=0.25), layers.Dense(2)])
    return m


def save_all(name: str, model: keras.Model, with_h5: bool = True) -> None:
    model.compile(optimizer="adam", loss="mse")
    for suffix, kw in ((".keras", {}),):
        try:
            model.save(OUT / f"{name}{suffix}", **kw)
            COUNTS["keras"] += 1
        except Exception as e:
            print(f"  {name}{suffix}: {e}"[:200])
    if with_h5:
        try:
            model.save(OUT / "h5" / f"{name}.h5")
            COUNTS["h5"] += 1
        except Exception as e:
            print(f"  {name}.h5: {e}"[:200])
    try:
        model.save_weights(OUT / "weights" / f"{name}.weights.h5")
        COUNTS["weights"] += 1
    except Exception as e:
        print(f"  {name}.weights.h5: {e}"[:200])


def tflite(name: str, model: keras.Model) -> None:
    import tensorflow as tf

    try:
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        (OUT / "tflite").mkdir(exist_ok=True)
        (OUT / "tflite" / f"{name}.tflite").write_bytes(conv.convert())
        COUNTS["tflite"] += 1
    except Exception as e:
        print(f"  tflite {name}: {type(e).__name__}: {e}"[:200])


def gen_savedmodel() -> None:
    """TensorFlow SavedModels: a tf.Module with tf.functions and a Keras 3 export."""
    import tensorflow as tf

    class Scale(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable([[1.0, 2.0], [3.0, 4.0]])

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def __call__(self, x):
            return tf.nn.relu(tf.matmul(x, self.w)) + tf.reduce_mean(x)

    try:
        tf.saved_model.save(Scale(), str(OUT / "savedmodel" / "tf_module"))
        COUNTS["savedmodel"] += 1
    except Exception:
        traceback.print_exc()
    for name in ("sequential", "cnn"):
        try:
            other_models()[name].export(str(OUT / "savedmodel" / f"keras_export_{name}"), verbose=False)
            COUNTS["savedmodel"] += 1
        except Exception as e:
            print(f"  export {name}: {e}"[:200])


def gen_tf_keras() -> None:
    """Keras 2 (tf_keras): legacy .h5 with Lambda layers (marshalled bytecode), .keras v3."""
    try:
        import tensorflow as tf
        import tf_keras as k2
    except ImportError as e:
        print(f"  tf_keras: skipped ({e})")
        return
    d = OUT / "tf_keras"
    d.mkdir(exist_ok=True)
    inp = k2.Input((6,))
    models = {
        "dense_relu": k2.Sequential([k2.Input((4,)), k2.layers.Dense(8, activation="relu"), k2.layers.Dense(2, activation="softmax")]),
        "lambda_scale": k2.Model(inp, k2.layers.Lambda(lambda x: x * 2.0)(inp)),
        "lambda_reduce_mean": k2.Model(inp, k2.layers.Lambda(lambda x: tf.reduce_mean(x, axis=-1))(inp)),
        "lambda_fn_relu": k2.Model(inp, k2.layers.Lambda(tf.nn.relu)(inp)),
        "lambda_fn_k2_relu": k2.Model(inp, k2.layers.Lambda(k2.activations.relu)(inp)),
        "lambda_slice": k2.Model(inp, k2.layers.Lambda(lambda x: x[:, :2], output_shape=(2,))(inp)),
        "activation_by_fn": k2.Sequential([k2.Input((4,)), k2.layers.Dense(3, activation=tf.nn.gelu), k2.layers.Activation(tf.nn.relu6)]),
        "conv": k2.Sequential([k2.Input((8, 8, 1)), k2.layers.Conv2D(2, 3, activation="relu"), k2.layers.Flatten(), k2.layers.Dense(1)]),
    }
    for name, m in models.items():
        m.compile(optimizer="adam", loss="mse")
        for ext, kw in ((".h5", {}), (".keras", {})):
            try:
                m.save(d / f"{name}{ext}", **kw)
                COUNTS["tf_keras"] += 1
            except Exception as e:
                print(f"  tf_keras {name}{ext}: {e}"[:200])
    try:
        models["dense_relu"].save(str(d / "savedmodel_dense_relu"), save_format="tf")
        COUNTS["tf_keras"] += 1
    except Exception as e:
        print(f"  tf_keras savedmodel: {e}"[:200])


def main() -> None:
    (OUT / "h5").mkdir(exist_ok=True)
    (OUT / "weights").mkdir(exist_ok=True)
    keras.utils.set_random_seed(0)
    for name, m in other_models().items():
        save_all(name, m)
        if name in ("sequential", "cnn", "mlp_relu", "mlp_gelu", "two_inputs"):
            tflite(name, m)
    for name, m in lambda_models().items():
        save_all(name, m)
        if name in ("lambda_tf_reduce_mean", "lambda_scale"):
            tflite(name, m)
    # A model whose weights were trained a little: optimizer variables in the file.
    try:
        m = mlp("relu")
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        m.fit(np.random.default_rng(0).random((16, 4)), np.arange(16) % 2, epochs=1, verbose=0)
        m.save(OUT / "trained_mlp.keras")
        m.save(OUT / "h5" / "trained_mlp.h5")
        COUNTS["keras"] += 2
    except Exception:
        traceback.print_exc()
    gen_savedmodel()
    gen_tf_keras()
    for k, v in sorted(COUNTS.items()):
        print(f"made/keras/{k}: {v} files")


if __name__ == "__main__":
    main()
