"""Issue 10, runtime part: careless arguments to fit/predict/evaluate/__call__/the *_on_batch
calls, weights and optimizers raise a clear error (the argument's name, 'Received') before
anything changes: the weights and a stateful model's states are as they were."""

import warnings

import numpy as np
import pytest

from rnnkit import callbacks, optimizers
from rnnkit.layers import LSTM, Bidirectional, Dense, Embedding, SimpleRNN
from rnnkit.models import Sequential
from rnnkit.utils import set_random_seed

X = np.random.default_rng(0).normal(size=(10, 5, 2)).astype("float32")
Y = np.random.default_rng(1).normal(size=(10, 1))
BIG = 1e39          # finite in float64, beyond float32's 3.4e38


def model_and_snapshot(stateful=False):
    set_random_seed(0)
    if stateful:
        model = Sequential([LSTM(4, stateful=True, batch_input_shape=(4, 5, 2)), Dense(1)])
    else:
        model = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(1)])
    model.compile("adam", "mse")
    return model, snapshot(model)


def snapshot(model):
    states = [s.copy() for layer in model.layers for s in (getattr(layer, "states", None) or [])]
    return model.get_weights(), states, model.optimizer.iterations


def assert_refused(model, before, call, error, argument):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert argument in message and "Received" in message, message
    weights, states, iterations = snapshot(model)
    assert iterations == before[2]
    for old, new in zip(before[0] + before[1], weights + states):
        np.testing.assert_array_equal(old, new)
    return message


ALL_CALLS = {
    "fit": lambda m, x, y: m.fit(x, y, verbose=0),
    "train_on_batch": lambda m, x, y: m.train_on_batch(x, y),
    "evaluate": lambda m, x, y: m.evaluate(x, y, verbose=0),
    "test_on_batch": lambda m, x, y: m.test_on_batch(x, y),
}
X_ONLY_CALLS = {
    "predict": lambda m, x: m.predict(x, verbose=0),
    "predict_on_batch": lambda m, x: m.predict_on_batch(x),
    "__call__": lambda m, x: m(x),
}


# ---- 3. non-real and ragged data ----------------------------------------------------------------
@pytest.mark.parametrize("bad_x,kind", [
    (X + 1j, "complex"), (X.astype(object), "objects"), (np.full((10, 5, 2), "a"), "strings")])
def test_non_real_x_is_refused_everywhere(bad_x, kind):
    model, before = model_and_snapshot()
    for call in ALL_CALLS.values():
        message = assert_refused(model, before, lambda: call(model, bad_x, Y), TypeError, "`x`")
        assert kind in message
    for call in X_ONLY_CALLS.values():
        assert_refused(model, before, lambda: call(model, bad_x), TypeError, "`x`")


def test_complex_input_to_a_layer_is_refused_before_it_builds():
    layer = LSTM(3)
    with pytest.raises(TypeError, match="`x`.*real numbers.*Received: an array of complex"):
        layer(X + 1j)
    assert not layer.built


@pytest.mark.parametrize("bad_y,error", [
    (Y + 1j, TypeError), (np.array(["a"] * 10), TypeError), (np.array([object()] * 10), TypeError),
    ([[1.0]] * 9 + [[1.0, 2.0]], ValueError), (None, ValueError), (3.0, ValueError)])
def test_bad_targets_are_refused_everywhere(bad_y, error):
    model, before = model_and_snapshot()
    for call in ALL_CALLS.values():
        assert_refused(model, before, lambda: call(model, X, bad_y), error, "`y`")


def test_ragged_x_names_the_lengths():
    model, before = model_and_snapshot()
    ragged = [np.zeros((5, 2))] * 9 + [np.zeros((4, 2))]
    for call in ALL_CALLS.values():
        message = assert_refused(model, before, lambda: call(model, ragged, Y), ValueError, "`x`")
        assert "rectangular" in message and "[4, 5]" in message


def test_validation_data_is_checked_like_x_and_y():
    model, before = model_and_snapshot()
    assert_refused(model, before, lambda: model.fit(X, Y, verbose=0, validation_data=(X + 1j, Y)),
                   TypeError, "`validation_data[0]`")
    assert_refused(model, before, lambda: model.fit(X, Y, verbose=0, validation_data=(X, ["a"] * 10)),
                   TypeError, "`validation_data[1]`")
    assert_refused(model, before, lambda: model.fit(X, Y, verbose=0, validation_data=(X[:3, :4], Y[:3])),
                   ValueError, "`validation_data[0]`")
    assert_refused(model, before, lambda: model.fit(X, Y, verbose=0, validation_data=(X, Y, Y, Y)),
                   ValueError, "`validation_data`")


