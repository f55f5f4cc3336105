"""Keras's cell API (issue 11, items 3 and 4): RNN(cell), the built-in cells, StackedRNNCells,
cells called on one step, configs, and a user's NumPy cell trained through the same scaffold."""

import pathlib
import sys

import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit import backend
from rnnkit.layers import (GRU, Bidirectional, LSTM, RNN, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell, StackedRNNCells,
                           deserialize, serialize)
from rnnkit.models import Sequential

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))
from custom_cell import MinimalRNNCell  # noqa: E402

B, T, D, H = 2, 4, 3, 3
MASK = np.array([[1, 1, 0, 1], [0, 1, 1, 0]], bool)
PAIRS = {"simple_rnn": (SimpleRNN, SimpleRNNCell), "lstm": (LSTM, LSTMCell), "gru": (GRU, GRUCell)}


@pytest.fixture(autouse=True)
def float64():
    backend.set_floatx("float64")


def sequence(seed=0):
    return np.random.default_rng(seed).normal(size=(B, T, D))


def randomise(layer, seed=0):
    if not layer.built:
        layer.build((None, None, D))
    rng = np.random.default_rng(seed)
    for w in layer.weights.values():
        w[...] = rng.normal(size=w.shape) * 0.5
    return layer


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_rnn_of_a_cell_equals_the_layer(name):
    layer_class, cell_class = PAIRS[name]
    layer = randomise(layer_class(H, return_sequences=True, return_state=True, go_backwards=True))
    rnn = RNN(cell_class(H), return_sequences=True, return_state=True, go_backwards=True)
    rnn.build((None, T, D))
    rnn.set_weights(layer.get_weights())
    assert isinstance(layer.cell, cell_class) and list(rnn.weights) == list(layer.weights)
    for ours, theirs in zip(rnn(sequence(), mask=MASK), layer(sequence(), mask=MASK)):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_a_cell_called_on_one_step_equals_a_one_step_layer(name):
    layer_class, cell_class = PAIRS[name]
    layer = randomise(layer_class(H, return_state=True))
    cell = cell_class(H)
    cell.build((None, D))
    cell.set_weights(layer.get_weights())
    rng = np.random.default_rng(4)
    x_t = rng.normal(size=(B, D))
    states = [rng.normal(size=(B, H)) for _ in range(layer.state_count)]
    output, new_states = cell(x_t, states)
    expected = layer(x_t[:, None], initial_state=states)
    np.testing.assert_allclose(output, expected[0], atol=1e-12)
    assert len(new_states) == layer.state_count
    for ours, theirs in zip(new_states, expected[1:]):
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


def stacked_and_layers():
    cells = [LSTMCell(H), SimpleRNNCell(4)]
    stacked = RNN(StackedRNNCells(cells), return_sequences=True, return_state=True, go_backwards=True)
    stacked.build((None, None, D))
    randomise(stacked)
    first = LSTM(H, return_sequences=True, return_state=True, go_backwards=True)
    second = SimpleRNN(4, return_sequences=True, return_state=True)
    first.build((None, T, D))
    second.build((None, T, H))
    first.set_weights(cells[0].get_weights())
    second.set_weights(cells[1].get_weights())
    return stacked, first, second


def test_stacked_cells_equal_stacked_layers_and_return_states_cell_by_cell():
    stacked, first, second = stacked_and_layers()
    x = sequence()
    output, h1, c1, h2 = stacked(x, mask=MASK)
    y1, eh1, ec1 = first(x, mask=MASK)
    y2, eh2 = second(y1, mask=MASK[:, ::-1])    # the first layer's outputs are in processing order
    for ours, theirs in zip((output, h1, c1, h2), (y2, eh1, ec1, eh2)):
        np.testing.assert_allclose(ours, theirs, atol=1e-12)
    # a list of cells is the same as StackedRNNCells
    listed = RNN([LSTMCell(H), SimpleRNNCell(4)], return_sequences=True, return_state=True, go_backwards=True)
    listed.build((None, T, D))
    listed.set_weights(stacked.get_weights())
    for ours, theirs in zip(listed(x, mask=MASK), (output, h1, c1, h2)):
        np.testing.assert_array_equal(ours, theirs)
    assert stacked.state_count == 3 and stacked.compute_output_shape((None, T, D))[3] == (None, 4)


