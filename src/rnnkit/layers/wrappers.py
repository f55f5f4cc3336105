"""Keras 2.0-2.3's module path `keras.layers.wrappers`: `from keras.layers.wrappers import
TimeDistributed, Bidirectional` in older programs runs unchanged."""

from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.time_distributed import TimeDistributed

__all__ = ["Bidirectional", "TimeDistributed"]
