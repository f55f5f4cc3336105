"""Data-parallel fit on 1, 2 and 3 MPI ranks equals fit in one process.

The ranks are started with the mpiexec that `make test` installs (MPICH's wheel) once per rank
count, each run doing every case of mpi_cases.py; the references are computed here, in this
process, by the same functions without a strategy, and by Keras itself (train/ and train_graph/
fixtures replayed as full-batch fit). Batches of 5 rows on 2 or 3 ranks give shards of different
sizes with different numbers of masked steps, where a mean of the ranks' means would differ from
the mean over the global batch. Skipped only where no MPI launcher can be installed.
"""

import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import mpi_cases
from conftest import FIXTURES
from rnnkit.distribute import launch

CASES = pathlib.Path(mpi_cases.__file__)
RANK_COUNTS = (1, 2, 3)


def launcher():
    """rnnkit's own choice of mpiexec (beside this Python, else on PATH); None when mpi4py or a
    launcher is missing."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    return launch.mpiexec()


MPIEXEC = launcher()
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="no MPI launcher: pip install 'rnnkit[mpi]'")
# One BLAS thread per rank: three ranks on two cores must not fight over threads too.
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def mpirun(ranks, *arguments, timeout=240):
    return subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, str(CASES), *map(str, arguments)],
                          capture_output=True, text=True, timeout=timeout, env=ENV)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{rank count: [each rank's results]} and the folder the runs wrote into (ranks2/ holds the
    checkpoint that the 3-rank run resumes from)."""
    root = tmp_path_factory.mktemp("mpi")
    results = {}
    for ranks in RANK_COUNTS:
        folder = root / f"ranks{ranks}"
        folder.mkdir()
        completed = mpirun(ranks, folder, FIXTURES)
        assert completed.returncode == 0, completed.stderr[-4000:]
        results[ranks] = []
        for rank in range(ranks):
            with open(folder / f"rank{rank}.pickle", "rb") as handle:
                results[ranks].append(pickle.load(handle))
    return root, results


def assert_weights_close(ours, expected, rtol, what):
    """Close to `expected` to rtol, each array's tolerance scaled by its largest entry (a tiny bias
    beside a kernel is held to the kernel's scale, as the replay tests do)."""
    assert len(ours) == len(expected), what
    for i, (a, b) in enumerate(zip(ours, expected)):
        scale = max(float(np.abs(b).max()), 1e-3)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=f"{what}: weight {i}")


def assert_ranks_identical(per_rank, key_path):
    """Every rank holds bit-for-bit the same arrays: they stepped with the same reduced gradients."""
    def pick(result):
        for key in key_path:
            result = result[key]
        return result
    first = pick(per_rank[0])
    for rank, result in enumerate(per_rank[1:], 1):
        for a, b in zip(pick(result), first):
            assert np.array_equal(a, b), f"rank {rank} differs from rank 0 in {key_path}"


@needs_mpi
@pytest.mark.parametrize("name", mpi_cases.KERAS_RUNS)
def test_data_parallel_fit_lands_where_keras_did_on_every_rank_count(runs, name):
    _, results = runs
    _, _, keras_weights = mpi_cases.keras_run(FIXTURES, name)
    one_process = mpi_cases.run_keras(FIXTURES, name)
    for ranks in RANK_COUNTS:
        assert_ranks_identical(results[ranks], ("keras", name, "weights"))
        ours = results[ranks][0]["keras"][name]
        assert_weights_close(ours["weights"], keras_weights, 1e-4, f"{name} on {ranks} ranks vs Keras")
        assert_weights_close(ours["weights"], one_process["weights"], 2e-5, f"{name} on {ranks} ranks vs one process")
        np.testing.assert_allclose(ours["loss"], one_process["loss"], rtol=1e-5)


