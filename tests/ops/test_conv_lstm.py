"""ops/conv_lstm.py and ops/convolution.py: the forward against a literal loop written here (a
convolution summed position by position, Keras's gate order i, f, c, o), and the hand-derived
backward against the finite-difference judge in float64, over 1-D, 2-D and 3-D grids, strides,
dilation, padding, masks, direction, dropout, initial states and last-state-only outputs."""

import itertools

import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit.ops import conv_lstm, convolution


def literal_conv(x, w, strides, padding, dilation):
    """x (B, n.., C), w (k.., C, F): every output position summed tap by tap (TensorFlow's 'same':
    total padding max((L - 1) s + (k - 1) d + 1 - n, 0), the smaller half on the left)."""
    rank = x.ndim - 2
    pads, outs = [], []
    for a in range(rank):
        n, k, s, d = x.shape[1 + a], w.shape[a], strides[a], dilation[a]
        span = (k - 1) * d + 1
        if padding == "same":
            out = -(-n // s)
            total = max((out - 1) * s + span - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            out = (n - span) // s + 1
            pads.append((0, 0))
        outs.append(out)
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    y = np.zeros((x.shape[0],) + tuple(outs) + (w.shape[-1],))
    for pos in itertools.product(*(range(o) for o in outs)):
        for tap in itertools.product(*(range(k) for k in w.shape[:rank])):
            src = tuple(p * s + j * d for p, s, j, d in zip(pos, strides, tap, dilation))
            y[(slice(None),) + pos] += xp[(slice(None),) + src] @ w[tap]
    return y


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def literal_conv_lstm(x, W, U, b, strides, padding, dilation, h0=None, c0=None, mask=None, go_backwards=False):
    """One step at a time, as the paper and Keras write it; returns (outputs, h, c)."""
    rank = x.ndim - 3
    F = W.shape[-1] // 4
    T = x.shape[1]
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    h = c = None
    outputs = []
    for t in order:
        zx = literal_conv(x[:, t], W, strides, padding, dilation) + (0 if b is None else b)
        if h is None:
            h = np.zeros(zx.shape[:-1] + (F,)) if h0 is None else h0
            c = np.zeros_like(h) if c0 is None else c0
        z = zx + literal_conv(h, U, (1,) * rank, "same", (1,) * rank)
        i, f, g, o = sigmoid(z[..., :F]), sigmoid(z[..., F:2 * F]), np.tanh(z[..., 2 * F:3 * F]), sigmoid(z[..., 3 * F:])
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        if mask is not None:
            keep = mask[:, t].reshape((-1,) + (1,) * (rank + 1))
            h_new, c_new = np.where(keep, h_new, h), np.where(keep, c_new, c)
        h, c = h_new, c_new
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c


CASES = {
    # name: (input shape (B, T, n.., C), kernel size, strides, padding, dilation, filters)
    "1d_valid": ((2, 3, 7, 2), (3,), (1,), "valid", (1,), 2),
    "1d_same_strided": ((2, 3, 7, 2), (3,), (2,), "same", (1,), 2),
    "1d_dilated": ((2, 3, 8, 1), (2,), (1,), "valid", (2,), 3),
    "2d_same": ((2, 3, 4, 5, 2), (3, 2), (1, 1), "same", (1, 1), 2),
    "2d_strided_valid": ((1, 3, 5, 6, 2), (2, 3), (2, 1), "valid", (1, 1), 2),
    "3d_same": ((1, 3, 3, 3, 2, 1), (2, 2, 2), (1, 1, 1), "same", (1, 1, 1), 1),
}


def make(case, seed=0):
    shape, k, s, padding, d, F = CASES[case]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    W = rng.standard_normal(k + (shape[-1], 4 * F)) * 0.5
    U = rng.standard_normal(k + (F, 4 * F)) * 0.5
    b = rng.standard_normal(4 * F) * 0.5
    return x, W, U, b, k, s, padding, d, F


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_matches_the_literal_loop(case):
    x, W, U, b, k, s, padding, d, F = make(case)
    outputs, (h, c), _ = conv_lstm.conv_lstm_forward(x, W, U, b, s, padding, d)
    expected, h_ref, c_ref = literal_conv_lstm(x, W, U, b, s, padding, d)
    np.testing.assert_allclose(outputs, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c, c_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("filters", [1, 2])
def test_sigmoid_activation_in_both_float_types(dtype, filters):
    """4 F gate columns of 4 and 8: the widths where an in-place ufunc on a column view went wrong."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 5, 3))
    W, U, b = (rng.standard_normal((1, 3, 4 * filters)), rng.standard_normal((1, filters, 4 * filters)),
               rng.standard_normal(4 * filters))
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    h = c = np.zeros((2, 5, filters))
    expected = []
    for t in range(3):
        z = x[:, t] @ W[0] + h @ U[0] + b
        i, f, g, o = (sig(z[..., j * filters:(j + 1) * filters]) for j in range(4))
        c = f * c + i * g
        h = o * sig(c)
        expected.append(h)
    cast = [a.astype(dtype) for a in (x, W, U, b)]
    outputs, _, _ = conv_lstm.conv_lstm_forward(*cast, (1,), "valid", (1,), "sigmoid", "sigmoid")
    np.testing.assert_allclose(outputs, np.stack(expected, axis=1), rtol=1e-5, atol=1e-6)


def test_forward_with_mask_direction_and_initial_states_matches_the_literal_loop():
    x, W, U, b, k, s, padding, d, F = make("2d_same", seed=1)
    rng = np.random.default_rng(2)
    h0, c0 = rng.standard_normal((2, 4, 5, F)), rng.standard_normal((2, 4, 5, F))
    mask = np.array([[True, False, True], [False, True, True]])
    for go_backwards in (False, True):
        outputs, (h, c), _ = conv_lstm.conv_lstm_forward(x, W, U, b, s, padding, d, states=[h0, c0], mask=mask,
                                                         go_backwards=go_backwards)
        expected, h_ref, c_ref = literal_conv_lstm(x, W, U, b, s, padding, d, h0, c0, mask, go_backwards)
        np.testing.assert_allclose(outputs, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(c, c_ref, rtol=1e-12, atol=1e-12)


def test_im2col_is_the_literal_convolution_and_col2im_its_adjoint():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 5, 3))
    w = rng.standard_normal((3, 2, 3, 4))
    for strides, padding, dilation in (((1, 1), "same", (1, 1)), ((2, 1), "valid", (1, 2)), ((2, 2), "same", (1, 1))):
        geometry = convolution.Geometry(x.shape[1:-1], w.shape[:2], strides, padding, dilation)
        rows = convolution.im2col(x, geometry)
        y = (rows @ w.reshape(-1, 4)).reshape((2,) + geometry.out + (4,))
        np.testing.assert_allclose(y, literal_conv(x, w, strides, padding, dilation), rtol=1e-12, atol=1e-12)
        # <im2col(x), r> == <x, col2im(r)> for any r: col2im is the adjoint (the dx of the forward)
        r = rng.standard_normal(rows.shape)
        np.testing.assert_allclose(np.sum(rows * r), np.sum(x * convolution.col2im(r, 2, geometry)), rtol=1e-12)


SCENARIOS = {
    "plain": {},
    "last_state_only": {"return_sequences": False},
    "go_backwards": {"go_backwards": True},
    "masked": {"mask": np.array([[True, False, True], [True, True, False]])},
    "masked_zero_output": {"mask": np.array([[False, True, True], [True, False, True]]), "zero_output_for_mask": True},
    "initial_states": {"initial": True},
    "dropout": {"dropout": True},
    "no_bias": {"no_bias": True},
    "hard_sigmoid_relu": {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
}


# every scenario on a strided 1-D grid; the main ones on the other grids
PAIRS = ([("1d_same_strided", scenario) for scenario in sorted(SCENARIOS)]
         + [(case, scenario) for case in ("1d_dilated", "2d_strided_valid", "3d_same")
            for scenario in ("plain", "masked", "initial_states")])


@pytest.mark.parametrize("case, scenario", PAIRS)
def test_backward_against_finite_differences(case, scenario):
    options = dict(SCENARIOS[scenario])
    x, W, U, b, k, s, padding, d, F = make(case, seed=4)
    rng = np.random.default_rng(5)
    B = x.shape[0]
    grid = conv_lstm.geometries(x.shape[2:-1], k, s, padding, d)[0].out
    arrays = {"x": x, "kernel": W, "recurrent_kernel": U}
    if not options.pop("no_bias", False):
        arrays["bias"] = b
    if options.pop("initial", False):
        arrays["h0"] = rng.standard_normal((B,) + grid + (F,))
        arrays["c0"] = rng.standard_normal((B,) + grid + (F,))
    if options.pop("dropout", False):
        options["input_dropout_mask"] = (rng.random(x.shape[:1] + x.shape[2:]) > 0.3) / 0.7
        options["recurrent_dropout_mask"] = (rng.random((B,) + grid + (F,)) > 0.3) / 0.7
    if options.get("recurrent_activation") == "hard_sigmoid":
        # keep every pre-activation off the kinks of hard_sigmoid and relu (no derivative there)
        arrays["kernel"] *= 0.2
        arrays["recurrent_kernel"] *= 0.2
    if "mask" in options:
        options["mask"] = options["mask"][:B]
    return_sequences = options.pop("return_sequences", True)

    def forward():
        states = [arrays.get("h0"), arrays.get("c0")]
        outputs, last, _ = conv_lstm.conv_lstm_forward(
            arrays["x"], arrays["kernel"], arrays["recurrent_kernel"], arrays.get("bias"), s, padding, d,
            states=states, return_sequences=return_sequences, **options)
        return [outputs] + last if return_sequences else last

    def backward(R):
        states = [arrays.get("h0"), arrays.get("c0")]
        _, _, cache = conv_lstm.conv_lstm_forward(
            arrays["x"], arrays["kernel"], arrays["recurrent_kernel"], arrays.get("bias"), s, padding, d,
            states=states, return_sequences=return_sequences, keep_cache=True, **options)
        d_outputs, d_states = (R[0], R[1:]) if return_sequences else (None, R)
        dx, (dh0, dc0), grads = conv_lstm.conv_lstm_backward(d_outputs, d_states, cache)
        grads["x"] = dx
        if "h0" in arrays:
            grads["h0"], grads["c0"] = dh0, dc0
        return grads

    assert_gradients(forward, backward, arrays)


def test_a_cache_is_used_once():
    x, W, U, b, k, s, padding, d, F = make("1d_valid")
    outputs, last, cache = conv_lstm.conv_lstm_forward(x, W, U, b, s, padding, d, keep_cache=True)
    conv_lstm.conv_lstm_backward(np.ones_like(outputs), None, cache)
    with pytest.raises(RuntimeError, match="already used"):
        conv_lstm.conv_lstm_backward(np.ones_like(outputs), None, cache)


def test_a_grid_too_small_is_refused():
    x, W, U, b, *_ = make("1d_valid")
    with pytest.raises(ValueError, match="too small"):
        conv_lstm.conv_lstm_forward(x[:, :, :2], W, U, b, (1,), "valid", (1,))
