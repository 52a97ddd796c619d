"""Rendering of a CloudWatch metric widget into a PNG (GetMetricWidgetImage).

Pure: a ``Chart`` (series already fetched, options already validated) in, PNG bytes
out; the operation (emulator/handlers/cloudwatch_widgets.py) parses the MetricWidget
JSON and fetches the data through the GetMetricData engine. The drawing follows the
console's graphs in layout (title on top, legend below or on the right, the
category-10 palette CloudWatch colours series with) and aims at legibility, not at
being pixel-identical to AWS's images.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

# CloudWatch's default series colours, in the order series get them
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
BACKGROUND = (255, 255, 255)
TEXT = (68, 68, 68)
GRID = (233, 233, 233)
AXIS = (170, 170, 170)
ANNOTATION = "#d62728"  # a horizontal/vertical annotation without a colour
VIEWS = ("timeSeries", "bar", "pie", "singleValue")

RGB = tuple[int, int, int]
Font = Any  # ImageFont.FreeTypeFont or ImageFont.ImageFont, depending on the Pillow build


@dataclass
class Series:
    label: str
    points: list[tuple[float, float]]  # (epoch seconds, value), ascending
    color: RGB
    right_axis: bool = False


@dataclass
class Axis:
    min: float | None = None
    max: float | None = None
    label: str = ""


@dataclass
class HAnnotation:
    value: float
    label: str
    color: RGB
    fill: str | None = None  # "above" | "below"
    to_value: float | None = None  # a band: the area between value and to_value
    right_axis: bool = False


@dataclass
class VAnnotation:
    time: float
    label: str
    color: RGB
    fill: str | None = None  # "before" | "after"
    to_time: float | None = None  # a band


@dataclass
class Chart:
    width: int
    height: int
    start: float
    end: float
    series: list[Series] = field(default_factory=list)
    view: str = "timeSeries"
    stacked: bool = False
    title: str = ""
    legend: str = "bottom"  # "bottom" | "right" | "hidden"
    left: Axis = field(default_factory=Axis)
    right: Axis = field(default_factory=Axis)
    horizontal: list[HAnnotation] = field(default_factory=list)
    vertical: list[VAnnotation] = field(default_factory=list)
    tz_offset: int = 0  # seconds east of UTC, for the time labels


def palette_color(index: int) -> RGB:
    return hex_color(PALETTE[index % len(PALETTE)])


def hex_color(text: str) -> RGB:
    """``#rrggbb`` or ``#rgb``; ValueError otherwise."""
    digits = text[1:] if text.startswith("#") else ""
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    if len(digits) != 6:
        raise ValueError(text)
    value = int(digits, 16)  # ValueError on a non-hex digit
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


@lru_cache(maxsize=16)
def font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, AttributeError, OSError):  # Pillow 10.0, or built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _text_size(draw: ImageDraw.ImageDraw, text: str, f: Font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=f)
    return int(right - left), int(bottom - top)


