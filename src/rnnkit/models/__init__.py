"""Models: Sequential (build, summary, compile, fit, evaluate, predict, save/load)."""

from rnnkit.layers.input_layer import Input  # Keras 2.0-2.3 exported it here: `from keras.models import Model, Input`
from rnnkit.models.conversion import convert
from rnnkit.models.functional import Model
from rnnkit.models.sequential import Sequential, load_model, model_from_json

__all__ = ["Input", "Model", "Sequential", "convert", "load_model", "model_from_json"]
