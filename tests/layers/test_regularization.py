"""Regularizers and constraints (rnnkit.regularizers, rnnkit.constraints) and the layers that take
them: formulas, gradients through the finite-difference judge, configs, and a tf_keras training
run whose constraints the hook of a training loop would apply (emulated here after each step)."""

import json

import numpy as np
import pytest

from conftest import FIXTURES
from gradient_judge import assert_loss_gradients
from rnnkit import backend, constraints, optimizers, regularizers
from rnnkit.layers import (LSTM, BatchNormalization, Conv1D, Dense, Embedding, Input, LayerNormalization, PReLU,
                           deserialize, serialize)
from rnnkit.models import Sequential
from rnnkit.saving.keras_config import to_rnnkit


@pytest.mark.parametrize("regularizer,penalty", [
    (regularizers.L1(0.3), lambda w: 0.3 * np.abs(w).sum()),
    (regularizers.L2(0.2), lambda w: 0.2 * (w ** 2).sum()),
    (regularizers.L1L2(0.1, 0.4), lambda w: 0.1 * np.abs(w).sum() + 0.4 * (w ** 2).sum()),
    (regularizers.get("l2"), lambda w: 0.01 * (w ** 2).sum()),
    (regularizers.get("l1_l2"), lambda w: 0.01 * np.abs(w).sum() + 0.01 * (w ** 2).sum()),
])
def test_regularizer_penalty_and_gradient(regularizer, penalty):
    w = np.random.default_rng(0).normal(size=(4, 3))
    assert regularizer(w) == pytest.approx(penalty(w), rel=1e-12)
    assert_loss_gradients(lambda: regularizer(w), {"w": w}, {"w": regularizer.gradient(w)})


def test_keras_spellings():
    import rnnkit as keras
    layer = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.1),
                               kernel_constraint=keras.constraints.max_norm(2.0))
    assert layer.get_config()["kernel_regularizer"] == {"class_name": "L2", "config": {"l2": 0.1}}
    assert layer.get_config()["kernel_constraint"] == {"class_name": "MaxNorm", "config": {"max_value": 2.0, "axis": 0}}


def test_regularizer_configs_and_errors():
    assert regularizers.serialize(regularizers.get({"class_name": "L2", "config": {"l2": 0.5}})) == \
        {"class_name": "L2", "config": {"l2": 0.5}}
    assert regularizers.get(None) is None
    with pytest.raises(ValueError, match="`kernel_regularizer`.*Received: 'l3'"):
        regularizers.get("l3", "kernel_regularizer")
    with pytest.raises(ValueError, match="Received: 'MyRegularizer'"):
        regularizers.get({"class_name": "MyRegularizer", "config": {}})
    with pytest.raises(ValueError, match="`l2`.*Received: -1"):
        regularizers.L2(-1)


def keras_orthogonal_penalty(w, factor, mode):
    """Keras 3's formula, written out here: rows (or columns) scaled by min(rsqrt(sum of squares),
    1 / 1e-7), their Gram matrix without its diagonal, factor / 2 * sum |.| / number of pairs."""
    v = np.asarray(w, dtype=np.float64)
    v = v if mode == "rows" else v.T
    with np.errstate(divide="ignore"):
        unit = v * np.minimum(1.0 / np.sqrt((v ** 2).sum(axis=1, keepdims=True)), 1e7)
    size = v.shape[0]
    product = (unit @ unit.T) * (1.0 - np.eye(size))
    return factor * 0.5 * np.abs(product).sum() / (size * (size - 1) / 2.0)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer_value_and_gradient(mode):
    rng = np.random.default_rng(4)
    w = rng.standard_normal((5, 4))
    w[1] = 0.0                          # a zero row: Keras divides by 1e-7 there (and gets 0)
    regularizer = regularizers.OrthogonalRegularizer(0.3, mode)
    assert regularizer(w) == pytest.approx(keras_orthogonal_penalty(w, 0.3, mode), rel=1e-12)
    w[1] = rng.standard_normal(4)       # the gradient away from |G_ij| = 0 kinks
    assert_loss_gradients(lambda: regularizer(w), {"w": w}, {"w": regularizer.gradient(w)})


