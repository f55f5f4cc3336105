"""rnnkit.saving.export_onnx, run by onnxruntime: every Keras fixture model (Keras's own
predictions are the reference), the wild files rnnkit loads, and the cases the fixtures do not
cover (judged against rnnkit, whose masking and activations are fixture-tested elsewhere)."""

import pathlib

import numpy as np
import onnx
import onnxruntime
import pytest

from conftest import FIXTURES, fixture_index
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Masking, SimpleRNN, TimeDistributed
from rnnkit.models import Sequential, load_model
from rnnkit.saving import export_onnx

CASES = sorted(fixture_index("keras2"))


def run_onnx(path, x):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.mark.parametrize("version,ext", [("keras2", ".h5"), ("keras3", ".keras")])
@pytest.mark.parametrize("name", CASES)
def test_fixture_model_in_onnxruntime_predicts_what_keras_predicted(tmp_path, name, version, ext):
    model = load_model(FIXTURES / version / f"{name}{ext}")
    data = np.load(FIXTURES / version / f"{name}.npz")
    masked = "mask" in name
    report = export_onnx(model, tmp_path / "m.onnx", mask_padding="right" if masked else None)
    assert bool(report["notes"]) == masked
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", data["x"]), data["y"], atol=1e-5, rtol=0)
    kinds = {"LSTM": "LSTM", "GRU": "GRU", "SimpleRNN": "RNN"}
    assert any(op in report["operators"] for op in kinds.values())


@pytest.mark.parametrize("name", ["k209_nlpnd_emb_lstm", "tf224_imdb_emb_bigru"])
def test_wild_hard_sigmoid_files(tmp_path, name):
    model = load_model(FIXTURES / "wild" / f"{name}.h5")
    data = np.load(FIXTURES / "wild" / f"{name}.npz")
    export_onnx(model, tmp_path / "m.onnx")
    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    assert any("HardSigmoid" in [a.decode() for a in attribute.strings] for node in graph.node
               for attribute in node.attribute if attribute.name == "activations")
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", data["x0"].astype("int32")), data["y0"], atol=1e-5)


def right_padded_tokens(rng, batch=4, steps=9, vocabulary=20):
    ids = rng.integers(1, vocabulary, size=(batch, steps)).astype("int32")
    for row, length in enumerate([steps, 5, 1, 7][:batch]):
        ids[row, length:] = 0
    return ids


def randomized(model, rng, scale=0.8):
    model.set_weights([rng.normal(size=w.shape).astype("float32") * scale for w in model.get_weights()])
    return model


RNN = {"simple_rnn": lambda **kw: SimpleRNN(4, **kw), "lstm": lambda **kw: LSTM(4, **kw),
       "gru_after": lambda **kw: GRU(4, **kw), "gru_before": lambda **kw: GRU(4, reset_after=False, **kw)}


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("cell", sorted(RNN))
def test_masked_sequences_repeat_the_last_output_as_keras_does(tmp_path, cell, go_backwards):
    rng = np.random.default_rng(1)
    model = Sequential([Embedding(20, 3, mask_zero=True, input_length=9),
                        RNN[cell](return_sequences=True, go_backwards=go_backwards),
                        RNN[cell](return_sequences=True), TimeDistributed(Dense(2, activation="softmax"))])
    model.build((None, 9))
    randomized(model, rng)
    x = right_padded_tokens(rng)
    expected = model.predict(x, verbose=0)
    if not go_backwards:   # the premise: Keras's output on padded steps repeats the last real one
        np.testing.assert_array_equal(expected[1, 5:], np.broadcast_to(expected[1, 4], expected[1, 5:].shape))
    export_onnx(model, tmp_path / "m.onnx", mask_padding="right")
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x), expected, atol=1e-5)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_masking_layer_bidirectional_lstm(tmp_path, merge_mode, return_sequences):
    rng = np.random.default_rng(2)
    model = Sequential([Masking(0.0, input_shape=(None, 3)),
                        Bidirectional(LSTM(4, return_sequences=return_sequences), merge_mode=merge_mode),
                        Dropout(0.5), Dense(2)])
    randomized(model, rng)
    x = rng.normal(size=(3, 6, 3)).astype("float32")
    x[1, 4:] = 0.0
    x[2, 1:] = 0.0
    export_onnx(model, tmp_path / "m.onnx", mask_padding="right")
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x), model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("activation,recurrent_activation", [
    ("tanh", "hard_sigmoid"), ("tanh", "hard_sigmoid_v3"), ("relu", "sigmoid"), ("elu", "sigmoid"), ("softplus", "sigmoid"),
    ("linear", "tanh")])
