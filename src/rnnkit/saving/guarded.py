"""Guarded reading of untrusted model files: checks made before a byte is trusted.

A model file is data from a stranger. Loading one must never run code, never read outside the
file, and never cost more memory or time than the file's real contents justify. HDF5 can point
outside a file in three ways (external storage of a dataset's raw data, external links to other
files, virtual datasets stitched from other files), and it can declare a dataset of any size
whose bytes are a fill value that costs nothing on disk. A zip entry can declare any size and
inflate a thousandfold. So every read goes through here:

- the path must be a regular file (a FIFO would block forever, a device would never end);
- an HDF5 child is reached only through a hard or soft link, never an external one;
- a dataset is read only if its layout is contiguous, chunked or compact, it has no external
  storage, no filter but gzip, shuffle, fletcher32 and lzf (another would be a codec plugin
  that libhdf5 loads from disk), its dtype is a plain number, its shape is the one the caller expects, and the bytes
  it occupies in the file could really hold its declared size;
- an attribute is read only if it is a string (or a list of strings) of bounded size;
- a zip entry is inflated only if its declared size and compression ratio are bounded, and a
  JSON text only if it is nested no deeper than a model can reasonably be.

What remains outside our reach: libhdf5 parses the file's own metadata (B-trees, heaps, object
headers) in C, and a damaged file can crash it. The checks here narrow that window (the
signature is checked before libhdf5 sees the file, attributes are typed before they are read)
but cannot close it.
"""

import errno
import io
import json
import os
import stat
import zipfile

import numpy as np

from rnnkit.saving.errors import FileFormatError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"

# Bounds on what a model file may ask of us. A real Keras RNN file is far inside all of them.
MAX_JSON_BYTES = 64 * 2**20          # config.json / model_config: the largest real ones are ~1 MB
MAX_JSON_DEPTH = 64                  # Keras configs nest ~10 deep (Bidirectional > LSTM > initializer)
MAX_ENTRY_BYTES = 4 * 2**30          # one zip entry once inflated (the weights file)
MAX_INFLATION = 1000                 # declared size / compressed size of a zip entry
MAX_STRING_ATTRIBUTE = 64 * 2**20    # string attributes (fixed-size: before reading; variable: after)
MAX_NAME_COUNT = 100_000             # entries of layer_names / weight_names
MAX_FILTER_INFLATION = 1000          # declared bytes / stored bytes of a compressed HDF5 dataset
# The HDF5 filters h5py writes by itself: deflate (gzip), shuffle, fletcher32 and lzf. Any other
# (szip, scaleoffset, nbit, blosc, bitshuffle, an unknown plugin id) is a codec libhdf5 may look for
# in a plugin folder: code chosen by the file, and no Keras writes one.
ALLOWED_FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is an extra; say so if it is missing
        raise ImportError("Keras .h5 and .keras files need h5py: pip install 'rnnkit[h5]' (or h5py)") from None
    return h5py


# ---- files ----------------------------------------------------------------------------------------
def _kind(mode):
    return ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a socket"
            if stat.S_ISSOCK(mode) else "a symbolic link" if stat.S_ISLNK(mode) else "a device or special file")


