"""Fuzzing the loaders: every node of the fixture models' configs set to odd values, and random
byte flips of .h5, .keras and .npz files. Fixed seeds and a bounded count.

The loads run in worker processes (fuzz_worker.py) with a memory limit and a time limit per load,
restarted after a crash, so that a hang, a crash or a huge allocation is seen and named rather
than taking the test run down. Allowed outcomes:
- a model that loads and predicts (the mutation was harmless, or a byte flip changed weights:
  HDF5 has no checksums, so those are counted and reported, not hidden);
- FileFormatError, or a ValueError/TypeError naming the file.
Never a raw exception, an unnamed error, a hang, an oversized allocation or a model that loads
but cannot predict. A byte flip may still crash libhdf5 itself, which parses the file's metadata
in C: such crashes are counted and reported (README, Safety), and must stay rare.
"""

import collections
import copy
import io
import json
import os
import pathlib
import subprocess
import sys
import threading
import zipfile

import h5py
import numpy as np
import pytest

from conftest import FIXTURES

WORKER = pathlib.Path(__file__).with_name("fuzz_worker.py")
ODD_VALUES = [None, True, -1, 0, 2**63, 1e308, -1e-320, "", "\ud800", [], {}, [[[[[]]]]],
              {"class_name": "Lambda", "config": {"function": "os.system"}}]
DELETE = object()
CONFIG_SOURCES = [("keras2", "lstm_stack", ".h5"), ("keras2", "embedding_mask_bidirectional_gru_seq", ".h5"),
                  ("keras3", "bidirectional_lstm_concat", ".keras"), ("keras3", "gru_reset_before", ".keras"),
                  ("keras2_graph", "seq2seq_lstm_chars_decoder", ".h5"),
                  ("keras3_graph", "shared_lstm_add_average_maximum_minimum", ".keras")]
VALUES_PER_NODE = 3
FLIPS_PER_FILE = 100
ALLOWED = {"file_format_error", "converted_error", "named_error", "same_prediction", "different_prediction", "loaded_and_predicts"}
REPORT = collections.Counter()


