"""Nadam, Adamax, Adadelta, Ftrl, Lion, AdamW and weight decay against plain per-step references
written here from Keras's update rules (keras/src/optimizers/*.py); schedules against their
formulas evaluated by hand; the optimizer state's order against Keras's own files."""

import io
import json
import math
import zipfile

import numpy as np
import pytest

from conftest import FIXTURES
from rnnkit import optimizers
from rnnkit.optimizers import schedules


def run(optimizer, steps=6, seed=0, names=None):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    grads = [[rng.normal(size=w.shape) * 2 for w in weights] for _ in range(steps)]
    current = [w.copy() for w in weights]
    for g in grads:
        if names is None:
            optimizer.apply_gradients(zip([x.copy() for x in g], current))
        else:
            optimizer.apply_gradients(zip([x.copy() for x in g], current), variable_names=names)
    return weights, grads, current


@pytest.mark.parametrize("mode", ["per_variable", "per_step"])
def test_nadam(mode):
    # tf_keras 2 (default): the schedule product is multiplied once per weight, in order;
    # Keras 3 ("per_step"): once per step.
    w0, grads, out = run(optimizers.Nadam(0.01, u_product=mode))
    w = [w0[0].copy(), w0[1].copy()]
    m, v, product = [0.0, 0.0], [0.0, 0.0], 1.0
    for t, g in enumerate(grads, start=1):
        u_t, u_next = 0.9 * (1 - 0.5 * 0.96 ** t), 0.9 * (1 - 0.5 * 0.96 ** (t + 1))
        if mode == "per_step":
            product *= u_t
        for i in range(2):
            if mode == "per_variable":
                product *= u_t
            m[i] = m[i] + (g[i] - m[i]) * 0.1
            v[i] = v[i] + (g[i] * g[i] - v[i]) * 0.001
            m_hat = u_next * m[i] / (1 - product * u_next) + (1 - u_t) * g[i] / (1 - product)
            v_hat = v[i] / (1 - 0.999 ** t)
            w[i] = w[i] - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-7)
    for i in range(2):
        np.testing.assert_allclose(out[i], w[i], rtol=1e-12)


def test_adamax():
    w0, grads, out = run(optimizers.Adamax(0.02, beta_1=0.8, beta_2=0.95))
    w, m, u = w0[0].copy(), 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        m = m + (g[0] - m) * 0.2
        u = np.maximum(0.95 * u, np.abs(g[0]))
        w = w - 0.02 * m / ((1 - 0.8 ** t) * (u + 1e-7))
    np.testing.assert_allclose(out[0], w, rtol=1e-12)


def test_adadelta():
    w0, grads, out = run(optimizers.Adadelta(1.0, rho=0.9))
    w, a, s = w0[1].copy(), 0.0, 0.0
    for g in grads:
        a = 0.9 * a + 0.1 * g[1] ** 2
        delta = -np.sqrt(s + 1e-7) / np.sqrt(a + 1e-7) * g[1]
        s = 0.9 * s + 0.1 * delta ** 2
        w = w + delta
    np.testing.assert_allclose(out[1], w, rtol=1e-12)


def test_ftrl_with_every_regularizer():
    opt = optimizers.Ftrl(0.1, learning_rate_power=-0.5, initial_accumulator_value=0.2,
                          l1_regularization_strength=0.01, l2_regularization_strength=0.02,
                          l2_shrinkage_regularization_strength=0.03, beta=0.5)
    w0, grads, out = run(opt)
    w, n, z = w0[0].copy(), np.full((3, 2), 0.2), np.zeros((3, 2))
    l2 = 0.02 + 0.5 / (2 * 0.1)
    for g in grads:
        g = g[0]
        n_new = n + g ** 2
        z = z + g + 2 * 0.03 * w - (np.sqrt(n_new) - np.sqrt(n)) / 0.1 * w
        w = (np.clip(z, -0.01, 0.01) - z) / (np.sqrt(n_new) / 0.1 + 2 * l2)
        n = n_new
    np.testing.assert_allclose(out[0], w, rtol=1e-12)


def test_lion():
    w0, grads, out = run(optimizers.Lion(0.01, beta_1=0.8, beta_2=0.95))
    w, m = w0[0].copy(), 0.0
    for g in grads:
        w = w - 0.01 * np.sign(0.8 * m + 0.2 * g[0])
        m = 0.95 * m + 0.05 * g[0]
    np.testing.assert_allclose(out[0], w, rtol=1e-12)