@needs_mpi
@pytest.mark.parametrize("optimizer", mpi_cases.OPTIMIZERS)
def test_every_optimizer_steps_as_in_one_process_on_uneven_masked_shards(runs, optimizer):
    _, results = runs
    one_process = mpi_cases.run_optimizer(optimizer)
    for ranks in RANK_COUNTS:
        assert_ranks_identical(results[ranks], ("optimizers", optimizer, "weights"))
        assert_ranks_identical(results[ranks], ("optimizers", optimizer, "optimizer"))
        ours = results[ranks][0]["optimizers"][optimizer]
        assert_weights_close(ours["weights"], one_process["weights"], 2e-5, f"{optimizer} on {ranks} ranks")
        assert_weights_close(ours["optimizer"][1:], one_process["optimizer"][1:], 1e-4, f"{optimizer} slots")
        assert int(ours["optimizer"][0]) == int(one_process["optimizer"][0]) == 6   # 3 batches x 2 epochs
        assert sorted(ours["history"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
        for key, values in one_process["history"].items():
            # accuracy is a ratio of counts summed over ranks: exactly one process's
            np.testing.assert_allclose(ours["history"][key], values, rtol=0 if "accuracy" in key else 1e-5,
                                       err_msg=f"{optimizer} on {ranks} ranks: {key}")
            for rank in range(1, ranks):
                assert results[ranks][rank]["optimizers"][optimizer]["history"][key] == ours["history"][key]


@needs_mpi
def test_batchnorm_normalizes_per_rank_and_averages_its_moving_statistics(runs):
    # One SGD step on the whole batch: with each rank's own batch statistics, the step is the
    # count-weighted mean of what one process does on each shard alone (the gradient is linear in
    # the loss's sum), and the moving statistics are the ranks' mean.
    _, results = runs
    for ranks in RANK_COUNTS:
        assert_ranks_identical(results[ranks], ("batchnorm", "weights"))
        per_shard, sizes = [], []
        for rank in range(ranks):
            model, fit, _ = mpi_cases.keras_run(FIXTURES, mpi_cases.BATCHNORM_RUN)
            rows = len(fit["y"])
            part = slice(rank * rows // ranks, (rank + 1) * rows // ranks)
            model.train_on_batch(fit["x"][part], fit["y"][part])
            per_shard.append(model.get_weights())
            sizes.append(part.stop - part.start)
        trainable = {id(w) for layer in model.layers for w in layer.trainable_weights}
        flags = [id(w) in trainable for layer in model.layers for w in layer.weights.values()]
        expected = []
        for i, is_trainable in enumerate(flags):
            shard_values = np.array([weights[i] for weights in per_shard], np.float64)
            share = np.array(sizes, np.float64) / sum(sizes) if is_trainable else np.full(ranks, 1 / ranks)
            expected.append(np.tensordot(share, shard_values, axes=1))
        assert_weights_close(results[ranks][0]["batchnorm"]["weights"], expected, 1e-5, f"batchnorm, {ranks} ranks")


@needs_mpi
def test_refusals_come_before_the_first_step_on_every_rank(runs):
    _, results = runs
    untouched = mpi_cases.checkpoint_model().get_weights()
    for ranks in RANK_COUNTS:
        for rank, result in enumerate(results[ranks]):
            found = result["refusals"]
            if ranks > 1:
                assert found["small_batch"].startswith("ValueError: Argument `batch_size` must be at least the "
                                                       f"number of ranks, {ranks}")
                assert f"Received: batches of {ranks - 1} samples on {ranks} ranks" in found["small_batch"]
            assert found["stateful"].startswith("ValueError: Model ") and "is stateful" in found["stateful"]
            if rank == ranks - 1:
                assert found["one_rank_bad"].startswith("ValueError: Argument `epochs`")
            else:
                assert found["one_rank_bad"].startswith(
                    f"RuntimeError: Data-parallel fit did not start: rank {ranks - 1} of {ranks} failed")
                assert "Argument `epochs`" in found["one_rank_bad"]
            for a, b in zip(found["weights_after_refusals"], untouched):
                assert np.array_equal(a, b)


@needs_mpi
def test_rank_zero_alone_writes_and_its_checkpoint_resumes_on_another_rank_count(runs):
    root, results = runs
    written = sorted(p.name for p in (root / "ranks2").iterdir() if not p.name.endswith(".pickle"))
    assert written == ["checkpoint.keras", "log.csv"]
    lines = (root / "ranks2" / "log.csv").read_text().splitlines()
    assert lines[0] == "epoch,loss" and [line.split(",")[0] for line in lines[1:]] == ["0", "1"]
    # 2 epochs on 2 ranks, saved by rank 0, then epochs 3-4 on 3 ranks: as 4 epochs in one process
    # (14 samples in batches of 4: the last batch of 2 leaves one of 3 ranks an empty shard).
    reference = mpi_cases.run_reference_checkpoint()["weights"]
    assert_ranks_identical(results[3], ("resumed", "weights"))
    assert_weights_close(results[3][0]["resumed"]["weights"], reference, 2e-5, "resumed on 3 ranks")


@needs_mpi
def test_a_rank_that_raises_aborts_the_whole_job(tmp_path):
    completed = mpirun(2, tmp_path, FIXTURES, "fault", timeout=60)
    assert completed.returncode != 0
    assert "deliberate failure on the last rank" in completed.stderr
    assert "rank 1 of 2: fit failed after training had started" in completed.stderr
    assert "aborting every rank (MPI_Abort)" in completed.stderr
    assert "fit returned" not in completed.stdout


def test_rnnkit_imports_no_mpi_and_trains_in_one_process_without_a_strategy():
    code = ("import sys, numpy as np, rnnkit as keras\n"
            "from rnnkit import distribute\n"
            "m = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))]); m.compile('sgd', 'mse')\n"
            "m.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)\n"
            "assert distribute.distribution() is None and distribute.is_chief()\n"
            "print(sorted(name for name in sys.modules if name.split('.')[0] in ('mpi4py', 'mpich')))\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_a_missing_mpi4py_is_named_with_the_extra_to_install(monkeypatch):
    from rnnkit import distribute
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r"pip install 'rnnkit\[mpi\]'"):
        distribute.MPIDataParallel()
    assert distribute.distribution() is None


def test_set_distribution_takes_a_strategy_or_none():
    from rnnkit import distribute, distribution
    with pytest.raises(TypeError, match="Received: 'mirrored'"):
        distribute.set_distribution("mirrored")
    with pytest.raises(ValueError, match="Received: devices=\\['cpu:0'\\]"):
        distribution.DataParallel(devices=["cpu:0"])
    assert distribution.distribution() is None
