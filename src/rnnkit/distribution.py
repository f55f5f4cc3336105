"""Keras 3's spelling of `rnnkit.distribute`: `keras.distribution.set_distribution(
keras.distribution.DataParallel())`, then `model.fit` is data-parallel over the MPI job's processes.
The rules are `rnnkit.distribute`'s."""

from rnnkit.distribute import DataParallel, distribution, set_distribution

__all__ = ["DataParallel", "distribution", "set_distribution"]
