"""Data-parallel training across processes on MPI: `mpiexec -n 4 python train.py`.

    import rnnkit as keras

    keras.distribute.MPIDataParallel()          # from here on, every fit of this process is data-parallel
    model.fit(x, y, batch_size=64, epochs=10)   # each rank runs the same script on the same data

Keras 3's spelling works too: `keras.distribution.set_distribution(keras.distribution.DataParallel())`.
mpi4py (and an MPI library: `pip install 'rnnkit[mpi]'` brings MPICH's wheel and its `mpiexec`) is
imported only when a strategy is made; `import rnnkit` never touches MPI.

The rules, which the tests hold the code to:

- Data. Every rank runs the same script on the same arrays (or a generator that yields the same
  batches on every rank). fit draws each global batch of `batch_size` rows exactly as one process
  would (one shuffle generator, rank 0's, shared by all ranks) and rank r of N takes the rows
  [r*b//N, (r+1)*b//N) of a batch of b rows. A `batch_size` below N is refused; a short last batch may
  leave a rank an empty shard, which adds nothing (and so changes nothing).
- Gradients. One allreduce per step, in place, of ONE buffer holding every gradient (the weights'
  dtype: float32 unless floatx is float64) and the loss's numerator and denominator. Rank r adds
  c_r * g_r, where g_r is the gradient of its own mean loss and c_r that mean's denominator (the number
  of loss values, or of unmasked ones under a mask); every rank divides the sum by sum_r c_r. That is the
  gradient of the global batch's mean loss, as one process computes it, whatever the shards' sizes or
  their numbers of masked steps: a sum of local sums over the global count, never a mean of means.
  Sample and class weights travel with their samples (Keras divides by the count of values, not by the
  weights' sum, so c_r stays a count). Weight penalties, added on every rank, come out once; activity
  penalties (a sum over samples / batch size) are exact without a mask and weighted by c_r under one.
- Optimizer. Every rank steps with the same reduced gradients, so slots, step counts and weights stay
  identical; at each epoch's end the ranks check that they do (a CRC of the weights).
- Start. Rank 0's weights, optimizer state (slots, iterations, learning rate), initial epoch (after its
  BackupAndRestore ran) and shuffle generator are broadcast to every rank before the first step, so a
  checkpoint written by rank 0 resumes on any number of ranks. Each rank then draws its own dropout masks.
- Logs. The loss is the global batch's (it rides in the gradient buffer); metrics are summed across ranks
  from their states (totals, counts, confusion counts: one small float64 allreduce per step, only when
  there are metrics). Validation runs whole on every rank (exact, not split), so every rank holds the same
  logs and callbacks that decide from them decide alike (EarlyStopping, ReduceLROnPlateau, TerminateOnNaN).
  At each epoch's end the ranks also agree on `stop_training`: one rank's stop stops all. A callback
  that stops in the middle of an epoch must decide from the logs, or ranks would part ways.
- Output and files. Only rank 0 prints (other ranks' stdout is silenced during fit) and only rank 0 runs
  the callbacks whose `chief_only` is true: those that write files (ModelCheckpoint, CSVLogger,
  BackupAndRestore, `rnnkit train`'s saves).
- BatchNormalization normalizes with each rank's own batch statistics (Keras's default, not synchronized
  BN); its moving statistics are averaged across ranks at each epoch's end, which equals averaging them
  at every step (MirroredStrategy's rule) because their update is linear. A model with it must not leave
  a rank an empty shard (refused before the first step).
- Refused, clearly: stateful models (their states belong to rows of a fixed batch), models with several
  outputs, metrics whose state rnnkit cannot sum.
- Faults. An exception on any rank before the first step is raised on every rank (the others name the
  failing rank). After it, a failing rank prints its traceback and aborts the whole job (MPI_Abort): no
  rank ever waits for one that is gone.
"""

from rnnkit.distribute.data_parallel import DataParallel, MPIDataParallel

_current = None


def distribution():
    """The distribution every `fit` of this process uses, or None (one process, the default)."""
    return _current


def set_distribution(value):
    """Makes `value` (an MPIDataParallel, or None for single-process training) the distribution
    every later `fit` uses (Keras 3's `keras.distribution.set_distribution`).

    Raises:
        TypeError: for anything else.
    """
    global _current
    if value is not None and not isinstance(value, MPIDataParallel):
        raise TypeError("Argument `value` must be an rnnkit.distribute.MPIDataParallel or None. "
                        f"Received: {value!r}")
    _current = value


def is_chief():
    """True on the process that prints and writes files: rank 0, or the only process."""
    return _current is None or _current.rank == 0


__all__ = ["DataParallel", "MPIDataParallel", "distribution", "set_distribution", "is_chief"]
