"""Stateful RNNs, initial states, Keras's masking rules and the bad inputs of issue 4."""

import numpy as np
import pytest

from rnnkit import backend
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Input, Masking, SimpleRNN
from rnnkit.models import Sequential

B, T, D, H = 3, 12, 4, 5


def data(seed=0):
    return np.random.default_rng(seed).normal(size=(B, T, D)).astype("float32")


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_stateful_chunks_equal_one_call(cls):
    whole = Sequential([cls(H, return_sequences=True, input_shape=(T, D))])
    chunked = Sequential([cls(H, return_sequences=True, stateful=True, batch_input_shape=(B, 4, D))])
    chunked.set_weights(whole.get_weights())
    x = data()
    expected = whole.predict(x, verbose=0)
    pieces = [chunked.predict(x[:, i:i + 4], batch_size=B, verbose=0) for i in range(0, T, 4)]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), expected, atol=1e-6)
    chunked.reset_states()
    np.testing.assert_allclose(chunked.predict(x[:, :4], batch_size=B, verbose=0), expected[:, :4], atol=1e-6)


def test_reset_states_with_explicit_states_equals_initial_state():
    layer = LSTM(H, stateful=True, batch_input_shape=(B, T, D))
    model = Sequential([layer])
    rng = np.random.default_rng(1)
    h, c = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    layer.reset_states(states=[h, c])
    stateful_out = model.predict(data(), batch_size=B, verbose=0)
    plain = LSTM(H)
    plain.build((None, T, D))
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(stateful_out, plain(data(), initial_state=[h, c]), atol=1e-6)


def test_stateful_without_a_batch_size_takes_it_from_the_first_call():
    # Keras 3: the first call fixes the batch size, another one is refused, reset_state zeros.
    layer = SimpleRNN(H, stateful=True, return_sequences=True)
    model = Sequential([layer])
    model.build((None, T, D))
    assert layer.states is None
    first = model.predict_on_batch(data())
    with pytest.raises(ValueError, match="stateful with batch size 3. Received: a batch of 2"):
        model.predict_on_batch(data()[:2])
    assert not np.allclose(model.predict_on_batch(data()), first)      # the states carried on
    layer.reset_state()
    np.testing.assert_allclose(model.predict_on_batch(data()), first, atol=1e-6)


def test_a_frozen_layer_is_not_updated():
    frozen = LSTM(H, return_sequences=True, input_shape=(T, D))
    model = Sequential([frozen, Dense(1)])
    frozen.trainable = False
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 3
    assert not frozen.cell.trainable
    model.compile("sgd", "mse")
    before = model.get_weights()
    model.fit(data(), np.ones((B, T, 1)), epochs=2, verbose=0)
    after = model.get_weights()
    for a, b in zip(before[:3], after[:3]):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(before[3], after[3])
    frozen.trainable = True
    assert len(frozen.trainable_weights) == 3


def test_stateful_errors():
    model = Sequential([SimpleRNN(H, stateful=True, batch_input_shape=(B, T, D))])
    with pytest.raises(ValueError, match="stateful with batch size 3. Received: a batch of 2"):
        model.predict_on_batch(data()[:2])
    with pytest.raises(ValueError, match="states.*Received: 2"):
        model.layers[0].reset_states(states=[np.zeros((B, H))] * 2)
    with pytest.raises(AttributeError, match="not stateful"):
        SimpleRNN(H).reset_states()


def test_lstm_return_state_is_output_h_c():
    layer = LSTM(H, return_state=True)
    output, h, c = layer(data())
    np.testing.assert_array_equal(output, h)
    assert c.shape == (B, H) and not np.allclose(c, h)


@pytest.mark.parametrize("states,match", [
    ([np.zeros((B, H))], "2 state\\(s\\). Received: 1"),
    ([np.zeros((B, H)), np.zeros((B, H + 1))], "shape \\(3, 5\\). Received: shape \\(3, 6\\)"),
])
def test_bad_initial_state(states, match):
    with pytest.raises(ValueError, match=match):
        LSTM(H)(data(), initial_state=states)


def test_bad_mask_shape():
    with pytest.raises(ValueError, match="mask.*\\(3, 12\\).*Received: shape \\(3, 11\\)"):
        GRU(H)(data(), mask=np.ones((B, T - 1), bool))


def embedding_model():
    return Sequential([Embedding(10, 4, mask_zero=True), LSTM(H)])


@pytest.mark.parametrize("ids,error,match", [
    (np.array([[1, 2, 10]]), ValueError, "\\[0, 10\\).*largest id found is 10"),
    (np.array([[1, -1, 3]]), ValueError, "Received: ids from -1"),
    (np.array([[1.5, 2.0]]), TypeError, "integer token ids. Received: an array of dtype float64"),
    (np.array([[1.0, np.nan]]), TypeError, "integer token ids. Received: an array of dtype float64"),
    (np.array([[1.0, 10.0]]), ValueError, "\\[0, 10\\).*Received: ids from 1 to 10"),
])
def test_bad_token_ids(ids, error, match):
    model = embedding_model()
    before = model.get_weights()
    with pytest.raises(error, match=match):
        model.predict(ids, verbose=0)
    for old, now in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, now)


