"""`plot_model`: a picture of a model's graph, drawn without Graphviz.

Each layer is a box (its name, class and, with `show_shapes`, its input and output shapes); an
arrow runs from each layer to each layer that reads its output. Layers are placed in ranks by the
longest path from an input, so a seq2seq model shows its encoder and decoder side by side and the
states crossing between them. SVG is written directly; PNG is drawn with matplotlib when it is
installed.
"""

import html
import os

_CHAR_WIDTH = 7.2      # px per character of 12 px monospace text
_LINE_HEIGHT = 16
_PADDING = 10
_RANK_GAP = 46
_BOX_GAP = 28


def _shape_text(shape):
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _graph(model):
    """(boxes, edges): boxes in model.layers order as (layer, lines), edges as (from index, to index)."""
    from rnnkit.layers.input_layer import InputLayer
    layers = list(model.layers)
    index = {id(layer): i for i, layer in enumerate(layers)}
    edges = []
    nodes = getattr(model, "_nodes", None)
    if nodes is None:  # a Sequential: a chain
        edges = [(i, i + 1) for i in range(len(layers) - 1)]
        shapes = [(layer.input_shape, layer.output_shape) for layer in layers]
    else:
        seen = set()
        inputs_of, outputs_of = {}, {}
        for node in nodes:
            target = index[id(node.layer)]
            outputs_of.setdefault(target, []).append([t.shape for t in node.outputs] if not node.single
                                                     else node.outputs[0].shape)
            ins = [t.shape for t in node.flat_inputs]
            inputs_of.setdefault(target, []).append(ins[0] if len(ins) == 1 else ins)
            for tensor in node.flat_inputs:
                edge = (index[id(tensor.node.layer)], target)
                if edge not in seen:
                    seen.add(edge)
                    edges.append(edge)
        shapes = []
        for i, layer in enumerate(layers):
            outs = outputs_of.get(i, [None])
            ins = inputs_of.get(i, [None])
            if isinstance(layer, InputLayer):
                ins = outs
            shapes.append((ins[0] if len({repr(s) for s in ins}) == 1 else "multiple",
                           outs[0] if len({repr(s) for s in outs}) == 1 else "multiple"))
    return layers, shapes, edges


def _ranks(count, edges):
    """Longest path from a source, per box."""
    rank = [0] * count
    for _ in range(count):
        changed = False
        for source, target in edges:
            if rank[target] < rank[source] + 1:
                rank[target] = rank[source] + 1
                changed = True
        if not changed:
            break
    # A source (an input) sits just above the first layer that reads it, not at the top: a
    # decoder's input then stands beside the encoder instead of crossing it.
    targets = {}
    for source, target in edges:
        targets.setdefault(source, []).append(target)
    has_input = {target for _, target in edges}
    for node in range(count):
        if node not in has_input and node in targets:
            rank[node] = max(0, min(rank[t] for t in targets[node]) - 1)
    return rank


def layout(model, show_shapes=True, show_layer_names=True, show_dtype=False):
    """Boxes {x, y, w, h, lines} and edges, in pixels, top to bottom."""
    layers, shapes, edges = _graph(model)
    boxes = []
    for layer, (in_shape, out_shape) in zip(layers, shapes):
        title = f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__
        lines = [title]
        if show_shapes:
            lines.append("input:  " + (in_shape if isinstance(in_shape, str) else _shape_text(in_shape)
                                       if in_shape is not None else "?"))
            lines.append("output: " + (out_shape if isinstance(out_shape, str) else _shape_text(out_shape)
                                       if out_shape is not None else "?"))
        if show_dtype:
            lines.append(f"dtype: {getattr(layer, 'output_dtype', None) or layer.dtype}")
        width = max(len(line) for line in lines) * _CHAR_WIDTH + 2 * _PADDING
        boxes.append({"lines": lines, "w": width, "h": len(lines) * _LINE_HEIGHT + 2 * _PADDING - 4})
    rank = _ranks(len(boxes), edges)
    rows = {}
    for i, r in enumerate(rank):
        rows.setdefault(r, []).append(i)
    total_width = max(sum(boxes[i]["w"] for i in row) + _BOX_GAP * (len(row) - 1) for row in rows.values())
    y = _BOX_GAP
    for r in sorted(rows):
        row = rows[r]
        x = _BOX_GAP + (total_width - (sum(boxes[i]["w"] for i in row) + _BOX_GAP * (len(row) - 1))) / 2
        height = max(boxes[i]["h"] for i in row)
        for i in row:
            boxes[i].update(x=x, y=y + (height - boxes[i]["h"]) / 2)
            x += boxes[i]["w"] + _BOX_GAP
        y += height + _RANK_GAP
    return boxes, edges, total_width + 2 * _BOX_GAP, y - _RANK_GAP + _BOX_GAP


