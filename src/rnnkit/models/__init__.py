"""Models: Sequential (build, summary, compile, fit, evaluate, predict)."""

from rnnkit.models.sequential import Sequential

__all__ = ["Sequential"]
