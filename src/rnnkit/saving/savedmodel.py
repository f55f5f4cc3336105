"""TensorFlow SavedModel folders of Keras models (tf.keras 2.5+, tf_keras), read without TensorFlow.

What a folder written by `model.save("NAME", save_format="tf")` holds, and what is read of it:
    saved_model.pb               TF's graph and functions: not read (it only marks the folder)
    keras_metadata.pb            protobuf SavedMetadata { repeated SavedObject nodes = 1 }, SavedObject
                                 { int32 node_id = 2; string node_path = 3; string identifier = 4;
                                 string metadata = 5 }: the node "root" holds the model's JSON (its
                                 `model_config`, `keras_version`, `build_input_shape`)
    variables/variables.index    TF's tensor bundle index: a LevelDB-style table (below) mapping each
                                 checkpoint key to a BundleEntryProto { dtype = 1; TensorShapeProto
                                 shape = 2; shard_id = 3; offset = 4; size = 5; crc32c = 6; slices = 7 },
                                 the empty key to a BundleHeaderProto { num_shards = 1; endianness = 2 }
    variables/variables.data-00000-of-00001   the tensors' raw little-endian bytes, at offset/size
A Keras layer's weights sit under `layer_with_weights-<k>/` (k counts the model's layers that have
weights), then `kernel`, `bias`, `embeddings`, `cell/...` (RNNs), `forward_layer/cell/...` and
`backward_layer/cell/...` (Bidirectional), `layer/...` (TimeDistributed), each ending in
`/.ATTRIBUTES/VARIABLE_VALUE`.

The table format (TensorFlow's copy of LevelDB's): the last 48 bytes are a footer, two BlockHandles
(varint64 offset, varint64 size: the metaindex block, then the index block), zero padding to 40
bytes, and the magic number 0xdb4775248b80fb57 (little-endian). A block is its contents followed by
a 5-byte trailer (compression type, then a CRC). Its contents are entries, then `num_restarts`
uint32 restart offsets, then num_restarts (uint32). An entry is varint32 `shared` (bytes of the
previous key it keeps), varint32 `non_shared`, varint32 `value_length`, the key's new bytes, and the
value. The index block's values are the BlockHandles of the data blocks, in key order.

Safety, as for every file rnnkit reads: only regular files inside the folder (no symbolic links),
each of bounded size (the data file is never read whole: each tensor's bytes, once checked); every offset and length checked against the bytes really there before it is
used; every tensor's dtype, shape and byte count checked against the model before it is read; only
block compression "none" (what TF writes for bundles); a bad folder raises FileFormatError naming
the file and the place inside it (a key, a byte offset, a JSON path).
"""

import os
import struct

import numpy as np

from rnnkit.saving import guarded
from rnnkit.saving.errors import FileFormatError

MAX_METADATA_BYTES = 64 * 2**20
MAX_INDEX_BYTES = 64 * 2**20
MAX_DATA_BYTES = 8 * 2**30
MAX_ENTRIES = 200_000               # variables of a model; real ones have tens
MAX_KEY_BYTES = 4096                # checkpoint keys are ~80 bytes; a bound keeps key rebuilding linear
_MAGIC = 0xDB4775248B80FB57
_DTYPES = {1: np.dtype("<f4"), 2: np.dtype("<f8"), 19: np.dtype("<f2")}   # DT_FLOAT, DT_DOUBLE, DT_HALF
_DATA_FILE = "variables.data-00000-of-00001"


def is_savedmodel(path):
    """True for a folder holding a `saved_model.pb`."""
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "saved_model.pb"))


# ---- bytes ----------------------------------------------------------------------------------------
def _open_regular(folder, relative, limit):
    """An open binary file object of a regular file (not a link) inside `folder` of at most
    `limit` bytes, and its size."""
    try:
        return guarded.open_regular_file(os.path.join(folder, relative), "SavedModel file", owner=folder,
                                         location=relative, follow_links=False, limit=limit)
    except FileNotFoundError:
        raise FileFormatError(folder, relative, "is missing. Received: a SavedModel folder without it") from None


