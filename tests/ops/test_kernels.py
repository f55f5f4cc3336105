"""ops.kernels: the compiled step kernels agree with the NumPy loops (the reference) on every
cell, option and dtype: 1e-6 in float32, 1e-12 in float64, relative to each result's scale (its
largest magnitude, at least 1: a weight gradient is a float32 sum of T*B terms of up to ~10, so
one rounding of its terms is already ~1e-6 of it); their results are bit-identical
whatever the thread count; the switches work. Both compiled loops are held to this: the
whole-sequence loops (one C call per sequence, the recurrent product by the BLAS's gemm from C),
which run where the gemm is found, and the per-step loops that run where it is not (`steps`
below makes the look-up fail). Where the kernels were not built (the NumPy path is then the only
one, and the rest of the suite tests it) these tests skip; but with RNNKIT_REQUIRE_KERNELS=1, as
`make test` sets it, a missing kernel or gemm fails them instead: a skip there would hide a broken
build behind a green run."""

import contextlib
import os
import pathlib

import numpy as np
import pytest

from gradient_judge import assert_gradients

from rnnkit.ops import kernels
from rnnkit.ops.gru import gru_backward, gru_forward
from rnnkit.ops.lstm import lstm_backward, lstm_forward
from rnnkit.ops.simple_rnn import simple_rnn_backward, simple_rnn_forward

REQUIRED = os.environ.get("RNNKIT_REQUIRE_KERNELS") == "1"


def unavailable(reason):
    """Skips, or fails where the kernels are required (RNNKIT_REQUIRE_KERNELS=1)."""
    if REQUIRED:
        pytest.fail(f"{reason}, and RNNKIT_REQUIRE_KERNELS=1 requires it")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _kernels_built():
    if not kernels.available():
        unavailable("the compiled kernels were not built")

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


@contextlib.contextmanager
def gemm_lookup_failing():
    """The BLAS's gemm look-up finds nothing (as on a BLAS without a cblas gemm we know), so the
    compiled path falls back to its per-step loops; afterwards the next use looks it up again."""
    symbols = kernels.GEMM_SYMBOLS
    kernels.GEMM_SYMBOLS, kernels._state["gemm"] = (("no_such_sgemm", "no_such_dgemm", True),), None
    try:
        yield
    finally:
        kernels.GEMM_SYMBOLS, kernels._state["gemm"] = symbols, None


LOOPS = ["sequence", "steps"]


def on_path(name, function, *args, loop="sequence"):
    previous = kernels.set_backend(name)
    try:
        with gemm_lookup_failing() if loop == "steps" else contextlib.nullcontext():
            if name == "compiled":
                found = kernels.gemm(np.dtype("float64")) is not None
                if loop == "sequence" and not found:
                    unavailable("the BLAS's gemm was not found: the sequence loops cannot run here")
                assert found == (loop == "sequence")
            return function(*args)
    finally:
        kernels.set_backend(previous)


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("masked,zero_output,go_backwards,dropout,states",
                         [(False, False, False, False, False), (True, False, False, False, True),
                          (True, True, True, False, False), (False, False, True, True, True),
                          (True, False, False, True, False), (True, True, False, True, True)])
def test_compiled_agrees_with_numpy(dtype, cell, masked, zero_output, go_backwards, dropout, states, loop):
    a = make(cell, np.dtype(dtype).type, masked=masked, dropout=dropout, states=states)
    reference = on_path("numpy", run, cell, a, go_backwards, zero_output)
    fast = on_path("compiled", run, cell, a, go_backwards, zero_output, loop=loop)
    assert reference.keys() == fast.keys()
    for name in reference:
        assert fast[name].dtype == reference[name].dtype, name
        assert_agree(fast[name], reference[name], TOLERANCE[dtype], f"{cell} {name}")


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("cell", CELLS)
def test_last_state_only_and_a_masked_first_step(cell, loop):
    """return_sequences=False (no outputs to write) and a sequence whose first steps are masked."""
    a = make(cell, np.float64, masked=True, states=True)
    a["mask"][:, :2] = False
    reference = on_path("numpy", run, cell, a, False, False, False)
    fast = on_path("compiled", run, cell, a, False, False, False, loop=loop)
    for name in reference:
        assert_agree(fast[name], reference[name], 1e-12, name)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("T", [1, 2])
