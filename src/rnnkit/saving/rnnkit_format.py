"""rnnkit's own file format: one `.npz` holding the model config as JSON and the weights, and
the one way every rnnkit saver writes a file (`write_atomic`).

    __rnnkit__   a JSON string: {"format": "rnnkit", "version": 1, "kind": "model"|"weights",
                                 "config": {...} (models only)}
    w_0, w_1, …  the weight arrays in get_weights() order

Saving: written to a temporary file created unique (O_EXCL) in the target folder, named
`.rnnkit-<pid>-XXXXXXXX.tmp` so that a writer killed mid-save leaves a file anyone can trace
back to it, then renamed over the target. A failed save leaves the earlier file intact and no
temporary file; the new file keeps the permission bits of the file it replaces (or gets the
umask's, as `open()` would give). Stale temporaries (their writer's pid no longer runs and
they have not changed for a minute) are removed by the next save or load in that folder; a live
writer's never are.

Loading never runs code (no pickles), checks the declared size, dtype and shape of every entry
before reading it, and raises `FileFormatError` (file, entry, reason) for every bad file.
"""

import errno
import json
import os
import re
import stat
import tempfile
import time
import zipfile

import numpy as np

from rnnkit import backend
from rnnkit.saving import guarded
from rnnkit.saving.errors import FileFormatError

FORMAT_VERSION = 1
HEADER = "__rnnkit__"

# Bounds on what a file may make the loader read (memory stays bounded whatever the file says).
MAX_ENTRY_BYTES = 2 * 1024 ** 3          # one array
MAX_TOTAL_BYTES = 8 * 1024 ** 3          # all arrays together
MAX_HEADER_BYTES = 64 * 1024 ** 2        # the JSON header
MAX_COMPRESSION_RATIO = 1000             # for entries above RATIO_FLOOR bytes
RATIO_FLOOR = 1024 ** 2
# A temporary is stale when its writer's pid no longer runs AND it has not changed for this long:
# a writer in another pid namespace (a container sharing the folder) has a pid we cannot see.
STALE_AFTER_SECONDS = 60
NUMERIC_KINDS = "fiu"                    # float, signed and unsigned integer weights

_TEMPORARY = re.compile(r"^\.rnnkit-(\d+)-[A-Za-z0-9_]+\.tmp$")


# ---- writing --------------------------------------------------------------------------------------
def temporary_prefix(pid=None):
    """The name every rnnkit temporary file starts with: `.rnnkit-<pid>-`."""
    return f".rnnkit-{os.getpid() if pid is None else pid}-"


def _pid_alive(pid):
    if pid <= 0:
        return True  # not a real writer's pid: never guess, keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as someone else
        return True
    return True


def remove_stale_temporaries(folder, now=None):
    """Removes rnnkit temporaries in `folder` whose writer is dead (a save killed by SIGKILL or a
    power cut); returns the names removed. Files of live writers, files changed in the last
    STALE_AFTER_SECONDS, of other users and anything not named `.rnnkit-<pid>-XXXX.tmp` are left
    alone; errors (a read-only folder) are ignored."""
    now = time.time() if now is None else now
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY.match(name)
        if not match:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _pid_alive(pid):
            continue
        full = os.path.join(folder, name)
        try:
            info = os.lstat(full)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() \
                    or now - info.st_mtime < STALE_AFTER_SECONDS:
                continue
            os.remove(full)
            removed.append(name)
        except OSError:
            continue
    return removed


def _umask():
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: read it the only other way (and put it back at once)
    os.umask(mask)
    return mask


def _new_file_mode(path):
    """The permission bits the file at `path` has (it is being replaced), else those a plain
    `open(path, "w")` would give: 0666 less the umask."""
    try:
        info = os.stat(path)
        if stat.S_ISREG(info.st_mode):
            return stat.S_IMODE(info.st_mode)
    except OSError:
        pass
    return 0o666 & ~_umask()


def check_target(path):
    """Raises unless a file can be saved at `path`: its folder exists and `path` is not a folder
    or another non-regular file. Returns the absolute folder."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"Cannot save to {path!r}: the folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"Cannot save to {path!r}: it is a folder")
    if os.path.lexists(path) and not os.path.islink(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(errno.EINVAL, f"Cannot save to {path!r}: it is not a regular file")
    return folder


def _save_failure(error, path, existed):
    """An OSError (same errno) that says what happened to the earlier file."""
    kept = f"the earlier file at {path!r} is unchanged" if existed else f"no file was written at {path!r}"
    reason = error.strerror or str(error) or type(error).__name__
    message = f"Could not save {path!r}: {reason}; {kept} and no temporary file was left"
    return OSError(error.errno, message) if error.errno is not None else OSError(message)


def write_atomic(path, write):
    """Calls `write(file_object)` on a new unique temporary file beside `path`, then renames it
    to `path`: readers see the old file or the new one, never a part.

    Raises:
        OSError: saying what was kept, when the folder is missing, the disk is full or the
            rename fails; the earlier file at `path` is then unchanged and no temporary remains.
        Whatever `write` raises, after removing the temporary file.
    """
    path = os.fspath(path)
    folder = check_target(path)
    remove_stale_temporaries(folder)
    existed = os.path.lexists(path)
    mode = _new_file_mode(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=temporary_prefix(), suffix=".tmp", dir=folder)
    except OSError as error:
        raise _save_failure(error, path, existed) from error
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        try:
            os.remove(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise _save_failure(error, path, existed) from error
        raise
    try:  # make the rename itself durable; not every file system lets a folder be fsync'ed
        folder_handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_handle)
        finally:
            os.close(folder_handle)
    except OSError:
        pass


def save(path, weights, config=None):
    """Writes `weights` (and the model `config`, when given) to `path` atomically."""
    header = {"format": "rnnkit", "version": FORMAT_VERSION, "kind": "weights" if config is None else "model"}
    if config is not None:
        header["config"] = config
    arrays = {HEADER: np.array(json.dumps(header))}
    arrays.update({f"w_{i}": np.asarray(w) for i, w in enumerate(weights)})
    write_atomic(path, lambda f: np.savez(f, **arrays))


# ---- reading --------------------------------------------------------------------------------------
def _check_sizes(path, infos):
    total = 0
    for info in infos:
        where = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if info.file_size > MAX_ENTRY_BYTES:
            raise FileFormatError(path, where, f"declares {info.file_size:,} bytes, more than the "
                                               f"{MAX_ENTRY_BYTES:,} an rnnkit entry may hold")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise FileFormatError(path, where, f"declares {info.file_size:,} bytes compressed into "
                                               f"{info.compress_size:,}: a ratio above {MAX_COMPRESSION_RATIO} "
                                               "(a zip bomb?)")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise FileFormatError(path, None, f"declares {total:,} bytes of arrays, more than the "
                                          f"{MAX_TOTAL_BYTES:,} rnnkit reads from one file")


def _read_array(path, archive, info, where):
    """One .npy entry, its header checked against the zip's declared size before any data is read."""
    try:
        with archive.open(info) as f:
            return guarded.read_npy(f, info.file_size, path, where)
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError) as error:     # the entry itself, before its header
        raise guarded.UnreadableArray(path, where, f"{type(error).__name__}: {error}") from None