def _fit(draw: ImageDraw.ImageDraw, text: str, f: Font, width: int) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` pixels."""
    if _text_size(draw, text, f)[0] <= width:
        return text
    while text and _text_size(draw, text + "…", f)[0] > width:
        text = text[:-1]
    return text + "…" if text else ""


def _blend(color: RGB, alpha: float) -> RGB:
    """``color`` at ``alpha`` opacity over the white background."""
    return (
        round(color[0] * alpha + BACKGROUND[0] * (1 - alpha)),
        round(color[1] * alpha + BACKGROUND[1] * (1 - alpha)),
        round(color[2] * alpha + BACKGROUND[2] * (1 - alpha)),
    )


def format_value(v: float) -> str:
    """Axis and single-value numbers as the console writes them: 1.5k, 2.3M, 0.25."""
    a = abs(v)
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= limit:
            return f"{v / limit:.3g}{suffix}"
    if a == 0 or a >= 0.01:
        return f"{v:.3g}"
    return f"{v:.2e}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> tuple[float, float, list[float]]:
    """A rounded range covering [lo, hi] and its evenly spaced ticks (about ``count``)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step) * step
    last = math.ceil(hi / step) * step
    ticks = [first + k * step for k in range(round((last - first) / step) + 1)]
    return first, last, ticks


_TIME_STEPS = (1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000)


def time_ticks(start: float, end: float, slots: int, offset: int = 0) -> list[float]:
    """Round local times between ``start`` and ``end``, at most about ``slots`` of them."""
    span = max(end - start, 1.0)
    step = next((s for s in _TIME_STEPS if span / s <= max(slots, 1)), _TIME_STEPS[-1])
    first = math.ceil((start + offset) / step) * step - offset
    out: list[float] = []
    t = float(first)
    while t <= end:
        out.append(t)
        t += step
    return out


def time_label(t: float, start: float, end: float, offset: int) -> str:
    local = dt.datetime.fromtimestamp(t + offset, dt.UTC)
    if end - start > 86400 * 2:
        return local.strftime("%m/%d") if local.hour == 0 and local.minute == 0 else local.strftime("%m/%d %H:%M")
    if end - start < 300:
        return local.strftime("%H:%M:%S")
    return local.strftime("%H:%M")


def render(chart: Chart) -> bytes:
    img = Image.new("RGB", (chart.width, chart.height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    small = font(11)
    top = 6
    if chart.title:
        f = font(14)
        text = _fit(draw, chart.title, f, chart.width - 16)
        draw.text((8, top), text, fill=(16, 16, 16), font=f)
        top += _text_size(draw, "Ag", f)[1] + 10
    area = (0, top, chart.width, chart.height)
    if chart.legend != "hidden" and chart.series and chart.view != "singleValue":
        area = _legend(draw, chart, area, small)
    if chart.view == "singleValue":
        _single_values(draw, chart, area)
    elif chart.view == "pie":
        _pie(draw, chart, area)
    elif chart.view == "bar":
        _bars(draw, chart, area, small)
    else:
        _time_series(img, draw, chart, area, small)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


# ---------------------------------------------------------------- legend
def _legend(draw: ImageDraw.ImageDraw, chart: Chart, area: tuple[int, int, int, int], f: Font) -> tuple[int, int, int, int]:
    """Draws the legend (a swatch and the label of each series) and returns the area left for the graph."""
    x0, y0, x1, y1 = area
    line_h = _text_size(draw, "Ag", f)[1] + 6
    swatch = 10
    if chart.legend == "right":
        col_w = max(60, min((x1 - x0) // 3, 220))
        lx = x1 - col_w
        y = y0 + 4
        for s in chart.series:
            if y + line_h > y1:
                break
            draw.rectangle((lx, y + 2, lx + swatch, y + 2 + swatch), fill=s.color)
            draw.text((lx + swatch + 5, y), _fit(draw, s.label, f, col_w - swatch - 10), fill=TEXT, font=f)
            y += line_h
        return x0, y0, lx - 6, y1
    # bottom: entries flow left to right, wrapping; the rows that fit under a graph of at least half the height
    entries = []
    max_w = max(40, x1 - x0 - 16)
    for s in chart.series:
        label = _fit(draw, s.label, f, max_w - swatch - 5)
        entries.append((s, label, swatch + 5 + _text_size(draw, label, f)[0] + 14))
    rows: list[list[tuple[Series, str, int]]] = [[]]
    used = 0
    for entry in entries:
        if rows[-1] and used + entry[2] > max_w:
            rows.append([])
            used = 0
        rows[-1].append(entry)
        used += entry[2]
    room = max(0, ((y1 - y0) // 2) // line_h)
    rows = rows[:room]
    if not rows:
        return area
    y = y1 - len(rows) * line_h - 4
    top = y
    for row in rows:
        x = x0 + 8
        for s, label, w in row:
            draw.rectangle((x, y + 2, x + swatch, y + 2 + swatch), fill=s.color)
            draw.text((x + swatch + 5, y), label, fill=TEXT, font=f)
            x += w
        y += line_h
    return x0, y0, x1, top - 4


# ---------------------------------------------------------------- time series
def _stack(series: list[Series]) -> list[list[tuple[float, float, float]]]:
    """Each series' (t, base, top) when stacked: a timestamp missing from a series counts as 0 in it."""
    times = sorted({t for s in series for t, _ in s.points})
    base = dict.fromkeys(times, 0.0)
    out = []
    for s in series:
        values = dict(s.points)
        layer = []
        for t in times:
            b = base[t]
            top = b + values.get(t, 0.0)
            layer.append((t, b, top))
            base[t] = top
        out.append(layer)
    return out


def _value_range(chart: Chart, series: list[Series], axis: Axis, stacked: list[list[tuple[float, float, float]]] | None, right: bool) -> tuple[float, float, list[float]]:
    values: list[float] = []
    if stacked is not None:
        values = [0.0] + [v for layer in stacked for _, _, v in layer]
    else:
        values = [v for s in series for _, v in s.points]
    values += [a.value for a in chart.horizontal if a.right_axis == right]
    values += [a.to_value for a in chart.horizontal if a.right_axis == right and a.to_value is not None]
    lo = min(values) if values else 0.0
    hi = max(values) if values else 1.0
    if axis.min is not None:
        lo = axis.min
    if axis.max is not None:
        hi = axis.max
    first, last, ticks = nice_ticks(lo, hi)
    if axis.min is not None:
        first = axis.min
    if axis.max is not None:
        last = axis.max
    if last <= first:
        last = first + 1.0
    return first, last, [t for t in ticks if first - 1e-9 <= t <= last + 1e-9]


def _time_series(img: Image.Image, draw: ImageDraw.ImageDraw, chart: Chart, area: tuple[int, int, int, int], f: Font) -> None:
    x0, y0, x1, y1 = area
    left_series = [s for s in chart.series if not s.right_axis]
    right_series = [s for s in chart.series if s.right_axis]
    uses_right = bool(right_series) or any(a.right_axis for a in chart.horizontal)
    left_stack = _stack(left_series) if chart.stacked else None
    right_stack = _stack(right_series) if chart.stacked else None
    lmin, lmax, lticks = _value_range(chart, left_series, chart.left, left_stack, False)
    rmin, rmax, rticks = _value_range(chart, right_series, chart.right, right_stack, True)
    text_h = _text_size(draw, "0", f)[1]
    lw = max(_text_size(draw, format_value(t), f)[0] for t in lticks) if lticks else 0
    rw = max(_text_size(draw, format_value(t), f)[0] for t in rticks) if rticks and uses_right else 0
    px0 = x0 + lw + 14 + (text_h + 6 if chart.left.label else 0)
    px1 = x1 - (rw + 14 + (text_h + 6 if chart.right.label else 0) if uses_right else 14)
    py0 = y0 + max(8, text_h // 2 + 2)
    py1 = y1 - text_h - 10
    if px1 - px0 < 10 or py1 - py0 < 10:  # too small for axes: the series alone, over the whole area
        px0, px1, py0, py1 = x0, x1 - 1, y0, y1 - 1
        lticks = rticks = []
        axes = False
    else:
        axes = True
    span = max(chart.end - chart.start, 1.0)

    def tx(t: float) -> float:
        return px0 + (t - chart.start) / span * (px1 - px0)

    def vy(v: float, right: bool) -> float:
        lo, hi = (rmin, rmax) if right else (lmin, lmax)
        return py1 - (v - lo) / (hi - lo) * (py1 - py0)

    if axes:
        for t in lticks:
            y = vy(t, False)
            draw.line((px0, y, px1, y), fill=GRID)
            label = format_value(t)
            draw.text((px0 - 6 - _text_size(draw, label, f)[0], y - text_h / 2 - 1), label, fill=TEXT, font=f)
        if uses_right:
            for t in rticks:
                y = vy(t, True)
                draw.text((px1 + 6, y - text_h / 2 - 1), format_value(t), fill=TEXT, font=f)
        slots = max(1, (px1 - px0) // 90)
        for t in time_ticks(chart.start, chart.end, slots, chart.tz_offset):
            x = tx(t)
            draw.line((x, py1, x, py1 + 4), fill=AXIS)
            label = time_label(t, chart.start, chart.end, chart.tz_offset)
            w = _text_size(draw, label, f)[0]
            draw.text((min(max(x - w / 2, px0 - lw), x1 - w - 2), py1 + 6), label, fill=TEXT, font=f)
        draw.line((px0, py1, px1, py1), fill=AXIS)
        draw.line((px0, py0, px0, py1), fill=AXIS)
        if uses_right:
            draw.line((px1, py0, px1, py1), fill=AXIS)
        if chart.left.label:
            _vertical_text(img, chart.left.label, (x0 + 4, (py0 + py1) // 2), f, py1 - py0)
        if chart.right.label and uses_right:
            _vertical_text(img, chart.right.label, (x1 - text_h - 4, (py0 + py1) // 2), f, py1 - py0)

    # annotation fills go under the series, their lines and labels over them
    clip = (px0, py0, px1, py1)
    for h in chart.horizontal:
        y = vy(h.value, h.right_axis)
        if h.to_value is not None:
            _fill_rect(draw, (px0, y, px1, vy(h.to_value, h.right_axis)), _blend(h.color, 0.15), clip)
        elif h.fill == "above":
            _fill_rect(draw, (px0, py0, px1, y), _blend(h.color, 0.15), clip)
        elif h.fill == "below":
            _fill_rect(draw, (px0, y, px1, py1), _blend(h.color, 0.15), clip)
    for v in chart.vertical:
        x = tx(v.time)
        if v.to_time is not None:
            _fill_rect(draw, (x, py0, tx(v.to_time), py1), _blend(v.color, 0.15), clip)
        elif v.fill == "before":
            _fill_rect(draw, (px0, py0, x, py1), _blend(v.color, 0.15), clip)
        elif v.fill == "after":
            _fill_rect(draw, (x, py0, px1, py1), _blend(v.color, 0.15), clip)

    for s, layer in _layers(chart, left_series, right_series, left_stack, right_stack):
        if layer is not None:
            top = [(tx(t), vy(v, s.right_axis)) for t, _, v in layer]
            bottom = [(tx(t), vy(b, s.right_axis)) for t, b, _ in reversed(layer)]
            if len(top) > 1:
                draw.polygon(top + bottom, fill=_blend(s.color, 0.45))
            pts = top
        else:
            pts = [(tx(t), vy(v, s.right_axis)) for t, v in s.points]
        if len(pts) > 1:
            draw.line(pts, fill=s.color, width=2, joint="curve")
        for x, y in pts if len(pts) <= max(2, (px1 - px0) // 6) else []:
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=s.color)

    for h in chart.horizontal:
        for value in (h.value,) if h.to_value is None else (h.value, h.to_value):
            y = vy(value, h.right_axis)
            if py0 <= y <= py1:
                draw.line((px0, y, px1, y), fill=h.color, width=1)
        if h.label:
            y = vy(h.value, h.right_axis)
            if py0 <= y <= py1:
                draw.text((px0 + 4, max(py0, y - text_h - 4)), _fit(draw, h.label, f, px1 - px0 - 8), fill=h.color, font=f)
    for v in chart.vertical:
        for t in (v.time,) if v.to_time is None else (v.time, v.to_time):
            x = tx(t)
            if px0 <= x <= px1:
                draw.line((x, py0, x, py1), fill=v.color, width=1)
        if v.label:
            x = tx(v.time)
            if px0 <= x <= px1:
                label = _fit(draw, v.label, f, max(20, px1 - px0 - 8))
                w = _text_size(draw, label, f)[0]
                draw.text((min(x + 4, px1 - w - 2), py0 + 2), label, fill=v.color, font=f)


def _layers(
    chart: Chart,
    left: list[Series],
    right: list[Series],
    left_stack: list[list[tuple[float, float, float]]] | None,
    right_stack: list[list[tuple[float, float, float]]] | None,
) -> list[tuple[Series, list[tuple[float, float, float]] | None]]:
    if not chart.stacked or left_stack is None or right_stack is None:
        return [(s, None) for s in chart.series]
    return [*zip(left, left_stack, strict=True), *zip(right, right_stack, strict=True)]


def _fill_rect(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], color: RGB, clip: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])
    x0, y0, x1, y1 = max(x0, clip[0]), max(y0, clip[1]), min(x1, clip[2]), min(y1, clip[3])
    if x1 > x0 and y1 > y0:
        draw.rectangle((x0, y0, x1, y1), fill=color)


def _vertical_text(img: Image.Image, text: str, center: tuple[int, int], f: Font, room: int) -> None:
    """``text`` turned 90° counter-clockwise, its centre's x at center[0] (left edge) and y at center[1]."""
    probe = ImageDraw.Draw(img)
    text = _fit(probe, text, f, max(10, room))
    w, h = _text_size(probe, text, f)
    layer = Image.new("RGB", (w + 4, h + 6), BACKGROUND)
    ImageDraw.Draw(layer).text((2, 0), text, fill=TEXT, font=f)
    turned = layer.rotate(90, expand=True)
    img.paste(turned, (center[0], center[1] - turned.height // 2))


# ---------------------------------------------------------------- bar, pie, single value
def latest(s: Series) -> float | None:
    return s.points[-1][1] if s.points else None


def _bars(draw: ImageDraw.ImageDraw, chart: Chart, area: tuple[int, int, int, int], f: Font) -> None:
    """One horizontal bar per series, its latest value, on a shared value axis."""
    x0, y0, x1, y1 = area
    values = [latest(s) for s in chart.series]
    known = [v for v in values if v is not None]
    lo = min([0.0, *known]) if chart.left.min is None else chart.left.min
    hi = max([0.0, *known]) if chart.left.max is None else chart.left.max
    lo, hi, ticks = nice_ticks(lo, hi)
    if chart.left.min is not None:
        lo = chart.left.min
    if chart.left.max is not None:
        hi = chart.left.max
    if hi <= lo:
        hi = lo + 1.0
    text_h = _text_size(draw, "0", f)[1]
    px0, px1, py0, py1 = x0 + 10, x1 - 14, y0 + 6, y1 - text_h - 10
    if px1 - px0 < 10 or py1 - py0 < 10 or not chart.series:
        return

    def vx(v: float) -> float:
        return px0 + (min(max(v, lo), hi) - lo) / (hi - lo) * (px1 - px0)

    for t in ticks:
        if lo <= t <= hi:
            x = vx(t)
            draw.line((x, py0, x, py1), fill=GRID)
            label = format_value(t)
            w = _text_size(draw, label, f)[0]
            draw.text((min(max(x - w / 2, x0), x1 - w - 2), py1 + 6), label, fill=TEXT, font=f)
    draw.line((px0, py1, px1, py1), fill=AXIS)
    slot = (py1 - py0) / len(chart.series)
    zero = vx(0.0)
    for i, (s, v) in enumerate(zip(chart.series, values, strict=True)):
        if v is None:
            continue
        top = py0 + i * slot + slot * 0.15
        bottom = py0 + (i + 1) * slot - slot * 0.15
        a, b = sorted((zero, vx(v)))
        draw.rectangle((a, top, max(b, a + 1), max(bottom, top + 1)), fill=s.color)


def _pie(draw: ImageDraw.ImageDraw, chart: Chart, area: tuple[int, int, int, int]) -> None:
    """Slices proportional to each series' latest value; negative and missing values have none."""
    x0, y0, x1, y1 = area
    values = [max(latest(s) or 0.0, 0.0) for s in chart.series]
    total = sum(values)
    size = min(x1 - x0, y1 - y0) - 16
    if total <= 0 or size < 4:
        return
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    box = (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
    angle = -90.0  # the first slice starts at twelve o'clock
    for s, v in zip(chart.series, values, strict=True):
        if v <= 0:
            continue
        sweep = 360.0 * v / total
        if sweep >= 359.999:
            draw.ellipse(box, fill=s.color)
        else:
            draw.pieslice(box, angle, angle + sweep, fill=s.color, outline=BACKGROUND)
        angle += sweep


def _single_values(draw: ImageDraw.ImageDraw, chart: Chart, area: tuple[int, int, int, int]) -> None:
    """Each series' latest value in large figures under its label, in a grid of cells."""
    x0, y0, x1, y1 = area
    n = len(chart.series)
    if n == 0:
        return
    cols = max(1, min(n, (x1 - x0) // 160 or 1))
    rows = math.ceil(n / cols)
    cw, ch = (x1 - x0) / cols, (y1 - y0) / rows
    label_font = font(12)
    size = int(max(10, min(48, ch * 0.45, cw / 5)))
    value_font = font(size)
    for i, s in enumerate(chart.series):
        cx, cy = x0 + (i % cols) * cw, y0 + (i // cols) * ch
        draw.rectangle((cx + 8, cy + 4, cx + 11, cy + 16), fill=s.color)
        draw.text((cx + 16, cy + 2), _fit(draw, s.label, label_font, int(cw) - 24), fill=TEXT, font=label_font)
        v = latest(s)
        text = format_value(v) if v is not None else "--"
        draw.text((cx + 14, cy + 22), text, fill=s.color, font=value_font)
