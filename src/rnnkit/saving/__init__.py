"""Reading and writing model files. Plain data only: (config dicts, weight arrays)."""
