"""The sequence scaffold: everything a recurrence shares, around a cell that supplies its math.

Forward, the scaffold's lines (the cell's loop in the middle):
    xs_t = [x_t m_x | 1]             (T, D + 1, B) in processing order     one transpose in
    z    = [W | b]^T xs              (T, G H, B)                           ONE product, all steps
    s_0  = initial states as (H, B) columns (zeros when None); states are a list ([h] or [h, c])
    cell.forward_loop: for each step, the cell's math from z_t and s_{t-1}, then
        s_t = s_{t-1} where the step is masked (`hold`),  output_t = h_t          (`end_step`)
    outputs (B, T, H); masked steps output 0 when zero_output_for_mask; last states (B, H)
m_x (B, D) and m_h (B, H) are the dropout keep-masks, the same at every step (1 without dropout).

Backward, from the last step to the first:
    g_t = dL/doutput_t (0 on steps that output 0) + dL/dh_T on the last step  (from output_t = h_t)
    cell.backward_loop: dz_t (the gradient of z_t) and dL/ds_{t-1}; a masked step carries
        dL/ds_t to s_{t-1} unchanged and gets dz_t = 0                        (from s_t = s_{t-1})
    dW, db = sum_t xs_t dz_t^T       ONE product after the loop               (from z = [W | b]^T xs)
    dx_t   = (dz_t^T W^T) m_x        ONE product                              (from the same line)
    dU     = sum_t (h_{t-1} m_h) dz_t^T  ONE product (a cell may say otherwise: `weight_grads`)

The cell protocol (every built-in cell: `ops.simple_rnn`, `ops.lstm`, `ops.gru`, and any new
one, each one file):
    units, gate_count (G), state_count       sizes
    weight_shapes(input_dim, use_bias)       {name: shape}, Keras's names and order
    prepare(weights) -> Prepared             projection operands (`kernel_t`, `kernel` for dx) and
                                             whatever the loop needs (transposed U, scales, ...)
    check_trainable()                        raises ValueError if the cell cannot be trained
    forward_loop(run, p) -> (last, kept)     the steps: last states (H, B) list, and what the
                                             backward needs per step (dict of (T, ., B) arrays)
    backward_loop(run, p, kept, g, d_rest)   -> (dz (T, G', B), spent buffer for dz's turn or None,
                                             [dL/ds_0 (H, B)])
    weight_grads(run, p, kept, dz, dW, db)   -> {name: gradient} (dz turned to (G', T, B))
`Run` carries the call's arrays (z, s_0, hold, m_h, outputs, buffers) to the cell's loops.

A cache is what one forward keeps for its backward. It holds buffers of the caller's workspace,
so each forward stamps the workspace with a new generation and the cache remembers it: a cache
whose workspace served a later forward, or one already used by a backward (which overwrites
the spent buffers), raises instead of giving wrong gradients. Layers avoid both by giving each
pending cache its own workspace (`layers.cells.Workspaces`).

`step_forward` / `step_backward` below run a user's step cell (`call(x_t, states)` and
`backward(...)` on batch-major (B, F) arrays) through the same masks, dropout, direction and
state handling, one step at a time: the readable reference of the fused path.
"""

import numpy as np

from rnnkit.ops.sequence import (as_columns, by_feature, drop_inputs, hold_mask, input_grads, new_outputs,
                                 output_grads, previous_states_by_feature, project, recurrent_kernel_grad,
                                 step_states, to_steps, zero_masked_outputs, _steps)


class Prepared:
    """What a cell derives from its weights once per call. `kernel_t`: the projection's left
    operand (G', D (+ 1)), with the bias as its last column when `bias_in_projection`; `kernel`:
    (D, G') for dx, rows in the same order as dz."""

    def __init__(self, kernel_t, kernel, bias_in_projection, **extra):
        self.kernel_t, self.kernel, self.bias_in_projection = kernel_t, kernel, bias_in_projection
        self.__dict__.update(extra)


