"""rnnkit.saving.export_onnx on models holding models (a functional Model or a Sequential used as a
layer), run by onnxruntime. The nested models are inlined; the judges are Keras's own predictions
for Keras-made files (tests/fixtures_local/nested/) and rnnkit's predict for built models (whose
nested semantics tests/models/test_nested_models.py and test_nested_files.py check against Keras)."""

import numpy as np
import onnx
import pytest

import rnnkit as keras
from models.test_nested_files import NESTED, build_models, keras_inputs
from rnnkit.layers import LSTM, Dense, Embedding, GlobalMaxPooling1D, Input, SimpleRNN
from rnnkit.models import Model, Sequential
from rnnkit.saving import export_onnx
from saving.test_onnx_export_functional import randomized, right_padded, run_onnx


def assert_onnx_matches(path, xs, expected):
    got = run_onnx(path, xs)
    expected = expected if isinstance(expected, list) else [expected]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["chain", "masked", "twice"])
def test_built_nested_models_export_what_predict_computes(tmp_path, name):
    model, xs = build_models()[name]
    randomized(model, np.random.default_rng(5))
    report = export_onnx(model, tmp_path / "m.onnx", mask_padding="right")
    assert bool(report["notes"]) == (name == "masked")
    xs = [x.astype("int32") if x.dtype.kind == "i" else x for x in xs]
    assert_onnx_matches(tmp_path / "m.onnx", xs, model.predict(xs if len(xs) > 1 else xs[0], verbose=0))


@pytest.mark.parametrize("flavor", ["tf_keras", "keras3"])
@pytest.mark.parametrize("name", ["chain", "masked", "twice"])
def test_keras_files_with_nested_models_export_keras_numbers(tmp_path, flavor, name):
    expected = np.load(NESTED / f"expected_{flavor}.npz")
    model = keras.models.load_model(NESTED / f"{name}_{flavor}.{'h5' if flavor == 'tf_keras' else 'keras'}")
    export_onnx(model, tmp_path / "m.onnx", mask_padding="right")
    assert_onnx_matches(tmp_path / "m.onnx", keras_inputs(expected, name), expected[f"{name}_y"])


def test_a_nested_model_called_twice_shares_its_initializers(tmp_path):
    model, xs = build_models()["twice"]
    export_onnx(model, tmp_path / "m.onnx")
    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    lstm_nodes = [node for node in graph.node if node.op_type == "LSTM"]
    assert len(lstm_nodes) == 2                                   # one per call
    assert lstm_nodes[0].input[1:4] == lstm_nodes[1].input[1:4]   # over one W, R, B
    # every weight once: the initializers' float32 arrays of rank >= 1 hold the parameters, and
    # the zero half of ONNX's LSTM bias B = [Wb, Rb] (4 units of the tower's LSTM(3) per gate set)
    weights = [a for a in map(onnx.numpy_helper.to_array, graph.initializer) if a.dtype == np.float32 and a.ndim]
    assert sum(a.size for a in weights) == sum(w.size for w in model.get_weights()) + 4 * 3


def test_the_mask_passes_into_and_out_of_nested_models(tmp_path):
    """Embedding(mask_zero) outside; inside, a Sequential nested in a functional model whose
    SimpleRNN returns sequences, so its output mask must reach the outer LSTM."""
    inner_stack = Sequential([Input(shape=(7, 4)), SimpleRNN(3, return_sequences=True)], name="inner_stack")
    inner_in = Input(shape=(7, 4))
    middle = Model(inner_in, Dense(4, activation="tanh")(inner_stack(inner_in)), name="middle")
    ids = Input(shape=(7,), dtype="int32")
    outer = Model(ids, Dense(2)(LSTM(3)(middle(Embedding(12, 4, mask_zero=True)(ids)))), name="outer")
    rng = np.random.default_rng(3)
    randomized(outer, rng)
    x = right_padded(rng, [7, 2, 5, 1], 7, vocabulary=12)
    predicted = outer.predict(x, verbose=0)
    export_onnx(outer, tmp_path / "m.onnx", mask_padding="right")
    assert_onnx_matches(tmp_path / "m.onnx", [x], predicted)
    # the same model read as if unmasked differs: the test can tell a lost mask
    unmasked = x.copy()
    unmasked[unmasked == 0] = 11
    assert np.abs(outer.predict(unmasked, verbose=0) - predicted).max() > 1e-3


def test_a_sequential_nested_in_a_sequential_reading_tokens(tmp_path):
    inner = Sequential([Input(shape=(5,), dtype="int32"), Embedding(10, 3, mask_zero=True),
                        LSTM(2, return_sequences=True)], name="inner")
    model = randomized(Sequential([Input(shape=(5,), dtype="int32"), inner, LSTM(2)]), np.random.default_rng(4))
    x = right_padded(np.random.default_rng(6), [5, 3, 1], 5, vocabulary=10)
    with pytest.raises(ValueError, match="mask_padding='right'"):
        export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    report = export_onnx(model, tmp_path / "m.onnx", mask_padding="right")
    assert report["inputs"]["input"][1] == "int32"
    assert_onnx_matches(tmp_path / "m.onnx", [x], model.predict(x, verbose=0))


def test_an_inner_layer_onnx_cannot_express_is_refused_by_its_name(tmp_path):
    inner_in = Input(shape=(4, 3))
    pooled = Model(inner_in, GlobalMaxPooling1D(name="inner_pool")(LSTM(2, return_sequences=True)(inner_in)),
                   name="pooled")
    x = Input(shape=(4, 3))
    model = Model(x, Dense(1)(pooled(x)))
    with pytest.raises(ValueError, match="Layer 'inner_pool' .* cannot be exported to ONNX"):
        export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
