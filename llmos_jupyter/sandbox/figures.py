"""A matplotlib Figure across the sandbox boundary, rebuilt in the kernel as a Figure again.

Each axes travels as plain data when every artist in it is one this file knows (lines, rectangles such as
bars, text in data coordinates, a legend, ticks, labels, limits and scales), and the kernel rebuilds it with
matplotlib's public API, so `fig.gca().get_xticklabels()` or `findobj(Rectangle)` read as they did in the
worker. An axes with anything else (3D bars, images, scatter collections) comes back as its picture: an
axes of the same place showing that part of the figure's PNG. Every field is checked on the way in: colors
through matplotlib's own parser, styles against fixed lists, numbers finite, sizes bounded; and what the
kernel would build is bounded before it builds it: the PNG's pixels (its IHDR), the canvas (size x dpi), the
axes and the artists (a tick costs the kernel about 20 KB, a line, bar or text about 9 KB, an axes 220 KB).
The worker sends an axes over the artist budget as its picture, so only a forged record meets the bound."""
from __future__ import annotations

import io
import math
from typing import Any

from . import limits
from .errors import Unconvertible, UnsafePayload

MAX_DPI = 1000
MAX_TEXT = 1000  # characters in one label
MAX_ARTISTS = 10_000  # lines, patches and texts in one axes
MAX_AXES = 256  # a 16 x 16 grid of subplots; more come back as the figure's picture alone
MAX_FIGURE_ARTISTS = 10_000  # lines, patches, texts and legend entries, ticks twice, in all rebuilt axes: ~100 MB
LINESTYLES = ("-", "--", "-.", ":", "None", "", " ", "solid", "dashed", "dashdot", "dotted")
ALIGN = {"ha": ("left", "center", "right"), "va": ("top", "center", "bottom", "baseline", "center_baseline")}
SCALES = ("linear", "log", "symlog", "logit")


# ----------------------------------------------------------------------------------------------- encode

def encode(figure, out) -> dict:
    w, h = figure.get_size_inches()
    try:
        limits.check_canvas((w, h), figure.dpi)
    except UnsafePayload as exc:
        raise Unconvertible(str(exc)) from None
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    suptitle = figure._suptitle.get_text() if getattr(figure, "_suptitle", None) is not None else None
    budget = [MAX_FIGURE_ARTISTS]
    axes = [_encode_axes(ax, figure, out, budget) for ax in figure.axes] if len(figure.axes) <= MAX_AXES else []
    return {"t": "figure", "png": out.bytes(buffer.getvalue()), "size": [float(w), float(h)],
            "dpi": float(figure.dpi), "suptitle": suptitle, "axes": axes}


def _hex(color) -> str:
    from matplotlib.colors import to_hex

    return to_hex(color, keep_alpha=True)


