"""The gradient judge (tests/gradient_judge.py) judged: on small hand-made functions with known
analytic gradients it accepts the true gradient and rejects wrong ones (flipped sign, missing
term, transposed matrix, scaled by 1.01, and smaller slips), and its sanity checks refuse a
vacuous or broken check."""

import numpy as np
import pytest

import gradient_judge as gj


def rng():
    return np.random.default_rng(42)


# ---- hand-made functions: (forward, true backward, arrays), wrong backwards derived from the true one

def tanh_of_product():
    """out = tanh(x W): dW = x^T (R (1 - out^2)), dx = (R (1 - out^2)) W^T."""
    r = rng()
    x, W = r.normal(size=(4, 3)), r.normal(size=(3, 3))

    def forward():
        return np.tanh(x @ W)

    def backward(R):
        dz = R[0] * (1 - np.tanh(x @ W) ** 2)
        return {"x": dz @ W.T, "W": x.T @ dz}
    return forward, backward, {"x": x, "W": W}


def matrix_product():
    """out = A B with square B: dA = R B^T, dB = A^T R."""
    r = rng()
    A, B = r.normal(size=(3, 3)), r.normal(size=(3, 3))

    def forward():
        return A @ B

    def backward(R):
        return {"A": R[0] @ B.T, "B": A.T @ R[0]}
    return forward, backward, {"A": A, "B": B}


def shared_weight():
    """out = (x W) W: W is used twice, so dW has two terms: x^T R W^T + (x W)^T R."""
    r = rng()
    x, W = r.normal(size=(2, 3)), r.normal(size=(3, 3)) * 0.5

    def forward():
        return (x @ W) @ W

    def backward(R):
        return {"W": x.T @ (R[0] @ W.T) + (x @ W).T @ R[0]}
    return forward, backward, {"W": W}


def two_outputs():
    """outs = [sin(a) b, a b^2]: da = R0 cos(a) b + R1 b^2, db = R0 sin(a) + 2 R1 a b."""
    r = rng()
    a, b = r.normal(size=5), r.normal(size=5)

    def forward():
        return [np.sin(a) * b, a * b * b]

    def backward(R):
        return {"a": R[0] * np.cos(a) * b + R[1] * b * b, "b": R[0] * np.sin(a) + 2 * R[1] * a * b}
    return forward, backward, {"a": a, "b": b}


FUNCTIONS = {"tanh_of_product": tanh_of_product, "matrix_product": matrix_product,
             "shared_weight": shared_weight, "two_outputs": two_outputs}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_accepts_the_true_gradient(name):
    forward, backward, arrays = FUNCTIONS[name]()
    verdict = gj.assert_gradients(forward, backward, arrays)
    assert verdict.max_rel_error < 1e-8  # far under the tolerance: the margin the design relies on
    assert [a.name for a in verdict.arrays] == list(arrays)
    assert all(a.checked == arrays[a.name].size for a in verdict.arrays)  # every element