# ---- 2. values that overflow the cast ---------------------------------------------------------------
def test_inputs_that_overflow_float32_are_refused():
    model, before = model_and_snapshot()
    big = X.astype("float64")
    big[2, 3, 1] = BIG
    for call in ALL_CALLS.values():
        assert_refused(model, before, lambda: call(model, big, Y), ValueError, "`x`")
    for call in X_ONLY_CALLS.values():
        message = assert_refused(model, before, lambda: call(model, big), ValueError, "`x`")
        assert "float32" in message and "inf" in message
    big_y = Y.copy()
    big_y[4] = -BIG
    for call in ALL_CALLS.values():
        assert_refused(model, before, lambda: call(model, X, big_y), ValueError, "`y`")


def test_float64_inputs_within_range_still_run_like_float32():
    model, _ = model_and_snapshot()
    np.testing.assert_array_equal(model.predict(X.astype("float64"), verbose=0), model.predict(X, verbose=0))


def test_set_weights_checks_after_the_cast():
    model, before = model_and_snapshot()
    weights = [w.astype("float64") for w in model.get_weights()]
    weights[-1][0] = BIG
    assert_refused(model, before, lambda: model.set_weights(weights), ValueError, "`bias`")
    layer_weights = [w.astype("float64") for w in model.layers[0].get_weights()]
    layer_weights[1][0, 0] = BIG
    assert_refused(model, before, lambda: model.layers[0].set_weights(layer_weights), ValueError,
                   "`recurrent_kernel`")
    complex_weights = [w + 1j for w in model.get_weights()]
    assert_refused(model, before, lambda: model.set_weights(complex_weights), TypeError, "`kernel`")


def test_embedding_and_bidirectional_weights_check_after_the_cast():
    set_random_seed(0)
    model = Sequential([Embedding(7, 3, input_length=4), Bidirectional(LSTM(2))])
    model.compile("sgd", "mse")
    before = snapshot(model)
    for index in (0, 4):     # the embeddings; the backward LSTM's kernel
        weights = [w.astype("float64") for w in model.get_weights()]
        weights[index].flat[0] = BIG
        assert_refused(model, before, lambda: model.set_weights(weights), ValueError, "Received")


def test_initial_and_reset_states_check_after_the_cast():
    set_random_seed(0)
    layer = LSTM(3, stateful=True, batch_input_shape=(2, 4, 1))
    Sequential([layer])
    with pytest.raises(ValueError, match="`states`.*float32.*Received"):
        layer.reset_states([np.full((2, 3), BIG), np.zeros((2, 3))])
    np.testing.assert_array_equal(layer.states[0], np.zeros((2, 3)))
    with pytest.raises(TypeError, match="`initial_state`.*Received"):
        LSTM(3)(np.zeros((2, 4, 1)), initial_state=[np.zeros((2, 3)) + 1j, np.zeros((2, 3))])


# ---- 4. stateful models: everything checked before the first step ----------------------------------
@pytest.mark.parametrize("call,argument", [
    (lambda m: m.fit(np.ones((10, 5, 2)), np.ones((10, 1)), batch_size=4, verbose=0), "`x`"),
    (lambda m: m.fit(np.ones((10, 5, 2)), np.ones((10, 1)), verbose=0), "`x`"),
    (lambda m: m.fit(np.ones((8, 5, 2)), np.ones((8, 1)), batch_size=2, verbose=0), "`batch_size`"),
    (lambda m: m.fit(np.ones((12, 5, 2)), np.ones((12, 1)), validation_split=0.5, verbose=0), "`validation_split`"),
    (lambda m: m.fit(np.ones((8, 5, 2)), np.ones((8, 1)), validation_data=(np.ones((6, 5, 2)), np.ones((6, 1))),
                     verbose=0), "`validation_data`"),
    (lambda m: m.fit(np.ones((8, 5, 2)), np.ones((8, 1)), validation_data=(np.ones((8, 5, 2)), np.ones((8, 1))),
                     validation_batch_size=3, verbose=0), "`validation_batch_size`"),
    (lambda m: m.predict(np.ones((10, 5, 2)), batch_size=4, verbose=0), "`x`"),
    (lambda m: m.evaluate(np.ones((10, 5, 2)), np.ones((10, 1)), verbose=0), "`x`"),
    (lambda m: m.train_on_batch(np.ones((3, 5, 2)), np.ones((3, 1))), "`x`"),
    (lambda m: m.predict_on_batch(np.ones((5, 5, 2))), "`x`"),
])
def test_stateful_remainders_are_refused_before_any_step(call, argument):
    model, _ = model_and_snapshot(stateful=True)
    model.predict(np.ones((4, 5, 2)), verbose=0)      # states that are not zeros, to see them kept
    before = snapshot(model)
    assert any(np.any(s) for s in before[1])
    assert_refused(model, before, lambda: call(model), ValueError, argument)