def test_adamw_decays_before_adam_and_exclusions_hold():
    opt = optimizers.AdamW(0.01, weight_decay=0.1)
    opt.exclude_from_weight_decay(var_names=["bias"])
    w0, grads, out = run(opt, names=["dense/kernel", "dense/bias"])
    for i, decay in ((0, 0.1), (1, 0.0)):
        w, m, v = w0[i].copy(), 0.0, 0.0
        for t, g in enumerate(grads, start=1):
            w = w - 0.01 * decay * w
            m = m + (g[i] - m) * 0.1
            v = v + (g[i] ** 2 - v) * 0.001
            w = w - 0.01 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-7)
        np.testing.assert_allclose(out[i], w, rtol=1e-12)
    # Keras 3's weight_decay works on every optimizer, with a schedule's rate of the step.
    schedule = schedules.ExponentialDecay(0.1, 2, 0.5)
    w0, grads, out = run(optimizers.SGD(schedule, weight_decay=0.2))
    w = w0[0].copy()
    for k, g in enumerate(grads):
        lr = 0.1 * 0.5 ** (k / 2)
        w = w - lr * 0.2 * w - lr * g[0]
    np.testing.assert_allclose(out[0], w, rtol=1e-12)


@pytest.mark.parametrize("schedule,step,expected", [
    (schedules.ExponentialDecay(0.1, 10, 0.5), 20, 0.025),
    (schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True), 15, 0.05),
    (schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]), 10, 1.0),
    (schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]), 11, 0.5),
    (schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]), 21, 0.1),
    (schedules.PolynomialDecay(0.1, 10, 0.01, power=2.0), 5, 0.09 * 0.25 + 0.01),
    (schedules.PolynomialDecay(0.1, 10, 0.01, power=2.0), 25, 0.01),
    (schedules.PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True), 15, 0.09 * 0.25 ** 2 + 0.01),
    (schedules.InverseTimeDecay(0.1, 10, 0.5), 20, 0.05),
    (schedules.InverseTimeDecay(0.1, 10, 0.5, staircase=True), 19, 0.1 / 1.5),
    (schedules.CosineDecay(0.1, 100), 50, 0.05),
    (schedules.CosineDecay(0.1, 100, alpha=0.1), 150, 0.01),
    (schedules.CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10), 5, 0.05),
    (schedules.CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10), 60, 0.05),
    (schedules.CosineDecayRestarts(0.1, 10), 5, 0.05),
    (schedules.CosineDecayRestarts(0.1, 10), 10, 0.1),
    (schedules.CosineDecayRestarts(0.1, 10), 20, 0.05),        # the second period is 20 steps long
    (schedules.CosineDecayRestarts(0.1, 10, t_mul=1.0, m_mul=0.5), 10, 0.05),
])
def test_schedules(schedule, step, expected):
    assert schedule(step) == pytest.approx(expected, rel=1e-9, abs=1e-15)
    again = type(schedule).from_config(schedule.get_config())
    assert again(step) == schedule(step)


def test_learning_rate_is_readable_settable_and_a_callable_of_the_step():
    opt = optimizers.Adam(schedules.ExponentialDecay(0.1, 1, 0.5))
    run(opt, steps=3)
    assert opt.learning_rate == pytest.approx(0.1 * 0.5 ** 3)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1
    opt = optimizers.SGD(0.1)
    opt.learning_rate = 0.05
    assert opt.learning_rate == 0.05 and opt.get_config()["learning_rate"] == 0.05
    opt = optimizers.SGD(lambda step: 0.1 / (1 + step))
    w0, grads, out = run(opt, steps=3)
    np.testing.assert_allclose(out[0], w0[0] - sum(0.1 / (1 + k) * g[0] for k, g in enumerate(grads)))
    with pytest.warns(DeprecationWarning, match="lr"):
        old = optimizers.SGD(lr=0.3)
    assert old.learning_rate == 0.3 and old.lr == 0.3


