"""keras.backend.get_value / set_value as Keras 2 programs call them (e.g. a callback reading
`K.get_value(self.model.optimizer.lr)`), and a clear refusal for what cannot be written in place."""

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import backend as K


def test_get_value_reads_a_learning_rate_and_copies_an_array():
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    assert K.get_value(optimizer.lr) == 0.01 and K.get_value(optimizer.learning_rate) == 0.01
    array = np.arange(6.0).reshape(2, 3)
    read = K.get_value(array)
    read[0, 0] = 99.0                         # the copy is the caller's own
    assert array[0, 0] == 0.0 and np.array_equal(read[1], [3.0, 4.0, 5.0])
    assert [float(v) for v in K.batch_get_value([optimizer.lr, np.float32(2.5)])] == [0.01, 2.5]


def test_set_value_writes_an_array_in_place_keeping_its_dtype():
    array = np.zeros((2, 2), dtype="float32")
    K.set_value(array, [[1, 2], [3, 4]])
    assert array.dtype == np.float32 and np.array_equal(array, [[1.0, 2.0], [3.0, 4.0]])


def test_set_value_and_assign_write_an_optimizers_learning_rate():
    # Keras 2's K.set_value(model.optimizer.lr, v) and TF 2's optimizer.learning_rate.assign(v)
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    K.set_value(optimizer.lr, 0.5)
    assert optimizer.learning_rate == 0.5 and optimizer.get_config()["learning_rate"] == 0.5
    optimizer.learning_rate.assign(0.25)
    assert optimizer.lr == 0.25 and type(K.get_value(optimizer.lr)) is float
    with pytest.raises(ValueError, match="`learning_rate` must be in.*Received: -1"):
        K.set_value(optimizer.lr, -1.0)
    assert optimizer.learning_rate == 0.25
    import copy
    import pickle
    assert type(copy.deepcopy(optimizer.lr)) is float and type(pickle.loads(pickle.dumps(optimizer.lr))) is float
    scheduled = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        K.set_value(scheduled.lr, 0.5)


def test_set_value_refuses_what_it_cannot_write_and_batch_writes_nothing_then():
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    with pytest.raises(TypeError, match="`x`.*plain number.*Received: 0.5 of type float"):
        K.set_value(0.5, 0.1)
    array = np.zeros(3)
    with pytest.raises(ValueError, match=r"`value`.*\(3,\).*Received: shape \(2,\)"):
        K.set_value(array, [1.0, 2.0])
    first, second = np.zeros(2), np.zeros(2)
    for bad in [(second, [1.0, 2.0, 3.0]), (optimizer.lr, -0.5), (0.5, 0.1)]:
        with pytest.raises((TypeError, ValueError)):
            K.batch_set_value([(first, [7.0, 7.0]), bad])
        assert not first.any() and not second.any()
    K.batch_set_value([(first, [7.0, 7.0]), (second, [1.0, 2.0])])
    assert first.tolist() == [7.0, 7.0] and second.tolist() == [1.0, 2.0]


def test_a_keras2_callback_halving_the_learning_rate_with_set_value():
    class Halve(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            K.set_value(self.model.optimizer.lr, K.get_value(self.model.optimizer.lr) * 0.5)

    model = keras.Sequential([keras.Input((4, 2)), keras.layers.SimpleRNN(3), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.08), "mse")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(8, 4, 2)), rng.normal(size=(8, 1)), epochs=3, verbose=0, callbacks=[Halve()])
    assert model.optimizer.learning_rate == 0.01