def _read_file(folder, relative, limit):
    """The bytes of a regular file (not a link) inside `folder`, at most `limit` of them."""
    f, size = _open_regular(folder, relative, limit)
    with f:
        data = f.read(size + 1)
    if len(data) != size:
        raise FileFormatError(folder, relative, f"changed size while read. Received: {len(data)} bytes, not {size}")
    return data


def _varint(data, pos, where, limit_bits=64):
    """(value, next position) of a base-128 varint at data[pos]."""
    result, shift = 0, 0
    while True:
        if pos >= len(data):
            raise where.error(pos, "a varint runs past the end")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= limit_bits:
            raise where.error(pos, "a varint is longer than 10 bytes")


class _Where:
    """Names the file and place for errors while parsing bytes."""

    def __init__(self, folder, relative, context=""):
        self.folder, self.relative, self.context = folder, relative, context

    def error(self, offset, reason):
        place = f"{self.relative} {self.context}".rstrip() + f" (byte {offset})"
        return FileFormatError(self.folder, place, f"{reason}. Received: a damaged or foreign file")

    def inside(self, context):
        return _Where(self.folder, self.relative, context)


def protobuf_fields(data, where):
    """[(field number, wire type, value)] of a protobuf message: varints as ints, fixed32/64 as
    ints, length-delimited fields as bytes."""
    fields, pos = [], 0
    while pos < len(data):
        start = pos
        tag, pos = _varint(data, pos, where)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise where.error(start, "a protobuf field number is 0")
        if wire == 0:
            value, pos = _varint(data, pos, where)
        elif wire == 1:
            if pos + 8 > len(data):
                raise where.error(pos, "a fixed64 field runs past the end")
            value, pos = struct.unpack_from("<Q", data, pos)[0], pos + 8
        elif wire == 5:
            if pos + 4 > len(data):
                raise where.error(pos, "a fixed32 field runs past the end")
            value, pos = struct.unpack_from("<I", data, pos)[0], pos + 4
        elif wire == 2:
            length, pos = _varint(data, pos, where)
            if length > len(data) - pos:
                raise where.error(pos, f"a field declares {length} bytes, more than remain")
            value, pos = bytes(data[pos:pos + length]), pos + length
        else:
            raise where.error(start, f"protobuf wire type {wire} is not one TensorFlow writes here")
        fields.append((number, wire, value))
    return fields


def _signed64(value):
    return value - (1 << 64) if value >= 1 << 63 else value


# ---- the table ------------------------------------------------------------------------------------
def _block(data, offset, size, where):
    if offset < 0 or size < 0 or offset + size + 5 > len(data):
        raise where.error(offset, f"a block handle (offset {offset}, size {size}) points outside the file")
    compression = data[offset + size]
    if compression != 0:
        raise where.error(offset + size, f"block compression {compression} is not 'none' (TensorFlow writes "
                                         "bundles uncompressed)")
    return data[offset:offset + size], offset


def _block_entries(block, base, where):
    """[(key, value)] of one block, keys rebuilt from their shared prefixes."""
    if len(block) < 4:
        raise where.error(base, "a block is shorter than its restart count")
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * restarts
    if restarts == 0 or end < 0:
        raise where.error(base, f"a block declares {restarts} restart points, which do not fit it")
    entries, pos, key = [], 0, b""
    while pos < end:
        start = pos
        shared, pos = _varint(block, pos, where, 35)
        non_shared, pos = _varint(block, pos, where, 35)
        value_length, pos = _varint(block, pos, where, 35)
        if shared > len(key) or pos + non_shared + value_length > end:
            raise where.error(base + start, "a table entry's lengths do not fit its block")
        if shared + non_shared > MAX_KEY_BYTES:
            raise where.error(base + start, f"a key is longer than {MAX_KEY_BYTES} bytes")
        key = key[:shared] + bytes(block[pos:pos + non_shared])
        pos += non_shared
        entries.append((key, bytes(block[pos:pos + value_length])))
        pos += value_length
        if len(entries) > MAX_ENTRIES:
            raise where.error(base + start, f"a block holds more than {MAX_ENTRIES} entries")
    return entries