def _encode_axes(ax, figure, out, budget: list[int]) -> dict:
    axes = {"rect": [float(v) for v in ax.get_position().bounds], "title": ax.get_title(),
            "picture": _picture_box(ax, figure)}
    if not _plain(ax):
        return axes
    legend = ax.get_legend()
    weight = _weight(len(ax.lines), len(ax.patches), len(ax.texts), len(legend.legend_handles) if legend else 0,
                     len(ax.get_xticks()) + len(ax.get_yticks()))
    if weight > budget[0]:  # what the kernel would refuse to rebuild comes back as a picture
        return axes
    budget[0] -= weight
    ticks = {}
    for axis in ("x", "y"):
        labels = getattr(ax, f"get_{axis}ticklabels")()
        ticks[axis] = {"ticks": [float(t) for t in getattr(ax, f"get_{axis}ticks")()],
                       "labels": [t.get_text() for t in labels], "label": getattr(ax, f"get_{axis}label")(),
                       "lim": [float(v) for v in getattr(ax, f"get_{axis}lim")()],
                       "scale": getattr(ax, f"get_{axis}scale")(),
                       "rotation": float(labels[0].get_rotation()) if labels else 0.0,
                       "fontsize": float(labels[0].get_fontsize()) if labels else 10.0,
                       "labelsize": float(getattr(ax, f"{axis}axis").label.get_fontsize()),
                       "grid": any(g.get_visible() for g in getattr(ax, f"get_{axis}gridlines")())}
    lines = [{"x": out.npy(_floats(line.get_xdata())), "y": out.npy(_floats(line.get_ydata())),
              "color": _hex(line.get_color()), "linestyle": line.get_linestyle(),
              "linewidth": float(line.get_linewidth()), "marker": _marker(line.get_marker()),
              "markersize": float(line.get_markersize()), "label": line.get_label()} for line in ax.lines]
    patches = [{"xy": [float(v) for v in p.get_xy()], "width": float(p.get_width()), "height": float(p.get_height()),
                "facecolor": _hex(p.get_facecolor()), "edgecolor": _hex(p.get_edgecolor()),
                "linewidth": float(p.get_linewidth()), "label": p.get_label()} for p in ax.patches]
    texts = [{"xy": [float(v) for v in t.get_position()], "text": t.get_text(), "ha": t.get_ha(), "va": t.get_va(),
              "fontsize": float(t.get_fontsize()), "color": _hex(t.get_color()), "rotation": float(t.get_rotation())}
             for t in ax.texts]
    out.count(len(lines) + len(patches) + len(texts))
    if legend is not None:  # placed where it was drawn, as a corner in the axes' own coordinates
        corner = ax.transAxes.inverted().transform(legend.get_window_extent().p0)
        legend = {"corner": [float(v) for v in corner],
                  "entries": [_legend_entry(h, t) for h, t in zip(legend.legend_handles, legend.get_texts())]}
    return {**axes, "picture": None, "facecolor": _hex(ax.get_facecolor()), "ticks": ticks, "lines": lines,
            "patches": patches, "texts": texts, "legend": legend}


def _weight(lines: int, patches: int, texts: int, legend: int, ticks: int) -> int:
    return lines + patches + texts + legend + 2 * ticks


def _plain(ax) -> bool:
    """Whether every artist of `ax` is one the kernel can rebuild from plain data."""
    from matplotlib.patches import Rectangle

    if ax.name != "rectilinear" or ax.collections or ax.images or ax.tables or ax.artists:
        return False
    if any(type(p) is not Rectangle for p in ax.patches):
        return False
    if any(t.get_transform() != ax.transData for t in ax.texts):
        return False
    legend = ax.get_legend()
    return legend is None or all(_legend_entry(h, None) is not None for h in legend.legend_handles)


def _legend_entry(handle, text) -> dict | None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    label = text.get_text() if text is not None else ""
    if isinstance(handle, Patch):
        return {"kind": "patch", "color": _hex(handle.get_facecolor()), "label": label}
    if isinstance(handle, Line2D):
        return {"kind": "line", "color": _hex(handle.get_color()), "linestyle": handle.get_linestyle(),
                "marker": _marker(handle.get_marker()), "label": label}
    return None


def _marker(marker) -> str:
    return marker if isinstance(marker, str) else "None"


def _floats(values):
    import numpy as np

    return np.asarray(values, dtype=float)


def _picture_box(ax, figure) -> list[float]:
    """Where the axes is drawn, its labels and title included, as a fraction of the figure."""
    box = ax.get_tightbbox().transformed(figure.transFigure.inverted())
    x0, y0 = max(box.x0, 0.0), max(box.y0, 0.0)
    return [float(x0), float(y0), float(min(box.x1, 1.0) - x0), float(min(box.y1, 1.0) - y0)]


# ----------------------------------------------------------------------------------------------- decode

