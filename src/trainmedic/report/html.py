"""The HTML report: one self-contained page (inline CSS, inline SVG plots, no script, no network).

Verdict and ranked causes first (evidence in numbers, the user's file:line with its code, the fix as a diff,
the verified / not verified / not tried badge, trial numbers), then plots drawn from the recording's signals
and experiments, then the set-up facts. A renderer draws; it never judges: every plotted baseline (chance,
majority rate, expected initial loss) is a number already in the facts or the experiments.

Every string that comes from the user's program (layer names, file paths, code, messages) goes through
:func:`html.escape`. ``render_html(d, standalone=False)`` gives a fragment with scoped styles for Jupyter.
"""
from __future__ import annotations

import bisect
import html
import math
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..causes import CAUSES
from ..diagnosis import Diagnosis
from ..facts import Location, SetupFacts
from ..findings import CauseReport, Trial, _fmt
from ..recording import Recording, Series

__all__ = ["render_html", "write_html"]

_PALETTE = ("#2563eb", "#e11d48", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
            "#475569", "#ea580c")
_DASHES = (None, "6 3", "2 3", "8 3 2 3")
_MUTED = "#6b7280"
_MAX_POINTS = 1200  # points per drawn line (min/max decimation keeps the spikes)
_MAX_COLUMNS = 120  # heat-map / histogram columns


# ---------------------------------------------------------------------------------------------- public API
def render_html(diagnosis: Diagnosis, standalone: bool = True) -> str:
    """Render ``diagnosis`` as HTML: a whole page, or (``standalone=False``) a fragment with scoped styles."""
    body = _Report(diagnosis).render()
    if not standalone:
        return f'<div class="tmr-root"><style>{_SCOPED_CSS}</style>{body}</div>'
    d = diagnosis
    title = f"trainmedic: {d.status}" + (f" - {', '.join(d.cause_ids()[:3])}" if d.causes else "")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">"
            f"<title>{_e(title)}</title><style>{_PAGE_CSS}{_SCOPED_CSS}</style></head>"
            f"<body><div class=\"tmr-root\">{body}</div></body></html>\n")


def write_html(diagnosis: Diagnosis, path: str | Path) -> Path:
    """Write the standalone HTML report to ``path`` (parent folders created); return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_html(diagnosis, standalone=True), encoding="utf-8")
    return p


# ---------------------------------------------------------------------------------------------- helpers
def _e(text: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(text), quote=True)


def _val(v: Any) -> str:
    """A value as escaped text: numbers rounded, None as a dash."""
    if v is None:
        return '<span class="tmr-muted">&mdash;</span>'
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        return _e(", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()))
    return _e(_fmt(v))


def _g(v: Any) -> str:
    """A number for a headline tile: 3 significant digits."""
    x = _num(v)
    if x is None:
        return '<span class="tmr-muted">&mdash;</span>' if v is None else _e(_fmt(v))
    return _e(f"{x:.3g}")


def _num(v: Any) -> float | None:
    """``v`` as a finite float, else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        try:
            v = float(v)  # numpy scalars, 'nan' strings from a loaded recording
        except (TypeError, ValueError):
            return None
    v = float(v)
    return v if math.isfinite(v) else None


def _curve(v: Any) -> list | None:
    """A non-empty list of values (a list, tuple or numpy array), else None."""
    if hasattr(v, "tolist") and not isinstance(v, (int, float)):
        v = v.tolist()
    return list(v) if isinstance(v, (list, tuple)) and len(v) else None


def _anchor(cause_id: str) -> str:
    return "tmr-cause-" + re.sub(r"[^a-zA-Z0-9_-]", "-", cause_id)