def read_table(data, where):
    """{key bytes: value bytes} of a LevelDB-style table held in `data`."""
    if len(data) < 48:
        raise where.error(0, "the file is shorter than a table footer (48 bytes)")
    footer = len(data) - 48
    if struct.unpack_from("<Q", data, len(data) - 8)[0] != _MAGIC:
        raise where.error(len(data) - 8, "the table's magic number is missing")
    pos = footer
    _, pos = _varint(data, pos, where)                    # metaindex handle: nothing in it is needed
    _, pos = _varint(data, pos, where)
    index_offset, pos = _varint(data, pos, where)
    index_size, pos = _varint(data, pos, where)
    if pos > len(data) - 8:
        raise where.error(footer, "the footer's block handles overrun it")
    index, base = _block(data, index_offset, index_size, where)
    table = {}
    for _, handle in _block_entries(index, base, where.inside("index block")):
        offset, p = _varint(handle, 0, where)
        size, _ = _varint(handle, p, where)
        block, base = _block(data, offset, size, where)
        for key, value in _block_entries(block, base, where):
            if key in table:
                raise where.error(base, f"the key {key!r} appears twice")
            table[key] = value
            if len(table) > MAX_ENTRIES:
                raise where.error(base, f"the table holds more than {MAX_ENTRIES} entries")
    return table


def bundle_entry(value, where):
    """A BundleEntryProto as {"dtype", "shape", "shard_id", "offset", "size", "sliced"}."""
    entry = {"dtype": 0, "shape": None, "shard_id": 0, "offset": 0, "size": 0, "sliced": False}
    for number, wire, field in protobuf_fields(value, where):
        if number == 1 and wire == 0:
            entry["dtype"] = field
        elif number == 2 and wire == 2:
            dims, unknown = [], False
            for dim_number, dim_wire, dim in protobuf_fields(field, where):
                if dim_number == 2 and dim_wire == 2:
                    size = 0
                    for n, w, v in protobuf_fields(dim, where):
                        if n == 1 and w == 0:
                            size = _signed64(v)
                    dims.append(size)
                elif dim_number == 3 and dim_wire == 0:
                    unknown = bool(dim)
            entry["shape"] = None if unknown else tuple(dims)
        elif number == 3 and wire == 0:
            entry["shard_id"] = field
        elif number == 4 and wire == 0:
            entry["offset"] = _signed64(field)
        elif number == 5 and wire == 0:
            entry["size"] = _signed64(field)
        elif number == 7:
            entry["sliced"] = True
    if entry["shape"] is None:
        entry["shape"] = ()
    return entry


# ---- keras_metadata.pb ----------------------------------------------------------------------------
def _untuple(value, depth=0):
    """Keras's SavedModel JSON writes tuples and TensorShapes as {"class_name": "__tuple__" |
    "TensorShape", "items": [...]}; and `shared_object_id` beside objects. Plain JSON back."""
    if depth > guarded.MAX_JSON_DEPTH:
        return value
    if isinstance(value, dict):
        if value.get("class_name") in ("__tuple__", "TensorShape") and isinstance(value.get("items"), list):
            return [_untuple(v, depth + 1) for v in value["items"]]
        return {k: _untuple(v, depth + 1) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_untuple(v, depth + 1) for v in value]
    return value


