"""Keras 2's deprecated Model methods. fit_generator / evaluate_generator / predict_generator (Deep
Learning with Python's first edition trains every recurrent model with fit_generator): Keras 2's
rule, stated in advance, is that each is its array-free twin (fit / evaluate / predict on the
generator), with Keras 2's parameter order and defaults (fit_generator verbose=1; the other two
verbose=0), and a warning that names the method to use instead; the references here are the same
data given as arrays. Sequential's predict_classes / predict_proba (Keras 2.2's examples): the
argmax of several outputs, the 0.5 threshold of one, written out here."""

import warnings

import numpy as np
import pytest

from rnnkit import Input, Model, optimizers
from rnnkit.layers import GRU, Dense, SimpleRNN
from rnnkit.models import Sequential
from rnnkit.utils import set_random_seed


def data(n=24, T=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, T, 2)).astype("float32")
    return x, x.mean(axis=(1, 2))[:, None]


def sequential(seed=0):
    set_random_seed(seed)
    m = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(1)])
    m.compile(optimizers.SGD(0.1), "mse", metrics=["mae"])
    return m


def functional(seed=0):
    set_random_seed(seed)
    inputs = Input(shape=(5, 2))
    m = Model(inputs, Dense(1)(GRU(3)(inputs)))
    m.compile(optimizers.SGD(0.1), "mse")
    return m


class Endless:
    """DLwP's generators loop forever over fixed batches; this one counts what is drawn."""

    def __init__(self, x, y, size):
        self.x, self.y, self.size, self.drawn = x, y, size, 0

    def __iter__(self):
        return self

    def __next__(self):
        start = (self.drawn * self.size) % len(self.x)
        self.drawn += 1
        return self.x[start:start + self.size], self.y[start:start + self.size]


@pytest.mark.parametrize("build", [sequential, functional])
def test_fit_generator_trains_as_fit_on_the_same_batches_and_validates_on_a_generator(build):
    x, y = data()
    x_val, y_val = data(16, seed=1)
    by_arrays = build()
    reference = by_arrays.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                              validation_data=(x_val, y_val), validation_batch_size=8)
    by_generator = build()
    train, val = Endless(x, y, 8), Endless(x_val, y_val, 8)
    with pytest.warns(UserWarning, match=r"fit_generator` is deprecated.*Use `Model.fit`"):
        history = by_generator.fit_generator(train, steps_per_epoch=3, epochs=2, verbose=0,
                                             validation_data=val, validation_steps=2)
    assert history.history.keys() == reference.history.keys()
    for key in reference.history:
        np.testing.assert_allclose(history.history[key], reference.history[key], rtol=1e-6)
    for mine, theirs in zip(by_generator.get_weights(), by_arrays.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    # Keras 2 draws exactly steps_per_epoch (and validation_steps) batches per epoch
    assert (train.drawn, val.drawn) == (6, 4)


def test_keras_2_positional_order_and_its_options_are_taken():
    x, y = data()
    by_arrays = sequential()
    reference = by_arrays.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model, val = sequential(), Endless(*data(16, seed=1), 8)
    with pytest.warns(UserWarning):
        # generator, steps_per_epoch, epochs, verbose: Keras 2's order
        history = model.fit_generator(Endless(x, y, 8), 3, 2, 0, max_queue_size=4, workers=2,
                                      use_multiprocessing=True, validation_data=val, validation_steps=2,
                                      validation_freq=2)
    np.testing.assert_allclose(history.history["loss"], reference.history["loss"], rtol=1e-6)
    assert len(history.history["val_loss"]) == 1 and val.drawn == 2    # validated after epoch 2 only


def test_fit_generator_shows_a_progress_bar_by_default_and_the_others_do_not(capsys):
    x, y = data()
    model = sequential()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit_generator(Endless(x, y, 8), steps_per_epoch=3)
        assert "3/3 [" in capsys.readouterr().out          # Keras 2: verbose=1
        model.evaluate_generator(Endless(x, y, 8), steps=3)
        model.predict_generator(Endless(x, y, 8), steps=3)
    assert capsys.readouterr().out == ""                   # Keras 2: verbose=0


def test_evaluate_and_predict_generator_match_the_arrays():
    x, y = data()
    model = sequential()
    with pytest.warns(UserWarning, match="evaluate_generator` is deprecated"):
        scores = model.evaluate_generator(Endless(x, y, 8), steps=3)
    np.testing.assert_allclose(scores, model.evaluate(x, y, batch_size=8, verbose=0), rtol=1e-6)
    expected = model.predict(x, batch_size=8, verbose=0)
    with pytest.warns(UserWarning, match="predict_generator` is deprecated"):
        outputs = model.predict_generator(Endless(x, y, 8), steps=3)
    np.testing.assert_allclose(outputs, expected, rtol=1e-6)
    # the loss by its formula: mean squared error over the samples (independent of evaluate)
    np.testing.assert_allclose(scores[0], np.mean((expected - y) ** 2), rtol=1e-5)


def test_bad_arguments_are_refused_as_fit_refuses_them():
    x, y = data()
    model = sequential()
    before = [w.copy() for w in model.get_weights()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="steps_per_epoch.*Received"):
            model.fit_generator(Endless(x, y, 8), steps_per_epoch=-1)
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)


