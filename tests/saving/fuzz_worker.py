"""Loads mutated model files, one per input line, and prints one JSON outcome per line.

Run by test_fuzz_files.py as a separate process with a memory limit, so that a crash in libhdf5,
a hang or an oversized allocation is seen from outside instead of taking the test run with it.
Input lines: {"path": ..., "kind": "config" | "flip", "x": path of an .npy input or null,
"y": path of the expected output or null}. Output lines: {"path": ..., "outcome": ..., "detail": ...}.
"""

import json
import os
import resource
import signal
import sys
import traceback

import numpy as np

SECONDS_PER_LOAD = 20
MEMORY_LIMIT = 3 * 2**30


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def outcome_of(case):
    from rnnkit.models import load_model
    from rnnkit.saving import FileFormatError

    path = case["path"]
    try:
        model = load_model(path)
    except FileFormatError as error:
        named = error.filename == path and path in str(error)
        # A failure the layer's own checks did not foresee, turned into a FileFormatError at the
        # loader's boundary: allowed, but counted apart so that it stays visible.
        converted = "the layer cannot be built from this config (" in str(error)
        return ("unnamed_error" if not named else "converted_error" if converted else "file_format_error"), \
            str(error)[:300]
    except (ValueError, TypeError) as error:
        return ("named_error" if path in str(error) else "unnamed_error"), f"{type(error).__name__}: {error}"[:300]
    except FileNotFoundError as error:
        return "unnamed_error", f"FileNotFoundError: {error}"[:300]
    try:
        if case.get("x"):
            x = np.load(case["x"])
            if case["x"].endswith(".npz"):  # several inputs of a functional model
                x = [x[k] for k in sorted(x.files, key=lambda k: int(k.split("_")[1]))]
                x = x if len(x) > 1 else x[0]
            try:
                y = model.predict(x, verbose=0)
                y = y[0] if isinstance(y, list) else y
            except (ValueError, TypeError):
                y = None  # the mutation changed the input shape; try an input of the model's own shape
            if y is not None and case.get("y"):
                expected = np.load(case["y"])
                same = y.shape == expected.shape and np.allclose(y, expected, atol=1e-5, rtol=0)
                return ("same_prediction" if same else "different_prediction"), ""
        if hasattr(model, "inputs"):  # functional: one sample per input, of each input's own shape
            samples = [np.ones(tuple(2 if d is None else d for d in t.shape), dtype=t.dtype) for t in model.inputs]
            model.predict(samples if len(samples) > 1 else samples[0], verbose=0)
            return "loaded_and_predicts", ""
        shape = tuple(2 if d is None else d for d in model.input_shape)
        sample = np.ones(shape, dtype=model.layers[0].dtype if model.layers else "float32")
        model.predict(sample, verbose=0)
        return "loaded_and_predicts", ""
    except Exception as error:  # noqa: BLE001 - reported, and the test fails on it
        return "loaded_but_predict_failed", f"{type(error).__name__}: {error}"[:300]


def main():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    signal.signal(signal.SIGALRM, _alarm)
    for line in sys.stdin:
        case = json.loads(line)
        signal.alarm(SECONDS_PER_LOAD)
        try:
            outcome, detail = outcome_of(case)
        except Hang:
            outcome, detail = "hang", f"more than {SECONDS_PER_LOAD} s"
        except MemoryError:
            outcome, detail = "oversized_allocation", traceback.format_exc(limit=4)[-600:]
        except BaseException as error:  # noqa: BLE001 - a raw exception is the finding
            outcome, detail = "raw_exception", f"{type(error).__name__}: {error}\n" + traceback.format_exc()[-900:]
        finally:
            signal.alarm(0)
        print(json.dumps({"path": case["path"], "outcome": outcome, "detail": detail}), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    main()