class Run:
    """One call's arrays, handed to the cell's loops.

    z (T, G', B) projections; states0 [(H, B)]; hold (T, 1, B) or None; m_h (H, B) recurrent
    keep-mask or None; outputs (B, T, H) or None; keep_cache; workspace; `slots` per-step buffers
    (T when the backward needs every step, else 2); zero_start: h_{-1} is zero (no initial state);
    need_initial_grads: an initial state was given (else a cell may return None for its gradients);
    spent_grads: after the backward loop, the (T, H, B) output gradients when nothing reads them
    any more (else None), a buffer for dU's operand.
    """

    __slots__ = ("T", "B", "H", "dtype", "xs", "z", "states0", "hold", "m_h", "recurrent_dropout_mask",
                 "input_dropout_mask", "outputs", "keep_cache", "workspace", "slots", "go_backwards",
                 "zero_output_for_mask", "zero_start", "need_initial_grads", "spent_grads")

    def step_states(self, name, rows=None):
        """A per-step (T or 2, rows, B) buffer of the workspace (see `sequence.step_states`)."""
        return step_states(self.workspace, name, self.T, (rows or self.H, self.B), self.dtype, self.keep_cache)


class SequenceCache:
    """What `forward` keeps for `backward`; one per call, owned by the caller."""

    __slots__ = ("cell", "prepared", "run", "kept", "generation", "used")

    def __init__(self, cell, prepared, run, kept, generation):
        self.cell, self.prepared, self.run, self.kept = cell, prepared, run, kept
        self.generation, self.used = generation, False


def forward(cell, weights, x, states=None, mask=None, go_backwards=False, return_sequences=True,
            zero_output_for_mask=False, input_dropout_mask=None, recurrent_dropout_mask=None,
            keep_cache=False, workspace=None):
    """Runs `cell` over a batch of sequences.

    Args:
        cell: an ops cell (see the module docstring).
        weights: {name: array} as `cell.weight_shapes` declares them.
        x: (B, T, D) input, batch-major.
        states: list of (B, H) initial states (entries may be None: zeros), or None.
        mask: (B, T) bool or None; False steps leave the states unchanged.
        go_backwards: process the steps last to first (outputs stay in processing order).
        return_sequences: whether to return the (B, T, H) outputs.
        zero_output_for_mask: masked steps output zeros instead of the carried state.
        input_dropout_mask, recurrent_dropout_mask: (B, D) and (B, H) scaled keep-masks, or None.
        keep_cache: keep what `backward` needs.
        workspace: a dict of buffers the caller keeps between calls (see `sequence.buffer`).

    Returns:
        (outputs or None, [last states (B, H)], cache or None).
    """
    B, T, D = x.shape
    H = cell.units
    p = cell.prepare(weights)
    dtype = p.kernel_t.dtype
    generation = None
    if workspace is not None:       # a new generation: buffers written from now on are this call's
        generation = workspace["generation"] = workspace.get("generation", 0) + 1
    run = Run()
    run.T, run.B, run.H, run.dtype, run.workspace, run.keep_cache = T, B, H, dtype, workspace, keep_cache
    run.slots = T if keep_cache else 2
    run.go_backwards, run.zero_output_for_mask, run.spent_grads = go_backwards, zero_output_for_mask, None
    run.xs = xs = to_steps(x, go_backwards, dtype, workspace, with_bias=p.bias_in_projection)
    if input_dropout_mask is not None:
        drop_inputs(xs, input_dropout_mask)
    run.z = project(xs, p.kernel_t, workspace)                       # every step's projection at once
    states = states if states is not None else [None] * cell.state_count
    run.zero_start = states[0] is None      # h_{-1} = 0: a loop may skip the first recurrent product
    # No initial state given: nothing asks for its gradient, so a loop may skip the last dL/dh_{-1}.
    run.need_initial_grads = any(s is not None for s in states)
    run.states0 = [as_columns(s, (H, B), dtype) for s in states]
    run.hold = None if mask is None else hold_mask(mask, go_backwards)
    run.input_dropout_mask, run.recurrent_dropout_mask = input_dropout_mask, recurrent_dropout_mask
    run.m_h = None if recurrent_dropout_mask is None else np.ascontiguousarray(recurrent_dropout_mask.T)
    run.outputs = outputs = new_outputs(B, T, H, dtype) if return_sequences else None
    last, kept = cell.forward_loop(run, p)
    last_states = [np.array(s.T, order="C") for s in last]
    if zero_output_for_mask:
        zero_masked_outputs(outputs, run.hold, zero_output_for_mask)
    cache = SequenceCache(cell, p, run, kept, generation) if keep_cache else None
    return outputs, last_states, cache


