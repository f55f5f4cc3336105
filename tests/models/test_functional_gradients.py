"""The functional graph's backward, judged by finite differences (tests/gradient_judge.py, float64):
fan-outs and shared layers sum their gradients, states handed to a decoder carry theirs back, and
every merge layer's backward is its forward's derivative."""

import numpy as np
import pytest

import rnnkit as keras
from gradient_judge import assert_gradients, assert_loss_gradients
from rnnkit import backend
from rnnkit.layers import GRU, LSTM, Dense, Input, SimpleRNN
from rnnkit.models import Model
from rnnkit.models.functional import GraphInputs


@pytest.fixture(autouse=True)
def float64():
    backend.set_floatx("float64")
    yield
    backend.set_floatx("float32")


def check_model(model, inputs, seed=0):
    """dL/dweights of L = sum(R * output) through the model's own training pass, against
    central differences of the same L through its inference pass."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for key in layer.weights:
            layer.weights[key][...] = rng.normal(scale=0.4, size=layer.weights[key].shape)
    batch = GraphInputs(inputs) if len(inputs) > 1 else inputs[0]
    output = model._run(batch)[0]
    projection = rng.normal(size=output.shape)
    model._run(batch, training=True)
    model._backward(projection)
    arrays = {f"{layer.name}/{key}": w for layer in model.layers for key, w in layer.weights.items()}
    grads = {f"{layer.name}/{key}": layer.grads[key] for layer in model.layers for key in layer.weights}
    assert_loss_gradients(lambda: float(np.sum(projection * model._run(batch)[0])), arrays, grads)


def test_a_shared_layer_on_two_inputs_sums_its_gradients():
    a, b = Input(shape=(4, 3)), Input(shape=(4, 3))
    shared = LSTM(3)
    left, right = shared(a), shared(b)
    joined = keras.layers.concatenate([left, right, keras.layers.subtract([left, right]),
                                       keras.layers.multiply([left, right])])
    model = Model([a, b], Dense(2)(joined))
    rng = np.random.default_rng(1)
    check_model(model, [rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))])


def test_states_handed_to_a_decoder_carry_their_gradients_back():
    encoder_inputs, decoder_inputs = Input(shape=(5, 3)), Input(shape=(4, 2))
    _, h, c = LSTM(3, return_state=True)(encoder_inputs)
    sequence, _, _ = LSTM(3, return_sequences=True, return_state=True)(decoder_inputs, initial_state=[h, c])
    model = Model([encoder_inputs, decoder_inputs], Dense(2)(sequence))
    rng = np.random.default_rng(2)
    check_model(model, [rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 4, 2))])


def test_conv_lstm_states_handed_to_a_decoder_carry_their_gradients_back():
    # The decoder's states are grids (batch, rows, cols, filters); the encoder's weights reach the
    # loss only through them, so its gradients are right only if the state gradients are.
    encoder_frames, decoder_frames = Input(shape=(3, 4, 3, 2)), Input(shape=(2, 4, 3, 1))
    _, h, c = keras.layers.ConvLSTM2D(2, 2, padding="same", return_state=True)(encoder_frames)
    decoded = keras.layers.ConvLSTM2D(2, (2, 1), padding="same", return_sequences=True)(
        decoder_frames, initial_state=[h, c])
    model = Model([encoder_frames, decoder_frames], decoded)
    rng = np.random.default_rng(6)
    check_model(model, [rng.normal(size=(2, 3, 4, 3, 2)), rng.normal(size=(2, 2, 4, 3, 1))])


def test_luong_attention_with_dot_and_a_tensor_read_three_times():
    encoder_inputs, decoder_inputs = Input(shape=(5, 3)), Input(shape=(4, 2))
    encoded, state = GRU(3, return_sequences=True, return_state=True)(encoder_inputs)
    decoded = GRU(3, return_sequences=True)(decoder_inputs, initial_state=[state])
    scores = keras.layers.dot([decoded, encoded], axes=[2, 2])
    context = keras.layers.dot([scores, encoded], axes=[2, 1])
    model = Model([encoder_inputs, decoder_inputs], Dense(2)(keras.layers.concatenate([context, decoded])))
    rng = np.random.default_rng(3)
    check_model(model, [rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 4, 2))])


def test_elementwise_merges_and_cosine_similarity():
    a, b, c = Input(shape=(3,)), Input(shape=(3,)), Input(shape=(3,))
    x, y, z = Dense(3)(a), Dense(3)(b), Dense(3)(c)
    merged = keras.layers.concatenate([keras.layers.add([x, y, z]), keras.layers.average([x, y, z]),
                                       keras.layers.maximum([x, y]), keras.layers.minimum([y, z]),
                                       keras.layers.dot([x, z], axes=1, normalize=True)])
    model = Model([a, b, c], Dense(1)(merged))
    rng = np.random.default_rng(4)
    check_model(model, [rng.normal(size=(3, 3)) for _ in range(3)])


@pytest.mark.parametrize("make", [
    lambda: keras.layers.Add(), lambda: keras.layers.Subtract(), lambda: keras.layers.Multiply(),
    lambda: keras.layers.Average(), lambda: keras.layers.Maximum(), lambda: keras.layers.Minimum(),
    lambda: keras.layers.Concatenate(axis=1), lambda: keras.layers.Dot(axes=[2, 2]),
    lambda: keras.layers.Dot(axes=[2, 1]), lambda: keras.layers.Dot(axes=2, normalize=True)])
def test_each_merge_layers_backward(make):
    layer = make()
    rng = np.random.default_rng(5)
    count = 2 if isinstance(layer, (keras.layers.Subtract, keras.layers.Dot)) else 3
    shapes = [(2, 3, 4)] * count
    if isinstance(layer, keras.layers.Dot) and layer.axes == [2, 1]:
        shapes = [(2, 3, 4), (2, 4, 3)]
    xs = [rng.normal(size=shape) for shape in shapes]
    layer.build(shapes)

    def forward():
        return layer.forward(xs)

    def backward(weights):
        _, cache = layer.forward_with_cache(xs, training=True)
        grads = layer.backward(weights[0], cache)
        return {f"x{i}": g for i, g in enumerate(grads)}

    assert_gradients(forward, backward, {f"x{i}": x for i, x in enumerate(xs)})


def test_functional_training_learns_a_copy_task():
    # Stated in advance: copying the first of two inputs is learnable; the loss falls 10x.
    keras.utils.set_random_seed(0)
    a, b = Input(shape=(6, 2)), Input(shape=(6, 2))
    x = keras.layers.concatenate([SimpleRNN(8, return_sequences=True)(a), SimpleRNN(8, return_sequences=True)(b)])
    model = Model([a, b], Dense(2)(x))
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(64, 6, 2)), rng.normal(size=(64, 6, 2))
    history = model.fit([xa, xb], xa, epochs=60, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 10


def test_keras_3_masked_merges_backward_is_their_forwards_derivative():
    # Under Keras 3's rules a masked step of one branch takes the running value (Maximum/Minimum)
    # or 1 (Multiply), and a step no branch keeps is 0 for Multiply; the gradient must follow.
    left_tokens, right_tokens = Input(shape=(5,), dtype="int32"), Input(shape=(5,), dtype="int32")
    left = keras.layers.Embedding(6, 3, mask_zero=True)(left_tokens)
    right = keras.layers.Embedding(6, 3, mask_zero=True)(right_tokens)
    merged = keras.layers.concatenate([keras.layers.maximum([left, right]), keras.layers.minimum([left, right]),
                                       keras.layers.multiply([left, right])])
    model = Model([left_tokens, right_tokens], Dense(2)(LSTM(3)(merged)))
    model.mask_rules = "keras3"
    left_ids = np.array([[1, 0, 2, 0, 3], [0, 4, 5, 1, 0]])
    right_ids = np.array([[2, 3, 0, 0, 1], [5, 0, 1, 0, 0]])   # steps where both are 0: none valid
    check_model(model, [left_ids, right_ids])


@pytest.mark.parametrize("merge", ["maximum", "minimum", "multiply"])
def test_keras_3_masked_merge_ops_backward_is_their_forwards_derivative_at_every_step(merge):
    # Judged directly, so steps no input keeps (where an RNN after the merge would look away) count.
    from rnnkit.ops import merge as merge_ops
    rng = np.random.default_rng(3)
    xs = [rng.normal(size=(2, 6, 3)) for _ in range(3)]
    keep = rng.random(size=(3, 2, 6, 1)) < 0.5
    keep[:, 0, 0] = False                                   # one step that no input keeps
    masks = [np.broadcast_to(k, x.shape) for k, x in zip(keep, xs)]
    if merge == "multiply":
        def forward():
            return merge_ops.product_under_masks(xs, masks)

        def backward(weights):
            grads = merge_ops.product_under_masks_gradients(weights[0], xs, masks)
            return {f"x{k}": g for k, g in enumerate(grads)}
    else:
        op = np.maximum if merge == "maximum" else np.minimum

        def forward():
            return merge_ops.running_under_masks(op, xs, masks)

        def backward(weights):
            grads = merge_ops.running_under_masks_gradients(weights[0], op, xs, masks)
            return {f"x{k}": g for k, g in enumerate(grads)}
    assert_gradients(forward, backward, {f"x{k}": x for k, x in enumerate(xs)})
