"""The main job: text in, a trained recurrent language model out, and text back out of it.

Character-level (default) or word-level; the model reads `seq_len` tokens and predicts the next
token at every position: Embedding -> recurrent layers (return_sequences) -> Dense(softmax).
The model is saved as a Keras `.keras` file that Keras itself can load, with its vocabulary
beside it in `<model>.tokenizer.json` (Keras's Tokenizer JSON).
"""

import math
import os
import pathlib

import numpy as np

from rnnkit import backend, callbacks, datasets, layers, optimizers
from rnnkit.models import Sequential, load_model
from rnnkit.preprocessing.text import Tokenizer, tokenizer_from_json

CELLS = {"lstm": layers.LSTM, "gru": layers.GRU, "simple_rnn": layers.SimpleRNN}


def tokenizer_path(model_path):
    return pathlib.Path(f"{os.fspath(model_path)}.tokenizer.json")


def make_tokenizer(text, word_level=False):
    """A Keras Tokenizer fitted on the corpus: every character (char level, case and punctuation
    kept) or every word (Keras's default word rules)."""
    tokenizer = Tokenizer(char_level=True, lower=False, filters="") if not word_level else Tokenizer()
    tokenizer.fit_on_texts([text])
    return tokenizer


def encode(tokenizer, text):
    return np.asarray(tokenizer.texts_to_sequences([text])[0], dtype=np.int32)


def windows(ids, seq_len):
    """Non-overlapping (input, next-token target) windows: x = ids[i:i+T], y = ids[i+1:i+T+1]."""
    count = (len(ids) - 1) // seq_len
    if count < 1:
        raise ValueError(f"The corpus holds {len(ids)} tokens: too few for one window of --seq-len "
                         f"{seq_len} plus the token it predicts. Received: a corpus of {len(ids)} tokens")
    usable = count * seq_len
    return ids[:usable].reshape(count, seq_len), ids[1:usable + 1].reshape(count, seq_len)


def build_model(vocabulary_size, cell="lstm", units=128, depth=1, embedding_dim=32):
    if cell not in CELLS:
        raise ValueError(f"Argument `cell` must be one of {sorted(CELLS)}. Received: {cell!r}")
    model = Sequential(name="language_model")
    model.add(layers.Embedding(vocabulary_size, embedding_dim))
    for _ in range(depth):
        model.add(CELLS[cell](units, return_sequences=True))
    model.add(layers.Dense(vocabulary_size, activation="softmax"))
    return model


def architecture(model):
    """(cell, units, depth, vocabulary size) of a language model, to compare on --resume."""
    recurrent = [layer for layer in model.layers if isinstance(layer, layers.RNN)]
    embedding = model.layers[0] if model.layers and isinstance(model.layers[0], layers.Embedding) else None
    cell = {cls: name for name, cls in CELLS.items()}.get(type(recurrent[0])) if recurrent else None
    return {"cell": cell, "units": recurrent[0].units if recurrent else None, "layers": len(recurrent),
            "vocabulary": embedding.input_dim if embedding else None}


def load_corpus(paths, max_chars=None):
    """The text of the given files (joined), or the Python documentation when none is given."""
    if paths:
        text = "\n".join(datasets.read_text(path) for path in paths)
        source = ", ".join(os.fspath(p) for p in paths)
    else:
        text, source = datasets.python_docs(), "the Python documentation (pydoc_data)"
    if max_chars:
        text = text[:max_chars]
    if not text.strip():
        raise ValueError(f"The corpus ({source}) is empty. Received: no text")
    return text, source


class _Perplexity(callbacks.Callback):
    """Prints perplexity = exp(loss) after each epoch's progress bar."""

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        parts = [f"perplexity: {math.exp(min(logs['loss'], 50)):.3f}"]
        if "val_loss" in logs:
            parts.append(f"val_perplexity: {math.exp(min(logs['val_loss'], 50)):.3f}")
        print("  " + " - ".join(parts), flush=True)


class _SaveEveryEpoch(callbacks.Callback):
    def __init__(self, path, tokenizer):
        super().__init__()
        self.path, self.tokenizer = path, tokenizer

    def on_epoch_end(self, epoch, logs=None):
        save(self.model, self.tokenizer, self.path)


def save(model, tokenizer, path):
    """The model (atomically) and its tokenizer beside it."""
    model.save(path)
    tokenizer_file = tokenizer_path(path)
    temporary = tokenizer_file.with_name(tokenizer_file.name + ".tmp")
    temporary.write_text(tokenizer.to_json(), encoding="utf-8")
    os.replace(temporary, tokenizer_file)


def load(path):
    """(model, tokenizer) saved by `save`.

    Raises:
        FileNotFoundError / ValueError: naming the missing or damaged file.
    """
    model = load_model(path)
    tokenizer_file = tokenizer_path(path)
    if not tokenizer_file.is_file():
        raise FileNotFoundError(f"No vocabulary beside the model: {os.fspath(tokenizer_file)!r} is missing")
    return model, tokenizer_from_json(tokenizer_file.read_text(encoding="utf-8"))


