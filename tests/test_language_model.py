"""`rnnkit train` / `rnnkit generate` end to end, and their bad inputs."""

import errno
import os
import re
import zipfile

import numpy as np
import pytest

from rnnkit import callbacks, cli, language_model
from rnnkit.models import load_model
from rnnkit.saving import FileFormatError, keras_files, rnnkit_format

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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "lm.keras", "lm.keras.history.csv"]
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


class _WeightsAtStart(callbacks.Callback):
    """Records the model's weights before the first batch of `fit`."""

    def on_train_begin(self, logs=None):
        self.weights = [w.copy() for w in self.model.get_weights()]


def test_resume_continues_from_the_saved_weights_and_the_loss_curve(tmp_path, corpus):
    out = tmp_path / "lm.keras"
    settings = dict(units=16, seq_len=16, batch_size=16, learning_rate=0.02, max_chars=1200, out=out, verbose=0)
    _, _, first = language_model.train([corpus], epochs=3, **settings)
    saved = load_model(out).get_weights()  # read independently of language_model.load
    start = _WeightsAtStart()
    _, _, resumed = language_model.train([corpus], epochs=1, resume=True, callbacks=[start], **settings)
    # 1. right after --resume loads, the weights are exactly the saved ones (not a fresh model's)
    assert len(start.weights) == len(saved)
    for mine, theirs in zip(start.weights, saved):
        np.testing.assert_array_equal(mine, theirs)
    # 2. the loss continues the curve. Stated in advance: a fresh model's first epoch averages
    # about ln(16) = 2.8 here; the resumed epoch must stay near the last saved epoch (within 5%:
    # the optimizer's moments restart) and end well below a fresh start (by at least 0.5).
    losses = first.history["loss"]
    assert losses[0] > losses[-1] + 0.5, losses  # the run learned something worth continuing
    assert resumed.history["loss"][0] < losses[-1] * 1.05
    assert resumed.history["loss"][0] < losses[0] - 0.5


def test_resume_refuses_unseen_characters_naming_them_and_their_share(tmp_path, corpus):
    out = tmp_path / "lm.keras"
    language_model.train([corpus], units=8, seq_len=16, epochs=1, out=out, verbose=0)
    other = tmp_path / "other.txt"
    text = "ZQ the cat\n" + TEXT
    other.write_text(text, encoding="utf-8")
    share = (text.count("Z") + text.count("Q")) / len(text)  # each character is one token
    before = out.read_bytes()
    with pytest.raises(ValueError, match=f"2 characters the model at .* never saw, {share:.2%} of the corpus "
                                         "\\('Q', 'Z'\\)"):
        language_model.train([other], units=8, seq_len=16, epochs=1, out=out, resume=True, verbose=0)
    assert out.read_bytes() == before  # refused before training: nothing saved


def test_resume_refuses_the_other_level_and_keeps_the_models_by_default(tmp_path, corpus):
    chars, words = tmp_path / "c.keras", tmp_path / "w.keras"
    language_model.train([corpus], units=8, seq_len=16, epochs=1, out=chars, verbose=0)
    language_model.train([corpus], units=8, seq_len=4, epochs=1, out=words, word_level=True, verbose=0)
    with pytest.raises(ValueError, match="is a character-level model; --word cannot continue it"):
        language_model.train([corpus], units=8, seq_len=16, epochs=1, out=chars, resume=True, word_level=True,
                             verbose=0)
    with pytest.raises(ValueError, match="is a word-level model; --char cannot continue it"):
        language_model.train([corpus], units=8, seq_len=4, epochs=1, out=words, resume=True, word_level=False,
                             verbose=0)
    _, tokenizer, _ = language_model.train([corpus], units=8, seq_len=4, epochs=1, out=words, resume=True, verbose=0)
    assert not tokenizer.char_level


