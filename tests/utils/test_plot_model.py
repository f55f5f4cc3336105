"""plot_model draws every layer once and every connection once, as valid SVG."""

import xml.etree.ElementTree as ElementTree

import pytest

import rnnkit as keras
from conftest import FIXTURES
from rnnkit.cli import main
from rnnkit.layers import LSTM, Dense, Input
from rnnkit.models import Model, Sequential, load_model

SVG = "{http://www.w3.org/2000/svg}"


def drawn(path):
    root = ElementTree.parse(path).getroot()
    boxes = [r for r in root.iter(f"{SVG}rect") if r.get("rx")]
    arrows = [p for p in root.iter(f"{SVG}path") if p.get("marker-end")]
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    return boxes, arrows, texts


def test_a_seq2seq_model_has_a_box_per_layer_and_an_arrow_per_connection(tmp_path):
    encoder_inputs, decoder_inputs = Input(shape=(None, 11)), Input(shape=(None, 9))
    _, h, c = LSTM(16, return_state=True)(encoder_inputs)
    outputs = LSTM(16, return_sequences=True)(decoder_inputs, initial_state=[h, c])
    model = Model([encoder_inputs, decoder_inputs], Dense(9)(outputs))
    keras.utils.plot_model(model, to_file=tmp_path / "m.svg", show_shapes=True)
    boxes, arrows, texts = drawn(tmp_path / "m.svg")
    # input_1 -> lstm, input_2 -> lstm_1, lstm -> lstm_1 (both states: one arrow), lstm_1 -> dense
    assert len(boxes) == 5 and len(arrows) == 4
    for layer in model.layers:
        assert any(text.startswith(f"{layer.name} ({type(layer).__name__})") for text in texts)
    assert "output: [(None, 16), (None, 16), (None, 16)]" in texts


def test_a_shared_layer_is_drawn_once(tmp_path):
    model = load_model(FIXTURES / "keras2_graph" / "shared_lstm_add_average_maximum_minimum.h5")
    keras.utils.plot_model(model, to_file=tmp_path / "m.svg")
    boxes, arrows, _ = drawn(tmp_path / "m.svg")
    assert len(boxes) == len(model.layers)
    # 3 inputs -> lstm; lstm -> add, average, maximum, minimum; those 4 -> concatenate; -> lstm_1 -> dense
    assert len(arrows) == 3 + 4 + 4 + 2


def test_a_sequential_is_a_chain(tmp_path):
    model = Sequential([LSTM(3, input_shape=(4, 2)), Dense(1)])
    keras.utils.plot_model(model, to_file=tmp_path / "m.svg")
    boxes, arrows, _ = drawn(tmp_path / "m.svg")
    assert len(boxes) == 2 and len(arrows) == 1


def test_bad_arguments(tmp_path):
    model = Sequential([Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match="to_file.*Received"):
        keras.utils.plot_model(model, to_file=tmp_path / "m.pdf")
    with pytest.raises(ValueError, match="rankdir"):
        keras.utils.plot_model(model, to_file=tmp_path / "m.svg", rankdir="LR")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="matplotlib"):
            keras.utils.plot_model(model, to_file=tmp_path / "m.png")


def test_summary_plot_on_the_command_line(tmp_path):
    target = tmp_path / "graph.svg"
    assert main(["summary", str(FIXTURES / "keras2_graph" / "seq2seq_lstm_chars_decoder.h5"), "--plot",
                 str(target)]) == 0
    boxes, _, _ = drawn(target)
    assert len(boxes) == 5
    assert main(["summary", str(FIXTURES / "keras2_graph" / "seq2seq_lstm_chars_decoder.h5"), "--plot",
                 str(tmp_path / "nowhere" / "g.svg")]) != 0
