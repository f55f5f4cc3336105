"""Whole-model gradients of every loss (through Sequential's backward) against finite differences."""

import numpy as np
import pytest

from conftest import finite_difference_check
from rnnkit import backend, losses
from rnnkit.layers import Bidirectional, Dense, SimpleRNN, TimeDistributed
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
    weights = [layer.weights[k] for layer in model.layers for k in layer.weights]

    def f():
        return loss(y, model(x))

    out = model._forward(x, training=True)
    model._backward(loss.gradient(loss.check_targets(y, out.shape), out))
    grads = [layer.grads[k] for layer in model.layers for k in layer.weights]
    assert finite_difference_check(f, weights, grads) < 1e-6


@pytest.mark.parametrize("loss_name", ["categorical_crossentropy", "binary_crossentropy"])
def test_probability_losses_on_unnormalised_predictions(loss_name):
    # The losses' own gradients, independent of any model: clipping and normalisation included.
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.9, size=(4, 3))
    t = np.eye(3)[[0, 2, 1, 1]] if loss_name == "categorical_crossentropy" else rng.integers(0, 2, (4, 3)).astype(float)
    loss = losses.get(loss_name)
    assert finite_difference_check(lambda: loss(t, p), [p], [loss.gradient(t, p)]) < 1e-6