def check_cache(cache):
    """Raises RuntimeError for a cache that cannot be backpropagated (used, or overwritten)."""
    if not isinstance(cache, SequenceCache):
        raise RuntimeError("backward() needs the cache of a forward(keep_cache=True). "
                           f"Received: {type(cache).__name__}")
    if cache.used:
        raise RuntimeError("This cache was already used by a backward pass, which overwrites its buffers; "
                           "run the forward again. Received: a used cache")
    workspace = cache.run.workspace
    if workspace is not None and workspace.get("generation") != cache.generation:
        raise RuntimeError("This cache is stale: a later forward wrote over its workspace. Give each pending "
                           "call its own workspace. Received: a cache of generation "
                           f"{cache.generation}, workspace at {workspace.get('generation')}")


def backward(d_outputs, d_states, cache, need_dx=True):
    """Backpropagation through time for `forward`.

    Args:
        d_outputs: (B, T, H) gradient of the outputs, or None.
        d_states: list of (B, H) gradients of the last states (entries may be None), or None.
        cache: what the forward kept.
        need_dx: whether to compute dx (not for a model's first layer: it saves one product).

    Returns:
        (dx (B, T, D) or None, [dL/d initial state (B, H)], {weight name: gradient}).

    Raises:
        RuntimeError: for a used or stale cache.
    """
    workspace = cache.run.workspace if type(cache) is SequenceCache else None
    if type(cache) is not SequenceCache or cache.used or (
            workspace is not None and workspace.get("generation") != cache.generation):
        check_cache(cache)
    cell, p, run, kept = cache.cell, cache.prepared, cache.run, cache.kept
    cell.check_trainable()
    cache.used = True
    T, H, B, dtype = run.T, run.H, run.B, run.dtype
    if d_states is None or len(d_states) < cell.state_count:
        d_states = list(d_states or []) + [None] * (cell.state_count - len(d_states or []))
    g_all = output_grads(d_outputs, d_states[0], run.hold, run.zero_output_for_mask, (T, H, B), dtype,
                         run.workspace)
    d_rest = [as_columns(d, (H, B), dtype) for d in d_states[1:]] if cell.state_count > 1 else ()
    dz, spent, d_states0 = cell.backward_loop(run, p, kept, g_all, d_rest)
    dz = by_feature(dz, run.workspace, into=spent)
    # The output gradients are spent now, unless dz was turned into them: dU's operand goes there
    # instead of into a (T, H, B) buffer of its own (one such array less at the peak).
    run.spent_grads = None if np.may_share_memory(g_all, dz) else g_all
    kernel_grad, bias_grad, dx = input_grads(run.xs, dz, p.kernel, run.input_dropout_mask, run.go_backwards,
                                             run.workspace, need_dx)
    grads = cell.weight_grads(run, p, kept, dz, kernel_grad, bias_grad)
    if not T and run.need_initial_grads:   # no steps: the last states ARE the initial ones
        return dx, [np.zeros((B, H), dtype) if d is None else np.array(d, dtype) for d in d_states], grads
    return dx, [None if d is None else np.array(d.T, order="C") for d in d_states0], grads


def recurrent_grad(run, kept, dz):
    """dU = sum_t (h_{t-1} m_h) dz_t^T: the default recurrent kernel gradient, ONE product."""
    return recurrent_kernel_grad(run.states0[0], kept["hs"], dz, run.recurrent_dropout_mask, run.workspace,
                                 run.spent_grads)


def previous_states(run, kept):
    """h_{t-1} m_h of every step as (H, T * B), for a cell whose dU takes several products."""
    return previous_states_by_feature(run.states0[0], kept["hs"], run.recurrent_dropout_mask, run.workspace,
                                      run.spent_grads)


# ---- step cells: a user's cell, one step at a time ---------------------------------------------
class StepCache:
    """What `step_forward` keeps for `step_backward`."""

    __slots__ = ("cell", "inputs", "states", "hold", "m_x", "m_h", "go_backwards", "zero_output_for_mask",
                 "used", "B", "T", "D")


