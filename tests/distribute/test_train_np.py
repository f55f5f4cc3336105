"""`rnnkit train --np 2` runs the language model on two ranks through mpiexec and prints and saves
what one process does: the same loss, validation and perplexity lines (to float32 reduction noise
in the last printed digit), one saved archive with the same weights, one history file."""

import csv
import re
import subprocess
import sys

import numpy as np
import pytest

from rnnkit import language_model
from test_data_parallel import needs_mpi

# 3,000 characters of the tutorial's own kind of text: a small, fixed corpus.
CORPUS = ("The quick brown fox jumps over the lazy dog. " * 20 + "Pack my box with five dozen liquor jugs. " * 30)[:3000]
NUMBER = re.compile(r"(loss|val_loss|perplexity|val_perplexity): ([0-9.]+)")


def train(folder, name, *extra):
    command = [sys.executable, "-m", "rnnkit", "train", str(folder / "corpus.txt"), "--units", "12", "--seq-len",
               "16", "--batch-size", "8", "--epochs", "2", "--out", str(folder / name), *extra]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=folder)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def shape_of(output):
    """The printed lines with their numbers and timings taken out, and the numbers."""
    numbers = [(key, float(value)) for key, value in NUMBER.findall(output)]
    untimed = [re.sub(r" - \d+(us|ms|s)(/\w+)?", "", line) for line in output.splitlines()]   # times differ
    lines = [re.sub(r"[0-9]+\.[0-9]+", "#", line) for line in untimed]
    return lines, numbers


@needs_mpi
def test_train_on_two_ranks_prints_and_saves_what_one_process_does(tmp_path):
    (tmp_path / "corpus.txt").write_text(CORPUS, encoding="utf-8")
    one = train(tmp_path, "one.keras")
    two = train(tmp_path, "two.keras", "--np", "2")
    one_lines, one_numbers = shape_of(one.replace("one.keras", "OUT"))
    two_lines, two_numbers = shape_of(two.replace("two.keras", "OUT"))
    assert two_lines == one_lines
    assert len(one_numbers) == 8 and [k for k, _ in two_numbers] == [k for k, _ in one_numbers]
    np.testing.assert_allclose([v for _, v in two_numbers], [v for _, v in one_numbers], rtol=2e-4)
    model_one, _ = language_model.load(tmp_path / "one.keras")
    model_two, _ = language_model.load(tmp_path / "two.keras")
    for a, b in zip(model_two.get_weights(), model_one.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(b).max())))
    with open(tmp_path / "two.keras.history.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["epoch", "loss", "val_loss"] and len(rows) == 3     # one writer: one header
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "corpus.txt", "one.keras", "one.keras.history.csv", "two.keras", "two.keras.history.csv"]


def test_np_without_an_mpi_launcher_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    from rnnkit import cli
    from rnnkit.distribute import launch
    monkeypatch.setattr(launch, "mpiexec", lambda: None)
    monkeypatch.delenv(launch.WORKER, raising=False)
    (tmp_path / "corpus.txt").write_text(CORPUS, encoding="utf-8")
    status = cli.main(["train", str(tmp_path / "corpus.txt"), "--np", "2", "--out", str(tmp_path / "m.keras")])
    assert status == 1
    assert "rnnkit: error: --np 2 needs mpi4py and mpiexec: pip install 'rnnkit[mpi]'" in capsys.readouterr().err
    assert not (tmp_path / "m.keras").exists()