def test_orthogonal_regularizer_matches_a_number_keras_computed():
    w = (np.arange(12, dtype="float32").reshape(4, 3) % 5 - 2.0) / 3.0
    w[2] = 0.0
    # keras 3.15: OrthogonalRegularizer(0.3, mode)(keras.ops.convert_to_tensor(w)), float32
    assert regularizers.OrthogonalRegularizer(0.3, "rows")(w) == pytest.approx(0.04472136124968529, rel=1e-6)
    assert regularizers.OrthogonalRegularizer(0.3, "columns")(w) == pytest.approx(0.08944272249937057, rel=1e-6)


def test_orthogonal_regularizer_by_name_config_and_on_a_layer():
    by_name = regularizers.get("orthogonal_regularizer")
    assert isinstance(by_name, regularizers.OrthogonalRegularizer) and by_name.get_config() == \
        {"factor": 0.01, "mode": "rows"}
    config = {"class_name": "OrthogonalRegularizer", "config": {"factor": 0.2, "mode": "columns"}}
    assert regularizers.serialize(regularizers.get(config)) == config
    layer = Dense(3, kernel_regularizer=regularizers.OrthogonalRegularizer(0.1))
    layer.build((None, 4))
    expected = keras_orthogonal_penalty(layer.weights["kernel"], 0.1, "rows")
    assert layer.regularization_penalty() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="mode.*Received: mode='diagonal'"):
        regularizers.OrthogonalRegularizer(0.1, "diagonal")
    with pytest.raises(ValueError, match="2-D weights.*Received: a weight of shape \\(3,\\)"):
        regularizers.OrthogonalRegularizer()(np.ones(3))
    with pytest.raises(ValueError, match="`factor`.*Received: -1"):
        regularizers.OrthogonalRegularizer(-1)


def test_constraints_as_tf_keras_computes_them():
    w = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    n0 = np.sqrt((w ** 2).sum(axis=0, keepdims=True))
    np.testing.assert_allclose(constraints.MaxNorm(0.5)(w), w * np.clip(n0, 0, 0.5) / (1e-7 + n0), rtol=1e-6)
    n01 = np.sqrt((w ** 2).sum())
    np.testing.assert_allclose(constraints.MaxNorm(1.0, axis=[0, 1])(w), w * min(n01, 1.0) / (1e-7 + n01), rtol=1e-6)
    np.testing.assert_allclose(constraints.UnitNorm()(w), w / (1e-7 + n0), rtol=1e-6)
    np.testing.assert_allclose(constraints.MinMaxNorm(0.5, 1.5, rate=0.5)(w),
                               w * (0.5 * np.clip(n0, 0.5, 1.5) + 0.5 * n0) / (1e-7 + n0), rtol=1e-6)
    clipped = constraints.NonNeg()(w)
    assert (clipped >= 0).all() and np.array_equal(clipped[w >= 0], w[w >= 0])
    assert constraints.serialize(constraints.get({"class_name": "MaxNorm", "config": {"max_value": 0.3, "axis": 0}})) \
        == {"class_name": "MaxNorm", "config": {"max_value": 0.3, "axis": 0}}
    with pytest.raises(ValueError, match="`kernel_constraint`.*Received: 'Clip'"):
        constraints.get({"class_name": "Clip"}, "kernel_constraint")