def open_regular_file(path, what="model file", owner=None, location=None, follow_links=True, limit=None):
    """Opens `path` for binary reading only if it is a regular file; returns (file, size).

    The kind is checked before the open (a FIFO would block forever, a device never end) and
    again on the open descriptor, which is opened non-blocking: a path swapped for a FIFO in
    between must not hang the open.

    Args:
        path: the file.
        what: what the file is, for the messages ("input .npy file").
        owner, location: the file and the place inside it that a FileFormatError names (a
            SavedModel folder and its `variables/...` file); by default `path` and no place.
        follow_links: False to refuse a symbolic link (a folder's files must be its own).
        limit: the most bytes the file may hold, or None.

    Raises:
        FileNotFoundError: for a missing file.
        FileFormatError: for a folder, FIFO, socket or device, an unreadable path, a link when
            not following links, or a file over `limit`.
    """
    owner = path if owner is None else owner
    try:
        info = os.stat(path) if follow_links else os.lstat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"No such {what}: {path!r}") from None
    except OSError as error:
        raise FileFormatError(owner, location, f"cannot be read ({error.strerror}). Received: an inaccessible "
                                               "path") from None
    if stat.S_ISLNK(info.st_mode):
        raise FileFormatError(owner, location, "is a symbolic link; rnnkit reads only the folder's own files. "
                                               "Received: a link")
    if not stat.S_ISREG(info.st_mode):
        raise FileFormatError(owner, location, f"is not a regular file (a folder, FIFO or device would hang or "
                                               f"mislead); the {what} must be a regular file. Received: {path!r}, "
                                               f"{_kind(info.st_mode)}")
    if limit is not None and info.st_size > limit:
        raise FileFormatError(owner, location, f"is larger than rnnkit reads ({limit} bytes). Received: "
                                               f"{info.st_size} bytes")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    try:
        f = os.fdopen(os.open(path, flags), "rb")
    except OSError as error:
        raise FileFormatError(owner, location, f"cannot be read ({error.strerror}). Received: a path that "
                                               "changed kind") from None
    size = os.fstat(f.fileno()).st_size
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode) or (limit is not None and size > limit):
        f.close()
        raise FileFormatError(owner, location, "is not a regular file of bounded size. Received: a path that "
                                               "changed kind")
    return f, size


def check_regular_file(path, what="model file"):
    """Raises unless `path` names a regular file (see `open_regular_file`); returns its first 8 bytes."""
    f, _ = open_regular_file(path, what)
    with f:
        return f.read(8)


class UnreadableArray(FileFormatError):
    """A .npy whose header cannot be parsed; `detail` says why (for callers that phrase it)."""

    def __init__(self, filename, location, detail):
        self.detail = detail
        super().__init__(filename, location, f"is not a readable array ({detail})")

    def __reduce__(self):
        return (type(self), (self.filename, self.location, self.detail))


def read_npy(f, size, filename, location=None):
    """The array of a .npy held in the open binary file `f` of `size` bytes (a file, or a zip
    entry whose declared size is `size`), its header checked against that size before any data
    is read: a header may declare terabytes. Never unpickles.

    Raises:
        UnreadableArray: for a header that does not parse (or an unknown .npy version).
        FileFormatError: for Python objects, a declared size other than what is held, or fewer
            bytes than declared.
    """
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unknown .npy version {version}")
        held = size - f.tell()
        if dtype.hasobject:
            raise FileFormatError(filename, location, "holds Python objects (a pickle); rnnkit never loads those")
        count = 1
        for dim in shape:
            count *= int(dim)
        declared = count * dtype.itemsize
        if declared != held:
            raise FileFormatError(filename, location, f"declares shape {tuple(shape)} of {dtype} ({declared:,} bytes) "
                                                      f"but holds {held:,} bytes")
        data = f.read(declared)
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, TypeError, OverflowError) as error:
        raise UnreadableArray(filename, location, f"{type(error).__name__}: {error}") from None
    if len(data) != declared:
        raise FileFormatError(filename, location, "is truncated")
    array = np.frombuffer(data, dtype=dtype)
    return (array.reshape(shape[::-1]).T if fortran else array.reshape(shape)).copy()


