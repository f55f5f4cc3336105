"""Whole-model gradients of every loss (through Sequential's backward, and through the step fit
takes) against the independent judge (tests/gradient_judge.py): every element of every weight."""

import numpy as np
import pytest

from gradient_judge import assert_loss_gradients
from rnnkit import backend, losses
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, Embedding, Masking, SimpleRNN, TimeDistributed
from rnnkit.models import Sequential

B, T, D = 3, 5, 2


def model_and_targets(loss_name, from_logits, sequence_output):
    rng = np.random.default_rng(11)
    classes = 1 if loss_name in ("mse", "mae", "binary_crossentropy") else 3
    if loss_name == "binary_crossentropy":
        classes = 2
    if from_logits:
        activation = "linear"
    else:
        activation = {"binary_crossentropy": "sigmoid", "categorical_crossentropy": "softmax",
                      "sparse_categorical_crossentropy": "softmax"}.get(loss_name, "tanh")
    head = TimeDistributed(Dense(classes, activation=activation)) if sequence_output else \
        Dense(classes, activation=activation)
    model = Sequential([Bidirectional(SimpleRNN(3, return_sequences=True), input_shape=(T, D)),
                        SimpleRNN(4, return_sequences=sequence_output), head])
    model.set_weights([rng.normal(size=w.shape) * 0.5 for w in model.get_weights()])
    out_shape = (B, T, classes) if sequence_output else (B, classes)
    if loss_name == "sparse_categorical_crossentropy":
        y = rng.integers(0, classes, size=out_shape[:-1])
    elif loss_name == "categorical_crossentropy":
        y = np.eye(classes)[rng.integers(0, classes, size=out_shape[:-1])]
    elif loss_name == "binary_crossentropy":
        y = rng.integers(0, 2, size=out_shape).astype(float)
    else:
        y = rng.normal(size=out_shape)
    return model, rng.normal(size=(B, T, D)), y


@pytest.mark.parametrize("loss_name,from_logits", [
    ("mse", False), ("mae", False), ("binary_crossentropy", False), ("binary_crossentropy", True),
    ("categorical_crossentropy", False), ("categorical_crossentropy", True),
    ("sparse_categorical_crossentropy", False), ("sparse_categorical_crossentropy", True)])
@pytest.mark.parametrize("sequence_output", [False, True])
def test_loss_gradient_through_the_model(loss_name, from_logits, sequence_output):
    backend.set_floatx("float64")
    model, x, y = model_and_targets(loss_name, from_logits, sequence_output)
    loss = losses.get(loss_name)
    loss.from_logits = from_logits

    def f():
        return loss(y, model(x))

    out = model._forward(x, training=True)
    model._backward(loss.gradient(loss.check_targets(y, out.shape), out))
    assert_loss_gradients(f, named(model, "weights"), named(model, "grads"))


def named(model, attribute):
    return {f"{layer.name}/{key}": getattr(layer, attribute)[key] for layer in model.layers for key in layer.weights}


@pytest.mark.parametrize("loss_name", ["categorical_crossentropy", "binary_crossentropy"])
def test_probability_losses_on_unnormalised_predictions(loss_name):
    # The losses' own gradients, independent of any model: clipping and normalisation included.
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.9, size=(4, 3))
    t = np.eye(3)[[0, 2, 1, 1]] if loss_name == "categorical_crossentropy" else rng.integers(0, 2, (4, 3)).astype(float)
    loss = losses.get(loss_name)
    assert_loss_gradients(lambda: loss(t, p), {"p": p}, {"p": loss.gradient(t, p)})


LOSSES = [("mse", False), ("mae", False), ("binary_crossentropy", False), ("binary_crossentropy", True),
          ("categorical_crossentropy", False), ("categorical_crossentropy", True),
          ("sparse_categorical_crossentropy", False), ("sparse_categorical_crossentropy", True)]


def predictions_and_targets(loss_name, from_logits, shape, rng):
    classes = shape[-1]
    if from_logits or loss_name in ("mse", "mae"):
        p = rng.normal(size=shape)
    elif loss_name == "binary_crossentropy":
        p = rng.uniform(0.05, 0.95, size=shape)
    else:
        p = rng.dirichlet(np.ones(classes), size=shape[:-1]) * 0.9 + 0.1 / classes
    if loss_name == "sparse_categorical_crossentropy":
        t = rng.integers(0, classes, size=shape[:-1])
    elif loss_name == "categorical_crossentropy":
        t = np.eye(classes)[rng.integers(0, classes, size=shape[:-1])]
    elif loss_name == "binary_crossentropy":
        t = rng.integers(0, 2, size=shape).astype(float)
    else:
        t = rng.normal(size=shape)
    return p, t


