"""Models: Sequential (build, summary, compile, fit, evaluate, predict, save/load)."""

from rnnkit.models.sequential import Sequential, load_model

__all__ = ["Sequential", "load_model"]
