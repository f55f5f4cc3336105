"""ops.kernels: the compiled step kernels agree with the NumPy loops (the reference) on every
cell, option and dtype: 1e-6 in float32, 1e-12 in float64, relative to each result's scale (its
largest magnitude, at least 1: a weight gradient is a float32 sum of T*B terms of up to ~10, so
one rounding of its terms is already ~1e-6 of it); their results are bit-identical
whatever the thread count; the switches work. Skipped where the kernels were not built (the
NumPy path is then the only one, and the rest of the suite tests it)."""

import itertools

import numpy as np
import pytest

from rnnkit.ops import kernels
from rnnkit.ops.gru import gru_backward, gru_forward
from rnnkit.ops.lstm import lstm_backward, lstm_forward
from rnnkit.ops.simple_rnn import simple_rnn_backward, simple_rnn_forward

pytestmark = pytest.mark.skipif(not kernels.available(), reason="compiled kernels not built")

TOLERANCE = {"float32": 1e-6, "float64": 1e-12}
CELLS = ["simple_rnn", "lstm", "gru_after", "gru_before"]


def gates_of(cell):
    return {"simple_rnn": 1, "lstm": 4}.get(cell, 3)


def make(cell, dtype, B=5, T=7, D=4, H=6, seed=0, masked=False, dropout=False, states=False):
    """Inputs and weights of a call, scaled so that the gates are neither saturated nor linear, and
    the recurrence contracts: with a gain above 1 (SimpleRNN under recurrent dropout, 1/0.7 per
    step) float32 rounding itself grows past 1e-6 (NumPy's own float32 result was 4e-6 away from
    float64's there), and agreement at 1e-6 would say nothing about the kernels."""
    rng = np.random.default_rng(seed)
    G = gates_of(cell)
    arrays = {"x": rng.normal(size=(B, T, D)), "kernel": rng.normal(size=(D, G * H)) * 0.5,
              "recurrent_kernel": rng.normal(size=(H, G * H)) * 0.3,
              "bias": rng.normal(size=(2, G * H) if cell == "gru_after" else G * H) * 0.3}
    arrays = {k: v.astype(dtype) for k, v in arrays.items()}
    arrays["mask"] = rng.random((B, T)) > 0.3 if masked else None
    arrays["m_x"] = (rng.random((B, D)) > 0.3).astype(dtype) / dtype(0.7) if dropout else None
    arrays["m_h"] = (rng.random((B, H)) > 0.3).astype(dtype) / dtype(0.7) if dropout else None
    arrays["states"] = [rng.normal(size=(B, H)).astype(dtype) * dtype(0.5)
                        for _ in range(2 if cell == "lstm" else 1)] if states else None
    arrays["d_out"] = rng.normal(size=(B, T, H)).astype(dtype)
    arrays["d_states"] = [rng.normal(size=(B, H)).astype(dtype) for _ in range(2 if cell == "lstm" else 1)]
    return arrays


def run(cell, a, go_backwards, zero_output_for_mask, return_sequences=True):
    """Forward and backward of one call; every result as a flat dict of arrays."""
    options = dict(mask=a["mask"], go_backwards=go_backwards, return_sequences=return_sequences,
                   zero_output_for_mask=zero_output_for_mask, input_dropout_mask=a["m_x"],
                   recurrent_dropout_mask=a["m_h"], keep_cache=True, workspace={})
    weights = (a["x"], a["kernel"], a["recurrent_kernel"], a["bias"])
    states = a["states"] or [None, None]
    d_out = a["d_out"] if return_sequences else None
    if cell == "lstm":
        outputs, (h, c), cache = lstm_forward(*weights, states[0], states[1], **options)
        dx, (dh0, dc0), grads = lstm_backward(d_out, a["d_states"][0], a["d_states"][1], cache)
        results = {"h": h, "c": c, "dh0": dh0, "dc0": dc0}
    elif cell == "simple_rnn":
        outputs, h, cache = simple_rnn_forward(*weights, states[0], **options)
        dx, dh0, grads = simple_rnn_backward(d_out, a["d_states"][0], cache)
        results = {"h": h, "dh0": dh0}
    else:
        outputs, h, cache = gru_forward(*weights, states[0], reset_after=cell == "gru_after", **options)
        dx, dh0, grads = gru_backward(d_out, a["d_states"][0], cache)
        results = {"h": h, "dh0": dh0}
    results.update(outputs=outputs, dx=dx, **{"d_" + k: v for k, v in grads.items()})
    return {k: v for k, v in results.items() if v is not None}


def assert_agree(actual, expected, tolerance, name):
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tolerance * scale, err_msg=name)