def test_stacked_cells_step_equals_the_layer_on_one_step():
    stacked, _, _ = stacked_and_layers()
    rng = np.random.default_rng(2)
    x_t = rng.normal(size=(B, D))
    states = [rng.normal(size=(B, size)) for size in (H, H, 4)]
    output, new_states = stacked.cell(x_t, states)
    stacked.go_backwards = False
    expected = stacked(x_t[:, None], initial_state=states)
    np.testing.assert_allclose(output, expected[0][:, 0], atol=1e-12)
    for ours, theirs in zip(new_states, expected[1:]):
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


def judge_layer(layer, mask=None, training=False, seed=7):
    x = sequence(1)
    randomise(layer, seed)

    def forward():
        return layer.forward(x, mask=mask, training=training)

    def backward(R):
        out = layer.forward(x, mask=mask, training=True)
        dx = layer.backward(R if isinstance(out, list) else R[0])
        return dict(layer.grads, x=dx)

    return assert_gradients(forward, backward, dict(layer.weights, x=x))


@pytest.mark.parametrize("options", [dict(), dict(go_backwards=True), dict(return_sequences=False),
                                     dict(zero_output_for_mask=True)], ids=str)
def test_stacked_cells_gradients(options):
    cells = [GRUCell(H, reset_after=False), LSTMCell(H)]
    judge_layer(RNN(cells, return_sequences=options.pop("return_sequences", True), return_state=True, **options),
                mask=MASK)


class FixedDropoutCell(MinimalRNNCell):
    """The example cell with the same dropout masks at every call (so the loss is one function)."""

    masks = None


@pytest.mark.parametrize("options", [dict(), dict(go_backwards=True), dict(zero_output_for_mask=True),
                                     dict(return_sequences=False), dict(go_backwards=True, return_state=True)],
                         ids=str)
@pytest.mark.parametrize("masked", [False, True])
def test_a_users_cell_trains_through_the_scaffold(options, masked):
    layer = RNN(MinimalRNNCell(H), return_sequences=options.pop("return_sequences", True), **options)
    judge_layer(layer, mask=MASK if masked else None)


def test_a_users_cell_with_fixed_dropout_masks():
    layer = RNN(MinimalRNNCell(H, dropout=0.3, recurrent_dropout=0.4), return_sequences=True)
    rng = np.random.default_rng(5)
    fixed = ((rng.random((B, D)) > 0.3) / 0.7, (rng.random((B, H)) > 0.4) / 0.6)
    layer._dropout_masks = lambda batch, features: fixed
    judge_layer(layer, mask=MASK, training=True)


def test_a_users_cell_stacked_with_a_builtin_cell():
    judge_layer(RNN([MinimalRNNCell(H), LSTMCell(2)], return_sequences=True, return_state=True), mask=MASK)


def test_the_users_cell_equals_simple_rnn_without_bias():
    layer = randomise(RNN(MinimalRNNCell(H), return_sequences=True))
    reference = SimpleRNN(H, use_bias=False, return_sequences=True)
    reference.build((None, T, D))
    reference.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(sequence(), mask=MASK), reference(sequence(), mask=MASK), atol=1e-12)


class NoBackwardCell(MinimalRNNCell):
    backward = None


def test_a_cell_without_backward_is_refused_at_compile_not_mid_epoch():
    model = Sequential([RNN(NoBackwardCell(H), input_shape=(T, D))])
    with pytest.raises(ValueError, match="no `backward"):
        model.compile("sgd", "mse")
    assert model.optimizer is None
    model.predict(sequence(), verbose=0)          # inference needs no backward
    wrapped = Sequential([Bidirectional(RNN(NoBackwardCell(H)), input_shape=(T, D))])
    with pytest.raises(ValueError, match="no `backward"):
        wrapped.compile("sgd", "mse")             # a wrapper's inner layers are asked too


def test_rnn_refuses_something_that_is_not_a_cell():
    with pytest.raises(TypeError, match="call"):
        RNN(object())


@pytest.mark.parametrize("make", [
    lambda: RNN(LSTMCell(H, dropout=0.1), return_sequences=True, go_backwards=True),
    lambda: RNN([GRUCell(H, reset_after=False), SimpleRNNCell(2)], return_state=True),
    lambda: RNN(StackedRNNCells([LSTMCell(2), LSTMCell(H)]), zero_output_for_mask=True),
    lambda: LSTM(H, unit_forget_bias=False), lambda: GRU(H, reset_after=False)], ids=str)
