"""Keras-compatible text preprocessing: `text.Tokenizer`, `sequence.pad_sequences`."""

from rnnkit.preprocessing import sequence, text  # noqa: F401
