"""Datasets for fit/evaluate/predict: Keras 2's `Sequence`, Keras 3's `PyDataset`, and Keras's
`timeseries_dataset_from_array` and `text_dataset_from_directory`, as re-iterables of NumPy batches.

A dataset here is read lazily: iterating it builds one batch at a time from the source arrays
or files, so a dataset larger than memory can be trained on batch by batch.
"""

import itertools
import math
import os

import numpy as np


class Sequence:
    """Keras 2's base class for a dataset of batches: define `__len__` (the number of batches)
    and `__getitem__(index)` (batch `index`: (x, y) or (x, y, sample_weight)); optionally
    `on_epoch_end`, which fit calls after every epoch (to reshuffle, say).

    fit shuffles the order of the batches each epoch when `shuffle=True` (as Keras 2 does).
    """

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def on_epoch_end(self):
        pass

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]


class PyDataset(Sequence):
    """Keras 3's base class for a dataset of batches (the successor of `Sequence`).

    Args:
        workers, use_multiprocessing, max_queue_size: accepted for Keras compatibility; rnnkit
            reads one batch at a time in the calling thread.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        for argument, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Argument `{argument}` must be a positive int. Received: {value!r}")
        self.workers, self.use_multiprocessing, self.max_queue_size = workers, use_multiprocessing, max_queue_size

    def on_epoch_begin(self):
        pass

    @property
    def num_batches(self):
        return len(self)


def _int_argument(value, argument, low, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"Argument `{argument}` must be an int >= {low}. Received: {argument}={value!r}")
    return int(value)


class EagerArray(np.ndarray):
    """A NumPy array that also answers `.numpy()`, as the eager tensors of a `tf.data` batch do:
    Keras programs call `batch.numpy()` on what a dataset yields."""

    def numpy(self):
        return np.asarray(self)


def _eager(value):
    if isinstance(value, tuple):
        return tuple(_eager(v) for v in value)
    if isinstance(value, list):
        return [_eager(v) for v in value]
    return value.view(EagerArray) if isinstance(value, np.ndarray) else value


class _Batches:
    """A re-iterable of batches made by `make(index_array)` from a list of sample indices."""

    def __init__(self, count, make, batch_size):
        self._count, self._make, self.batch_size = count, make, batch_size

    def __len__(self):
        if self.batch_size is None:
            return self._count
        return math.ceil(self._count / self.batch_size)

    def __iter__(self):
        if self.batch_size is None:
            for i in range(self._count):
                yield _eager(self._make(np.array([i]), single=True))
            return
        for start in range(0, self._count, self.batch_size):
            yield _eager(self._make(np.arange(start, min(start + self.batch_size, self._count)), single=False))

    def take(self, count):
        """The first `count` elements (all of them if `count` is -1), as `tf.data.Dataset.take`,
        which Keras programs call on these datasets (`for batch in dataset.take(1): ...`)."""
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < -1:
            raise ValueError(f"Argument `count` must be an int >= -1. Received: count={count!r}")
        return list(itertools.islice(iter(self), None if count == -1 else int(count)))


class TimeseriesDataset(_Batches):
    """What `timeseries_dataset_from_array` returns: re-iterable, `len()` batches."""


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    """Sliding windows over a time series, as Keras 3's function of the same name.

    Window i holds `data[start_index + p_i + k * sampling_rate]` for k < sequence_length, with
    start positions p = 0, sequence_stride, 2 * sequence_stride, ... while the window fits before
    `end_index`; its target is `targets[start_index + p_i]`.

    Args:
        data: array of timesteps (axis 0 is time).
        targets: array of targets per timestep, or None (then batches are x alone).
        sequence_length: steps per window.
        sequence_stride: steps between two windows' starts.
        sampling_rate: steps between two rows of a window.
        batch_size: windows per batch, or None for single windows.
        shuffle: shuffle the windows' order, once, with `np.random.RandomState(seed)` as Keras
            shuffles the start positions (Keras's tf.data buffer reshuffle is not reproduced).
        seed: the shuffle's seed.
        start_index, end_index: the part of `data` to use, [start_index, end_index).

    Returns:
        A re-iterable of batches `(x, y)` (or `x`), x of shape (batch, sequence_length, ...).

    Raises:
        ValueError: for the same bad arguments as Keras, with its messages.
    """
    data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError(f"Argument `data` must be an array with a time axis. Received: {data!r}")
    sequence_length = _int_argument(sequence_length, "sequence_length", 1)
    batch_size = _int_argument(batch_size, "batch_size", 1, allow_none=True)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= len(data):
            raise ValueError("`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {len(data)}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. "
                             f"Received: start_index={start_index}, and end_index={end_index} ")
        if end_index >= len(data):
            raise ValueError("`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {len(data)}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, np.integer)) or sampling_rate <= 0:
        raise ValueError(f"`sampling_rate` must be higher than 0. Received: sampling_rate={sampling_rate}")
    if sampling_rate >= len(data):
        raise ValueError("`sampling_rate` must be lower than the length of the data. "
                         f"Received: sampling_rate={sampling_rate}, for data of length {len(data)}")
    if isinstance(sequence_stride, bool) or not isinstance(sequence_stride, (int, np.integer)) or sequence_stride <= 0:
        raise ValueError(f"`sequence_stride` must be higher than 0. Received: sequence_stride={sequence_stride}")
    if sequence_stride >= len(data):
        raise ValueError("`sequence_stride` must be lower than the length of the data. "
                         f"Received: sequence_stride={sequence_stride}, for data of length {len(data)}")
    start_index = 0 if start_index is None else int(start_index)
    end_index = len(data) if end_index is None else int(end_index)
    if targets is not None:
        targets = np.asarray(targets)
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    start_positions = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(start_positions)
    offsets = np.arange(sequence_length) * sampling_rate

    def make(index, single):
        starts = start_index + start_positions[index]
        x = data[starts[:, None] + offsets[None, :]]
        if single:
            x = x[0]
        if targets is None:
            return x
        y = targets[starts]
        return x, (y[0] if single else y)

    return TimeseriesDataset(len(start_positions), make, batch_size)


class TextDataset(_Batches):
    """What `text_dataset_from_directory` returns: re-iterable batches of (texts, labels), the
    texts a NumPy array of str; `class_names` and `file_paths` say where they came from."""


def _check_text_arguments(labels, label_mode, validation_split, subset, seed, shuffle):
    if not (labels in ("inferred", None) or isinstance(labels, (list, tuple))):
        raise ValueError("Argument `labels` must be 'inferred', None, or a list/tuple of labels. "
                         f"Received: labels={labels!r}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError("Argument `label_mode` must be one of 'int', 'categorical', 'binary', or None. "
                         f"Received: label_mode={label_mode!r}")
    if labels is None:
        label_mode = None
    if validation_split is not None and (isinstance(validation_split, bool) or not isinstance(
            validation_split, (int, float)) or not 0 < validation_split < 1):
        raise ValueError(f"Argument `validation_split` must be between 0 and 1. Received: {validation_split!r}")
    if (validation_split is None) != (subset is None):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely. "
                         f"Received: subset={subset!r}, validation_split={validation_split!r}")
    if subset not in ("training", "validation", "both", None):
        raise ValueError('Argument `subset` must be either "training", "validation" or "both". '
                         f"Received: subset={subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` "
                         f"argument, to make sure that there is no overlap between the training and validation "
                         f"subset. Received: seed={seed!r}")
    return label_mode


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                batch_size=32, max_length=None, shuffle=True, seed=None, validation_split=None,
                                subset=None, follow_links=False, verbose=True):
    """Batches of texts from `.txt` files, labelled by their subfolder, as Keras's function.

    `main_directory/class_a/*.txt`, `main_directory/class_b/*.txt` give class_names
    ['class_a', 'class_b'] (alphanumeric order) and labels 0 and 1.

    Args:
        directory: the folder.
        labels: 'inferred' (from subfolders), None (texts only), or a list of labels for the
            files in sorted order.
        label_mode: 'int' (int32 labels), 'categorical' (one-hot float32), 'binary' (float32
            0/1 of shape (batch, 1), two classes only) or None.
        class_names: the subfolders to use, in this order (only with labels='inferred').
        batch_size: texts per batch, or None for single texts.
        max_length: keep at most this many characters of each text.
        shuffle, seed: shuffle the files (Keras's `np.random.RandomState(seed)` shuffle).
        validation_split: fraction kept for validation (the last files after shuffling).
        subset: 'training', 'validation' or 'both' (then a list [training, validation]).
        follow_links: follow symbolic links to subfolders.

    Returns:
        A TextDataset (or a list of two).

    Raises:
        ValueError: for bad arguments or a folder without text files where classes are expected.
    """
    label_mode = _check_text_arguments(labels, label_mode, validation_split, subset, seed, shuffle)
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"Argument `directory` must be an existing folder. Received: {directory!r}")
    batch_size = _int_argument(batch_size, "batch_size", 1, allow_none=True)
    max_length = _int_argument(max_length, "max_length", 1, allow_none=True)
    subdirs = sorted(name for name in os.listdir(directory) if os.path.isdir(os.path.join(directory, name)))
    if labels == "inferred":
        if class_names is not None:
            if not isinstance(class_names, (list, tuple)) or set(class_names) - set(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the subdirectories of the "
                                 f"target directory. Expected: {subdirs} (or a subset), but received: "
                                 f"class_names={class_names!r}")
            subdirs = list(class_names)
        file_paths, label_list = [], []
        for label, subdir in enumerate(subdirs):
            root = os.path.join(directory, subdir)
            for dirpath, _, files in sorted(os.walk(root, followlinks=follow_links)):
                for name in sorted(files):
                    if name.lower().endswith(".txt"):
                        file_paths.append(os.path.join(dirpath, name))
                        label_list.append(label)
        names = list(subdirs)
    else:
        if class_names is not None:
            raise ValueError("Argument `class_names` can only be given with labels='inferred'. "
                             f"Received: class_names={class_names!r}")
        file_paths = [os.path.join(dirpath, name)
                      for dirpath, _, files in sorted(os.walk(directory, followlinks=follow_links))
                      for name in sorted(files) if name.lower().endswith(".txt")]
        if labels is not None:
            if len(labels) != len(file_paths):
                raise ValueError("Expected the lengths of `labels` to match the number of files in the target "
                                 f"directory. len(labels) is {len(labels)} while we found {len(file_paths)} files "
                                 f"in directory {directory}.")
            label_list = [int(v) for v in labels]
            names = [str(i) for i in range(max(label_list) + 1)] if label_list else []
        else:
            label_list = [0] * len(file_paths)
            names = []
    if label_mode == "binary" and len(names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 class_names. '
                         f"Received: class_names={names}")
    if not file_paths:
        raise ValueError(f"No text files found in directory {directory}. Allowed format: .txt")
    if verbose:
        print(f"Found {len(file_paths)} files" + (f" belonging to {len(names)} classes." if labels is not None
                                                  else "."))
    labels_array = np.array(label_list, np.int64)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        order_paths = list(file_paths)
        np.random.RandomState(seed).shuffle(order_paths)
        np.random.RandomState(seed).shuffle(labels_array)
        file_paths = order_paths

    def split(which):
        if not validation_split:
            return file_paths, labels_array
        count = int(validation_split * len(file_paths))
        if which == "training":
            return file_paths[:len(file_paths) - count], labels_array[:len(file_paths) - count]
        return file_paths[len(file_paths) - count:], labels_array[len(file_paths) - count:]

    def dataset(which):
        paths, labs = split(which)
        if verbose and validation_split:
            print(f"Using {len(paths)} files for {which}.")

        def make(index, single):
            texts = []
            for i in index:
                with open(paths[i], encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
                texts.append(text[:max_length] if max_length else text)
            texts = np.array(texts, dtype=str)
            if label_mode is None:
                return texts[0] if single else texts
            y = labs[index]
            if label_mode == "int":
                y = y.astype(np.int32)
            elif label_mode == "binary":
                y = y.astype(np.float32)[:, None]
            else:
                y = np.eye(len(names), dtype=np.float32)[y]
            return (texts[0], y[0]) if single else (texts, y)

        result = TextDataset(len(paths), make, batch_size)
        result.class_names, result.file_paths = names, list(paths)
        return result

    if subset == "both":
        return [dataset("training"), dataset("validation")]
    return dataset(subset or "training")
