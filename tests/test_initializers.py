"""Initializers against Keras 2.9's formulas (keras/initializers/initializers_v2.py, VarianceScaling).

Stated in advance, n = fan_in or (fan_in + fan_out) / 2:
- uniform variants: U(-l, l), l = sqrt(3 * scale / n): GlorotUniform (scale 1, fan_avg), HeUniform
  (2, fan_in), LecunUniform (1, fan_in);
- normal variants: N(0, s0) truncated at +-2 s0 by drawing again (TensorFlow's truncated_normal),
  s0 = sqrt(scale / n) / 0.87962566103423978, so the std after truncation is sqrt(scale / n):
  GlorotNormal (1, fan_avg), HeNormal (2, fan_in), LecunNormal (1, fan_in);
- Orthogonal: W^T W = gain^2 I (W W^T for a wide matrix);
- Identity: W[i, j] = gain if i == j else 0, rectangular shapes included, 2-D shapes only.
Samples are large (>= 60,000 values) and seeded; each statistical bound is 6 standard errors of the
statistic, so a correct sampler fails with probability < 1e-8 and a wrong formula (a scale off by
a few percent, clipping instead of redrawing) fails for sure.
"""

import math
import re

import numpy as np
import pytest

from rnnkit import initializers
from rnnkit.layers import SimpleRNN

SHAPE = (240, 300)  # fan_in 240, fan_out 300: 72,000 values
CONV_SHAPE = (5, 48, 300)  # fan_in 5 * 48 = 240, fan_out 5 * 300 = 1500: Keras's receptive-field rule

UNIFORM = [(initializers.GlorotUniform, 1.0, "fan_avg"), (initializers.HeUniform, 2.0, "fan_in"),
           (initializers.LecunUniform, 1.0, "fan_in")]
NORMAL = [(initializers.GlorotNormal, 1.0, "fan_avg"), (initializers.HeNormal, 2.0, "fan_in"),
          (initializers.LecunNormal, 1.0, "fan_in")]
TRUNCATION_STD = 0.87962566103423978


def fan(shape, mode):
    receptive = math.prod(shape[:-2])
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    return {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]


def std_normal_cdf(x):
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x, np.float64) / math.sqrt(2.0)))


def test_truncation_constant_is_the_std_of_a_standard_normal_truncated_at_two():
    # Var of N(0, 1) truncated to [-a, a]: 1 - 2 a phi(a) / (2 Phi(a) - 1).
    a = 2.0
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(a / math.sqrt(2))
    assert math.sqrt(1 - 2 * a * phi / mass) == pytest.approx(TRUNCATION_STD, rel=1e-12)


@pytest.mark.parametrize("shape", [SHAPE, CONV_SHAPE])
@pytest.mark.parametrize("cls, scale, mode", UNIFORM, ids=[c[0].__name__ for c in UNIFORM])
def test_uniform_variants_bounds_and_moments(cls, scale, mode, shape):
    values = cls(seed=3)(shape, dtype="float64").ravel()
    limit = math.sqrt(3.0 * scale / fan(shape, mode))
    n = values.size
    assert np.abs(values).max() <= limit
    assert np.abs(values).max() >= limit * (1 - 10.0 / n)  # the range is filled up to the limit
    # mean 0 (SE l / sqrt(3 n)), variance l^2 / 3 (SE of mean(x^2): l^2 sqrt(4/45) / sqrt(n))
    assert abs(values.mean()) <= 6 * limit / math.sqrt(3 * n)
    assert abs(np.mean(values ** 2) - limit ** 2 / 3) <= 6 * limit ** 2 * math.sqrt(4 / 45) / math.sqrt(n)
    # flat: each tenth of [-l, l] holds n / 10 values (binomial SE)
    counts, _ = np.histogram(values, bins=10, range=(-limit, limit))
    assert np.all(np.abs(counts - n / 10) <= 6 * math.sqrt(n * 0.1 * 0.9))


