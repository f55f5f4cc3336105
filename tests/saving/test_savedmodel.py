"""TF SavedModel folders (tests/fixtures_local/savedmodel/, written by tf_keras 2.21 with
tools/make_savedmodel_fixtures.py): loaded without TensorFlow, they predict what tf_keras predicted;
the table and protobuf readers are checked on tables written here by an independent writer; damaged
or hostile folders give a FileFormatError naming the folder, the file and the place."""

import os
import pathlib
import shutil
import struct

import numpy as np
import pytest

from rnnkit.models import load_model
from rnnkit.saving import FileFormatError, convert, savedmodel

HERE = pathlib.Path(__file__).resolve().parents[1] / "fixtures_local" / "savedmodel"
CASES = sorted(p.name for p in HERE.iterdir() if p.is_dir())


def reference(name):
    data = np.load(HERE / f"{name}.npz")
    return data["x"], data["y"]


def test_there_are_four_cases():
    assert CASES == ["embedding_bidirectional_lstm", "gru_both_resets", "lstm_stack", "simple_rnn_dense"]


@pytest.mark.parametrize("name", CASES)
def test_savedmodel_predicts_what_tf_keras_predicted(name):
    model = load_model(HERE / name)
    x, y = reference(name)
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=1e-5, rtol=0)


@pytest.mark.parametrize("target", [".keras", ".h5"])
@pytest.mark.parametrize("name", CASES)
def test_savedmodel_converts(tmp_path, name, target):
    report = convert(HERE / name, tmp_path / f"m{target}", check=True)
    assert report["input_format"] == "savedmodel" and report["max_abs_diff"] < 1e-6
    x, y = reference(name)
    np.testing.assert_allclose(load_model(tmp_path / f"m{target}").predict(x, verbose=0), y, atol=1e-5)


# ---- an independent writer of TensorFlow's table format and bundle entries ------------------------
def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number, wire, payload):
    tag = varint(number << 3 | wire)
    return tag + (varint(payload) if wire == 0 else varint(len(payload)) + payload)


def bundle_entry(dtype, shape, offset, size, shard=0):
    dims = b"".join(field(2, 2, field(1, 0, d)) for d in shape)
    return (field(1, 0, dtype) + field(2, 2, dims) + (field(3, 0, shard) if shard else b"")
            + field(4, 0, offset) + field(5, 0, size))


def block(entries, restart_interval=2):
    out, restarts, previous = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = len(os.path.commonprefix([previous, key]))
        out += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
        previous = key
    out += b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))
    return bytes(out)


def table(entries, per_block=2, compression=0):
    data, index = bytearray(), []
    entries = sorted(entries)
    for start in range(0, len(entries), per_block):
        chunk = entries[start:start + per_block]
        contents = block(chunk)
        index.append((chunk[-1][0], varint(len(data)) + varint(len(contents))))
        data += contents + bytes([compression]) + b"\0\0\0\0"
    meta = block([])[:0] + struct.pack("<II", 0, 1)
    meta_handle = varint(len(data)) + varint(len(meta))
    data += meta + b"\0" * 5
    contents = block(index, restart_interval=1)
    index_handle = varint(len(data)) + varint(len(contents))
    data += contents + b"\0" * 5
    footer = (meta_handle + index_handle).ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57)
    return bytes(data + footer)


class Where(savedmodel._Where):
    def __init__(self):
        super().__init__("folder", "variables/variables.index")


def test_table_reader_on_many_blocks_and_shared_prefixes():
    entries = [(f"layer_with_weights-{i}/cell/kernel/x".encode(), bytes([i]) * i) for i in range(9)]
    entries.append((b"", b"header"))
    assert savedmodel.read_table(table(entries, per_block=3), Where()) == dict(entries)


def test_bundle_entry_fields():
    entry = savedmodel.bundle_entry(bundle_entry(1, [3, 12], 40, 144), Where())
    assert entry == {"dtype": 1, "shape": (3, 12), "shard_id": 0, "offset": 40, "size": 144, "sliced": False}


@pytest.mark.parametrize("damage,words", [
    (lambda t: t[:-1] + b"\0", "magic number"),
    (lambda t: t[:20], "shorter than a table footer"),
    (lambda t: table([(b"a", b"1")], compression=1), "compression 1"),
])
def test_damaged_tables(damage, words):
    with pytest.raises(FileFormatError, match=words):
        savedmodel.read_table(damage(table([(b"a", b"1"), (b"b", b"2")])), Where())


def test_protobuf_reader_refuses_overruns():
    with pytest.raises(FileFormatError, match=r"byte 2\).*declares 50 bytes"):
        savedmodel.protobuf_fields(b"\x0a\x32abc", Where())
    with pytest.raises(FileFormatError, match="varint runs past the end"):
        savedmodel.protobuf_fields(b"\x08\xff", Where())


