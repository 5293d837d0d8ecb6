"""``model.summary()``: Keras 3's table (box-drawing borders, the same column widths), as plain text."""

from __future__ import annotations

import math
import shutil
import sys

import numpy as np

from fnflow_keras.utils import nest


def count_params(weights):
    return int(sum(math.prod(w.shape) for w in {id(w): w for w in weights}.values()))


def weight_memory_size(weights):
    """Bytes taken by the (distinct) weights."""
    return sum(math.prod(w.shape) * np.dtype(w.dtype).itemsize for w in {id(w): w for w in weights}.values())


def readable_memory_size(size):
    for unit in ["B", "KB", "MB", "GB", "TB", "PB"]:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _format_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"


def format_layer_shape(layer):
    if layer._inbound_nodes:
        outputs = layer._inbound_nodes[-1].outputs
        shapes = nest.map_structure(lambda t: _format_shape(t.shape), outputs)
    else:
        build = getattr(layer, "_build_shapes", None)
        if build is None:
            return "?"
        try:
            out = layer.compute_output_shape(build)
        except Exception:  # noqa: BLE001 - the summary must not fail on exotic layers
            return "?"
        if _is_shape(out):
            return _format_shape(out)
        shapes = [_format_shape(o) for o in out]
    flat = nest.flatten(shapes)
    if len(flat) == 1:
        return flat[0]
    return str(shapes).replace("'", "")


def _is_shape(s):
    return isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s)


def _wrap(text, width):
    """Rich-like word wrap: greedy on spaces; a word longer than the cell gets a line of its own, cut with "…"
    (rich's default column overflow is "ellipsis", not "fold")."""
    lines = []
    for para in str(text).split("\n"):
        out, line = [], ""
        for word in para.split(" "):
            if len(word) > width:
                if line:
                    out.append(line)
                out.append(word[:width - 1] + "…")
                line = ""
                continue
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= width:
                line += " " + word
            else:
                out.append(line)
                line = word
        if line or not out:
            out.append(line)
        lines += out
    return lines or [""]


def _ratio_reduce(total, ratios, maximums, values):
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return list(values)
    remaining, out = total, []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            d = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - d)
            remaining -= d
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def render_table(header, rows, align, positions, line_length):
    """Keras's rich table (HEAVY_HEAD box, lines between rows) rendered to text lines."""
    widths, current = [], 0
    for pos in positions:
        w = int(pos * line_length) - current
        if w < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(w)
        current += w
    cols = [w + 2 for w in widths]  # rich adds one space of padding on each side
    avail = line_length - (len(cols) + 1)
    if sum(cols) > avail:
        cols = _ratio_reduce(sum(cols) - avail, [1] * len(cols), cols, cols)
    inner = [c - 2 for c in cols]

    def cell_lines(cells, left, mid, right, bottom=False):
        wrapped = [_wrap(c, w) for c, w in zip(cells, inner)]
        height = max(len(w) for w in wrapped)
        if bottom:  # rich aligns header cells to the bottom of their row
            wrapped = [[""] * (height - len(w)) + w for w in wrapped]
        out = []
        for i in range(height):
            parts = []
            for w, lines, a in zip(inner, wrapped, align):
                text = lines[i] if i < len(lines) else ""
                text = text.rjust(w) if a == "right" else (text.center(w) if a == "center" else text.ljust(w))
                parts.append(" " + text + " ")
            out.append(left + mid.join(parts) + right)
        return out

    lines = ["┏" + "┳".join("━" * c for c in cols) + "┓"]
    lines += cell_lines(header, "┃", "┃", "┃", bottom=True)
    lines.append("┡" + "╇".join("━" * c for c in cols) + "┩")
    for i, row in enumerate(rows):
        if i:
            lines.append("├" + "┼".join("─" * c for c in cols) + "┤")
        lines += cell_lines(row, "│", "│", "│")
    lines.append("└" + "┴".join("─" * c for c in cols) + "┘")
    return lines


