"""rnnkit's .npz format and write_atomic: bad files, bounded reads, modes, failed and killed saves."""

import errno
import io
import json
import os
import stat
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from rnnkit.saving import FileFormatError, rnnkit_format

WEIGHTS = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(3, np.float32)]


def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=True)
    return buffer.getvalue()


def _write_npz(path, entries, header={"format": "rnnkit", "version": 1, "kind": "weights"}):
    """An .npz written by hand, entry by entry (raw bytes or arrays), to build bad files."""
    with zipfile.ZipFile(path, "w") as archive:
        if header is not None:
            archive.writestr("__rnnkit__.npy", _npy(np.array(json.dumps(header))))
        for name, value in entries.items():
            archive.writestr(name if name.endswith(".npy") else name + ".npy",
                             value if isinstance(value, bytes) else _npy(value))
    return path


def test_round_trip_keeps_values_and_order(tmp_path):
    rnnkit_format.save(tmp_path / "w.npz", WEIGHTS, {"name": "m"})
    config, weights = rnnkit_format.load(tmp_path / "w.npz")
    assert config == {"name": "m"}
    assert [w.tolist() for w in weights] == [w.tolist() for w in WEIGHTS]


@pytest.mark.parametrize("header,location,reason", [
    (["rnnkit"], "__rnnkit__", "must be a JSON object. Received: a list"),
    (7, "__rnnkit__", "must be a JSON object. Received: a int"),
    ({"format": "other", "version": 1, "kind": "weights"}, "__rnnkit__.format", "must be 'rnnkit'"),
    ({"format": "rnnkit", "version": "1", "kind": "weights"}, "__rnnkit__.version", "must be an integer"),
    ({"format": "rnnkit", "version": 99, "kind": "weights"}, "__rnnkit__.version", "from 1 to 1"),
    ({"format": "rnnkit", "version": 1, "kind": "model", "config": [1]}, "__rnnkit__.config", "JSON object"),
])
def test_wrong_header_types_name_the_file_and_the_header(tmp_path, header, location, reason):
    path = _write_npz(tmp_path / "bad.npz", {"w_0": WEIGHTS[0]}, header)
    with pytest.raises(FileFormatError) as caught:
        rnnkit_format.load(path)
    assert caught.value.filename == str(path) and caught.value.location == location
    assert reason in caught.value.reason


@pytest.mark.parametrize("entries,location,reason", [
    ({"w_0": WEIGHTS[0], "w_2": WEIGHTS[1]}, "w_1", "is missing"),
    ({"w_0": np.array(["a", "b"])}, "w_0", "must hold numbers"),
    ({"w_0": np.array([1 + 2j])}, "w_0", "must hold numbers"),
    ({"w_0": np.array([True])}, "w_0", "must hold numbers"),
    ({"w_0": np.array([{"x": 1}], dtype=object)}, "w_0", "Python objects"),
    ({"w_0": np.array([1.0, np.nan])}, "w_0", "NaN or infinite"),
    ({"w_0": np.array([1.0, 1e300])}, "w_0", "too large for float32"),  # finite in float64 only
    ({"w_0": WEIGHTS[0], "extra": WEIGHTS[1]}, "extra", "not an rnnkit entry"),
    ({"w_0": b"\x93NUMPY garbage"}, "w_0", "not a readable array"),
])
def test_bad_entries_name_the_entry(tmp_path, entries, location, reason):
    path = _write_npz(tmp_path / "bad.npz", entries)
    with pytest.raises(FileFormatError) as caught:
        rnnkit_format.load(path)
    assert (caught.value.filename, caught.value.location) == (str(path), location)
    assert reason in caught.value.reason