@pytest.mark.parametrize("loss_name,from_logits", LOSSES)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4)])
def test_every_loss_gradient_on_its_own(loss_name, from_logits, shape):
    p, t = predictions_and_targets(loss_name, from_logits, shape, np.random.default_rng(5))
    loss = losses.get(loss_name)
    loss.from_logits = from_logits
    assert_loss_gradients(lambda: loss(t, p), {"p": p}, {"p": loss.gradient(t, p)})
    _, gradient = loss.per_sample_and_gradient(t, p)     # the fused form fit uses
    assert_loss_gradients(lambda: loss(t, p), {"p": p}, {"p": gradient})


def masked_model(head_activation, classes, cell):
    return Sequential([Embedding(7, 3, mask_zero=True, input_length=5),
                       Bidirectional(cell(3, return_sequences=True), merge_mode="ave"),
                       TimeDistributed(Dense(classes, activation=head_activation))])


@pytest.mark.parametrize("loss_name,from_logits", LOSSES)
@pytest.mark.parametrize("cell", [LSTM, GRU])
def test_the_training_step_of_a_masked_model(loss_name, from_logits, cell):
    """train_on_batch's gradient (forward, loss with Keras's mask weighting, backward) is the
    gradient of the loss test_on_batch reports; the optimizer is stopped from updating."""
    backend.set_floatx("float64")
    rng = np.random.default_rng(13)
    classes = 1 if loss_name in ("mse", "mae") else 3
    activation = "linear" if from_logits else {"binary_crossentropy": "sigmoid", "mse": "tanh", "mae": "tanh"}.get(
        loss_name, "softmax")
    model = masked_model(activation, classes, cell)
    model.set_weights([rng.normal(size=w.shape) * 0.5 for w in model.get_weights()])
    loss = losses.get(loss_name)
    loss.from_logits = from_logits
    model.compile(optimizer="sgd", loss=loss)
    model.optimizer.apply_gradients = lambda pairs: None
    ids = np.array([[1, 4, 2, 0, 0], [3, 3, 6, 5, 1], [2, 0, 0, 0, 0]])
    _, y = predictions_and_targets(loss_name, from_logits, (3, 5, classes), rng)

    def f():
        return model.test_on_batch(ids, y, return_dict=True)["loss"]

    model.train_on_batch(ids, y)
    assert_loss_gradients(f, named(model, "weights"), named(model, "grads"))


def test_a_masking_model_with_lstm_and_mse():
    backend.set_floatx("float64")
    rng = np.random.default_rng(14)
    model = Sequential([Masking(input_shape=(4, 2)), LSTM(3, return_sequences=True), TimeDistributed(Dense(1))])
    model.set_weights([rng.normal(size=w.shape) * 0.5 for w in model.get_weights()])
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.apply_gradients = lambda pairs: None
    x = rng.normal(size=(2, 4, 2))
    x[0, 3] = 0.0
    x[1, 1:] = 0.0
    y = rng.normal(size=(2, 4, 1))

    model.train_on_batch(x, y)
    assert_loss_gradients(lambda: model.test_on_batch(x, y, return_dict=True)["loss"],
                          named(model, "weights"), named(model, "grads"))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_a_keras3_model_with_input_and_stacked_recurrences(merge_mode):
    # keras.Input first (its layer passes the gradient through), GRU reset_after=False stacked on
    # a Bidirectional SimpleRNN, the last state into Dense: every weight through fit's step.
    from rnnkit.layers import Input
    backend.set_floatx("float64")
    rng = np.random.default_rng(15)
    model = Sequential([Input(shape=(4, 2)), Bidirectional(SimpleRNN(3, return_sequences=True), merge_mode=merge_mode),
                        GRU(3, reset_after=False), Dense(2, activation="softmax")])
    model.set_weights([rng.normal(size=w.shape) * 0.5 for w in model.get_weights()])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.optimizer.apply_gradients = lambda pairs: None
    x, y = rng.normal(size=(3, 4, 2)), np.eye(2)[[0, 1, 1]]

    model.train_on_batch(x, y)
    assert_loss_gradients(lambda: model.test_on_batch(x, y, return_dict=True)["loss"],
                          named(model, "weights"), named(model, "grads"))
