"""fit / evaluate / callbacks / progress bar: behaviour stated by Keras's documentation."""

import io
import re

import numpy as np
import pytest

from rnnkit import callbacks, optimizers
from rnnkit.callbacks import EarlyStopping, LambdaCallback, ModelCheckpoint, Progbar
from rnnkit.layers import Dense, SimpleRNN
from rnnkit.models import Sequential, load_model
from rnnkit.utils import set_random_seed


def regression_data(n=64, T=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, T, 1)).astype("float32")
    return x, x.sum(axis=1) / T  # the mean of the sequence


def small_model(seed=0, **compile_kwargs):
    set_random_seed(seed)
    model = Sequential([SimpleRNN(8, input_shape=(6, 1)), Dense(1)])
    model.compile(**({"optimizer": "adam", "loss": "mse"} | compile_kwargs))
    return model


def test_a_simple_rnn_learns_the_sequence_mean():
    # Stated in advance: MSE of predicting 0 is Var(mean of 6 U(-1,1)) = 1/18 ~ 0.056;
    # the RNN must get below 0.002 within 60 epochs.
    x, y = regression_data(256)
    model = small_model(optimizer=optimizers.Adam(0.01))
    history = model.fit(x, y, epochs=60, batch_size=32, verbose=0)
    assert history.history["loss"][0] > 0.01
    assert history.history["loss"][-1] < 0.002
    assert model.evaluate(x, y, verbose=0) < 0.002


def test_fit_is_reproducible_with_a_seed():
    x, y = regression_data()
    first = small_model(seed=5).fit(x, y, epochs=3, verbose=0).history["loss"]
    second = small_model(seed=5).fit(x, y, epochs=3, verbose=0).history["loss"]
    third = small_model(seed=6).fit(x, y, epochs=3, verbose=0).history["loss"]
    assert first == second and first != third


def test_history_epochs_and_initial_epoch():
    x, y = regression_data()
    history = small_model().fit(x, y, epochs=5, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3, 4] and len(history.history["loss"]) == 3


def test_validation_split_takes_the_last_samples():
    x, y = regression_data(50)
    model = small_model()
    history = model.fit(x, y, epochs=1, validation_split=0.2, shuffle=False, verbose=0)
    # Keras: the last int(50 * 0.2) = 10 samples, taken before shuffling, are not trained on.
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(x[40:], y[40:], verbose=0), rel=1e-6)


def test_validation_data_and_metrics_in_logs():
    x, y = regression_data()
    model = small_model(metrics=["mae"])
    history = model.fit(x, y, epochs=2, validation_data=(x[:8], y[:8]), verbose=0)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    loss, mae = model.evaluate(x[:8], y[:8], verbose=0)
    assert history.history["val_mae"][-1] == pytest.approx(mae, rel=1e-6)
    assert mae == pytest.approx(float(np.mean(np.abs(model.predict(x[:8], verbose=0) - y[:8]))), rel=1e-5)


@pytest.mark.parametrize("loss,units,targets,expected", [
    ("binary_crossentropy", 1, "binary", "binary"),
    ("categorical_crossentropy", 3, "onehot", "categorical"),
    ("sparse_categorical_crossentropy", 3, "sparse", "categorical"),
    ("mse", 1, "binary", "binary"),
])
def test_accuracy_is_chosen_as_keras_does(loss, units, targets, expected):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6, 1)).astype("float32")
    labels = rng.integers(0, units if units > 1 else 2, size=40)
    y = {"binary": labels[:, None].astype("float32"), "onehot": np.eye(3)[labels],
         "sparse": labels}[targets]
    model = Sequential([SimpleRNN(4, input_shape=(6, 1)),
                        Dense(units, activation="sigmoid" if units == 1 else "softmax")])
    model.compile("sgd", loss, metrics=["accuracy"])
    _, accuracy = model.evaluate(x, y, verbose=0)
    p = model.predict(x, verbose=0)
    manual = np.mean((p[:, 0] > 0.5) == labels) if expected == "binary" else np.mean(p.argmax(-1) == labels)
    assert accuracy == pytest.approx(manual)


