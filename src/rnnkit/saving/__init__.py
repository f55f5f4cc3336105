"""Reading and writing model files. Plain data only: (config dicts, weight arrays)."""

from rnnkit.saving.errors import FileFormatError  # noqa: F401