def _svg(boxes, edges, width, height, title):
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans Mono, monospace" font-size="12">',
           f"<title>{html.escape(title)}</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker></defs>',
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>']
    for source, target in edges:
        a, b = boxes[source], boxes[target]
        x1, y1 = a["x"] + a["w"] / 2, a["y"] + a["h"]
        x2, y2 = b["x"] + b["w"] / 2, b["y"]
        middle = (y1 + y2) / 2
        out.append(f'<path d="M {x1:.1f} {y1:.1f} C {x1:.1f} {middle:.1f}, {x2:.1f} {middle:.1f}, {x2:.1f} '
                   f'{y2 - 1:.1f}" fill="none" stroke="#444" stroke-width="1.3" marker-end="url(#arrow)"/>')
    for box in boxes:
        out.append(f'<rect x="{box["x"]:.1f}" y="{box["y"]:.1f}" width="{box["w"]:.1f}" height="{box["h"]:.1f}" '
                   'rx="6" fill="#eef3fb" stroke="#3b6db3" stroke-width="1.2"/>')
        for i, line in enumerate(box["lines"]):
            weight = ' font-weight="bold"' if i == 0 else ""
            out.append(f'<text x="{box["x"] + _PADDING:.1f}" y="{box["y"] + _PADDING + 10 + i * _LINE_HEIGHT:.1f}"'
                       f'{weight} xml:space="preserve">{html.escape(line)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _png(boxes, edges, width, height, path, dpi):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    except ImportError:
        raise ImportError("plot_model needs matplotlib to write a PNG (pip install matplotlib); an .svg file needs "
                          "nothing. Received: to_file ending in .png") from None
    figure = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    axes = figure.add_axes([0, 0, 1, 1])
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    axes.axis("off")
    for source, target in edges:
        a, b = boxes[source], boxes[target]
        axes.add_patch(FancyArrowPatch((a["x"] + a["w"] / 2, a["y"] + a["h"]), (b["x"] + b["w"] / 2, b["y"]),
                                       arrowstyle="-|>", mutation_scale=10, color="#444", linewidth=1.2))
    for box in boxes:
        axes.add_patch(FancyBboxPatch((box["x"], box["y"]), box["w"], box["h"], boxstyle="round,pad=0,rounding_size=6",
                                      facecolor="#eef3fb", edgecolor="#3b6db3", linewidth=1.2))
        for i, line in enumerate(box["lines"]):
            axes.text(box["x"] + _PADDING, box["y"] + _PADDING + 10 + i * _LINE_HEIGHT, line, family="monospace",
                      fontsize=12 * 72 / dpi, fontweight="bold" if i == 0 else "normal", va="baseline")
    figure.savefig(path, dpi=dpi)
    plt.close(figure)


def plot_model(model, to_file="model.svg", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", dpi=96, **kwargs):
    """Draws `model`'s layers and their connections to `to_file` (.svg, or .png with matplotlib).

    Args:
        model: a Sequential or a functional Model (built).
        to_file: where to write; the extension picks SVG or PNG.
        show_shapes: write each layer's input and output shapes in its box.
        show_dtype: write each layer's dtype.
        show_layer_names: write each layer's name beside its class.
        rankdir: 'TB' (top to bottom), the one layout rnnkit draws.

    Raises:
        ValueError: for another extension or layout, or an unbuilt model.
        ImportError: for a PNG without matplotlib.
    """
    path = os.fspath(to_file)
    if not path.endswith((".svg", ".png")):
        raise ValueError(f"Argument `to_file` must end in .svg or .png. Received: {path!r}")
    if rankdir != "TB":
        raise ValueError(f"Argument `rankdir` must be 'TB' (rnnkit draws top to bottom). Received: {rankdir!r}")
    if not getattr(model, "built", False):
        raise ValueError("plot_model needs a built model. Received: an unbuilt model")
    boxes, edges, width, height = layout(model, show_shapes, show_layer_names, show_dtype)
    if path.endswith(".png"):
        _png(boxes, edges, width, height, path, dpi)
        return
    from rnnkit.saving.rnnkit_format import write_atomic
    text = _svg(boxes, edges, width, height, model.name)
    write_atomic(path, lambda f: f.write(text.encode("utf-8")))
