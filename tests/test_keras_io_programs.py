"""Keras programs (four keras-io examples; Keras 2's imdb_cnn_lstm.py, lstm_stateful.py and
babi_memnn.py; Deep Learning with Python's notebook 6.3; the time-series course's Conv1D + LSTM
forecaster), ported with only their imports, data and sizes changed (see each script's docstring),
run as a user would run them: `python examples/<script>.py`.

They run at once, each in its own process (with one BLAS thread each: several processes with a
pool of threads each on two cores wait on one another), so the file takes about as long as the
slowest."""

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
           "keras_cnn_lstm_imdb.py", "keras_conv1d_forecaster.py", "keras_io_addition_rnn.py",
           "keras_lstm_stateful.py", "keras_babi_memnn.py", "dlwp_jena_gru.py"]
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
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


def test_addition_rnn_encodes_repeats_and_decodes_one_character_per_step(runs):
    code, out = runs["keras_io_addition_rnn.py"]
    assert code == 0, out[-3000:]
    assert "(540, 7, 12)\n(540, 4, 12)" in out and "(60, 7, 12)\n(60, 4, 12)" in out
    # LSTM(128) on 12 features, RepeatVector(4), LSTM(128), Dense(12) on each of the 4 steps
    assert " repeat_vector (RepeatVector  (None, 4, 128)" in out and "Total params: 205,324" in out
    losses = _floats(_line(out, "losses:"))
    assert len(losses) == 2 and losses[1] < losses[0]
    shown = [line for line in out.splitlines() if line.startswith("Q ")]
    assert len(shown) == 6
    for line in shown:  # the question read back, the true sum, and a 4-character guess
        question, rest = line[2:].split(" T ")
        a, b = question.split("+")
        assert rest[:4].strip() == str(int(a) + int(b)) and rest[5] in "\u2611\u2612" and len(rest) == 11


def test_stateful_lstm_sees_beyond_its_window_and_the_stateless_one_cannot(runs):
    code, out = runs["keras_lstm_stateful.py"]
    assert code == 0, out[-3000:]
    assert "x_train.shape:  (800, 1, 1)" in out and "x_test.shape:  (200, 1, 1)" in out
    assert out.count("800/800 [") == 4     # two stateful passes, two stateless epochs
    # Stated in advance: the target is (x_t + x_{t-1}) / 2 with x ~ U(-0.1, 0.1). Seeing x_t alone,
    # the best a stateless model can do is x_t / 2, leaving E[(x_{t-1} / 2)^2] = 0.1^2 / 12 =
    # 0.00083 (+- 0.00005 over 200 test points); the stateful one carries x_{t-1} in its state.
    stateful, stateless = _floats(_line(out, "Stateful test MSE:"))[0], _floats(_line(out, "Stateless test MSE:"))[0]
    assert stateless > 0.0006
    assert stateful < 0.0006 and stateful < stateless / 2


def test_memory_network_merges_nested_encoders_and_trains(runs):
    code, out = runs["keras_babi_memnn.py"]
    assert code == 0, out[-3000:]
    assert "inputs_train shape: (300, 36)" in out and "queries_train shape: (300, 4)" in out
    assert "Vocab size: 18 unique words" in out     # 4 names, 6 places, 7 other tokens, and 0 (padding)
    # tf_keras shows a nested Sequential's own output shape: (None, None, 64) for the story
    # encoder, whose Embedding holds 18 x 64 weights
    assert re.search(r"^ sequential \(Sequential\) +\(None, None, 64\) +1152 +\['input_1\[0\]\[0\]'\]", out, re.M)
    assert re.search(r"^ concatenate \(Concatenate\) +\(None, 4, 100\) +0 ", out, re.M)
    history = ast.literal_eval(_line(out, "history:").strip())
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history["loss"][1] < history["loss"][0]


def test_deep_learning_with_python_gru_forecasts_beat_the_naive_method(runs):
    code, out = runs["dlwp_jena_gru.py"]
    assert code == 0, out[-3000:]
    assert "fit_generator` is deprecated" in out      # Keras 2's warning, and the call still runs
    naive = _floats(_line(out, "naive MAE:"))[0]
    histories = [ast.literal_eval(line[len("history:"):].strip()) for line in out.splitlines()
                 if line.startswith("history:")]
    assert len(histories) == 4 and out.count("10/10 [") == 8
    for history in histories:
        assert len(history["loss"]) == len(history["val_loss"]) == 2
        # the series is a daily cycle: 4 hours ahead, a GRU that learned it beats "the same as now"
        assert history["val_loss"][1] < naive