def read_root_metadata(folder):
    """The JSON metadata of the model (node "root") from keras_metadata.pb."""
    where = _Where(folder, "keras_metadata.pb")
    if not os.path.exists(os.path.join(folder, "keras_metadata.pb")):
        raise FileFormatError(folder, "keras_metadata.pb", "is missing: this SavedModel was not written by Keras "
                                                           "(or by TF < 2.5, which kept Keras's metadata inside "
                                                           "saved_model.pb; re-save it with a newer TF). Received: no "
                                                           "keras_metadata.pb")
    data = _read_file(folder, "keras_metadata.pb", MAX_METADATA_BYTES)
    for number, wire, node in protobuf_fields(data, where):
        if number != 1 or wire != 2:
            continue
        fields = {n: v for n, w, v in protobuf_fields(node, where.inside("node")) if w == 2}
        if fields.get(3) == b"root":
            metadata = guarded.parse_json(fields.get(5, b""), folder, "keras_metadata.pb root.metadata")
            if not isinstance(metadata, dict):
                raise FileFormatError(folder, "keras_metadata.pb root.metadata", "must be a JSON object. "
                                                                                 f"Received: {type(metadata).__name__}")
            return _untuple(metadata)
    raise FileFormatError(folder, "keras_metadata.pb", "has no 'root' node. Received: metadata of other objects only")


# ---- the model ------------------------------------------------------------------------------------
def variable_paths(spec):
    """The checkpoint sub-paths of a layer's arrays, in get_weights() order."""
    class_name, config = spec["class_name"], spec["config"]
    bias = [] if config.get("use_bias", True) is False else ["bias"]
    if class_name in ("SimpleRNN", "LSTM", "GRU"):
        return [f"cell/{name}" for name in ["kernel", "recurrent_kernel"] + bias]
    if class_name == "Dense":
        return ["kernel"] + bias
    if class_name == "Embedding":
        return ["embeddings"]
    if class_name == "Bidirectional":
        backward = config.get("backward_layer") or config["layer"]
        return ([f"forward_layer/{p}" for p in variable_paths(config["layer"])]
                + [f"backward_layer/{p}" for p in variable_paths(backward)])
    if class_name == "TimeDistributed":
        return [f"layer/{p}" for p in variable_paths(config["layer"])]
    return []


def read_model(path, build):
    """A SavedModel folder of a Keras Sequential model, with the same contract as
    `keras_files.read_model`: {"name", "layers", "locations", "input_shape", "weights", "format"}.

    Raises:
        FileFormatError: naming the folder and the file and place inside it.
    """
    from rnnkit.saving import keras_files
    folder = os.fspath(path)
    metadata = read_root_metadata(folder)
    config = metadata.get("model_config") or {"class_name": metadata.get("class_name"),
                                               "config": metadata.get("config")}
    version = metadata.get("keras_version")
    specs, locations, input_shape = keras_files.sequential_layers(
        config, folder, "keras_metadata.pb root.metadata.model_config", version if isinstance(version, str) else "2",
        legacy=True)
    if input_shape is None and isinstance(metadata.get("build_input_shape"), list):
        input_shape = metadata["build_input_shape"]
    name = (config.get("config") or {}).get("name") if isinstance(config.get("config"), dict) else None
    expected = build(specs, locations, input_shape, name if isinstance(name, str) else None)
    index_where = _Where(folder, "variables/variables.index")
    table = read_table(_read_file(folder, "variables/variables.index", MAX_INDEX_BYTES), index_where)
    header = {n: v for n, w, v in protobuf_fields(table.get(b"", b""), index_where.inside("header"))
              if w == 0}
    if header.get(1, 1) != 1:
        raise FileFormatError(folder, "variables/variables.index", f"the variables are split into {header[1]} "
                                                                   "shards; rnnkit reads one. Received: a sharded "
                                                                   "checkpoint")
    if header.get(2, 0) != 0:
        raise FileFormatError(folder, "variables/variables.index", "the tensors are big-endian. Received: "
                                                                   "endianness BIG")
    opened = []    # the data file, opened at the first tensor; each tensor's bytes are read on their own
    try:
        weights = _read_weights(folder, specs, locations, expected, table, index_where, opened)
    finally:
        for f, _ in opened:
            f.close()
    return {"name": name, "layers": specs, "locations": locations, "input_shape": input_shape, "weights": weights,
            "format": "savedmodel", "keras_version": version if isinstance(version, str) else None}