@pytest.mark.parametrize("make,shape", [
    (lambda: Dense(3, kernel_regularizer="l2", bias_regularizer=regularizers.L1(0.1),
                   kernel_constraint=constraints.MaxNorm(0.2), bias_constraint="non_neg",
                   activity_regularizer=regularizers.L2(0.5)), (None, 4)),
    (lambda: Conv1D(3, 2, kernel_regularizer=regularizers.L1L2(0.1, 0.2), kernel_constraint="unit_norm"), (None, 5, 2)),
    (lambda: Embedding(6, 2, embeddings_regularizer="l1", embeddings_constraint="max_norm"), (None, 4)),
    (lambda: BatchNormalization(gamma_regularizer="l2", beta_constraint="non_neg"), (None, 3)),
    (lambda: LayerNormalization(beta_regularizer="l1", gamma_constraint="unit_norm"), (None, 3)),
    (lambda: PReLU(alpha_regularizer="l2", alpha_constraint="non_neg"), (None, 3)),
])
def test_layers_hold_penalties_and_apply_constraints(make, shape):
    backend.set_floatx("float64")
    try:
        layer = make()
        layer.build(shape)
        rng = np.random.default_rng(2)
        for w in layer.weights.values():
            w[...] = rng.normal(size=w.shape)
        config = layer.get_config()
        again = deserialize(serialize(layer))
        assert again.get_config() == config
        penalty = sum(r(layer.weights[k]) for k, r in layer.weight_regularizers.items() if r is not None)
        assert layer.regularization_penalty() == pytest.approx(penalty)
        grads = layer.regularization_gradients()
        arrays = {k: layer.weights[k] for k in grads}
        assert_loss_gradients(layer.regularization_penalty, arrays, grads)
        expected = {k: c(layer.weights[k]) for k, c in layer.weight_constraints.items() if c is not None}
        layer.apply_constraints()
        for k, value in expected.items():
            np.testing.assert_array_equal(layer.weights[k], value)
        if layer.activity_regularizer is not None:
            y = rng.normal(size=(5, 3))
            assert layer.activity_penalty(y) == pytest.approx(0.5 * (y ** 2).sum() / 5)
            assert_loss_gradients(lambda: layer.activity_penalty(y), {"y": y}, {"y": layer.activity_gradient(y)})
    finally:
        backend.set_floatx("float32")


def test_the_training_loop_adds_weight_penalties_and_applies_constraints_as_tf_keras_does():
    # One SGD step, computed independently in NumPy from tf_keras's rules: the reported loss is the
    # data loss plus l2 * sum(W^2) + l1 * sum(|b|) on the weights before the update; the gradient
    # adds 2 l2 W and l1 sign(b); after the update MaxNorm(0.5) projects W's columns and NonNeg b.
    backend.set_floatx("float64")
    try:
        model = Sequential([Input(shape=(4,)), Dense(3, kernel_regularizer=regularizers.L2(0.05),
                                                     bias_regularizer=regularizers.L1(0.02),
                                                     kernel_constraint=constraints.MaxNorm(0.5),
                                                     bias_constraint=constraints.NonNeg())])
        rng = np.random.default_rng(0)
        w, b = rng.normal(size=(4, 3)), rng.normal(size=3)
        model.set_weights([w, b])
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
        loss = model.train_on_batch(x, y)
        out = x @ w + b
        expected_loss = np.mean((out - y) ** 2) + 0.05 * np.sum(w ** 2) + 0.02 * np.sum(np.abs(b))
        d_out = 2 * (out - y) / out.size
        w_new = w - 0.1 * (x.T @ d_out + 2 * 0.05 * w)
        b_new = b - 0.1 * (d_out.sum(axis=0) + 0.02 * np.sign(b))
        norms = np.sqrt(np.sum(w_new ** 2, axis=0, keepdims=True))
        w_new = w_new * np.clip(norms, 0, 0.5) / (1e-7 + norms)
        b_new = b_new * (b_new >= 0)
        assert loss == pytest.approx(expected_loss, rel=1e-12)
        np.testing.assert_allclose(model.get_weights()[0], w_new, rtol=1e-12)
        np.testing.assert_allclose(model.get_weights()[1], b_new, rtol=1e-12, atol=1e-15)
        assert model.evaluate(x, y, verbose=0) == pytest.approx(
            np.mean((x @ w_new + b_new - y) ** 2) + 0.05 * np.sum(w_new ** 2) + 0.02 * np.sum(np.abs(b_new)))
    finally:
        backend.set_floatx("float32")


