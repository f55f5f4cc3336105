"""rnnkit.saving.convert: every input format to every target, judged by Keras's own numbers (the
fixtures' recorded predictions), plus what a target cannot hold and the overwrite rule."""

import json
import zipfile

import numpy as np
import pytest

from conftest import FIXTURES
from rnnkit.layers import LSTM, Dense, SimpleRNN
from rnnkit.models import Sequential, load_model
from rnnkit.saving import FileFormatError, convert
from rnnkit.saving.converter import format_report

SOURCES = {
    "keras2_h5": ("keras2/embedding_mask_bidirectional_gru_seq.h5", "keras2/embedding_mask_bidirectional_gru_seq.npz"),
    "keras3_keras": ("keras3/lstm_stack.keras", "keras3/lstm_stack.npz"),
    "keras2_lstm_dense": ("keras2/embedding_mask_lstm_dense.h5", "keras2/embedding_mask_lstm_dense.npz"),
    "wild_keras209_hard_sigmoid": ("wild/k209_nlpnd_emb_lstm.h5", "wild/k209_nlpnd_emb_lstm.npz"),
    "wild_tf224_bigru_hard_sigmoid": ("wild/tf224_imdb_emb_bigru.h5", "wild/tf224_imdb_emb_bigru.npz"),
    "wild_keras392_gru": ("wild/k392_emg_gru_gru.keras", "wild/k392_emg_gru_gru.npz"),
}
TARGETS = [".keras", ".h5", ".weights.h5", ".npz"]


def keras_io(npz):
    data = np.load(FIXTURES / npz)
    x, y = (data["x"], data["y"]) if "x" in data else (data["x0"], data["y0"])
    if x.dtype.kind == "f" and np.array_equal(x, np.round(x)) and "emb" in npz:
        x = x.astype("int32")   # token ids stored as float32 (wild/); Keras casts them
    return x, y


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_converted_file_predicts_what_keras_predicted(tmp_path, source, target):
    model_file, npz = SOURCES[source]
    out = tmp_path / f"converted{target}"
    report = convert(FIXTURES / model_file, out, check=True)
    assert out.exists() and report["max_abs_diff"] < 1e-6
    x, y = keras_io(npz)
    if target == ".weights.h5":
        model = load_model(FIXTURES / model_file)
        # Keras 3 weights of a Keras 2 hard_sigmoid were rewritten for Keras 3's hard_sigmoid
        config = json.loads(json.dumps(model.get_config()).replace('"hard_sigmoid"', '"hard_sigmoid_v3"'))
        fresh = Sequential.from_config(config)
        fresh.build(model.input_shape)
        fresh.load_weights(out)
        model = fresh
    else:
        model = load_model(out)
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=1e-5, rtol=0)


def test_hard_sigmoid_is_rewritten_exactly_for_keras3(tmp_path):
    report = convert(FIXTURES / "wild/k209_nlpnd_emb_lstm.h5", tmp_path / "k3.keras")
    assert any("hard_sigmoid rewritten for Keras 3" in note for note in report["notes"])
    with zipfile.ZipFile(tmp_path / "k3.keras") as archive:
        config = json.loads(archive.read("config.json"))
    lstm = [layer for layer in config["config"]["layers"] if layer["class_name"] == "LSTM"][0]["config"]
    assert lstm["recurrent_activation"] == "hard_sigmoid"
    original, rewritten = load_model(FIXTURES / "wild/k209_nlpnd_emb_lstm.h5"), load_model(tmp_path / "k3.keras")
    assert rewritten.layers[1].get_config()["recurrent_activation"] == "hard_sigmoid_v3"
    H = original.layers[1].units
    gates = np.r_[0:2 * H, 3 * H:4 * H]
    for before, after in zip(original.layers[1].get_weights(), rewritten.layers[1].get_weights()):
        np.testing.assert_allclose(after[..., gates], before[..., gates] * np.float32(1.2), rtol=1e-7)
        np.testing.assert_array_equal(after[..., 2 * H:3 * H], before[..., 2 * H:3 * H])
    back = convert(tmp_path / "k3.keras", tmp_path / "k2.h5")
    assert any("for Keras 2" in note for note in back["notes"])
    x, y = keras_io("wild/k209_nlpnd_emb_lstm.npz")
    np.testing.assert_allclose(load_model(tmp_path / "k2.h5").predict(x, verbose=0), y, atol=1e-5)


