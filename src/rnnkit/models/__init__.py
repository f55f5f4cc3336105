"""Models: Sequential (build, summary, compile, fit, evaluate, predict, save/load)."""

from rnnkit.models.conversion import convert
from rnnkit.models.functional import Model
from rnnkit.models.sequential import Sequential, load_model, model_from_json

__all__ = ["Model", "Sequential", "convert", "load_model", "model_from_json"]
