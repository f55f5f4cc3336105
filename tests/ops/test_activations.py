"""ops.activations: every derivative the backward passes use, judged by central differences
(tests/gradient_judge.py), in each form the cells call: from the output, into a buffer, in place
over the output, and on feature-major columns."""

import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit.ops import activations

ELEMENTWISE = ["tanh", "sigmoid", "relu", "linear", "elu", "softplus"]


def points(shape=(3, 4), seed=0):
    z = np.random.default_rng(seed).normal(size=shape) * 2.0
    z[np.abs(z) < 0.05] += 0.2   # keep relu and elu off their kink by more than the step
    return z


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_backward_from_output(name):
    z = points()

    def forward():
        return activations.apply(name, z.copy())   # apply works in place: never on z itself

    def backward(R):
        return {"z": activations.backward_from_output(name, forward(), R[0])}

    assert_gradients(forward, backward, {"z": z})


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("in_place", [False, True])
def test_derivative_into(name, in_place):
    z = points(seed=1)

    def forward():
        return activations.apply(name, z.copy())

    def backward(R):
        y = forward()
        if in_place:   # the cells overwrite y with dy/dz (sigmoid then needs a scratch buffer)
            derivative = activations.derivative_into(name, y, y, np.empty_like(y))
        else:
            derivative = activations.derivative_into(name, y, np.empty_like(y))
        return {"z": R[0] * derivative}

    assert_gradients(forward, backward, {"z": z})


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_columns_then_backward_on_rows(name):
    # Inside ops a step is feature-major (F, B): softmax normalises each column.
    z = points(shape=(4, 3), seed=2)

    def forward():
        return activations.apply_to_columns(name, z.copy())

    def backward(R):
        return {"z": activations.backward_from_output(name, forward().T, R[0].T).T}

    assert_gradients(forward, backward, {"z": z})


def test_has_gradient_names_exactly_the_judged_activations():
    assert all(activations.has_gradient(n) for n in ELEMENTWISE + ["softmax"])
    assert not activations.has_gradient("hard_sigmoid_without_derivative")
