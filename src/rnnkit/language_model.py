"""The main job: text in, a trained recurrent language model out, and text back out of it.

Character-level (default) or word-level; the model reads `seq_len` tokens and predicts the next
token at every position: Embedding -> recurrent layers (return_sequences) -> Dense(softmax).

The model is saved as a Keras `.keras` file that Keras itself can load, with its vocabulary
(Keras's Tokenizer JSON) INSIDE the archive as `assets/rnnkit/tokenizer.json`: one atomic rename
saves both, so a crash, a full disk or a second writer can never leave a model beside another
model's vocabulary. `rnnkit train` therefore saves only `.keras` files. Older models kept the
vocabulary beside the model in `<model>.tokenizer.json`; `load` still reads that side-car when
the archive has no vocabulary.

Model and vocabulary are bound: the tokenizer JSON carries `rnnkit.model_sha256`, a fingerprint
of the model's architecture and weights, and the archive's `assets/rnnkit/binding.json` carries
the SHA-256 of the tokenizer JSON; `load` checks both and the vocabulary size against the
Embedding's input_dim and the output Dense's units, and refuses a vocabulary of another model.

While `train` runs it holds an advisory lock (flock) on `<out>.lock`, an empty file it removes
when done (while still holding it; a writer that locked a removed file retries on the new one),
so two trainings never write one file.
"""

import contextlib
import hashlib
import json
import math
import os
import pathlib
import stat
import tempfile
import zipfile

import numpy as np

from rnnkit import backend, callbacks, datasets, distribute, layers, optimizers
from rnnkit.models import Sequential, load_model
from rnnkit.preprocessing.text import Tokenizer, tokenizer_from_json
from rnnkit.saving import FileFormatError
from rnnkit.saving import guarded, keras_files, rnnkit_format

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: no advisory lock there
    fcntl = None

CELLS = {"lstm": layers.LSTM, "gru": layers.GRU, "simple_rnn": layers.SimpleRNN}
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}
EMBEDDING_DIM = 32
TOKENIZER_ENTRY = "assets/rnnkit/tokenizer.json"
BINDING_ENTRY = "assets/rnnkit/binding.json"
MAX_VOCABULARY_BYTES = 256 * 1024 ** 2
# What one training run may ask for, checked before anything is built (a bad --units is an
# error message, not a MemoryError): weights and their Adam moments and gradients, and one
# batch's activations kept for backpropagation through time.
MAX_PARAMETERS = 250_000_000
MAX_ACTIVATIONS = 1_000_000_000


def tokenizer_path(model_path):
    """Where models saved by older rnnkit versions kept their vocabulary: `<model>.tokenizer.json`
    (read when the archive holds none; never written any more)."""
    return pathlib.Path(f"{os.fspath(model_path)}.tokenizer.json")


def lock_path(model_path):
    return pathlib.Path(f"{os.fspath(model_path)}.lock")


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