def test_configs_round_trip(make):
    layer = make()
    layer.build((None, T, D))
    again = deserialize(serialize(layer))
    assert serialize(again) == serialize(layer)
    again.build((None, T, D))
    again.set_weights(layer.get_weights())
    ours, theirs = again(sequence()), layer(sequence())
    for a, b in zip(ours if isinstance(ours, list) else [ours], theirs if isinstance(theirs, list) else [theirs]):
        np.testing.assert_array_equal(a, b)


def test_rnn_config_has_keras_layout():
    config = serialize(RNN(LSTMCell(H), return_sequences=True))["config"]
    assert config["cell"]["class_name"] == "LSTMCell" and config["cell"]["config"]["units"] == H
    stacked = serialize(RNN([SimpleRNNCell(2), SimpleRNNCell(H)]))["config"]["cell"]
    assert stacked["class_name"] == "StackedRNNCells"
    assert [c["class_name"] for c in stacked["config"]["cells"]] == ["SimpleRNNCell", "SimpleRNNCell"]


FILE_CASES = {
    "rnn_lstm_cell": lambda: RNN(LSTMCell(4), return_sequences=True),
    "rnn_cell_list": lambda: RNN([GRUCell(3, reset_after=False), SimpleRNNCell(2), SimpleRNNCell(2)]),
    "stacked_go_backwards": lambda: RNN(StackedRNNCells([LSTMCell(2), GRUCell(3)]), go_backwards=True),
    "layer_norm_lstm": lambda: __import__("rnnkit").layers.LayerNormLSTM(3),
    # Bidirectional takes any recurrent layer, and so must its file's reader
    "bidirectional_rnn_cell": lambda: Bidirectional(RNN(LSTMCell(3), return_sequences=True)),
    "bidirectional_cell_list": lambda: Bidirectional(RNN([GRUCell(3), SimpleRNNCell(2)])),
    "bidirectional_layer_norm_lstm": lambda: Bidirectional(__import__("rnnkit").layers.LayerNormLSTM(3)),
}


@pytest.mark.parametrize("name", sorted(FILE_CASES))
@pytest.mark.parametrize("filename", ["m.keras", "m.h5"])
def test_models_with_cells_round_trip_through_keras_files(tmp_path, name, filename):
    import rnnkit as keras
    backend.set_floatx("float32")
    model = keras.Sequential([keras.Input(shape=(5, 2)), FILE_CASES[name](), keras.layers.Dense(1)])
    x = np.random.default_rng(0).random((2, 5, 2)).astype("float32")
    model.save(tmp_path / filename)
    again = keras.models.load_model(tmp_path / filename)
    assert [type(layer).__name__ for layer in again.layers] == [type(layer).__name__ for layer in model.layers]
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", sorted(FILE_CASES))
@pytest.mark.parametrize("filename", ["w.weights.h5", "w.h5"])
def test_weights_of_cells_round_trip(tmp_path, name, filename):
    import rnnkit as keras
    backend.set_floatx("float32")

    def build():
        return keras.Sequential([keras.Input(shape=(5, 2)), FILE_CASES[name](), keras.layers.Dense(1)])
    model, other = build(), build()
    model.save_weights(tmp_path / filename)
    other.load_weights(tmp_path / filename)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keras3_weights_layout_of_stacked_cells(tmp_path):
    import h5py

    import rnnkit as keras
    backend.set_floatx("float32")
    model = keras.Sequential([keras.Input(shape=(5, 2)), FILE_CASES["rnn_cell_list"]()])
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        assert sorted(f["layers/rnn/cell/cells"]) == ["gru_cell", "simple_rnn_cell", "simple_rnn_cell_1"]
        assert len(f["layers/rnn/cell/cells/gru_cell/vars"]) == 3 and "vars" in f["layers/rnn/cell"]


def test_get_initial_state_and_state_sizes():
    cell = LSTMCell(H)
    assert cell.state_size == [H, H] and SimpleRNNCell(H).state_size == H and cell.output_size == H
    states = cell.get_initial_state(batch_size=B)
    assert [s.shape for s in states] == [(B, H), (B, H)] and not any(s.any() for s in states)
    stacked = StackedRNNCells([SimpleRNNCell(2), LSTMCell(H)])
    assert stacked.state_size == [2, [H, H]] and stacked.output_size == H
    assert [s.shape for s in stacked.get_initial_state(batch_size=B)] == [(B, 2), (B, H), (B, H)]


