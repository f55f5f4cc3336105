"""Functional models train as tf_keras trained them: every `train_graph/` run whose graph rnnkit
can build and train is rebuilt from its own JSON (`model_from_json`), started from `w0`, compiled
as recorded, and stepped N times on the recorded batch. Every result of every step and the final
weights must equal Keras's to 1e-4 relative. These are the end-to-end checks of the graph's
backward pass: several inputs, states handed from an encoder to a decoder, masked decoder losses,
merges, and shared tensors whose gradients add up."""

import json

import numpy as np
import pytest

from conftest import FIXTURES
from rnnkit import optimizers
from rnnkit.models import model_from_json

FOLDER = FIXTURES / "train_graph"
RUNS = sorted(p.stem for p in FOLDER.glob("*.json"))


def trainable(name):
    spec = json.loads((FOLDER / f"{name}.json").read_text())
    try:
        model = model_from_json(json.dumps(spec["model"]))
        model.compile(optimizer="sgd", loss=spec["loss"] if isinstance(spec["loss"], str) else "mse")
        return True
    except (ValueError, TypeError, NotImplementedError):
        return False


TRAINABLE = [name for name in RUNS if trainable(name)]


@pytest.mark.parametrize("name", TRAINABLE)
def test_functional_training_replays_tf_keras(name):
    spec = json.loads((FOLDER / f"{name}.json").read_text())
    data = np.load(FOLDER / f"{name}.npz")
    model = model_from_json(json.dumps(spec["model"]))
    weights = [data[f"w0_{i}"] for i in range(len(spec["weight_shapes"]))]
    model.set_weights(weights)
    model.compile(optimizer=optimizers.get(spec["optimizer"]), loss=spec["loss"], metrics=spec["metrics"],
                  weighted_metrics=spec["weighted_metrics"], loss_weights=spec["loss_weights"])
    assert model.metrics_names == spec["result_names"]
    inputs = [data[f"x{i}"] for i in range(len(model.inputs))]
    targets = [data[f"y{i}"] for i in range(len(model.outputs))]
    kwargs = {"sample_weight": data["sw0"]} if "sw0" in data.files else {}
    results = []
    for _ in range(spec["steps"]):
        out = model.train_on_batch(inputs if len(inputs) > 1 else inputs[0],
                                   targets if len(targets) > 1 else targets[0], **kwargs)
        results.append(out if isinstance(out, list) else [out])
    np.testing.assert_allclose(np.array(results), data["results"], rtol=1e-4)
    # 1e-4 relative, the scale taken per layer (a one-element bias of 1e-3 next to a kernel of 0.5
    # is held to the layer's scale: float32 rounding of its few updates is ~3e-7 absolute).
    index = 0
    for layer in model.layers:
        arrays = [data[f"w1_{index + k}"] for k in range(len(layer.get_weights()))]
        scale = max((np.abs(a).max() for a in arrays), default=0.0)
        for k, weight in enumerate(layer.get_weights()):
            np.testing.assert_allclose(weight, arrays[k], rtol=1e-4, atol=1e-4 * scale, err_msg=f"w1_{index + k}")
        index += len(arrays)


def test_the_seq2seq_runs_are_among_the_replays():
    # The graph's backward is only proven where a run needs it: states crossing from an encoder to
    # a decoder, and a masked decoder loss.
    assert {"seq2seq_lstm_teacher_forcing_rmsprop", "seq2seq_gru_tokens_masked_loss_adam",
            "multi_output_loss_weights_adam"} <= set(TRAINABLE)