@pytest.mark.parametrize("shape", [SHAPE, CONV_SHAPE])
@pytest.mark.parametrize("cls, scale, mode", NORMAL, ids=[c[0].__name__ for c in NORMAL])
def test_normal_variants_are_keras_truncated_normals(cls, scale, mode, shape):
    values = cls(seed=5)(shape, dtype="float64").ravel()
    n = values.size
    target_std = math.sqrt(scale / fan(shape, mode))
    s0 = target_std / TRUNCATION_STD
    # bounds: nothing beyond 2 s0
    assert np.abs(values).max() <= 2 * s0
    # std after truncation = sqrt(scale / n); mean(x^2) of the truncated normal has
    # SE sqrt(E x^4 - (E x^2)^2) / sqrt(n), E x^4 = s0^4 (3 - (2 a^3 + 6 a) phi(a) / (2 Phi(a) - 1)), a = 2
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    fourth = s0 ** 4 * (3 - (2 * 8 + 6 * 2) * phi2 / mass)
    se = math.sqrt(fourth - target_std ** 4) / math.sqrt(n)
    assert abs(np.mean(values ** 2) - target_std ** 2) <= 6 * se
    assert abs(values.mean()) <= 6 * target_std / math.sqrt(n)
    # no pile-up at +-2 s0: clipping would put 4.55% of the values on the bounds; redrawing leaves
    # only the density's share in [1.99 s0, 2 s0]: 2 (Phi(2) - Phi(1.99)) / mass ~= 0.11%
    edge = np.mean(np.abs(values) >= 1.99 * s0)
    expected_edge = 2 * (std_normal_cdf(2.0) - std_normal_cdf(1.99)) / mass
    assert abs(edge - expected_edge) <= 6 * math.sqrt(expected_edge / n)
    # the whole shape: Kolmogorov-Smirnov distance to the truncated normal's CDF
    ordered = np.sort(values)
    cdf = (std_normal_cdf(ordered / s0) - std_normal_cdf(-2.0)) / mass
    distance = np.max(np.maximum(np.arange(1, n + 1) / n - cdf, cdf - np.arange(n) / n))
    assert distance <= 1.95 / math.sqrt(n)  # KS critical value at p = 0.001


def test_truncated_normal_keeps_mean_and_redraws_outside():
    values = initializers.TruncatedNormal(mean=3.0, stddev=0.5, seed=2)((300, 200), dtype="float64")
    assert np.all(np.abs(values - 3.0) <= 1.0)
    assert np.mean(np.abs(values - 3.0) >= 0.995) < 0.005  # no pile-up on the bounds
    assert abs(values.std() - 0.5 * TRUNCATION_STD) <= 0.01


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4), (3, 2, 7)])
@pytest.mark.parametrize("gain", [1.0, 1.7])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape, gain):
    w = initializers.Orthogonal(gain=gain, seed=4)(shape, dtype="float64")
    assert w.shape == shape
    flat = w.reshape(-1, shape[-1])
    rows, cols = flat.shape
    gram = flat.T @ flat if rows >= cols else flat @ flat.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_is_haar_distributed_like_keras_sign_corrected_qr():
    # Keras multiplies Q by sign(diag(R)), which makes Q uniform over orthogonal matrices: every
    # entry is then symmetric about 0. Without that correction LAPACK's Q[0, 0] is never positive.
    draws = np.array([initializers.Orthogonal(seed=s)((6, 4), dtype="float64") for s in range(200)])
    positive = int(np.sum(draws[:, 0, 0] > 0))
    assert abs(positive - 100) <= 6 * math.sqrt(200 * 0.25)   # binomial(200, 1/2), 6 SE
    # E[Q_ij] = 0, Var[Q_ij] = 1/6 for a 6 x 4 slice of a Haar matrix
    assert np.all(np.abs(draws.mean(axis=0)) <= 6 * math.sqrt(1 / 6 / 200))


def test_orthogonal_is_not_a_fixed_matrix():
    a = initializers.Orthogonal(seed=1)((5, 5), dtype="float64")
    b = initializers.Orthogonal(seed=2)((5, 5), dtype="float64")
    assert not np.allclose(a, b) and not np.allclose(np.abs(a), np.eye(5))


