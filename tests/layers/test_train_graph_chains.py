"""tf_keras training runs of train_graph/ whose functional model is a chain through issue 13's
layers (Conv1D, MaxPooling1D, BatchNormalization, LayerNormalization, GlobalAveragePooling1D),
replayed as a Sequential built from the recorded layer configs: w0, the recorded optimizer, N
train_on_batch calls on the recorded batch. Every loss and every final weight, BatchNormalization's
moving statistics included, must equal tf_keras's to 1e-4 relative. This pins the layers' backward
passes and the training-time statistics update end to end (the functional model itself waits for
functional training, issues 11 and 12)."""

import json

import numpy as np
import pytest

from conftest import FIXTURES
from rnnkit import optimizers
from rnnkit.layers import Input, deserialize
from rnnkit.models import Sequential
from rnnkit.saving.keras_config import to_rnnkit

FOLDER = FIXTURES / "train_graph"


@pytest.mark.parametrize("name", ["lstm_batchnorm_sgd_momentum", "conv1d_maxpool_lstm_nadam", "gru_layernorm_adamax"])
def test_a_chain_through_the_new_layers_trains_as_tf_keras_did(name):
    spec = json.loads((FOLDER / f"{name}.json").read_text())
    data = np.load(FOLDER / f"{name}.npz")
    layers = []
    for layer in spec["model"]["config"]["layers"]:
        if layer["class_name"] == "InputLayer":
            layers.append(Input(shape=tuple(layer["config"]["batch_input_shape"][1:])))
        else:
            layers.append(deserialize(to_rnnkit(layer)))
    model = Sequential(layers)
    model.set_weights([data[f"w0_{i}"] for i in range(len(spec["weight_shapes"]))])
    model.compile(optimizer=optimizers.get(spec["optimizer"]), loss=spec["loss"], metrics=spec["metrics"])
    losses = []
    for _ in range(spec["steps"]):
        out = model.train_on_batch(data["x0"], data["y0"])
        losses.append(out[0] if isinstance(out, list) else out)
    np.testing.assert_allclose(losses, data["losses"], rtol=1e-4)
    for i, (weight, name_i) in enumerate(zip(model.get_weights(), spec["weight_names"])):
        expected = data[f"w1_{i}"]
        np.testing.assert_allclose(weight, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max(), err_msg=name_i)
