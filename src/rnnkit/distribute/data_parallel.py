"""MPIDataParallel: the strategy, and the per-fit session the training loop consults.

The rules are in the package's docstring (`rnnkit/distribute/__init__.py`). The arithmetic of one
step, on rank r of N with c_r its loss's denominator and g_r the gradient of its mean loss L_r:

    buffer_r = [c_r g_r (every gradient, flattened, one after the other), c_r L_r, c_r]
    buffer   = sum_r buffer_r                       (one in-place allreduce)
    g = buffer[gradients] / buffer[-1],  L = buffer[-2] / buffer[-1]
"""

import contextlib
import copy
import math
import os
import sys
import traceback
import zlib

import numpy as np

from rnnkit import backend

# The attributes in which rnnkit's metrics keep their state; every one is a sum over samples, so the
# global state is the sum of the ranks' states (Mean: total, count; the confusion metrics: counts).
METRIC_STATE = ("total", "count", "true_positives", "false_positives", "true_negatives", "false_negatives",
                "intermediate_weights")


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError("Data-parallel training needs mpi4py and an MPI library: pip install 'rnnkit[mpi]' "
                          f"(mpi4py with MPICH's wheel), then start the script with mpiexec. Received: {error}") from None
    return MPI


class MPIDataParallel:
    """Data-parallel training over the processes of an MPI job; making one makes it the
    distribution every later `fit` of this process uses (see `rnnkit.distribute`).

    Args:
        comm: the MPI communicator (default MPI.COMM_WORLD).

    Raises:
        ImportError: when mpi4py is not installed.
    """

    def __init__(self, comm=None):
        self._MPI = _import_mpi()
        self.comm = comm if comm is not None else self._MPI.COMM_WORLD
        self.rank, self.num_processes = self.comm.Get_rank(), self.comm.Get_size()
        from rnnkit import distribute
        distribute.set_distribution(self)

    def __repr__(self):
        return f"<MPIDataParallel rank {self.rank} of {self.num_processes}>"

    @contextlib.contextmanager
    def scope(self):
        """Makes this the distribution for the block only (the one before comes back after)."""
        from rnnkit import distribute
        before = distribute.distribution()
        distribute.set_distribution(self)
        try:
            yield self
        finally:
            distribute.set_distribution(before)

    def fit_session(self, model):
        """The context one `fit` runs in: the training loop asks it to shard, reduce and agree."""
        return FitSession(self, model)

    def abort(self, message):
        """Prints `message` to stderr and stops every rank of the job (MPI_Abort)."""
        sys.stderr.write(f"rnnkit.distribute: rank {self.rank} of {self.num_processes}: {message}\n"
                         "rnnkit.distribute: aborting every rank (MPI_Abort)\n")
        sys.stderr.flush()
        self.comm.Abort(1)


class DataParallel(MPIDataParallel):
    """Keras 3's name (`keras.distribution.DataParallel`): data parallelism over the MPI job's
    processes, one per device.

    Args:
        devices: None (the job's processes); rnnkit does not place work on listed devices.
        auto_shard_dataset: True (each rank takes its shard of every batch).
    """

    def __init__(self, devices=None, auto_shard_dataset=True, comm=None):
        if devices is not None or auto_shard_dataset is not True:
            raise ValueError("rnnkit's DataParallel runs one process per device under mpiexec: leave `devices` "
                             "None and `auto_shard_dataset` True. Received: "
                             f"devices={devices!r}, auto_shard_dataset={auto_shard_dataset!r}")
        super().__init__(comm)


