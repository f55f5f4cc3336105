"""The `rnnkit` command under attack and misuse: temporary names, locks, paths, bad numbers, bad
files. Every failure is one line on stderr and a non-zero exit (2 for usage errors), never a
traceback, and nothing is trained or written before the arguments are known to be usable."""

import errno
import io
import os
import re
import stat
import subprocess
import sys

import numpy as np
import pytest

from conftest import FIXTURES
from rnnkit import cli, language_model
from rnnkit.models import Sequential

TEXT = "the cat sat on the mat. the dog sat on the log.\n" * 30
TINY = ["--epochs", "1", "--units", "8", "--seq-len", "16"]


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture
def trained(tmp_path, corpus):
    out = tmp_path / "lm.keras"
    assert cli.main(["train", str(corpus), *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if any model starts training."""
    def fit(*args, **kwargs):
        raise AssertionError("training started")
    monkeypatch.setattr(Sequential, "fit", fit)


def _one_error_line(capsys, prefix="rnnkit"):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines[-1].startswith(f"{prefix}") and ": error: " in lines[-1], err
    assert len([line for line in lines if "error:" in line]) == 1, err
    return lines[-1]


# ---- 1. no fixed temporary names ----------------------------------------------------------------------
def test_a_symlink_at_the_old_temporary_name_is_never_followed(tmp_path, corpus):
    out = tmp_path / "lm.keras"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.symlink(victim, tmp_path / "lm.keras.tokenizer.json.tmp")
    os.symlink(victim, tmp_path / "lm.keras.tokenizer.json")
    assert cli.main(["train", str(corpus), *TINY, "--out", str(out)]) == 0
    assert victim.read_text() == "precious"
    model, tokenizer = language_model.load(out)  # the archive's own vocabulary wins over a side-car
    assert set(tokenizer.word_index) == set(TEXT)


# ---- 3. one writer per --out ----------------------------------------------------------------------------
def test_a_second_writer_is_refused_before_it_trains(tmp_path, corpus, capsys, monkeypatch):
    out = tmp_path / "lm.keras"
    with language_model.writer_lock(out):  # a training in progress (flock: per open file, so this conflicts)
        fits = []
        monkeypatch.setattr(Sequential, "fit", lambda *a, **k: fits.append(1))
        assert cli.main(["train", str(corpus), *TINY, "--out", str(out)]) == 1
        assert "Another process is training into" in _one_error_line(capsys) and fits == []
        assert not out.exists()
    monkeypatch.undo()
    assert cli.main(["train", str(corpus), *TINY, "--out", str(out)]) == 0  # the lock is released


def test_the_lock_is_held_against_another_process(tmp_path, corpus):
    out = tmp_path / "lm.keras"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom rnnkit import language_model\n"
        "with language_model.writer_lock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(60)\n"),
        str(out)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        with pytest.raises(ValueError, match="Another process is training into"):
            language_model.train([corpus], units=8, seq_len=16, epochs=1, out=out, verbose=0)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert language_model.lock_path(out).exists()  # SIGKILL left the file, but the kernel dropped the lock
    language_model.train([corpus], units=8, seq_len=16, epochs=1, out=out, verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "lm.keras", "lm.keras.history.csv"]  # no lock file left over


def test_a_failed_training_leaves_no_lock_file(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text(" ")
    assert cli.main(["train", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "m.keras")]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt"]


# ---- 5. modes -------------------------------------------------------------------------------------------
def test_retraining_keeps_the_mode_of_the_model_file(tmp_path, corpus, trained):
    trained.chmod(0o644)
    assert cli.main(["train", str(corpus), *TINY, "--resume", "--out", str(trained)]) == 0
    assert stat.S_IMODE(trained.stat().st_mode) == 0o644


# ---- 6. a failed save -----------------------------------------------------------------------------------
def test_a_full_disk_is_reported_with_what_was_kept(tmp_path, corpus, trained, capsys, monkeypatch):
    before = trained.read_bytes()
    from rnnkit.saving import keras_files
    real = keras_files._write_archive

    def write_half(f, *args, **kwargs):
        real(f, *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(keras_files, "_write_archive", write_half)
    assert cli.main(["train", str(corpus), *TINY, "--resume", "--out", str(trained)]) == 1
    line = _one_error_line(capsys)
    assert "No space left on device" in line and f"the earlier file at {str(trained)!r} is unchanged" in line
    assert trained.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "lm.keras", "lm.keras.history.csv"]


# ---- 7. predict -o writes the path it names -------------------------------------------------------------
def test_predict_writes_exactly_the_named_output(tmp_path):
    data = np.load(FIXTURES / "keras3" / "gru_reset_before.npz")
    np.save(tmp_path / "x.npy", data["x"])
    output = tmp_path / "y_noext"
    assert cli.main(["predict", str(FIXTURES / "keras3" / "gru_reset_before.keras"), str(tmp_path / "x.npy"),
                     "-o", str(output)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy", "y_noext"]
    np.testing.assert_allclose(np.load(output), data["y"], atol=1e-5)


# ---- 8. no tracebacks -----------------------------------------------------------------------------------
MODEL = str(FIXTURES / "keras3" / "gru_reset_before.keras")


@pytest.mark.parametrize("argv,code,message", [
    (["train", "CORPUS", "--units", "100000000"], 2, "--units: must be an integer from 1 to 65,536"),
    (["train", "CORPUS", "--units", "60000", "--layers", "8"], 1, "weights \\(at most 250,000,000\\)"),
    (["train", "CORPUS", "--batch-size", "1000000", "--seq-len", "10000"], 1, "activations for backpropagation"),
    (["train", "CORPUS", "--units", "many"], 2, "must be an integer. Received: 'many'"),
    (["train", "CORPUS", "--seed", "-1"], 2, "--seed: must be an integer from 0"),
    (["train", "CORPUS", "--learning-rate", "nan"], 2, "--learning-rate: must be a finite number above 0"),
    (["train", "CORPUS", "--learning-rate", "0"], 2, "--learning-rate: must be a finite number above 0"),
    (["train", "CORPUS", "--out", "TMP/m.h5"], 2, "--out: must end in .keras"),
    (["train", "CORPUS", "--out", "TMP/folder.keras"], 1, "is a folder. Received: an unwritable --out"),
    (["train", "CORPUS", "--out", "CORPUS/m.keras"], 1, "does not exist. Received: an unwritable --out"),
    (["train", "TMP/empty.txt"], 1, "is empty"),
    (["train", "TMP/punctuation.txt", "--word"], 1, "holds no words. Received: an empty vocabulary"),
    (["train", "CORPUS", "--resume", "--out", "TMP/none.keras"], 1, "no model at .*none.keras' to continue"),
    (["generate", "MODEL_LM", "--temperature", "nan"], 2, "--temperature: must be a finite number"),
    (["generate", "MODEL_LM", "--temperature", "inf"], 2, "--temperature: must be a finite number"),
    (["generate", "MODEL_LM", "--temperature", "-0.5"], 2, "--temperature: must be a finite number"),
    (["generate", "MODEL_LM", "--seed", "-1"], 2, "--seed: must be an integer from 0"),
    (["generate", "MODEL_LM", "--prompt", "the \udcff"], 1, "never saw: \\['\\\\udcff'\\]"),
    (["generate", "TMP/folder.keras"], 1, "must be a regular file"),
    (["predict", MODEL, "TMP/empty.npy"], 1, "TMP/empty.npy' as a .npy array \\(it is empty\\)"),
    (["predict", MODEL, "TMP/fifo"], 1, "input .npy file must be a regular file"),
    (["predict", MODEL, "TMP/x.npy", "-o", "TMP/folder.keras"], 1, "is a folder"),
    (["predict", MODEL, "TMP/text.npy"], 1, "must hold numbers"),
    (["predict", MODEL, "TMP/x.npz"], 1, "TMP/x.npz' as a .npy array \\(ValueError"),
    (["predict", MODEL, "TMP/huge.npy"], 1, "declares shape \\(1000000000000,\\) of float32 \\(4,000,000,000,000 "
                                            "bytes\\) but holds 16 bytes"),
    (["train", "TMP/fifo"], 1, "text file must be a regular file"),
    (["predict", MODEL, "TMP/x.npy", "--batch-size", "0"], 2, "--batch-size: must be an integer from 1"),
    (["summary", "/dev/zero"], 1, "must be a regular file. Received: '/dev/zero'"),
    (["summary", "TMP/fifo"], 1, "must be a regular file"),
    (["summary", "TMP/folder.keras"], 1, "is a folder without saved_model.pb: not a TensorFlow SavedModel"),
    (["summary", "TMP/bad.npz"], 1, "bad.npz' at w_0: must hold numbers"),
    (["tutorial", "--seed", "-3"], 2, "--seed: must be an integer from 0"),
])
def test_every_failure_is_one_clear_line(tmp_path, corpus, trained, capsys, no_training, argv, code, message):
    (tmp_path / "folder.keras").mkdir()
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "punctuation.txt").write_text("!!! ... ???\n")
    (tmp_path / "empty.npy").write_bytes(b"")
    os.mkfifo(tmp_path / "fifo")
    np.save(tmp_path / "x.npy", np.zeros((2, 5, 4), np.float32))
    np.save(tmp_path / "text.npy", np.array([["a"]]))
    np.savez(tmp_path / "x.npz", x=np.zeros(3))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 12,)})
    (tmp_path / "huge.npy").write_bytes(header.getvalue() + bytes(16))
    np.savez(tmp_path / "bad.npz", __rnnkit__=np.array('{"format": "rnnkit", "version": 1, "kind": "weights"}'),
             w_0=np.array(["text"]))
    names = {"CORPUS": str(corpus), "TMP": str(tmp_path), "MODEL_LM": str(trained)}
    argv = [names.get(a, a) if "/" not in a else a.replace("TMP", str(tmp_path)).replace("CORPUS", str(corpus))
            for a in argv]
    capsys.readouterr()
    assert cli.main(argv) == code
    line = _one_error_line(capsys, prefix=f"rnnkit {argv[0]}" if code == 2 else "rnnkit")
    assert re.search(message.replace("TMP", str(tmp_path)), line), line


def test_a_denormal_temperature_is_greedy_not_nan(trained, capsys):
    assert cli.main(["generate", str(trained), "--prompt", "the ", "--length", "20", "--temperature", "0"]) == 0
    greedy = capsys.readouterr().out
    for tiny in ("1e-320", "5e-324", "1e-300"):
        assert cli.main(["generate", str(trained), "--prompt", "the ", "--length", "20", "--temperature", tiny,
                         "--seed", "1"]) == 0
        assert capsys.readouterr().out == greedy  # T -> 0 is the argmax, by definition


def test_text_the_terminal_cannot_encode_is_escaped_not_a_crash(tmp_path):
    corpus = tmp_path / "accents.txt"
    corpus.write_text("é à ü " * 200, encoding="utf-8")
    out = tmp_path / "lm.keras"
    env = dict(os.environ, PYTHONIOENCODING="ascii")
    run = [sys.executable, "-m", "rnnkit"]
    trained = subprocess.run(run + ["train", str(corpus), *TINY, "--out", str(out)], env=env, capture_output=True,
                             text=True)
    assert trained.returncode == 0, trained.stderr
    result = subprocess.run(run + ["generate", str(out), "--prompt", "é", "--length", "5", "--seed", "0"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.startswith("\\xe9")  # é, escaped for an ASCII terminal


def test_out_of_memory_is_one_line(monkeypatch, capsys, trained):
    def no_memory(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(language_model, "generate", no_memory)
    assert cli.main(["generate", str(trained)]) == 1
    assert "out of memory" in _one_error_line(capsys)


def test_an_unexpected_error_is_one_line_unless_debugging(monkeypatch, capsys, trained):
    def bug(*args, **kwargs):
        raise KeyError("index_word")
    monkeypatch.setattr(language_model, "generate", bug)
    assert cli.main(["generate", str(trained)]) == 1
    assert "unexpected KeyError" in _one_error_line(capsys)
    monkeypatch.setenv("RNNKIT_DEBUG", "1")
    with pytest.raises(KeyError):
        cli.main(["generate", str(trained)])
