"""Utilities: reproducibility and gradient checking."""

from rnnkit.backend import set_random_seed
from rnnkit.utils.gradient_check import gradient_check_error, numerical_gradient

__all__ = ["set_random_seed", "gradient_check_error", "numerical_gradient"]