@pytest.mark.parametrize("cell", ["lstm", "gru_after", "gru_before"])
def test_activations(tmp_path, cell, activation, recurrent_activation):
    rng = np.random.default_rng(3)
    model = randomized(Sequential([RNN[cell](activation=activation, recurrent_activation=recurrent_activation,
                                             return_sequences=True, input_shape=(5, 3)),
                                   Dense(3, activation="hard_sigmoid")]), rng, 0.5)
    x = rng.normal(size=(2, 5, 3)).astype("float32") * 3
    export_onnx(model, tmp_path / "m.onnx")
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x), model.predict(x, verbose=0), atol=1e-5)


def test_batch_and_time_axes_are_dynamic(tmp_path):
    rng = np.random.default_rng(4)
    model = randomized(Sequential([GRU(4, return_sequences=True, input_shape=(None, 2)), Dense(1)]), rng)
    report = export_onnx(model, tmp_path / "m.onnx")
    assert report["inputs"]["input"] == (["batch", "steps", 2], "float32")
    for batch, steps in ((1, 3), (7, 11)):
        x = rng.normal(size=(batch, steps, 2)).astype("float32")
        np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x), model.predict(x, verbose=0), atol=1e-5)
    loaded = onnx.load(str(tmp_path / "m.onnx"))
    assert loaded.opset_import[0].version == 14 and loaded.producer_name == "rnnkit"


def test_a_masked_model_needs_right_padding_said(tmp_path):
    model = Sequential([Embedding(10, 3, mask_zero=True, input_length=4), LSTM(2)])
    model.build((None, 4))
    with pytest.raises(ValueError, match=r"masked.*padding is at its end.*mask_padding='right'.*Received"):
        export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(ValueError, match=r"`mask_padding` must be None or 'right'"):
        export_onnx(model, tmp_path / "m.onnx", mask_padding="left")


@pytest.mark.parametrize("layer,words", [
    (lambda: LSTM(2, stateful=True, batch_input_shape=(2, 4, 3)), "stateful"),
    (lambda: Bidirectional(LSTM(2), merge_mode=None, input_shape=(4, 3)), "merge_mode=None"),
    (lambda: SimpleRNN(2, activation="softmax", input_shape=(4, 3)), "softmax"),
    (lambda: TimeDistributed(TimeDistributed(Dense(2)), input_shape=(4, 3, 3)), "TimeDistributed\\(Dense\\)"),
])
def test_what_onnx_cannot_express_is_refused(tmp_path, layer, words):
    model = Sequential([layer()])
    with pytest.raises(ValueError, match=f"cannot be exported to ONNX.*{words}"):
        export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_unbuilt_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="built Sequential"):
        export_onnx(Sequential([LSTM(2)]), tmp_path / "m.onnx")


@pytest.mark.parametrize("name", ["embedding_bidirectional_lstm", "gru_both_resets", "lstm_stack",
                                  "simple_rnn_dense"])
def test_savedmodel_fixtures_in_onnxruntime(tmp_path, name):
    here = pathlib.Path(__file__).resolve().parents[1] / "fixtures_local" / "savedmodel"
    model = load_model(here / name)
    data = np.load(here / f"{name}.npz")
    export_onnx(model, tmp_path / "m.onnx", mask_padding="right")
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", data["x"]), data["y"], atol=1e-5)


def test_report_text(tmp_path):
    from rnnkit.saving.onnx_export import format_report
    model = load_model(FIXTURES / "keras2" / "embedding_mask_lstm_dense.h5")
    text = format_report(export_onnx(model, tmp_path / "m.onnx", mask_padding="right"))
    assert text.startswith(f"wrote {tmp_path / 'm.onnx'}: ONNX opset 14, input int32 ['batch', ")
    assert "LSTM" in text and "note: masked steps are taken as right padding" in text
