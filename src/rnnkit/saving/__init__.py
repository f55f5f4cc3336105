"""Reading and writing model files. Plain data only: (config dicts, weight arrays)."""

from rnnkit.saving.errors import FileFormatError  # noqa: F401


def convert(in_path, out_path, check=False, force=False):
    """Converts a model file into another format (Keras 3 `.keras`, Keras 2 `.h5`, `.weights.h5`,
    rnnkit `.npz`) and returns a report; see `rnnkit.saving.converter.convert`."""
    from rnnkit.saving import converter
    return converter.convert(in_path, out_path, check=check, force=force)


def export_onnx(model, path, mask_padding=None):
    """Writes a built Sequential or functional Model as an ONNX model (needs the onnx package); see
    `rnnkit.saving.onnx_export.export_onnx`."""
    from rnnkit.saving import onnx_export
    return onnx_export.export_onnx(model, path, mask_padding=mask_padding)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Keras 3's `keras.saving.load_model`: the same as `rnnkit.models.load_model`."""
    from rnnkit.models import load_model as load
    return load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    """Keras 3's `keras.saving.save_model(model, filepath)`: `model.save(filepath)`; with
    `overwrite=False` an existing file is refused before anything is written."""
    import os
    if kwargs:
        raise TypeError(f"Arguments not understood by save_model: {sorted(kwargs)}. Received: {kwargs!r}")
    if not overwrite and os.path.exists(os.fspath(filepath)):
        raise FileExistsError(f"Argument `filepath` names an existing file and overwrite=False. Received: "
                              f"{os.fspath(filepath)!r}")
    return model.save(filepath)