def test_stateful_fit_takes_the_models_batch_size_by_default():
    model, before = model_and_snapshot(stateful=True)
    history = model.fit(np.ones((8, 5, 2)), np.ones((8, 1)), epochs=1, verbose=0)
    assert history.history["loss"] and model.optimizer.iterations == 2      # 8 samples / batch 4


# ---- 5. callbacks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [5, "History", [5], [callbacks.History(), print]])
def test_callbacks_must_be_a_list_of_callbacks(bad):
    model, before = model_and_snapshot()
    for call in (lambda: model.fit(X, Y, verbose=0, callbacks=bad),
                 lambda: model.evaluate(X, Y, verbose=0, callbacks=bad),
                 lambda: model.predict(X, verbose=0, callbacks=bad)):
        assert_refused(model, before, call, TypeError, "`callbacks`")


def test_one_bare_callback_counts_as_a_list_of_one():
    # Keras 2 and 3 both take `callbacks=early_stopping`; real programs pass one that way.
    model, _ = model_and_snapshot()
    seen = []
    recorder = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(("epoch", epoch)),
                                        on_test_end=lambda logs: seen.append("test"),
                                        on_predict_end=lambda logs: seen.append("predict"))
    model.fit(X, Y, epochs=3, verbose=0, callbacks=recorder)
    model.evaluate(X, Y, verbose=0, callbacks=recorder)
    model.predict(X, verbose=0, callbacks=recorder)
    assert seen == [("epoch", 0), ("epoch", 1), ("epoch", 2), "test", "predict"]

    stopper = callbacks.EarlyStopping(monitor="loss", min_delta=1e9, patience=0)  # nothing improves by 1e9
    history = model.fit(X, Y, epochs=5, verbose=0, callbacks=stopper)
    assert len(history.history["loss"]) == 2 and stopper.stopped_epoch == 1


@pytest.mark.parametrize("filepath", ["ck-{", "ck-{}.npz", "ck-{0}.npz", "ck-{epoch:q}.npz",
                                      "ck-{loss:02d}.npz", "ck-{loss[0]}.npz"])
def test_model_checkpoint_checks_its_pattern_at_construction(filepath):
    with pytest.raises(ValueError, match="`filepath`.*Received: "):
        callbacks.ModelCheckpoint(filepath)


def test_model_checkpoint_field_that_fit_never_logs_is_refused_before_training(tmp_path):
    model, before = model_and_snapshot()
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch:02d}-{bogus}.npz"))
    message = assert_refused(model, before, lambda: model.fit(X, Y, epochs=2, verbose=0, callbacks=[checkpoint]),
                             ValueError, "`filepath`")
    assert "'bogus'" in message and "'loss'" in message
    assert list(tmp_path.iterdir()) == []
    # A field fit does log is fine, and only a validation run logs val_loss.
    model.fit(X, Y, epochs=1, verbose=0, validation_split=0.2,
              callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "ck-{epoch}-{val_loss:.3f}.npz"))])
    assert len(list(tmp_path.iterdir())) == 1


def test_model_checkpoint_outside_fit_names_the_missing_key_before_writing(tmp_path):
    model, _ = model_and_snapshot()
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "ck-{val_loss:.2f}.npz"))
    checkpoint.set_model(model)
    with pytest.raises(ValueError, match=r"\['val_loss'\].*available: \['epoch'\] \+ \['loss'\].*Received"):
        checkpoint.on_epoch_end(0, {"loss": 0.5})
    assert list(tmp_path.iterdir()) == []


def test_save_best_only_without_the_monitored_value_warns_like_keras(tmp_path):
    model, _ = model_and_snapshot()
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "best.npz"), save_best_only=True)   # monitors val_loss
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available, skipping."):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[checkpoint])
    assert list(tmp_path.iterdir()) == []


def test_early_stopping_without_its_monitor_warns_like_keras():
    model, _ = model_and_snapshot()
    with pytest.warns(UserWarning, match="Early stopping conditioned on metric `val_loss` which is not "
                                         "available. Available metrics are: loss"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.EarlyStopping()])


