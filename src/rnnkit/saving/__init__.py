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