def check_writable(path):
    folder = pathlib.Path(os.fspath(path)).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ValueError(f"Cannot write the model to {os.fspath(path)!r}: folder {os.fspath(folder)!r} "
                         "is missing or not writable. Received: an unwritable --out")
    if not os.fspath(path).endswith((".keras", ".h5", ".npz")):
        raise ValueError(f"Argument --out must end in .keras, .h5 or .npz. Received: {os.fspath(path)!r}")
    if not os.fspath(path).endswith(".npz"):
        try:
            import h5py  # noqa: F401
        except ImportError:
            raise ValueError("Keras files (.keras, .h5) need h5py: pip install 'rnnkit[h5]', or save as "
                             f".npz. Received: --out {os.fspath(path)!r}") from None


def train(paths=(), cell="lstm", units=128, depth=1, seq_len=64, epochs=12, batch_size=64, word_level=False,
          out="model.keras", resume=False, max_chars=None, learning_rate=0.005, seed=0, verbose=1):
    """Trains a language model and saves it to `out` after every epoch; returns (model, history).

    Ctrl-C stops training after saving what has been learned so far (KeyboardInterrupt is
    re-raised once the files are written).
    """
    check_writable(out)
    backend.set_random_seed(seed)
    text, source = load_corpus(paths, max_chars)
    if resume:
        model, tokenizer = load(out)
        found = architecture(model)
        wanted = {"cell": cell, "units": units, "layers": depth}
        differences = {k: (found[k], v) for k, v in wanted.items() if found[k] != v}
        if differences:
            raise ValueError(f"--resume: {os.fspath(out)!r} holds another architecture: "
                             + ", ".join(f"{k} {a} in the file vs {b} asked" for k, (a, b) in differences.items())
                             + f". Received: {wanted}")
    else:
        tokenizer = make_tokenizer(text, word_level)
        model = build_model(len(tokenizer.word_index) + 1, cell, units, depth)
    ids = encode(tokenizer, text)
    x, y = windows(ids, seq_len)
    split = max(1, len(x) // 20) if len(x) > 1 else 0
    validation = (x[-split:], y[-split:]) if split else None
    x, y = (x[:-split], y[:-split]) if split else (x, y)
    model.compile(optimizer=optimizers.Adam(learning_rate, clipnorm=1.0), loss="sparse_categorical_crossentropy")
    if verbose:
        kind = "words" if word_level else "characters"
        print(f"corpus: {source}: {len(ids):,} {kind}, vocabulary {len(tokenizer.word_index)}, "
              f"{len(x)} training and {split} validation windows of {seq_len}", flush=True)
    try:
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=validation,
                            callbacks=[_Perplexity(), _SaveEveryEpoch(out, tokenizer)] if verbose
                            else [_SaveEveryEpoch(out, tokenizer)], verbose=verbose)
    except KeyboardInterrupt:
        save(model, tokenizer, out)
        print(f"\ninterrupted: saved the model so far to {os.fspath(out)}", flush=True)
        raise
    return model, tokenizer, history


def generate(model, tokenizer, prompt="", length=200, temperature=0.8, seed=None, context=None):
    """Samples `length` tokens after `prompt` (greedy at temperature 0).

    Raises:
        ValueError: naming the characters or words of the prompt the model never saw.
    """
    if temperature < 0:
        raise ValueError(f"Argument `temperature` must be >= 0. Received: {temperature!r}")
    char_level = tokenizer.char_level
    tokens = list(prompt) if char_level else tokenizer._tokens(prompt)
    unknown = sorted({t for t in tokens if t not in tokenizer.word_index})
    if unknown:
        raise ValueError(f"The prompt holds {'characters' if char_level else 'words'} the model never saw: "
                         f"{unknown}. Received: prompt={prompt!r}")
    ids = [tokenizer.word_index[t] for t in tokens]
    if not ids:
        start = "\n" if "\n" in tokenizer.word_index else tokenizer.index_word[1]
        ids = [tokenizer.word_index[start]]
    rng = np.random.default_rng(seed)
    window = context or 64
    generated = []
    for _ in range(length):
        probabilities = model.predict_on_batch(np.asarray([ids[-window:]], dtype=np.int32))[0, -1].astype(np.float64)
        probabilities[0] = 0.0  # index 0 is padding, never a token
        if temperature == 0:
            choice = int(np.argmax(probabilities))
        else:
            logits = np.log(np.maximum(probabilities, 1e-12)) / temperature
            weights = np.exp(logits - logits.max())
            weights[0] = 0.0
            choice = int(rng.choice(len(weights), p=weights / weights.sum()))
        ids.append(choice)
        generated.append(tokenizer.index_word[choice])
    return prompt + ("".join(generated) if char_level else (" " if prompt else "") + " ".join(generated))