def wrong(backward, name, change):
    def wrong_backward(R):
        grads = backward(R)
        grads[name] = change(grads[name])
        return grads
    return wrong_backward


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("mistake,change", [
    ("flipped sign", lambda g: -g),
    ("scaled by 1.01", lambda g: g * 1.01),
    ("scaled by 1 + 1e-4", lambda g: g * (1 + 1e-4)),
    ("one entry off by 1e-4", lambda g: g + np.eye(g.size, 1, -(g.size // 2)).reshape(g.shape) * 1e-4),
    ("zero", np.zeros_like),
])
def test_rejects_a_wrong_gradient(name, mistake, change):
    forward, backward, arrays = FUNCTIONS[name]()
    for array_name in arrays:
        verdict = gj.judge(forward, wrong(backward, array_name, change), arrays)
        assert not verdict.ok, f"{mistake} in d/d{array_name} passed:\n{verdict}"
        assert not verdict[array_name].ok
        assert all(a.ok for a in verdict.arrays if a.name != array_name)  # it names the culprit


def test_rejects_a_transposed_matrix_gradient():
    forward, backward, arrays = matrix_product()
    for name in arrays:
        verdict = gj.judge(forward, wrong(backward, name, lambda g: g.T.copy()), arrays)
        assert verdict[name].max_rel_error > 0.1, str(verdict)
    forward, backward, arrays = tanh_of_product()
    assert not gj.judge(forward, wrong(backward, "W", lambda g: g.T.copy()), arrays).ok


def test_rejects_a_missing_term():
    forward, backward, arrays = shared_weight()
    x = rng().normal(size=(2, 3))  # the same x the function holds (same seed)
    W = arrays["W"]

    def first_term_only(R):
        return {"W": x.T @ (R[0] @ W.T)}

    def second_term_only(R):
        return {"W": (x @ W).T @ R[0]}
    assert not gj.judge(forward, first_term_only, arrays).ok
    assert not gj.judge(forward, second_term_only, arrays).ok

    forward, backward, arrays = tanh_of_product()

    def without_the_tanh_derivative(R):
        x, W = arrays["x"], arrays["W"]
        return {"x": R[0] @ W.T, "W": x.T @ R[0]}
    verdict = gj.judge(forward, without_the_tanh_derivative, arrays)
    assert not verdict["x"].ok and not verdict["W"].ok

    forward, backward, arrays = two_outputs()

    def without_the_second_output(R):
        a, b = arrays["a"], arrays["b"]
        return {"a": R[0] * np.cos(a) * b, "b": R[0] * np.sin(a)}
    assert not gj.judge(forward, without_the_second_output, arrays).ok


def test_the_failure_message_names_the_array_and_the_errors():
    forward, backward, arrays = tanh_of_product()
    with pytest.raises(AssertionError) as failure:
        gj.assert_gradients(forward, wrong(backward, "W", lambda g: -g), arrays)
    message = str(failure.value)
    assert "FAIL W" in message and "ok   x" in message
    assert "max abs" in message and "max rel" in message


def test_central_differences_of_a_known_function():
    p = rng().normal(size=(3, 4))
    numeric = gj.central_differences(lambda: float(np.sum(np.sin(p) * p ** 3)), p)
    np.testing.assert_allclose(numeric, np.cos(p) * p ** 3 + 3 * np.sin(p) * p ** 2, rtol=1e-8, atol=1e-9)


def test_a_scalar_loss_with_compare():
    p = rng().normal(size=6)
    assert gj.compare(lambda: float(np.sum(np.exp(p))), {"p": p}, {"p": np.exp(p)}).ok
    assert not gj.compare(lambda: float(np.sum(np.exp(p))), {"p": p}, {"p": np.exp(p) * 1.01}).ok


# ---- sanity checks: a check that cannot fail must not pass

def test_refuses_a_nondeterministic_forward():
    forward, backward, arrays = tanh_of_product()
    noise = np.random.default_rng(0)
    verdict = gj.judge(lambda: forward() * (1 + 1e-3 * noise.random()), backward, arrays)
    assert not verdict.ok and "not deterministic" in str(verdict)


def test_refuses_a_missing_or_extra_or_misshapen_gradient():
    forward, backward, arrays = tanh_of_product()

    def missing(R):
        return {"W": backward(R)["W"]}

    def extra(R):
        return dict(backward(R), b=np.zeros(3))

    def misshapen(R):
        grads = backward(R)
        grads["W"] = grads["W"][:, :2]
        return grads

    for bad in (missing, extra, misshapen):
        assert not gj.judge(forward, bad, arrays).ok


def test_refuses_an_array_the_function_does_not_read():
    forward, backward, arrays = tanh_of_product()
    copy = {"x": arrays["x"].copy(), "W": arrays["W"].copy()}   # perturbing these changes nothing
    verdict = gj.judge(forward, lambda R: {"x": np.zeros((4, 3)), "W": np.zeros((3, 3))}, copy)
    assert not verdict.ok and "does not depend" in str(verdict)
    # ... unless the test says so on purpose
    verdict = gj.judge(forward, lambda R: {"x": np.zeros((4, 3)), "W": np.zeros((3, 3))}, copy,
                       allow_zero=("x", "W"))
    assert verdict.ok


def test_refuses_float32():
    x = rng().normal(size=3).astype(np.float32)
    verdict = gj.judge(lambda: np.tanh(x), lambda R: {"x": R[0] * (1 - np.tanh(x) ** 2)}, {"x": x})
    assert not verdict.ok and "float64" in str(verdict)
    x64 = rng().normal(size=3)
    with pytest.raises(AssertionError, match="float64"):
        gj.central_differences(lambda: float(np.sum(x64)), x64.astype(np.float32))


def test_refuses_a_backward_that_modifies_the_arrays():
    forward, backward, arrays = tanh_of_product()

    def meddling(R):
        arrays["W"][0, 0] += 1.0
        return backward(R)
    verdict = gj.judge(forward, meddling, arrays)
    assert not verdict.ok and "modified" in str(verdict)


def test_restores_every_array_exactly():
    forward, backward, arrays = tanh_of_product()
    before = {k: v.copy() for k, v in arrays.items()}
    gj.judge(forward, backward, arrays)
    for k in arrays:
        np.testing.assert_array_equal(arrays[k], before[k])


def test_the_projection_is_fixed_and_skips_missing_outputs():
    outs = [np.zeros((2, 3)), None, np.zeros(4)]
    first, second = gj.projection(outs), gj.projection(outs)
    assert first[1] is None
    for a, b in zip(first[::2], second[::2]):
        np.testing.assert_array_equal(a, b)
    assert gj.projected_loss([np.ones((2, 3)), None, np.ones(4)], first) == pytest.approx(
        first[0].sum() + first[2].sum())
