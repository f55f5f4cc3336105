"""Keras parity: the fixtures' architectures rebuilt in rnnkit, weights copied from
`NAME.weights.h5`, predict `y` to 1e-5 (both tf_keras 2.21 and Keras 3.15 files)."""

import numpy as np
import pytest

from conftest import keras2_config, load_case
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Embedding, SimpleRNN, TimeDistributed
from rnnkit.models import Sequential

SIMPLE_RNN_CASES = [
    "simple_rnn_seq", "simple_rnn_last_relu_nobias", "simple_rnn_backwards", "deep_simple_rnn_dense",
    "bidirectional_simple_rnn_concat", "bidirectional_simple_rnn_sum",
    "bidirectional_simple_rnn_mul", "bidirectional_simple_rnn_ave",
]

GATED_CASES = ["lstm_stack", "gru_reset_after", "gru_reset_before", "bidirectional_lstm_concat",
               "embedding_mask_lstm_dense", "embedding_mask_bidirectional_gru_seq"]

_RNN_KEYS = ("units", "activation", "use_bias", "return_sequences", "go_backwards", "return_state")


def layer_from_keras(spec):
    """Only the options these fixtures vary, passed by hand (the file loader is another module)."""
    cls, cfg = spec["class_name"], spec["config"]
    if cls == "SimpleRNN":
        return SimpleRNN(**{k: cfg[k] for k in _RNN_KEYS})
    if cls == "LSTM":
        return LSTM(recurrent_activation=cfg["recurrent_activation"], **{k: cfg[k] for k in _RNN_KEYS})
    if cls == "GRU":
        return GRU(recurrent_activation=cfg["recurrent_activation"], reset_after=cfg["reset_after"],
                   **{k: cfg[k] for k in _RNN_KEYS})
    if cls == "Embedding":
        return Embedding(cfg["input_dim"], cfg["output_dim"], mask_zero=cfg["mask_zero"])
    if cls == "TimeDistributed":
        return TimeDistributed(layer_from_keras(cfg["layer"]))
    if cls == "Dense":
        return Dense(cfg["units"], activation=cfg["activation"], use_bias=cfg["use_bias"])
    if cls == "Bidirectional":
        return Bidirectional(layer_from_keras(cfg["layer"]), merge_mode=cfg["merge_mode"])
    raise AssertionError(cls)


@pytest.mark.parametrize("version", ["keras2", "keras3"])
@pytest.mark.parametrize("name", SIMPLE_RNN_CASES + GATED_CASES)
def test_predict_matches_keras(version, name):
    case, x, y, weights = load_case(version, name)
    model = Sequential([layer_from_keras(spec) for spec in keras2_config(name)])
    model.build((None,) + x.shape[1:])
    assert [layer.__class__.__name__ for layer in model.layers] == case["layers"]
    model.set_weights(weights)
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float32
    assert out.shape == y.shape == tuple(case["y_shape"])
    np.testing.assert_allclose(out, y, atol=1e-5, rtol=0)


def test_float64_predict_matches_keras_too():
    from rnnkit import backend
    backend.set_floatx("float64")
    case, x, y, weights = load_case("keras3", "bidirectional_simple_rnn_concat")
    model = Sequential([layer_from_keras(spec) for spec in keras2_config("bidirectional_simple_rnn_concat")])
    model.build((None,) + x.shape[1:])
    model.set_weights(weights)
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, y, atol=1e-5)
