"""Keras programs (three keras-io examples, Keras 2's imdb_cnn_lstm.py and the time-series course's
Conv1D + LSTM forecaster), ported with only their imports, data and sizes changed (see each
script's docstring), run as a user would run them: `python examples/<script>.py`.

They run at once, each in its own process, so the file takes about as long as the slowest."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = ["keras_io_weather.py", "keras_io_imdb_bidirectional.py", "keras_io_char_generation.py",
           "keras_cnn_lstm_imdb.py", "keras_conv1d_forecaster.py"]
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    env = dict(os.environ, PYTHONHASHSEED="0")
    procs = {}
    for name in SCRIPTS:
        procs[name] = subprocess.Popen([sys.executable, str(EXAMPLES / name)], cwd=tmp_path_factory.mktemp("run"),
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    results = {}
    try:
        for name, proc in procs.items():
            out, _ = proc.communicate(timeout=TIMEOUT_S)
            results[name] = (proc.returncode, out)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return results


def _floats(line):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", line)]


def _line(out, prefix):
    found = [line for line in out.splitlines() if line.startswith(prefix)]
    assert found, f"no line starting {prefix!r} in:\n{out[-3000:]}"
    return found[-1][len(prefix):]


def test_weather_forecasting_trains_checkpoints_and_predicts(runs):
    code, out = runs["keras_io_weather.py"]
    assert code == 0, out[-3000:]
    assert "Input shape: (256, 20, 7)" in out
    loss = _floats(_line(out, "Training loss:"))
    val_loss = _floats(_line(out, "Validation loss:"))
    assert len(loss) == len(val_loss) == 2 and np.all(np.isfinite(loss + val_loss))
    assert loss[1] < loss[0]
    assert "val_loss improved from inf" in out  # ModelCheckpoint(save_best_only=True, verbose=1)
    assert _line(out, "checkpoint saved:").strip() == "True"
    assert out.count("Single Step Prediction:") >= 1


def test_bidirectional_lstm_imdb_trains_with_validation(runs):
    code, out = runs["keras_io_imdb_bidirectional.py"]
    assert code == 0, out[-3000:]
    history = ast.literal_eval(_line(out, "history:").strip())  # a dict of lists of floats
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in history.values())
    assert history["loss"][1] < history["loss"][0]


def test_char_generation_trains_and_samples_text(runs):
    code, out = runs["keras_io_char_generation.py"]
    assert code == 0, out[-3000:]
    losses = _floats(_line(out, "losses:"))
    assert len(losses) == 2 and np.all(np.isfinite(losses)) and losses[1] < losses[0]
    assert out.count("----- diversity:") == 8
    # each generation line is the 20-character seed followed by 40 sampled characters
    seeded = [line for line in out.splitlines() if line.startswith("----- Generating with seed:")]
    assert len(seeded) == 8


def test_cnn_lstm_sentiment_trains_and_evaluates(runs):
    code, out = runs["keras_cnn_lstm_imdb.py"]
    assert code == 0, out[-3000:]
    assert "x_train shape: (1500, 100)" in out
    history = ast.literal_eval(_line(out, "history:").strip())
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history["loss"][1] < history["loss"][0]
    # the labels are marked by 3-7 tokens in each review: a model that learned anything separates them
    assert _floats(_line(out, "Test accuracy:"))[0] > 0.8


def test_conv1d_forecaster_beats_repeating_the_last_value(runs):
    code, out = runs["keras_conv1d_forecaster.py"]
    assert code == 0, out[-3000:]
    losses = _floats(_line(out, "losses:"))
    assert len(losses) == 10 and losses[-1] < losses[0]
    assert _floats(_line(out, "validation MAE of the forecast:"))[0] < \
        _floats(_line(out, "validation MAE of repeating the last value:"))[0]
