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
            # Keras 2.9 keeps room for the right border in every column of a nested row; tf_keras
            # 2.21 (first_column_margin 1) in the last column only.
            border = nested_level if not first_column_margin or col == len(positions) - 1 else 0
            line += " " * (end - len(line) - border)
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
        if inner and hasattr(layer, "_nodes"):       # a functional model: its rows in its own form
            nested = _plain_rows(functional_rows(layer, expand_nested=True, connected=False))
        else:
            nested = summary_rows(inner, True) if inner else []
        rows.append((layer.name, class_name_of(layer), layer.output_shape, layer.count_params(),
                     bool(layer.trainable), nested))
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
        _close_row(lines, line_length, level, nested, is_nested_last, add)

    for row in rows:
        add(row)
    lines.append("=" * line_length)
    return lines + _totals(trainable_count, non_trainable_count, line_length)


def _close_row(lines, line_length, level, nested, is_nested_last, add):
    """What follows a row: its nested model's rows framed by '|' and rules of '¯', then a blank
    line unless the row ends a nested block. Keras's loop reuses the flag for the nested rows, so
    after a nested block it is the last inner row's: no blank line follows an expanded model."""
    if nested:
        lines.append("|" * (level + 1) + "\u00af" * (line_length - 2 * level - 2) + "|" * (level + 1))
        for i, sub in enumerate(nested):
            add(sub, level + 1, i == len(nested) - 1)
        lines.append("|" * level + "\u00af" * (line_length - 2 * level) + "|" * level)
        return
    if not is_nested_last:
        lines.append("|" * level + " " * (line_length - 2 * level) + "|" * level)


# ---- functional models ----------------------------------------------------------------------------
def _node_output_shape(node):
    shapes = [t.shape for t in node.outputs]
    return shapes[0] if node.single else shapes


def _own_output_shape(layer):
    """A nested model's output shape as the model itself defines it; None for a layer."""
    if isinstance(layer, Layer):
        return None
    try:
        return layer.output_shape
    except AttributeError:
        return None


def functional_rows(model, expand_nested=False, connected=True):
    """Per layer of `model.layers`: (name, class name, output shape text, params, connections,
    trainable, nested rows). A shared layer's connections list every call of it inside this model;
    its shape is 'multiple' when its calls give different shapes (tf_keras's rule); a nested model's
    is its own output shape, whatever its calls gave (tf_keras's too). The rows of a
    nested model (with `expand_nested`) show no connections: tf_keras lists only the outer calls."""
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
        elif _own_output_shape(layer) is not None:
            # tf_keras prints a nested model's own output shape (its graph's), not its calls': a
            # Sequential opening with Embedding (input (None, None)) shows (None, None, 64) even
            # when called on Input((36,)) (Keras 2's babi_memnn.py).
            shape_text = _shape_text(_own_output_shape(layer))
        elif len(shapes) == 1:
            shape_text = _shape_text(_node_output_shape(nodes[0]))
        else:
            shape_text = "multiple"
        connections = [f"{t.node.layer.name}[{t.node.index}][{t.index}]" for n in nodes for t in n.flat_inputs] \
            if connected else []
        rows.append((layer.name, class_name_of(layer), shape_text, layer.count_params(), connections,
                     bool(layer.trainable), _nested_rows(layer) if expand_nested else []))
    return rows


def _nested_rows(layer):
    """The rows of a model nested in the one summarized (none for a layer)."""
    if isinstance(layer, Layer) or not getattr(layer, "layers", None):
        return []
    if hasattr(layer, "_nodes"):
        return functional_rows(layer, expand_nested=True, connected=False)
    return [(inner.name, class_name_of(inner), _shape_text(inner.output_shape), inner.count_params(), [],
             bool(inner.trainable), _nested_rows(inner)) for inner in layer.layers]


def _plain_rows(rows):
    """Functional rows in the Sequential layout's form (no connections)."""
    return [(name, class_name, _Verbatim(shape_text), params, trainable, _plain_rows(nested))
            for name, class_name, shape_text, params, _, trainable, nested in rows]


def functional_summary_lines(model, line_length=None, positions=None, show_trainable=False, expand_nested=False):
    """A functional model's summary: tf_keras 2.21's table with its "Connected to" column (98 wide,
    columns ending at .3/.6/.7/1.), and Keras 2.9's totals (thousands separators, no byte sizes)."""
    rows = functional_rows(model, expand_nested)
    trainable_count, non_trainable_count = parameter_counts(model.layers)
    if model.is_sequential_like():
        # tf_keras prints a chain of single calls in the Sequential layout, without "Connected to".
        return summary_lines(model.name, _plain_rows(rows), trainable_count, non_trainable_count,
                             line_length=line_length, positions=positions, show_trainable=show_trainable,
                             first_column_margin=1)
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

    def add(row, level=0, is_nested_last=False):
        name, class_name, shape_text, params, connections, trainable, nested = row
        fields = [f"{name} ({class_name})", shape_text, params, str(connections)]
        if show_trainable:
            fields.append(_trainable_mark(trainable))
        lines.extend(_format_row(fields, positions, level, first_column_margin=1))
        _close_row(lines, line_length, level, nested, is_nested_last, add)

    for row in rows:
        add(row)
    lines.append("=" * line_length)
    return lines + _totals(trainable_count, non_trainable_count, line_length)