# ---- JSON -----------------------------------------------------------------------------------------
def _depth_ok(text):
    """True if the JSON text nests at most MAX_JSON_DEPTH brackets (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


def parse_json(data, filename, location):
    """A JSON text (bytes or str) of bounded size and depth, parsed.

    Raises:
        FileFormatError: for text that is too large, too deep, not UTF-8 or not JSON.
    """
    if len(data) > MAX_JSON_BYTES:
        raise FileFormatError(filename, location, f"the JSON text is larger than {MAX_JSON_BYTES} bytes. "
                                                  f"Received: {len(data)} bytes")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise FileFormatError(filename, location, f"the JSON text is not UTF-8 (byte {error.start}). "
                                                      "Received: undecodable bytes") from None
    # A regex-free scan: a million-deep '[[[[' must fail here, not as a RecursionError in json.
    if not _depth_ok(data):
        raise FileFormatError(filename, location, f"the JSON nests deeper than {MAX_JSON_DEPTH} levels. "
                                                  "Received: a deeper config")
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, RecursionError, ValueError) as error:
        raise FileFormatError(filename, location, f"the text is not valid JSON ({error}). Received: damaged JSON") \
            from None


def _refuse_constant(name):
    # Python's json accepts NaN/Infinity, which are not JSON; Keras never writes them in configs.
    raise ValueError(f"{name} is not a JSON value")


# ---- zip archives ---------------------------------------------------------------------------------
def read_zip_entries(path, wanted):
    """{name: bytes} of the `wanted` entries present in the zip at `path`, after checking each
    entry's declared size and compression ratio; entries not present are absent from the result.

    Raises:
        FileFormatError: for a damaged archive, duplicated names, or an entry that is too large
            or inflates too much.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            present = {}
            for info in infos:
                if info.filename not in wanted:
                    continue
                if info.filename in present:
                    raise FileFormatError(path, info.filename, "the archive holds this entry twice. "
                                                               "Received: duplicated entries")
                _check_entry(path, info)
                present[info.filename] = info
            result = {}
            for name, info in present.items():
                with archive.open(info) as entry:
                    # Never more than declared, whatever the stream says.
                    data = entry.read(info.file_size + 1)
                if len(data) != info.file_size:
                    raise FileFormatError(path, name, f"the entry declares {info.file_size} bytes. "
                                                      f"Received: {len(data)} or more bytes")
                result[name] = data
            return result, names
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, ValueError,
            RuntimeError) as error:
        # zlib.error is a subclass of Exception only; see below.
        raise FileFormatError(path, None, f"is a damaged zip archive ({type(error).__name__}: {error}). "
                                          "Received: an unreadable archive") from None
    except Exception as error:  # zlib.error and friends: a corrupt deflate stream
        if type(error).__module__ in ("zlib", "bz2", "lzma", "_lzma"):
            raise FileFormatError(path, None, f"is a damaged zip archive ({type(error).__name__}: {error}). "
                                              "Received: an unreadable archive") from None
        raise


def _check_entry(path, info):
    if info.file_size > MAX_ENTRY_BYTES:
        raise FileFormatError(path, info.filename, f"the entry declares {info.file_size} bytes, more than "
                                                   f"rnnkit reads ({MAX_ENTRY_BYTES}). Received: an oversized entry")
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > 2**20:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > MAX_INFLATION:
            raise FileFormatError(path, info.filename, f"the entry would inflate {ratio:.0f}-fold (at most "
                                                       f"{MAX_INFLATION}). Received: a zip bomb")


# ---- HDF5 -----------------------------------------------------------------------------------------
def open_h5(source, filename, location=None):
    """An h5py.File opened read-only on a path or a bytes buffer.

    Raises:
        FileFormatError: if the bytes are not HDF5 or libhdf5 refuses them.
    """
    h5py = _h5py()
    head = source[:8] if isinstance(source, bytes) else None
    if head is not None and head != HDF5_SIGNATURE:
        raise FileFormatError(filename, location, f"is not an HDF5 file. Received: bytes starting {head!r}")
    try:
        return h5py.File(io.BytesIO(source) if isinstance(source, bytes) else source, "r")
    except (OSError, ValueError, RuntimeError) as error:
        raise FileFormatError(filename, location, f"is a damaged HDF5 file ({error}). Received: an unreadable "
                                                  "file") from None


