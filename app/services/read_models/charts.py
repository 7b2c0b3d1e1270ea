"""Geometry of the monitoring pages' server-rendered SVG charts (pure functions): integer
axis ticks, horizontal bars (mirrored in right-to-left pages), columns on a fixed scale.
Every chart has a table with the same numbers beside it."""

from __future__ import annotations

import math


def int_ticks(top: float, most: int = 5) -> list[int]:
    """Integer axis ticks from 0 to at least `top`: steps of 1, 2 or 5 x 10^k, at most
    `most` + 1 ticks."""
    top = max(int(math.ceil(top)), 1)
    step = 1
    while True:
        for m in (1, 2, 5):
            s = m * step
            if math.ceil(top / s) <= most:
                n = math.ceil(top / s)
                return [i * s for i in range(n + 1)]
        step *= 10


def bars(items: list[tuple[str, float | None]], top: float | None = None, rtl: bool = False,
         width: int = 640, bar_h: int = 22, gap: int = 8) -> dict | None:
    """Geometry of a horizontal bar chart: one bar per (label, value); labels in a
    column on the start side (the right in RTL), values at the bar's end. None when no
    value is positive... or when there is nothing to draw."""
    if not items or not any(v for _l, v in items):
        return None
    label_w, pad, pad_t = 180, 48, 24
    ticks = int_ticks(top if top is not None else max(v or 0 for _l, v in items))
    scale_top = ticks[-1]
    inner = width - label_w - pad - 10
    height = pad_t + len(items) * (bar_h + gap) + 10

    def x(v: float) -> float:
        pos = label_w + inner * v / scale_top
        return round(width - pos if rtl else pos, 1)

    out = []
    for i, (label, v) in enumerate(items):
        y = pad_t + i * (bar_h + gap)
        w = round(inner * (v or 0) / scale_top, 1)
        x0 = x(0)
        out.append({"label": label, "value": v, "y": y, "ty": y + bar_h * 0.7, "w": w,
                    "x": round(x0 - w, 1) if rtl else x0,
                    "vx": round(x0 - w - 4, 1) if rtl else round(x0 + w + 4, 1),
                    "lx": round(width - label_w + 6, 1) if rtl else label_w - 6})
    return {"width": width, "height": height, "bar_h": bar_h, "rtl": rtl, "bars": out,
            "ticks": [(t, x(t)) for t in ticks], "y0": pad_t - 6, "y1": height - 6,
            "anchor_label": "start" if rtl else "end", "anchor_value": "end" if rtl else "start"}


def columns_chart(values: list[tuple[str, float | None]], top: int = 100, rtl: bool = False,
                  width: int = 640, height: int = 220) -> dict | None:
    """Geometry of a column chart (one column per period, oldest first; right to left
    in RTL) on a fixed integer scale 0..top."""
    if not values or all(v is None for _l, v in values):
        return None
    pad_l, pad_r, pad_t, pad_b = 40, 10, 10, 30
    inner_w, inner_h = width - pad_l - pad_r, height - pad_t - pad_b
    slot = inner_w / len(values)
    ticks = int_ticks(top, 4)

    def y(v: float) -> float:
        return round(pad_t + inner_h - inner_h * v / ticks[-1], 1)

    cols = []
    for i, (label, v) in enumerate(values):
        pos = i if not rtl else len(values) - 1 - i
        x = round(pad_l + pos * slot + slot * 0.15, 1)
        cols.append({"label": label, "value": v, "x": x, "w": round(slot * 0.7, 1),
                     "y": y(v or 0), "h": round(inner_h * (v or 0) / ticks[-1], 1),
                     "cx": round(x + slot * 0.35, 1)})
    return {"width": width, "height": height, "x0": pad_l, "x1": width - pad_r, "y0": pad_t,
            "y1": pad_t + inner_h, "cols": cols, "ticks": [(t, y(t)) for t in ticks]}