def test_an_lstm_cell_activation_hard_sigmoid_cannot_go_to_keras3(tmp_path):
    model = Sequential([LSTM(3, activation="hard_sigmoid", input_shape=(4, 2)), Dense(2, activation="hard_sigmoid")])
    model.save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"'lstm' \(LSTM\) uses 'hard_sigmoid' as its `activation`.*cannot stand in"):
        convert(tmp_path / "m.h5", tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()


def test_dense_and_simple_rnn_activations_are_rewritten(tmp_path):
    model = Sequential([SimpleRNN(3, activation="hard_sigmoid", return_sequences=True, input_shape=(4, 2)),
                        Dense(2, activation="hard_sigmoid")])
    model.save(tmp_path / "m.npz")
    report = convert(tmp_path / "m.npz", tmp_path / "m.keras", check=True)
    assert len(report["notes"]) == 2 and report["max_abs_diff"] < 1e-6
    x = np.random.default_rng(0).normal(size=(3, 4, 2)).astype("float32") * 4
    np.testing.assert_allclose(load_model(tmp_path / "m.keras").predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "out.keras"
    out.write_bytes(b"earlier")
    with pytest.raises(FileExistsError, match="force=True.*Received: .*out.keras"):
        convert(FIXTURES / "keras3/lstm_stack.keras", out)
    assert out.read_bytes() == b"earlier"
    report = convert(FIXTURES / "keras3/lstm_stack.keras", out, force=True)
    assert report["output_format"] == "Keras 3 archive (.keras)" and "max_abs_diff" not in report
    assert "lstm_stack" in format_report(report) or "LSTM" in format_report(report)


@pytest.mark.parametrize("out", ["model.onnx", "saved_model_dir", "model.json"])
def test_unknown_targets_are_refused(tmp_path, out):
    with pytest.raises(ValueError, match=r"`out_path` must end in '\.keras', '\.h5', '\.weights\.h5' or '\.npz'"):
        convert(FIXTURES / "keras3/lstm_stack.keras", tmp_path / out)


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError):
        convert(tmp_path / "missing.h5", tmp_path / "out.keras")
    (tmp_path / "junk.h5").write_bytes(b"not a model at all")
    with pytest.raises(FileFormatError, match="junk.h5"):
        convert(tmp_path / "junk.h5", tmp_path / "out.keras")
    with pytest.raises(ValueError, match="must differ"):
        convert(FIXTURES / "keras3/lstm_stack.keras", FIXTURES / "keras3/lstm_stack.keras", force=True)
    weights_only = tmp_path / "w.npz"
    Sequential([SimpleRNN(2, input_shape=(3, 2))]).save_weights(weights_only)
    with pytest.raises(FileFormatError, match=r"w\.npz.*holds no model config"):
        convert(weights_only, tmp_path / "out.keras")



def test_check_report_names_everything(tmp_path):
    report = convert(FIXTURES / "keras2/embedding_mask_bidirectional_gru_seq.h5", tmp_path / "o.keras", check=True)
    assert report["input_format"] == "keras2" and report["layers"] == ["Embedding", "Bidirectional",
                                                                             "TimeDistributed"]
    assert report["parameters"] == sum(w.size for w in load_model(tmp_path / "o.keras").get_weights())
    assert report["checked_batch_shape"][0] == 4
    text = format_report(report)
    assert "check: max |difference|" in text and "Embedding, Bidirectional" in text


@pytest.mark.parametrize("source", ["wild/k313_bigru_classifier.keras", "wild/tf240_music_lstm_s2s.h5",
                                    "keras2_graph/seq2seq_lstm_chars_decoder.h5"])
@pytest.mark.parametrize("target", ["out.keras", "out.h5", "out.weights.h5", "out.npz"])
def test_functional_models_convert_to_every_target(tmp_path, source, target):
    from rnnkit.models import convert as convert_any
    with pytest.raises(FileFormatError, match="functional model.*rnnkit.models.convert"):
        convert(FIXTURES / source, tmp_path / target)
    report = convert_any(FIXTURES / source, tmp_path / target, check=True)
    assert report["max_abs_diff"] == 0.0
    assert report["layers"][0] == "InputLayer"


def test_a_functional_keras_2_hard_sigmoid_is_rewritten_for_keras_3_exactly(tmp_path):
    from rnnkit.models import convert as convert_any, load_model
    report = convert_any(FIXTURES / "keras2_graph/lstm_gru_hard_sigmoid.h5", tmp_path / "out.keras", check=True)
    assert report["max_abs_diff"] < 1e-6 and any("hard_sigmoid rewritten" in note for note in report["notes"])
    data = np.load(FIXTURES / "keras2_graph/lstm_gru_hard_sigmoid.npz")
    np.testing.assert_allclose(load_model(tmp_path / "out.keras").predict(data["x0"], verbose=0), data["y0"],
                               atol=1e-5, rtol=0)