def check_size(vocabulary_size, cell="lstm", units=128, depth=1, seq_len=64, batch_size=64,
               embedding_dim=EMBEDDING_DIM):
    """Raises ValueError, before anything is allocated, when the model or one batch's activations
    would be absurdly large (see MAX_PARAMETERS and MAX_ACTIVATIONS)."""
    for name, value in (("units", units), ("depth", depth), ("seq_len", seq_len), ("batch_size", batch_size),
                        ("vocabulary_size", vocabulary_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"Argument `{name}` must be a positive int. Received: {value!r}")
    if cell not in CELLS:
        raise ValueError(f"Argument `cell` must be one of {sorted(CELLS)}. Received: {cell!r}")
    gates = GATES[cell]
    recurrent = sum(gates * ((embedding_dim if i == 0 else units) * units + units * units + 2 * units)
                    for i in range(depth))
    parameters = vocabulary_size * embedding_dim + recurrent + units * vocabulary_size + vocabulary_size
    activations = batch_size * seq_len * (depth * units * (gates + 3) + 3 * vocabulary_size + embedding_dim)
    if parameters > MAX_PARAMETERS:
        raise ValueError(f"The model would hold {parameters:,} weights (at most {MAX_PARAMETERS:,}): lower "
                         f"--units or --layers. Received: units={units}, layers={depth}"
                         + (f", vocabulary={vocabulary_size}" if vocabulary_size > 1 else ""))
    if activations > MAX_ACTIVATIONS:
        raise ValueError(f"One batch would keep {activations:,} activations for backpropagation (at most "
                         f"{MAX_ACTIVATIONS:,}): lower --batch-size, --seq-len or --units. Received: "
                         f"batch_size={batch_size}, seq_len={seq_len}, units={units}, layers={depth}")


def build_model(vocabulary_size, cell="lstm", units=128, depth=1, embedding_dim=EMBEDDING_DIM):
    check_size(vocabulary_size, cell, units, depth, 1, 1, embedding_dim)
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
    chief_only = True     # data-parallel: rank 0 alone writes the model

    def __init__(self, path, tokenizer):
        super().__init__()
        self.path, self.tokenizer = path, tokenizer

    def on_epoch_end(self, epoch, logs=None):
        save(self.model, self.tokenizer, self.path)


def fingerprint(model):
    """SHA-256 of a model's architecture and weights (as float64, so a float32 file round trip
    gives the same value): what binds a vocabulary to its model."""
    digest = hashlib.sha256(json.dumps(architecture(model), sort_keys=True).encode())
    for weights in model.get_weights():
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        digest.update(repr(weights.shape).encode())
        digest.update(weights.tobytes())
    return digest.hexdigest()


def _vocabulary_entries(model, tokenizer):
    """{archive entry: bytes}: the tokenizer JSON (Keras's, plus the model's fingerprint, which
    Keras ignores) and the binding (the tokenizer JSON's own SHA-256)."""
    data = json.loads(tokenizer.to_json())
    data["rnnkit"] = {"model_sha256": fingerprint(model), "vocabulary_size": len(tokenizer.word_index) + 1}
    raw = json.dumps(data, ensure_ascii=True).encode("ascii")
    binding = {"format": "rnnkit-language-model", "version": 1, "tokenizer_sha256": hashlib.sha256(raw).hexdigest()}
    return {TOKENIZER_ENTRY: raw, BINDING_ENTRY: json.dumps(binding).encode("ascii")}


def save(model, tokenizer, path):
    """Saves the model and its vocabulary in one `.keras` archive, by one atomic rename.

    Raises:
        ValueError: for a path that is not `.keras`.
        OSError: when the save fails, saying that the earlier file is unchanged.
    """
    if not os.fspath(path).endswith(".keras"):
        raise ValueError("A language model is saved as a .keras archive (model and vocabulary in one file). "
                         f"Received: {os.fspath(path)!r}")
    check_pair(model, tokenizer, os.fspath(path))
    model.save(path, extra_entries=_vocabulary_entries(model, tokenizer))


def _read_sidecar(path):
    sidecar = os.fspath(tokenizer_path(path))
    try:    # the one guarded open: kind and size checked before and after opening, never blocking
        f, _ = guarded.open_regular_file(sidecar, "vocabulary file", limit=MAX_VOCABULARY_BYTES)
    except FileNotFoundError:
        raise FileNotFoundError(f"No vocabulary for {os.fspath(path)!r}: the archive has no {TOKENIZER_ENTRY} "
                                f"and there is no {sidecar!r} beside it") from None
    with f:
        return f.read(MAX_VOCABULARY_BYTES + 1), sidecar


def parse_vocabulary(raw, source):
    """(tokenizer, the JSON's `rnnkit` binding or {}) from tokenizer JSON bytes, after checking
    that it is a usable vocabulary: indices 1..N each naming one token, no lone surrogates.

    Raises:
        FileFormatError: naming `source` and what is wrong.
    """
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"it is a JSON {type(data).__name__}, not an object")
        tokenizer = tokenizer_from_json(json.dumps({"class_name": data.get("class_name"),
                                                    "config": data.get("config")}))
    except (UnicodeDecodeError, ValueError, TypeError, RecursionError) as error:
        raise FileFormatError(source, None, f"is not a Tokenizer's JSON ({error})") from None
    word_index = tokenizer.word_index
    if not isinstance(word_index, dict) or not word_index:
        raise FileFormatError(source, "config.word_index", "is empty: a model needs at least one token")
    indices = sorted(index for index in word_index.values() if isinstance(index, int) and not isinstance(index, bool))
    if indices != list(range(1, len(word_index) + 1)):
        raise FileFormatError(source, "config.word_index", f"must number its {len(word_index)} tokens 1 to "
                                                           f"{len(word_index)}, each once")
    for token in word_index:
        if tokenizer.char_level and len(token) != 1:
            raise FileFormatError(source, "config.word_index", f"holds {token!r}, not one character, in a "
                                                               "character-level vocabulary")
        try:
            token.encode("utf-8")
        except UnicodeEncodeError:
            raise FileFormatError(source, "config.word_index", f"holds {token!r}: a lone surrogate is not "
                                                               "text") from None
    tokenizer.index_word = {index: token for token, index in word_index.items()}
    binding = data.get("rnnkit", {})
    if not isinstance(binding, dict):
        raise FileFormatError(source, "rnnkit", f"must be a JSON object. Received: {type(binding).__name__}")
    return tokenizer, binding