def decode(data: dict, into) -> Any:
    from matplotlib.figure import Figure

    raw = into.bytes(data.get("png"))
    limits.png_size(raw)
    size, dpi = data.get("size"), _number(data.get("dpi", 100), "dpi")
    if not 0 < dpi <= MAX_DPI:
        raise UnsafePayload(f"a figure dpi outside 0..{MAX_DPI}")
    if not isinstance(size, list) or len(size) != 2 or not all(0 < _number(s, "a size") <= 200 for s in size):
        raise UnsafePayload("a figure size that is not two positive numbers")
    limits.check_canvas(size, dpi)
    axes = data.get("axes")
    if not isinstance(axes, list) or len(axes) > MAX_AXES or not all(isinstance(entry, dict) for entry in axes):
        raise UnsafePayload(f"a figure without its list of at most {MAX_AXES} axes records")
    weight = sum(_record_weight(entry) for entry in axes if entry.get("picture") is None)
    if weight > MAX_FIGURE_ARTISTS:
        raise limits.refuse(f"a figure of {weight} artists (ticks twice)", f"{MAX_FIGURE_ARTISTS}", "figures")
    figure = Figure(figsize=tuple(size), dpi=dpi)
    picture = _picture(raw)
    if not axes:
        figure.figimage(picture)
    for entry in axes:
        if entry.get("picture") is not None:
            _picture_axes(figure, entry, picture)
        else:
            _rebuild_axes(figure, entry, into)
    if data.get("suptitle"):
        figure.suptitle(_text(data["suptitle"]))
    return figure


