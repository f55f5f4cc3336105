"""An independent finite-difference judge of hand-derived gradients.

It shares no code with rnnkit (it imports NumPy only), so a bug in `rnnkit.utils.gradient_check`
cannot make a wrong gradient pass. It calls only the function under test.

What it checks. For a function `forward()` that reads float64 arrays (weights, inputs, initial
states) in place and returns one or more float64 outputs, the judge draws a fixed random
projection R (standard normal, one array per output, seeded) and uses the scalar

    L = sum_k sum(R_k * output_k)

whose gradient with respect to each output is R itself: `backward(R)` must return dL/d(array) for
every array by name. EVERY element of every array is then perturbed (no sampling) and the
derivative estimated by central differences of step h:

    dL/dp_i ~ (L(p + h e_i) - L(p - h e_i)) / (2 h)

Error per element, relative with a floor:

    rel_i = |analytic_i - numeric_i| / max(|analytic_i|, |numeric_i|, FLOOR)

The check passes when max_i rel_i < RTOL = 1e-6 for every array, with h = STEP = 1e-5 and
FLOOR = 1e-2 (an entry smaller than 1e-2 is held to an absolute error of 1e-8). Why these
numbers: with L of order 1-10 the difference quotient carries rounding noise ~1e-16 |L| / h and
truncation error h^2 f''' / 6. Measured on 114 true gradients of the three cells (every
activation, masks, go_backwards, both GRU variants), the worst rel_i was 1.4e-7 with h = 1e-6
(rounding dominates on small entries) and 1.8e-8 with h = 1e-5: a margin of ~50 under RTOL. A
wrong gradient fails by a factor of 1e4 or more: a flipped sign gives rel 2, a gradient scaled
by 1.01 gives 0.01 on every entry, a missing term or a transposed matrix gives rel of order 1
where it matters; a 1% error is caught on any entry above ~1e-6.

Sanity checks that make a vacuous pass impossible: the arrays and outputs must be float64; the
loss must be deterministic (two calls agree exactly: a fresh dropout draw would break the
differences); `backward` must return a gradient of the right shape for every array and no other;
it must not modify the arrays; the arrays are restored bit for bit after the differences; and an
array whose numeric gradient is identically zero fails unless `allow_zero` names it (a test that
perturbs a copy the function never reads would otherwise pass against a zero gradient).
"""

import numpy as np

STEP = 1e-5
RTOL = 1e-6
FLOOR = 1e-2


class ArrayVerdict:
    """The comparison for one array: where it is worst, and by how much."""

    def __init__(self, name, analytic, numeric, rtol, floor):
        self.name = name
        self.shape = analytic.shape
        self.analytic, self.numeric = analytic, numeric
        diff = np.abs(analytic - numeric)
        scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
        rel = diff / scale
        self.checked = analytic.size
        self.max_abs_error = float(diff.max()) if diff.size else 0.0
        self.max_rel_error = float(rel.max()) if rel.size else 0.0
        self.worst_index = np.unravel_index(int(rel.argmax()), self.shape) if rel.size else ()
        self.max_gradient = float(np.abs(numeric).max()) if numeric.size else 0.0
        self.rtol = rtol
        self.ok = self.max_rel_error < rtol

    def __str__(self):
        where = tuple(int(i) for i in self.worst_index)
        at = (f"analytic {self.analytic[where]: .6e} numeric {self.numeric[where]: .6e}"
              if self.checked else "empty")
        return (f"{'ok  ' if self.ok else 'FAIL'} {self.name:<28} {str(self.shape):<14} "
                f"max abs {self.max_abs_error:.2e}  max rel {self.max_rel_error:.2e}  "
                f"(worst at {where}: {at})")


class Verdict:
    """Per-array results; `ok` when every array passes; str() is a table for failure messages."""

    def __init__(self, arrays, problems=()):
        self.arrays = arrays
        self.problems = list(problems)

    @property
    def ok(self):
        return not self.problems and all(a.ok for a in self.arrays)

    @property
    def max_rel_error(self):
        return max((a.max_rel_error for a in self.arrays), default=0.0)

    def __getitem__(self, name):
        return next(a for a in self.arrays if a.name == name)

    def __str__(self):
        lines = [str(a) for a in self.arrays] + [f"PROBLEM {p}" for p in self.problems]
        return "\n".join(lines)


def _as_list(outputs):
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return [outputs]