def test_an_activity_regularizer_enters_the_loss_and_its_gradient_as_tf_keras_does():
    # One SGD step, computed independently: loss = mse(y_hat, y) + l2 * sum(h^2) / batch for the
    # hidden layer's output h; dL/dh gains 2 l2 h / batch; prediction ignores the penalty.
    backend.set_floatx("float64")
    try:
        model = Sequential([Input(shape=(4,)), Dense(3, activation="tanh", activity_regularizer=regularizers.L2(0.1)),
                            Dense(2)])
        rng = np.random.default_rng(1)
        w1, b1, w2, b2 = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=2)
        model.set_weights([w1, b1, w2, b2])
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
        h = np.tanh(x @ w1 + b1)
        out = h @ w2 + b2
        expected = np.mean((out - y) ** 2) + 0.1 * np.sum(h ** 2) / 5
        assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-12)
        assert model.train_on_batch(x, y) == pytest.approx(expected, rel=1e-12)
        d_out = 2 * (out - y) / out.size
        d_h = d_out @ w2.T + 2 * 0.1 * h / 5
        d_pre = d_h * (1 - h ** 2)
        np.testing.assert_allclose(model.get_weights()[0], w1 - 0.1 * x.T @ d_pre, rtol=1e-12)
        np.testing.assert_allclose(model.get_weights()[2], w2 - 0.1 * h.T @ d_out, rtol=1e-12)
        w1n, b1n, w2n, b2n = model.get_weights()
        np.testing.assert_allclose(model.predict(x, verbose=0), np.tanh(x @ w1n + b1n) @ w2n + b2n, rtol=1e-12)
    finally:
        backend.set_floatx("float32")


def test_constraints_applied_after_each_sgd_step_reproduce_tf_keras():
    # train_graph/maxnorm_nonneg_constraints_sgd: the LSTM cannot hold constraints yet (recurrent
    # layers), so the constraints are applied here after each train_on_batch, as the training
    # hook would: the recorded losses and final weights must be Keras's.
    spec = json.loads((FIXTURES / "train_graph" / "maxnorm_nonneg_constraints_sgd.json").read_text())
    data = np.load(FIXTURES / "train_graph" / "maxnorm_nonneg_constraints_sgd.npz")
    layers, per_weight = [], []
    for layer in spec["model"]["config"]["layers"]:
        config = dict(layer["config"])
        if layer["class_name"] == "InputLayer":
            layers.append(Input(shape=tuple(config["batch_input_shape"][1:])))
            continue
        found = {key[:-len("_constraint")]: constraints.get(config.pop(key)) for key in list(config)
                 if key.endswith("_constraint")}
        built = deserialize(to_rnnkit(dict(layer, config=config)))
        layers.append(built)
        per_weight.append((built, found))
    model = Sequential(layers)
    model.set_weights([data[f"w0_{i}"] for i in range(len(spec["weight_shapes"]))])
    model.compile(optimizer=optimizers.get(spec["optimizer"]), loss=spec["loss"], metrics=spec["metrics"])
    names = {"kernel": "kernel", "recurrent": "recurrent_kernel", "bias": "bias"}
    losses = []
    for _ in range(spec["steps"]):
        out = model.train_on_batch(data["x0"], data["y0"])
        losses.append(out[0] if isinstance(out, list) else out)
        for layer, found in per_weight:
            for key, constraint in found.items():
                if constraint is not None:
                    w = layer.get_weights()[list(layer.weights).index(names[key])] if isinstance(layer, LSTM) \
                        else layer.weights[names[key]]
                    projected = constraint(w)
                    if isinstance(layer, LSTM):
                        weights = layer.get_weights()
                        weights[list(layer.weights).index(names[key])] = projected
                        layer.set_weights(weights)
                    else:
                        w[...] = projected
    np.testing.assert_allclose(losses, data["losses"], rtol=1e-4)
    for i, weight in enumerate(model.get_weights()):
        expected = data[f"w1_{i}"]
        np.testing.assert_allclose(weight, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max(),
                                   err_msg=spec["weight_names"][i])


def _wrapped_model(regularized=True):
    from rnnkit.layers import Bidirectional, TimeDistributed
    penalties = dict(kernel_regularizer=regularizers.L2(0.1), recurrent_regularizer=regularizers.L1(0.05),
                     bias_regularizer=regularizers.L1L2(0.02, 0.03)) if regularized else {}
    dense_penalties = dict(kernel_regularizer=regularizers.OrthogonalRegularizer(0.2, "columns"),
                           bias_regularizer=regularizers.L2(0.4)) if regularized else {}
    return Sequential([Input(shape=(4, 3)), Bidirectional(LSTM(3, return_sequences=True, **penalties)),
                       TimeDistributed(Dense(2, **dense_penalties))])