# ---- 6. optimizers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("make,argument,error", [
    (lambda: optimizers.Adam(beta_1=1.0), "beta_1", ValueError),
    (lambda: optimizers.Adam(beta_2=1.0), "beta_2", ValueError),
    (lambda: optimizers.Adam(beta_1=-0.1), "beta_1", ValueError),
    (lambda: optimizers.Adam(epsilon=0.0), "epsilon", ValueError),
    (lambda: optimizers.Adam(epsilon=float("nan")), "epsilon", ValueError),
    (lambda: optimizers.Adam(learning_rate=float("inf")), "learning_rate", ValueError),
    (lambda: optimizers.Adam(learning_rate=-0.01), "learning_rate", ValueError),
    (lambda: optimizers.Adam(learning_rate="0.01"), "learning_rate", TypeError),
    (lambda: optimizers.Adam(learning_rate=None), "learning_rate", TypeError),
    (lambda: optimizers.RMSprop(rho=1.0), "rho", ValueError),
    (lambda: optimizers.RMSprop(momentum=1.5), "momentum", ValueError),
    (lambda: optimizers.RMSprop(epsilon=-1e-7), "epsilon", ValueError),
    (lambda: optimizers.SGD(momentum=-0.5), "momentum", ValueError),
    (lambda: optimizers.SGD(momentum=True), "momentum", TypeError),
    (lambda: optimizers.Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value", ValueError),
    (lambda: optimizers.Adagrad(initial_accumulator_value=0.0, epsilon=0.0), "initial_accumulator_value", ValueError),
    (lambda: optimizers.SGD(clipnorm=0.0), "clipnorm", ValueError),
    (lambda: optimizers.SGD(clipvalue=-1.0), "clipvalue", ValueError),
    (lambda: optimizers.SGD(global_clipnorm=float("inf")), "global_clipnorm", ValueError),
    (lambda: optimizers.SGD(clipnorm=1.0, clipvalue=1.0), "clipvalue", ValueError),
    (lambda: optimizers.SGD(clipvalue=1.0, global_clipnorm=1.0), "global_clipnorm", ValueError),
])
def test_optimizer_hyper_parameters_are_checked_at_construction(make, argument, error):
    with pytest.raises(error) as info:
        make()
    assert f"`{argument}`" in str(info.value) and "Received" in str(info.value)


def test_optimizer_edges_that_are_valid():
    for optimizer in (optimizers.Adam(learning_rate=0.0, beta_1=0.0, beta_2=0.0), optimizers.SGD(momentum=1.0),
                      optimizers.RMSprop(rho=0.0, momentum=1.0), optimizers.Adagrad(initial_accumulator_value=0.0)):
        model, _ = model_and_snapshot()
        model.compile(optimizer, "mse")
        with warnings.catch_warnings():
            warnings.simplefilter("error")            # no overflow, no 0/0
            model.fit(X, Y, epochs=1, verbose=0)
        assert all(np.isfinite(w).all() for w in model.get_weights())


# ---- 7. other careless arguments ---------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,error,argument", [
    ({"batch_size": 0}, ValueError, "`batch_size`"),
    ({"batch_size": 2.5}, ValueError, "`batch_size`"),
    ({"batch_size": True}, ValueError, "`batch_size`"),
    ({"epochs": -1}, ValueError, "`epochs`"),
    ({"epochs": "3"}, ValueError, "`epochs`"),
    ({"initial_epoch": -1}, ValueError, "`initial_epoch`"),
    ({"validation_split": 1.5}, ValueError, "`validation_split`"),
    ({"validation_split": "0.1"}, ValueError, "`validation_split`"),
    ({"validation_split": 0.95}, ValueError, "`validation_split`"),
    ({"verbose": "x"}, ValueError, "`verbose`"),
    ({"verbose": 1.5}, ValueError, "`verbose`"),
    ({"shuffle": "x"}, ValueError, "`shuffle`"),
    ({"validation_split": 0.2, "validation_freq": 0}, ValueError, "`validation_freq`"),
    ({"validation_split": 0.2, "validation_batch_size": 0}, ValueError, "`validation_batch_size`"),
    ({"sample_weight": [[1], [1, 2]]}, ValueError, "`sample_weight`"),
    ({"class_weight": {1: 1.0}}, ValueError, "`class_weight`"),
    ({"class_weight": {0: 1.0}}, ValueError, "`class_weight`"),
    ({"steps_per_epoch": 0}, ValueError, "`steps_per_epoch`"),
    ({"sample_weight": np.ones(3)}, ValueError, "`sample_weight`"),
])
def test_bad_fit_arguments_change_nothing(kwargs, error, argument):
    model, before = model_and_snapshot()
    assert_refused(model, before, lambda: model.fit(X, Y, **kwargs), error, argument)


