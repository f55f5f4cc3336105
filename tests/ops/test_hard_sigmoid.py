"""hard_sigmoid, both meanings: Keras 2's clip(0.2 z + 0.5, 0, 1) ("hard_sigmoid") and Keras 3's
relu6(z + 3) / 6 ("hard_sigmoid_v3"), alone and as an LSTM's / GRU's recurrent_activation, forward
against an independent float64 loop written from Keras's formulas, backward against the
independent judge at points kept away from the kinks (where the derivative jumps)."""

import numpy as np
import pytest

from gradient_judge import STEP, assert_gradients
from rnnkit import activations as keras_activations
from rnnkit.ops import activations
from rnnkit.ops.gru import gru_backward, gru_forward
from rnnkit.ops.lstm import lstm_backward, lstm_forward


def keras2_hard_sigmoid(z):
    return np.minimum(np.maximum(0.2 * z + 0.5, 0.0), 1.0)


def keras3_hard_sigmoid(z):
    return np.minimum(np.maximum(z + 3.0, 0.0), 6.0) / 6.0


REFERENCE = {"hard_sigmoid": keras2_hard_sigmoid, "hard_sigmoid_v3": keras3_hard_sigmoid}
KINKS = {"hard_sigmoid": (-2.5, 2.5), "hard_sigmoid_v3": (-3.0, 3.0)}


def test_the_two_definitions_differ_where_keras_says_they_do():
    z = np.array([-4.0, -2.75, -1.0, 0.0, 1.0, 2.75, 4.0])
    np.testing.assert_allclose(activations.apply("hard_sigmoid", z.copy()), [0, 0, 0.3, 0.5, 0.7, 1, 1])
    np.testing.assert_allclose(activations.apply("hard_sigmoid_v3", z.copy()),
                               [0, 0.25 / 6, 2 / 6, 0.5, 4 / 6, 5.75 / 6, 1])


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_forward_and_public_function_match_the_formula(name):
    z = np.linspace(-6, 6, 241)
    np.testing.assert_allclose(activations.apply(name, z.copy()), REFERENCE[name](z), atol=1e-15)
    np.testing.assert_allclose(getattr(keras_activations, name)(z), REFERENCE[name](z), atol=1e-15)
    assert keras_activations.get(name) == name
    z32 = z.astype("float32")
    assert activations.apply(name, z32.copy()).dtype == np.float32


def away_from_kinks(name, z):
    low, high = KINKS[name]
    return np.min(np.abs(np.concatenate([z.ravel() - low, z.ravel() - high]))) > 100 * STEP


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_derivative_judged(name):
    z = np.random.default_rng(3).normal(size=(4, 5)) * 3.0
    assert away_from_kinks(name, z)
    low, high = KINKS[name]
    assert (z < low).any() and (z > high).any() and ((z > low) & (z < high)).any()  # all three pieces

    def forward():
        return activations.apply(name, z.copy())

    assert_gradients(forward, lambda R: {"z": activations.backward_from_output(name, forward(), R[0])}, {"z": z})
    y = forward()
    for in_place in (False, True):
        out = y.copy() if in_place else np.empty_like(y)
        got = activations.derivative_into(name, out if in_place else y, out, np.empty_like(y))
        slope = 0.2 if name == "hard_sigmoid" else 1 / 6
        np.testing.assert_array_equal(got, np.where((z > low) & (z < high), slope, 0.0))


