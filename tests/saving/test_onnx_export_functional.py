"""rnnkit.saving.export_onnx on functional models, run by onnxruntime: every Keras graph fixture it
can express (Keras's own predictions are the reference), and hand-built graphs (judged against
rnnkit's predict, whose graph semantics are fixture-tested elsewhere): seq2seq with states,
several inputs and outputs, shared layers, merges, Dot, masks. What ONNX cannot express is refused,
naming the layer, with nothing written."""

import json
import warnings

import numpy as np
import onnxruntime
import pytest

from conftest import FIXTURES
from rnnkit.layers import (GRU, LSTM, Activation, Add, Average, Bidirectional, Concatenate, Dense, Dot, Embedding,
                           Input, Masking, Maximum, Minimum, Multiply, RepeatVector, SimpleRNN, Subtract,
                           TimeDistributed)
from rnnkit.models import Model, load_model
from rnnkit.saving import export_onnx
from rnnkit.saving.onnx_export import format_report

# Graph fixtures ONNX's operators here cannot express, and the layer the refusal must name.
REFUSED = {"conv1d_maxpool_lstm": "conv1d", "conv1d_causal_dilated_avgpool_gru": "conv1d",
           "regularized_constrained_lstm": "conv1d", "sequential_conv_lstm_norm": "conv1d",
           "embedding_bigru_global_pooling": "global_max_pooling1d", "reshape_permute_flatten_leakyrelu": "permute",
           "lstm_batchnorm_layernorm": "batch_normalization", "sequential_batchnorm_fit": "batch_normalization"}
# Keras 3 masks Maximum/Minimum/Multiply inputs by its own rule (fixtures README); not exported.
REFUSED_KERAS3 = {"shared_embedding_masked_merge": "maximum"}


def graph_cases(version):
    return sorted(json.loads((FIXTURES / version / "index.json").read_text())["models"])


def run_onnx(path, feeds):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if not isinstance(feeds, dict):
        feeds = dict(zip([i.name for i in session.get_inputs()], feeds))
    return session.run(None, feeds)


def fixture_case(version, ext, stem):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # compiled files whose optimizer state is left out
        model = load_model(FIXTURES / version / f"{stem}{ext}")
    data = np.load(FIXTURES / version / f"{stem}.npz")
    xs = [data[f"x{k}"] for k in range(len([key for key in data.files if key.startswith("x")]))]
    ys = [data[f"y{k}"] for k in range(len([key for key in data.files if key.startswith("y")]))]
    return model, xs, ys


@pytest.mark.parametrize("version,ext,stem", [(version, ext, stem) for version, ext in (
    ("keras2_graph", ".h5"), ("keras3_graph", ".keras")) for stem in graph_cases(version)])
def test_graph_fixture_in_onnxruntime_predicts_what_keras_predicted(tmp_path, version, ext, stem):
    model, xs, ys = fixture_case(version, ext, stem)
    refused = {**REFUSED, **(REFUSED_KERAS3 if version == "keras3_graph" else {})}
    if stem in refused:
        with pytest.raises(ValueError, match=f"Layer '{refused[stem]}' .* cannot be exported to ONNX"):
            export_onnx(model, tmp_path / "m.onnx", mask_padding="right")
        assert not (tmp_path / "m.onnx").exists()
        return
    report = export_onnx(model, tmp_path / "m.onnx", mask_padding="right")
    assert bool(report["notes"]) == any(getattr(layer, "mask_zero", False) for layer in model.layers)
    outputs = run_onnx(tmp_path / "m.onnx", xs)
    assert len(outputs) == len(ys)
    for got, expected in zip(outputs, ys):
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def randomized(model, rng, scale=0.8):
    model.set_weights([rng.normal(size=w.shape).astype("float32") * scale for w in model.get_weights()])
    return model


def right_padded(rng, lengths, steps, vocabulary=20):
    ids = rng.integers(1, vocabulary, size=(len(lengths), steps)).astype("int32")
    for row, length in enumerate(lengths):
        ids[row, length:] = 0
    return ids


def assert_onnx_matches_predict(tmp_path, model, xs, mask_padding=None):
    export_onnx(model, tmp_path / "m.onnx", mask_padding=mask_padding)
    expected = model.predict(xs, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    got = run_onnx(tmp_path / "m.onnx", xs if isinstance(xs, list) else [xs])
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=1e-5, rtol=0)
    return expected