class FitSession:
    """One data-parallel fit: refuses what cannot be split before the first step, starts all ranks
    from rank 0's state, shards batches, reduces gradients and logs, and turns a failure into an
    error on every rank (before the start) or an abort of the job (after it)."""

    def __init__(self, strategy, model):
        self.strategy, self.model = strategy, model
        self.comm, self.rank, self.size = strategy.comm, strategy.rank, strategy.num_processes
        self.MPI = strategy._MPI
        self.shuffle_rng = np.random.default_rng()      # its state comes from rank 0 in `begin`
        self.agreed = self.started = False
        self._quiet = None

    # ---- errors ---------------------------------------------------------------------------------
    def __enter__(self):
        if self.rank != 0:          # only rank 0 prints during fit
            self._quiet = contextlib.redirect_stdout(open(os.devnull, "w"))
            self._quiet.__enter__()
        return self

    def __exit__(self, kind, error, trace):
        if self._quiet is not None:
            stream = sys.stdout
            self._quiet.__exit__(None, None, None)
            stream.close()
        if error is None:
            if self.started:        # every rank leaves fit with the same generator state
                backend.rng().bit_generator.state = self.shuffle_rng.bit_generator.state
            return False
        if not self.agreed:         # the others wait in `begin`: tell them, so that all raise
            self._agree_to_start(f"{type(error).__name__}: {error}")
            return False
        if not self.started:        # `begin` raised the same error on every rank
            return False
        self.strategy.abort("fit failed after training had started:\n"
                            + "".join(traceback.format_exception(kind, error, trace)).rstrip())
        return False                # pragma: no cover - Abort does not return

    def _agree_to_start(self, message):
        """Every rank says whether it reached the start; an error on any is raised on all."""
        messages = self.comm.allgather(message)
        self.agreed = True
        failed = [(rank, text) for rank, text in enumerate(messages) if text is not None]
        if failed and message is None:
            rank, text = failed[0]
            raise RuntimeError(f"Data-parallel fit did not start: rank {rank} of {self.size} failed before the "
                               f"first step ({text}). Received: an error on another rank")

    # ---- before the first step ------------------------------------------------------------------
    def prepare(self, train_source, batch_size, first_batch_rows, metrics, verbose, callbacks):
        """Refuses what cannot be split (ValueError, before any step); returns the verbosity and
        the callbacks of this rank."""
        model, size = self.model, self.size
        if model._is_stateful():
            raise ValueError(f"Model \"{model.name}\" is stateful: its states belong to the rows of a fixed batch, "
                             "which data-parallel training would split across ranks. Train it in one process. "
                             f"Received: a stateful model on {size} ranks")
        rows = batch_size if first_batch_rows is None else first_batch_rows
        if rows < size:
            raise ValueError(f"Argument `batch_size` must be at least the number of ranks, {size}: each rank takes "
                             f"a shard of every batch. Received: batches of {rows} samples on {size} ranks")
        if first_batch_rows is None and _has_batch_statistics(model):
            last = train_source.n % batch_size
            if 0 < last < size:
                raise ValueError(
                    f"Model \"{model.name}\" holds BatchNormalization, which cannot normalize an empty shard, and "
                    f"the last batch of each epoch holds {last} samples ({train_source.n} % {batch_size}), fewer "
                    f"than the {size} ranks. Received: batch_size={batch_size}; choose one that leaves no "
                    f"remainder or at least {size}")
        for metric in metrics[0] + metrics[1]:
            if not _state_names(metric):
                raise ValueError(f"Metric \"{metric.name}\" keeps its state in attributes other than "
                                 f"{list(METRIC_STATE)}, so its ranks' states cannot be summed. Received: "
                                 f"{type(metric).__name__}")
        if getattr(train_source, "rng", False) is None:
            train_source.rng = self.shuffle_rng
        if self.rank != 0:
            verbose = 0
            callbacks = [callback for callback in callbacks if not getattr(callback, "chief_only", False)]
        return verbose, callbacks

    def begin(self, initial_epoch):
        """After on_train_begin: every rank takes rank 0's weights, optimizer state, initial
        epoch and shuffle generator. Returns the initial epoch."""
        self._agree_to_start(None)
        model, optimizer = self.model, self.model.optimizer
        state = None
        if self.rank == 0:
            state = {"weights": model.get_weights(), "initial_epoch": initial_epoch,
                     "rng": backend.rng().bit_generator.state, "built": optimizer.built,
                     "optimizer": optimizer.get_variables("tf_keras"),   # [iterations, slots...]
                     # a plain learning rate exactly (a file's layout keeps it as float32); None for a schedule
                     "learning_rate": (optimizer.learning_rate if len(optimizer.get_variables("keras3"))
                                       > len(optimizer.get_variables("tf_keras")) else None)}
        state = self.comm.bcast(state, root=0)
        self.started = True     # from here on a failure aborts the job: the others are in collectives
        self.shuffle_rng.bit_generator.state = state["rng"]
        if self.rank != 0:
            model.set_weights(state["weights"])
            if state["built"]:
                optimizer.set_variables(state["optimizer"], variables=model._trainable_arrays())
            else:
                optimizer.iterations = int(state["optimizer"][0])
            if state["learning_rate"] is not None:
                optimizer.learning_rate = state["learning_rate"]
            # each rank draws its own dropout masks, from a stream seeded by its rank and rank 0's state
            seed = np.random.SeedSequence([self.rank, zlib.crc32(repr(state["rng"]).encode())])
            backend.rng().bit_generator.state = type(backend.rng().bit_generator)(seed).state
        weights = model._trainable_arrays()
        dtype = np.result_type(*weights) if weights else np.dtype(backend.floatx())
        sizes = [w.size for w in weights]
        self._ends = np.cumsum([0] + sizes)
        self._buffer = np.empty(self._ends[-1] + 2, dtype)
        return state["initial_epoch"]

    # ---- every step -----------------------------------------------------------------------------
    def shard(self, x, y, sample_weight):
        """This rank's rows [r*b//N, (r+1)*b//N) of a global batch of b rows."""
        rows = len(x)
        part = slice(self.rank * rows // self.size, (self.rank + 1) * rows // self.size)
        return x[part], y[part], None if sample_weight is None else sample_weight[part]

    def reduce_gradients(self, pairs, loss, count):
        """The one allreduce of a step. `pairs` are this rank's (gradient, weight) pairs (None
        when its loss diverged), `loss` its mean loss and `count` that mean's denominator.
        The gradients become, in place, those of the global batch's mean loss (also on a rank
        whose shard was empty: its `pairs` hold zeros, and it steps alike); returns that loss
        (NaN on every rank when any rank's loss or gradient is not finite)."""
        buffer, ends = self._buffer, self._ends
        if pairs is None or not math.isfinite(loss):
            buffer.fill(np.nan)
        elif not count:             # an empty shard, or every value masked: adds nothing
            buffer.fill(0)
        else:
            for (grad, _), start, stop in zip(pairs, ends[:-1], ends[1:]):
                np.multiply(np.reshape(grad, -1), count, out=buffer[start:stop], casting="unsafe")
            buffer[-2], buffer[-1] = loss * count, count
        self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)
        total = float(buffer[-1])
        if not math.isfinite(float(buffer[-2])) or pairs is None:
            return float("nan")
        scale = 1.0 / total if total else 0.0   # every value masked everywhere: loss 0, no gradient
        for (grad, _), start, stop in zip(pairs, ends[:-1], ends[1:]):
            np.multiply(buffer[start:stop].reshape(np.shape(grad)), scale, out=grad, casting="unsafe")
        return float(buffer[-2]) * scale

    def summed(self, metrics):
        """Copies of the (plain, weighted) metric groups holding the sum of every rank's state."""
        flat = [np.ravel(np.asarray(getattr(metric, name), np.float64))
                for group in metrics for metric in group for name in _state_names(metric)]
        if not flat:
            return metrics
        buffer = np.concatenate(flat)
        self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)
        groups, at = [], 0
        for group in metrics:
            copies = []
            for metric in group:
                twin = copy.copy(metric)
                for name in _state_names(metric):
                    shape = np.shape(getattr(metric, name))
                    count = math.prod(shape)
                    value = buffer[at:at + count].reshape(shape)
                    setattr(twin, name, float(value) if shape == () else value)
                    at += count
                copies.append(twin)
            groups.append(copies)
        return tuple(groups)

    # ---- every epoch ----------------------------------------------------------------------------
    def end_epoch(self):
        """Before validation and the epoch's callbacks: BatchNormalization's moving statistics
        become the ranks' mean."""
        moving = _moving_statistics(self.model)
        if not moving:
            return
        buffer = np.concatenate([np.ravel(np.asarray(w, np.float64)) for w in moving])
        self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)
        buffer /= self.size
        at = 0
        for weight in moving:
            weight[...] = buffer[at:at + weight.size].reshape(weight.shape)
            at += weight.size

    def agree_to_stop(self, stop):
        """After the epoch's callbacks: True on every rank when any rank stops. Also checks that
        the ranks' weights are still identical (they step alike; a difference is a bug)."""
        digest = 0
        for weight in self.model.get_weights():
            digest = zlib.crc32(np.ascontiguousarray(weight).view(np.uint8), digest)
        votes = self.comm.allgather((bool(stop), digest))
        if len({digest for _, digest in votes}) != 1:
            raise RuntimeError("Data-parallel ranks hold different weights after an epoch (CRC32 per rank: "
                               f"{[d for _, d in votes]}). Received: diverged replicas")
        return any(vote for vote, _ in votes)


def _state_names(metric):
    return [name for name in METRIC_STATE if name in vars(metric)]


def _has_batch_statistics(model):
    return bool(_moving_statistics(model))


def _moving_statistics(model):
    """Non-trainable weights of trainable layers: what a training forward pass changes
    (BatchNormalization's moving mean and variance)."""
    found = []
    for layer in model.layers:
        if not getattr(layer, "trainable", False):
            continue
        trainable = {id(w) for w in layer.trainable_weights}
        found += [w for w in layer.weights.values() if id(w) not in trainable and np.asarray(w).dtype.kind == "f"]
    return found