def child(group, name, filename, h5path):
    """`group[name]`, reached through a hard or soft link only; None if there is no such child.

    Raises:
        FileFormatError: for an external link, or a link libhdf5 cannot follow.
    """
    h5py = _h5py()
    where = f"{h5path}/{name}".lstrip("/")
    try:
        link = group.get(name, getlink=True)
    except (KeyError, OSError, ValueError, RuntimeError, TypeError) as error:
        raise FileFormatError(filename, where, f"cannot be read ({error}). Received: a damaged link") from None
    if link is None:
        return None
    if isinstance(link, h5py.ExternalLink):
        raise FileFormatError(filename, where, f"is an external link to {link.filename!r}; rnnkit never reads "
                                               "outside the file. Received: an HDF5 external link")
    if not isinstance(link, (h5py.HardLink, h5py.SoftLink)):
        raise FileFormatError(filename, where, f"is a link of an unknown kind. Received: {type(link).__name__}")
    try:
        return group[name]
    except (KeyError, OSError, ValueError, RuntimeError) as error:
        raise FileFormatError(filename, where, f"cannot be read ({error}). Received: a dangling or damaged "
                                               "link") from None


def walk(root, path, filename, base=""):
    """The object at the slash-separated `path` under `root` (itself at `base` in the file),
    each step checked by `child`; None if any step is missing."""
    node, here = root, base
    for part in [p for p in path.split("/") if p]:
        if not isinstance(node, _h5py().Group):
            return None
        node = child(node, part, filename, here)
        if node is None:
            return None
        here = f"{here}/{part}"
    return node


def read_dataset(dataset, expected_shape, filename, h5path, dtype="float32"):
    """The array of a weight dataset, after every check that can be made without reading it.

    Raises:
        FileFormatError: for a group where a dataset is expected, a virtual dataset, external
            storage, an HDF5 filter outside ALLOWED_FILTERS, an unknown layout, a non-numeric dtype, a shape other than `expected_shape`,
            fewer stored bytes than the shape needs, or values that are not finite in `dtype`.
    """
    h5py = _h5py()
    if not isinstance(dataset, h5py.Dataset):
        raise FileFormatError(filename, h5path, f"must be a dataset. Received: {type(dataset).__name__}")
    try:
        plist = dataset.id.get_create_plist()
        layout = plist.get_layout()
        external = plist.get_external_count()
        filters = [plist.get_filter(index) for index in range(plist.get_nfilters())]  # (code, flags, values, name)
        shape, file_dtype = dataset.shape, dataset.dtype
        stored = dataset.id.get_storage_size()
    except (OSError, ValueError, RuntimeError, TypeError) as error:
        raise FileFormatError(filename, h5path, f"cannot be inspected ({error}). Received: a damaged dataset") \
            from None
    if layout == h5py.h5d.VIRTUAL:
        raise FileFormatError(filename, h5path, "is a virtual dataset, whose data lives in other files; rnnkit "
                                                "never reads outside the file. Received: a virtual dataset")
    if external:
        raise FileFormatError(filename, h5path, "keeps its data in external storage (another file on disk); "
                                                "rnnkit never reads outside the file. Received: external storage")
    for code, _, _, name in filters:
        if code not in ALLOWED_FILTERS:
            label = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
            raise FileFormatError(filename, h5path, f"is stored through HDF5 filter {code} ({label!r:.40}); rnnkit "
                                                    "reads only gzip, shuffle, fletcher32 and lzf. Received: filter "
                                                    f"{code}")
    if layout not in (h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED, h5py.h5d.COMPACT):
        raise FileFormatError(filename, h5path, f"has an unknown storage layout. Received: layout {layout}")
    if file_dtype.kind not in "fiu" or file_dtype.itemsize > 8:
        raise FileFormatError(filename, h5path, f"must hold plain numbers. Received: dtype {file_dtype}")
    if shape is None or tuple(shape) != tuple(expected_shape):
        raise FileFormatError(filename, h5path, f"must have shape {tuple(expected_shape)} for this layer. "
                                                f"Received: shape {shape}")
    declared = int(np.prod(shape, dtype=np.int64)) * file_dtype.itemsize
    # Bytes not written to disk read back as the fill value: a 13 KB file could declare gigabytes.
    limit = stored * (MAX_FILTER_INFLATION if filters else 1)
    if declared and stored < declared and not (filters and declared <= limit):
        raise FileFormatError(filename, h5path, f"declares {declared} bytes but stores {stored}. "
                                                "Received: a dataset whose data is not in the file")
    try:
        array = dataset[()]
    except (OSError, ValueError, RuntimeError, TypeError) as error:
        raise FileFormatError(filename, h5path, f"cannot be read ({error}). Received: damaged data") from None
    array = np.asarray(array)
    with np.errstate(over="ignore", invalid="ignore"):
        cast = array.astype(dtype)
    if not np.all(np.isfinite(cast)):
        raise FileFormatError(filename, h5path, f"holds values that are not finite as {dtype} (NaN, inf, or "
                                                f"beyond {np.finfo(dtype).max:.3g}). Received: non-finite weights")
    return cast