CELLS = {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN}


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_masked_seq2seq_with_states_and_go_backwards_encoder(tmp_path, cell):
    rng = np.random.default_rng(11)
    encoder_in, decoder_in = Input(shape=(None,), dtype="int32"), Input(shape=(None,), dtype="int32")
    embedding = Embedding(20, 5, mask_zero=True)          # shared by encoder and decoder
    _, *states = CELLS[cell](6, return_state=True, go_backwards=True)(embedding(encoder_in))
    sequence, *new_states = CELLS[cell](6, return_sequences=True, return_state=True)(embedding(decoder_in),
                                                                                       initial_state=states)
    outputs = [TimeDistributed(Dense(4, activation="softmax"))(sequence)] + new_states + states
    model = randomized(Model([encoder_in, decoder_in], outputs), rng)
    xs = [right_padded(rng, [7, 3, 1, 5], 7), right_padded(rng, [2, 6, 4, 1], 6)]
    expected = assert_onnx_matches_predict(tmp_path, model, xs, mask_padding="right")
    # the premise: the decoder's outputs on padded steps repeat the last real one
    np.testing.assert_array_equal(expected[0][0, 2:], np.broadcast_to(expected[0][0, 1], expected[0][0, 2:].shape))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_with_masks_states_in_and_out(tmp_path, merge_mode, return_sequences):
    rng = np.random.default_rng(12)
    sequence, h, c = Input(shape=(None, 3)), Input(shape=(4,)), Input(shape=(4,))
    start = Dense(4, activation="tanh")
    outputs = Bidirectional(LSTM(4, return_sequences=return_sequences, return_state=True), merge_mode=merge_mode)(
        Masking(0.0)(sequence), initial_state=[h, c, start(h), start(c)])
    model = randomized(Model([sequence, h, c], outputs), rng)
    x = rng.normal(size=(3, 6, 3)).astype("float32")
    x[1, 4:] = 0.0
    x[2, 1:] = 0.0
    xs = [x, rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(3, 4)).astype("float32")]
    assert_onnx_matches_predict(tmp_path, model, xs, mask_padding="right")


def test_two_inputs_lstm_and_dense_concatenated_two_outputs(tmp_path):
    rng = np.random.default_rng(13)
    sequence, metadata = Input(shape=(5, 3), name="sequence"), Input(shape=(2,), name="metadata")
    joined = Concatenate()([LSTM(6)(sequence), Dense(3, activation="relu")(metadata)])
    model = randomized(Model({"sequence": sequence, "metadata": metadata},
                             [Dense(1, activation="sigmoid", name="score")(joined),
                              Dense(3, activation="softmax", name="category")(joined)]), rng)
    x = {"sequence": rng.normal(size=(4, 5, 3)).astype("float32"), "metadata": rng.normal(size=(4, 2)).astype("float32")}
    report = export_onnx(model, tmp_path / "m.onnx")
    assert report["inputs"] == {"sequence": (["batch", 5, 3], "float32"), "metadata": (["batch", 2], "float32")}
    assert list(report["outputs"]) == ["score", "category"]
    got = run_onnx(tmp_path / "m.onnx", x)
    for g, e in zip(got, model.predict(x, verbose=0)):
        np.testing.assert_allclose(g, e, atol=1e-5, rtol=0)
    text = format_report(report)
    assert "inputs sequence float32 ['batch', 5, 3], metadata float32 ['batch', 2]" in text
    assert "outputs score float32 ['batch', 1], category float32 ['batch', 3]" in text


def test_shared_embedding_and_lstm_masked_merges(tmp_path):
    rng = np.random.default_rng(14)
    left, right = Input(shape=(8,), dtype="int32"), Input(shape=(8,), dtype="int32")
    embedding, encoder = Embedding(20, 4, mask_zero=True), LSTM(5, return_sequences=True)
    a, b = encoder(embedding(left)), encoder(embedding(right))
    merged = Concatenate()([Add()([a, b]), Subtract()([a, b]), Multiply()([a, b, a]), Average()([a, b, a]),
                            Maximum()([a, b]), Minimum()([a, b])])
    model = randomized(Model([left, right], Dense(2)(GRU(3)(merged))), rng)
    xs = [right_padded(rng, [8, 3, 5, 1], 8), right_padded(rng, [2, 8, 6, 1], 8)]
    assert_onnx_matches_predict(tmp_path, model, xs, mask_padding="right")


@pytest.mark.parametrize("axes,shapes,normalize", [
    (1, [(5,), (5,)], False), (1, [(5,), (5,)], True), ([2, 2], [(4, 5), (3, 5)], False),
    ([2, 1], [(4, 3), (3, 5)], False), ([1, 1], [(4, 3), (4, 5)], True), ([1, 2], [(3,), (4, 3)], False),
    ([2, 1], [(4, 3), (3,)], False)])
