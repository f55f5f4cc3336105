"""ops/conv1d.py, ops/pooling.py, ops/normalization.py as pure functions: the padding rules
fixtures/README.md states, dtypes kept, errors. (Forward references and gradient checks of the
layers using them: tests/layers/test_layers_around_the_rnn.py.)"""

import math

import numpy as np
import pytest

from rnnkit.ops import conv1d, normalization, pooling


@pytest.mark.parametrize("n,k,s,d", [(n, k, s, d) for n in (1, 5, 8, 9) for k in (1, 2, 3, 4) for s in (1, 2, 3)
                                     for d in (1, 2) if not (s > 1 and d > 1)])
def test_conv_padding_rules(n, k, s, d):
    span = (k - 1) * d + 1
    left, right, length = conv1d.padding_amounts(n, k, s, "same", d)
    assert length == math.ceil(n / s)                                   # "same": ceil(n / s) outputs
    total = max((length - 1) * s + span - n, 0)
    assert (left, right) == (total // 2, total - total // 2)            # the left side gets total // 2
    left, right, length = conv1d.padding_amounts(n, k, s, "causal", d)
    assert (left, right) == ((k - 1) * d, 0) and length == (n - 1) // s + 1
    assert conv1d.output_length(n, k, s, "valid", d) == max((n - span) // s + 1, 0)
    assert conv1d.output_length(None, k, s, "valid", d) is None


@pytest.mark.parametrize("n,p,s", [(n, p, s) for n in (1, 4, 7) for p in (1, 2, 3) for s in (1, 2, 3)])
def test_pool_padding_rules(n, p, s):
    left, right, length = pooling.padding_amounts(n, p, s, "same")
    total = max((length - 1) * s + p - n, 0)
    assert length == math.ceil(n / s) and (left, right) == (total // 2, total - total // 2)
    assert pooling.output_length(n, p, s, "valid") == max((n - p) // s + 1, 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ops_keep_the_dtype(dtype):
    x = np.random.default_rng(0).normal(size=(2, 6, 4)).astype(dtype)
    kernel = np.ones((3, 4, 5), dtype)
    y, cache = conv1d.conv1d_forward(x, kernel, np.zeros(5, dtype), padding="same", training=True)
    assert y.dtype == dtype
    dx, grads = conv1d.conv1d_backward(np.ones_like(y), cache, kernel)
    assert dx.dtype == dtype and grads["kernel"].dtype == dtype and dx.shape == x.shape
    for mode in ("max", "average"):
        y, cache = pooling.pool1d_forward(x, 2, 2, "same", mode, training=True)
        assert y.dtype == dtype and pooling.pool1d_backward(np.ones_like(y), cache, 2, 2, mode).dtype == dtype
    y, cache, _, _ = normalization.normalize_forward(x, None, None, (0, 1), 1e-3, training=True)
    assert y.dtype == dtype


def test_conv_refuses_too_short_inputs_and_pooling_too():
    with pytest.raises(ValueError, match="at least 5 input steps.*Received: an input of 3 steps"):
        conv1d.conv1d_forward(np.zeros((1, 3, 2)), np.zeros((3, 2, 1)), None, dilation_rate=2)
    with pytest.raises(ValueError, match="at least 4 input steps.*Received: an input of 3 steps"):
        pooling.pool1d_forward(np.zeros((1, 3, 2)), 4, 1, "valid", "max")


def test_average_pooling_same_counts_only_real_cells():
    x = np.arange(5, dtype=float).reshape(1, 5, 1)
    y, _ = pooling.pool1d_forward(x, 3, 2, "same", "average")   # windows [-1..1], [1..3], [3..5] cut to real cells
    np.testing.assert_allclose(y[0, :, 0], [0.5, 2.0, 3.5])
    y, _ = pooling.pool1d_forward(-x - 1, 3, 2, "same", "max")   # padding never wins, even below every value
    np.testing.assert_allclose(y[0, :, 0], [-1.0, -2.0, -4.0])


def test_global_average_of_an_all_masked_row_is_nan_as_in_keras():
    y, _ = pooling.global_average_forward(np.ones((2, 3, 1)), np.array([[1, 0, 0], [0, 0, 0]], bool))
    assert y[0, 0] == 1.0 and np.isnan(y[1, 0])