def check_pair(model, tokenizer, where):
    """Raises ValueError unless `model` is a language model whose input and output both cover
    exactly the tokenizer's vocabulary (its size plus the padding index 0)."""
    size = len(tokenizer.word_index) + 1
    model_layers = model.layers
    if not model_layers or not isinstance(model_layers[0], layers.Embedding) \
            or not isinstance(model_layers[-1], layers.Dense):
        raise ValueError(f"{where!r} is not a language model: it must start with an Embedding and end with a "
                         f"Dense. Received: {[type(layer).__name__ for layer in model_layers]}")
    found = {"the Embedding's input_dim": model_layers[0].input_dim, "the output Dense's units": model_layers[-1].units}
    wrong = {name: value for name, value in found.items() if value != size}
    if wrong:
        raise ValueError(f"{where!r}: the vocabulary does not belong to this model: it has {size - 1} tokens "
                         f"(+1 for padding = {size}) but " + " and ".join(f"{n} is {v}" for n, v in wrong.items())
                         + f". Received: a vocabulary of {size - 1} tokens")


def _check_entry_sizes(path):
    """Refuses vocabulary entries that declare more than MAX_VOCABULARY_BYTES, before reading."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if info.filename in (TOKENIZER_ENTRY, BINDING_ENTRY)]
    except (zipfile.BadZipFile, OSError):
        return  # not an archive: an .h5 model, whose vocabulary is a side-car
    for info in infos:
        if info.file_size > MAX_VOCABULARY_BYTES:
            raise FileFormatError(path, info.filename, f"declares {info.file_size:,} bytes; a vocabulary may hold "
                                                       f"{MAX_VOCABULARY_BYTES:,}")


def load(path):
    """(model, tokenizer) saved by `save` (or by older rnnkit, with a side-car vocabulary).

    Raises:
        FileNotFoundError: for a missing model or vocabulary.
        FileFormatError / ValueError: naming the file, for a damaged file or a vocabulary that
            belongs to another model (its size, its fingerprint or the archive's binding differ).
    """
    path = os.fspath(path)
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise FileFormatError(path, None, "is not a regular file (a folder, device or pipe)")
    rnnkit_format.remove_stale_temporaries(os.path.dirname(os.path.abspath(path)))
    model = load_model(path)
    _check_entry_sizes(path)
    raw = keras_files.read_extra_entry(path, TOKENIZER_ENTRY)
    if raw is not None:
        source, location = path, TOKENIZER_ENTRY
        binding_raw = keras_files.read_extra_entry(path, BINDING_ENTRY)
    else:
        (raw, source), location, binding_raw = _read_sidecar(path), None, None
    try:
        tokenizer, binding = parse_vocabulary(raw, source)
    except FileFormatError as error:
        inner = error.location if location is None else f"{location}: {error.location or ''}".rstrip(": ")
        raise FileFormatError(error.filename, inner, error.reason) from None
    check_pair(model, tokenizer, source)
    if binding_raw is not None:
        try:
            expected = json.loads(binding_raw.decode("ascii")).get("tokenizer_sha256")
        except (UnicodeDecodeError, ValueError, AttributeError):
            raise FileFormatError(path, BINDING_ENTRY, "is not the binding JSON rnnkit writes") from None
        if expected != hashlib.sha256(raw).hexdigest():
            raise FileFormatError(path, TOKENIZER_ENTRY, "is not the vocabulary this archive was saved with "
                                                         f"(its SHA-256 differs from {BINDING_ENTRY})")
    stored = binding.get("model_sha256")
    if stored is not None and stored != fingerprint(model):
        raise FileFormatError(source, location or "rnnkit.model_sha256",
                              "belongs to another model: its model fingerprint differs from this model's "
                              "weights (a vocabulary copied from another training?)")
    return model, tokenizer


def check_writable(path):
    """Raises before any training when `path` cannot take a language model: not `.keras`, a
    folder, or in a folder that is missing or refuses a new file."""
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError("Argument --out must end in .keras: rnnkit train saves the model and its vocabulary "
                         f"together in one Keras archive. Received: {path!r}")
    try:
        folder = rnnkit_format.check_target(path)
    except OSError as error:
        raise ValueError(f"{error.strerror or error}. Received: an unwritable --out") from None
    try:  # the one honest test of "can I create a file here" (root ignores permission bits)
        handle, probe = tempfile.mkstemp(prefix=rnnkit_format.temporary_prefix(), suffix=".tmp",
                                                      dir=folder)
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        raise ValueError(f"Cannot write the model to {path!r}: the folder {folder!r} refuses new files "
                         f"({error.strerror or error}). Received: an unwritable --out") from None
    try:
        import h5py  # noqa: F401
    except ImportError:
        raise ValueError("Keras files (.keras) need h5py: pip install 'rnnkit[h5]'. "
                         f"Received: --out {path!r}") from None


@contextlib.contextmanager
def writer_lock(path):
    """Holds an exclusive advisory lock on `<path>.lock` for the block; refuses at once (no
    waiting) when another process holds it.

    Raises:
        ValueError: naming the lock file, when another writer holds it.
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    lock = os.fspath(lock_path(path))
    for _ in range(100):
        try:
            handle = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as error:
            raise ValueError(f"Cannot take the lock {lock!r} for --out {os.fspath(path)!r}: "
                             f"{error.strerror or error}. Received: --out {os.fspath(path)!r}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise ValueError(f"Another process is training into {os.fspath(path)!r} (it holds {lock!r}); "
                             "wait for it or choose another --out. Received: --out "
                             f"{os.fspath(path)!r}") from None
        try:  # the holder before us may have removed the file we opened: lock the one at the path
            if os.path.samestat(os.fstat(handle), os.lstat(lock)):
                break
        except FileNotFoundError:
            pass
        os.close(handle)
    else:  # pragma: no cover - 100 writers racing in a row
        raise ValueError(f"Cannot take the lock {lock!r}: it keeps being replaced. Received: --out "
                         f"{os.fspath(path)!r}")
    try:
        yield
    finally:
        try:  # removed while still held, so no one can lock a file that is about to vanish
            os.unlink(lock)
        except OSError:
            pass
        os.close(handle)  # closing releases the lock


def unseen_tokens(tokenizer, text):
    """(sorted unseen tokens, their share of the corpus's tokens) for a corpus and a vocabulary."""
    tokens = tokenizer._tokens(text)
    missing = [token for token in tokens if token not in tokenizer.word_index]
    return sorted(set(missing)), (len(missing) / len(tokens) if tokens else 0.0)


def train(paths=(), cell="lstm", units=128, depth=1, seq_len=64, epochs=12, batch_size=64, word_level=None,
          out="model.keras", resume=False, max_chars=None, learning_rate=0.005, seed=0, verbose=1,
          callbacks=()):
    """Trains a language model and saves it to `out` (a `.keras` archive holding the vocabulary
    too) after every epoch; returns (model, tokenizer, history).

    Everything that can be checked is checked before the first epoch: sizes, that `out` can be
    written, that no other process trains into `out` (an advisory lock on `<out>.lock`, held for
    the whole run), and on `resume` that the saved model fits the asked architecture, the asked
    level (`word_level`; None means the saved model's) and every token of the corpus.
    Ctrl-C stops training after saving what has been learned so far (KeyboardInterrupt is
    re-raised once the file is written).

    Args:
        word_level: True for words, False for characters, None for characters (new model) or
            the saved model's level (resume).
        callbacks: more Keras callbacks for `fit`.

    Raises:
        ValueError: for any of the above, before training.
    """
    if not isinstance(learning_rate, (int, float)) or isinstance(learning_rate, bool) \
            or not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"Argument `learning_rate` must be a finite number > 0. Received: {learning_rate!r}")
    check_size(1, cell, units, depth, seq_len, batch_size)
    check_writable(out)
    chief = distribute.is_chief()      # data-parallel: rank 0 alone prints, locks and writes
    verbose = verbose if chief else 0
    with writer_lock(out) if chief else contextlib.nullcontext():
        return _train_locked(paths, cell, units, depth, seq_len, epochs, batch_size, word_level, out, resume,
                             max_chars, learning_rate, seed, verbose, list(callbacks))