def test_predict_generator_of_a_functional_model_matches_the_arrays():
    x, y = data()
    model = functional()
    with pytest.warns(UserWarning, match="predict_generator` is deprecated"):
        outputs = model.predict_generator(Endless(x, y, 8), steps=3, max_queue_size=2)
    np.testing.assert_allclose(outputs, model.predict(x, batch_size=8, verbose=0), rtol=1e-6)


def test_predict_classes_is_the_argmax_of_softmax_outputs_and_the_half_threshold_of_one_sigmoid():
    x, _ = data()
    set_random_seed(1)
    softmax = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(3, activation="softmax")])
    sigmoid = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(1, activation="sigmoid", bias_initializer="ones")])
    probabilities = softmax.predict(x, verbose=0)
    with pytest.warns(UserWarning, match=r"predict_classes` is deprecated.*np.argmax\(model.predict\(x\), axis=-1\)"):
        classes = softmax.predict_classes(x)
    assert classes.shape == (len(x),)
    assert all(probabilities[i, classes[i]] == probabilities[i].max() for i in range(len(x)))
    p = sigmoid.predict(x, verbose=0)
    with pytest.warns(UserWarning):
        labels = sigmoid.predict_classes(x, batch_size=5)
    assert labels.dtype == np.int32 and labels.shape == (len(x), 1)   # Keras 2 keeps the unit axis
    assert labels.tolist() == [[1 if v > 0.5 else 0] for v in p[:, 0]]
    assert 0 < labels.sum() < len(x)          # both classes occur, so the threshold was tested


def test_predict_proba_passes_probabilities_and_warns_when_outputs_are_not():
    x, _ = data()
    set_random_seed(2)
    softmax = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(3, activation="softmax")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.testing.assert_array_equal(softmax.predict_proba(x), softmax.predict(x, verbose=0))
    assert [str(w.message) for w in caught] == [
        "`Model.predict_proba` is deprecated: tf.keras 2.6 removed it. Use `model.predict(x)`."]
    linear = Sequential([SimpleRNN(4, input_shape=(5, 2)), Dense(3, bias_initializer="ones")])
    with pytest.warns(UserWarning) as record:
        linear.predict_proba(x)
    assert [str(w.message).split(":")[0] for w in record] == [
        "`Model.predict_proba` is deprecated", "The model's outputs are not probabilities (some lie outside [0, 1])"]


def test_predict_classes_belongs_to_sequential_only_as_in_keras_2():
    assert not hasattr(functional(), "predict_classes")