# ---- inside LSTM and GRU: an independent float64 reference loop, keeping every pre-activation ----
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def reference_lstm(x, W, U, b, h, c, ra):
    H = U.shape[0]
    outs, pre = [], []
    for t in range(x.shape[1]):
        z = x[:, t] @ W + h @ U + b
        pre.append(np.concatenate([z[:, :2 * H], z[:, 3 * H:]], axis=1))     # i, f, o see ra
        i, f, g, o = ra(z[:, :H]), ra(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), ra(z[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1), np.concatenate(pre)


def reference_gru(x, W, U, b, h, ra, reset_after):
    H = U.shape[0]
    outs, pre = [], []
    for t in range(x.shape[1]):
        if reset_after:
            xz = x[:, t] @ W + b[0]
            hz = h @ U + b[1]
            zr = xz[:, :2 * H] + hz[:, :2 * H]
            pre.append(zr)
            z, r = ra(zr[:, :H]), ra(zr[:, H:])
            hh = np.tanh(xz[:, 2 * H:] + r * hz[:, 2 * H:])
        else:
            xz = x[:, t] @ W + b
            zr = xz[:, :2 * H] + h @ U[:, :2 * H]
            pre.append(zr)
            z, r = ra(zr[:, :H]), ra(zr[:, H:])
            hh = np.tanh(xz[:, 2 * H:] + (r * h) @ U[:, 2 * H:])
        h = z * h + (1 - z) * hh
        outs.append(h)
    return np.stack(outs, 1), np.concatenate(pre)


CELLS = ["lstm", "gru_reset_after", "gru_reset_before"]


def cell_problem(cell, name, seed):
    rng = np.random.default_rng(seed)
    B, T, D, H = 3, 4, 3, 2
    gates = 4 if cell == "lstm" else 3
    x = rng.normal(size=(B, T, D)) * 2.0
    W, U = rng.normal(size=(D, gates * H)), rng.normal(size=(H, gates * H))
    b = rng.normal(size=(2, 3 * H) if cell == "gru_reset_after" else (gates * H,))
    states = [rng.normal(size=(B, H)) * 0.5 for _ in range(2 if cell == "lstm" else 1)]
    ra = REFERENCE[name]
    if cell == "lstm":
        outs, pre = reference_lstm(x, W, U, b, *states, ra)
    else:
        outs, pre = reference_gru(x, W, U, b, states[0], ra, cell == "gru_reset_after")
    return x, W, U, b, states, outs, pre


def run_cell(cell, x, W, U, b, states, name, keep_cache=False):
    if cell == "lstm":
        return lstm_forward(x, W, U, b, h0=states[0], c0=states[1], recurrent_activation=name, keep_cache=keep_cache)
    return gru_forward(x, W, U, b, h0=states[0], recurrent_activation=name, reset_after=cell == "gru_reset_after",
                       keep_cache=keep_cache)


def chosen_seed(cell, name):
    """The first seed whose gate pre-activations reach every piece and stay off the kinks (the
    judge's central differences are only meaningful where the function is smooth)."""
    low, high = KINKS[name]
    for seed in range(200):
        pre = cell_problem(cell, name, seed)[-1]
        if away_from_kinks(name, pre) and (pre < low).any() and (pre > high).any():
            return seed
    raise AssertionError("no seed keeps the pre-activations off the kinks")


@pytest.mark.parametrize("name", sorted(REFERENCE))
@pytest.mark.parametrize("cell", CELLS)
def test_recurrent_activation_forward_matches_reference(cell, name):
    x, W, U, b, states, expected, _ = cell_problem(cell, name, chosen_seed(cell, name))
    outs, _, _ = run_cell(cell, x, W, U, b, states, name)
    np.testing.assert_allclose(outs, expected, rtol=1e-12, atol=1e-12)
    other = "hard_sigmoid_v3" if name == "hard_sigmoid" else "hard_sigmoid"
    assert np.abs(run_cell(cell, x, W, U, b, states, other)[0] - expected).max() > 1e-3   # the two differ here


@pytest.mark.parametrize("name", sorted(REFERENCE))
@pytest.mark.parametrize("cell", CELLS)
def test_recurrent_activation_backward_judged(cell, name):
    x, W, U, b, states, _, _ = cell_problem(cell, name, chosen_seed(cell, name))
    arrays = {"x": x, "kernel": W, "recurrent_kernel": U, "bias": b}
    arrays.update({f"state_{k}": s for k, s in enumerate(states)})

    def forward():
        outs, last, _ = run_cell(cell, x, W, U, b, states, name)
        return [outs] + (list(last) if cell == "lstm" else [last])

    def backward(R):
        _, _, cache = run_cell(cell, x, W, U, b, states, name, keep_cache=True)
        if cell == "lstm":
            dx, (dh0, dc0), grads = lstm_backward(R[0], R[1], R[2], cache)
            d_states = [dh0, dc0]
        else:
            dx, dh0, grads = gru_backward(R[0], R[1], cache)
            d_states = [dh0]
        return dict(x=dx, **grads, **{f"state_{k}": d for k, d in enumerate(d_states)})

    assert_gradients(forward, backward, arrays)