def _picture(raw: bytes):
    """The PNG as 8-bit RGBA (4 bytes a pixel; matplotlib's imread would make float32, 16), its size checked
    (limits.png_size) before this decodes it."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw), formats=["PNG"]) as image:
            return np.asarray(image.convert("RGBA"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnsafePayload(f"a figure whose PNG cannot be read: {exc}") from None


def _record_weight(entry: dict) -> int:
    """What rebuilding a plain axes record costs, counted from its lists before anything is built."""
    ticks = entry.get("ticks")
    ticks = ticks if isinstance(ticks, dict) else {}
    legend = entry.get("legend")
    return _weight(*(len(_list(entry.get(k), k)) for k in ("lines", "patches", "texts")),
                   len(_list(legend.get("entries"), "legend")) if isinstance(legend, dict) else 0,
                   sum(len(_list(a.get("ticks"), "ticks")) if isinstance(a, dict) else 0
                       for a in (ticks.get("x"), ticks.get("y"))))


def _picture_axes(figure, entry, picture) -> None:
    x, y, w, h = _rect(entry.get("picture"))
    rows, cols = picture.shape[:2]
    top, bottom = int(round((1 - y - h) * rows)), int(round((1 - y) * rows))
    left, right = int(round(x * cols)), int(round((x + w) * cols))
    ax = figure.add_axes((x, y, w, h))
    ax.imshow(picture[top:bottom, left:right], aspect="auto", interpolation="nearest")
    ax.set_axis_off()
    ax.set_label(_text(entry.get("title", "")))


def _rebuild_axes(figure, entry, into) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    ax = figure.add_axes(_rect(entry.get("rect")))
    ax.set_facecolor(_color(entry.get("facecolor")))
    lines, patches, texts = (_list(entry.get(k), k) for k in ("lines", "patches", "texts"))
    into.count(len(lines) + len(patches) + len(texts))
    for line in lines:
        x, y = into.array(line.get("x")), into.array(line.get("y"))
        if x.dtype.kind not in "iuf" or y.dtype.kind not in "iuf" or x.shape != y.shape or x.ndim != 1:
            raise UnsafePayload("a line whose data are not two equal runs of numbers")
        ax.add_line(Line2D(x, y, color=_color(line.get("color")), linestyle=_style(line.get("linestyle")),
                           linewidth=_number(line.get("linewidth"), "a line width"), marker=_markerstyle(line),
                           markersize=_number(line.get("markersize"), "a marker size"),
                           label=_text(line.get("label", ""))))
    for p in patches:
        ax.add_patch(Rectangle(tuple(_numbers(p.get("xy"), 2)), _number(p.get("width"), "a width"),
                               _number(p.get("height"), "a height"), facecolor=_color(p.get("facecolor")),
                               edgecolor=_color(p.get("edgecolor")),
                               linewidth=_number(p.get("linewidth"), "a line width"), label=_text(p.get("label", ""))))
    for t in texts:
        ha, va = t.get("ha"), t.get("va")
        if ha not in ALIGN["ha"] or va not in ALIGN["va"]:
            raise UnsafePayload("a text alignment matplotlib does not have")
        x, y = _numbers(t.get("xy"), 2)
        ax.text(x, y, _text(t.get("text")), ha=ha, va=va, fontsize=_number(t.get("fontsize"), "a font size"),
                color=_color(t.get("color")), rotation=_number(t.get("rotation"), "a rotation"))
    ticks = entry.get("ticks")
    if not isinstance(ticks, dict):
        raise UnsafePayload("an axes without its ticks")
    for axis in ("x", "y"):
        _axis(ax, axis, ticks.get(axis))
    ax.set_title(_text(entry.get("title", "")))
    legend = entry.get("legend")
    if legend is not None:
        if not isinstance(legend, dict):
            raise UnsafePayload("a legend that is not a record")
        handles = []
        for item in _list(legend.get("entries"), "legend"):
            color, label = _color(item.get("color")), _text(item.get("label", ""))
            if item.get("kind") == "patch":
                handles.append(Patch(facecolor=color, label=label))
            elif item.get("kind") == "line":
                handles.append(Line2D([], [], color=color, linestyle=_style(item.get("linestyle")),
                                      marker=_markerstyle(item), label=label))
            else:
                raise UnsafePayload("a legend entry that is neither a patch nor a line")
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=tuple(_numbers(legend.get("corner"), 2)))


def _axis(ax, axis: str, data) -> None:
    if not isinstance(data, dict):
        raise UnsafePayload(f"an axes without its {axis} axis")
    scale = data.get("scale")
    if scale not in SCALES:
        raise UnsafePayload(f"an axis scale {scale!r}")
    getattr(ax, f"set_{axis}scale")(scale)
    ticks = [_number(v, "a tick") for v in _list(data.get("ticks"), "ticks")]
    labels = [_text(v) for v in _list(data.get("labels"), "tick labels")]
    if len(labels) != len(ticks):
        raise UnsafePayload("tick labels that do not match the ticks")
    getattr(ax, f"set_{axis}ticks")(ticks, labels, rotation=_number(data.get("rotation"), "a rotation"),
                                    fontsize=_number(data.get("fontsize"), "a font size"))
    getattr(ax, f"set_{axis}label")(_text(data.get("label", "")), fontsize=_number(data.get("labelsize"), "a size"))
    if data.get("grid") is True:
        ax.grid(True, axis=axis, linestyle="--", alpha=0.6)
    getattr(ax, f"set_{axis}lim")(*_numbers(data.get("lim"), 2))


def _list(value, what: str) -> list:
    if not isinstance(value, list) or len(value) > MAX_ARTISTS:
        raise UnsafePayload(f"{what} that are not a list of at most {MAX_ARTISTS}")
    if what in ("lines", "patches", "texts", "legend") and not all(isinstance(v, dict) for v in value):
        raise UnsafePayload(f"{what} that are not records")
    return value


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UnsafePayload(f"{what} that is not a finite number")
    return float(value)


def _numbers(value, n: int) -> list[float]:
    if not isinstance(value, list) or len(value) != n:
        raise UnsafePayload(f"{n} numbers expected")
    return [_number(v, "a coordinate") for v in value]


def _rect(value) -> tuple[float, ...]:
    x, y, w, h = _numbers(value, 4)
    if not (-1 <= x <= 2 and -1 <= y <= 2 and 0 <= w <= 3 and 0 <= h <= 3):
        raise UnsafePayload("an axes placed far outside its figure")
    return x, y, w, h


def _text(value) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise UnsafePayload(f"a label that is not text of at most {MAX_TEXT} characters")
    return value


def _color(value):
    from matplotlib.colors import to_rgba

    if not isinstance(value, str) or not value.startswith("#") or len(value) not in (7, 9):
        raise UnsafePayload("a color that is not #rrggbb[aa]")
    try:
        return to_rgba(value)
    except ValueError:
        raise UnsafePayload(f"a color {value!r} matplotlib cannot read") from None


def _style(value) -> str:
    if value not in LINESTYLES:
        raise UnsafePayload(f"a line style {value!r}")
    return value


def _markerstyle(entry: dict) -> str:
    from matplotlib.markers import MarkerStyle

    marker = entry.get("marker")
    if not isinstance(marker, str) or marker not in MarkerStyle.markers:
        raise UnsafePayload(f"a marker {marker!r}")
    return marker
