"""`model.summary()` in Keras 2.9's exact text format (keras/utils/layer_utils.py, print_summary).

Columns end at `positions` (fractions of `line_length`, default 65 wide at .45/.85/1.); a cell
too long for its column wraps onto the next line, preferring a break after '),' '},' '],' "',";
a blank line follows each layer.
`show_trainable` widens the line by 11 for a last column "Trainable" holding Y or N.
`expand_nested` prints a nested model's layers under it, framed by `|` and a rule of '¯'. Keras 2.9
expands only layers that have a `layers` list, i.e. models; its Bidirectional and TimeDistributed
have none, so they stay one row (as here, although rnnkit's wrappers list their inner layers).
"""

import numpy as np

from rnnkit.layers.base import Layer

_LINE_BREAKS = ("),", "},", "],", "',")


def _format_row(fields, positions, nested_level=0, first_column_margin=0):
    """`first_column_margin` 1 is tf_keras 2.21's layout, whose first column leaves room for its
    leading space (Keras 2.9's overflows it by one)."""
    lines = []
    left = [str(field) for field in fields]
    while any(left):
        line = ""
        for col, text in enumerate(left):
            start = positions[col - 1] if col > 0 else 0
            end = positions[col]
            space = 2 if col != len(positions) - 1 else 0
            cutoff = end - start - space - (first_column_margin if col == 0 else 0)
            piece = text[:cutoff]
            breaks = [piece.find(b) + len(b) for b in _LINE_BREAKS if piece.find(b) >= 0]
            if breaks:
                cutoff = min(breaks)
                piece = piece[:cutoff]
            if col == 0:
                line += "|" * nested_level + " "
            line += piece + " " * space
            left[col] = text[cutoff:]
            # Keras 2.9 keeps room for the right border in every column of a nested row.
            line += " " * (end - len(line) - nested_level)
        lines.append(line + "|" * nested_level)
    return lines


def class_name_of(layer):
    """The class name Keras prints: a functional model nested in another is "Functional"."""
    return getattr(layer, "keras_class_name", None) or type(layer).__name__


def summary_rows(layers, expand_nested=False):
    """One row per layer for `summary_lines`: (name, class name, output shape, param count,
    trainable, nested rows). Nested rows are filled only with `expand_nested`, and only for entries
    that are models (not a Layer) with a non-empty `layers` list: Keras 2.9's rule."""
    rows = []
    for layer in layers:
        inner = getattr(layer, "layers", None) if expand_nested and not isinstance(layer, Layer) else None
        rows.append((layer.name, class_name_of(layer), layer.output_shape, layer.count_params(),
                     bool(layer.trainable), summary_rows(inner, True) if inner else []))
    return rows


def parameter_counts(layers):
    """(trainable, non-trainable) parameter counts, as Keras counts them: a frozen layer's weights
    are all non-trainable, and so are a BatchNormalization's moving statistics."""
    trainable = non_trainable = 0
    for layer in layers:
        weights = getattr(layer, "trainable_weights", None)
        if weights is None:
            count = layer.count_params()
            trainable, non_trainable = (trainable + count, non_trainable) if layer.trainable else \
                (trainable, non_trainable + count)
            continue
        trainable += int(sum(np.size(w) for w in layer.trainable_weights))
        non_trainable += int(sum(np.size(w) for w in layer.non_trainable_weights))
    return trainable, non_trainable


def _totals(trainable_count, non_trainable_count, line_length):
    """Keras 2.9's totals: thousands separators, no byte sizes."""
    return [f"Total params: {trainable_count + non_trainable_count:,}", f"Trainable params: {trainable_count:,}",
            f"Non-trainable params: {non_trainable_count:,}", "_" * line_length]


def _trainable_mark(trainable):
    return "Y" if trainable else "N"


class _Verbatim(str):
    """A shape already written out (a functional summary's 'multiple', say)."""


