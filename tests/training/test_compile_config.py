"""get_compile_config / compile_from_config and the optimizer's config: plain JSON data that
rebuilds the same training (the hook the saving code uses)."""

import json

import numpy as np
import pytest

from rnnkit import metrics, optimizers
from rnnkit.layers import Dense, SimpleRNN
from rnnkit.models import Sequential, load_model
from rnnkit.optimizers import schedules
from rnnkit.utils import set_random_seed


def build(seed=0):
    set_random_seed(seed)
    return Sequential([SimpleRNN(3, input_shape=(4, 2)), Dense(1, activation="sigmoid")])


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4, 2)).astype("float32")
    return x, (x.sum(axis=(1, 2)) > 0).astype("float32")[:, None], rng.uniform(0.5, 2, 16)


def test_compile_config_round_trips_through_json():
    model = build()
    model.compile(optimizer=optimizers.AdamW(schedules.CosineDecay(0.01, 20, warmup_target=0.02, warmup_steps=3),
                                             weight_decay=0.01),
                  loss="binary_crossentropy", metrics=["acc", metrics.AUC(num_thresholds=50)],
                  weighted_metrics=["mae"])
    config = json.loads(json.dumps(model.get_compile_config()))
    assert config["optimizer"]["class_name"] == "AdamW"
    assert config["optimizer"]["config"]["learning_rate"]["class_name"] == "CosineDecay"
    assert config["metrics"][0] == "acc" and config["metrics"][1]["class_name"] == "AUC"
    twin = build()
    twin.compile_from_config(config)
    x, y, sw = data()
    a = model.fit(x, y, sample_weight=sw, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    b = twin.fit(x, y, sample_weight=sw, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    assert a == b and list(a) == ["loss", "acc", "auc", "weighted_mae"]


def test_a_saved_npz_keeps_the_compile_config(tmp_path):
    model = build()
    model.compile(optimizers.Nadam(0.01), "binary_crossentropy", weighted_metrics=["accuracy"])
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = load_model(path)
    assert isinstance(loaded.optimizer, optimizers.Nadam) and loaded.metrics_names == ["loss", "weighted_accuracy"]


def test_compile_from_config_refuses_what_it_cannot_build():
    model = build()
    with pytest.raises(ValueError, match="Received"):
        model.compile_from_config({"optimizer": "adam"})
    with pytest.raises(ValueError, match="optimizer"):
        model.compile_from_config({"optimizer": {"class_name": "Shampoo", "config": {}}, "loss": "mse"})
    assert model.get_compile_config() is None
