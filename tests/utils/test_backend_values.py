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


def test_set_value_refuses_what_it_cannot_write_and_batch_writes_nothing_then():
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    with pytest.raises(TypeError, match="`x`.*learning_rate = value.*Received: 0.01 of type float"):
        K.set_value(optimizer.lr, 0.5)
    assert optimizer.learning_rate == 0.01
    array = np.zeros(3)
    with pytest.raises(ValueError, match=r"`value`.*\(3,\).*Received: shape \(2,\)"):
        K.set_value(array, [1.0, 2.0])
    first, second = np.zeros(2), np.zeros(2)
    for bad in [(second, [1.0, 2.0, 3.0]), (optimizer.lr, 0.5)]:
        with pytest.raises((TypeError, ValueError)):
            K.batch_set_value([(first, [7.0, 7.0]), bad])
        assert not first.any() and not second.any()
    K.batch_set_value([(first, [7.0, 7.0]), (second, [1.0, 2.0])])
    assert first.tolist() == [7.0, 7.0] and second.tolist() == [1.0, 2.0]