def step_forward(cell, x, states, mask=None, go_backwards=False, return_sequences=True,
                 zero_output_for_mask=False, input_dropout_mask=None, recurrent_dropout_mask=None,
                 keep_cache=False):
    """Runs a step cell over a batch: `cell.call(x_t, states) -> (output_t, new_states)` on
    batch-major (B, F) arrays, in processing order, with Keras's masking (a masked step keeps the
    states and repeats the previous output), dropout on x_t (input mask) and on states[0]
    (recurrent mask), and the same returns as `forward` (states batch-major)."""
    B, T, D = x.shape
    order = _steps(go_backwards)
    xs = x[:, order]
    keep = None if mask is None else np.asarray(mask, bool)[:, order]
    states = [np.asarray(s) for s in states]
    output = None
    outputs = []
    inputs, before = [], []
    for t in range(T):
        x_t = xs[:, t] if input_dropout_mask is None else xs[:, t] * input_dropout_mask
        s_in = list(states)
        if recurrent_dropout_mask is not None:
            s_in[0] = s_in[0] * recurrent_dropout_mask
        out, new_states = cell.call(x_t, s_in)
        new_states = [np.asarray(s) for s in (new_states if isinstance(new_states, (list, tuple)) else [new_states])]
        if keep is not None:
            k = keep[:, t, None]
            out = np.where(k, out, output if output is not None else 0.0)
            new_states = [np.where(k, new, old) for new, old in zip(new_states, states)]
        if keep_cache:
            inputs.append(x_t)
            before.append(s_in)
        output = out
        outputs.append(out if not (zero_output_for_mask and keep is not None)
                       else np.where(keep[:, t, None], out, 0.0))
        states = new_states
    sequence = np.stack(outputs, axis=1) if return_sequences and T else None
    if return_sequences and not T:
        sequence = np.zeros((B, 0, cell.output_size), x.dtype)
    cache = None
    if keep_cache:
        cache = StepCache()
        cache.cell, cache.inputs, cache.states, cache.hold = cell, inputs, before, keep
        cache.m_x, cache.m_h, cache.go_backwards = input_dropout_mask, recurrent_dropout_mask, go_backwards
        cache.zero_output_for_mask, cache.used, cache.B, cache.T, cache.D = zero_output_for_mask, False, B, T, D
    last = output if output is not None else np.zeros((B, cell.output_size), x.dtype)
    return sequence, last, list(states), cache


def step_backward(d_outputs, d_last_output, d_states, cache, need_dx=True):
    """Backpropagation through time for `step_forward`, one `cell.backward` per step:
    `cell.backward(d_output_t, d_new_states, x_t, states_t) -> (dx_t, d_states_t, {name: grad})`.
    Weight gradients are summed over the steps. Returns (dx or None, [dL/d initial states], grads)."""
    if not isinstance(cache, StepCache):
        raise RuntimeError(f"backward() needs the cache of a forward. Received: {type(cache).__name__}")
    if cache.used:
        raise RuntimeError("This cache was already used by a backward pass. Received: a used cache")
    cache.used = True
    cell, T, keep = cache.cell, cache.T, cache.hold
    g_states = [None if d is None else np.asarray(d) for d in d_states]
    g_out = None if d_last_output is None else np.asarray(d_last_output)
    grads, dxs = {}, [None] * T
    for t in range(T - 1, -1, -1):
        go = g_out
        if d_outputs is not None:
            d_t = d_outputs[:, t] if not (cache.zero_output_for_mask and keep is not None) else \
                np.where(keep[:, t, None], d_outputs[:, t], 0.0)
            go = d_t if go is None else go + d_t
        x_t, s_in = cache.inputs[t], cache.states[t]
        if go is None:
            go = np.zeros((cache.B, cell.output_size), x_t.dtype)
        g_new = [np.zeros_like(s) if g is None else g for g, s in zip(g_states, s_in)]
        if keep is not None:
            k = keep[:, t, None]
            dx_t, d_in, step_grads = cell.backward(np.where(k, go, 0.0), [np.where(k, g, 0.0) for g in g_new],
                                                   x_t, s_in)
            d_in = [np.asarray(d) for d in d_in]
            g_out = np.where(k, 0.0, go)                 # a masked step repeats the previous output
            carried = [np.where(k, 0.0, g) for g in g_new]
        else:
            dx_t, d_in, step_grads = cell.backward(go, g_new, x_t, s_in)
            d_in = [np.asarray(d) for d in d_in]
            g_out, carried = None, [0.0] * len(g_new)
        if cache.m_h is not None:
            d_in[0] = d_in[0] * cache.m_h
        g_states = [d + c for d, c in zip(d_in, carried)]
        for name, g in step_grads.items():
            grads[name] = g if name not in grads else grads[name] + g
        dxs[t] = dx_t if cache.m_x is None else dx_t * cache.m_x
    dx = None
    if need_dx:
        dx = np.stack(dxs, axis=1)[:, _steps(cache.go_backwards)] if T else np.zeros((cache.B, 0, cache.D))
    return dx, g_states, grads