def test_whole_float_ids_are_cast_as_keras_does():
    # Keras casts a float32 InputLayer's ids to int32 inside the Embedding.
    model = embedding_model()
    np.testing.assert_array_equal(model.predict(np.array([[1.0, 2.0, 0.0]]), verbose=0),
                                  model.predict(np.array([[1, 2, 0]]), verbose=0))


def test_masked_steps_never_change_the_state():
    # Trailing padding must give the same last state as the unpadded sequence.
    model = Sequential([Embedding(20, 4, mask_zero=True), GRU(H, return_sequences=True)])
    ids = np.array([[3, 7, 2, 0, 0, 0]])
    padded = model.predict(ids, verbose=0)[0]
    short = model.predict(ids[:, :3], verbose=0)[0]
    np.testing.assert_allclose(padded[:3], short, atol=1e-6)
    # a unidirectional RNN repeats its last real output on masked steps
    np.testing.assert_allclose(padded[3:], np.repeat(short[-1:], 3, axis=0), atol=1e-6)
    # padding in the middle: the state skips the step
    middle = model.predict(np.array([[3, 0, 7, 2]]), verbose=0)[0]
    np.testing.assert_allclose(middle[-1], short[-1], atol=1e-6)


def test_masking_layer_feeds_the_mask():
    x = data()
    x[:, 8:] = 0.0
    model = Sequential([Masking(input_shape=(T, D)), SimpleRNN(H)])
    plain = Sequential([SimpleRNN(H, input_shape=(8, D))])
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0), plain.predict(x[:, :8], verbose=0), atol=1e-6)


def test_masked_sequence_loss_ignores_padding():
    # Keras: the loss of a masked sequence output is the mean over real steps only.
    backend.set_random_seed(0)
    model = Sequential([Embedding(10, 3, mask_zero=True), SimpleRNN(2, return_sequences=True)])
    model.compile("sgd", "mse")
    ids = np.array([[1, 2, 0, 0], [3, 4, 5, 0]])
    y = np.random.default_rng(0).normal(size=(2, 4, 2))
    out = model.predict(ids, verbose=0)
    real = ids != 0
    expected = np.mean(((out - y) ** 2).mean(-1)[real])
    assert model.evaluate(ids, y, verbose=0) == pytest.approx(expected, rel=1e-5)
    y_changed = y.copy()
    y_changed[~real] = 100.0  # targets on padding do not matter
    assert model.evaluate(ids, y_changed, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_summary_of_the_books_text_classifier():
    # Embedding(vocab, 10) + LSTM(128) + Dense(1): 10 V + 4 (128 (10 + 128) + 128) + 129 parameters
    vocab = 1000
    model = Sequential([Embedding(vocab, 10), LSTM(128), Dense(1, activation="sigmoid")])
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[4].startswith(" embedding (Embedding)       (None, None, 10)          10000")
    assert lines[6].startswith(" lstm (LSTM)                 (None, 128)               71168")
    assert lines[8].startswith(" dense (Dense)               (None, 1)                 129")
    assert f"Total params: {10 * vocab + 4 * (128 * (10 + 128) + 128) + 129:,}" in lines


def test_gru_parameter_counts():
    # reset_after: 3 (D H + H H + 2 H); reset_before: 3 (D H + H H + H)
    assert Sequential([GRU(H, input_shape=(T, D))]).count_params() == 3 * (D * H + H * H + 2 * H)
    assert Sequential([GRU(H, reset_after=False, input_shape=(T, D))]).count_params() == 3 * (D * H + H * H + H)
    assert Sequential([Bidirectional(LSTM(H), input_shape=(T, D))]).count_params() == 2 * 4 * (D * H + H * H + H)


def test_lstm_unit_forget_bias():
    layer = LSTM(H)
    layer.build((None, T, D))
    np.testing.assert_array_equal(layer.weights["bias"], np.r_[np.zeros(H), np.ones(H), np.zeros(2 * H)])
    off = LSTM(H, unit_forget_bias=False)
    off.build((None, T, D))
    np.testing.assert_array_equal(off.weights["bias"], 0)


def test_dropout_only_in_training_and_reproducible():
    model = Sequential([Input(shape=(T, D)), LSTM(H, dropout=0.5, recurrent_dropout=0.5), Dropout(0.3), Dense(1)])
    x = data()
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    backend.set_random_seed(4)
    first = model(x, training=True)
    backend.set_random_seed(4)
    np.testing.assert_array_equal(first, model(x, training=True))
    assert not np.allclose(first, model.predict(x, verbose=0))
