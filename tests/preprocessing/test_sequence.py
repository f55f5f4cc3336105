"""pad_sequences and to_categorical against Keras's documented rules."""

import numpy as np
import pytest

from rnnkit.preprocessing.sequence import pad_sequences
from rnnkit.utils import to_categorical

SEQS = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]


def test_defaults_pad_and_truncate_at_the_front():
    np.testing.assert_array_equal(pad_sequences(SEQS), [[0, 0, 1, 2, 3], [0, 0, 0, 4, 5], [6, 7, 8, 9, 10]])
    assert pad_sequences(SEQS).dtype == np.int32


def test_post_padding_and_truncating():
    np.testing.assert_array_equal(pad_sequences(SEQS, maxlen=4, padding="post", truncating="post"),
                                  [[1, 2, 3, 0], [4, 5, 0, 0], [6, 7, 8, 9]])
    np.testing.assert_array_equal(pad_sequences(SEQS, maxlen=4), [[0, 1, 2, 3], [0, 0, 4, 5], [7, 8, 9, 10]])


def test_value_dtype_and_empty_sequences():
    out = pad_sequences([[], [1.5]], maxlen=3, dtype="float32", value=-1.0)
    np.testing.assert_array_equal(out, [[-1, -1, -1], [-1, -1, 1.5]])
    assert pad_sequences([[], []]).shape == (2, 0)
    assert pad_sequences([]).shape == (0, 0)
    np.testing.assert_array_equal(pad_sequences([["a"], ["b", "c"]], dtype=object, value="_"),
                                  np.array([["_", "a"], ["b", "c"]], dtype=object))


def test_sample_dimensions_are_kept():
    out = pad_sequences([np.ones((2, 3)), np.ones((1, 3))], maxlen=3, dtype="float32")
    assert out.shape == (2, 3, 3) and out[1, :2].sum() == 0 and out[1, 2].sum() == 3


@pytest.mark.parametrize("kwargs,match", [
    ({"padding": "middle"}, "Padding type.*Received"),
    ({"truncating": "both"}, "Truncating type.*Received"),
    ({"maxlen": -1}, "maxlen.*Received: -1"),
    ({"value": "x"}, "not compatible.*Received"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pad_sequences(SEQS, **kwargs)


def test_to_categorical():
    np.testing.assert_array_equal(to_categorical([0, 2, 1]), np.eye(3)[[0, 2, 1]])
    assert to_categorical([[1], [0]], num_classes=3).shape == (2, 3)  # trailing 1 dropped
    assert to_categorical(np.zeros((2, 4), int), num_classes=2).shape == (2, 4, 2)
    assert to_categorical([1]).dtype == np.float32
    with pytest.raises(ValueError, match="num_classes=2.*Received"):
        to_categorical([0, 2], num_classes=2)
    with pytest.raises(ValueError, match="non-negative.*Received"):
        to_categorical([-1])
