"""Regenerates tests/fixtures_local/conv_lstm/ and conv1d_variants/: Keras's own numbers for
ConvLSTM1D/2D/3D, SeparableConv1D and Conv1DTranspose.

Run once with each Keras (never imported by the test suite):
    /tmp/hf_k3venv/bin/python tools/make_conv_fixtures.py keras3     # keras 3 (jax backend)
    /tmp/hf_tfvenv/bin/python tools/make_conv_fixtures.py keras2     # tf_keras 2.x

keras3 writes
    keras3_reference.npz   per case: input, weights (kernel, recurrent_kernel, bias) and Keras's
                           outputs (sequence or last output, then h and c), float64 inputs run in
                           float32 as Keras computes them
    keras3_model.keras     Sequential: ConvLSTM2D(return_sequences) -> ConvLSTM2D(filters=1)
    keras3_model.npz       an input and Keras's prediction from that file
conv1d_variants/ (both runs): keras3_reference.npz / keras2_reference.npz, the same per-case
    arrays for SeparableConv1D and Conv1DTranspose (VARIANTS), and keras3_model.keras /
    keras2_model.h5 (a Sequential of both) with their .npz input and prediction
keras2 writes
    keras2_model.h5        Sequential ConvLSTM2D (tf_keras's default recurrent_activation
                           'hard_sigmoid', Keras 2's formula) -> Flatten -> Dense, and
    keras2_model.npz       an input and tf_keras's prediction from that file
Weights are drawn from a fixed NumPy seed, so every run writes the same numbers.
"""

import os
import pathlib
import sys

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "fixtures_local" / "conv_lstm"
VARIANTS_OUT = OUT.parent / "conv1d_variants"

# name: (class, input shape (B, T, grid.., C), layer arguments)
CASES = {
    "conv_lstm2d_same_sequences_states": ("ConvLSTM2D", (2, 4, 5, 6, 2),
                                          dict(filters=3, kernel_size=(3, 2), padding="same",
                                               return_sequences=True, return_state=True)),
    "conv_lstm1d_strided_backwards_last": ("ConvLSTM1D", (2, 5, 9, 3),
                                           dict(filters=2, kernel_size=3, strides=2, padding="valid",
                                                go_backwards=True, return_state=True)),
    "conv_lstm1d_dilated_relu_hard_sigmoid": ("ConvLSTM1D", (2, 3, 8, 2),
                                              dict(filters=2, kernel_size=2, dilation_rate=2, padding="same",
                                                   activation="relu", recurrent_activation="hard_sigmoid",
                                                   return_sequences=True)),
    "conv_lstm3d_valid_no_bias": ("ConvLSTM3D", (1, 3, 4, 3, 4, 2),
                                  dict(filters=2, kernel_size=(2, 2, 3), use_bias=False, return_sequences=True)),
}


VARIANTS = {
    "separable_valid_multiplier_relu": ("SeparableConv1D", (2, 9, 3), dict(filters=4, kernel_size=3, depth_multiplier=2,
                                                                          activation="relu")),
    "separable_same_dilated": ("SeparableConv1D", (2, 10, 2), dict(filters=3, kernel_size=3, padding="same",
                                                                   dilation_rate=2)),
    "separable_strided_no_bias": ("SeparableConv1D", (1, 11, 2), dict(filters=2, kernel_size=2, strides=3,
                                                                      use_bias=False)),
    "transpose_valid_strided": ("Conv1DTranspose", (2, 5, 3), dict(filters=2, kernel_size=3, strides=2)),
    "transpose_same_even_kernel": ("Conv1DTranspose", (2, 5, 2), dict(filters=3, kernel_size=4, strides=2,
                                                                      padding="same", activation="tanh")),
    "transpose_kernel_below_stride": ("Conv1DTranspose", (1, 4, 2), dict(filters=2, kernel_size=2, strides=3)),
    "transpose_dilated": ("Conv1DTranspose", (1, 6, 2), dict(filters=2, kernel_size=3, dilation_rate=2)),
    "transpose_output_padding_same": ("Conv1DTranspose", (2, 5, 2), dict(filters=2, kernel_size=3, strides=2,
                                                                         padding="same", output_padding=1)),
    "transpose_output_padding_valid": ("Conv1DTranspose", (1, 4, 2), dict(filters=2, kernel_size=3, strides=3,
                                                                          output_padding=2)),
}