# ---- cases ----------------------------------------------------------------------------------------
def node_paths(value, path=()):
    """Every node of a JSON value, as key paths, root excluded."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield path + (key,)
        yield from node_paths(child, path + (key,))


def mutated(config, path, value):
    result = copy.deepcopy(config)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(value)
    return result


def read_config(source):
    if source.suffix == ".h5":
        with h5py.File(source, "r") as f:
            return json.loads(f.attrs["model_config"])
    with zipfile.ZipFile(source) as archive:
        return json.loads(archive.read("config.json"))


def write_with_config(source, target, config):
    text = json.dumps(config)
    if source.suffix == ".h5":
        target.write_bytes(source.read_bytes())
        with h5py.File(target, "r+") as f:
            f.attrs["model_config"] = text
        return
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for name in archive.namelist():
            out.writestr(name, text if name == "config.json" else archive.read(name))


def config_cases(folder):
    rng = np.random.default_rng(1234)
    cases = []
    for version, name, ext in CONFIG_SOURCES:
        source = FIXTURES / version / f"{name}{ext}"
        data = np.load(FIXTURES / version / f"{name}.npz")
        x, y = folder / f"{name}.{version}.x.npy", folder / f"{name}.{version}.y.npy"
        if "x" in data.files:
            np.save(x, data["x"])
            np.save(y, data["y"])
        else:  # a functional model: its inputs and first output, as lists the worker passes on
            np.savez(x.with_suffix(".npz"), *[data[k] for k in sorted(k for k in data.files if k.startswith("x"))])
            np.save(y, data["y0"])
            x = x.with_suffix(".npz")
        config = read_config(source)
        for node, path in enumerate(node_paths(config)):
            choices = rng.choice(len(ODD_VALUES) + 1, size=VALUES_PER_NODE, replace=False)
            for choice in choices:
                value = DELETE if choice == len(ODD_VALUES) else ODD_VALUES[choice]
                target = folder / f"{version}-{name}-{node}-{choice}{ext}"
                write_with_config(source, target, mutated(config, path, value))
                cases.append({"path": os.fspath(target), "kind": "config", "x": os.fspath(x), "y": os.fspath(y),
                              "node": "/".join(map(str, path)), "value": "DELETE" if value is DELETE else repr(value)})
    return cases


def flip_cases(folder):
    from rnnkit.models import load_model

    rng = np.random.default_rng(99)
    sources = [FIXTURES / "keras2" / "lstm_stack.h5", FIXTURES / "keras3" / "bidirectional_lstm_concat.keras"]
    npz = folder / "lstm_stack.npz"
    load_model(sources[0]).save(npz)  # rnnkit's own format, written by rnnkit
    npz_data = np.load(FIXTURES / "keras2" / "lstm_stack.npz")
    io_paths = {}
    for version, name in (("keras2", "lstm_stack"), ("keras3", "bidirectional_lstm_concat")):
        data = np.load(FIXTURES / version / f"{name}.npz")
        io_paths[name] = (folder / f"{name}.{version}.flipx.npy", folder / f"{name}.{version}.flipy.npy")
        np.save(io_paths[name][0], data["x"])
        np.save(io_paths[name][1], data["y"])
    cases = []
    for source, stem in ((sources[0], "lstm_stack"), (sources[1], "bidirectional_lstm_concat"), (npz, "lstm_stack")):
        original = source.read_bytes()
        for flip in range(FLIPS_PER_FILE):
            data = bytearray(original)
            offset = int(rng.integers(len(data)))
            data[offset] ^= int(rng.integers(1, 256))
            target = folder / f"flip-{flip}-{source.name}"
            target.write_bytes(bytes(data))
            x, y = io_paths[stem]
            cases.append({"path": os.fspath(target), "kind": "flip", "x": os.fspath(x), "y": os.fspath(y),
                          "node": f"byte {offset}", "value": "flip"})
    assert npz_data["x"].shape[0] > 0
    return cases


# ---- running --------------------------------------------------------------------------------------
def run_worker(cases):
    """Outcomes of `cases` in order; a crashed or stuck worker is restarted after the case it died on."""
    results, remaining = [], list(cases)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    while remaining:
        process = subprocess.Popen([sys.executable, os.fspath(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
        feed = "".join(json.dumps(case) + "\n" for case in remaining)
        try:
            out, err = process.communicate(feed, timeout=60 + 5 * len(remaining))
            stuck = False
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            stuck = True
        done = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        results += done
        remaining = remaining[len(done):]
        if remaining:  # the worker died (or hung) on remaining[0]
            kind = "hang" if stuck else f"crash (signal {-process.returncode})" if process.returncode < 0 \
                else f"worker exit {process.returncode}: {err[-300:]}"
            results.append({"path": remaining[0]["path"], "outcome": "hang" if stuck else "crash", "detail": kind})
            remaining = remaining[1:]
    return results


def run_all(cases):
    halves = [cases[0::2], cases[1::2]]
    outcomes = [None, None]

    def work(index):
        outcomes[index] = run_worker(halves[index])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    by_path = {result["path"]: result for result in outcomes[0] + outcomes[1]}
    return [dict(case, **by_path[case["path"]]) for case in cases]


def summarize(kind, results):
    counts = collections.Counter(result["outcome"] for result in results)
    REPORT.update({f"{kind}:{outcome}": count for outcome, count in counts.items()})
    print(f"\n{kind}: {len(results)} loads: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts


def failures(results, allowed):
    return [f"{r['outcome']}: {r['node']} = {r['value']} in {pathlib.Path(r['path']).name}: {r['detail']}"
            for r in results if r["outcome"] not in allowed]


def test_every_config_node_mutated(tmp_path):
    results = run_all(config_cases(tmp_path))
    counts = summarize("config mutations", results)
    bad = failures(results, ALLOWED)
    assert not bad, f"{len(bad)} of {len(results)} bad outcomes:\n" + "\n".join(bad[:25])
    assert counts["file_format_error"] > len(results) // 4  # the mutations do bite
    assert len(results) > 500


def test_random_byte_flips(tmp_path):
    results = run_all(flip_cases(tmp_path))
    counts = summarize("byte flips", results)
    bad = failures(results, ALLOWED | {"crash"})
    assert not bad, f"{len(bad)} of {len(results)} bad outcomes:\n" + "\n".join(bad[:25])
    # libhdf5's own crashes on damaged metadata are counted, not hidden; they must stay rare.
    assert counts["crash"] <= len(results) // 20, failures(results, ALLOWED)
    assert len(results) == 3 * FLIPS_PER_FILE
