"""`plot_history`: the loss and metrics of a fit, per epoch, with their validation curves."""

import os


def plot_history(history, to_file, dpi=100):
    """Plots each logged quantity of a fit against the epoch (one panel per quantity, training
    and `val_` curves together) and saves the figure.

    Args:
        history: the History that `fit` returned, or its `.history` dict.
        to_file: where to write the image (the extension picks the format, e.g. .png).
        dpi: resolution.

    Returns:
        `to_file`.

    Raises:
        ImportError: when matplotlib is not installed (`pip install "rnnkit[plot]"`).
        ValueError: for an empty history.
        TypeError: for something that is not a History or a dict of lists.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not all(isinstance(v, (list, tuple)) for v in logs.values()):
        raise TypeError(f"Argument `history` must be a History or its `.history` dict. Received: {history!r:.100}")
    if not logs or not any(logs.values()):
        raise ValueError(f"Argument `history` holds no epoch to plot. Received: {logs!r:.100}")
    if not isinstance(to_file, (str, os.PathLike)):
        raise TypeError(f"Argument `to_file` must be a path. Received: {to_file!r}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_history needs matplotlib, which is not installed. Install it with "
                          "`pip install \"rnnkit[plot]\"` (or `pip install matplotlib`). "
                          "Received: no module named 'matplotlib'") from None
    epochs_logged = getattr(history, "epoch", None)
    names = [k for k in logs if not k.startswith("val_")]
    names += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in logs]
    figure, axes = plt.subplots(len(names), 1, figsize=(6, 2.6 * len(names)), squeeze=False)
    for axis, name in zip(axes[:, 0], names):
        for key, style in ((name, "-o"), (f"val_{name}", "--s")):
            values = logs.get(key)
            if not values:
                continue
            epochs = [e + 1 for e in epochs_logged] if epochs_logged and len(epochs_logged) == len(values) \
                else list(range(1, len(values) + 1))
            if key.startswith("val_") and epochs_logged is None and len(values) != len(logs.get(name, values)):
                epochs = list(range(1, len(values) + 1))
            axis.plot(epochs, values, style, markersize=3, label="validation" if key.startswith("val_") else "training")
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        axis.legend()
    axes[-1, 0].set_xlabel("epoch")
    figure.tight_layout()
    figure.savefig(to_file, dpi=dpi)
    plt.close(figure)
    return to_file