def _sequential_like(model):
    from fnflow_keras.models.functional import Functional
    from fnflow_keras.models.sequential import Sequential

    if isinstance(model, Sequential) or not isinstance(model, Functional):
        return True
    nodes = [n for n in model._nodes if n.input_tensors or True]
    per_depth = {}
    for lay in model.layers:
        for node in lay._inbound_nodes:
            if any(node is n for n in nodes):
                if len(node.input_tensors) > 1:
                    return False
                per_depth.setdefault(id(lay), 0)
                per_depth[id(lay)] += 1
                if per_depth[id(lay)] > 1:
                    return False
    # more than one node at one depth (branches) means a real graph
    consumers = {}
    for node in nodes:
        for t in node.input_tensors:
            consumers[id(t)] = consumers.get(id(t), 0) + 1
    return all(c <= 1 for c in consumers.values()) and len(model.inputs) == 1 and len(model.outputs) == 1


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Print (or pass to ``print_fn``, in one call) Keras 3's summary table of ``model``."""
    from fnflow_keras.models.functional import Functional

    seq = _sequential_like(model)
    layers = model.layers
    if isinstance(model, Functional) is False and hasattr(model, "_layers_for_summary"):
        layers = model._layers_for_summary()
    if seq:
        default, positions = 88, positions or [0.45, 0.80, 1.0]
        header, align = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        align = ["left", "left", "right", "left"]
    if show_trainable:
        default += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        align.append("center")
    if sys.stdout.isatty():
        default = min(default, shutil.get_terminal_size().columns - 4)
    line_length = line_length or default
    relevant = {id(n) for n in getattr(model, "_nodes", [])}

    def connections(layer):
        out = []
        for node in layer._inbound_nodes:
            if relevant and id(node) not in relevant:
                continue
            for kt in node.input_tensors:
                h = kt._keras_history
                out.append(f"{h.operation.name}[{h.node_index}][{h.tensor_index}]")
        return ", ".join(out) if out else "-"

    def fields(layer, prefix=""):
        name = f"{prefix}{layer.name} ({type(layer).__name__})"
        if not layer.built:
            params = "0 (unbuilt)"
        else:
            params = f"{layer.count_params():,}"
        row = [name, format_layer_shape(layer), params]
        if not seq:
            row.append(connections(layer))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        return row

    def rows_of(layer, level=0):
        prefix = "   " * level + "└ " if level else ""
        rows = [fields(layer, prefix)]
        if expand_nested and hasattr(layer, "layers") and layer.layers:
            for sub in layer.layers:
                rows.extend(rows_of(sub, level + 1))
        return rows

    lo, hi = 0, len(layers)
    if layer_range is not None:
        import re

        lows = [i for i, lay in enumerate(layers) if re.match(layer_range[0], lay.name)]
        highs = [i for i, lay in enumerate(layers) if re.match(layer_range[1], lay.name)]
        if not lows or not highs:
            raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: "
                             f"{layer_range}")
        lo, hi = min(lows), max(highs) + 1
    rows = [r for lay in layers[lo:hi] for r in rows_of(lay)]
    tw, ntw = model.trainable_weights, model.non_trainable_weights
    t_count, nt_count = count_params(tw), count_params(ntw)
    t_mem, nt_mem = weight_memory_size(tw), weight_memory_size(ntw)
    opt_count = opt_mem = 0
    optimizer = getattr(model, "optimizer", None)
    opt_vars = getattr(optimizer, "variables", None) if optimizer is not None else None
    if opt_vars and getattr(optimizer, "built", False):
        opt_count, opt_mem = count_params(opt_vars), weight_memory_size(opt_vars)
    lines = [f'Model: "{model.name}"']
    lines += render_table(header, rows, align, positions, line_length)
    lines.append(f" Total params: {t_count + nt_count + opt_count:,} "
                 f"({readable_memory_size(t_mem + nt_mem + opt_mem)})")
    lines.append(f" Trainable params: {t_count:,} ({readable_memory_size(t_mem)})")
    lines.append(f" Non-trainable params: {nt_count:,} ({readable_memory_size(nt_mem)})")
    if opt_count:
        lines.append(f" Optimizer params: {opt_count:,} ({readable_memory_size(opt_mem)})")
    text = "\n".join(lines) + "\n"
    if print_fn is not None:
        print_fn(text)
    else:
        sys.stdout.write(text)
