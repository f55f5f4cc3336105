"""`model.summary()` in Keras 2.9's exact text format.

Columns end at `positions` (fractions of `line_length`, default 65 wide at .45/.85/1.); a cell
too long for its column wraps onto the next line, preferring a break after '),' '},' '],' "',";
a blank line follows each layer.
"""

_LINE_BREAKS = ("),", "},", "],", "',")


def _format_row(fields, positions):
    lines = []
    left = [str(field) for field in fields]
    while any(left):
        line = ""
        for col, text in enumerate(left):
            start = positions[col - 1] if col > 0 else 0
            end = positions[col]
            space = 2 if col != len(positions) - 1 else 0
            cutoff = end - start - space
            piece = text[:cutoff]
            breaks = [piece.find(b) + len(b) for b in _LINE_BREAKS if piece.find(b) >= 0]
            if breaks:
                cutoff = min(breaks)
                piece = piece[:cutoff]
            if col == 0:
                line += " "
            line += piece + " " * space
            left[col] = text[cutoff:]
            line += " " * (end - len(line))
        lines.append(line)
    return lines


def _shape_text(shape):
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def summary_lines(model_name, rows, trainable_count, non_trainable_count, line_length=None, positions=None):
    """The summary's lines.

    Args:
        model_name: shown in the header.
        rows: (layer name, class name, output shape, param count) per layer.
        line_length: total width, default 65.
        positions: column ends, as fractions (<= 1) or absolute, default [.45, .85, 1.].
    """
    line_length = line_length or 65
    positions = list(positions or [0.45, 0.85, 1.0])
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    lines = [f'Model: "{model_name}"', "_" * line_length]
    lines += _format_row(["Layer (type)", "Output Shape", "Param #"], positions)
    lines.append("=" * line_length)
    for name, class_name, output_shape, params in rows:
        lines += _format_row([f"{name} ({class_name})", _shape_text(output_shape), params], positions)
        lines.append(" " * line_length)
    lines.append("=" * line_length)
    lines.append(f"Total params: {trainable_count + non_trainable_count:,}")
    lines.append(f"Trainable params: {trainable_count:,}")
    lines.append(f"Non-trainable params: {non_trainable_count:,}")
    lines.append("_" * line_length)
    return lines