def test_progbar_line_formats():
    stream = io.StringIO()
    bar = Progbar(32, stream=stream)
    for step in range(1, 33):
        bar.update(step, [("loss", 0.12345), ("accuracy", 0.0001)])
    line = stream.getvalue()
    assert re.fullmatch(r"32/32 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: 0\.1235 - accuracy: 1\.0000e-04\n", line), line
    stream = io.StringIO()
    Progbar(3, verbose=2, stream=stream).update(3, [("loss", 2.0)])
    assert re.fullmatch(r"3/3 - \d+s - loss: 2\.0000 - \d+(us|ms|s)/epoch - \d+(us|ms|s)/step\n", stream.getvalue())


def test_progbar_partial_bar_shape():
    assert Progbar(10)._bar(3) == " 3/10 [========>.....................]"
    assert Progbar(10)._bar(10) == "10/10 [==============================]"


def test_fit_prints_epochs_and_bars(capsys):
    x, y = regression_data(40)
    small_model(metrics=["mae"]).fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert re.fullmatch(r"2/2 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: \S+ - mae: \S+ - val_loss: \S+ - val_mae: \S+",
                        lines[1]), lines[1]
    small_model().fit(x, y, epochs=1, verbose=2)
    assert re.fullmatch(r"2/2 - \d+s - loss: \S+ - \S+/epoch - \S+/step\n", capsys.readouterr().out)  # 40 samples, batch 32
    small_model().fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""


def test_early_stopping_counts_patience_and_restores_best():
    x, y = regression_data()
    model = small_model()
    snapshots = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    # min_delta larger than any possible change: only the first epoch counts as an improvement.
    stopper = EarlyStopping(monitor="loss", min_delta=1e9, patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=20, callbacks=[record, stopper], verbose=0)
    assert history.epoch == [0, 1, 2] and stopper.stopped_epoch == 2
    for best, now in zip(snapshots[0], model.get_weights()):
        np.testing.assert_array_equal(best, now)


def test_model_checkpoint_saves_each_epoch_and_best_only(tmp_path):
    x, y = regression_data()
    model = small_model()
    every = ModelCheckpoint(str(tmp_path / "w-{epoch:02d}.npz"), save_weights_only=True)
    best = ModelCheckpoint(str(tmp_path / "best.npz"), monitor="loss", save_best_only=True)
    history = model.fit(x, y, epochs=3, callbacks=[every, best], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "w-01.npz", "w-02.npz", "w-03.npz"]
    restored = load_model(tmp_path / "best.npz")
    assert restored.evaluate(x, y, verbose=0) == pytest.approx(min(history.history["loss"]), rel=0.5)
    fresh = small_model(seed=9)
    fresh.load_weights(tmp_path / "w-03.npz")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_lambda_callback_hooks_are_called():
    x, y = regression_data(40)
    calls = {"epoch": 0, "batch": 0, "begin": 0}
    hooks = LambdaCallback(on_epoch_end=lambda e, l: calls.__setitem__("epoch", calls["epoch"] + 1),
                           on_train_batch_end=lambda b, l: calls.__setitem__("batch", calls["batch"] + 1),
                           on_train_begin=lambda l: calls.__setitem__("begin", calls["begin"] + 1))
    small_model().fit(x, y, epochs=3, batch_size=16, callbacks=[hooks], verbose=0)
    assert calls == {"epoch": 3, "batch": 9, "begin": 1}


def test_custom_callback_can_stop_training():
    class StopAfterTwo(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True
    x, y = regression_data()
    assert small_model().fit(x, y, epochs=10, callbacks=[StopAfterTwo()], verbose=0).epoch == [0, 1]


def test_diverging_loss_stops_and_keeps_finite_weights(capsys):
    x, y = regression_data()
    model = Sequential([SimpleRNN(8, activation="linear", input_shape=(6, 1)), Dense(1)])
    model.compile(optimizers.SGD(learning_rate=1e4), "mse")
    history = model.fit(x, y, epochs=50, batch_size=8, verbose=0)
    assert len(history.epoch) < 50
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert "training stopped" in capsys.readouterr().err


def test_train_on_batch_and_test_on_batch_return_keras_forms():
    x, y = regression_data(16)
    model = small_model(metrics=["mae"])
    loss, mae = model.test_on_batch(x, y)
    assert model.train_on_batch(x, y)[0] == pytest.approx(loss)  # the loss before the update
    assert model.test_on_batch(x, y)[0] < loss
    assert set(model.train_on_batch(x, y, return_dict=True)) == {"loss", "mae"}
    assert model.predict_on_batch(x).shape == (16, 1)
