"""ReduceLROnPlateau, LearningRateScheduler, CSVLogger, BackupAndRestore, RemoteMonitor: each
against a sequence worked out by hand from Keras 2's rules, or against an uninterrupted run."""

import csv
import os
import types

import numpy as np
import pytest

from rnnkit import callbacks, optimizers
from rnnkit.layers import Dense, SimpleRNN
from rnnkit.models import Sequential
from rnnkit.utils import set_random_seed


def data(n=24):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4, 2)).astype("float32")
    return x, x.mean(axis=(1, 2))[:, None]


def model(optimizer=None, seed=0):
    set_random_seed(seed)
    m = Sequential([SimpleRNN(3, input_shape=(4, 2)), Dense(1)])
    m.compile(optimizer or optimizers.Adam(0.01), "mse", metrics=["mae"])
    return m


def test_reduce_lr_on_plateau_follows_keras_rules():
    stub = types.SimpleNamespace(optimizer=optimizers.SGD(1.0), stop_training=False)
    cb = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1, min_delta=0.01)
    cb.set_model(stub)
    cb.on_train_begin()
    logged = []
    for epoch, value in enumerate([1.0, 0.9, 0.95, 0.95, 0.95, 0.5, 0.6, 0.6]):
        logs = {"val_loss": value}
        cb.on_epoch_end(epoch, logs)
        logged.append(logs["lr"])
    # e0, e1 improve; e2, e3 wait 1, 2 -> halve at e3 (logs hold the rate before); e4 cooldown then
    # wait 1; e5 improves; e6, e7 wait 1, 2 -> halve again.
    assert logged == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    assert stub.optimizer.learning_rate == 0.25
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.5)


def test_reduce_lr_respects_min_lr_and_changes_training():
    x, y = data()
    m = model(optimizers.SGD(0.1))
    history = m.fit(x, y, epochs=4, verbose=0, callbacks=[
        callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.1, min_delta=10.0, min_lr=0.005)])
    # min_delta 10: no epoch counts as an improvement after the first, so every later epoch reduces.
    assert history.history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.005])
    assert m.optimizer.learning_rate == pytest.approx(0.005)


def test_learning_rate_scheduler_sets_each_epoch():
    x, y = data()
    m = model(optimizers.SGD(0.5))
    seen = []
    probe = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(m.optimizer.learning_rate))
    history = m.fit(x, y, epochs=3, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr), probe])
    assert seen == [0.5, 0.25, 0.125] and history.history["lr"] == [0.5, 0.25, 0.125]
    history = m.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e: 0.01 * (e + 1))])
    assert history.history["lr"] == [0.01, 0.02]
    with pytest.raises(ValueError, match="should be a finite float"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e: 1)])


def test_csv_logger_writes_keras_rows_and_appends(tmp_path):
    x, y = data()
    path = tmp_path / "log.csv"
    m = model()
    history = m.fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1]
    assert float(rows[2][1]) == history.history["loss"][1]
    m.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, separator=";", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0;")


class Interrupt(callbacks.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_backup_and_restore_resumes_where_it_stopped(tmp_path):
    x, y = data()
    folder = tmp_path / "backup"
    straight = model()
    full = straight.fit(x, y, epochs=5, shuffle=False, verbose=0)

    first = model()
    with pytest.raises(KeyboardInterrupt):
        first.fit(x, y, epochs=5, shuffle=False, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(folder), Interrupt(3)])
    assert sorted(os.listdir(folder)) == ["state.json", "weights-3.npz"]
    resumed = model(seed=7)                      # other initial weights: the backup replaces them
    history = resumed.fit(x, y, epochs=5, shuffle=False, verbose=0, callbacks=[callbacks.BackupAndRestore(folder)])
    assert history.epoch == [3, 4]
    np.testing.assert_allclose(history.history["loss"], full.history["loss"][3:], rtol=1e-6)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert resumed.optimizer.iterations == straight.optimizer.iterations
    assert not folder.exists()                   # cleared after a normal end


def test_backup_refuses_a_damaged_state(tmp_path):
    x, y = data()
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "state.json").write_text('{"epoch": "x"}')
    with pytest.raises(ValueError, match="state.json.*Received"):
        model().fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.BackupAndRestore(folder)])


def test_remote_monitor_is_refused():
    with pytest.raises(ValueError, match="network.*Received"):
        callbacks.RemoteMonitor()


def test_callbacks_receive_keras_logs():
    x, y = data()
    batch_logs, epoch_logs, test_logs = [], [], []
    cb = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batch_logs.append(dict(logs)),
                                  on_epoch_end=lambda e, logs: epoch_logs.append(dict(logs)))

    class Test(callbacks.Callback):
        def on_test_end(self, logs=None):
            test_logs.append(dict(logs))
    m = model()
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb], validation_split=0.25)
    assert len(batch_logs) == 3 and set(batch_logs[0]) == {"loss", "mae"}
    assert set(epoch_logs[0]) == {"loss", "mae", "val_loss", "val_mae"}
    m.evaluate(x, y, verbose=0, callbacks=[Test()])
    assert set(test_logs[0]) == {"loss", "mae"}


def test_model_checkpoint_every_n_batches(tmp_path):
    x, y = data()
    m = model()
    m.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch}-{batch}.npz"), save_weights_only=True, save_freq=2)])
    # 3 batches per epoch, 6 in all: saved after batches 2, 4, 6 counted across epochs.
    assert sorted(os.listdir(tmp_path)) == ["w-1-2.npz", "w-2-1.npz", "w-2-3.npz"]
    with pytest.raises(ValueError, match="`save_freq`"):
        callbacks.ModelCheckpoint("w.npz", save_freq=0)


@pytest.mark.parametrize("filepath,weights_only", [("ckpt/model.ckpt", True), ("model-{epoch:02d}", False),
                                                   ("best.keras", True)])
def test_model_checkpoint_refuses_a_file_kind_it_cannot_write_when_made(filepath, weights_only):
    # before fit, not after an epoch's work (a .keras archive holds the model, not only weights)
    with pytest.raises(ValueError, match="`filepath` of ModelCheckpoint must end in.*Received: filepath="):
        callbacks.ModelCheckpoint(filepath, save_weights_only=weights_only)
    callbacks.ModelCheckpoint(filepath.rsplit(".", 1)[0] + (".weights.h5" if weights_only else ".keras"),
                              save_weights_only=weights_only)


def test_verbose_2_with_an_unknown_length_prints_the_count(capsys):
    x, y = data()

    class Unsized:
        def __iter__(self):
            return ((x[i:i + 8], y[i:i + 8]) for i in range(0, 24, 8))
    model().fit(Unsized(), epochs=2, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("3/3")]
    assert len(lines) == 2


def test_history_answers_both_eras_names_of_accuracy():
    # Keras 2.0-2.2 logged metrics=['accuracy'] as 'acc' / 'val_acc' (lstm_benchmark.py reads
    # history['val_acc']); Keras 2.3+ and rnnkit log 'accuracy'. Each name reads the same list,
    # and nothing is listed twice.
    x, y = np.random.default_rng(0).normal(size=(16, 4, 2)), np.random.default_rng(1).integers(0, 2, (16, 1))
    m = Sequential([SimpleRNN(3, input_shape=(4, 2)), Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = m.fit(x, y, epochs=2, verbose=0, validation_split=0.25).history
    assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history["acc"] is history["accuracy"] and history.get("val_acc") is history["val_accuracy"]
    assert len(history["val_acc"]) == 2 and history.get("val_mae", "none") == "none"
    with pytest.raises(KeyError):
        history["mae"]
