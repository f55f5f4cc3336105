"""Files made by an attacker or a careless tool: loading reads nothing outside the file, costs no
more than the file's real contents, and every refusal is a FileFormatError naming the file and the
place inside it."""

import io
import json
import os
import shutil
import zipfile

import h5py
import numpy as np
import pytest

from conftest import FIXTURES
from rnnkit import initializers
from rnnkit.models import Sequential, load_model
from rnnkit.saving import FileFormatError

H5_SOURCE = FIXTURES / "keras2" / "simple_rnn_seq.h5"
KERAS_SOURCE = FIXTURES / "keras3" / "simple_rnn_seq.keras"
KERNEL = "model_weights/simple_rnn/simple_rnn/simple_rnn_cell/kernel:0"


@pytest.fixture
def h5_copy(tmp_path):
    target = tmp_path / "model.h5"
    shutil.copy(H5_SOURCE, target)
    os.chmod(target, 0o644)
    return target


def refused(path, *fragments):
    """Loads `path`, expecting a FileFormatError that names the file and every fragment."""
    with pytest.raises(FileFormatError) as caught:
        load_model(path)
    message = str(caught.value)
    assert os.fspath(path) in message and caught.value.filename == os.fspath(path)
    for fragment in fragments:
        assert fragment in message, message
    return caught.value


def replace_kernel(path, **create):
    with h5py.File(path, "r+") as f:
        group = f[KERNEL.rsplit("/", 1)[0]]
        shape = group["kernel:0"].shape
        del group["kernel:0"]
        if create:
            group.create_dataset("kernel:0", shape=create.pop("shape", shape), **create)
        return group, shape


# ---- nothing outside the file -------------------------------------------------------------------------
def test_external_storage_is_refused_and_the_secret_never_read(h5_copy, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(np.full(20, 7.0, "float32").tobytes())
    replace_kernel(h5_copy, dtype="float32", external=[(os.fspath(secret), 0, 80)])
    error = refused(h5_copy, "external storage", KERNEL)
    assert error.location == KERNEL


def test_external_link_is_refused(h5_copy, tmp_path):
    other = tmp_path / "other.h5"
    shutil.copy(H5_SOURCE, other)
    replace_kernel(h5_copy)
    with h5py.File(h5_copy, "r+") as f:
        f[KERNEL] = h5py.ExternalLink(os.fspath(other), KERNEL)
    refused(h5_copy, "external link", KERNEL)


def test_virtual_dataset_is_refused(h5_copy, tmp_path):
    other = tmp_path / "other.h5"
    shutil.copy(H5_SOURCE, other)
    _, shape = replace_kernel(h5_copy)
    with h5py.File(h5_copy, "r+") as f:
        layout = h5py.VirtualLayout(shape=shape, dtype="float32")
        layout[:] = h5py.VirtualSource(os.fspath(other), KERNEL, shape=shape)
        f.create_virtual_dataset(KERNEL, layout)
    refused(h5_copy, "virtual dataset", KERNEL)


def test_external_storage_inside_a_keras_archive_is_refused(tmp_path):
    with zipfile.ZipFile(KERAS_SOURCE) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    secret = tmp_path / "secret"
    secret.write_bytes(np.full(20, 7.0, "float32").tobytes())
    buffer = io.BytesIO(entries["model.weights.h5"])
    with h5py.File(buffer, "r+") as f:
        group = f["layers/simple_rnn/cell/vars"]
        shape = group["0"].shape
        del group["0"]
        group.create_dataset("0", shape=shape, dtype="float32", external=[(os.fspath(secret), 0, 80)])
    entries["model.weights.h5"] = buffer.getvalue()
    target = tmp_path / "m.keras"
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    refused(target, "external storage", "model.weights.h5/layers/simple_rnn/cell/vars/0")


def test_only_regular_files_are_opened(tmp_path):
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    refused(fifo, "not a regular file", "FIFO")  # would block forever if opened
    refused(tmp_path, "not a TensorFlow SavedModel", "folder")  # a folder is read only as a SavedModel
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        load_model(tmp_path / "missing.h5")


# ---- bounded memory and time ----------------------------------------------------------------------------
def test_a_dataset_whose_bytes_are_not_in_the_file_is_refused(h5_copy):
    # Same shape as the layer's kernel, but no storage allocated: its data would be the fill value.
    with h5py.File(h5_copy, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][1]["config"]["units"] = 3000
        f.attrs["model_config"] = json.dumps(config)
    replace_kernel(h5_copy, shape=(4, 3000), dtype="float32")
    refused(h5_copy, "declares 48000 bytes but stores 0", KERNEL)


def test_a_declared_shape_is_compared_before_anything_is_read(h5_copy):
    replace_kernel(h5_copy, shape=(2**27, 4), dtype="float32")  # 2 GiB declared, nothing stored
    refused(h5_copy, "must have shape (4, 5)", "Received: shape (134217728, 4)")


def test_a_config_that_does_not_fit_its_weights_draws_no_initial_weights(h5_copy, monkeypatch):
    with h5py.File(h5_copy, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][1]["config"]["units"] = 6000
        f.attrs["model_config"] = json.dumps(config)

    def must_not_run(self, shape, dtype=None):
        raise AssertionError(f"initial weights drawn for {shape} while loading")

    for name in ("GlorotUniform", "Orthogonal", "RandomUniform", "Zeros"):
        monkeypatch.setattr(getattr(initializers, name), "__call__", must_not_run)
    refused(h5_copy, "must have shape (4, 6000)")
    model = load_model(H5_SOURCE)  # and a fitting file loads without drawing them either
    assert model.layers[0].units == 5


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    target = tmp_path / "bomb.keras"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (64 * 2**20))
        archive.writestr("model.weights.h5", b"x")
    assert target.stat().st_size < 200_000
    refused(target, "config.json", "inflate")