def test_penalties_of_wrapped_layers_enter_the_loss_and_its_gradient():
    """Keras sums the inner layers' losses: a Bidirectional's forward and backward copies each add
    their penalty, a TimeDistributed's layer once. The penalized loss (what evaluate reports) is
    judged by finite differences against the gradient one SGD step with learning rate 1 applies."""
    backend.set_floatx("float64")
    try:
        rng = np.random.default_rng(5)
        model, plain = _wrapped_model(), _wrapped_model(regularized=False)
        weights = [rng.normal(size=w.shape) * 0.5 for w in model.get_weights()]
        model.set_weights(weights)
        plain.set_weights(weights)
        for m in (model, plain):
            m.compile(optimizer=optimizers.SGD(learning_rate=1.0), loss="mse")
        x, y = rng.normal(size=(5, 4, 3)), rng.normal(size=(5, 4, 2))
        lstm_kernels = weights[:6]          # forward kernel, recurrent, bias; then the backward copy's
        expected = sum(0.1 * np.sum(k ** 2) + 0.05 * np.abs(r).sum() + 0.02 * np.abs(b).sum() + 0.03 * np.sum(b ** 2)
                       for k, r, b in (lstm_kernels[:3], lstm_kernels[3:]))
        expected += keras_orthogonal_penalty(weights[6], 0.2, "columns") + 0.4 * np.sum(weights[7] ** 2)
        assert model.evaluate(x, y, verbose=0) - plain.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-12)

        arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
        model.train_on_batch(x, y)
        grads = {f"w{i}": arrays[f"w{i}"] - new for i, new in enumerate(model.get_weights())}   # w - 1 * dL/dw

        def loss():
            model.set_weights(list(arrays.values()))
            return model.evaluate(x, y, verbose=0)
        assert_loss_gradients(loss, arrays, grads)
    finally:
        backend.set_floatx("float32")


def test_constraints_of_wrapped_layers_apply_after_each_step():
    from rnnkit.layers import Bidirectional, TimeDistributed
    model = Sequential([Input(shape=(4, 3)),
                        Bidirectional(LSTM(3, return_sequences=True, kernel_constraint=constraints.NonNeg())),
                        TimeDistributed(Dense(2, kernel_constraint=constraints.MaxNorm(0.1)))])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.5), loss="mse")
    rng = np.random.default_rng(6)
    model.train_on_batch(rng.normal(size=(5, 4, 3)), rng.normal(size=(5, 4, 2)))
    bidirectional, distributed = model.layers
    assert bidirectional.forward_layer.weights["kernel"].min() >= 0
    assert bidirectional.backward_layer.weights["kernel"].min() >= 0
    norms = np.sqrt((distributed.layer.weights["kernel"] ** 2).sum(axis=0))
    assert norms.max() <= 0.1 + 1e-6


# tf_keras's Layer.__call__ adds activity_regularizer(y) / (y's batch) for every output y of every
# call: a Bidirectional's two directions are each called on the (B, ...) input; a TimeDistributed's
# layer is called once on the steps folded into the batch, (B*T, ...), so its penalty is / (B*T).
# (Checked once against tf_keras 2.21 on a saved model: evaluate 2.0722492 in both.)

def test_bidirectional_directions_each_add_their_activity_penalty():
    from rnnkit.layers import Bidirectional, SimpleRNN
    backend.set_floatx("float64")
    try:
        model = Sequential([Input(shape=(4, 3)),
                            Bidirectional(SimpleRNN(2, activity_regularizer=regularizers.L1(0.2)))])
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        rng = np.random.default_rng(8)
        x, y = rng.normal(size=(5, 4, 3)), rng.normal(size=(5, 4))
        out = model.predict(x, verbose=0)             # [h_forward, h_backward]: the two inner outputs
        expected = np.mean((out - y) ** 2) + 0.2 * np.abs(out).sum() / 5
        assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-12)
        assert model.train_on_batch(x, y) == pytest.approx(expected, rel=1e-12)
    finally:
        backend.set_floatx("float32")


def test_time_distributed_activity_penalty_is_divided_by_batch_times_steps():
    from rnnkit.layers import TimeDistributed
    backend.set_floatx("float64")
    try:
        model = Sequential([Input(shape=(4, 3)),
                            TimeDistributed(Dense(2, activation="tanh", activity_regularizer=regularizers.L2(0.3)))])
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        rng = np.random.default_rng(9)
        x, y = rng.normal(size=(5, 4, 3)), rng.normal(size=(5, 4, 2))
        w, b = model.get_weights()
        h = np.tanh(x @ w + b)
        expected = np.mean((h - y) ** 2) + 0.3 * np.sum(h ** 2) / (5 * 4)
        assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-12)
        assert model.train_on_batch(x, y) == pytest.approx(expected, rel=1e-12)
    finally:
        backend.set_floatx("float32")


