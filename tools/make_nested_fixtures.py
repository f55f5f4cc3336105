"""Writes tests/fixtures_local/nested/: models holding models, saved by real Keras, with the
predictions Keras computed for a fixed input (what tests/models/test_nested_files.py checks).

Not part of the suite (it needs Keras). Run once per Keras:
    TF_USE_LEGACY_KERAS=1 /tmp/hf_tfvenv/bin/python tools/make_nested_fixtures.py tf_keras
    KERAS_BACKEND=jax /tmp/hf_k3venv/bin/python tools/make_nested_fixtures.py keras3

Models (the same in both):
    chain     Model(x, Dense(2)(stack(encoder(x)))): a functional encoder (LSTM -> GRU) and a
              Sequential (Dense) nested in a functional model.
    twice     Model([a, b], Dense(1)(concatenate([tower(a), tower(b)]))): one nested model called
              on two inputs (its weights shared).
    masked    Sequential([Input, Embedding(mask_zero), reader, Dense]) where `reader` is a
              functional model (LSTM(return_sequences) -> LSTM): the outer mask reaches the inner
              model.
tf_keras also prints each model's summary, plain then with expand_nested=True (<name>_tf_keras.summary.txt).
"""

import os
import pathlib
import sys

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "fixtures_local" / "nested"


def build(keras):
    layers = keras.layers
    inner_in = keras.Input((5, 3))
    encoder = keras.Model(inner_in, layers.GRU(6)(layers.LSTM(4, return_sequences=True)(inner_in)), name="encoder")
    stack = keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="tanh")], name="stack")
    x = keras.Input((5, 3))
    chain = keras.Model(x, layers.Dense(2)(stack(encoder(x))), name="chain")

    tower_in = keras.Input((4, 2))
    tower = keras.Model(tower_in, layers.SimpleRNN(3)(tower_in), name="tower")
    a, b = keras.Input((4, 2)), keras.Input((4, 2))
    twice = keras.Model([a, b], layers.Dense(1)(layers.concatenate([tower(a), tower(b)])), name="twice")

    reader_in = keras.Input((6, 4))
    reader = keras.Model(reader_in, layers.LSTM(3)(layers.LSTM(5, return_sequences=True)(reader_in)), name="reader")
    masked = keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(9, 4, mask_zero=True), reader,
                               layers.Dense(2)], name="masked")
    return {"chain": chain, "twice": twice, "masked": masked}


def inputs():
    rng = np.random.default_rng(7)
    ids = rng.integers(1, 9, size=(4, 6))
    ids[0, 3:] = 0
    ids[1, 1:] = 0
    return {"chain": [rng.normal(size=(4, 5, 3)).astype("float32")],
            "twice": [rng.normal(size=(4, 4, 2)).astype("float32"), rng.normal(size=(4, 4, 2)).astype("float32")],
            "masked": [ids.astype("int32")]}


def import_keras(which):
    """(the Keras module, its file extension): tf_keras writes .h5, Keras 3 .keras."""
    if which == "tf_keras":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tf_keras
        return tf_keras, "h5"
    import keras
    return keras, "keras"


def main(which):
    keras, extension = import_keras(which)
    suffix = f"{which}.{extension}"
    keras.utils.set_random_seed(3)
    OUT.mkdir(parents=True, exist_ok=True)
    data = inputs()
    expected = {}
    for name, model in build(keras).items():
        rng = np.random.default_rng(11)
        model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()])
        model.save(OUT / f"{name}_{suffix}")
        if which == "tf_keras":   # tf_keras's text, which rnnkit's summaries follow (totals aside)
            lines = []
            model.summary(print_fn=lines.append)
            model.summary(print_fn=lines.append, expand_nested=True)
            (OUT / f"{name}_{which}.summary.txt").write_text("\n".join(lines) + "\n")
        given = data[name]
        expected[f"{name}_x"] = np.array(len(given))
        for i, array in enumerate(given):
            expected[f"{name}_x{i}"] = array
        expected[f"{name}_y"] = np.asarray(model.predict(given if len(given) > 1 else given[0], verbose=0))
    np.savez(OUT / f"expected_{suffix.split('.')[0]}.npz", **expected)


if __name__ == "__main__":
    main(sys.argv[1])