def test_duplicated_archive_entries_are_refused(tmp_path):
    target = tmp_path / "twice.keras"
    with zipfile.ZipFile(KERAS_SOURCE) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    with pytest.warns(UserWarning), zipfile.ZipFile(target, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        archive.writestr("config.json", b"{}")
    refused(target, "config.json", "twice")


@pytest.mark.parametrize("text,fragment", [
    ("[" * 100_000 + "]" * 100_000, "nests deeper"),
    ("5", "must be a JSON object"),
    ('{"class_name": "Sequential", "config": 5}', "needs a list of layers"),
    ('{"class_name": "Functional", "config": {}}', "needs a list of layers"),
    ('{"class_name": "Subclassed", "config": {}}', "Sequential"),
    ('{"class_name": "Sequential", "config": {"layers": [5]}}', "config.layers[0]"),
    ('{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": []}]}}', "config"),
    ('{"class_name": "Sequential", "config": {"layers": [{"class_name": "LSTM", "config": {"units": NaN}}]}}',
     "not valid JSON"),
    ("{not json", "not valid JSON"),
])
def test_malformed_configs_name_the_place(h5_copy, text, fragment):
    with h5py.File(h5_copy, "r+") as f:
        f.attrs["model_config"] = text
    error = refused(h5_copy, fragment)
    assert error.location.startswith("@model_config")


def test_model_config_of_the_wrong_type_is_refused_before_reading(h5_copy):
    with h5py.File(h5_copy, "r+") as f:
        f.attrs["model_config"] = np.arange(1000)
    refused(h5_copy, "@model_config", "must be one string")


def test_nested_bidirectional_is_refused(h5_copy):
    with h5py.File(h5_copy, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layer = rnn = config["config"]["layers"][1]
        for level in range(24):
            layer = {"class_name": "Bidirectional", "config": {"name": f"b{level}", "layer": layer}}
        config["config"]["layers"][1] = layer
        f.attrs["model_config"] = json.dumps(config)
    refused(h5_copy, "@model_config.config.layers[1]")
    with h5py.File(h5_copy, "r+") as f:
        inner = {"class_name": "Bidirectional", "config": {"name": "inner", "layer": rnn}}
        config["config"]["layers"][1] = {"class_name": "Bidirectional", "config": {"name": "b", "layer": inner}}
        f.attrs["model_config"] = json.dumps(config)
    refused(h5_copy, "Bidirectional wraps a recurrent layer")


def test_twenty_thousand_layers_load(h5_copy):
    # Loading was quadratic in the number of layers (21 s for this file); it must stay linear.
    with h5py.File(h5_copy, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"] += [{"class_name": "Dropout", "config": {"name": f"drop_{i}", "rate": 0.1}}
                                       for i in range(20_000)]
        f.attrs["model_config"] = json.dumps(config)
    assert len(load_model(h5_copy).layers) == 20_001


# ---- HDF5 filters: only those h5py writes by itself ------------------------------------------------------
@pytest.mark.parametrize("filters", [dict(compression="lzf"), dict(compression="gzip", compression_opts=9),
                                     dict(compression="gzip", shuffle=True, fletcher32=True),
                                     dict(compression="lzf", shuffle=True, fletcher32=True)])
def test_gzip_lzf_shuffle_and_fletcher32_datasets_load(h5_copy, filters):
    with h5py.File(h5_copy, "r") as f:
        kernel = f[KERNEL][()]
    expected = [w.copy() for w in load_model(h5_copy).get_weights()]
    replace_kernel(h5_copy, data=kernel, chunks=kernel.shape, **filters)
    with h5py.File(h5_copy, "r") as f:
        assert f[KERNEL].compression == filters["compression"]   # the premise: the filters are there
    for got, want in zip(load_model(h5_copy).get_weights(), expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("filters,code", [
    (dict(scaleoffset=4), 6),                                              # h5py's own scale-offset
    (dict(compression=32001, allow_unknown_filter=True), 32001),           # blosc's plugin id
    (dict(compression=307, allow_unknown_filter=True), 307),               # an id nobody registered here
] + ([(dict(compression="szip"), 4)] if h5py.h5z.filter_avail(h5py.h5z.FILTER_SZIP) else []))
def test_other_hdf5_filters_are_refused_naming_dataset_and_filter(h5_copy, filters, code):
    with h5py.File(h5_copy, "r") as f:
        kernel = f[KERNEL][()]
    plugin = filters.get("allow_unknown_filter")   # its codec is absent, so no data can be written through it
    replace_kernel(h5_copy, chunks=kernel.shape, dtype="float32", **({} if plugin else {"data": kernel}), **filters)
    error = refused(h5_copy, KERNEL, f"HDF5 filter {code}", "gzip, shuffle, fletcher32 and lzf")
    assert error.location == KERNEL


# ---- values ---------------------------------------------------------------------------------------------
def test_values_that_overflow_float32_are_refused(h5_copy):
    replace_kernel(h5_copy, data=np.full((4, 5), 1e39))
    refused(h5_copy, KERNEL, "not finite as float32")


def test_non_numeric_weights_are_refused(h5_copy):
    replace_kernel(h5_copy, data=np.array([[b"abc"] * 5] * 4))
    refused(h5_copy, KERNEL, "plain numbers")


def test_a_group_where_a_dataset_belongs_is_refused(h5_copy):
    with h5py.File(h5_copy, "r+") as f:
        del f[KERNEL]
        f.create_group(KERNEL)
    refused(h5_copy, KERNEL, "must be a dataset")


@pytest.mark.parametrize("class_name", ["MyModel", 7])
def test_a_model_class_neither_sequential_nor_functional_is_refused_saying_why(h5_copy, class_name):
    with h5py.File(h5_copy, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["class_name"] = class_name
        f.attrs["model_config"] = json.dumps(config)
    error = refused(h5_copy, "loads Sequential and functional", "subclassed model's call() is Python code",
                    f"Received: a {class_name if isinstance(class_name, str) else 'int'!r} model")
    assert error.location == "@model_config.class_name" and "not supported yet" not in str(error)


def test_keras_2_list_form_sequential_config_loads(h5_copy):
    # Keras 2.0-2.1 wrote a Sequential's config as the plain list of its layers.
    with h5py.File(h5_copy, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layers = config["config"]["layers"]
        layers[1]["config"]["batch_input_shape"] = layers[0]["config"]["batch_input_shape"]
        config["config"] = layers[1:]
        f.attrs["model_config"] = json.dumps(config)
    data = np.load(FIXTURES / "keras2" / "simple_rnn_seq.npz")
    np.testing.assert_allclose(load_model(h5_copy).predict(data["x"], verbose=0), data["y"], atol=1e-5, rtol=0)


def test_load_weights_refuses_a_hostile_weights_file_and_keeps_the_weights(tmp_path):
    model = load_model(H5_SOURCE)
    before = model.get_weights()
    target = tmp_path / "w.weights.h5"
    shutil.copy(FIXTURES / "keras2" / "simple_rnn_seq.weights.h5", target)
    os.chmod(target, 0o644)
    secret = tmp_path / "secret"
    secret.write_bytes(np.full(20, 7.0, "float32").tobytes())
    with h5py.File(target, "r+") as f:
        group = f["layers/simple_rnn/cell/vars"]
        del group["0"]
        group.create_dataset("0", shape=(4, 5), dtype="float32", external=[(os.fspath(secret), 0, 80)])
    with pytest.raises(FileFormatError, match="external storage"):
        model.load_weights(target)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert isinstance(Sequential, type)


def test_a_variable_length_string_attribute_over_the_limit_is_refused_naming_it(tmp_path, monkeypatch):
    # h5py stores str attributes as variable-length strings, whose storage size is a reference's,
    # so the limit is checked on the text read; a smaller limit stands in for a 64 MiB config.
    from rnnkit.saving import guarded
    path = tmp_path / "big_config.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": []}})
    monkeypatch.setattr(guarded, "MAX_STRING_ATTRIBUTE", 16)
    with h5py.File(path, "r") as handle:
        with pytest.raises(FileFormatError, match=r"big_config\.h5.*model_config.*larger than 16 bytes"):
            guarded.read_string_attribute(handle, "model_config", str(path), "/")
