"""Keras 2.0-2.3's module path `keras.layers.core`: `from keras.layers.core import Dense, Dropout`
in older programs runs unchanged. The layers live in their own modules; this one only names them."""

from rnnkit.layers import (Activation, Dense, Dropout, Flatten, Masking, Permute, RepeatVector, Reshape,
                           SpatialDropout1D)

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Masking", "Permute", "RepeatVector", "Reshape",
           "SpatialDropout1D"]
