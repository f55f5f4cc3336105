"""Keras-facing layer classes. `deserialize` finds a layer class by name through one registry."""

from rnnkit.layers.activation_layers import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from rnnkit.layers.base import Layer
from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.convolutional import (Conv1D, Conv1DTranspose, Convolution1D, Convolution1DTranspose,
                                         SeparableConv1D, SeparableConvolution1D)
from rnnkit.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from rnnkit.layers.cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from rnnkit.layers.dense import Dense
from rnnkit.layers.dropout import Dropout
from rnnkit.layers.embedding import Embedding
from rnnkit.layers.input_layer import Input, InputLayer
from rnnkit.layers.masking import Masking
from rnnkit.layers.noise import GaussianDropout, GaussianNoise, SpatialDropout1D
from rnnkit.layers.normalization import BatchNormalization, LayerNormalization
from rnnkit.layers.operations import Any, ConcatenateOperation, ExpandDims, LogicalOr, NotEqual, ZerosLike
from rnnkit.layers.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average,
                                 concatenate, dot, maximum, minimum, multiply, subtract)
from rnnkit.layers.pooling import (AveragePooling1D, AvgPool1D, GlobalAveragePooling1D, GlobalAvgPool1D,
                                   GlobalMaxPool1D, GlobalMaxPooling1D, MaxPool1D, MaxPooling1D)
from rnnkit.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from rnnkit.layers.reshaping import Cropping1D, Flatten, Permute, RepeatVector, Reshape, UpSampling1D, ZeroPadding1D
from rnnkit.layers.time_distributed import TimeDistributed

_REGISTRY = {}


def register(cls):
    """Makes `cls` known to `deserialize` under its class name."""
    _REGISTRY[cls.__name__] = cls
    return cls


for _cls in (InputLayer, Dense, SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed, Embedding,
             Masking, Dropout, RNN, SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells, NotEqual, LogicalOr, ExpandDims,
             ZerosLike, Any, ConcatenateOperation, Add, Subtract,
             Multiply, Average, Maximum, Minimum, Concatenate, Dot,
             # issue 13: the layers around the RNN
             Conv1D, MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D,
             BatchNormalization, LayerNormalization, Flatten, Reshape, Permute, RepeatVector, UpSampling1D,
             ZeroPadding1D, Cropping1D, Activation, LeakyReLU, ReLU, ELU, PReLU, Softmax, SpatialDropout1D,
             GaussianNoise, GaussianDropout, ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, SeparableConv1D, Conv1DTranspose):
    register(_cls)
# Keras's other names of the same classes (configs name the class, so these only serve Python code).
_ALIASES = {"Convolution1D": Convolution1D, "Convolution1DTranspose": Convolution1DTranspose,
            "SeparableConvolution1D": SeparableConvolution1D, "MaxPool1D": MaxPool1D, "AvgPool1D": AvgPool1D,
            "GlobalMaxPool1D": GlobalMaxPool1D, "GlobalAvgPool1D": GlobalAvgPool1D}


def register_cell(ops_cell, name):
    """Registers a built-in cell from its ops file: `ops_cell` ("rnnkit.ops.module:Class") becomes
    `<name>Cell` and `<name>` (see `cells.cell_classes`). Returns (cell class, layer class)."""
    import importlib

    from rnnkit.layers.cells import cell_classes
    module, _, attribute = ops_cell.partition(":")
    cell_class, layer_class = cell_classes(getattr(importlib.import_module(module), attribute), name)
    return register(cell_class), register(layer_class)


def get_class(class_name):
    """The layer class registered under `class_name`.

    Raises:
        ValueError: naming the unknown class and the known ones.
    """
    if class_name in ("Functional", "Model", "Sequential"):   # a whole model where a layer stands
        from rnnkit import models
        return models.Sequential if class_name == "Sequential" else models.Model
    if class_name not in _REGISTRY:
        raise ValueError(
            f"Unknown layer class {class_name!r}: rnnkit knows {sorted(_REGISTRY)}. "
            f"Received: class_name={class_name!r}")
    return _REGISTRY[class_name]


def serialize(layer):
    file_spec = getattr(layer, "file_spec", None)      # a model nested in another describes itself
    if file_spec is not None:
        return file_spec()
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config):
    """A new layer from Keras's `{"class_name": ..., "config": {...}}`."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"A layer config must be a dict with 'class_name' and 'config'. Received: {config!r}")
    return get_class(config["class_name"]).from_config(dict(config.get("config") or {}))


# ---- built-in cells from one ops file each: one line per cell -------------------------------------
LayerNormLSTMCell, LayerNormLSTM = register_cell("rnnkit.ops.layer_norm_lstm:LayerNormLSTM", "LayerNormLSTM")

__all__ = sorted(set(_REGISTRY) | set(_ALIASES) | {
    "Layer", "Input", "InputLayer", "register", "register_cell", "get_class", "serialize", "deserialize", "add",
    "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"})