# ---- model and vocabulary bound together --------------------------------------------------------------
def _rewrite_archive(source, target, replace):
    """A copy of the .keras archive `source` with some entries' bytes replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, replace.get(name, old.read(name)))


@pytest.fixture
def two_models(tmp_path, corpus):
    """Two models of the same architecture and vocabulary size, trained with different seeds."""
    a, b = tmp_path / "a.keras", tmp_path / "b.keras"
    language_model.train([corpus], units=8, seq_len=16, epochs=1, out=a, verbose=0, seed=1)
    language_model.train([corpus], units=8, seq_len=16, epochs=1, out=b, verbose=0, seed=2)
    return a, b


def _entry(path, name):
    return keras_files.read_extra_entry(path, name)


def test_a_vocabulary_from_another_model_is_detected(tmp_path, two_models):
    a, b = two_models
    language_model.load(a)  # the pair as saved is fine
    # b's vocabulary and binding inside a's archive: consistent hashes, but b's model fingerprint
    swapped = tmp_path / "swapped.keras"
    _rewrite_archive(a, swapped, {name: _entry(b, name) for name in (language_model.TOKENIZER_ENTRY,
                                                                     language_model.BINDING_ENTRY)})
    with pytest.raises(FileFormatError, match="belongs to another model"):
        language_model.load(swapped)
    assert cli.main(["generate", str(swapped), "--length", "5"]) == 1  # was: exit 0 and garbage
    # only the vocabulary swapped: the archive's binding catches it
    _rewrite_archive(a, swapped, {language_model.TOKENIZER_ENTRY: _entry(b, language_model.TOKENIZER_ENTRY)})
    with pytest.raises(FileFormatError, match="not the vocabulary this archive was saved with"):
        language_model.load(swapped)


def test_the_old_side_car_is_still_read_and_checked(tmp_path, corpus, two_models):
    a, b = two_models
    model, tokenizer = language_model.load(a)
    legacy = tmp_path / "legacy.keras"
    model.save(legacy)  # no vocabulary inside, as older rnnkit saved it
    sidecar = language_model.tokenizer_path(legacy)
    sidecar.write_text(tokenizer.to_json(), encoding="utf-8")  # Keras's plain JSON, no fingerprint
    loaded_model, loaded = language_model.load(legacy)
    assert loaded.word_index == tokenizer.word_index
    # a side-car with b's fingerprint is refused
    sidecar.write_bytes(_entry(b, language_model.TOKENIZER_ENTRY))
    with pytest.raises(FileFormatError, match="legacy.keras.tokenizer.json.*belongs to another model"):
        language_model.load(legacy)
    # a vocabulary of another size, by the Embedding and the Dense: TEXT has 15 distinct
    # characters (input_dim 16 with padding) and 7 words (the cat sat on mat dog log)
    words = language_model.make_tokenizer(TEXT, word_level=True)
    sidecar.write_text(words.to_json(), encoding="utf-8")
    with pytest.raises(ValueError, match="has 7 tokens .* but the Embedding's input_dim is 16 and the output "
                                         "Dense's units is 16"):
        language_model.load(legacy)
    sidecar.unlink()
    with pytest.raises(FileNotFoundError, match="No vocabulary for"):
        language_model.load(legacy)
    if hasattr(os, "mkfifo"):       # a pipe in its place would block a plain open forever
        os.mkfifo(sidecar)
        with pytest.raises(FileFormatError, match="legacy.keras.tokenizer.json.*not a regular file"):
            language_model.load(legacy)
        sidecar.unlink()
    sidecar.write_text(tokenizer.to_json(), encoding="utf-8")
    # resuming an old model moves its vocabulary into the archive, bound to the new weights
    language_model.train([corpus], units=8, seq_len=16, epochs=1, out=legacy, resume=True, verbose=0)
    assert _entry(legacy, language_model.TOKENIZER_ENTRY) is not None
    model, tokenizer = language_model.load(legacy)


@pytest.mark.parametrize("vocabulary,match", [
    (b"[1, 2]", "not a Tokenizer's JSON"),
    (b'{"class_name": "Tokenizer", "config": {"word_index": "{}", "index_word": "{}", "word_counts": "{}", '
     b'"word_docs": "{}", "index_docs": "{}", "char_level": true}}', "is empty"),
    (b'{"class_name": "Tokenizer", "config": {"word_index": "{\\"a\\": 1, \\"\\\\udcff\\": 2}", '
     b'"index_word": "{}", "word_counts": "{}", "word_docs": "{}", "index_docs": "{}", "char_level": true}}',
     "lone surrogate"),
    (b'{"class_name": "Tokenizer", "config": {"word_index": "{\\"a\\": 1, \\"b\\": 5}", '
     b'"index_word": "{}", "word_counts": "{}", "word_docs": "{}", "index_docs": "{}", "char_level": true}}',
     "number its 2 tokens 1 to 2"),
])
def test_damaged_vocabularies_are_file_format_errors(tmp_path, two_models, vocabulary, match):
    a, _ = two_models
    bad = tmp_path / "bad.keras"
    _rewrite_archive(a, bad, {language_model.TOKENIZER_ENTRY: vocabulary})
    with pytest.raises(FileFormatError, match=match) as caught:
        language_model.load(bad)
    assert caught.value.filename == str(bad)
    assert caught.value.location.startswith(language_model.TOKENIZER_ENTRY)


def test_a_failed_save_mid_training_keeps_the_last_consistent_pair(tmp_path, corpus, monkeypatch):
    out = tmp_path / "lm.keras"
    saves = []
    real = rnnkit_format.write_atomic

    def full_disk_on_the_second_save(path, write):
        saves.append(path)
        if len(saves) == 2:
            return real(path, lambda f: (f.write(b"partial"), _raise(OSError(errno.ENOSPC, "No space left"))))
        return real(path, write)
    monkeypatch.setattr(keras_files, "write_atomic", full_disk_on_the_second_save)
    start = _WeightsAtStart()
    with pytest.raises(OSError, match="the earlier file at .*lm.keras' is unchanged"):
        language_model.train([corpus], units=8, seq_len=16, epochs=3, out=out, verbose=0, callbacks=[start])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "lm.keras", "lm.keras.history.csv"]
    model, tokenizer = language_model.load(out)  # epoch 1's model with its own vocabulary
    assert any(not np.array_equal(w, s) for w, s in zip(model.get_weights(), start.weights))


def _raise(error):
    raise error


def test_a_vocabulary_entry_declaring_too_many_bytes_is_refused_before_reading(tmp_path, two_models, monkeypatch):
    a, _ = two_models
    monkeypatch.setattr(language_model, "MAX_VOCABULARY_BYTES", 100)  # the real bound is 256 MiB
    read = []
    monkeypatch.setattr(keras_files, "read_extra_entry", lambda *args: read.append(args))
    with pytest.raises(FileFormatError, match="assets/rnnkit/tokenizer.json: declares .* bytes; a vocabulary may "
                                              "hold 100"):
        language_model.load(a)
    assert read == []


def test_train_writes_the_loss_curve_beside_the_model_and_refuses_a_planted_link(tmp_path, corpus):
    import csv
    import os
    out = tmp_path / "m.keras"
    _, _, history = language_model.train([corpus], units=8, seq_len=16, epochs=2, out=out, verbose=0)
    with open(f"{out}.history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert [float(r["loss"]) for r in rows] == pytest.approx(history.history["loss"], rel=1e-6)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    other = tmp_path / "o.keras"
    os.symlink(victim, f"{other}.history.csv")
    with pytest.raises(OSError, match="symbolic link"):
        language_model.train([corpus], units=8, seq_len=16, epochs=1, out=other, verbose=0)
    assert victim.read_text() == "keep me"
