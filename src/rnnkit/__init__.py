"""rnnkit: Keras's recurrent-network API on NumPy.

    from rnnkit.models import Sequential
    from rnnkit.layers import SimpleRNN

    model = Sequential()
    model.add(SimpleRNN(3, input_shape=(2, 10)))
    model.summary()
"""

__version__ = "0.1.0"

from rnnkit import backend as backend  # noqa: E402  (cheap: NumPy only)


_SUBMODULES = {"layers", "models", "ops", "activations", "initializers", "losses", "optimizers", "metrics",
               "callbacks", "utils", "preprocessing", "saving", "datasets", "regularizers", "constraints",
               "distribute", "distribution"}
# Keras's top-level names (`import rnnkit as keras; keras.Sequential(...)`): where each one lives.
_NAMES = {"Sequential": "rnnkit.models", "Model": "rnnkit.models", "Input": "rnnkit.layers", "InputLayer": "rnnkit.layers",
          "load_model": "rnnkit.models"}


def __getattr__(name):
    # Submodules and names load on first use so that `import rnnkit` stays fast.
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"rnnkit.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | set(_NAMES))
