"""ops.lstm: forward equals a plain per-sample loop written from Keras's equations; BPTT equals
finite differences for every option."""

import itertools

import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit.ops.lstm import lstm_backward, lstm_forward

ACT = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0),
       "linear": lambda z: z}


def reference(x, W, U, b, h0, c0, mask, go_backwards, act, ract):
    B, T, _ = x.shape
    H = U.shape[0]
    outs = np.zeros((B, T, H))
    hT, cT = np.zeros((B, H)), np.zeros((B, H))
    for n in range(B):
        h, c = h0[n].copy(), c0[n].copy()
        steps = range(T - 1, -1, -1) if go_backwards else range(T)
        for k, t in enumerate(steps):
            if mask is None or mask[n, t]:
                z = x[n, t] @ W + h @ U + b
                i, f, g, o = ract(z[:H]), ract(z[H:2 * H]), act(z[2 * H:3 * H]), ract(z[3 * H:])
                c = f * c + i * g
                h = o * act(c)
            outs[n, k] = h
        hT[n], cT[n] = h, c
    return outs, hT, cT


def params(rng, B=3, T=5, D=4, H=3):
    return (rng.normal(size=(B, T, D)), rng.normal(size=(D, 4 * H)) * 0.5, rng.normal(size=(H, 4 * H)) * 0.5,
            rng.normal(size=4 * H) * 0.3, rng.normal(size=(B, H)) * 0.5, rng.normal(size=(B, H)) * 0.5)


@pytest.mark.parametrize("activation,recurrent_activation", [("tanh", "sigmoid"), ("relu", "sigmoid"),
                                                             ("tanh", "linear")])
@pytest.mark.parametrize("go_backwards,masked", list(itertools.product([False, True], repeat=2)))
def test_forward_equals_plain_loop(activation, recurrent_activation, go_backwards, masked):
    rng = np.random.default_rng(0)
    x, W, U, b, h0, c0 = params(rng)
    mask = rng.random((3, 5)) > 0.3 if masked else None
    outs, (hT, cT), _ = lstm_forward(x, W, U, b, h0, c0, mask=mask, go_backwards=go_backwards,
                                     activation=activation, recurrent_activation=recurrent_activation)
    ref_outs, ref_h, ref_c = reference(x, W, U, b, h0, c0, mask, go_backwards, ACT[activation],
                                       ACT[recurrent_activation])
    np.testing.assert_allclose(outs, ref_outs, atol=1e-12)
    np.testing.assert_allclose(hT, ref_h, atol=1e-12)
    np.testing.assert_allclose(cT, ref_c, atol=1e-12)


@pytest.mark.parametrize("activation,recurrent_activation", [("tanh", "sigmoid"), ("elu", "sigmoid")])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked,zero_output", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("dropout", [False, True])
@pytest.mark.parametrize("use_bias", [True, False])
def test_backward_equals_finite_differences(activation, recurrent_activation, go_backwards, masked,
                                            zero_output, dropout, use_bias):
    rng = np.random.default_rng(1)
    x, W, U, b, h0, c0 = params(rng)
    b = b if use_bias else None
    mask = np.array([[1, 1, 0, 1, 1], [1, 0, 1, 1, 0], [1, 1, 1, 1, 1]], bool) if masked else None
    m_x = (rng.random((3, 4)) > 0.3) / 0.7 if dropout else None
    m_h = (rng.random((3, 3)) > 0.3) / 0.7 if dropout else None
    kwargs = dict(mask=mask, go_backwards=go_backwards, activation=activation,
                  recurrent_activation=recurrent_activation, zero_output_for_mask=zero_output,
                  input_dropout_mask=m_x, recurrent_dropout_mask=m_h)

    def forward():
        outs, (hT, cT), _ = lstm_forward(x, W, U, b, h0, c0, **kwargs)
        return [outs, hT, cT]

    def backward(R):
        _, _, cache = lstm_forward(x, W, U, b, h0, c0, keep_cache=True, **kwargs)
        dx, (dh0, dc0), grads = lstm_backward(R[0], R[1], R[2], cache)
        assert set(grads) == ({"kernel", "recurrent_kernel", "bias"} if use_bias else {"kernel", "recurrent_kernel"})
        return dict(x=dx, kernel=grads["kernel"], recurrent_kernel=grads["recurrent_kernel"], h0=dh0, c0=dc0,
                    **({"bias": grads["bias"]} if use_bias else {}))

    arrays = dict(x=x, kernel=W, recurrent_kernel=U, h0=h0, c0=c0, **({"bias": b} if use_bias else {}))
    assert_gradients(forward, backward, arrays)