def _train_locked(paths, cell, units, depth, seq_len, epochs, batch_size, word_level, out, resume, max_chars,
                  learning_rate, seed, verbose, extra_callbacks):
    backend.set_random_seed(seed)
    text, source = load_corpus(paths, max_chars)
    if resume:
        if not os.path.exists(out):
            raise FileNotFoundError(f"--resume: there is no model at {os.fspath(out)!r} to continue. "
                                    f"Received: --out {os.fspath(out)!r}")
        model, tokenizer = load(out)
        found = architecture(model)
        wanted = {"cell": cell, "units": units, "layers": depth}
        differences = {k: (found[k], v) for k, v in wanted.items() if found[k] != v}
        if differences:
            raise ValueError(f"--resume: {os.fspath(out)!r} holds another architecture: "
                             + ", ".join(f"{k} {a} in the file vs {b} asked" for k, (a, b) in differences.items())
                             + f". Received: {wanted}")
        saved_level = not tokenizer.char_level
        if word_level is not None and bool(word_level) != saved_level:
            asked, saved = ("--word", "character") if word_level else ("--char", "word")
            raise ValueError(f"--resume: {os.fspath(out)!r} is a {saved}-level model; {asked} cannot continue it "
                             f"(leave the level out to keep the model's). Received: {asked}")
        word_level = saved_level
        unseen, share = unseen_tokens(tokenizer, text)
        if unseen:
            kind = "words" if word_level else "characters"
            shown = ", ".join(repr(token) for token in unseen[:20]) + (", ..." if len(unseen) > 20 else "")
            if len(unseen) == 1:
                kind = kind[:-1]
            raise ValueError(f"--resume: the corpus holds {len(unseen)} {kind} the model at {os.fspath(out)!r} "
                             f"never saw, {share:.2%} of the corpus ({shown}); training would silently drop them. "
                             f"Train a new model instead. Received: {source}")
    else:
        word_level = bool(word_level)
        tokenizer = make_tokenizer(text, word_level)
        if not tokenizer.word_index:
            raise ValueError(f"The corpus ({source}) holds no {'words' if word_level else 'characters'}. "
                             "Received: an empty vocabulary")
        check_size(len(tokenizer.word_index) + 1, cell, units, depth, seq_len, batch_size)
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
    saving = [_Perplexity()] if verbose else []
    # The loss curve beside the model: <out>.history.csv, appended to on --resume.
    log = callbacks.CSVLogger(f"{os.fspath(out)}.history.csv", append=resume)
    try:
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=validation,
                            callbacks=saving + extra_callbacks + [log, _SaveEveryEpoch(out, tokenizer)],
                            verbose=verbose)
    except KeyboardInterrupt:
        if not distribute.is_chief():
            raise
        save(model, tokenizer, out)
        print(f"\ninterrupted: saved the model so far to {os.fspath(out)}", flush=True)
        raise
    if distribute.is_chief():
        _plot_history(history, out, verbose)
    return model, tokenizer, history


