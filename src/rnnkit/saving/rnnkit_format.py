"""rnnkit's own file format: one `.npz` holding the model config as JSON and the weights.

    __rnnkit__   a JSON string: {"format": "rnnkit", "version": 1, "kind": "model"|"weights",
                                 "config": {...} (models only)}
    w_0, w_1, …  the weight arrays in get_weights() order

Written to a temporary file in the same folder and renamed, so a failed save never leaves a
half-written file, and an earlier file at that path stays intact. Read with allow_pickle=False:
loading never runs code from the file.
"""

import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT_VERSION = 1


def write_atomic(path, write):
    """Calls `write(file_object)` on a temporary file beside `path`, then renames it to `path`."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OSError(f"Cannot save to {path!r}: the folder {folder!r} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=".rnnkit-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def save(path, weights, config=None):
    """Writes `weights` (and the model `config`, when given) to `path` atomically."""
    header = {"format": "rnnkit", "version": FORMAT_VERSION, "kind": "weights" if config is None else "model"}
    if config is not None:
        header["config"] = config
    arrays = {"__rnnkit__": np.array(json.dumps(header))}
    arrays.update({f"w_{i}": np.asarray(w) for i, w in enumerate(weights)})
    write_atomic(path, lambda f: np.savez(f, **arrays))


def load(path):
    """Returns (config or None, [weights]) from an rnnkit file.

    Raises:
        OSError: if the file is missing.
        ValueError: naming the file, if it is not an rnnkit file or is damaged.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise OSError(f"No file at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
            header = json.loads(str(data["__rnnkit__"])) if "__rnnkit__" in names else None
            count = sum(1 for name in names if name.startswith("w_"))
            weights = [data[f"w_{i}"] for i in range(count)]
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError) as error:
        raise ValueError(f"{path!r} is damaged or not an rnnkit file ({type(error).__name__}: {error}). "
                         "Received: an unreadable file") from None
    if header is None:
        raise ValueError(f"{path!r} is not an rnnkit file: it has no '__rnnkit__' header. "
                         f"Received: entries {sorted(names)[:5]}")
    if header.get("format") != "rnnkit":
        raise ValueError(f"{path!r} is not an rnnkit file. Received: format {header.get('format')!r}")
    return header.get("config"), weights
