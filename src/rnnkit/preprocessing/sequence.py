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
