import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit.ops import dense_backward, dense_forward


@pytest.mark.parametrize("activation", ["linear", "tanh", "sigmoid", "relu", "softmax"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3)])
def test_dense_backward_equals_finite_differences(activation, shape):
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=shape), rng.normal(size=(3, 4)), rng.normal(size=4)

    def forward():
        return dense_forward(x, W, b, activation)

    def backward(R):
        dx, grads = dense_backward(R[0], x, dense_forward(x, W, b, activation), W, True, activation)
        return dict(x=dx, kernel=grads["kernel"], bias=grads["bias"])

    np.testing.assert_allclose(forward(), _reference(x, W, b, activation), atol=1e-12)
    assert_gradients(forward, backward, dict(x=x, kernel=W, bias=b))


@pytest.mark.parametrize("activation", ["linear", "tanh", "elu", "softplus"])
def test_dense_backward_without_bias_and_without_dx(activation):
    rng = np.random.default_rng(1)
    x, W = rng.normal(size=(2, 3, 3)), rng.normal(size=(3, 2))

    def backward(R):
        y = dense_forward(x, W, None, activation)
        none, grads = dense_backward(R[0], x, y, W, False, activation, need_dx=False)
        assert none is None and set(grads) == {"kernel"}
        return dict(kernel=grads["kernel"])

    assert_gradients(lambda: dense_forward(x, W, None, activation), backward, dict(kernel=W))


def _reference(x, W, b, activation):
    z = x @ W + b
    if activation == "softmax":
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    return {"linear": lambda v: v, "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
            "relu": lambda v: np.maximum(v, 0)}[activation](z)