def on_path(name, function, *args):
    previous = kernels.set_backend(name)
    try:
        return function(*args)
    finally:
        kernels.set_backend(previous)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("masked,zero_output,go_backwards,dropout,states",
                         [(False, False, False, False, False), (True, False, False, False, True),
                          (True, True, True, False, False), (False, False, True, True, True),
                          (True, False, False, True, False), (True, True, False, True, True)])
def test_compiled_agrees_with_numpy(dtype, cell, masked, zero_output, go_backwards, dropout, states):
    a = make(cell, np.dtype(dtype).type, masked=masked, dropout=dropout, states=states)
    reference = on_path("numpy", run, cell, a, go_backwards, zero_output)
    fast = on_path("compiled", run, cell, a, go_backwards, zero_output)
    assert reference.keys() == fast.keys()
    for name in reference:
        assert fast[name].dtype == reference[name].dtype, name
        assert_agree(fast[name], reference[name], TOLERANCE[dtype], f"{cell} {name}")


@pytest.mark.parametrize("cell", CELLS)
def test_last_state_only_and_a_masked_first_step(cell):
    """return_sequences=False (no outputs to write) and a sequence whose first steps are masked."""
    a = make(cell, np.float64, masked=True, states=True)
    a["mask"][:, :2] = False
    reference = on_path("numpy", run, cell, a, False, False, False)
    fast = on_path("compiled", run, cell, a, False, False, False)
    for name in reference:
        assert_agree(fast[name], reference[name], 1e-12, name)


def test_the_compiled_path_is_not_the_numpy_path():
    """The agreement tests above mean something only if the switch changes the code that runs: the
    float32 tanh of the kernels is not NumPy's, so some bits differ."""
    a = make("lstm", np.float32, B=16, T=20, H=32)
    reference = on_path("numpy", run, "lstm", a, False, False)
    fast = on_path("compiled", run, "lstm", a, False, False)
    assert not np.array_equal(reference["outputs"], fast["outputs"])


@pytest.mark.parametrize("cell", CELLS)
def test_bit_identical_whatever_the_thread_count(cell):
    """Big enough that a step is split over two threads (kernels.threads_for). Only the kernels'
    count changes: the BLAS's own count may change its products' rounding (OpenBLAS splits them
    differently), for NumPy's path as much as for this one."""
    B, H = 256, 128
    a = make(cell, np.float32, B=B, T=3, D=8, H=H, masked=True, dropout=True, states=True)
    results = []
    previous = kernels.num_threads()
    try:
        for count in (1, 2, 3):
            kernels.set_num_threads(count, blas=False)
            assert kernels.threads_for(gates_of(cell) * H * B) >= min(count, 2)
            results.append(on_path("compiled", run, cell, a, False, False))
    finally:
        kernels.set_num_threads(previous, blas=False)
    for other in results[1:]:
        for name in results[0]:
            assert np.array_equal(results[0][name], other[name]), name


def test_kernel_tanh_within_two_ulp():
    x = np.concatenate([np.linspace(-12, 12, 20001), [0.0, -0.0, 0.625, -0.625, np.inf, -np.inf, np.nan]])
    x32 = x.astype(np.float32)
    out = np.empty_like(x32)
    on_path("compiled", kernels.compiled, x32.dtype).tanh(x32.size, x32, out)
    exact = np.tanh(x32.astype(np.float64))
    finite = np.isfinite(exact)
    ulps = np.abs(out[finite] - exact[finite]) / np.spacing(np.abs(exact[finite]).astype(np.float32))
    assert ulps.max() <= 2.0
    assert np.isnan(out[-1]) and out[-3] == 1.0 and out[-2] == -1.0


def test_switches(monkeypatch):
    previous = kernels.set_backend("numpy")
    try:
        assert kernels.compiled(np.dtype("float32")) is None
        kernels.set_backend("compiled")
        assert kernels.compiled(np.dtype("float32")) is not None
        assert kernels.compiled(np.dtype("float16")) is None          # other dtypes: the NumPy loops
        with pytest.raises(ValueError, match="Received: 'fast'"):
            kernels.set_backend("fast")
    finally:
        kernels.set_backend(previous)
    with pytest.raises(ValueError, match="Received: 0"):
        kernels.set_num_threads(0)


def test_kernel_rejects_short_arrays():
    """The C side checks sizes before writing (a wrong call raises instead of corrupting memory)."""
    module = on_path("compiled", kernels.compiled, np.dtype("float32"))
    z = np.zeros((4 * 3, 2), np.float32)
    small = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="at least 6"):
        module.lstm_forward(1, 2, 3, 0, z, None, small, small, None, small, small, small, None, None, None)
    with pytest.raises(TypeError, match="float32 or float64"):
        module.simple_forward(1, 2, 3, 0, z, None, z.astype(np.float64), None, z, None, None, None)
