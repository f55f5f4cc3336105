"""Replays of real Keras training runs (`../shared/fixtures/train/`): rebuild the model, set w0,
compile with the recorded optimizer and loss, call train_on_batch N times; the losses and the
final weights must equal Keras's to 1e-4 relative.

The six "binding" runs clip hard enough that the clip changes every step (their npz holds Keras's
first-step per-weight gradient norms, before clipping, which rnnkit's must equal), and cover
Bidirectional "ave"/"mul" merges and Masking gaps over GRU(reset_after=False) and LSTM."""

import json

import numpy as np
import pytest

from conftest import FIXTURES
from rnnkit import optimizers
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Embedding, Masking, SimpleRNN, TimeDistributed
from rnnkit.models import Sequential

SIMPLE_RNN_RUNS = ["sgd_simple_rnn_dense_mse", "adam_deep_simple_rnn_cce",
                   "rmsprop_bidirectional_simple_rnn_sparse", "sgd_momentum_nesterov_clipnorm_seq"]
GATED_RUNS = ["adam_lstm_binary", "adam_clip_embedding_mask_gru_sparse"]
CLIP_BINDING_RUNS = ["sgd_clipnorm_binds_lstm", "adam_clipvalue_binds_gru",
                     "rmsprop_global_clipnorm_binds_bidir_ave"]
MERGE_AND_MASK_RUNS = ["sgd_momentum_bidir_mul_lstm_seq", "adam_masking_gaps_gru_reset_before_seq",
                       "rmsprop_masking_gaps_lstm_last"]


def build_layer(spec, first=False):
    cls, cfg = spec["class_name"], spec["config"]
    shape = {"batch_input_shape": cfg["batch_input_shape"]} if first and "batch_input_shape" in cfg else {}
    if cls == "SimpleRNN":
        keys = ("units", "activation", "use_bias", "return_sequences", "go_backwards")
        return SimpleRNN(**{k: cfg[k] for k in keys}, **shape)
    if cls in ("LSTM", "GRU"):
        keys = ("units", "activation", "recurrent_activation", "use_bias", "return_sequences", "go_backwards")
        extra = {"reset_after": cfg["reset_after"]} if cls == "GRU" else {}
        return (LSTM if cls == "LSTM" else GRU)(**{k: cfg[k] for k in keys}, **extra, **shape)
    if cls == "Embedding":
        return Embedding(cfg["input_dim"], cfg["output_dim"], mask_zero=cfg["mask_zero"],
                         input_length=cfg.get("input_length"))
    if cls == "Masking":
        return Masking(mask_value=cfg["mask_value"], **shape)
    if cls == "Dense":
        return Dense(cfg["units"], activation=cfg["activation"], use_bias=cfg["use_bias"], **shape)
    if cls == "Bidirectional":
        return Bidirectional(build_layer(cfg["layer"]), merge_mode=cfg["merge_mode"], **shape)
    if cls == "TimeDistributed":
        return TimeDistributed(build_layer(cfg["layer"]), **shape)
    raise AssertionError(cls)


class RecordingOptimizer:
    """Wraps an optimizer and keeps, per step, the per-weight norms and largest |entry| of the
    gradients it is handed, before its own clipping (which happens inside `apply_gradients`)."""

    def __init__(self, optimizer):
        self.inner = optimizer
        self.norms, self.max_abs = [], []

    def apply_gradients(self, grads_and_vars, **kwargs):
        pairs = list(grads_and_vars)
        self.norms.append([float(np.linalg.norm(np.asarray(g, np.float64))) for g, _ in pairs])
        self.max_abs.append(max(float(np.abs(g).max()) for g, _ in pairs))
        return self.inner.apply_gradients(pairs, **kwargs)


def replay(name, record=None):
    spec = json.loads((FIXTURES / "train" / f"{name}.json").read_text())
    data = np.load(FIXTURES / "train" / f"{name}.npz")
    model = Sequential([build_layer(layer, first=(i == 0)) for i, layer in enumerate(spec["layers"])])
    n_weights = len(spec["weight_shapes"])
    model.set_weights([data[f"w0_{i}"] for i in range(n_weights)])
    optimizer = optimizers.get({"class_name": spec["optimizer"]["class_name"],
                                "config": spec["optimizer"]["config"]})
    model.compile(optimizer=optimizer, loss=spec["loss"])
    if record is not None:
        record.inner = model.optimizer
        model.optimizer = record
    losses = [model.train_on_batch(data["x"], data["y"]) for _ in range(spec["steps"])]
    return losses, model.get_weights(), data, n_weights


@pytest.mark.parametrize("name", SIMPLE_RNN_RUNS + GATED_RUNS + CLIP_BINDING_RUNS + MERGE_AND_MASK_RUNS)
def test_training_replays_keras(name):
    losses, weights, data, n_weights = replay(name)
    np.testing.assert_allclose(losses, data["losses"], rtol=1e-4)
    for i in range(n_weights):
        expected = data[f"w1_{i}"]
        scale = np.abs(expected).max()
        np.testing.assert_allclose(weights[i], expected, rtol=1e-4, atol=1e-4 * scale, err_msg=f"w1_{i}")


@pytest.mark.parametrize("name", CLIP_BINDING_RUNS)
def test_first_step_gradient_norms_match_keras_and_the_clip_binds(name):
    spec = json.loads((FIXTURES / "train" / f"{name}.json").read_text())
    kind, limit = spec["clip"]
    record = RecordingOptimizer(None)
    replay(name, record=record)
    expected = np.load(FIXTURES / "train" / f"{name}.npz")["first_step_grad_norms"]
    norms = np.array(record.norms)
    assert norms.shape == (spec["steps"], len(spec["weight_shapes"]))
    np.testing.assert_allclose(norms[0], expected, rtol=1e-4)
    # The run exercises the clip only if the clip changes the gradient, at every step.
    if kind == "clipnorm":
        assert np.all(norms > limit)
    elif kind == "global_clipnorm":
        assert np.all(np.sqrt(np.sum(norms ** 2, axis=1)) > limit)
    else:
        assert kind == "clipvalue" and np.all(np.array(record.max_abs) > limit)
