"""Keras's pad_sequences: lists of varying length -> one (samples, maxlen) array."""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pads (and truncates) sequences to a common length, as Keras does.

    Args:
        sequences: list of lists (or arrays) of numbers.
        maxlen: the length; default the longest sequence's.
        dtype: the output's dtype.
        padding: 'pre' (default) or 'post': where the padding goes.
        truncating: 'pre' (default) or 'post': which end is cut from longer sequences.
        value: the padding value.

    Returns:
        An array of shape (len(sequences), maxlen) (plus any trailing sample dimensions).

    Raises:
        ValueError: for unknown padding/truncating, a negative maxlen, or sequences of mixed inner shapes.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"Argument `sequences` must be a list of iterables. Received: {type(sequences).__name__}")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood: use "pre" or "post". Received: padding={padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood: use "pre" or "post". '
                         f"Received: truncating={truncating!r}")
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0):
        raise ValueError(f"Argument `maxlen` must be a non-negative int or None. Received: {maxlen!r}")
    lengths, sample_shape = [], ()
    for sequence in sequences:
        try:
            lengths.append(len(sequence))
        except TypeError:
            raise ValueError("Argument `sequences` must be a list of iterables. "
                             f"Received: an element {sequence!r}") from None
        if len(sequence) and not sample_shape:
            sample_shape = np.asarray(sequence).shape[1:]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.object_)
    if isinstance(value, str) and not is_text:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type {type(value).__name__}. "
                         f"Received: value={value!r}")
    x = np.full((len(sequences), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for row, sequence in enumerate(sequences):
        if not len(sequence) or maxlen == 0:
            continue
        kept = sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != tuple(sample_shape):
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {row} is different from "
                             f"expected shape {tuple(sample_shape)}. Received: mixed sample shapes")
        if padding == "post":
            x[row, :len(kept)] = kept
        else:
            x[row, -len(kept):] = kept
    return x


class TimeseriesGenerator:
    """Keras 2's TimeseriesGenerator: batches of windows over a series, as a Sequence.

    Sample j of batch i ends just before row r (r = start_index + length + (i * batch_size + j)
    * stride): `data[r - length:r:sampling_rate]`, its target `targets[r]`.

    Args:
        data, targets: arrays of the same length (axis 0 is time).
        length: steps covered by a window (before sampling).
        sampling_rate: steps between two rows of a window.
        stride: steps between two windows.
        start_index, end_index: the rows that may be targets: [start_index + length, end_index]
            (end_index defaults to the last row).
        shuffle: draw each batch's rows at random (np.random, as Keras 2).
        reverse: windows in reverse time order.
        batch_size: windows per batch.

    Raises:
        ValueError: for data and targets of different lengths, or no room for a window.
    """

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0, end_index=None,
                 shuffle=False, reverse=False, batch_size=128):
        if len(data) != len(targets):
            raise ValueError("Data and targets have to be of same length. Data length is "
                             f"{len(data)} while target length is {len(targets)}. "
                             f"Received: data of {len(data)} steps, targets of {len(targets)}")
        for argument, value in (("length", length), ("sampling_rate", sampling_rate), ("stride", stride),
                                ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Argument `{argument}` must be a positive int. Received: {value!r}")
        self.data, self.targets = data, targets
        self.length, self.sampling_rate, self.stride = int(length), int(sampling_rate), int(stride)
        self.start_index = start_index + length
        self.end_index = len(data) - 1 if end_index is None else end_index
        self.shuffle, self.reverse, self.batch_size = shuffle, reverse, int(batch_size)
        if self.start_index > self.end_index:
            raise ValueError(f"`start_index+length={self.start_index} > end_index={self.end_index}` is disallowed, "
                             "as no part of the sequence would be left to be used as current step. "
                             f"Received: start_index={start_index}, length={length}, end_index={end_index}")

    def __len__(self):
        return (self.end_index - self.start_index + self.batch_size * self.stride) // (self.batch_size * self.stride)

    def __getitem__(self, index):
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            i = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(i, min(i + self.batch_size * self.stride, self.end_index + 1), self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate] for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets

    def on_epoch_end(self):
        pass

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]