def test_short_sequences(cell, T):
    """One step (a single state slot) and two: the sequence loops' edges. (T = 0 is left out: the
    NumPy GRU backward fails on it, in `sequence.states_by_step`.)"""
    a = make(cell, np.float64, T=T, masked=True, dropout=True, states=True)
    reference = on_path("numpy", run, cell, a, True, False)
    fast = on_path("compiled", run, cell, a, True, False)
    for name in reference:
        assert_agree(fast[name], reference[name], 1e-12, name)
    # without a cache a forward keeps min(T, 2) state slots: one here when T = 1
    reference = on_path("numpy", forward_only, cell, a)
    fast = on_path("compiled", forward_only, cell, a)
    for k, (expected, actual) in enumerate(zip(reference, fast)):
        assert_agree(actual, expected, 1e-12, f"forward result {k}")


def forward_only(cell, a):
    """A forward without keep_cache (as in inference): outputs and last states."""
    weights = (a["x"], a["kernel"], a["recurrent_kernel"], a["bias"])
    options = dict(mask=a["mask"], input_dropout_mask=a["m_x"], recurrent_dropout_mask=a["m_h"])
    if cell == "lstm":
        outputs, (h, c), _ = lstm_forward(*weights, *a["states"], **options)
        return [outputs, h, c]
    if cell == "simple_rnn":
        outputs, h, _ = simple_rnn_forward(*weights, a["states"][0], **options)
    else:
        outputs, h, _ = gru_forward(*weights, a["states"][0], reset_after=cell == "gru_after", **options)
    return [outputs, h]


@pytest.mark.parametrize("cell", CELLS)
def test_sequence_loop_gradients_equal_finite_differences(cell):
    """The compiled whole-sequence path against central differences (tests/gradient_judge.py), with
    masks, recurrent and input dropout, initial states and go_backwards: a judge that shares
    nothing with either of rnnkit's paths."""
    a = make(cell, np.float64, B=3, T=5, D=4, H=3, masked=True, dropout=True, states=True)
    a["mask"][0, 0] = False                                  # a masked first step, too
    options = dict(mask=a["mask"], go_backwards=True, input_dropout_mask=a["m_x"],
                   recurrent_dropout_mask=a["m_h"])
    names = ["x", "kernel", "recurrent_kernel", "bias"] + ["h0", "c0"][:len(a["states"])]
    arrays = dict(zip(names, [a["x"], a["kernel"], a["recurrent_kernel"], a["bias"]] + a["states"]))

    def call(keep_cache=False):
        weights = [arrays[k] for k in ("x", "kernel", "recurrent_kernel", "bias")]
        if cell == "lstm":
            outputs, states, cache = lstm_forward(*weights, arrays["h0"], arrays["c0"], keep_cache=keep_cache,
                                                  **options)
            return [outputs, *states], cache
        if cell == "simple_rnn":
            outputs, h, cache = simple_rnn_forward(*weights, arrays["h0"], keep_cache=keep_cache, **options)
        else:
            outputs, h, cache = gru_forward(*weights, arrays["h0"], reset_after=cell == "gru_after",
                                            keep_cache=keep_cache, **options)
        return [outputs, h], cache

    def backward(R):
        _, cache = call(keep_cache=True)
        if cell == "lstm":
            dx, initial, grads = lstm_backward(R[0], R[1], R[2], cache)
        else:
            backward_of = simple_rnn_backward if cell == "simple_rnn" else gru_backward
            dx, dh0, grads = backward_of(R[0], R[1], cache)
            initial = [dh0]
        return dict(x=dx, **grads, **dict(zip(["h0", "c0"], initial)))

    on_path("compiled", assert_gradients, lambda: call()[0], backward, arrays)


def test_the_per_step_fallback_when_no_gemm_is_found():
    """A failed look-up is no error: the compiled path runs its per-step loops (the agreement
    tests above run them with loop="steps"), and the next use looks again."""
    previous = kernels.set_backend("compiled")
    try:
        with gemm_lookup_failing():
            assert kernels.gemm(np.dtype("float32")) is None and kernels.gemm_found() is None
            assert kernels.compiled(np.dtype("float32")) is not None
    finally:
        kernels.set_backend(previous)