# ---- hostile folders ------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "model"
    shutil.copytree(HERE / "gru_both_resets", target)
    return target


def rewrite_index(folder, mutate):
    """Re-writes variables.index with the independent writer after `mutate(dict)`."""
    entries = savedmodel.read_table((folder / "variables/variables.index").read_bytes(), Where())
    mutate(entries)
    (folder / "variables/variables.index").write_bytes(table(list(entries.items())))


KERNEL = b"layer_with_weights-0/cell/kernel/.ATTRIBUTES/VARIABLE_VALUE"


def test_rewritten_index_still_loads(folder):
    rewrite_index(folder, lambda entries: None)
    x, y = reference("gru_both_resets")
    np.testing.assert_allclose(load_model(folder).predict(x, verbose=0), y, atol=1e-5)


@pytest.mark.parametrize("mutate,place,words", [
    (lambda e: e.__setitem__(KERNEL, bundle_entry(1, [4, 12], 0, 192)), "variables.index key", r"shape \(3, 12\)"),
    (lambda e: e.__setitem__(KERNEL, bundle_entry(1, [3, 12], 10**9, 144)), "variables.data-00000-of-00001 at byte",
     "needs 144 bytes"),
    (lambda e: e.__setitem__(KERNEL, bundle_entry(7, [3, 12], 0, 144)), "variables.index key", "dtype 7"),
    (lambda e: e.__setitem__(KERNEL, bundle_entry(1, [3, 12], 0, 144, shard=1)), "variables.index key", "sharded"),
    (lambda e: e.pop(KERNEL), "variables.index key", "is missing"),
    (lambda e: e.__setitem__(b"", field(1, 0, 2)), "variables.index", "2 shards"),
])
def test_bad_entries(folder, mutate, place, words):
    rewrite_index(folder, mutate)
    with pytest.raises(FileFormatError, match=words) as caught:
        load_model(folder)
    assert str(folder) in str(caught.value) and place in str(caught.value)


def test_links_out_of_the_folder_are_refused(folder, tmp_path):
    data = folder / "variables" / "variables.data-00000-of-00001"
    outside = tmp_path / "outside.bin"
    shutil.move(data, outside)
    os.symlink(outside, data)
    with pytest.raises(FileFormatError, match="symbolic link"):
        load_model(folder)


def test_truncated_data_file(folder):
    data = folder / "variables" / "variables.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(FileFormatError, match=r"variables.data-00000-of-00001 at byte \d+"):
        load_model(folder)


def test_missing_or_damaged_metadata(folder):
    metadata = folder / "keras_metadata.pb"
    metadata.write_bytes(metadata.read_bytes()[:50])
    with pytest.raises(FileFormatError, match="keras_metadata.pb"):
        load_model(folder)
    metadata.unlink()
    with pytest.raises(FileFormatError, match="keras_metadata.pb.*not written by Keras"):
        load_model(folder)


def test_a_folder_that_is_not_a_savedmodel(tmp_path):
    with pytest.raises(FileFormatError, match="not a TensorFlow SavedModel"):
        load_model(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nothing")


@pytest.mark.parametrize("relative", ["keras_metadata.pb", "variables/variables.index",
                                      "variables/variables.data-00000-of-00001"])
def test_flipped_bytes_load_or_fail_cleanly(folder, relative):
    """Every flip either still loads (a byte that does not matter, or a weight changed) or raises
    FileFormatError naming the folder: never another exception (the readers are pure Python)."""
    path = folder / relative
    original = path.read_bytes()
    rng = np.random.default_rng(len(relative))
    outcomes = set()
    for position in rng.choice(len(original), size=min(60, len(original)), replace=False):
        damaged = bytearray(original)
        damaged[position] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(damaged))
        try:
            load_model(folder)
            outcomes.add("loaded")
        except FileFormatError as error:
            assert str(folder) in str(error)
            outcomes.add("refused")
    path.write_bytes(original)
    assert "refused" in outcomes or relative.endswith("00001")


def test_table_bounds():
    with pytest.raises(FileFormatError, match="longer than 4096 bytes"):
        savedmodel.read_table(table([(b"k" * 5000, b"v")]), Where())


@pytest.mark.parametrize("class_name", ["Functional", "Model"])
def test_a_functional_savedmodel_is_refused_pointing_to_the_files_that_hold_one(folder, monkeypatch, class_name):
    metadata = savedmodel.read_root_metadata(os.fspath(folder))
    config = dict(metadata["model_config"], class_name=class_name)
    monkeypatch.setattr(savedmodel, "read_root_metadata", lambda path: dict(metadata, model_config=config))
    with pytest.raises(FileFormatError, match=f"model_config.class_name: rnnkit reads functional models from Keras "
                                              f".h5 and .keras files, and only Sequential ones from a SavedModel "
                                              f"folder. Received: a '{class_name}' model"):
        load_model(folder)