@pytest.mark.parametrize("x", [None, "abc", {"x": X}, np.float32(1.0), np.zeros((0, 5, 2)),
                               np.zeros((10, 5)), np.zeros((10, 5, 3))])
def test_bad_x_changes_nothing(x):
    model, before = model_and_snapshot()
    for call in ALL_CALLS.values():
        with pytest.raises((TypeError, ValueError)) as info:
            call(model, x, Y[:len(x)] if isinstance(x, np.ndarray) and x.ndim else Y)
        assert "`x`" in str(info.value) and "Received" in str(info.value)
    for name in ("predict", "predict_on_batch", "__call__"):
        if name != "predict" and isinstance(x, np.ndarray) and x.ndim == 3 and len(x) == 0:
            continue            # one empty batch is a valid call, as in Keras
        with pytest.raises((TypeError, ValueError), match="`x`.*Received"):
            X_ONLY_CALLS[name](model, x)
    assert_refused(model, before, lambda: model.predict(x, verbose=0), (TypeError, ValueError), "`x`")


@pytest.mark.parametrize("kwargs,argument", [
    ({"batch_size": -1}, "`batch_size`"), ({"verbose": "loud"}, "`verbose`"), ({"steps": 0}, "`steps`")])
def test_bad_predict_and_evaluate_arguments(kwargs, argument):
    model, before = model_and_snapshot()
    assert_refused(model, before, lambda: model.predict(X, **kwargs), ValueError, argument)
    assert_refused(model, before, lambda: model.evaluate(X, Y, **kwargs), ValueError, argument)


def test_validation_freq_validates_only_on_the_epochs_asked():
    model, _ = model_and_snapshot()
    seen = []
    probe = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append("val_loss" in logs))
    model.fit(X, Y, epochs=4, verbose=0, validation_split=0.2, validation_freq=2, callbacks=[probe])
    assert seen == [False, True, False, True]
    seen.clear()
    model.fit(X, Y, epochs=3, verbose=0, validation_split=0.2, validation_freq=[1, 3], callbacks=[probe])
    assert seen == [True, False, True]


@pytest.mark.parametrize("make,error,argument", [
    (lambda: callbacks.EarlyStopping(monitor=5), TypeError, "`monitor`"),
    (lambda: callbacks.EarlyStopping(patience=-1), ValueError, "`patience`"),
    (lambda: callbacks.EarlyStopping(patience=1.5), ValueError, "`patience`"),
    (lambda: callbacks.EarlyStopping(min_delta="0.1"), ValueError, "`min_delta`"),
    (lambda: callbacks.EarlyStopping(baseline=float("nan")), ValueError, "`baseline`"),
    (lambda: callbacks.EarlyStopping(mode="best"), ValueError, "`mode`"),
    (lambda: callbacks.ModelCheckpoint("ck.npz", monitor=None), TypeError, "`monitor`"),
    (lambda: callbacks.ModelCheckpoint(5), TypeError, "`filepath`"),
    (lambda: callbacks.LambdaCallback(on_epoch_end=5), TypeError, "`on_epoch_end`"),
])
def test_callback_arguments_are_checked_at_construction(make, error, argument):
    with pytest.raises(error) as info:
        make()
    assert argument in str(info.value) and "Received" in str(info.value)


def test_embedding_input_errors_name_the_argument():
    set_random_seed(0)
    model = Sequential([Embedding(10, 4, mask_zero=True), LSTM(3)])
    model.compile("adam", "mse")
    before = snapshot(model)
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    assert_refused(model, before, lambda: model.predict(ids + 0.5, verbose=0), TypeError, "`x`")
    assert_refused(model, before, lambda: model.fit(ids + 20, np.zeros((2, 3)), verbose=0), ValueError, "`x`")
    assert_refused(model, before, lambda: model.predict(ids + 0j, verbose=0), TypeError, "`x`")


def test_a_complex_mask_is_refused():
    with pytest.raises(TypeError, match="`mask`.*Received"):
        LSTM(3)(np.zeros((2, 4, 2), "float32"), mask=np.ones((2, 4)) + 1j)
