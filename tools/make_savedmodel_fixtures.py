"""Makes the TF SavedModel fixtures under tests/fixtures_local/savedmodel/ (run once, with
TensorFlow; the test suite never imports it).

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu tf-keras
    /tmp/tfvenv/bin/python tools/make_savedmodel_fixtures.py

For each case NAME, tf_keras 2.x writes `model.save("NAME", save_format="tf")` (a SavedModel folder:
saved_model.pb, keras_metadata.pb, variables/variables.index + variables.data-00000-of-00001) and
`NAME.npz` beside it: `x` (an input batch) and `y` (what `model.predict(x)` returned, float32).
Biases are random_uniform so that bias handling is tested; `save_traces=False` and no optimizer
keep the folders small. Each folder is then reloaded with tf_keras in a fresh load and must
predict `y` exactly.
"""

import os
import pathlib
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["TF_USE_LEGACY_KERAS"] = "1"

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "fixtures_local" / "savedmodel"
BIAS = keras.initializers.RandomUniform(-0.5, 0.5, seed=3)


def cases():
    L = keras.layers
    yield "simple_rnn_dense", (5, 3), "float", keras.Sequential([
        L.InputLayer(input_shape=(5, 3)),
        L.SimpleRNN(4, return_sequences=True, bias_initializer=BIAS),
        L.SimpleRNN(3, activation="relu", bias_initializer=BIAS),
        L.Dense(2, activation="softmax", bias_initializer=BIAS)])
    yield "lstm_stack", (6, 4), "float", keras.Sequential([
        L.InputLayer(input_shape=(6, 4)),
        L.LSTM(5, return_sequences=True, bias_initializer=BIAS),
        L.LSTM(3, go_backwards=True, bias_initializer=BIAS)])
    yield "gru_both_resets", (5, 3), "float", keras.Sequential([
        L.InputLayer(input_shape=(5, 3)),
        L.GRU(4, return_sequences=True, bias_initializer=BIAS),
        L.GRU(3, reset_after=False, recurrent_activation="hard_sigmoid", bias_initializer=BIAS),
        L.Dense(1, bias_initializer=BIAS)])
    yield "embedding_bidirectional_lstm", (7,), "tokens", keras.Sequential([
        L.InputLayer(input_shape=(7,)),
        L.Embedding(30, 4, mask_zero=True, embeddings_initializer=keras.initializers.RandomUniform(-1, 1, seed=4)),
        L.Bidirectional(L.LSTM(3, return_sequences=True, bias_initializer=BIAS), merge_mode="sum"),
        L.TimeDistributed(L.Dense(2, bias_initializer=BIAS))])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(1)
    for name, shape, kind, model in cases():
        if kind == "tokens":
            x = rng.integers(1, 30, size=(3,) + shape).astype("int32")
            x[1, 4:] = 0
            x[2, 2:] = 0
        else:
            x = rng.normal(size=(3,) + shape).astype("float32") * 2
        y = model.predict(x, verbose=0).astype("float32")
        folder = OUT / name
        shutil.rmtree(folder, ignore_errors=True)
        model.save(folder, save_format="tf", include_optimizer=False, save_traces=False)
        np.savez(OUT / f"{name}.npz", x=x, y=y)
        again = keras.models.load_model(folder)
        assert np.array_equal(again.predict(x, verbose=0), y), name
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        print(f"{name}: {size} bytes, y {y.shape}")


if __name__ == "__main__":
    main()
