"""ops.simple_rnn: the fused loop equals the tutorial's memory cell; BPTT equals finite differences."""

import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit.ops import memory_cell_loop, simple_rnn_backward, simple_rnn_forward


def test_fast_path_equals_tutorial_memory_cell():
    rng = np.random.default_rng(1)
    hidden_size, timesteps, input_dim = 8, 10, 4
    inputs = rng.random((timesteps, input_dim))
    Wx = rng.random((hidden_size, input_dim))
    Wh = rng.random((hidden_size, hidden_size)) * 0.3
    b = rng.random((hidden_size,))
    reference = memory_cell_loop(inputs, Wx, Wh, b, np.zeros((hidden_size,)))
    outputs, last, _ = simple_rnn_forward(inputs[None], Wx.T.copy(), Wh.T.copy(), b)
    assert outputs.dtype == np.float64
    np.testing.assert_allclose(outputs[0], reference, rtol=0, atol=1e-10)
    np.testing.assert_allclose(last[0], reference[-1], rtol=0, atol=1e-10)


def test_memory_cell_prints_the_growing_shapes():
    shapes = []
    memory_cell_loop(np.ones((3, 2)), np.ones((4, 2)), np.ones((4, 4)), np.ones(4), np.zeros(4),
                     print_fn=shapes.append)
    assert shapes == [(1, 4), (2, 4), (3, 4)]


def reference_batch(x, W, U, b, h0, mask, go_backwards, act):
    """A plain per-sample, per-step loop with Keras's mask semantics (a second reference)."""
    B, T, _ = x.shape
    outs = np.zeros((B, T, W.shape[1]))
    last = np.zeros((B, W.shape[1]))
    for i in range(B):
        h = h0[i].copy()
        order = range(T - 1, -1, -1) if go_backwards else range(T)
        for k, t in enumerate(order):
            if mask is None or mask[i, t]:
                h = act(x[i, t] @ W + h @ U + (0 if b is None else b))
            outs[i, k] = h
        last[i] = h
    return outs, last


ACTS = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "linear": lambda z: z}


@pytest.mark.parametrize("activation", sorted(ACTS))
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_forward_equals_plain_loop(activation, go_backwards, masked):
    rng = np.random.default_rng(2)
    B, T, D, H = 3, 5, 4, 6
    x, W, U = rng.normal(size=(B, T, D)), rng.normal(size=(D, H)) * 0.5, rng.normal(size=(H, H)) * 0.3
    b, h0 = rng.normal(size=H), rng.normal(size=(B, H))
    mask = rng.random((B, T)) > 0.3 if masked else None
    outs, last, _ = simple_rnn_forward(x, W, U, b, h0=h0, mask=mask, go_backwards=go_backwards,
                                       activation=activation)
    ref_outs, ref_last = reference_batch(x, W, U, b, h0, mask, go_backwards, ACTS[activation])
    np.testing.assert_allclose(outs, ref_outs, atol=1e-12)
    np.testing.assert_allclose(last, ref_last, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear", "softmax", "elu", "softplus"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked,zero_output", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_backward_equals_finite_differences(activation, go_backwards, masked, zero_output, use_bias):
    rng = np.random.default_rng(3)
    B, T, D, H = 2, 4, 3, 5
    x = rng.normal(size=(B, T, D))
    W, U = rng.normal(size=(D, H)) * 0.6, rng.normal(size=(H, H)) * 0.4
    b = rng.normal(size=H) * 0.1 if use_bias else None
    h0 = rng.normal(size=(B, H)) * 0.5
    mask = np.array([[1, 1, 0, 1], [1, 0, 1, 0]], bool) if masked else None
    kwargs = dict(mask=mask, go_backwards=go_backwards, activation=activation, zero_output_for_mask=zero_output)

    def forward():
        outs, last, _ = simple_rnn_forward(x, W, U, b, h0=h0, **kwargs)
        return [outs, last]

    def backward(R):
        _, _, cache = simple_rnn_forward(x, W, U, b, h0=h0, keep_cache=True, **kwargs)
        dx, dh0, grads = simple_rnn_backward(R[0], R[1], cache)
        assert set(grads) == ({"kernel", "recurrent_kernel", "bias"} if use_bias else {"kernel", "recurrent_kernel"})
        return dict(x=dx, kernel=grads["kernel"], recurrent_kernel=grads["recurrent_kernel"], h0=dh0,
                    **({"bias": grads["bias"]} if use_bias else {}))

    arrays = dict(x=x, kernel=W, recurrent_kernel=U, h0=h0, **({"bias": b} if use_bias else {}))
    assert_gradients(forward, backward, arrays)


def test_backward_with_only_last_state_gradient():
    rng = np.random.default_rng(4)
    x, W, U, b = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3)), rng.normal(size=(3, 3)) * 0.5, np.zeros(3)

    def forward():
        return simple_rnn_forward(x, W, U, b, return_sequences=False)[1]

    def backward(R):
        outs, _, cache = simple_rnn_forward(x, W, U, b, return_sequences=False, keep_cache=True)
        assert outs is None
        dx, _, grads = simple_rnn_backward(None, R[0], cache)
        return dict(x=dx, kernel=grads["kernel"], recurrent_kernel=grads["recurrent_kernel"], bias=grads["bias"])

    assert_gradients(forward, backward, dict(x=x, kernel=W, recurrent_kernel=U, bias=b))


def test_backward_does_not_modify_the_incoming_gradient():
    rng = np.random.default_rng(5)
    x, W, U = rng.normal(size=(1, 4, 2)), rng.normal(size=(2, 3)), rng.normal(size=(3, 3))
    _, _, cache = simple_rnn_forward(x, W, U, None, keep_cache=True)
    d_out = rng.normal(size=(1, 4, 3))
    before = d_out.copy()
    simple_rnn_backward(d_out, None, cache)
    np.testing.assert_array_equal(d_out, before)