def _plot_history(history, out, verbose):
    """<out>.history.png when matplotlib is installed (the `plot` extra); nothing otherwise."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    from rnnkit.utils import plot_history
    plot_history(history, f"{os.fspath(out)}.history.png")
    if verbose:
        print(f"wrote {os.fspath(out)}.history.png", flush=True)


def generate(model, tokenizer, prompt="", length=200, temperature=0.8, seed=None, context=None):
    """Samples `length` tokens after `prompt` (greedy at temperature 0).

    Raises:
        ValueError: naming the characters or words of the prompt the model never saw.
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating)) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"Argument `temperature` must be a finite number >= 0. Received: {temperature!r}")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ValueError(f"Argument `length` must be an int >= 0. Received: {length!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"Argument `seed` must be None or an int >= 0. Received: {seed!r}")
    if not tokenizer.word_index:
        raise ValueError("Argument `tokenizer` has an empty vocabulary. Received: a tokenizer with no tokens")
    check_pair(model, tokenizer, "model")
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
            # log p / T, shifted so that its largest is 0 BEFORE dividing: no overflow however
            # small T is (a denormal T gives 0 for the best token, -inf for the rest: greedy).
            logits = np.log(np.maximum(probabilities, 1e-12))
            logits[0] = -np.inf
            with np.errstate(over="ignore"):
                weights = np.exp((logits - logits.max()) / temperature)
            choice = int(rng.choice(len(weights), p=weights / weights.sum()))
        ids.append(choice)
        generated.append(tokenizer.index_word[choice])
    return prompt + ("".join(generated) if char_level else (" " if prompt else "") + " ".join(generated))