def test_dot_contracts_as_keras_batch_dot(tmp_path, axes, shapes, normalize):
    rng = np.random.default_rng(15)
    inputs = [Input(shape=shape) for shape in shapes]
    model = Model(inputs, Activation("tanh")(Dot(axes=axes, normalize=normalize)(inputs)))
    xs = [rng.normal(size=(3,) + shape).astype("float32") for shape in shapes]
    assert_onnx_matches_predict(tmp_path, model, xs)


def test_attention_decoder_repeat_vector_and_an_rnn_output_read_twice(tmp_path):
    rng = np.random.default_rng(16)
    source = Input(shape=(6, 3))
    encoded, h, c = LSTM(4, return_sequences=True, return_state=True)(source)
    decoded = LSTM(4, return_sequences=True)(RepeatVector(5)(h), initial_state=[h, c])
    scores = Activation("softmax")(Dot(axes=[2, 2])([decoded, encoded]))
    context = Dot(axes=[2, 1])([scores, encoded])
    model = randomized(Model(source, [TimeDistributed(Dense(3))(Concatenate()([context, decoded])), h]), rng)
    assert_onnx_matches_predict(tmp_path, model, [rng.normal(size=(2, 6, 3)).astype("float32")])


@pytest.mark.parametrize("go_backwards", [False, True])
def test_zero_output_for_mask(tmp_path, go_backwards):
    rng = np.random.default_rng(17)
    tokens = Input(shape=(6,), dtype="int32")
    sequence = LSTM(3, return_sequences=True, go_backwards=go_backwards, zero_output_for_mask=True)(
        Embedding(10, 2, mask_zero=True)(tokens))
    model = randomized(Model(tokens, sequence), rng)
    x = right_padded(rng, [6, 2, 4], 6, vocabulary=10)
    expected = assert_onnx_matches_predict(tmp_path, model, x, mask_padding="right")[0]
    padded = expected[1, :4] if go_backwards else expected[1, 2:]   # in processing order
    assert not padded.any()     # the premise: zeros, not the last real output


def test_float_token_input_read_by_embedding_and_dense(tmp_path):
    rng = np.random.default_rng(18)
    tokens = Input(shape=(5,))                 # float32 ids, cast as Keras casts them
    joined = Concatenate()([GRU(3)(Embedding(10, 2)(tokens)), Dense(2)(tokens)])
    model = randomized(Model(tokens, joined), rng)
    report = export_onnx(model, tmp_path / "m.onnx")
    assert list(report["inputs"].values()) == [(["batch", 5], "float32")]
    x = rng.integers(0, 10, size=(3, 5)).astype("float32")
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", [x])[0], model.predict(x, verbose=0), atol=1e-5)


def test_masked_functional_model_needs_right_padding_said(tmp_path):
    tokens = Input(shape=(4,), dtype="int32")
    model = Model(tokens, Dense(2)(Embedding(10, 3, mask_zero=True)(tokens)))
    with pytest.raises(ValueError, match=r"masked.*mask_padding='right'.*Received"):
        export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_what_onnx_cannot_express_is_refused_naming_the_layer(tmp_path):
    tokens = Input(shape=(4,), dtype="int32")
    embedded = Embedding(10, 3, mask_zero=True)(tokens)
    model = Model(tokens, LSTM(2)(Concatenate(axis=1, name="along_time")([embedded, embedded])))
    with pytest.raises(ValueError, match="Layer 'along_time' .*cannot be exported to ONNX: masked tensors are "
                                         "joined only along the last axis"):
        export_onnx(model, tmp_path / "m.onnx", mask_padding="right")
    sequence = Input(shape=(4, 3))
    model = Model(sequence, LSTM(2, stateful=True, name="carried")(sequence))
    with pytest.raises(ValueError, match="Layer 'carried' .*stateful"):
        export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_export_command_takes_a_functional_model_file(tmp_path, capsys):
    from rnnkit.cli import main
    stem = FIXTURES / "keras2_graph" / "seq2seq_gru_tokens"
    assert main(["export", str(stem.with_suffix(".h5")), str(tmp_path / "m.onnx"), "--right-padded"]) == 0
    out = capsys.readouterr().out
    assert "inputs input_1 int32 ['batch', 'input_1_1'], input_2 int32 ['batch', 'input_2_1']" in out
    data = np.load(stem.with_suffix(".npz"))
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", [data["x0"], data["x1"]])[0], data["y0"], atol=1e-5)