def _inspect_attribute(obj, name, filename, h5path, with_size=True):
    """(where, type class, shape, storage size or None) of an attribute before it is read; None if
    absent. (libhdf5 has no storage size for an empty attribute, so a list asks for none.)"""
    where = f"{h5path}@{name}" if h5path else f"@{name}"
    try:
        if name not in obj.attrs:
            return None
        attribute = obj.attrs.get_id(name)
        size = attribute.get_storage_size() if with_size else None
        return where, attribute.get_type().get_class(), attribute.shape, size
    except (KeyError, OSError, ValueError, RuntimeError, TypeError) as error:
        raise FileFormatError(filename, where, f"cannot be inspected ({error}). Received: a damaged attribute") \
            from None


def _read_attribute(obj, name, filename, where):
    try:
        return obj.attrs[name]
    except (OSError, ValueError, RuntimeError, TypeError, UnicodeDecodeError) as error:
        raise FileFormatError(filename, where, f"cannot be read ({error}). Received: a damaged attribute") from None


def _text(value, filename, where, what):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise FileFormatError(filename, where, f"{what} not UTF-8 text. Received: undecodable bytes") from None
    return value


def read_string_attribute(obj, name, filename, h5path):
    """A scalar string attribute, after checking its type and size; None if absent."""
    h5py = _h5py()
    inspected = _inspect_attribute(obj, name, filename, h5path)
    if inspected is None:
        return None
    where, kind, shape, size = inspected
    if kind != h5py.h5t.STRING or shape not in ((), (1,)):
        raise FileFormatError(filename, where, f"must be one string. Received: an attribute of class {kind} and "
                                               f"shape {shape}")
    if size > MAX_STRING_ATTRIBUTE:
        raise FileFormatError(filename, where, f"is larger than {MAX_STRING_ATTRIBUTE} bytes. Received: {size} bytes")
    value = _read_attribute(obj, name, filename, where)
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0]
    value = _text(value, filename, where, "is")
    if not isinstance(value, str):
        raise FileFormatError(filename, where, f"must be a string. Received: {type(value).__name__}")
    if len(value) > MAX_STRING_ATTRIBUTE:   # a variable-length string's storage size is its reference's
        raise FileFormatError(filename, where, f"is larger than {MAX_STRING_ATTRIBUTE} bytes. Received: "
                                               f"{len(value)} characters")
    return value


def read_string_list_attribute(obj, name, filename, h5path):
    """A 1-D list-of-strings attribute (`layer_names`, `weight_names`); None if absent."""
    h5py = _h5py()
    inspected = _inspect_attribute(obj, name, filename, h5path, with_size=False)
    if inspected is None:
        return None
    where, kind, shape, _ = inspected
    # h5py writes an empty list as a float64 array of shape (0,).
    if shape == (0,):
        return []
    if kind != h5py.h5t.STRING or len(shape) != 1 or shape[0] > MAX_NAME_COUNT:
        raise FileFormatError(filename, where, f"must be a list of at most {MAX_NAME_COUNT} strings. Received: an "
                                               f"attribute of class {kind} and shape {shape}")
    return [str(_text(value, filename, where, "holds a name")) for value in _read_attribute(obj, name, filename, where)]
