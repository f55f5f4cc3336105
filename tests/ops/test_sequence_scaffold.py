"""ops.sequence (named apart from tests/preprocessing/test_sequence.py: test modules share one
namespace here): the scaffold's backward pieces are the exact adjoints of its forward pieces,
judged by central differences (tests/gradient_judge.py) with every option that changes them."""

import itertools

import numpy as np
import pytest

from gradient_judge import assert_gradients
from rnnkit.ops import sequence

B, T, D, G, H = 2, 3, 3, 4, 2


@pytest.mark.parametrize("go_backwards,with_bias,dropout", list(itertools.product([False, True], repeat=3)))
def test_input_grads_is_the_adjoint_of_the_input_projection(go_backwards, with_bias, dropout):
    """z_t = W^T (x_t m_x) + b for every step (to_steps, drop_inputs, project) -> dW, db, dx."""
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(B, T, D)), rng.normal(size=(D, G)), rng.normal(size=G)
    m_x = (rng.random((B, D)) > 0.4) / 0.6 if dropout else None

    def forward():
        xs = sequence.to_steps(x, go_backwards, np.float64, with_bias=with_bias)
        sequence.drop_inputs(xs, m_x)
        return sequence.project(xs, sequence.augmented_kernel_t(W, b if with_bias else None))  # (T, G, B)

    def backward(R):
        xs = sequence.to_steps(x, go_backwards, np.float64, with_bias=with_bias)
        sequence.drop_inputs(xs, m_x)
        dW, db, dx = sequence.input_grads(xs, sequence.by_feature(R[0]), W, m_x, go_backwards)
        assert (db is None) == (not with_bias)
        return dict(x=dx, W=dW, **({"b": db} if with_bias else {}))

    assert_gradients(forward, backward, dict(x=x, W=W, **({"b": b} if with_bias else {})))


@pytest.mark.parametrize("dropout", [False, True])
def test_recurrent_kernel_grad_is_the_adjoint_of_the_recurrent_product(dropout):
    """u_t = U^T (h_{t-1} m_h) with h_{-1} = h0 -> dU = sum_t (h_{t-1} m_h) du_t^T."""
    rng = np.random.default_rng(1)
    U, h0t, hs = rng.normal(size=(H, G)), rng.normal(size=(H, B)), rng.normal(size=(T, H, B))
    m_h = (rng.random((B, H)) > 0.4) / 0.6 if dropout else None

    def forward():
        h_prev = sequence.states_by_step(h0t, hs)
        if m_h is not None:
            h_prev = h_prev * m_h.T
        return np.einsum("hg,thb->tgb", U, h_prev)

    def backward(R):
        return {"U": sequence.recurrent_kernel_grad(h0t, hs, sequence.by_feature(R[0]), m_h)}

    assert_gradients(forward, backward, {"U": U})


@pytest.mark.parametrize("with_outputs,with_last,masked,zero_output",
                         [(o, l, m, z) for o, l, m, z in itertools.product([True, False], repeat=4)
                          if (o or l) and (m or not z)])
def test_output_grads_is_the_adjoint_of_the_outputs(with_outputs, with_last, masked, zero_output):
    """outputs[:, t] = h_t^T (0 on masked steps with zero_output_for_mask), last = h_T^T ->
    dL/dh_t from outside the recurrence, (T, H, B)."""
    rng = np.random.default_rng(2)
    hs = rng.normal(size=(T, H, B))
    hold = sequence.hold_mask(np.array([[1, 0, 1], [0, 1, 1]], bool), False) if masked else None

    def forward():
        outputs = sequence.new_outputs(B, T, H, np.float64)
        for t in range(T):
            sequence.end_step(hs[t].copy(), hs[t], None, outputs, t)
        sequence.zero_masked_outputs(outputs, hold, zero_output)
        return [outputs if with_outputs else None, hs[-1].T.copy() if with_last else None]

    def backward(R):
        return {"hs": sequence.output_grads(R[0], R[1], hold, zero_output, (T, H, B), np.float64)}

    assert_gradients(forward, backward, {"hs": hs})


def test_masked_steps_hold_the_state_and_pass_its_gradient_straight_through():
    """end_step: h_t = h_{t-1} on a masked column, so dL/dh_{t-1} gets dL/dh_t there."""
    rng = np.random.default_rng(3)
    h, h_prev = rng.normal(size=(H, B)), rng.normal(size=(H, B))
    hold = sequence.hold_mask(np.array([[1], [0]], bool), False)   # column 1 masked

    def forward():
        out = h.copy()
        sequence.end_step(out, h_prev, hold, None, 0)
        return out

    def backward(R):
        return {"h": R[0] * ~hold[0], "h_prev": R[0] * hold[0]}

    assert_gradients(forward, backward, {"h": h, "h_prev": h_prev})
