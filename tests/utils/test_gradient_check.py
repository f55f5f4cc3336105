"""rnnkit.utils.gradient_check_error stays a public utility; here it is judged against the
independent judge (tests/gradient_judge.py), which shares no code with it: both pass a correct
layer, both fail a layer whose backward is broken on purpose, and the utility's own contract
(restores the arrays, checks shapes and dtype, samples) holds."""

import numpy as np
import pytest

import gradient_judge as gj
from rnnkit import backend
from rnnkit.layers import GRU, LSTM, Bidirectional, Dense, SimpleRNN
from rnnkit.utils import gradient_check_error, numerical_gradient

B, T, D, H = 2, 4, 3, 3


@pytest.fixture(autouse=True)
def float64():
    backend.set_floatx("float64")


LAYERS = {
    "SimpleRNN": lambda: SimpleRNN(H, return_sequences=True),
    "LSTM": lambda: LSTM(H, return_sequences=True),
    "GRU": lambda: GRU(H),
    "GRU_reset_before": lambda: GRU(H, reset_after=False, return_sequences=True),
    "Bidirectional_ave": lambda: Bidirectional(SimpleRNN(H, return_sequences=True), merge_mode="ave"),
    "Dense": lambda: Dense(4, activation="tanh"),
}


def both_checks(layer):
    """(utility's error, judge's verdict) for L = sum(R * output) of `layer` on a fixed input."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, D))
    layer.build((None, T, D))
    for w in layer.weights.values():
        w[...] = rng.normal(size=w.shape) * 0.5
    arrays = dict(layer.weights, x=x)

    def backward(R):
        layer.forward(x, training=True)
        dx = layer.backward(R[0])
        return dict(layer.grads, x=dx)

    verdict = gj.judge(lambda: layer.forward(x), backward, arrays)
    R = gj.projection(layer.forward(x))
    grads = backward(R)
    error = gradient_check_error(lambda: gj.projected_loss(layer.forward(x), R),
                                 list(arrays.values()), [grads[k] for k in arrays])
    return error, verdict


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_both_pass_a_correct_layer(name):
    error, verdict = both_checks(LAYERS[name]())
    assert verdict.ok, str(verdict)
    assert error < 1e-6


def flip_kernel_gradient(original):
    def run_backward(self, *args, **kwargs):
        dx, d_states, grads = original(self, *args, **kwargs)
        grads["kernel"] = -grads["kernel"]
        return dx, d_states, grads
    return run_backward


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU", "GRU_reset_before", "Bidirectional_ave"])
def test_both_fail_a_sign_flipped_recurrent_kernel_gradient(name, monkeypatch):
    layer = LAYERS[name]()
    for cls in {type(sub) for sub in getattr(layer, "layers", [layer])}:
        monkeypatch.setattr(cls, "_run_backward", flip_kernel_gradient(cls._run_backward))
    error, verdict = both_checks(layer)
    assert error > 0.5          # ||a - n|| / max(||a||, ||n||) = 2 on the kernel
    assert not verdict.ok
    assert [a.name for a in verdict.arrays if not a.ok] == [k for k in layer.weights if k.endswith("kernel")
                                                           and "recurrent" not in k]


def test_both_fail_a_sign_flipped_input_gradient(monkeypatch):
    original = Dense.backward

    def backward(self, d_out, need_input_grad=True):
        return -original(self, d_out, need_input_grad)
    monkeypatch.setattr(Dense, "backward", backward)
    error, verdict = both_checks(Dense(4, activation="tanh"))
    assert error > 0.5
    assert not verdict["x"].ok and verdict["kernel"].ok and verdict["bias"].ok


def test_both_fail_a_bidirectional_ave_without_its_half(monkeypatch):
    # The bug issue 18 asks the suite to catch: 'ave' passing the whole gradient to each direction.
    original = Bidirectional._unmerge

    def unmerge(self, d_output):
        if self.merge_mode == "ave":
            return d_output, d_output
        return original(self, d_output)
    monkeypatch.setattr(Bidirectional, "_unmerge", unmerge)
    error, verdict = both_checks(LAYERS["Bidirectional_ave"]())
    assert error > 0.5 and not verdict.ok


@pytest.mark.parametrize("factor,expected", [(1.0, 0.0), (1.01, 0.0099), (-1.0, 2.0), (0.0, 1.0)])
def test_agrees_with_the_judge_on_a_hand_made_function(factor, expected):
    rng = np.random.default_rng(1)
    x, W, R = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=(4, 2))

    def loss():
        return float(np.sum(R * np.tanh(x @ W)))
    grad = x.T @ (R * (1 - np.tanh(x @ W) ** 2)) * factor
    error = gradient_check_error(loss, [W], [grad])
    verdict = gj.compare(loss, {"W": W}, {"W": grad})
    assert error == pytest.approx(expected, abs=1e-6)
    assert verdict.ok == (factor == 1.0) == (error < 1e-6)


def test_numerical_gradient_equals_the_judges_differences():
    p = np.random.default_rng(2).normal(size=(3, 3))

    def loss():
        return float(np.sum(np.sin(p) * p))
    np.testing.assert_allclose(numerical_gradient(loss, p).reshape(p.shape), gj.central_differences(loss, p),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(numerical_gradient(loss, p, indices=[4]), [np.cos(p.flat[4]) * p.flat[4] +
                                                                         np.sin(p.flat[4])], rtol=1e-7)


def test_the_utility_restores_the_arrays_and_checks_its_arguments():
    p = np.random.default_rng(3).normal(size=5)
    before = p.copy()
    assert gradient_check_error(lambda: float(np.sum(p ** 2)), [p], [2 * p]) < 1e-8
    np.testing.assert_array_equal(p, before)
    with pytest.raises(ValueError, match="shape"):
        gradient_check_error(lambda: float(np.sum(p ** 2)), [p], [np.zeros(4)])
    with pytest.raises(TypeError, match="float64"):
        gradient_check_error(lambda: 0.0, [p.astype(np.float32)], [np.zeros(5, np.float32)])
    with pytest.raises(ValueError, match="contiguous"):
        numerical_gradient(lambda: 0.0, np.zeros((3, 4)).T)   # reshape(-1) would perturb a copy


def test_the_utility_samples_entries_and_still_sees_a_wrong_one():
    p = np.random.default_rng(4).normal(size=50)
    wrong = -2 * p
    assert gradient_check_error(lambda: float(np.sum(p ** 2)), [p], [2 * p], samples=10) < 1e-8
    assert gradient_check_error(lambda: float(np.sum(p ** 2)), [p], [wrong], samples=10) > 1.0
