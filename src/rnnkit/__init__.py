"""rnnkit: Keras's recurrent-network API on NumPy.

    from rnnkit.models import Sequential
    from rnnkit.layers import SimpleRNN

    model = Sequential()
    model.add(SimpleRNN(3, input_shape=(2, 10)))
    model.summary()
"""

__version__ = "0.1.0"

from rnnkit import backend as backend  # noqa: E402  (cheap: NumPy only)


def __getattr__(name):
    # Submodules load on first use so that `import rnnkit` stays fast.
    import importlib

    if name in {"layers", "models", "ops", "activations", "initializers", "losses",
                "optimizers", "metrics", "callbacks", "utils"}:
        return importlib.import_module(f"rnnkit.{name}")
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
