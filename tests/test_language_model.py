"""`rnnkit train` / `rnnkit generate` end to end, and their bad inputs."""

import re

import numpy as np
import pytest

from rnnkit import cli, language_model
from rnnkit.saving import keras_files

TEXT = "the cat sat on the mat. the dog sat on the log.\n" * 30


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_train_then_generate_through_the_cli(tmp_path, corpus, capsys):
    out = tmp_path / "lm.keras"
    assert cli.main(["train", str(corpus), "--epochs", "1", "--units", "16", "--seq-len", "16",
                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "perplexity:" in printed and "val_loss" in printed
    # one file holds model and vocabulary (one rename saves both); no side-car, no temporaries
    assert keras_files.read_extra_entry(out, language_model.TOKENIZER_ENTRY) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "lm.keras", "lm.keras.lock"]
    assert cli.main(["generate", str(out), "--prompt", "the ", "--length", "30", "--seed", "3"]) == 0
    sample = capsys.readouterr().out.rstrip("\n")
    assert sample.startswith("the ") and len(sample) == 4 + 30
    assert set(sample) <= set(TEXT)
    # the same seed gives the same sample; temperature 0 is greedy and needs no seed
    cli.main(["generate", str(out), "--prompt", "the ", "--length", "30", "--seed", "3"])
    assert capsys.readouterr().out.rstrip("\n") == sample
    cli.main(["generate", str(out), "--prompt", "the ", "--length", "10", "--temperature", "0"])
    greedy = capsys.readouterr().out
    cli.main(["generate", str(out), "--prompt", "the ", "--length", "10", "--temperature", "0"])
    assert capsys.readouterr().out == greedy


def test_learning_lowers_perplexity(tmp_path, corpus):
    model, tokenizer, history = language_model.train([corpus], units=32, seq_len=16, epochs=6, batch_size=16,
                                                     out=tmp_path / "lm.keras", verbose=0, learning_rate=0.02)
    losses = history.history["val_loss"]
    # Stated in advance: a uniform guess over the 15-character vocabulary has perplexity 16
    # (ln 16 = 2.77); six epochs on this repetitive text must bring it below 6 (ln 6 = 1.79).
    assert losses[0] > losses[-1] and losses[-1] < np.log(6)


def test_word_level(tmp_path, corpus):
    model, tokenizer, _ = language_model.train([corpus], units=8, seq_len=4, epochs=1, word_level=True,
                                               out=tmp_path / "w.keras", verbose=0)
    assert not tokenizer.char_level and "cat" in tokenizer.word_index
    text = language_model.generate(model, tokenizer, prompt="the cat", length=5, seed=0)
    assert text.startswith("the cat ") and len(text.split()) == 7
    with pytest.raises(ValueError, match="words the model never saw: \\['zebra'\\]"):
        language_model.generate(model, tokenizer, prompt="the zebra")


def test_resume_continues_and_refuses_another_architecture(tmp_path, corpus):
    out = tmp_path / "lm.keras"
    language_model.train([corpus], units=8, seq_len=16, epochs=1, out=out, verbose=0)
    before = out.stat().st_mtime_ns
    model, _, _ = language_model.train([corpus], units=8, seq_len=16, epochs=1, out=out, resume=True, verbose=0)
    assert out.stat().st_mtime_ns >= before
    with pytest.raises(ValueError, match="another architecture: units 8 in the file vs 16 asked"):
        language_model.train([corpus], units=16, seq_len=16, epochs=1, out=out, resume=True, verbose=0)


def test_ctrl_c_saves_and_exits(tmp_path, corpus, monkeypatch, capsys):
    out = tmp_path / "lm.keras"

    def interrupt(self, epoch, logs=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(language_model._Perplexity, "on_epoch_end", interrupt)
    code = cli.main(["train", str(corpus), "--epochs", "3", "--units", "8", "--seq-len", "16", "--out", str(out)])
    assert code == 130
    assert "interrupted: saved" in capsys.readouterr().out
    model, tokenizer = language_model.load(out)
    assert model.count_params() > 0 and tokenizer.word_index


@pytest.mark.parametrize("setup,args,match", [
    (lambda d: d.joinpath("empty.txt").write_text("   \n"), ["empty.txt"], "empty"),
    (lambda d: d.joinpath("short.txt").write_text("abc"), ["short.txt", "--seq-len", "8"], "too few for one window"),
    (lambda d: d.joinpath("bad.txt").write_bytes(b"ok\xff\xfe"), ["bad.txt"], "bad.txt.*offset 2"),
    (lambda d: None, ["missing.txt"], "missing.txt"),
])
def test_bad_corpora(tmp_path, capsys, setup, args, match):
    setup(tmp_path)
    argv = ["train"] + [str(tmp_path / a) if a.endswith(".txt") else a for a in args] + ["--out", str(tmp_path / "m.keras")]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error:")
    assert re.search(match, err), err


def test_unwritable_out(tmp_path, corpus, capsys):
    assert cli.main(["train", str(corpus), "--out", str(tmp_path / "no" / "such" / "m.keras")]) == 1
    assert "unwritable --out" in capsys.readouterr().err


def test_generate_refuses_unseen_characters(tmp_path, corpus):
    model, tokenizer, _ = language_model.train([corpus], units=8, seq_len=16, epochs=1, out=tmp_path / "m.keras",
                                               verbose=0)
    with pytest.raises(ValueError, match="characters the model never saw: \\['X', 'Z'\\]"):
        language_model.generate(model, tokenizer, prompt="XZ")


@pytest.mark.parametrize("script", ["text_classification.py", "forecasting.py"])
def test_examples_run(script):
    import pathlib
    import subprocess
    import sys
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / script
    result = subprocess.run([sys.executable, str(path), "--epochs", "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "test" in result.stdout
