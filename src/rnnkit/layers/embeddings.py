"""Keras 2.0-2.3's module path `keras.layers.embeddings`: `from keras.layers.embeddings import Embedding`
in older programs runs unchanged."""

from rnnkit.layers.embedding import Embedding

__all__ = ["Embedding"]