def _check_weight(path, where, array):
    if array.dtype.kind not in NUMERIC_KINDS:
        raise FileFormatError(path, where, f"must hold numbers (float or int). Received: dtype {array.dtype}")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise FileFormatError(path, where, "holds NaN or infinite values")
        floatx = np.dtype(backend.floatx())
        if array.dtype.itemsize > floatx.itemsize:
            with np.errstate(over="ignore"):
                if not np.all(np.isfinite(array.astype(floatx))):
                    raise FileFormatError(path, where, f"holds values too large for {floatx} "
                                                       f"(the weights' dtype); largest {np.abs(array).max():g}")


def _parse_header(path, array):
    if array.dtype.kind != "U" or array.shape != ():
        raise FileFormatError(path, HEADER, f"must be one JSON string. Received: dtype {array.dtype}, "
                                            f"shape {array.shape}")
    try:
        header = json.loads(str(array))
    except (ValueError, RecursionError) as error:
        raise FileFormatError(path, HEADER, f"is not valid JSON ({error})") from None
    if not isinstance(header, dict):
        raise FileFormatError(path, HEADER, f"must be a JSON object. Received: a {type(header).__name__}")
    if header.get("format") != "rnnkit":
        raise FileFormatError(path, f"{HEADER}.format", f"must be 'rnnkit'. Received: {header.get('format')!r}")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise FileFormatError(path, f"{HEADER}.version", f"must be an integer from 1 to {FORMAT_VERSION} "
                                                         f"(this rnnkit's). Received: {version!r}")
    if header.get("kind") not in ("model", "weights"):
        raise FileFormatError(path, f"{HEADER}.kind", f"must be 'model' or 'weights'. Received: "
                                                      f"{header.get('kind')!r}")
    config = header.get("config")
    if header["kind"] == "model" and not isinstance(config, dict):
        raise FileFormatError(path, f"{HEADER}.config", f"must be a JSON object for a model. Received: "
                                                        f"{type(config).__name__}")
    return header


def load(path):
    """Returns (config or None, [weights]) from an rnnkit file.

    Raises:
        FileNotFoundError: if the file is missing.
        FileFormatError: naming the file and the entry (`__rnnkit__`, `w_3`), for a folder or
            other non-regular file, a damaged file, a header of the wrong type, a missing weight,
            non-numeric or object arrays, non-finite values or values that overflow the weights'
            dtype, or entries declaring more than rnnkit reads.
    """
    path = os.fspath(path)
    opened, _ = guarded.open_regular_file(path, "rnnkit file")
    remove_stale_temporaries(os.path.dirname(os.path.abspath(path)))
    try:
        with opened, zipfile.ZipFile(opened) as archive:
            infos = archive.infolist()
            _check_sizes(path, infos)
            by_name = {}
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise FileFormatError(path, info.filename, "is not an array entry (.npy)")
                by_name[info.filename[:-4]] = info
            if HEADER not in by_name:
                raise FileFormatError(path, None, f"is not an rnnkit file: it has no '{HEADER}' header. "
                                                  f"Received: entries {sorted(by_name)[:5]}")
            header_info = by_name.pop(HEADER)
            if header_info.file_size > MAX_HEADER_BYTES:
                raise FileFormatError(path, HEADER, f"declares {header_info.file_size:,} bytes; a header "
                                                    f"may hold {MAX_HEADER_BYTES:,}")
            header = _parse_header(path, _read_array(path, archive, header_info, HEADER))
            unexpected = sorted(name for name in by_name if not re.fullmatch(r"w_(0|[1-9][0-9]*)", name))
            if unexpected:
                raise FileFormatError(path, unexpected[0], "is not an rnnkit entry (expected w_0, w_1, ...)")
            weights = []
            for i in range(len(by_name)):
                where = f"w_{i}"
                if where not in by_name:
                    raise FileFormatError(path, where, f"is missing: the file holds {len(by_name)} weight "
                                                       f"entries, so w_0 to w_{len(by_name) - 1} must all be there")
                array = _read_array(path, archive, by_name[where], where)
                _check_weight(path, where, array)
                weights.append(array)
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as error:
        raise FileFormatError(path, None, f"is damaged or not an rnnkit file ({type(error).__name__}: "
                                          f"{error})") from None
    return header.get("config"), weights
