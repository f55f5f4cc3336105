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


# ---- show_trainable and expand_nested, by Keras 2.9's print_summary rules --------------------------
# Stated in advance from keras/utils/layer_utils.py (v2.9.0): show_trainable adds 11 to the line
# length and a last column "Trainable" ending there (Y or N), so the default columns end at
# 29 / 55 / 65 / 76 and "Param #" is no longer the last column (it keeps 2 spaces of separation).
# expand_nested expands only layers with a non-empty `layers` list (models); Keras 2.9's
# Bidirectional is a Wrapper without one, so the seed's models print exactly as without it.

def trainable_row(name_cell, shape, params, flag):
    return name_cell.ljust(29) + shape.ljust(26) + params.ljust(10) + flag.ljust(11)


def test_show_trainable_adds_the_keras_column():
    model = build_seed_models()[3]
    lines = summary_text(model, show_trainable=True).splitlines()
    assert lines == [
        'Model: "sequential_3"',
        "_" * 76,
        trainable_row(" Layer (type)", "Output Shape", "Param #", "Trainable"),
        "=" * 76,
        trainable_row(" simple_rnn_3 (SimpleRNN)", "(None, 10, 8)", "112", "Y"),
        " " * 76,
        trainable_row(" simple_rnn_4 (SimpleRNN)", "(None, 10, 8)", "136", "Y"),
        " " * 76,
        "=" * 76,
        "Total params: 248",
        "Trainable params: 248",
        "Non-trainable params: 0",
        "_" * 76,
    ]


def test_show_trainable_marks_a_frozen_layer_and_counts_it_apart():
    model = build_seed_models()[3]
    model.layers[0].trainable = False
    lines = summary_text(model, show_trainable=True).splitlines()
    assert lines[4] == trainable_row(" simple_rnn_3 (SimpleRNN)", "(None, 10, 8)", "112", "N")
    assert lines[6] == trainable_row(" simple_rnn_4 (SimpleRNN)", "(None, 10, 8)", "136", "Y")
    assert lines[9:12] == ["Total params: 248", "Trainable params: 136", "Non-trainable params: 112"]


def test_show_trainable_wraps_a_long_name_as_keras_does():
    model = build_seed_models()[4]
    lines = summary_text(model, show_trainable=True).splitlines()
    # the first column holds 29 - 2 = 27 characters; the overflow pushes the shape one column right
    assert lines[4] == " bidirectional (Bidirectiona  (None, 10, 16)".ljust(55) + "224".ljust(10) + "Y".ljust(11)
    assert lines[5] == " l)".ljust(76)
    assert lines[6] == " " * 76


def test_show_trainable_with_absolute_positions_appends_the_column_after_them():
    model = build_seed_models()[0]
    lines = summary_text(model, line_length=70, positions=[30, 60, 70], show_trainable=True).splitlines()
    assert lines[1] == "_" * 81
    assert lines[4] == " simple_rnn (SimpleRNN)".ljust(30) + "(None, 3)".ljust(30) + "42".ljust(10) + "Y".ljust(11)


def test_expand_nested_leaves_wrappers_whole_as_keras_2_9_does():
    for i, model in enumerate(build_seed_models()):
        golden = (FIXTURES / "seed" / f"summary_{i}.txt").read_text()
        assert summary_text(model, expand_nested=True) == golden, f"summary_{i}"
        assert summary_text(model, expand_nested=True, show_trainable=True) == summary_text(
            model, show_trainable=True)