def _read_weights(folder, specs, locations, expected, table, index_where, opened):
    """Per layer, its arrays from the bundle; `opened` receives the data file once opened."""
    weights, with_weights = [], 0
    for spec, location, wanted in zip(specs, locations, expected):
        if not wanted:
            weights.append([])
            continue
        paths = variable_paths(spec)
        if len(paths) != len(wanted):
            raise FileFormatError(folder, location, f"layer {spec['config'].get('name')!r} has {len(wanted)} arrays; "
                                                    f"rnnkit knows where {len(paths)} of them are kept. Received: "
                                                    "an unexpected layer layout")
        arrays = []
        for sub, (shape, dtype) in zip(paths, wanted):
            key = f"layer_with_weights-{with_weights}/{sub}/.ATTRIBUTES/VARIABLE_VALUE"
            if key.encode() not in table:
                raise FileFormatError(folder, f"variables/variables.index key {key!r}", "is missing: the variables do "
                                      f"not match layer {spec['config'].get('name')!r}. Received: keys "
                                      f"{sorted(k.decode('utf8', 'replace') for k in table if k)[:6]}")
            if not opened:
                opened.append(_open_regular(folder, f"variables/{_DATA_FILE}", MAX_DATA_BYTES))
            arrays.append(_tensor(folder, key, table[key.encode()], opened[0], shape, dtype,
                                  index_where.inside(f"key {key!r}")))
        weights.append(arrays)
        with_weights += 1
    return weights


def _tensor(folder, key, value, data, shape, dtype, where):
    """One tensor, after its entry's dtype, shape, size and offset are checked; `data` is the open
    data file and its size."""
    entry = bundle_entry(value, where)
    place = f"variables/variables.index key {key!r}"
    if entry["sliced"] or entry["shard_id"] != 0:
        raise FileFormatError(folder, place, "is a partitioned or sharded variable. Received: slices or shard "
                                             f"{entry['shard_id']}")
    if entry["dtype"] not in _DTYPES:
        raise FileFormatError(folder, place, f"must hold float16/32/64 numbers. Received: TensorFlow dtype "
                                             f"{entry['dtype']}")
    if tuple(entry["shape"]) != tuple(shape):
        raise FileFormatError(folder, place, f"must have shape {tuple(shape)} for this layer. Received: shape "
                                             f"{tuple(entry['shape'])}")
    file_dtype = _DTYPES[entry["dtype"]]
    size = int(np.prod(shape, dtype=np.int64)) * file_dtype.itemsize
    offset = entry["offset"]
    f, file_size = data
    if entry["size"] != size or offset < 0 or offset + size > file_size:
        raise FileFormatError(folder, f"variables/{_DATA_FILE} at byte {offset}",
                              f"the tensor {key!r} needs {size} bytes there. Received: size {entry['size']} in a "
                              f"file of {file_size} bytes")
    f.seek(offset)
    raw = f.read(size)
    if len(raw) != size:
        raise FileFormatError(folder, f"variables/{_DATA_FILE} at byte {offset}", f"the file ended early. Received: "
                                                                                 f"{len(raw)} of {size} bytes")
    array = np.frombuffer(raw, file_dtype).reshape(shape)
    with np.errstate(over="ignore", invalid="ignore"):
        cast = array.astype(dtype)
    if not np.all(np.isfinite(cast)):
        raise FileFormatError(folder, place, f"holds values that are not finite as {dtype}. Received: non-finite "
                                             "weights")
    return cast