def projection(outputs, seed=0):
    """Fixed random weights R shaped like `outputs` (an array or a list with None entries)."""
    rng = np.random.default_rng(seed)
    return [None if o is None else rng.standard_normal(np.shape(o)) for o in _as_list(outputs)]


def projected_loss(outputs, weights):
    """sum_k sum(R_k * output_k), accumulated in float64."""
    outputs = _as_list(outputs)
    if len(outputs) != len(weights):
        raise AssertionError(f"forward() returned {len(outputs)} outputs, then {len(weights)}")
    total = 0.0
    for o, r in zip(outputs, weights):
        if r is not None:
            total += float(np.sum(r * np.asarray(o)))
    return total


def central_differences(loss, array, step=STEP):
    """dL/d(array) for every element, by central differences; `array` is perturbed in place and
    restored exactly."""
    if array.dtype != np.float64:
        raise AssertionError(f"the judge needs float64 arrays; got {array.dtype}")
    if not array.flags.c_contiguous:
        raise AssertionError("the judge perturbs arrays in place: they must be C-contiguous")
    flat = array.reshape(-1)
    numeric = np.empty(flat.size)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + step
        up = loss()
        flat[i] = old - step
        down = loss()
        flat[i] = old
        numeric[i] = (up - down) / (2.0 * step)
    return numeric.reshape(array.shape)


def compare(loss, arrays, grads, step=STEP, rtol=RTOL, floor=FLOOR, allow_zero=()):
    """Judges analytic `grads` (name -> array) of scalar `loss()` against central differences
    over every element of `arrays` (name -> float64 array that `loss` reads in place)."""
    problems = []
    if set(grads) != set(arrays):
        problems.append(f"gradients for {sorted(grads)} but arrays {sorted(arrays)}")
    before = {name: a.copy() for name, a in arrays.items()}
    first, second = loss(), loss()
    if first != second:
        problems.append(f"loss() is not deterministic ({first!r} then {second!r})")
    results = []
    for name, array in arrays.items():
        if name not in grads:
            continue
        analytic = np.asarray(grads[name])
        if analytic.shape != array.shape:
            problems.append(f"{name}: gradient shape {analytic.shape} != array shape {array.shape}")
            continue
        if not np.all(np.isfinite(analytic)):
            problems.append(f"{name}: the analytic gradient is not finite")
            continue
        numeric = central_differences(loss, array, step)
        if name not in allow_zero and array.size and not np.any(numeric):
            problems.append(f"{name}: the loss does not depend on this array (numeric gradient is all zero)")
        results.append(ArrayVerdict(name, analytic.astype(np.float64), numeric, rtol, floor))
    for name, array in arrays.items():
        if not np.array_equal(array, before[name]):
            problems.append(f"{name}: not restored after the differences")
    return Verdict(results, problems)


def judge(forward, backward, arrays, seed=0, step=STEP, rtol=RTOL, floor=FLOOR, allow_zero=()):
    """The gradient check of a function with array outputs.

    Args:
        forward: () -> output array, or a list/tuple of them (None entries are skipped); reads
            `arrays` in place and is deterministic.
        backward: (R) -> {name: dL/d(array)} for L = sum(R * output), R a list (one per output).
        arrays: {name: float64 array} to check, every element.

    Returns:
        a Verdict (ok, per-array errors, str() for messages).
    """
    arrays = dict(arrays)
    outputs = _as_list(forward())
    for k, o in enumerate(outputs):
        if o is not None and np.asarray(o).dtype != np.float64:
            return Verdict([], [f"output {k} is {np.asarray(o).dtype}, not float64"])
    weights = projection(outputs, seed)
    before = {name: a.copy() for name, a in arrays.items()}
    grads = backward(weights)
    changed = [name for name, a in arrays.items() if not np.array_equal(a, before[name])]
    if changed:
        return Verdict([], [f"backward() modified {changed}"])
    verdict = compare(lambda: projected_loss(forward(), weights), arrays, grads, step, rtol, floor, allow_zero)
    return verdict


def assert_gradients(forward, backward, arrays, **kwargs):
    """`judge`, raising AssertionError with the per-array table when any array fails."""
    verdict = judge(forward, backward, arrays, **kwargs)
    assert verdict.ok, "gradient check failed:\n" + str(verdict)
    return verdict


def assert_loss_gradients(loss, arrays, grads, **kwargs):
    """`compare` for a scalar loss, raising AssertionError with the table when any array fails."""
    verdict = compare(loss, arrays, grads, **kwargs)
    assert verdict.ok, "gradient check failed:\n" + str(verdict)
    return verdict
