"""The optimizer state API the saving code uses, checked end to end on Keras's own files
(`fixtures/compiled_keras2`, `compiled_keras3`): the architecture and weights loaded by
`load_model`, the compile settings by `compile_from_config` (tf_keras's training_config, Keras 3's
compile_config), the optimizer's slots and step count by `set_optimizer_variables` in the file's
order; then three train_on_batch calls must give the losses and weights Keras got going on from
the same file (1e-4 relative)."""

import io
import json
import zipfile

import numpy as np
import pytest

from conftest import FIXTURES
from rnnkit.models import load_model

h5py = pytest.importorskip("h5py")
CASES = ["adam_lstm_regressor", "rmsprop_embed_gru_classifier", "sgd_nesterov_bidir_simple_rnn"]


def keras2_state(name):
    path = FIXTURES / "compiled_keras2" / f"{name}.h5"
    with h5py.File(path, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["optimizer_weights"].attrs["weight_names"]]
        values = [f["optimizer_weights"][n][()] for n in names]
        config = json.loads(f.attrs["training_config"])
    return path, config, values, "tf_keras"


def keras3_state(name):
    path = FIXTURES / "compiled_keras3" / f"{name}.keras"
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))["compile_config"]
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            group = f["optimizer"]["vars"]
            values = [group[str(i)][()] for i in range(len(group))]
    return path, config, values, "keras3"


# Keras 3's RMSprop on the sparse Embedding gradient of rmsprop_embed_gru_classifier.keras squares each
# occurrence of a repeated token before summing; rnnkit (and tf_keras, which deduplicates first)
# squares the summed row. The manifest stages that file; the last test here reproduces Keras 3's
# numbers by emulating its rule.


def pairs():
    for name in CASES:
        yield pytest.param(name, keras2_state, id=f"{name}-tf_keras")
        if not name.startswith("rmsprop_embed"):  # tests/fixture_manifest.json stages that one, and why
            yield pytest.param(name, keras3_state, id=f"{name}-keras3")


@pytest.mark.parametrize("name,state", list(pairs()))
def test_training_goes_on_where_keras_stopped(name, state):
    path, config, values, layout = state(name)
    folder = "compiled_keras2" if layout == "tf_keras" else "compiled_keras3"
    data = np.load(FIXTURES / folder / f"{name}.npz")
    model = load_model(path, compile=False)
    model.compile_from_config(config)
    model.set_optimizer_variables(values, layout=layout)
    assert model.optimizer.iterations == 3
    losses = [model.train_on_batch(data["x"], data["y"]) for _ in range(3)]
    losses = [out[0] if isinstance(out, list) else out for out in losses]
    np.testing.assert_allclose(losses, data["post_losses"], rtol=1e-4)
    for i, w in enumerate(model.get_weights()):
        expected = data[f"w_{i}"]
        np.testing.assert_allclose(w, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max(), err_msg=f"w_{i}")
    # And the state written back is the state Keras would write after those steps: same layout.
    assert [v.shape for v in model.get_optimizer_variables(layout)] == [np.shape(v) for v in values]


def test_without_the_slots_training_differs():
    # The check above can fail: starting the same optimizer from empty slots gives other losses.
    path, config, _, _ = keras2_state("adam_lstm_regressor")
    data = np.load(FIXTURES / "compiled_keras2" / "adam_lstm_regressor.npz")
    model = load_model(path, compile=False)
    model.compile_from_config(config)
    losses = [model.train_on_batch(data["x"], data["y"]) for _ in range(3)]
    losses = [out[0] if isinstance(out, list) else out for out in losses]
    assert not np.allclose(losses, data["post_losses"], rtol=1e-4)



def test_keras3_sparse_embedding_rmsprop_rule_explains_the_staged_file():
    # Emulation of the staged file's explanation: RMSprop's velocity row for a token gets the sum over
    # its occurrences of (occurrence gradient)^2, the rest of the update is the dense one.
    # Per-occurrence gradients come from a twin model whose Embedding has one row per
    # (sample, step) occurrence, holding the same vector: its row gradients are exactly them.
    import rnnkit.layers as L
    from rnnkit.models import Sequential
    path, config, values, _ = keras3_state("rmsprop_embed_gru_classifier")
    data = np.load(FIXTURES / "compiled_keras3" / "rmsprop_embed_gru_classifier.npz")
    x, y = data["x"], data["y"]
    model = load_model(path, compile=False)
    model.compile_from_config(config)
    model.set_optimizer_variables(values, layout="keras3")
    opt = model.optimizer
    rho, lr, momentum, eps = opt.rho, opt.learning_rate, opt.momentum, opt.epsilon
    weights = model.get_weights()
    order = [(key, slot) for key, slot in opt._ordered_slots()]
    n = len(weights)
    velocity = [order[i][1].astype(np.float64) for i in range(n)]
    moment = [order[n + i][1].astype(np.float64) for i in range(n)]
    occurrences = np.flatnonzero(x.ravel())
    ids = np.zeros(x.size, np.int64)
    ids[occurrences] = np.arange(1, len(occurrences) + 1)
    ids = ids.reshape(x.shape)
    losses = []
    for _ in range(3):
        twin = Sequential([L.Embedding(len(occurrences) + 1, 4, mask_zero=True, input_length=x.shape[1]),
                           L.GRU(6), L.Dense(3, activation="softmax")])
        table = np.zeros((len(occurrences) + 1, 4), np.float32)
        table[1:] = weights[0][x.ravel()[occurrences]]
        twin.set_weights([table] + weights[1:])
        twin.compile("sgd", "sparse_categorical_crossentropy")
        probe = twin.test_on_batch(ids, y)
        losses.append(probe)
        out = twin._forward(ids, training=True)
        p = np.clip(out.astype(np.float64), 1e-7, 1 - 1e-7)
        d = -np.eye(3)[y] / p / len(y)
        twin._backward(d.astype(np.float32))
        grads = [g.astype(np.float64) for g, _ in twin._trainable_pairs()]
        per_occurrence = grads[0][1:]
        dense = np.zeros_like(weights[0], np.float64)
        squares = np.zeros_like(weights[0], np.float64)
        np.add.at(dense, x.ravel()[occurrences], per_occurrence)
        np.add.at(squares, x.ravel()[occurrences], per_occurrence ** 2)
        for i, g in enumerate([dense] + grads[1:]):
            velocity[i] = rho * velocity[i] + (1 - rho) * (squares if i == 0 else g * g)
            moment[i] = momentum * moment[i] + lr * g / np.sqrt(velocity[i] + eps)
            weights[i] = (weights[i] - moment[i]).astype(np.float32)
    np.testing.assert_allclose(losses, data["post_losses"], rtol=1e-4)
    for i, w in enumerate(weights):
        expected = data[f"w_{i}"]
        np.testing.assert_allclose(w, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max(), err_msg=f"w_{i}")