@pytest.mark.parametrize("make,argument", [
    (lambda: optimizers.Nadam(beta_1=1.0), "`beta_1`"),
    (lambda: optimizers.Adamax(epsilon=0), "`epsilon`"),
    (lambda: optimizers.Adadelta(rho=1.5), "`rho`"),
    (lambda: optimizers.Ftrl(learning_rate_power=0.5), "`learning_rate_power`"),
    (lambda: optimizers.Ftrl(learning_rate=0.0), "`learning_rate`"),
    (lambda: optimizers.Lion(beta_1=0.0), "`beta_1`"),
    (lambda: optimizers.AdamW(weight_decay=-1.0), "`weight_decay`"),
    (lambda: optimizers.SGD(use_ema=True), "`use_ema`"),
    (lambda: optimizers.Adam(gradient_accumulation_steps=2), "`gradient_accumulation_steps`"),
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "`decay_steps`"),
])
def test_bad_hyper_parameters_fail_at_construction(make, argument):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert argument in str(info.value) and "Received" in str(info.value)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam", "adamax", "adadelta",
                                  "ftrl", "lion"])
def test_config_round_trip_and_state_round_trip(name):
    opt = optimizers.get(name)
    again = optimizers.get(json.loads(json.dumps(optimizers.serialize(opt))))
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    w0, grads, out = run(opt, steps=3)
    for layout in ("tf_keras", "keras3"):
        state = opt.get_variables(layout)
        twin = optimizers.get(name)
        copies = [w.copy() for w in out]
        twin.set_variables(state, variables=copies, layout=layout)
        assert twin.iterations == 3
        g = [np.ones_like(w) for w in copies]
        twin.apply_gradients(zip(g, copies))
        reference = [w.copy() for w in out]
        clone = optimizers.get(name)
        _, _, replayed = run(clone, steps=3)
        clone.apply_gradients(zip(g, replayed))
        # Keras 3 stores the learning rate as float32: 0.001 comes back as 0.0010000000475.
        for a, b in zip(copies, replayed):
            np.testing.assert_allclose(a, b, rtol=1e-12 if layout == "tf_keras" else 1e-7)
        del reference


def test_set_variables_checks_everything_first():
    opt = optimizers.Adam()
    run(opt, steps=2)
    before = opt.get_variables()
    bad = [v.copy() for v in before]
    bad[-1] = np.zeros(5)
    with pytest.raises(ValueError, match="shape"):
        opt.set_variables(bad)
    with pytest.raises(ValueError, match="Received: 4 arrays"):
        opt.set_variables(before[:4])
    assert all(np.array_equal(a, b) for a, b in zip(before, opt.get_variables()))


@pytest.mark.parametrize("name", ["adam_lstm_regressor", "rmsprop_embed_gru_classifier",
                                  "sgd_nesterov_bidir_simple_rnn"])
def test_state_order_matches_keras_files(name):
    h5py = pytest.importorskip("h5py")
    with h5py.File(FIXTURES / "compiled_keras2" / f"{name}.h5", "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["optimizer_weights"].attrs["weight_names"]]
        values = [f["optimizer_weights"][n][()] for n in names]
        config = json.loads(f.attrs["training_config"])["optimizer_config"]
    opt = optimizers.get(config)
    prefix = f"{opt.name}/" + names[1].split("/")[1] + "/"
    weight_names = [n[len(prefix):-2] for n in names[1:] if n.startswith(prefix)]
    shapes = [v.shape for n, v in zip(names[1:], values[1:]) if n.startswith(prefix)]
    opt.set_variables(values, variables=[np.zeros(s, np.float32) for s in shapes])
    assert opt.variable_names(weight_names) == names
    assert all(np.array_equal(a, b) for a, b in zip(opt.variables(), values))
    with zipfile.ZipFile(FIXTURES / "compiled_keras3" / f"{name}.keras") as z:
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            group = f["optimizer"]["vars"]
            keras3_shapes = [group[str(i)].shape for i in range(len(group))]
    assert [v.shape for v in opt.get_variables("keras3")] == keras3_shapes


def test_keras2_legacy_decay():
    # Keras 2's legacy optimizers: lr_t = lr / (1 + decay * iterations); decay=0 (old configs) is a no-op.
    plain = optimizers.SGD(0.1, decay=0.0)
    assert plain.learning_rate == 0.1
    with pytest.warns(DeprecationWarning, match="legacy"):
        opt = optimizers.SGD(0.1, decay=0.5)
    w0, grads, out = run(opt, steps=3)
    np.testing.assert_allclose(out[0], w0[0] - sum(0.1 / (1 + 0.5 * k) * g[0] for k, g in enumerate(grads)))