def _tick(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        m, ex = f"{v:.0e}".split("e")
        return f"{m}e{int(ex)}"
    return f"{v:.6g}"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _color(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def _dash(i: int) -> str | None:
    return _DASHES[(i // len(_PALETTE)) % len(_DASHES)]


def _ema(ys: Sequence[float | None], weight: float) -> list[float | None]:
    out: list[float | None] = []
    acc = None
    for y in ys:
        if y is None:
            out.append(None)
            acc = None
            continue
        acc = y if acc is None else weight * acc + (1 - weight) * y
        out.append(acc)
    return out


def _decimate(xs: Sequence[float], ys: Sequence[float | None], n: int = _MAX_POINTS):
    """At most about ``n`` points, keeping each bucket's min and max (spikes stay visible), gaps kept."""
    if len(xs) <= n:
        return list(xs), list(ys)
    size = math.ceil(len(xs) / (n / 2))
    ox, oy = [], []
    for start in range(0, len(xs), size):
        idx = range(start, min(start + size, len(xs)))
        good = [i for i in idx if ys[i] is not None]
        if len(good) < len(idx):  # keep the gap
            ox.append(xs[idx[0]])
            oy.append(None)
        if good:
            lo = min(good, key=lambda i: ys[i])
            hi = max(good, key=lambda i: ys[i])
            for i in sorted({lo, hi}):
                ox.append(xs[i])
                oy.append(ys[i])
    return ox, oy


# ---------------------------------------------------------------------------------------------- SVG charts
class _Scale:
    """Maps a data domain to pixels, linear or log10, with readable ticks."""

    def __init__(self, values: Iterable[float], p0: float, p1: float, log: bool = False,
                 fixed: tuple[float, float] | None = None, pad: float = 0.04, snap: bool = True):
        self.log, self.p0, self.p1 = log, p0, p1
        vals = [v for v in values if v is not None and math.isfinite(v) and (v > 0 or not log)]
        if fixed is not None:
            lo, hi = fixed
        elif not vals:
            lo, hi = (1.0, 10.0) if log else (0.0, 1.0)
        else:
            lo, hi = min(vals), max(vals)
        if log:
            e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
            if e1 <= e0:
                e1 = e0 + 1
            self.lo, self.hi = 10.0 ** e0, 10.0 ** e1
            span = e1 - e0
            step = 1 if span <= 6 else math.ceil(span / 6)
            self.ticks = [10.0 ** e for e in range(e0, e1 + 1, step)]
            if span <= 2:
                self.ticks = sorted(self.ticks + [m * 10.0 ** e for e in range(e0, e1) for m in (2, 5)])
        else:
            if fixed is None:
                if hi == lo:
                    d = abs(lo) * 0.1 or 1.0
                    lo, hi = lo - d, hi + d
                if lo > 0 and lo < 0.35 * hi:  # start positive quantities at 0 when it costs little
                    lo = 0.0
                lo, hi = lo - (hi - lo) * pad * (lo != 0), hi + (hi - lo) * pad
            step = _nice((hi - lo) / 5)
            if fixed is None and snap:  # widen the domain to whole ticks (not for step axes)
                lo, hi = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
            self.lo, self.hi = lo, hi
            first = math.ceil(lo / step - 1e-9)
            self.ticks = [round(k * step, 12) for k in range(first, int(math.floor(hi / step + 1e-9)) + 1)]

    def __call__(self, v: float) -> float:
        if self.log:
            v = math.log10(max(v, self.lo * 1e-3))
            lo, hi = math.log10(self.lo), math.log10(self.hi)
        else:
            lo, hi = self.lo, self.hi
        t = (v - lo) / (hi - lo) if hi != lo else 0.5
        t = min(max(t, -0.02), 1.02)  # out-of-range values are drawn at the edge
        return self.p0 + t * (self.p1 - self.p0)


def _wants_log(values: Iterable[Any]) -> bool:
    """Log scale for positive values spanning more than two orders of magnitude."""
    vals = [v for v in (_num(x) for x in values) if v is not None]
    return bool(vals) and min(vals) > 0 and max(vals) / min(vals) > 100


def _nice(x: float) -> float:
    if x <= 0 or not math.isfinite(x):
        return 1.0
    e = math.floor(math.log10(x))
    f = x / 10 ** e
    return (1 if f <= 1 else 2 if f <= 2 else 2.5 if f <= 2.5 else 5 if f <= 5 else 10) * 10 ** e


def _svg_open(width: int, height: int, label: str) -> str:
    return (f'<svg class="tmr-svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{_e(label)}" preserveAspectRatio="xMidYMid meet">')


class _Line:
    def __init__(self, xs, ys, label, color, width, dash, opacity, markers, legend):
        self.xs, self.ys = list(xs), [_num(y) for y in ys]
        self.label, self.color, self.width, self.dash = label, color, width, dash
        self.opacity, self.markers, self.legend = opacity, markers, legend


class _Chart:
    """A line chart: series, horizontal baselines, vertical event markers; the legend is HTML."""

    W, H = 560, 260
    L, R, T, B = 60, 16, 14, 40

    def __init__(self, *, x_label: str = "step", y_label: str = "", x_log: bool = False, y_log: bool = False,
                 y_fixed: tuple[float, float] | None = None, y_max: float | None = None, height: int = 260,
                 width: int = 560):
        self.x_label, self.y_label = x_label, y_label
        self.W = width
        self.x_log, self.y_log, self.y_fixed, self.y_max = x_log, y_log, y_fixed, y_max
        self.H = height
        self.lines: list[_Line] = []
        self.hlines: list[tuple[float, str, str, str]] = []
        self.vlines: list[tuple[float, str, str]] = []
        self.notes: list[str] = []

    def line(self, xs, ys, label: str = "", color: str = _PALETTE[0], width: float = 1.8,
             dash: str | None = None, opacity: float = 1.0, markers: bool | None = None,
             legend: bool = True) -> None:
        self.lines.append(_Line(xs, ys, label, color, width, dash, opacity, markers, legend))

    def hline(self, y: float | None, label: str, color: str = "#334155", dash: str = "2 3") -> None:
        if _num(y) is not None:
            self.hlines.append((float(y), label, color, dash))

    def vline(self, x: float, label: str, color: str = "#b91c1c") -> None:
        if _num(x) is not None:
            self.vlines.append((float(x), label, color))

    @property
    def empty(self) -> bool:
        return not any(any(y is not None for y in ln.ys) for ln in self.lines)

    def svg(self, label: str) -> str:
        W, H, L, R, T, B = self.W, self.H, self.L, self.R, self.T, self.B
        xs = [x for ln in self.lines for x, y in zip(ln.xs, ln.ys) if y is not None]
        xs += [v[0] for v in self.vlines]
        ys = [y for ln in self.lines for y in ln.ys if y is not None]
        ys += [h[0] for h in self.hlines]
        if self.y_max is not None:
            ys = [min(y, self.y_max) for y in ys]
        sx = _Scale(xs, L, W - R, log=self.x_log, pad=0.0, snap=False)
        sy = _Scale(ys, H - B, T, log=self.y_log, fixed=self.y_fixed)
        out = [_svg_open(W, H, label), _frame(sx, sy, W, H, L, R, T, B, self.x_label, self.y_label)]
        for y, text, color, dash in self.hlines:
            py = sy(y)
            out.append(f'<line x1="{L}" x2="{W - R}" y1="{py:.1f}" y2="{py:.1f}" stroke="{color}" '
                       f'stroke-width="1.5" stroke-dasharray="{dash}"><title>{_e(text)}</title></line>')
        for x, text, color in self.vlines:
            px = sx(x)
            out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{T}" y2="{H - B}" stroke="{color}" '
                       f'stroke-width="1.2" stroke-dasharray="3 3"><title>{_e(text)}</title></line>')
            anchor = "end" if px > W * 0.7 else "start"
            dx = -4 if anchor == "end" else 4
            out.append(f'<text x="{px + dx:.1f}" y="{T + 10}" text-anchor="{anchor}" class="tmr-svg-base" '
                       f'fill="{color}">{_e(_short(text, 40))}</text>')
        for ln in self.lines:
            px, py = _decimate(ln.xs, ln.ys)
            d = _path(px, py, sx, sy, self.y_log, self.x_log)
            if not d:
                continue
            dash = f' stroke-dasharray="{ln.dash}"' if ln.dash else ""
            out.append(f'<path d="{d}" fill="none" stroke="{ln.color}" stroke-width="{ln.width}" '
                       f'stroke-opacity="{ln.opacity}" stroke-linejoin="round" stroke-linecap="round"{dash}>'
                       f'<title>{_e(ln.label)}</title></path>')
            n_finite = sum(y is not None for y in ln.ys)
            if ln.markers or (ln.markers is None and n_finite <= 40):
                for x, y in zip(ln.xs, ln.ys):
                    if y is None or (self.y_log and y <= 0) or (self.x_log and x <= 0):
                        continue
                    out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.6" fill="{ln.color}" '
                               f'fill-opacity="{ln.opacity}"><title>{_e(ln.label)}: step {_e(_tick(x))}, '
                               f'{_e(_fmt(y))}</title></circle>')
        out.append("</svg>")
        return "".join(out)

    def legend(self) -> list[tuple[str, str, str | None, float]]:
        """Legend entries: the series, then the baselines (dashed)."""
        return [(ln.label, ln.color, ln.dash, ln.opacity) for ln in self.lines if ln.legend and ln.label] + \
            [(text, color, dash, 1.0) for _, text, color, dash in self.hlines]


def _frame(sx: _Scale | None, sy: _Scale, W, H, L, R, T, B, x_label: str, y_label: str) -> str:
    """Plot area, grid lines, tick labels and axis labels (no x ticks when ``sx`` is None)."""
    out = [f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" class="tmr-svg-plot"/>']
    for t in sy.ticks:
        py = sy(t)
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{py:.1f}" y2="{py:.1f}" class="tmr-svg-grid"/>')
        out.append(f'<text x="{L - 6}" y="{py + 3.5:.1f}" text-anchor="end" class="tmr-svg-tick">'
                   f'{_e(_tick(t))}</text>')
    xt = sx.ticks if sx is not None else []
    if len(xt) > 8:
        xt = xt[:: math.ceil(len(xt) / 8)]
    for t in xt:
        px = sx(t)
        out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{T}" y2="{H - B}" class="tmr-svg-grid"/>')
        out.append(f'<text x="{px:.1f}" y="{H - B + 15}" text-anchor="middle" class="tmr-svg-tick">'
                   f'{_e(_tick(t))}</text>')
    out.append(f'<text x="{(L + W - R) / 2:.0f}" y="{H - 6}" text-anchor="middle" class="tmr-svg-label">'
               f'{_e(x_label)}</text>')
    if y_label:
        out.append(f'<text transform="translate(14 {(T + H - B) / 2:.0f}) rotate(-90)" text-anchor="middle" '
                   f'class="tmr-svg-label">{_e(y_label)}</text>')
    return "".join(out)


def _path(xs, ys, sx: _Scale, sy: _Scale, y_log: bool, x_log: bool) -> str:
    parts: list[str] = []
    pen_down = False
    for x, y in zip(xs, ys):
        if y is None or (y_log and y <= 0) or (x_log and x <= 0):
            pen_down = False
            continue
        parts.append(f'{"L" if pen_down else "M"}{sx(x):.1f} {sy(y):.1f}')
        pen_down = True
    return "".join(parts)


def _legend_html(items: Sequence[tuple[str, str, str | None, float]]) -> str:
    if not items:
        return ""
    out = ['<div class="tmr-legend">']
    for text, color, dash, opacity in items:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<span class="tmr-legend-item"><svg width="22" height="10" aria-hidden="true">'
                   f'<line x1="1" y1="5" x2="21" y2="5" stroke="{color}" stroke-width="2.4" '
                   f'stroke-opacity="{max(opacity, 0.5)}"{d}/></svg>{_e(text)}</span>')
    out.append("</div>")
    return "".join(out)


def _swatches(items: Sequence[tuple[str, str]]) -> str:
    return '<div class="tmr-legend">' + "".join(
        f'<span class="tmr-legend-item"><i class="tmr-swatch" style="background:{c}"></i>{_e(t)}</span>'
        for t, c in items) + "</div>"


def _figure(key: str, title: str, svg: str, subtitle: str = "", legend: str = "", notes: Iterable[str] = (),
            wide: bool = False) -> str:
    note = "".join(f'<p class="tmr-fig-note">{n}</p>' for n in notes if n)
    sub = f'<span class="tmr-fig-sub">{subtitle}</span>' if subtitle else ""
    cls = "tmr-fig tmr-wide" if wide else "tmr-fig"
    return (f'<figure class="{cls}" data-plot="{_e(key)}"><figcaption><b>{_e(title)}</b>{sub}</figcaption>'
            f'{svg}{legend}{note}</figure>')


def _chart_figure(key: str, title: str, chart: _Chart, subtitle: str = "", notes: Iterable[str] = (),
                  wide: bool = False) -> str:
    return _figure(key, title, chart.svg(title), subtitle, _legend_html(chart.legend()), notes, wide)


def _heat_color(t: float) -> str:
    """0 -> pale grey-blue, 0.5 -> amber, 1 -> deep red."""
    t = min(max(t, 0.0), 1.0)
    stops = ((0.0, (241, 245, 249)), (0.15, (254, 240, 199)), (0.5, (251, 146, 60)), (1.0, (153, 27, 27)))
    for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            return "#%02x%02x%02x" % tuple(round(a + (b - a) * f) for a, b in zip(c0, c1))
    return "#991b1b"


def _heatmap(rows: list[tuple[str, str, Series]], label: str) -> str:
    """Rows of (layer, what, series of fractions 0..1) over steps: one cell per probe step (binned)."""
    steps = sorted({s for _, _, ser in rows for s in ser.steps})
    if len(steps) > _MAX_COLUMNS:
        edges = [steps[round(i * (len(steps) - 1) / _MAX_COLUMNS)] for i in range(_MAX_COLUMNS + 1)]
    else:
        edges = steps + [steps[-1] + 1]
    ncol = len(edges) - 1 if len(steps) > _MAX_COLUMNS else len(steps)
    col_of = {s: i for i, s in enumerate(steps)}
    names = [f"{layer} \u00b7 {what}" for layer, what, _ in rows]
    L = min(max(60, 7 * max(len(_short(n, 30)) for n in names) + 12), 230)
    W, R, T = 1100, 60, 8
    cell_h = 24 if len(rows) <= 12 else 16
    H = T + cell_h * len(rows) + 34
    cw = (W - L - R) / max(ncol, 1)
    out = [_svg_open(W, H, label)]
    for r, ((layer, what, ser), name) in enumerate(zip(rows, names)):
        y = T + r * cell_h
        out.append(f'<text x="{L - 6}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end" class="tmr-svg-tick">'
                   f'<title>{_e(name)}</title>{_e(_short(name, 30))}</text>')
        cols: dict[int, list[float]] = {}
        for s, v in zip(ser.steps, ser.values):
            v = _num(v)
            if v is None:
                continue
            if len(steps) > _MAX_COLUMNS:
                c = min(max(bisect.bisect_right(edges, s) - 1, 0), ncol - 1)
            else:
                c = col_of[s]
            cols.setdefault(c, []).append(v)
        for c, vs in cols.items():
            v = sum(vs) / len(vs)
            step_text = _tick(edges[c]) if len(steps) <= _MAX_COLUMNS else f"{_tick(edges[c])}-{_tick(edges[c + 1])}"
            out.append(f'<rect x="{L + c * cw:.1f}" y="{y + 1}" width="{max(cw - 0.6, 0.8):.1f}" '
                       f'height="{cell_h - 2}" fill="{_heat_color(v)}"><title>{_e(name)}, step {step_text}: '
                       f'{v * 100:.0f}%</title></rect>')
    yb = T + cell_h * len(rows)
    for i in range(0, ncol, max(1, math.ceil(ncol / 8))):
        out.append(f'<text x="{L + (i + 0.5) * cw:.1f}" y="{yb + 14}" text-anchor="middle" '
                   f'class="tmr-svg-tick">{_e(_tick(edges[i]))}</text>')
    out.append(f'<text x="{(L + W - R) / 2:.0f}" y="{H - 4}" text-anchor="middle" class="tmr-svg-label">'
               f'step (probe)</text>')
    for i in range(11):  # colour key 0..100 %
        yk = T + (10 - i) * (min(cell_h * len(rows), 150) / 11)
        out.append(f'<rect x="{W - R + 12}" y="{yk:.1f}" width="12" '
                   f'height="{min(cell_h * len(rows), 150) / 11 + 0.5:.1f}" fill="{_heat_color(i / 10)}"/>')
    out.append(f'<text x="{W - R + 28}" y="{T + 8}" class="tmr-svg-tick">100%</text>')
    out.append(f'<text x="{W - R + 28}" y="{T + min(cell_h * len(rows), 150)}" class="tmr-svg-tick">0%</text>')
    out.append("</svg>")
    return "".join(out)


def _stacked(columns: list[tuple[str, list[float]]], reference: list[float] | None, label: str) -> tuple[str, int]:
    """Stacked class-fraction columns (one per probe step) and an optional reference column (the labels)."""
    n_classes = max((len(v) for _, v in columns), default=0)
    if reference:
        n_classes = max(n_classes, len(reference))
    W, H, L, R, T, B = 1100, 230, 44, 16, 10, 38
    gap = 40 if reference else 0
    ncol = len(columns)
    cw = (W - L - R - gap - (36 if reference else 0)) / max(ncol, 1)
    sy = _Scale([], H - B, T, fixed=(0.0, 1.0))
    out = [_svg_open(W, H, label), _frame(None, sy, W, H, L, R, T, B, "", "")]

    def column(x: float, w: float, fracs: list[float], title: str) -> None:
        total = sum(f for f in fracs if f is not None and f > 0) or 1.0
        acc = 0.0
        for k, f in enumerate(fracs):
            f = _num(f)
            if not f or f <= 0:
                continue
            y0, y1 = sy(acc / total), sy((acc + f) / total)
            out.append(f'<rect x="{x:.1f}" y="{y1:.1f}" width="{w:.1f}" height="{max(y0 - y1, 0.3):.1f}" '
                       f'fill="{_color(k)}"><title>{_e(title)}: class {k} {f / total * 100:.0f}%</title></rect>')
            acc += f

    for i, (step, fr) in enumerate(columns):
        column(L + i * cw + 0.5, max(cw - 1.0, 0.8), fr, f"step {step}")
    for i in range(0, ncol, max(1, math.ceil(ncol / 10))):
        out.append(f'<text x="{L + (i + 0.5) * cw:.1f}" y="{H - B + 15}" text-anchor="middle" '
                   f'class="tmr-svg-tick">{_e(columns[i][0])}</text>')
    out.append(f'<text x="{L + ncol * cw / 2:.0f}" y="{H - 6}" text-anchor="middle" class="tmr-svg-label">'
               f'step (probe)</text>')
    if reference:
        x = W - R - 36
        column(x, 36, reference, "labels in the data")
        out.append(f'<text x="{x + 18}" y="{H - B + 15}" text-anchor="middle" class="tmr-svg-tick">labels</text>')
    out.append("</svg>")
    return "".join(out), n_classes


def _hbars(items: list[tuple[str, float | None, str]], label: str, *, log: bool = False,
           fixed: tuple[float, float] | None = None, color: str = _PALETTE[0]) -> str:
    """Horizontal bars, one per named item, with a value label at the bar's end."""
    W, T, row = 560, 6, 24
    R = min(max(60, 6.3 * max((len(t) for _, _, t in items), default=4) + 12), 220)
    L = min(max(60, 7 * max((len(_short(n, 28)) for n, _, _ in items), default=4) + 14), 220)
    H = T + row * len(items) + 24
    vals = [v for _, v, _ in items if v is not None]
    if log:
        sx = _Scale([v for v in vals if v > 0] or [1.0], L, W - R, log=True)
    else:
        top = max(vals, default=0.0)
        sx = _Scale([0.0, top], L, W - R, fixed=fixed or (None if top > 0 else (0.0, 1.0)))
    out = [_svg_open(W, H, label)]
    for t in sx.ticks if len(sx.ticks) <= 9 else sx.ticks[::2]:
        px = sx(t)
        out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{T}" y2="{H - 20}" class="tmr-svg-grid"/>')
        out.append(f'<text x="{px:.1f}" y="{H - 6}" text-anchor="middle" class="tmr-svg-tick">'
                   f'{_e(_tick(t))}</text>')
    for i, (name, v, text) in enumerate(items):
        y = T + i * row
        out.append(f'<text x="{L - 6}" y="{y + row / 2 + 4:.1f}" text-anchor="end" class="tmr-svg-tick">'
                   f'<title>{_e(name)}</title>{_e(_short(name, 28))}</text>')
        x0 = L
        x1 = sx(v) if v is not None and (v > 0 or not log) else L
        out.append(f'<rect x="{x0}" y="{y + 4}" width="{max(x1 - x0, 1.5):.1f}" height="{row - 8}" rx="2" '
                   f'fill="{color if v else "#cbd5e1"}"><title>{_e(name)}: {_e(text)}</title></rect>')
        out.append(f'<text x="{max(x1, x0) + 6:.1f}" y="{y + row / 2 + 4:.1f}" class="tmr-svg-val">'
                   f'{_e(text)}</text>')
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------------------------------------- the report
class _Report:
    def __init__(self, d: Diagnosis):
        self.d = d
        self.rec: Recording = d.recording
        self.facts: SetupFacts = self.rec.facts or SetupFacts()

    # -- small facts used by several plots ---------------------------------------------------------------
    def n_classes(self) -> int | None:
        t = self._target()
        if t is not None and t.n_classes and t.kind in ("binary", "multiclass-int", "multiclass-onehot"):
            return int(t.n_classes)
        return None

    def _target(self):
        data = self.facts.data
        return data.targets[0] if data and data.targets else None

    def majority_rate(self) -> float | None:
        t = self._target()
        if t is None or not t.class_counts or t.kind == "multilabel":
            return None
        total = sum(c for c in t.class_counts if c)
        return max(t.class_counts) / total if total else None

    def label_fractions(self) -> list[float] | None:
        t = self._target()
        if t is None or not t.class_counts or t.kind == "multilabel":
            return None
        total = sum(t.class_counts) or 1
        return [c / total for c in t.class_counts]

    def expected_loss(self) -> tuple[float | None, str]:
        init = self.rec.experiments.get("initial") or {}
        return _num(init.get("expected_loss")), str(init.get("expected_how") or "")

    def layer_order(self, names: Iterable[str]) -> list[str]:
        order = {l.name: i for i, l in enumerate(self.facts.model.layers)} if self.facts.model else {}
        return sorted(names, key=lambda n: (order.get(n, len(order)), n))

    # -- page ----------------------------------------------------------------------------------------------
    def render(self) -> str:
        parts = [self.header(), self.causes()]
        for section in (self.signals(), self.experiments(), self.setup(), self.observations()):
            if section:
                parts.append(section)
        parts.append(self.footer())
        return '<div class="tmr">' + "".join(parts) + "</div>"

    def header(self) -> str:
        d = self.d
        if d.status == "healthy":
            word, text = "Healthy", "No root cause found: the set-up looks able to learn."
        elif d.status == "error":
            word, text = "Error", d.error or "The diagnosis could not be completed."
        else:
            n = len(d.causes)
            word = "Unhealthy"
            text = f"{n} likely root cause{'s' if n != 1 else ''} why this network does not learn, most likely first."
        toc = ""
        if d.causes:
            toc = '<ol class="tmr-toc">' + "".join(
                f'<li><a href="#{_anchor(c.id)}"><span class="tmr-toc-n">{i}</span><code>{_e(c.id)}</code>'
                f'<span class="tmr-toc-score">{c.score:.2f}</span></a></li>'
                for i, c in enumerate(d.causes, 1)) + "</ol>"
        meta = []
        m = self.facts.model
        if m is not None:
            fw = m.framework + (f" ({m.backend})" if m.backend else "")
            meta.append(f"<b>{_e(m.name or 'model')}</b> &middot; {_e(fw)} &middot; {m.n_params:,} parameters")
        data = self.facts.data
        if data is not None and (data.n_samples or data.sample_size):
            meta.append(f"{(data.n_samples or data.sample_size):,} training samples")
        run = self.rec.run or {}
        if run.get("steps"):
            meta.append(f"{run['steps']:,} steps" + (f", {run['epochs']} epochs" if run.get("epochs") else ""))
        elif not self.rec.signals:
            meta.append("pre-flight (before training)")
        if self.rec.diagnosed_at_s is not None:
            meta.append(f"diagnosed after {self.rec.diagnosed_at_s:.1f} s")
        return (f'<header class="tmr-head tmr-{_e(d.status)}"><div class="tmr-brand">trainmedic diagnosis</div>'
                f'<div class="tmr-verdict"><span class="tmr-status">{word}</span><p>{_e(text)}</p></div>'
                f'{toc}<p class="tmr-meta">{" &middot; ".join(meta)}</p></header>')

    # -- causes ----------------------------------------------------------------------------------------------
    def causes(self) -> str:
        if not self.d.causes:
            if self.d.status == "healthy":
                return ('<section class="tmr-section"><div class="tmr-card tmr-ok"><b>Nothing found that stops '
                        'this network from learning.</b> No finding reached the reporting threshold; the experiments '
                        'and plots below show what was measured.</div></section>')
            return ""
        cards = "".join(self.cause(i, c) for i, c in enumerate(self.d.causes, 1))
        return f'<section class="tmr-section"><h2>Root causes</h2>{cards}</section>'

    def cause(self, rank: int, c: CauseReport) -> str:
        fix = c.fix
        badge = {True: ('tmr-badge tmr-b-ok', 'fix verified'),
                 False: ('tmr-badge tmr-b-warn', 'not verified: the trial did not help'),
                 None: ('tmr-badge tmr-b-none', 'fix not tried')}[fix.verified]
        head = (f'<div class="tmr-cause-head"><span class="tmr-rank">{rank}</span>'
                f'<div class="tmr-cause-title"><h3>{_e(c.title)}</h3><code class="tmr-id">{_e(c.id)}</code>'
                f'<span class="{badge[0]}">{badge[1]}</span></div>'
                f'<div class="tmr-score" title="score {c.score:.3f}"><div class="tmr-meter">'
                f'<span style="width:{max(0.0, min(c.score, 1.0)) * 100:.0f}%"></span></div>'
                f'<small>score {c.score:.2f}</small></div></div>')
        body = [head]
        msgs = [f for f in self.d.findings if f.code in c.findings]
        if msgs:
            body.append('<ul class="tmr-msgs">' + "".join(
                f'<li>{_e(f.message)} <span class="tmr-rule">{_e(f.code)} {_e(f.name)}</span></li>'
                for f in msgs[:4]) + "</ul>")
        if c.evidence:
            rows = "".join(f"<tr><td>{_e(e.what)}</td><td class=\"tmr-num\">{_val(e.observed)}</td>"
                           f"<td class=\"tmr-num tmr-exp\">{_val(e.expected)}</td></tr>" for e in c.evidence[:8])
            body.append('<table class="tmr-table tmr-evidence"><thead><tr><th>evidence</th><th>observed</th>'
                        f'<th>expected</th></tr></thead><tbody>{rows}</tbody></table>')
        for loc in c.locations[:4]:
            body.append(_location(loc))
        body.append(self.fix(c))
        why = c.why or (CAUSES[c.id].why if c.id in CAUSES else "")
        if why:
            body.append(f'<details class="tmr-why"><summary>Why this stops training</summary><p>{_e(why)}</p>'
                        '</details>')
        return f'<article class="tmr-card tmr-cause" id="{_anchor(c.id)}">{"".join(body)}</article>'

    def fix(self, c: CauseReport) -> str:
        fix = c.fix
        out = ['<div class="tmr-fix"><div class="tmr-fix-label">Fix</div>']
        if fix.diff:
            out.append(f'<p>{_e(fix.summary)}</p>' if fix.summary else "")
            out.append(_diff(fix.diff))
        else:
            out.append(f'<p class="tmr-fix-summary">{_e(fix.summary)}</p>')
        if fix.trial is not None:
            out.append(_trial(fix.trial))
        out.append("</div>")
        return "".join(out)

    # -- training signals ------------------------------------------------------------------------------------
    def signals(self) -> str:
        sig = self.rec.signals
        if not any(len(s) for s in sig.values()):
            return ""
        half = [self.loss_plot(), self.metrics_plot(),
                self.per_layer_plot("grad_norm", "Gradient norm per layer", "L2 norm on the probe batch, log scale"),
                self.per_layer_plot("update_ratio", "Update size per layer", "|\u0394W| / |W| per step, log scale")]
        half = [f for f in half if f]
        figs = half + [self.lr_plot(wide=len(half) % 2 == 0), self.activity_plot(), self.prediction_plot()]
        figs = [f for f in figs if f]
        if not figs:
            return ""
        return ('<section class="tmr-section"><h2>Training signals</h2>'
                f'<div class="tmr-grid">{"".join(figs)}</div></section>')

    def _series(self, name: str) -> Series | None:
        s = self.rec.signals.get(name)
        return s if s is not None and len(s) else None

    def loss_plot(self) -> str:
        names = [n for n in ("loss", "epoch_loss", "val_loss") if self._series(n)]
        trial_curves = [(t, side) for t in self.rec.trials for side in ("before", "after")
                        if _curve(getattr(t, side).get("loss"))]
        if not names:
            return ""
        log = _wants_log([v for n in names for v in self.rec.signals[n].values])
        ch = _Chart(y_label="loss", y_log=log)
        raw = self._series("loss")
        if raw is not None:
            if len(raw) > 50:
                ch.line(raw.steps, raw.values, "batch loss", _PALETTE[0], width=1.0, opacity=0.28, markers=False)
                ch.line(raw.steps, _ema([_num(v) for v in raw.values], 0.9), "batch loss (smoothed)", _PALETTE[0],
                        width=2.0)
            else:
                ch.line(raw.steps, raw.values, "batch loss", _PALETTE[0])
        if self._series("epoch_loss"):
            s = self.rec.signals["epoch_loss"]
            ch.line(s.steps, s.values, "epoch loss", "#1e3a8a", width=2.0, markers=True)
        if self._series("val_loss"):
            s = self.rec.signals["val_loss"]
            ch.line(s.steps, s.values, "validation loss", _PALETTE[3], width=2.0, markers=True)
        exp, how = self.expected_loss()
        if exp is not None:
            ch.hline(exp, f"expected at init: {how.split(' (')[0] or _fmt(exp)} = {_fmt(exp)}")
        for i, (t, side) in enumerate(trial_curves):
            curve = _curve(getattr(t, side)["loss"])
            steps = _curve(getattr(t, side).get("steps")) or list(range(len(curve)))
            color = "#16a34a" if side == "after" else "#94a3b8"
            ch.line(steps, curve, f"trial {t.cause}: {'with the fix' if side == 'after' else 'as is'}", color,
                    width=1.8, dash="6 3", markers=False)
        self._events(ch)
        notes = []
        if trial_curves:
            notes.append("Dashed: fix trials on a copy of the model, from its initial weights (steps of the trial).")
        return _chart_figure("loss", "Loss", ch, "per step" + (", log scale" if log else ""), notes)

    def _events(self, ch: _Chart) -> None:
        seen = set()
        for ev in self.rec.events:
            kind, step = ev.get("kind"), _num(ev.get("step"))
            if step is None or (kind, ev.get("where")) in seen:
                continue
            seen.add((kind, ev.get("where")))
            if kind == "nonfinite":
                ch.vline(step, f"non-finite {ev.get('where', '')} at step {int(step)}")
            elif kind == "stopped":
                ch.vline(step, f"stopped: {ev.get('reason', '')}", _MUTED)

    def metrics_plot(self) -> str:
        skip = {"loss", "epoch_loss", "val_loss", "lr"}
        names = [n for n, s in self.rec.signals.items()
                 if "/" not in n and n not in skip and len(s) and not any(_curve(v) for v in s.values)]
        if not names:
            return ""
        accuracy_like = any("acc" in n for n in names)
        vals = [_num(v) for n in names for v in self.rec.signals[n].values]
        unit = all(v is None or 0.0 <= v <= 1.0 for v in vals)
        ch = _Chart(y_label="metric", y_fixed=(0.0, 1.0) if unit and accuracy_like else None)
        for i, n in enumerate(sorted(names, key=lambda n: (n.startswith("val_"), n))):
            s = self.rec.signals[n]
            color = _color(i + (2 if n.startswith("val_") else 0))
            ch.line(s.steps, s.values, n, color, width=2.0, dash="6 3" if n.startswith("val_") else None)
        if accuracy_like:
            c, maj = self.n_classes(), self.majority_rate()
            if c and maj is not None and abs(maj - 1 / c) < 0.01:
                ch.hline(1 / c, f"chance 1/C = majority rate = {1 / c:.2f}")
            else:
                if c:
                    ch.hline(1 / c, f"chance 1/C = {1 / c:.2f}")
                if maj is not None:
                    ch.hline(maj, f"majority-class rate = {maj:.2f}", "#b45309")
        trial_curves = [(t, side) for t in self.rec.trials for side in ("before", "after")
                        if _curve(getattr(t, side).get("metric"))]
        for t, side in trial_curves:
            curve = _curve(getattr(t, side)["metric"])
            ch.line(_curve(getattr(t, side).get("steps")) or list(range(len(curve))), curve,
                    f"trial {t.cause}: {'with the fix' if side == 'after' else 'as is'}",
                    "#16a34a" if side == "after" else "#94a3b8", width=1.8, dash="6 3", markers=False)
        self._events(ch)
        return _chart_figure("metrics", "Metrics", ch, "per epoch, with the trivial baselines")

    def per_layer_plot(self, prefix: str, title: str, subtitle: str) -> str:
        layers = self.layer_order(n.split("/", 1)[1] for n, s in self.rec.signals.items()
                                  if n.startswith(prefix + "/") and len(s))
        if not layers:
            return ""
        ch = _Chart(y_label=prefix.replace("_", " "), y_log=True)
        zeros = 0
        for i, layer in enumerate(layers):
            s = self.rec.signals[f"{prefix}/{layer}"]
            zeros += sum(1 for v in s.values if _num(v) is not None and _num(v) <= 0)
            ch.line(s.steps, s.values, layer, _color(i), width=1.8, dash=_dash(i))
        self._events(ch)
        notes = [f"{zeros} zero value{'s' if zeros != 1 else ''} cannot be drawn on a log scale (gaps)."] if zeros \
            else []
        return _chart_figure(prefix, title, ch, subtitle, notes)

    def lr_plot(self, wide: bool = False) -> str:
        s = self._series("lr")
        if s is None or len({_num(v) for v in s.values}) < 2:
            return ""
        ch = _Chart(y_label="learning rate", y_log=True, width=1100 if wide else 560, height=190 if wide else 260)
        ch.line(s.steps, s.values, "learning rate", _PALETTE[4], markers=False)
        self._events(ch)
        return _chart_figure("lr", "Learning-rate schedule", ch, "log scale", wide=wide)

    def activity_plot(self) -> str:
        rows = []
        for prefix, what in (("dead_fraction", "dead"), ("saturation", "saturated")):
            layers = self.layer_order(n.split("/", 1)[1] for n, s in self.rec.signals.items()
                                      if n.startswith(prefix + "/") and len(s))
            rows += [(layer, what, self.rec.signals[f"{prefix}/{layer}"]) for layer in layers]
        if not rows:
            return ""
        return _figure("activity", "Dead and saturated units", _heatmap(rows, "dead and saturated units"),
                       "fraction of units per layer over time: dead ReLUs, saturated sigmoid/tanh", wide=True)

    def prediction_plot(self) -> str:
        s = self._series("pred/histogram")
        if s is None:
            return ""
        cols = [(str(step), [(_num(v) or 0.0) for v in _curve(h)]) for step, h in zip(s.steps, s.values)
                if _curve(h)]
        if not cols:
            return ""
        if len(cols) > _MAX_COLUMNS:
            idx = sorted({round(i * (len(cols) - 1) / (_MAX_COLUMNS - 1)) for i in range(_MAX_COLUMNS)})
            cols = [cols[i] for i in idx]
        ref = self.label_fractions()
        svg, n = _stacked(cols, ref, "predicted classes over time")
        legend = _swatches([(f"class {k}", _color(k)) for k in range(min(n, 20))])
        return _figure("predictions", "Predicted classes over time", svg,
                       "share of probe-batch predictions per class" + (", next to the labels' shares" if ref else ""),
                       legend, wide=True)

    # -- experiments ---------------------------------------------------------------------------------------
    def experiments(self) -> str:
        ex = self.rec.experiments
        known = {"initial", "gradient_flow", "activations", "overfit_tiny_batch", "lr_range", "_meta"}
        parts = [self.initial_tiles()]
        figs = [self.gradient_flow(), self.activations(), self.overfit(), self.initial_predictions()]
        figs = [f for f in figs if f]
        figs.append(self.lr_range(wide=len(figs) % 2 == 0))
        figs = [f for f in figs if f]
        if figs:
            parts.append(f'<div class="tmr-grid">{"".join(figs)}</div>')
        other = {k: v for k, v in ex.items() if k not in known and isinstance(v, dict)}
        if other:
            parts.append(_other_experiments(other))
        parts = [p for p in parts if p]
        if not parts:
            return ""
        took = _num((ex.get("_meta") or {}).get("preflight_s"))
        sub = f'<span class="tmr-h2-sub">on a copy of the model, {took:.1f} s</span>' if took is not None else \
            '<span class="tmr-h2-sub">on a copy of the model</span>'
        return f'<section class="tmr-section"><h2>Pre-flight experiments {sub}</h2>{"".join(parts)}</section>'

    def initial_tiles(self) -> str:
        init = self.rec.experiments.get("initial")
        if not init:
            return ""
        tiles = []
        loss, (exp, how) = _num(init.get("loss")), self.expected_loss()
        if loss is not None or exp is not None:
            sub = f"expected {_g(exp)}" + (f" &middot; {_e(how)}" if how else "") if exp is not None else \
                "no expected value for this loss"
            tiles.append(_tile("initial loss", _g(loss), sub))
        acc, chance = _num(init.get("accuracy")), _num(init.get("chance_accuracy"))
        if acc is not None:
            tiles.append(_tile("initial accuracy", _g(acc),
                               f"majority-class rate {_g(chance)}" if chance is not None else ""))
        lo, hi = _num(init.get("output_min")), _num(init.get("output_max"))
        if lo is not None and hi is not None:
            tiles.append(_tile("output range", f"{_g(lo)} &hellip; {_g(hi)}",
                               "finite" if init.get("finite", True) else "<b>non-finite values</b>"))
        spread = _num(init.get("pred_input_spread"))
        if spread is not None:
            tiles.append(_tile("output spread across inputs", _g(spread),
                               "0 means the same output for every input"))
        of = self.rec.experiments.get("overfit_tiny_batch") or {}
        a0, a1 = _num(of.get("accuracy_before")), _num(of.get("accuracy_after"))
        if a1 is not None:
            tiles.append(_tile("tiny-batch accuracy", f"{_g(a0)} &rarr; {_g(a1)}",
                               f"after {of.get('steps', '?')} steps on {of.get('samples', '?')} samples"))
        return f'<div class="tmr-tiles">{"".join(tiles)}</div>' if tiles else ""

    def gradient_flow(self) -> str:
        g = self.rec.experiments.get("gradient_flow") or {}
        norms = g.get("grad_norm") or {}
        if not norms:
            return ""
        layers = list(g.get("layers") or norms)
        ratio = g.get("grad_to_weight") or {}
        vals = [_num(norms.get(n)) for n in layers]
        pos = [v for v in vals if v and v > 0]
        log = bool(pos) and max(pos) / min(pos) > 100
        items = []
        for n, v in zip(layers, vals):
            r = _num(ratio.get(n))
            items.append((n, v, (_fmt(v) if v is not None else "non-finite") + (f"  (g/w {_fmt(r)})" if r else "")))
        notes = []
        if g.get("all_zero"):
            notes.append("<b>Every gradient is exactly zero.</b>")
        if g.get("finite") is False:
            notes.append("<b>Non-finite gradients or loss.</b>")
        return _figure("gradient_flow", "Gradient norm per layer at init",
                       _hbars(items, "gradient norm per layer", log=log),
                       "L2 norm on the probe batch" + (", log scale" if log else "") + "; g/w = gradient / weight norm",
                       notes=notes)

    def activations(self) -> str:
        a = self.rec.experiments.get("activations")
        if not a:
            return ""
        dead, sat = a.get("dead_fraction") or {}, a.get("saturation") or {}
        items = [(n, _num(v), f"{(_num(v) or 0) * 100:.0f}% dead") for n, v in dead.items()]
        items += [(n, _num(v), f"{(_num(v) or 0) * 100:.0f}% saturated") for n, v in sat.items()]
        if not items:
            return _figure("activations", "Dead and saturated units at init", "",
                           notes=["No hidden ReLU or sigmoid/tanh layer to measure."])
        order = {n: i for i, n in enumerate(a.get("order") or [])}
        items.sort(key=lambda it: order.get(it[0], len(order)))
        return _figure("activations", "Dead and saturated units at init",
                       _hbars(items, "dead and saturated units", fixed=(0.0, 1.0), color="#ea580c"),
                       "fraction of units of each hidden layer on the probe batch")

    def overfit(self) -> str:
        of = self.rec.experiments.get("overfit_tiny_batch") or {}
        losses = _curve(of.get("losses")) or []
        if not losses:
            return ""
        steps = int(of.get("steps") or len(losses))
        stride = steps / len(losses)
        log = _wants_log(losses)
        ch = _Chart(y_label="loss", y_log=log)
        ch.line([i * stride for i in range(len(losses))], losses, "loss on the tiny batch", _PALETTE[0], width=2.0,
                markers=False)
        exp, how = self.expected_loss()
        if exp is not None:
            ch.hline(exp, f"expected at init: {how.split(' (')[0] or _fmt(exp)} = {_fmt(exp)}")
        nf = of.get("nonfinite_step")
        if nf is not None:
            ch.vline(nf, f"non-finite loss at step {nf}")
        first, last, ratio = _num(of.get("loss_first")), _num(of.get("loss_last")), _num(of.get("loss_ratio"))
        sub = f"{of.get('samples', '?')} samples, {steps} full-batch steps" + (", log scale" if log else "")
        note = f"loss {_g(first)} &rarr; {_g(last)}" + (f" (&times;{_g(ratio)})" if ratio is not None else "")
        a0, a1, ch0 = (_num(of.get(k)) for k in ("accuracy_before", "accuracy_after", "chance_accuracy"))
        if a1 is not None:
            note += f"; accuracy {_g(a0)} &rarr; {_g(a1)}" + (f" (majority-class rate {_g(ch0)})" if ch0 else "")
        return _chart_figure("overfit", "Can it overfit a tiny batch?", ch, _e(sub), [note])

    def initial_predictions(self) -> str:
        init = self.rec.experiments.get("initial") or {}
        hist = _curve(init.get("pred_histogram"))
        if not hist or len(hist) < 2:
            return ""
        ref = self.label_fractions()
        items = []
        for k, v in enumerate(hist):
            items.append((f"class {k}", _num(v), f"{(_num(v) or 0) * 100:.0f}%" +
                          (f" (labels {ref[k] * 100:.0f}%)" if ref and k < len(ref) else "")))
        return _figure("initial_predictions", "Predicted classes at init",
                       _hbars(items, "predicted classes at init", fixed=(0.0, 1.0), color=_PALETTE[4]),
                       "share of the probe batch predicted as each class, and of the labels")

    def lr_range(self, wide: bool = False) -> str:
        r = self.rec.experiments.get("lr_range") or {}
        lrs, losses = _curve(r.get("lrs")) or [], _curve(r.get("losses")) or []
        if not lrs or not losses:
            return ""
        n = min(len(lrs), len(losses))
        finite = [v for v in (_num(x) for x in losses[:n]) if v is not None]
        y_max = None
        if finite:
            first = finite[0]
            y_max = max(min(max(finite), 2.5 * first), min(finite) * 1.05) if first > 0 else None
        ch = _Chart(x_label="learning rate (log scale)", y_label="loss", x_log=True, y_max=y_max,
                    width=1100 if wide else 560, height=230 if wide else 260)
        ch.line(lrs[:n], losses[:n], "loss after a short run", _PALETTE[0], width=2.0, markers=n <= 60)
        sug = _num(r.get("suggestion"))
        if sug is not None:
            ch.vline(sug, f"suggested {_fmt(sug)}", "#16a34a")
        cur = _num(self.facts.optimizer.lr) if self.facts.optimizer else None
        if cur is not None:
            ch.vline(cur, f"yours {_fmt(cur)}", "#b91c1c")
        notes = ["Losses above the top of the chart (divergence) are drawn at its edge."] if finite and y_max and \
            max(finite) > y_max else []
        return _chart_figure("lr_range", "Learning-rate range test", ch, "loss against the learning rate", notes,
                             wide=wide)

    # -- set-up facts --------------------------------------------------------------------------------------------
    def setup(self) -> str:
        f = self.facts
        parts = []
        m = f.model
        if m is not None and m.layers:
            rows = []
            show_loc = any(l.location for l in m.layers)
            for i, l in enumerate(m.layers):
                tr = '<span class="tmr-yes">yes</span>' if l.trainable else '<span class="tmr-no">frozen</span>'
                extra = []
                if l.rate is not None:
                    extra.append(f"dropout {_fmt(l.rate)}")
                if l.regularization:
                    extra.append(f"L2 {_fmt(l.regularization)}")
                if l.init:
                    extra.append(f"init {l.init}")
                loc = f'<code>{_e(l.location)}</code>' if l.location else ""
                rows.append(f"<tr><td class=\"tmr-num\">{i}</td><td><code>{_e(l.name)}</code></td><td>{_e(l.kind)}</td>"
                            f"<td class=\"tmr-num\">{_val(l.units)}</td><td>{_val(l.activation)}</td><td>{tr}</td>"
                            f"<td class=\"tmr-num\">{l.n_params:,}</td><td>{_e(', '.join(extra))}</td>"
                            + (f"<td>{loc}</td>" if show_loc else "") + "</tr>")
            out_bits = [f"{m.output_units} units" if m.output_units else "", _e(m.output_activation or "")]
            out_text = ", ".join(b for b in out_bits if b)
            parts.append(f'<h3>Model{": " + _e(m.name) if m.name else ""} <small>{m.n_params:,} parameters, '
                         f'{m.n_trainable:,} trainable{"; output " + out_text if out_text else ""}</small></h3>'
                         '<div class="tmr-scroll"><table class="tmr-table tmr-layers"><thead><tr><th>#</th>'
                         '<th>layer</th><th>kind</th><th>units</th><th>activation</th><th>trainable</th>'
                         '<th>params</th><th>details</th>' + ("<th>defined at</th>" if show_loc else "") +
                         f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
        cards = []
        if f.loss is not None:
            cards.append(_kv("Loss", [("name", f.loss.name), ("written as", f.loss.given_as),
                                      ("from_logits", f.loss.from_logits), ("applies", f.loss.applies),
                                      ("at", f.loss.location)]))
        if f.optimizer is not None:
            o = f.optimizer
            cards.append(_kv("Optimizer", [("name", o.name), ("learning rate", o.lr), ("momentum", o.momentum),
                                           ("nesterov", o.nesterov), ("weight decay", o.weight_decay),
                                           ("clipnorm", o.clipnorm), ("at", o.location)]))
        if f.metrics:
            cards.append(_kv("Metrics", [(mf.given, f"{mf.resolved}") for mf in f.metrics]))
        if f.training is not None:
            t = f.training
            cards.append(_kv("Training", [("batch size", t.batch_size), ("epochs", t.epochs),
                                          ("steps per epoch", t.steps_per_epoch),
                                          ("planned updates", t.planned_updates),
                                          ("class weight", t.class_weight or None),
                                          ("sample weight", t.sample_weight or None),
                                          ("validation", t.validation), ("at", t.location)]))
        if cards:
            parts.append(f'<div class="tmr-kvs">{"".join(cards)}</div>')
        if f.data is not None:
            parts.append(self.data_facts())
        if not parts:
            return ""
        return f'<section class="tmr-section"><h2>Set-up</h2>{"".join(parts)}</section>'

    def data_facts(self) -> str:
        d = self.facts.data
        head = [("samples", d.n_samples), ("summarised", d.sample_size), ("source", d.source), ("at", d.location)]
        summary = " &middot; ".join(f"{_e(k)} {_val(v)}" for k, v in head if v is not None)
        out = [f"<h3>Data <small>{summary}</small></h3>"]
        if d.inputs:
            rows = "".join(
                f"<tr><td>input {i}</td><td><code>{_e(list(a.shape))}</code></td><td>{_e(a.dtype)}</td>"
                f"<td class=\"tmr-num\">{_val(a.min)}</td><td class=\"tmr-num\">{_val(a.max)}</td>"
                f"<td class=\"tmr-num\">{_val(a.mean)}</td><td class=\"tmr-num\">{_val(a.std)}</td>"
                f"<td class=\"tmr-num\">{_val(a.feature_std_min)} &hellip; {_val(a.feature_std_max)}</td>"
                f"<td>{'yes' if a.finite else '<b>no</b>'}</td></tr>" for i, a in enumerate(d.inputs))
            out.append('<div class="tmr-scroll"><table class="tmr-table"><thead><tr><th></th><th>shape</th>'
                       '<th>dtype</th><th>min</th><th>max</th><th>mean</th><th>std</th><th>feature std</th>'
                       f'<th>finite</th></tr></thead><tbody>{rows}</tbody></table></div>')
        cells = []
        for i, t in enumerate(d.targets):
            values = t.values if t.values is not None and len(t.values) <= 12 else None
            cells.append(_kv(f"Target {i}" if len(d.targets) > 1 else "Target", [
                ("kind", t.kind), ("shape", list(t.shape)), ("dtype", t.dtype), ("classes", t.n_classes),
                ("values", values), *([("min", t.min), ("max", t.max), ("mean", t.mean), ("std", t.std)]
                                      if t.kind in ("regression", "unknown") else []),
                ("finite", None if t.finite else False)]))
            if t.class_counts and len(t.class_counts) <= 40:
                total = sum(t.class_counts) or 1
                items = [(f"class {k}", c / total, f"{c:,} ({c / total * 100:.0f}%)")
                         for k, c in enumerate(t.class_counts)]
                cells.append(_figure(f"class_counts_{i}", "Class balance",
                                     _hbars(items, "class balance", fixed=(0.0, 1.0), color="#0891b2"),
                                     "labels per class in the summarised sample"))
        if cells:
            out.append(f'<div class="tmr-grid tmr-data-grid">{"".join(cells)}</div>')
        return "".join(out)

    # -- findings, notes, warnings -----------------------------------------------------------------------------
    def observations(self) -> str:
        d = self.d
        parts = []
        other = [f for f in d.findings if not any(f.code in c.findings for c in d.causes)]
        if other:
            parts.append('<h3>Other observations <small>below the reporting threshold</small></h3>'
                         + _findings_table(other))
        if d.notes:
            parts.append("<h3>Notes</h3>" + _findings_table(d.notes))
        if self.rec.warnings:
            parts.append('<div class="tmr-card tmr-warnbox"><b>trainmedic warnings</b> '
                         '<small>(its own problems, not yours)</small><ul>'
                         + "".join(f"<li>{_e(w)}</li>" for w in self.rec.warnings[:30]) + "</ul></div>")
        if not parts:
            return ""
        return f'<section class="tmr-section"><h2>Observations</h2>{"".join(parts)}</section>'

    def footer(self) -> str:
        run = self.rec.run or {}
        bits = []
        if run.get("framework"):
            bits.append(_e(run["framework"]) + (f" / {_e(run['backend'])}" if run.get("backend") else ""))
        versions = run.get("versions") or {}
        if isinstance(versions, dict) and versions:
            bits.append(", ".join(f"{_e(k)} {_e(v)}" for k, v in versions.items()))
        if self.d.total_s is not None:
            bits.append(f"total {self.d.total_s:.1f} s")
        try:
            from .. import __version__
        except ImportError:  # pragma: no cover - during partial imports
            __version__ = "?"
        bits.append(f"trainmedic {_e(__version__)}")
        return f'<footer class="tmr-foot">{" &middot; ".join(bits)}</footer>'


def _location(loc: Location) -> str:
    code = (f'<pre class="tmr-code"><span class="tmr-ln">{_e(loc.line)}</span>{_e(loc.code)}</pre>'
            if loc.code else "")
    return (f'<div class="tmr-loc"><div class="tmr-loc-path"><span>in your code</span> '
            f'<code>{_e(loc.file)}:{_e(loc.line)}</code></div>{code}</div>')


def _diff(diff: str) -> str:
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            cls = "tmr-d-file"
        elif line.startswith("+"):
            cls = "tmr-d-add"
        elif line.startswith("-"):
            cls = "tmr-d-del"
        elif line.startswith("@@"):
            cls = "tmr-d-hunk"
        else:
            cls = "tmr-d-ctx"
        lines.append(f'<span class="{cls}">{_e(line) or " "}</span>')
    return f'<pre class="tmr-diff">{"".join(lines)}</pre>'


def _trial(t: Trial) -> str:
    scal = [k for k in dict.fromkeys(list(t.before) + list(t.after))
            if not _curve(t.before.get(k, t.after.get(k))) and not isinstance(t.before.get(k, t.after.get(k)), dict)]
    rows = "".join(f"<tr><td>{_e(k.replace('_', ' '))}</td><td class=\"tmr-num\">{_val(t.before.get(k))}</td>"
                   f"<td class=\"tmr-num\">{_val(t.after.get(k))}</td></tr>" for k in scal)
    verdict = {True: "the fix helped", False: "the fix did not help", None: "inconclusive"}[t.verified]
    head = (f'<div class="tmr-trial-head"><b>Trial</b> on a copy of your model: {_e(t.fix)} &mdash; '
            f'{_e(verdict)}{": " + _e(t.margin) if t.margin else ""}'
            f'{f" ({t.seconds:.1f} s)" if t.seconds else ""}</div>')
    table = ('<table class="tmr-table tmr-trial-table"><thead><tr><th></th><th>as is</th><th>with the fix</th></tr>'
             f'</thead><tbody>{rows}</tbody></table>') if rows else ""
    charts = []
    for key in ("loss", "metric"):
        b, a = _curve(t.before.get(key)), _curve(t.after.get(key))
        if not b and not a:
            continue
        ch = _Chart(y_label=key, height=210, width=440)
        if b:
            ch.line(_curve(t.before.get("steps")) or list(range(len(b))), b, "as is", "#94a3b8", width=2.0,
                    markers=False)
        if a:
            ch.line(_curve(t.after.get("steps")) or list(range(len(a))), a, "with the fix", "#16a34a", width=2.0,
                    markers=False)
        if not ch.empty:
            charts.append(_chart_figure(f"trial_{key}", f"Trial {key}", ch, _e(t.cause)))
    note = f'<p class="tmr-muted">{_e(t.note)}</p>' if t.note else ""
    return (f'<div class="tmr-trial">{head}<div class="tmr-trial-body">{table}'
            f'{"".join(charts)}</div>{note}</div>')


def _tile(label: str, value_html: str, sub_html: str = "") -> str:
    return (f'<div class="tmr-tile"><div class="tmr-tile-label">{_e(label)}</div>'
            f'<div class="tmr-tile-value">{value_html}</div><div class="tmr-tile-sub">{sub_html}</div></div>')


def _kv(title: str, items: list[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_val(v) if not isinstance(v, Location) else '<code>' + _e(v) + '</code>'}"
                   f"</td></tr>" for k, v in items if v is not None)
    return f'<div class="tmr-kv"><h4>{_e(title)}</h4><table>{rows}</table></div>'


def _findings_table(findings) -> str:
    rows = "".join(
        f'<tr><td><span class="tmr-sev tmr-sev-{_e(f.severity)}">{_e(f.severity)}</span></td>'
        f'<td><code>{_e(f.code)}</code> {_e(f.name)}</td><td>{_e(f.message)}</td>'
        f'<td>{_e(f.cause or "")}</td><td class="tmr-num">{f.confidence:.2f}</td></tr>' for f in findings)
    return ('<div class="tmr-scroll"><table class="tmr-table tmr-findings"><thead><tr><th>severity</th><th>rule</th>'
            f'<th>message</th><th>cause</th><th>confidence</th></tr></thead><tbody>{rows}</tbody></table></div>')


def _other_experiments(other: dict) -> str:
    blocks = []
    for name, res in other.items():
        rows = "".join(f"<tr><th>{_e(k)}</th><td>{_val(v)}</td></tr>" for k, v in res.items()
                       if not isinstance(v, (list, dict)) or (isinstance(v, list) and len(v) <= 8))
        blocks.append(f'<div class="tmr-kv"><h4>{_e(name)}</h4><table>{rows}</table></div>')
    return ('<details class="tmr-more"><summary>Other experiment results</summary>'
            f'<div class="tmr-kvs">{"".join(blocks)}</div></details>')


# ---------------------------------------------------------------------------------------------- styles
_PAGE_CSS = "html,body{margin:0;padding:0;background:#eef1f5;}"

_CSS = """
.tmr-root{all:initial;display:block;}
.tmr{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Helvetica,Arial,sans-serif;color:#1f2933;
 background:#eef1f5;padding:24px 28px 16px;max-width:1180px;margin:0 auto;box-sizing:border-box;text-align:left;}
.tmr *{box-sizing:border-box;}
.tmr :where(table){border:none;margin:0;table-layout:auto;color:inherit;}
.tmr :where(td,th){text-align:left;vertical-align:top;line-height:1.45;white-space:normal;max-width:none;border:none;}
.tmr tbody tr,.tmr tbody tr:nth-child(odd),.tmr tbody tr:hover{background:transparent;}
.tmr :where(code){background:none;padding:0;border:none;color:inherit;}
.tmr :where(pre){line-height:1.45;}
.tmr h2{font-size:20px;margin:34px 0 12px;color:#0f172a;font-weight:650;letter-spacing:-.01em;}
.tmr h3{font-size:16px;margin:18px 0 8px;color:#0f172a;}
.tmr h3 small,.tmr h4 small{font-weight:400;color:#6b7280;font-size:13px;margin-left:6px;}
.tmr h4{font-size:13px;margin:0 0 6px;text-transform:uppercase;letter-spacing:.05em;color:#475569;}
.tmr code,.tmr pre{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,monospace;
 font-size:13px;}
.tmr a{color:inherit;text-decoration:none;}
.tmr-muted{color:#6b7280;}
.tmr-h2-sub{font-size:13px;font-weight:400;color:#6b7280;margin-left:8px;}
.tmr-head{border-radius:14px;padding:20px 24px;background:#fff;border:1px solid #e2e8f0;border-left:8px solid #64748b;
 box-shadow:0 1px 2px rgba(15,23,42,.06);}
.tmr-head.tmr-unhealthy{border-left-color:#dc2626;background:linear-gradient(90deg,#fef2f2,#fff 60%);}
.tmr-head.tmr-healthy{border-left-color:#16a34a;background:linear-gradient(90deg,#f0fdf4,#fff 60%);}
.tmr-head.tmr-error{border-left-color:#d97706;background:linear-gradient(90deg,#fffbeb,#fff 60%);}
.tmr-brand{font-size:12px;text-transform:uppercase;letter-spacing:.12em;color:#64748b;font-weight:600;}
.tmr-verdict{display:flex;align-items:baseline;gap:16px;flex-wrap:wrap;margin-top:2px;}
.tmr-status{font-size:32px;font-weight:750;letter-spacing:-.02em;}
.tmr-unhealthy .tmr-status{color:#b91c1c;} .tmr-healthy .tmr-status{color:#15803d;
 } .tmr-error .tmr-status{color:#b45309;}
.tmr-verdict p{margin:0;font-size:17px;color:#334155;}
.tmr-meta{margin:10px 0 0;color:#64748b;font-size:13px;}
.tmr-toc{list-style:none;padding:0;margin:14px 0 0;display:flex;flex-wrap:wrap;gap:8px;}
.tmr-toc a{display:inline-flex;align-items:center;gap:8px;background:#fff;border:1px solid #e2e8f0;border-radius:999px;
 padding:4px 12px 4px 4px;font-size:13px;}
.tmr-toc a:hover{border-color:#94a3b8;}
.tmr-toc-n{display:inline-block;width:22px;height:22px;border-radius:50%;background:#1e293b;color:#fff;
 text-align:center;
 line-height:22px;font-weight:600;font-size:12px;}
.tmr-toc-score{color:#64748b;}
.tmr-section{margin-top:8px;}
.tmr-card{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:16px 20px;margin:0 0 14px;
 box-shadow:0 1px 2px rgba(15,23,42,.05);}
.tmr-ok{margin-top:16px;border-left:5px solid #16a34a;}
.tmr-cause-head{display:flex;gap:14px;align-items:flex-start;}
.tmr-rank{flex:none;width:34px;height:34px;border-radius:50%;background:#b91c1c;color:#fff;font-weight:700;
 text-align:center;line-height:34px;font-size:16px;}
.tmr-cause-title{flex:1;min-width:0;}
.tmr-cause-title h3{margin:2px 0 4px;font-size:18px;}
.tmr-id{background:#f1f5f9;border:1px solid #e2e8f0;border-radius:6px;padding:1px 7px;color:#0f172a;margin-right:8px;}
.tmr-badge{display:inline-block;font-size:12px;font-weight:600;border-radius:999px;padding:2px 10px;vertical-align:1px;}
.tmr-b-ok{background:#dcfce7;color:#166534;} .tmr-b-warn{background:#fef3c7;color:#92400e;}
.tmr-b-none{background:#f1f5f9;color:#475569;}
.tmr-score{flex:none;width:130px;text-align:right;}
.tmr-score small{color:#475569;font-size:12px;}
.tmr-meter{height:8px;background:#f1f5f9;border-radius:4px;overflow:hidden;margin:8px 0 2px;}
.tmr-meter span{display:block;height:100%;background:linear-gradient(90deg,#f59e0b,#dc2626);border-radius:4px;}
.tmr-msgs{margin:10px 0 6px 48px;padding:0 0 0 16px;}
.tmr-msgs li{margin:3px 0;}
.tmr-rule{font-size:12px;color:#64748b;white-space:nowrap;font-family:ui-monospace,"DejaVu Sans Mono",monospace;}
.tmr-cause>.tmr-table,.tmr-cause>.tmr-loc,.tmr-cause>.tmr-fix,.tmr-cause>.tmr-why{margin-left:48px;
 width:calc(100% - 48px);}
.tmr-table{border-collapse:collapse;width:100%;margin:8px 0;}
.tmr-table td{font-size:13.5px;}
.tmr-table th{text-align:left;font-weight:600;color:#475569;font-size:12px;text-transform:uppercase;
 letter-spacing:.04em;
 border-bottom:1px solid #e2e8f0;padding:5px 8px;}
.tmr-table td{border-bottom:1px solid #f1f5f9;padding:5px 8px;vertical-align:top;}
.tmr-num{font-variant-numeric:tabular-nums;white-space:nowrap;}
.tmr-evidence td:first-child{width:46%;}
.tmr-exp{color:#475569;white-space:normal;}
.tmr-loc{margin:10px 0;border:1px solid #e2e8f0;border-radius:8px;overflow:hidden;}
.tmr-loc-path{background:#f8fafc;padding:5px 10px;font-size:12px;color:#64748b;border-bottom:1px solid #e2e8f0;}
.tmr-loc-path code{color:#0f172a;font-weight:600;}
.tmr-code{margin:0;padding:8px 10px;background:#0f172a;color:#e2e8f0;overflow-x:auto;white-space:pre;}
.tmr-ln{color:#64748b;margin-right:14px;user-select:none;}
.tmr-fix{margin-top:10px;background:#f0fdf4;border:1px solid #bbf7d0;border-radius:8px;padding:10px 14px;}
.tmr-fix-label{font-size:12px;font-weight:700;text-transform:uppercase;letter-spacing:.06em;color:#15803d;}
.tmr-fix p{margin:4px 0;}
.tmr-fix-summary{font-size:15px;}
.tmr-diff{margin:8px 0 4px;background:#fff;border:1px solid #d1d5db;border-radius:6px;padding:6px 0;overflow-x:auto;}
.tmr-diff span{display:block;padding:0 12px;white-space:pre;}
.tmr-d-add{background:#dcfce7;color:#14532d;} .tmr-d-del{background:#fee2e2;color:#7f1d1d;}
.tmr-d-hunk{color:#1d4ed8;background:#eff6ff;} .tmr-d-file{color:#475569;font-weight:600;} .tmr-d-ctx{color:#334155;}
.tmr-trial{margin-top:10px;border-top:1px dashed #86efac;padding-top:8px;}
.tmr-trial-body{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start;}
.tmr-trial-body>.tmr-table{width:auto;min-width:260px;background:#fff;}
.tmr-trial-body>.tmr-fig{flex:1;min-width:300px;max-width:480px;margin:0;}
.tmr-why{margin-top:8px;color:#475569;font-size:14px;}
.tmr-why summary{cursor:pointer;color:#64748b;font-size:13px;}
.tmr-why p{margin:6px 0 0;}
.tmr-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:14px;}
.tmr-fig{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:12px 14px 10px;margin:0 0 14px;
 min-width:0;}
.tmr-grid>.tmr-fig{margin:0;}
.tmr-wide{grid-column:1/-1;}
.tmr-fig figcaption{margin-bottom:6px;}
.tmr-fig figcaption b{font-size:15px;color:#0f172a;}
.tmr-fig-sub{color:#64748b;font-size:12.5px;margin-left:8px;}
.tmr-fig-note{margin:4px 0 0;font-size:12.5px;color:#475569;}
.tmr-svg{display:block;width:100%;height:auto;max-width:100%;}
.tmr-svg text{font-family:system-ui,"DejaVu Sans",Helvetica,Arial,sans-serif;}
.tmr-svg-plot{fill:#fcfcfd;stroke:#e2e8f0;}
.tmr-svg-grid{stroke:#eef2f6;stroke-width:1;}
.tmr-svg-tick{font-size:11px;fill:#64748b;}
.tmr-svg-val{font-size:11px;fill:#334155;}
.tmr-svg-label{font-size:11.5px;fill:#475569;}
.tmr-svg-base{font-size:11px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px;}
.tmr-legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12.5px;color:#334155;margin-top:4px;}
.tmr-legend-item{display:inline-flex;align-items:center;gap:5px;}
.tmr-swatch{display:inline-block;width:11px;height:11px;border-radius:2px;}
.tmr-tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin-bottom:14px;}
.tmr-tile{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:12px 16px;}
.tmr-tile-label{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#64748b;}
.tmr-tile-value{font-size:22px;white-space:nowrap;font-weight:650;font-variant-numeric:tabular-nums;color:#0f172a;
 margin:2px 0;}
.tmr-tile-sub{font-size:12.5px;color:#64748b;}
.tmr-kvs{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:12px;margin:12px 0;}
.tmr-kv{background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:12px 16px;}
.tmr-kv table{border-collapse:collapse;width:100%;}
.tmr-kv td,.tmr-kv th{font-size:13.5px;}
.tmr-kv th{text-align:left;font-weight:500;color:#64748b;padding:2px 14px 2px 0;white-space:nowrap;vertical-align:top;
 width:1%;}
.tmr-kv td{padding:2px 0;word-break:break-word;}
.tmr-scroll{overflow-x:auto;background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:4px 8px;margin:8px 0;}
.tmr-scroll .tmr-table{margin:0;}
.tmr-layers code{word-break:break-all;}
.tmr-yes{color:#15803d;} .tmr-no{color:#b91c1c;font-weight:600;}
.tmr-target{margin:10px 0 6px;}
.tmr-sev{font-size:11px;font-weight:700;text-transform:uppercase;border-radius:4px;padding:1px 6px;}
.tmr-sev-error{background:#fee2e2;color:#991b1b;} .tmr-sev-warning{background:#fef3c7;color:#92400e;}
.tmr-sev-info{background:#e0f2fe;color:#075985;}
.tmr-warnbox{border-left:5px solid #f59e0b;}
.tmr-warnbox ul{margin:6px 0 0;padding-left:20px;font-size:13.5px;}
.tmr-more summary{cursor:pointer;color:#475569;margin:6px 0;}
.tmr-foot{margin-top:28px;padding-top:10px;border-top:1px solid #dbe1e8;color:#94a3b8;font-size:12px;}
@media (max-width:700px){.tmr{padding:12px;}.tmr-grid{grid-template-columns:1fr;}
 .tmr-cause>.tmr-table,.tmr-cause>.tmr-loc,.tmr-cause>.tmr-fix,.tmr-cause>.tmr-why{margin-left:0;width:100%;}
 .tmr-msgs{margin-left:0;}.tmr-score{width:90px;}}
"""


def _scope(css: str) -> str:
    """Prefix every ``.tmr...`` selector with ``.tmr-root`` so that the host page's rules (a notebook's table
    and code styles) lose to ours on specificity, and ours never touch the host page."""
    return re.sub(r"(^|[{},])(\s*)\.tmr(?!-root\b)", r"\1\2.tmr-root .tmr", css, flags=re.M)


_SCOPED_CSS = _scope(_CSS)
