"""Replays of tf_keras 2.21 training runs of `../shared/fixtures/train_graph/` whose functional model
is a plain chain (Input -> [Embedding] -> LSTM/GRU -> Dense), rebuilt here as a Sequential:
set w0, compile as recorded (optimizer from its JSON config, schedules included), N calls of
train_on_batch on the recorded batch with the recorded sample or class weights. Every result
(loss, metrics, weighted metrics) of every step and the final weights must equal Keras's to
1e-4 relative. These pin tf_keras's semantics: loss = sum(s_i l_i) / batch_size, weighted
metrics sum(s_i m_i) / sum(s_i), plain metrics ignore weights, class_weight -> sample weights,
AdamW's decoupled decay with the schedule's rate at `iterations`, masked loss over real steps.

The other train_graph runs need layers rnnkit lacks (Conv1D, LayerNormalization, Concatenate,
BatchNormalization) or several outputs; their optimizers (Nadam, Adamax) are pinned by
tests/test_optimizers.py against references of Keras's update rules instead."""

import json

import numpy as np
import pytest

from conftest import FIXTURES
from rnnkit import optimizers
from rnnkit.layers import GRU, LSTM, Dense, Embedding, Input
from rnnkit.models import Sequential

FOLDER = FIXTURES / "train_graph"
CHAIN_RUNS = ["sample_weight_gru_sgd", "class_weight_lstm_rmsprop", "adamw_exponential_decay_lstm"]


def build(spec):
    layers = []
    for layer in spec["layers"]:
        cls, cfg = layer["class_name"], layer["config"]
        if cls == "InputLayer":
            if cfg["dtype"] == "float32":    # token ids go straight into the Embedding
                layers.append(Input(shape=tuple(cfg["batch_input_shape"][1:]), dtype=cfg["dtype"]))
        elif cls in ("LSTM", "GRU"):
            keys = ("units", "activation", "recurrent_activation", "use_bias", "return_sequences", "go_backwards")
            extra = {"reset_after": cfg["reset_after"]} if cls == "GRU" else {}
            layers.append((LSTM if cls == "LSTM" else GRU)(**{k: cfg[k] for k in keys}, **extra))
        elif cls == "Embedding":
            length = spec["inputs"][0]["shape"][1]
            layers.append(Embedding(cfg["input_dim"], cfg["output_dim"], mask_zero=cfg["mask_zero"],
                                    input_length=length))
        elif cls == "Dense":
            layers.append(Dense(cfg["units"], activation=cfg["activation"], use_bias=cfg["use_bias"]))
        else:
            raise AssertionError(cls)
    return Sequential(layers)


def load(name):
    spec = json.loads((FOLDER / f"{name}.json").read_text())
    data = np.load(FOLDER / f"{name}.npz")
    model = build(spec)
    model.set_weights([data[f"w0_{i}"] for i in range(len(spec["weight_shapes"]))])
    model.compile(optimizer=optimizers.get(spec["optimizer"]), loss=spec["loss"], metrics=spec["metrics"],
                  weighted_metrics=spec["weighted_metrics"])
    return spec, data, model


def assert_weights(model, data, n):
    weights = model.get_weights()
    for i in range(n):
        expected = data[f"w1_{i}"]
        np.testing.assert_allclose(weights[i], expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max(),
                                   err_msg=f"w1_{i}")


def replay(name, use_class_weight=True):
    spec, data, model = load(name)
    kwargs = {}
    if spec["class_weight"] is not None and use_class_weight:
        kwargs["class_weight"] = {int(k): v for k, v in spec["class_weight"].items()}
    elif "sw0" in data.files:
        kwargs["sample_weight"] = data["sw0"]
    results, rates = [], []
    for _ in range(spec["steps"]):
        rates.append(model.optimizer.learning_rate)
        out = model.train_on_batch(data["x0"], data["y0"], **kwargs)
        results.append(out if isinstance(out, list) else [out])
    return spec, data, model, np.array(results), np.array(rates)


@pytest.mark.parametrize("name", CHAIN_RUNS)
def test_chain_runs_replay_keras(name):
    spec, data, model, results, rates = replay(name)
    assert model.metrics_names == spec["result_names"]
    np.testing.assert_allclose(results[:, 0], data["losses"], rtol=1e-4)
    np.testing.assert_allclose(results, data["results"], rtol=1e-4, atol=1e-6)
    assert_weights(model, data, len(spec["weight_shapes"]))
    if "learning_rates" in data.files:
        np.testing.assert_allclose(rates, data["learning_rates"], rtol=1e-6)


def test_the_runs_exercise_what_they_pin():
    # The sample weights hold zeros and differ from one another, the class weights are not all
    # one, and the weighted accuracy differs from the plain one: otherwise the replays above
    # could pass with weights ignored.
    data = np.load(FOLDER / "sample_weight_gru_sgd.npz")
    assert (data["sw0"] == 0).any() and len(set(data["sw0"].tolist())) > 2
    assert not np.allclose(data["results"][:, 1], data["results"][:, 2])
    data = np.load(FOLDER / "class_weight_lstm_rmsprop.npz")
    assert len(set(data["sw0"].tolist())) == 3


def test_class_weight_equals_the_recorded_sample_weights():
    # Keras's statement: training with the derived weights as sample_weight is identical.
    _, data, by_class, results_class, _ = replay("class_weight_lstm_rmsprop")
    _, _, by_sample, results_sample, _ = replay("class_weight_lstm_rmsprop", use_class_weight=False)
    np.testing.assert_array_equal(results_class, results_sample)
    for a, b in zip(by_class.get_weights(), by_sample.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_loss_divides_by_the_batch_size_not_the_weight_sum():
    # Formula stated in advance (README): loss = sum(s_i l_i) / batch_size.
    spec, data, model = load("sample_weight_gru_sgd")
    x, y, sw = data["x0"], data["y0"], data["sw0"]
    p = np.clip(model.predict(x, verbose=0).astype(np.float64), 1e-7, 1 - 1e-7)
    per_sample = -(y * np.log(p + 1e-7) + (1 - y) * np.log(1 - p + 1e-7))[:, 0]
    expected = np.sum(sw * per_sample) / len(x)
    assert model.test_on_batch(x, y, sample_weight=sw)[0] == pytest.approx(expected, rel=1e-5)
    assert abs(np.sum(sw * per_sample) / np.sum(sw) - expected) > 1e-3     # the other reading differs