def test_nested_rows_are_framed_as_keras_2_9_frames_them():
    from rnnkit.models.summary import summary_lines
    inner = [("simple_rnn", "SimpleRNN", (None, 6), 60, True, []),
             ("dense", "Dense", (None, 4), 28, False, [])]
    rows = [("sequential_9", "Sequential", (None, 4), 88, True, inner),
            ("dense_1", "Dense", (None, 1), 5, True, [])]
    lines = summary_lines("outer", rows, 65, 28)
    # nested level L: '|' * L + ' ' opens the row, every column ends L earlier, '|' * L closes it
    assert lines[4:] == [
        " sequential_9 (Sequential)".ljust(29) + "(None, 4)".ljust(26) + "88".ljust(10),
        "|" + "\u00af" * 63 + "|",
        "| simple_rnn (SimpleRNN)".ljust(28) + "(None, 6)".ljust(26) + "60".ljust(10) + "|",
        "|" + " " * 63 + "|",
        "| dense (Dense)".ljust(28) + "(None, 4)".ljust(26) + "28".ljust(10) + "|",
        "\u00af" * 65,
        # no blank line here: Keras's loop leaves its "is last" flag as the last inner row's
        " dense_1 (Dense)".ljust(29) + "(None, 1)".ljust(26) + "5".ljust(10),
        " " * 65,
        "=" * 65,
        "Total params: 93",
        "Trainable params: 65",
        "Non-trainable params: 28",
        "_" * 65,
    ]
    shown = summary_lines("outer", rows, 65, 28, show_trainable=True)
    assert shown[6] == "| simple_rnn (SimpleRNN)".ljust(28) + "(None, 6)".ljust(26) + "60".ljust(10) + "Y".ljust(11) + "|"
    assert shown[8] == "| dense (Dense)".ljust(28) + "(None, 4)".ljust(26) + "28".ljust(10) + "N".ljust(11) + "|"


def test_a_nested_model_shows_its_own_output_shape_as_tf_keras_does():
    # Keras 2's babi_memnn.py: Sequential encoders opening with Embedding (no input_length, so
    # their input is (None, None)) are called on Input((36,)). tf_keras 2.21 printed, for this
    # model (run by hand with these sizes), the encoders' own shapes, (None, None, 64), not the
    # calls' (None, 36, 64); the rows below are its lines (its totals differ by design).
    from rnnkit import backend
    from rnnkit.layers import LSTM, Activation, Dropout, Embedding, Permute, add, concatenate, dot
    from rnnkit.models import Model
    backend.clear_session()
    story, question = Input((36,)), Input((4,))
    encoder_m = Sequential([Embedding(input_dim=17, output_dim=64), Dropout(0.3)])
    encoder_c = Sequential([Embedding(input_dim=17, output_dim=4), Dropout(0.3)])
    question_encoder = Sequential([Embedding(input_dim=17, output_dim=64, input_length=4), Dropout(0.3)])
    encoded_m, encoded_c, encoded_q = encoder_m(story), encoder_c(story), question_encoder(question)
    match = Activation("softmax")(dot([encoded_m, encoded_q], axes=(2, 2)))
    response = Permute((2, 1))(add([match, encoded_c]))
    answer = LSTM(32)(concatenate([response, encoded_q]))
    answer = Activation("softmax")(Dense(17)(Dropout(0.3)(answer)))
    lines = []
    Model([story, question], answer).summary(print_fn=lines.append)
    expected = [
        " input_1 (InputLayer)        [(None, 36)]                 0         []",
        " input_2 (InputLayer)        [(None, 4)]                  0         []",
        " sequential (Sequential)     (None, None, 64)             1088      ['input_1[0][0]']",
        " sequential_2 (Sequential)   (None, 4, 64)                1088      ['input_2[0][0]']",
        " dot (Dot)                   (None, 36, 4)                0         ['sequential[0][0]',",
        "                                                                     'sequential_2[0][0]']",
        " activation (Activation)     (None, 36, 4)                0         ['dot[0][0]']",
        " sequential_1 (Sequential)   (None, None, 4)              68        ['input_1[0][0]']",
        " add (Add)                   (None, 36, 4)                0         ['activation[0][0]',",
        "                                                                     'sequential_1[0][0]']",
        " permute (Permute)           (None, 4, 36)                0         ['add[0][0]']",
        " concatenate (Concatenate)   (None, 4, 100)               0         ['permute[0][0]',",
        "                                                                     'sequential_2[0][0]']",
        " lstm (LSTM)                 (None, 32)                   17024     ['concatenate[0][0]']",
        " dropout_3 (Dropout)         (None, 32)                   0         ['lstm[0][0]']",
        " dense (Dense)               (None, 17)                   561       ['dropout_3[0][0]']",
        " activation_1 (Activation)   (None, 17)                   0         ['dense[0][0]']",
    ]
    assert [line.rstrip() for line in lines[4:-5] if line.strip()] == expected
