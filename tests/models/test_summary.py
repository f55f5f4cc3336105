"""The seed tutorial's six summaries, byte for byte, and summary()'s options."""

import pytest

from conftest import FIXTURES
from rnnkit.layers import Bidirectional, Dense, Input, SimpleRNN
from rnnkit.models import Sequential


def build_seed_models():
    """The tutorial's six models, in its order, exactly as its cells write them."""
    models = []
    model = Sequential()
    model.add(SimpleRNN(3, input_shape=(2, 10)))
    models.append(model)

    model = Sequential()
    model.add(SimpleRNN(3, batch_input_shape=(8, 2, 10)))
    models.append(model)

    model = Sequential()
    model.add(SimpleRNN(3, batch_input_shape=(8, 2, 10), return_sequences=True))
    models.append(model)

    hidden_size = 8
    model = Sequential()
    model.add(SimpleRNN(hidden_size, input_length=10, input_dim=5, return_sequences=True))
    model.add(SimpleRNN(hidden_size, return_sequences=True))
    models.append(model)

    timesteps, input_dim = 10, 5
    model = Sequential()
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True), input_shape=(timesteps, input_dim)))
    models.append(model)

    model = Sequential()
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True), input_shape=(timesteps, input_dim)))
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True)))
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True)))
    model.add(Bidirectional(SimpleRNN(hidden_size, return_sequences=True)))
    models.append(model)
    return models


def summary_text(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return "\n".join(lines) + "\n"


def test_seed_summaries_match_keras_byte_for_byte():
    models = build_seed_models()
    for i, model in enumerate(models):
        golden = (FIXTURES / "seed" / f"summary_{i}.txt").read_text()
        assert summary_text(model) == golden, f"summary_{i}"


def test_summary_prints_to_stdout_by_default(capsys):
    build_seed_models()[0].summary()
    assert capsys.readouterr().out == (FIXTURES / "seed" / "summary_0.txt").read_text()


def test_clear_session_restarts_names():
    first = build_seed_models()
    from rnnkit import backend
    backend.clear_session()
    second = build_seed_models()
    assert [m.name for m in first] == [m.name for m in second]
    assert second[5].layers[0].name == "bidirectional_1"


def test_line_length_and_positions():
    model = build_seed_models()[4]
    text = summary_text(model, line_length=80, positions=[30, 60, 80])
    lines = text.splitlines()
    assert lines[1] == "_" * 80 and lines[3] == "=" * 80
    # The first column holds 30 - 2 = 28 characters of 'bidirectional (Bidirectional)' (29).
    assert lines[4] == " bidirectional (Bidirectional  (None, 10, 16)".ljust(60) + "224".ljust(20)
    assert lines[5] == " )".ljust(80)
    # wide enough to hold the whole name on one line
    wide = summary_text(model, line_length=100).splitlines()
    assert wide[4].startswith(" bidirectional (Bidirectional)")
    assert wide[5] == " " * 100


def test_wrapping_breaks_after_tuple_in_list_shapes():
    model = Sequential([Input(shape=(4, 3)), SimpleRNN(2, return_state=True)])  # 3*2 + 2*2 + 2 = 12
    lines = summary_text(model).splitlines()
    # Keras 2.9 breaks a cell after every '),' even when it would fit: one shape per line.
    assert lines[4] == " simple_rnn (SimpleRNN)".ljust(29) + "[(None, 2),".ljust(26) + "12".ljust(10)
    assert lines[5] == " " * 29 + " (None, 2)]".ljust(26) + " " * 10
    assert lines[6] == " " * 65


def test_summary_of_unbuilt_model_says_so():
    model = Sequential()
    model.add(SimpleRNN(3))
    with pytest.raises(ValueError, match="not yet been built.*Received"):
        model.summary()


def test_summary_counts_thousands_with_separators():
    model = Sequential([Input(shape=(5, 40)), SimpleRNN(30), Dense(10)])
    text = summary_text(model)
    total = (40 * 30 + 30 * 30 + 30) + (30 * 10 + 10)
    assert f"Total params: {total:,}" in text and "," in f"{total:,}"
    assert " 2130 " in text  # a layer's own count has no separator in Keras 2.9