def test_the_default_is_compiled_only_where_the_sequence_loops_run(monkeypatch):
    """Without RNNKIT_KERNELS: 'compiled' where the BLAS's gemm is found, 'numpy' where it is
    not (the per-step compiled loops were no faster than NumPy's); the variable still rules."""
    monkeypatch.delenv("RNNKIT_KERNELS", raising=False)
    monkeypatch.setitem(kernels._state, "backend", None)
    if kernels.gemm_found() is None:
        unavailable("the BLAS's gemm was not found here")
    assert kernels.backend() == "compiled"
    with gemm_lookup_failing():
        monkeypatch.setitem(kernels._state, "backend", None)
        assert kernels.backend() == "numpy"
    monkeypatch.setenv("RNNKIT_KERNELS", "numpy")
    monkeypatch.setitem(kernels._state, "backend", None)
    assert kernels.backend() == "numpy"


def test_numpys_own_blas_is_the_one_found():
    """With NumPy from a wheel, its bundled OpenBLAS is in numpy.libs: the look-up must pick it (not
    another BLAS of the process), with the integer width its symbols say."""
    bundled = list((pathlib.Path(np.__file__).parent.parent / "numpy.libs").glob("*openblas*"))
    if not bundled:
        unavailable("NumPy was not installed from a wheel with a bundled OpenBLAS")
    found = kernels.gemm_found()
    assert found is not None and pathlib.Path(found["path"]) in bundled
    assert found["ilp64"] == found["symbols"][0].endswith("64_")


class _SequenceOnly:
    """The kernel module with its per-step entry points taken away: a run through it proves that
    the sequence loops, not the per-step ones, did the work."""

    PER_STEP = {"simple_forward", "simple_backward", "lstm_forward", "lstm_backward", "gru_after_forward",
                "gru_after_backward", "gru_before_gates", "gru_before_out", "gru_before_backward",
                "gru_before_reset"}

    def __init__(self, module):
        self.module = module

    def __getattr__(self, name):
        if name in self.PER_STEP:
            raise AssertionError(f"the per-step kernel {name} ran where the sequence loop should have")
        return getattr(self.module, name)


@pytest.mark.parametrize("cell", CELLS)
def test_the_sequence_loops_do_the_work(cell, monkeypatch):
    if on_path("compiled", kernels.gemm_found) is None:
        unavailable("the BLAS's gemm was not found: the sequence loops cannot run here")
    monkeypatch.setitem(kernels._state, "module", _SequenceOnly(kernels._state["module"]))
    a = make(cell, np.float32, masked=True, dropout=True, states=True)
    reference = on_path("numpy", run, cell, a, False, False)
    fast = on_path("compiled", run, cell, a, False, False)
    for name in reference:
        assert_agree(fast[name], reference[name], TOLERANCE["float32"], name)


def test_the_compiled_path_is_not_the_numpy_path():
    """The agreement tests above mean something only if the switch changes the code that runs: the
    float32 tanh of the kernels is not NumPy's, so some bits differ."""
    a = make("lstm", np.float32, B=16, T=20, H=32)
    reference = on_path("numpy", run, "lstm", a, False, False)
    fast = on_path("compiled", run, "lstm", a, False, False)
    assert not np.array_equal(reference["outputs"], fast["outputs"])


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("cell", CELLS)
def test_bit_identical_whatever_the_thread_count(cell, loop):
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
            results.append(on_path("compiled", run, cell, a, False, False, loop=loop))
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


def test_sequence_kernel_rejects_short_arrays():
    """The sequence loops check every size (T steps of each per-step array) before anything runs."""
    module = on_path("compiled", kernels.gemm, np.dtype("float32"))
    if module is None:
        unavailable("the BLAS's gemm was not found: the sequence loops cannot run here")
    T, B, H = 3, 2, 4
    z = np.zeros((T - 1, 4 * H, B), np.float32)                  # one step short
    U, h = np.zeros((4 * H, H), np.float32), np.zeros((H, B), np.float32)
    slots = np.zeros((2, H, B), np.float32)
    with pytest.raises(ValueError, match=f"z must hold at least {T * 4 * H * B}"):
        module.lstm_forward_sequence(1, T, B, H, 2, 0, z, U, h, h, None, slots, slots, slots, None, None, None)



def test_the_default_thread_count_is_every_core_only_on_many_cores(monkeypatch):
    # A split step waits at a barrier each step: worth it on many cores, not on two.
    for cores, expected in ((1, 1), (2, 1), (kernels.MANY_CORES - 1, 1), (kernels.MANY_CORES, kernels.MANY_CORES),
                            (16, 16)):
        monkeypatch.setattr(kernels, "_cores", lambda cores=cores: cores)
        assert kernels.default_threads() == expected