@pytest.mark.parametrize("make, argument", [
    (lambda: initializers.RandomUniform(minval=float("nan")), "minval"),
    (lambda: initializers.RandomUniform(maxval=float("inf")), "maxval"),
    (lambda: initializers.RandomNormal(stddev=float("inf")), "stddev"),
    (lambda: initializers.RandomNormal(mean=float("nan")), "mean"),
    (lambda: initializers.RandomNormal(stddev=-1.0), "stddev"),
    (lambda: initializers.TruncatedNormal(stddev=float("nan")), "stddev"),
    (lambda: initializers.VarianceScaling(scale=float("nan")), "scale"),
    (lambda: initializers.VarianceScaling(scale=0.0), "scale"),
    (lambda: initializers.Orthogonal(gain=float("-inf")), "gain"),
    (lambda: initializers.Identity(gain=float("nan")), "gain"),
    (lambda: initializers.get({"class_name": "RandomUniform", "config": {"minval": float("-inf")}}), "minval"),
])
def test_non_finite_bounds_are_refused_at_construction(make, argument):
    with pytest.raises(ValueError, match=rf"`{argument}`.*Received: {argument}="):
        make()


def test_a_layer_refuses_a_nan_initializer_before_building():
    with pytest.raises(ValueError, match="Received: stddev=nan"):
        SimpleRNN(3, kernel_initializer={"class_name": "RandomNormal", "config": {"stddev": float("nan")}})


def test_non_numeric_bound_is_a_type_error():
    with pytest.raises(TypeError, match="Received: minval='a'"):
        initializers.RandomUniform(minval="a")


@pytest.mark.parametrize("name, cls", [("he_normal", initializers.HeNormal),
                                       ("lecun_normal", initializers.LecunNormal),
                                       ("truncated_normal", initializers.TruncatedNormal),
                                       ("glorot_normal", initializers.GlorotNormal),
                                       ("identity", initializers.Identity)])
def test_keras_names_and_configs_round_trip(name, cls):
    initializer = initializers.get(name)
    assert type(initializer) is cls
    again = initializers.get(initializers.serialize(initializer))
    assert type(again) is cls and again.get_config() == initializer.get_config()


def test_variance_scaling_config_round_trips_and_matches_its_named_variant():
    vs = initializers.get({"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_in", "distribution": "uniform", "seed": 7}})
    np.testing.assert_array_equal(vs((20, 30)), initializers.HeUniform(seed=7)((20, 30)))
    assert initializers.serialize(initializers.GlorotUniform())["config"] == {"seed": None}


@pytest.mark.parametrize("shape, gain", [((4, 4), 1.0), ((3, 5), 0.5), ((6, 2), -2.0)])
def test_identity_is_gain_on_the_main_diagonal_of_any_2d_shape(shape, gain):
    values = initializers.Identity(gain=gain)(shape, dtype="float64")
    expected = [[gain if i == j else 0.0 for j in range(shape[1])] for i in range(shape[0])]
    assert values.shape == shape and values.dtype == np.float64 and values.tolist() == expected
    again = initializers.get(initializers.serialize(initializers.Identity(gain=gain)))
    assert again.get_config() == {"gain": gain}


def test_identity_refuses_a_shape_that_is_not_2d():
    for shape in [(3,), (2, 3, 3)]:
        with pytest.raises(ValueError, match=rf"2D matrices.*Received: shape={re.escape(str(shape))} of rank"):
            initializers.Identity()(shape)


def test_the_irnn_of_keras_2s_mnist_irnn_starts_from_the_identity():
    # examples/mnist_irnn.py: SimpleRNN(relu) with RandomNormal(stddev=0.001) input weights and an
    # identity recurrent kernel, so a step at first carries h_{t-1} on unchanged (plus the input).
    layer = SimpleRNN(5, kernel_initializer=initializers.RandomNormal(stddev=0.001),
                      recurrent_initializer=initializers.Identity(gain=1.0), activation="relu")
    layer.build((None, 7, 1))
    kernel, recurrent, bias = layer.get_weights()
    assert recurrent.tolist() == np.eye(5).tolist() and not bias.any()
    assert 0 < np.abs(kernel).max() < 0.006
    rebuilt = SimpleRNN.from_config(layer.get_config())
    assert type(rebuilt.recurrent_initializer) is initializers.Identity