def variant_reference(keras, filename):
    """Per case: input, weights drawn from a seed, Keras's output and parameter count."""
    arrays = {"keras_version": np.array(keras.__version__)}
    for seed, (name, (class_name, shape, args)) in enumerate(sorted(VARIANTS.items())):
        rng = np.random.default_rng(300 + seed)
        model = keras.Sequential([keras.layers.InputLayer(input_shape=shape[1:]) if hasattr(keras, "__internal__")
                                  else keras.Input(shape[1:]), getattr(keras.layers, class_name)(**args)])
        weights = [rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in model.get_weights()]
        model.set_weights(weights)
        x = rng.standard_normal(shape).astype(np.float32)
        arrays[f"{name}/x"] = x
        for i, w in enumerate(weights):
            arrays[f"{name}/weight{i}"] = w
        arrays[f"{name}/output0"] = np.asarray(model.predict(x, verbose=0))
        arrays[f"{name}/params"] = np.array(model.count_params())
    np.savez(VARIANTS_OUT / filename, **arrays)


def variant_model(keras, first):
    return keras.Sequential([first, keras.layers.SeparableConv1D(4, 3, depth_multiplier=2, padding="same"),
                             keras.layers.Conv1DTranspose(3, 3, strides=2, padding="same", activation="relu"),
                             keras.layers.Conv1DTranspose(2, 2, strides=2)])


def case_arrays(shape, args, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    rank = len(shape) - 3
    k = args["kernel_size"] if isinstance(args["kernel_size"], tuple) else (args["kernel_size"],) * rank
    F = args["filters"]
    weights = [rng.standard_normal(k + (shape[-1], 4 * F)).astype(np.float32) * 0.4,
               rng.standard_normal(k + (F, 4 * F)).astype(np.float32) * 0.4]
    if args.get("use_bias", True):
        weights.append(rng.standard_normal(4 * F).astype(np.float32) * 0.4)
    return x, weights


def save_with_prediction(model, filename, load, seed, folder=OUT, **extra):
    """Seeded weights; the model saved; an input and the reloaded file's prediction beside it."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in model.get_weights()])
    model.save(folder / filename)
    x = rng.standard_normal((2,) + tuple(model.inputs[0].shape[1:])).astype(np.float32)
    np.savez(folder / (filename.rsplit(".", 1)[0] + ".npz"), x=x,
             prediction=load(folder / filename).predict(x, verbose=0), params=np.array(model.count_params()), **extra)


def keras3():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    arrays = {"keras_version": np.array(keras.__version__)}
    for seed, (name, (class_name, shape, args)) in enumerate(sorted(CASES.items())):
        x, weights = case_arrays(shape, args, seed)
        layer = getattr(keras.layers, class_name)(**args)
        model = keras.Sequential([keras.Input(shape[1:]), layer])
        layer.set_weights(weights)
        outputs = model.predict(x, verbose=0)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        arrays[f"{name}/x"] = x
        for i, w in enumerate(weights):
            arrays[f"{name}/weight{i}"] = w
        for i, o in enumerate(outputs):
            arrays[f"{name}/output{i}"] = np.asarray(o)
        arrays[f"{name}/params"] = np.array(model.count_params())
    np.savez(OUT / "keras3_reference.npz", **arrays)

    model = keras.Sequential([keras.Input((3, 6, 6, 1)),
                              keras.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True),
                              keras.layers.ConvLSTM2D(1, (1, 1), activation="sigmoid", return_sequences=True)])
    save_with_prediction(model, "keras3_model.keras", keras.saving.load_model, 100)
    variant_reference(keras, "keras3_reference.npz")
    save_with_prediction(variant_model(keras, keras.Input((6, 3))), "keras3_model.keras", keras.saving.load_model,
                         400, VARIANTS_OUT)


def keras2():
    import tf_keras as keras
    model = keras.Sequential([keras.layers.ConvLSTM2D(2, (3, 3), strides=(2, 1), input_shape=(3, 7, 5, 2)),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    save_with_prediction(model, "keras2_model.h5", keras.models.load_model, 200,
                         recurrent_activation=np.array(model.layers[0].get_config()["recurrent_activation"]))
    variant_reference(keras, "keras2_reference.npz")
    save_with_prediction(variant_model(keras, keras.layers.InputLayer(input_shape=(6, 3))), "keras2_model.h5",
                         keras.models.load_model, 500, VARIANTS_OUT)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    VARIANTS_OUT.mkdir(parents=True, exist_ok=True)
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    if which not in ("keras3", "keras2"):
        sys.exit("usage: make_conv_fixtures.py keras3|keras2")
    keras3() if which == "keras3" else keras2()
