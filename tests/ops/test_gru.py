"""ops.gru: both Keras variants against a plain loop from Keras's equations; BPTT against finite
differences for every option."""

import itertools

import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit.ops.gru import gru_backward, gru_forward

ACT = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0),
       "linear": lambda z: z}


def reference(x, W, U, b, h0, mask, go_backwards, reset_after, act, ract):
    B, T, _ = x.shape
    H = U.shape[0]
    outs, last = np.zeros((B, T, H)), np.zeros((B, H))
    b_x = b[0] if reset_after else b
    for n in range(B):
        h = h0[n].copy()
        steps = range(T - 1, -1, -1) if go_backwards else range(T)
        for k, t in enumerate(steps):
            if mask is None or mask[n, t]:
                xp = x[n, t] @ W + b_x
                if reset_after:
                    u = h @ U + b[1]
                    z, r = ract(xp[:H] + u[:H]), ract(xp[H:2 * H] + u[H:2 * H])
                    hh = act(xp[2 * H:] + r * u[2 * H:])
                else:
                    z, r = ract(xp[:H] + h @ U[:, :H]), ract(xp[H:2 * H] + h @ U[:, H:2 * H])
                    hh = act(xp[2 * H:] + (r * h) @ U[:, 2 * H:])
                h = z * h + (1 - z) * hh
            outs[n, k] = h
        last[n] = h
    return outs, last


def params(rng, reset_after, B=3, T=5, D=4, H=3):
    b = rng.normal(size=(2, 3 * H) if reset_after else 3 * H) * 0.3
    return (rng.normal(size=(B, T, D)), rng.normal(size=(D, 3 * H)) * 0.5, rng.normal(size=(H, 3 * H)) * 0.5,
            b, rng.normal(size=(B, H)) * 0.5)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("activation,recurrent_activation", [("tanh", "sigmoid"), ("relu", "sigmoid"),
                                                             ("tanh", "linear")])
@pytest.mark.parametrize("go_backwards,masked", list(itertools.product([False, True], repeat=2)))
def test_forward_equals_plain_loop(reset_after, activation, recurrent_activation, go_backwards, masked):
    rng = np.random.default_rng(0)
    x, W, U, b, h0 = params(rng, reset_after)
    mask = rng.random((3, 5)) > 0.3 if masked else None
    outs, last, _ = gru_forward(x, W, U, b, h0, mask=mask, go_backwards=go_backwards, activation=activation,
                                recurrent_activation=recurrent_activation, reset_after=reset_after)
    ref_outs, ref_last = reference(x, W, U, b, h0, mask, go_backwards, reset_after, ACT[activation],
                                   ACT[recurrent_activation])
    np.testing.assert_allclose(outs, ref_outs, atol=1e-12)
    np.testing.assert_allclose(last, ref_last, atol=1e-12)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("activation", ["tanh", "elu"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked,zero_output", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("dropout", [False, True])
@pytest.mark.parametrize("use_bias", [True, False])
def test_backward_equals_finite_differences(reset_after, activation, go_backwards, masked, zero_output,
                                            dropout, use_bias):
    rng = np.random.default_rng(1)
    x, W, U, b, h0 = params(rng, reset_after)
    b = b if use_bias else None
    mask = np.array([[1, 1, 0, 1, 1], [1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], bool) if masked else None
    m_x = (rng.random((3, 4)) > 0.3) / 0.7 if dropout else None
    m_h = (rng.random((3, 3)) > 0.3) / 0.7 if dropout else None
    kwargs = dict(mask=mask, go_backwards=go_backwards, activation=activation, reset_after=reset_after,
                  zero_output_for_mask=zero_output, input_dropout_mask=m_x, recurrent_dropout_mask=m_h)

    def forward():
        outs, last, _ = gru_forward(x, W, U, b, h0, **kwargs)
        return [outs, last]

    def backward(R):
        _, _, cache = gru_forward(x, W, U, b, h0, keep_cache=True, **kwargs)
        dx, dh0, grads = gru_backward(R[0], R[1], cache)
        assert set(grads) == ({"kernel", "recurrent_kernel", "bias"} if use_bias else {"kernel", "recurrent_kernel"})
        return dict(x=dx, kernel=grads["kernel"], recurrent_kernel=grads["recurrent_kernel"], h0=dh0,
                    **({"bias": grads["bias"]} if use_bias else {}))

    arrays = dict(x=x, kernel=W, recurrent_kernel=U, h0=h0, **({"bias": b} if use_bias else {}))
    assert_gradients(forward, backward, arrays)