def _wrapped_activity_models():
    import rnnkit as keras
    from rnnkit.layers import GRU, Bidirectional, TimeDistributed
    sequential = Sequential([
        Input(shape=(4, 3)),
        Bidirectional(LSTM(3, return_sequences=True, activity_regularizer=regularizers.L2(0.4)), merge_mode="ave"),
        TimeDistributed(Dense(2, activation="tanh", activity_regularizer=regularizers.L2(0.5)))])
    inputs = Input(shape=(4, 3))        # states returned by the directions are regularized too
    sequence, h_forward, h_backward = Bidirectional(
        GRU(3, return_sequences=True, return_state=True, activity_regularizer=regularizers.L2(0.3)),
        merge_mode="sum")(inputs)
    distributed = TimeDistributed(Dense(2, activity_regularizer=regularizers.L2(0.5)))(sequence)
    joined = keras.layers.concatenate([keras.layers.Flatten()(distributed), h_forward, h_backward])
    functional = keras.Model(inputs, Dense(2)(joined))
    states_in = Input(shape=(4, 3))     # a layer called directly: its returned states are penalized too
    last, h, c = LSTM(3, return_state=True, activity_regularizer=regularizers.L2(0.3))(states_in)
    direct = keras.Model(states_in, Dense(2)(keras.layers.concatenate([last, h, c])))
    return {"sequential": (sequential, (5, 4, 2)), "functional": (functional, (5, 2)), "direct": (direct, (5, 2))}


def test_every_output_of_a_regularized_call_is_penalized_as_tf_keras_does():
    # tf_keras adds regularizer(output) / batch for each flattened output of the call (an LSTM with
    # return_state gives three penalties: output, h and c).
    import rnnkit as keras
    backend.set_floatx("float64")
    try:
        model, target_shape = _wrapped_activity_models()["direct"]
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        rng = np.random.default_rng(12)
        x, y = rng.normal(size=(5, 4, 3)), rng.normal(size=target_shape)
        lstm = model.layers[1]
        states = keras.Model(model.inputs[0], lstm.output).predict(x, verbose=0)
        expected = np.mean((model.predict(x, verbose=0) - y) ** 2) + sum(0.3 * np.sum(v ** 2) / 5 for v in states)
        assert len(states) == 3
        assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-12)
    finally:
        backend.set_floatx("float32")


@pytest.mark.parametrize("kind", ["sequential", "functional", "direct"])
def test_wrapped_activity_penalties_train_on_the_gradient_of_the_penalized_loss(kind):
    # The loss is what evaluate reports (data loss + every penalty); its gradient is read off one
    # SGD step with learning rate 1 (w_after = w - g) and judged by central differences. L2 only:
    # L1's kink at 0 breaks central differences wherever an output comes near 0.
    import rnnkit as keras
    backend.set_floatx("float64")
    try:
        keras.utils.set_random_seed(11)
        model, target_shape = _wrapped_activity_models()[kind]
        model.compile(optimizer=optimizers.SGD(1.0), loss="mse")
        rng = np.random.default_rng(10)
        x, y = rng.normal(size=(5, 4, 3)), rng.normal(size=target_shape)
        arrays = {f"{layer.name}/{key}": w for layer in model.layers for key, w in layer.weights.items()}
        penalized = model.evaluate(x, y, verbose=0)
        plain = np.mean((model.predict(x, verbose=0) - y) ** 2)
        assert penalized > 1.1 * plain                 # the penalties weigh enough to be seen
        before = {name: w.copy() for name, w in arrays.items()}
        model.train_on_batch(x, y)
        grads = {name: before[name] - w for name, w in arrays.items()}
        for name, w in arrays.items():
            w[...] = before[name]
        assert_loss_gradients(lambda: model.evaluate(x, y, verbose=0), arrays, grads)
    finally:
        backend.set_floatx("float32")