def test_a_declared_shape_larger_than_the_data_is_refused_before_reading(tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": (4000000000,)})
    path = _write_npz(tmp_path / "bad.npz", {"w_0": buffer.getvalue() + bytes(16)})  # says 16 GB, holds 16 B
    with pytest.raises(FileFormatError, match="w_0: declares shape \\(4000000000,\\) of float32 "
                                              "\\(16,000,000,000 bytes\\) but holds 16 bytes"):
        rnnkit_format.load(path)


def test_zip_bombs_and_huge_declared_sizes_are_refused_from_the_zip_directory(tmp_path, monkeypatch):
    # 8 MiB of zeros deflate to ~8 KB: a ratio of ~1000 over the 1 MiB floor.
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("__rnnkit__.npy", _npy(np.array(json.dumps({"format": "rnnkit", "version": 1,
                                                                      "kind": "weights"}))))
        archive.writestr("w_0.npy", _npy(np.zeros(2 * 1024 ** 2, np.float32)))
    read = []
    monkeypatch.setattr(rnnkit_format, "_read_array", lambda *a: read.append(a) or None)
    with pytest.raises(FileFormatError, match="w_0: declares 8,388,736 bytes compressed into .* ratio above 1000"):
        rnnkit_format.load(path)
    assert read == []  # refused from the declared sizes, nothing read
    monkeypatch.setattr(rnnkit_format, "MAX_COMPRESSION_RATIO", 10 ** 9)
    monkeypatch.setattr(rnnkit_format, "MAX_ENTRY_BYTES", 8 * 1024 ** 2)
    with pytest.raises(FileFormatError, match="w_0: declares 8,388,736 bytes, more than the 8,388,608"):
        rnnkit_format.load(path)


@pytest.mark.parametrize("make,match", [
    (lambda p: p.mkdir(), "not a regular file"),
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: p.write_bytes(b""), "damaged or not an rnnkit file"),
    (lambda p: p.write_bytes(b"PK\x03\x04 truncated"), "damaged or not an rnnkit file"),
])
def test_non_files_and_damaged_files(tmp_path, make, match):
    path = tmp_path / "x.npz"
    make(path)
    with pytest.raises(FileFormatError, match=match) as caught:
        rnnkit_format.load(path)
    assert caught.value.filename == str(path)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        rnnkit_format.load(tmp_path / "missing.npz")


# ---- write_atomic -----------------------------------------------------------------------------------
def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "w.npz"
    path.write_bytes(b"old")
    path.chmod(0o644)
    rnnkit_format.save(path, WEIGHTS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o640)
    rnnkit_format.save(path, WEIGHTS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize("umask,expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_a_new_file_gets_the_umasks_mode(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        rnnkit_format.save(tmp_path / "w.npz", WEIGHTS)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "w.npz").stat().st_mode) == expected


def test_a_failed_save_says_what_was_kept_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "w.npz"
    path.write_bytes(b"earlier")

    def disk_full(f):
        f.write(b"part of it")
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OSError) as caught:
        rnnkit_format.write_atomic(path, disk_full)
    assert caught.value.errno == errno.ENOSPC
    assert f"the earlier file at {str(path)!r} is unchanged" in str(caught.value)
    assert path.read_bytes() == b"earlier" and os.listdir(tmp_path) == ["w.npz"]
    with pytest.raises(OSError, match="no file was written at"):
        rnnkit_format.write_atomic(tmp_path / "new.npz", disk_full)
    assert os.listdir(tmp_path) == ["w.npz"]
    with pytest.raises(ZeroDivisionError):  # any other failure: same cleanup, error unchanged
        rnnkit_format.write_atomic(path, lambda f: 1 / 0)
    assert path.read_bytes() == b"earlier" and os.listdir(tmp_path) == ["w.npz"]


def test_a_folder_or_a_device_is_refused_as_a_target(tmp_path):
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        rnnkit_format.save(tmp_path / "dir.npz", WEIGHTS)
    os.mkfifo(tmp_path / "fifo.npz")
    with pytest.raises(OSError, match="not a regular file"):
        rnnkit_format.save(tmp_path / "fifo.npz", WEIGHTS)
    assert sorted(os.listdir(tmp_path)) == ["dir.npz", "fifo.npz"]


_KILLED_WRITER = """
import os, sys, time
from rnnkit.saving import rnnkit_format
def write(f):
    f.write(b"half a model"); f.flush(); print("writing", flush=True); time.sleep(60)
rnnkit_format.write_atomic(sys.argv[1], write)
"""


def test_a_killed_writers_temporary_is_removed_by_the_next_save_but_a_live_ones_is_not(tmp_path):
    target = tmp_path / "w.npz"
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)], stdout=subprocess.PIPE)
    try:
        assert writer.stdout.readline() == b"writing\n"
        live = [n for n in os.listdir(tmp_path) if n.startswith(f".rnnkit-{writer.pid}-") and n.endswith(".tmp")]
        assert len(live) == 1  # recognisable: the writer's pid is in the name
        rnnkit_format.save(tmp_path / "other.npz", WEIGHTS)  # a save beside a live writer
        assert live[0] in os.listdir(tmp_path)
        writer.kill()
        writer.wait()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        writer.stdout.close()
    assert live[0] in os.listdir(tmp_path)  # SIGKILL: nothing could clean up
    rnnkit_format.save(tmp_path / "other.npz", WEIGHTS)
    assert live[0] in os.listdir(tmp_path)  # changed seconds ago: could be a writer we cannot see
    old = time.time() - rnnkit_format.STALE_AFTER_SECONDS - 1
    os.utime(tmp_path / live[0], (old, old))
    (tmp_path / ".rnnkit-notapid-x.tmp").write_text("not ours")  # not our pattern: kept
    rnnkit_format.load(tmp_path / "other.npz")  # loading cleans up stale temporaries too
    assert sorted(os.listdir(tmp_path)) == [".rnnkit-notapid-x.tmp", "other.npz"]
