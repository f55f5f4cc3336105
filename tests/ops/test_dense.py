import numpy as np
import pytest

from conftest import finite_difference_check
from rnnkit.ops import dense_backward, dense_forward


@pytest.mark.parametrize("activation", ["linear", "tanh", "sigmoid", "relu", "softmax"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3)])
def test_dense_backward_equals_finite_differences(activation, shape):
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=shape), rng.normal(size=(3, 4)), rng.normal(size=4)
    w = rng.normal(size=shape[:-1] + (4,))

    def loss():
        return float(np.sum(dense_forward(x, W, b, activation) * w))

    y = dense_forward(x, W, b, activation)
    np.testing.assert_allclose(y, _reference(x, W, b, activation), atol=1e-12)
    dx, grads = dense_backward(w, x, y, W, True, activation)
    assert finite_difference_check(loss, [x, W, b], [dx, grads["kernel"], grads["bias"]]) < 1e-6


def _reference(x, W, b, activation):
    z = x @ W + b
    if activation == "softmax":
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    return {"linear": lambda v: v, "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
            "relu": lambda v: np.maximum(v, 0)}[activation](z)