def test_the_custom_cell_example_trains(capsys):
    import custom_cell
    backend.set_floatx("float32")
    custom_cell.main()
    first, last = (float(v) for v in capsys.readouterr().out.split("loss ")[1].split(" -> "))
    assert last < 0.5 * first


EVERY_CELL_LAYER = {
    "simple_rnn": lambda **o: SimpleRNN(H, **o),
    "lstm": lambda **o: LSTM(H, **o),
    "gru": lambda **o: GRU(H, **o),
    "gru_reset_before": lambda **o: GRU(H, reset_after=False, **o),
    "layer_norm_lstm": lambda **o: __import__("rnnkit").layers.LayerNormLSTM(H, **o),
    "users_cell": lambda **o: RNN(MinimalRNNCell(H), **o),
    "stacked": lambda **o: RNN([LSTMCell(2), GRUCell(H)], **o),
}


@pytest.mark.parametrize("options", [dict(return_sequences=True, return_state=True),
                                     dict(go_backwards=True, zero_output_for_mask=True, return_sequences=True),
                                     dict(return_state=True)], ids=["states", "backwards_zeros", "last"])
@pytest.mark.parametrize("name", sorted(EVERY_CELL_LAYER))
def test_every_cell_layer_with_a_mask_matches_the_judge(name, options):
    judge_layer(EVERY_CELL_LAYER[name](**options), mask=MASK)



@pytest.mark.parametrize("filename", ["m.keras", "m.h5", "m.npz"])
@pytest.mark.parametrize("make", [lambda: __import__("rnnkit").layers.LayerNormLSTM(4),
                                  lambda: RNN(LSTMCell(4))], ids=["layer_norm_lstm", "rnn_lstm_cell"])
def test_a_graph_passing_initial_states_to_any_recurrent_layer_round_trips(tmp_path, filename, make):
    # A file's node lists a recurrent layer's initial states after its input, whatever the class.
    import rnnkit as keras
    backend.set_floatx("float32")
    inputs, h0, c0 = keras.Input((5, 3)), keras.Input((4,)), keras.Input((4,))
    model = keras.Model([inputs, h0, c0], make()(inputs, initial_state=[h0, c0]))
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(2, 5, 3)).astype("float32")] + [rng.normal(size=(2, 4)).astype("float32")] * 2
    model.save(tmp_path / filename)
    again = keras.models.load_model(tmp_path / filename)
    np.testing.assert_array_equal(again.predict(arrays, verbose=0), model.predict(arrays, verbose=0))


@pytest.mark.parametrize("filename", ["m.keras", "m.h5", "m.npz", "w.weights.h5", "w.h5"])
def test_a_model_with_a_users_cell_refuses_a_file_it_could_not_load(tmp_path, filename):
    # rnnkit builds only its own classes from a file; the weights alone (.npz) stay possible.
    import rnnkit as keras
    model = keras.Sequential([keras.Input((5, 2)), RNN(MinimalRNNCell(3)), keras.layers.Dense(1)])
    save = model.save_weights if filename.startswith("w") else model.save
    with pytest.raises(ValueError, match="holds a MinimalRNNCell.*a class of your own.*Received: .*" + filename):
        save(tmp_path / filename)
    assert not list(tmp_path.iterdir())
    model.save_weights(tmp_path / "w.npz")
    again = keras.Sequential([keras.Input((5, 2)), RNN(MinimalRNNCell(3)), keras.layers.Dense(1)])
    again.load_weights(tmp_path / "w.npz")
    for mine, theirs in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_implementation_0_of_keras_2_0_is_accepted_and_computes_the_same():
    # Keras 2.0-2.2's default; files already read it, and all three values name one function
    import rnnkit as keras
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    layers = [LSTM(4, implementation=mode) for mode in (0, 1, 2)]
    layers[0](x)
    for layer in layers[1:]:
        layer(x)
        layer.set_weights(layers[0].get_weights())
    outputs = [layer(x) for layer in layers]
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], outputs[2])
    for bad in (3, True, "2"):
        with pytest.raises(ValueError, match="`implementation` must be 0, 1 or 2. Received"):
            keras.layers.GRU(2, implementation=bad)
