"""Keras-compatible preprocessing: `text.Tokenizer`, `sequence.pad_sequences`, and Keras 3's
`keras.preprocessing.timeseries_dataset_from_array` / `text_dataset_from_directory` aliases."""

from rnnkit.preprocessing import sequence, text  # noqa: F401
from rnnkit.utils.data import text_dataset_from_directory, timeseries_dataset_from_array  # noqa: F401