def _shape_text(shape):
    if isinstance(shape, _Verbatim):
        return str(shape)
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def summary_lines(model_name, rows, trainable_count, non_trainable_count, line_length=None, positions=None,
                  show_trainable=False, first_column_margin=0):
    """The summary's lines.

    Args:
        model_name: shown in the header.
        rows: per layer (name, class name, output shape, param count[, trainable[, nested rows]]),
            as `summary_rows` makes them; nested rows are printed framed under their parent.
        line_length: total width, default 65 (plus 11 with `show_trainable`).
        positions: column ends, as fractions (<= 1) or absolute, default [.45, .85, 1.].
        show_trainable: add the "Trainable" column (Y / N).
    """
    line_length = line_length or 65
    positions = list(positions or [0.45, 0.85, 1.0])
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    header = ["Layer (type)", "Output Shape", "Param #"]
    if show_trainable:
        line_length += 11
        positions.append(line_length)
        header.append("Trainable")
    lines = [f'Model: "{model_name}"', "_" * line_length]
    lines += _format_row(header, positions, first_column_margin=first_column_margin)
    lines.append("=" * line_length)

    def add(row, level=0, is_nested_last=False):
        name, class_name, output_shape, params, trainable, nested = (tuple(row) + (True, []))[:6]
        fields = [f"{name} ({class_name})", _shape_text(output_shape), params]
        if show_trainable:
            fields.append(_trainable_mark(trainable))
        lines.extend(_format_row(fields, positions, level, first_column_margin))
        if nested:
            lines.append("|" * (level + 1) + "\u00af" * (line_length - 2 * level - 2) + "|" * (level + 1))
            for i, sub in enumerate(nested):
                add(sub, level + 1, i == len(nested) - 1)
            lines.append("|" * level + "\u00af" * (line_length - 2 * level) + "|" * level)
        if not is_nested_last:
            lines.append("|" * level + " " * (line_length - 2 * level) + "|" * level)

    for row in rows:
        add(row)
    lines.append("=" * line_length)
    return lines + _totals(trainable_count, non_trainable_count, line_length)


# ---- functional models ----------------------------------------------------------------------------
def _node_output_shape(node):
    shapes = [t.shape for t in node.outputs]
    return shapes[0] if node.single else shapes


def functional_rows(model):
    """Per layer of `model.layers`: (name, class name, output shape text, params, connections,
    trainable). A shared layer's connections list every call of it inside this model; its shape is
    'multiple' when its calls give different shapes (tf_keras's rule)."""
    from rnnkit.layers.input_layer import InputLayer
    nodes_by_layer = {}
    for node in model._nodes:
        nodes_by_layer.setdefault(id(node.layer), []).append(node)
    rows = []
    for layer in model.layers:
        nodes = nodes_by_layer.get(id(layer), [])
        shapes = {repr(_node_output_shape(n)) for n in nodes}
        if isinstance(layer, InputLayer):
            shape_text = _shape_text([_node_output_shape(nodes[0])])
        elif len(shapes) == 1:
            shape_text = _shape_text(_node_output_shape(nodes[0]))
        else:
            shape_text = "multiple"
        connections = [f"{t.node.layer.name}[{t.node.index}][{t.index}]" for n in nodes for t in n.flat_inputs]
        rows.append((layer.name, class_name_of(layer), shape_text, layer.count_params(), connections,
                     bool(layer.trainable)))
    return rows


def functional_summary_lines(model, line_length=None, positions=None, show_trainable=False):
    """A functional model's summary: tf_keras 2.21's table with its "Connected to" column (98 wide,
    columns ending at .3/.6/.7/1.), and Keras 2.9's totals (thousands separators, no byte sizes)."""
    rows = functional_rows(model)
    trainable_count, non_trainable_count = parameter_counts(model.layers)
    if model.is_sequential_like():
        # tf_keras prints a chain of single calls in the Sequential layout, without "Connected to".
        plain = [(name, class_name, _Verbatim(shape_text), params, trainable, [])
                 for name, class_name, shape_text, params, _, trainable in rows]
        return summary_lines(model.name, plain, trainable_count, non_trainable_count, line_length=line_length,
                             positions=positions, show_trainable=show_trainable, first_column_margin=1)
    line_length = line_length or 98
    positions = list(positions or [0.3, 0.6, 0.70, 1.0])
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if show_trainable:
        line_length += 11
        positions.append(line_length)
        header.append("Trainable")
    lines = [f'Model: "{model.name}"', "_" * line_length]
    lines += _format_row(header, positions, first_column_margin=1)
    lines.append("=" * line_length)
    for name, class_name, shape_text, params, connections, trainable in rows:
        fields = [f"{name} ({class_name})", shape_text, params, str(connections)]
        if show_trainable:
            fields.append(_trainable_mark(trainable))
        lines.extend(_format_row(fields, positions, first_column_margin=1))
        lines.append(" " * line_length)
    lines.append("=" * line_length)
    return lines + _totals(trainable_count, non_trainable_count, line_length)
