"""Shared test helpers: where the Keras fixtures live and how to read their weights."""

import json
import pathlib
import re

import numpy as np
import pytest

import gradient_judge
from rnnkit import backend

FIXTURES = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


@pytest.fixture(autouse=True)
def fresh_session():
    """Every test starts with Keras's automatic names reset and float32."""
    backend.clear_session()
    backend.set_floatx("float32")
    yield
    backend.set_floatx("float32")


def fixture_index(version):
    return json.loads((FIXTURES / version / "index.json").read_text())["cases"]


def _sort_key(path):
    # forward_layer before backward_layer, vars in numeric order: Keras's get_weights() order.
    rank = {"forward_layer": 0, "backward_layer": 1}
    return [(rank.get(part, 2), int(part) if part.isdigit() else 0, part) for part in path.split("/")]


def _snake(name):
    return backend.to_snake_case(name)


def read_keras_weights(path, layer_classes):
    """The arrays of a `.weights.h5` (Keras 3 layout, also written by tf_keras 2.21) in
    `model.get_weights()` order. Layers are stored under `layers/<snake class>[_k]`."""
    import h5py

    counts, arrays = {}, []
    with h5py.File(path, "r") as f:
        for class_name in layer_classes:
            base = _snake(class_name)
            k = counts.get(base, 0)
            counts[base] = k + 1
            group = f["layers"][base if k == 0 else f"{base}_{k}"]
            found = []
            group.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
            for name in sorted(found, key=_sort_key):
                arrays.append(np.array(group[name]))
    return arrays


def load_case(version, name):
    case = fixture_index(version)[name]
    io = np.load(FIXTURES / version / case["io"])
    weights = read_keras_weights(FIXTURES / version / f"{name}.weights.h5", case["layers"])
    return case, io["x"], io["y"], weights


def keras2_config(name):
    """The layer configs of a Keras 2 `.h5` model file (the architecture to rebuild)."""
    import h5py

    with h5py.File(FIXTURES / "keras2" / f"{name}.h5", "r") as f:
        config = json.loads(f.attrs["model_config"])
    return [layer for layer in config["config"]["layers"] if layer["class_name"] != "InputLayer"]


def finite_difference_check(f, params, grads, eps=gradient_judge.STEP, samples=None):
    """The worst elementwise relative error of `grads` against the independent judge's central
    differences over every element of `params` (tests/gradient_judge.py; not rnnkit's own helper,
    which is under test itself); inf when the judge refuses the check. `samples` is ignored:
    every element is checked. New tests call gradient_judge directly and get its per-array table."""
    verdict = gradient_judge.compare(f, {f"param_{k}": p for k, p in enumerate(params)},
                                     {f"param_{k}": g for k, g in enumerate(grads)}, step=eps)
    return verdict.max_rel_error if not verdict.problems else float("inf")


def strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


# Where a written config may differ from Keras's own, and why:
# - `shared_object_id`: Keras 3 numbers objects shared between layers by their memory address in
#   the writing process; it differs between any two Keras processes too.
# - an InputLayer's `name`: Keras's automatic-name counter in the writing process (`input_1` in a
#   fresh process, `input_2` after one model); rnnkit's counter is its own.
DOCUMENTED_DIFFERENCES = {"shared_object_id"}


def config_differences(ours, theirs, path="$", input_layer=False):
    """Every place where two configs differ, value for value, except the documented keys."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found = []
        for key in sorted(set(ours) | set(theirs)):
            if key in DOCUMENTED_DIFFERENCES or (input_layer and key == "name"):
                continue
            if key == "config" and ours.get("class_name") == "InputLayer" == theirs.get("class_name"):
                found += config_differences(ours[key], theirs[key], f"{path}.{key}", input_layer=True)
                continue
            if key not in ours or key not in theirs:
                found.append((f"{path}.{key}", ours.get(key, "<absent>"), theirs.get(key, "<absent>")))
            else:
                found += config_differences(ours[key], theirs[key], f"{path}.{key}")
        return found
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [d for i, (a, b) in enumerate(zip(ours, theirs)) for d in config_differences(a, b, f"{path}[{i}]")]
    if ours == theirs or (isinstance(ours, float) and isinstance(theirs, float) and abs(ours - theirs) <= 1e-12):
        return []
    return [(path, ours, theirs)]
