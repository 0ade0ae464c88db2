"""Check that every number the report states comes from the run's saved results.

Why: the PDF is read by people who cannot re-derive it. A number that appears in the PDF but
not in ``summary.json`` (a figure typed by hand, a quantile recomputed differently, a stale
value) is a silent error. This module reads back every string drawn on every page, finds the
numbers in it and matches each against the values of ``summary.json`` (statements, tables,
diagnostics), against ``manifest.json`` and the saved priors for inputs and assumptions
(text tagged ``config``), and against a short list of method constants (the interval levels
and the check thresholds). Axis tick labels are scales, not statements, and are skipped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from bayescap.checks import DEFAULT_COVERAGE_RANGES, ESS_BULK_MIN, R_HAT_MAX
from bayescap.report.layout import CONFIG, FORMULA, STATED, STRUCTURAL

TICK = "tick"
CHART = "chart"  # text inside a chart (titles, legends, axis labels)

METHOD_CONSTANTS: tuple[tuple[float, str], ...] = (
    *((v, "%") for v in (50, 80, 90, 95)),
    (R_HAT_MAX, ""),
    (ESS_BULK_MIN, ""),
    (1000, ""),  # "per 1,000 req/s"
    *((v, "") for lo_hi in DEFAULT_COVERAGE_RANGES.values() for v in lo_hi),
)
"""Numbers that are part of the method, not results: interval levels, check thresholds, units."""

_NUMBER = re.compile(
    r"(?<![\w.,\u2212-])(?P<sign>[\u2212-])?(?P<dollar>\$)?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
    r"(?P<suffix>[kM%](?![A-Za-z]))?(?![\w])"
)


@dataclass(frozen=True)
class Number:
    text: str
    value: float
    resolution: float  # half of it is the rounding error the printed form allows
    percent: bool


def numbers_in(text: str) -> list[Number]:
    """The numbers written in ``text`` (``$1.2M``, ``4.5%``, ``−3``, ``12,400``)."""
    out = []
    for m in _NUMBER.finditer(text):
        digits = m.group("int").replace(",", "")
        frac = m.group("frac") or ""
        value = float(f"{digits}.{frac}" if frac else digits)
        if frac:
            resolution = 10.0 ** -len(frac)
        else:
            stripped = digits.rstrip("0")
            zeros = len(digits) - len(stripped) if stripped else 0
            resolution = 10.0**zeros
        suffix = m.group("suffix") or ""
        scale = {"k": 1e3, "M": 1e6}.get(suffix, 1.0)
        sign = -1.0 if m.group("sign") else 1.0
        out.append(Number(m.group(0), sign * value * scale, resolution * scale, suffix == "%"))
    return out


def _walk(obj: Any) -> Iterable[Any]:
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk(v)
    else:
        yield obj


def source_values(*sources: Any) -> tuple[list[float], list[str]]:
    """All finite numbers and all strings (dates, hashes, names, sentences) inside JSON-like ``sources``."""
    values, strings = [], []
    for src in sources:
        for leaf in _walk(src):
            if isinstance(leaf, bool) or leaf is None:
                continue
            if isinstance(leaf, (int, float)):
                if math.isfinite(leaf):
                    values.append(float(leaf))
            elif isinstance(leaf, str):
                strings.append(leaf)
                for n in numbers_in(leaf):  # numbers inside statement texts count as stated in summary.json
                    values.append(n.value)
    return values, strings


def _matches(n: Number, values: Iterable[float]) -> bool:
    tol = 0.5 * n.resolution * (1 + 1e-9) + 1e-12
    for v in values:
        if abs(v - n.value) <= tol or abs(abs(v) - abs(n.value)) <= tol:
            return True
        if n.percent and abs(100.0 * v - n.value) <= tol:
            return True
    return False


def _strip_strings(text: str, strings: list[str]) -> str:
    for s in sorted({s for s in strings if len(s) >= 4 and any(c.isdigit() for c in s)}, key=len, reverse=True):
        if s in text:
            text = text.replace(s, " ")
    return text


def page_texts(fig: Figure, *, draw: bool | None = None) -> list[tuple[str, str]]:
    """Every visible string drawn on ``fig`` with its kind: stated/config/structural/formula/tick/chart.

    Tick labels only exist once a figure is drawn: ``draw=None`` draws it when it has changed since
    its last drawing (``fig.stale``), ``False`` reads the last drawing (e.g. the PDF's) as it is.
    """
    if draw is None:
        draw = bool(fig.stale)
    from bayescap.report.style import report_style

    with report_style():  # ticks are created lazily with the rcParams in force: use the report's
        if draw:
            fig.draw_without_rendering()  # tick labels get their text only when the figure is drawn
        ticks: set[int] = set()
        for ax in fig.axes:
            if isinstance(ax, Axes):
                for axis in (ax.xaxis, ax.yaxis):
                    for t in axis.get_ticklabels(which="both"):
                        ticks.add(id(t))
                    ticks.add(id(axis.get_offset_text()))
        out = []
        for t in fig.findobj(Text):
            if not t.get_visible() or not t.get_text().strip():
                continue
            kind = TICK if id(t) in ticks else (t.get_gid() or CHART)
            text = t.get_text().replace("\\$", "$")
            if kind == FORMULA:
                text = text.replace("{,}", ",")  # mathtext's thousands separator, as a PDF reader shows it
            out.append((kind, text))
    return out


def unverified_numbers(figs: list[Figure], summary: dict, *, config_sources: Iterable[Any] = ()) -> list[str]:
    """Numbers drawn on the pages that match nothing they should come from; empty when the report is honest.

    ``stated`` and ``chart`` text must match ``summary.json`` (or a method constant); ``config`` text may
    also match ``config_sources`` (the manifest, the priors). Structural text, formulas and tick labels
    are not statements and are skipped. Each finding reads ``"page 3: '1,234' in '...'"``.
    """
    s_values, s_strings = source_values(summary)
    c_values, c_strings = source_values(*config_sources)
    const = [v for v, _ in METHOD_CONSTANTS]
    problems = []
    for i, fig in enumerate(figs, start=1):
        for kind, text in page_texts(fig):
            if kind in (TICK, STRUCTURAL, FORMULA):
                continue
            allowed_values = s_values + const + (c_values if kind == CONFIG else [])
            allowed_strings = s_strings + (c_strings if kind == CONFIG else [])
            for n in numbers_in(_strip_strings(text, allowed_strings)):
                if not _matches(n, allowed_values):
                    problems.append(f"page {i}: {n.text!r} in {text!r}")
    return problems


def config_sources_of(run_dir: str | Path) -> list[Any]:
    """The manifest, the saved priors and options of a run and the traffic model's chosen yearly order: where
    ``config`` numbers may come from."""
    from bayescap.report.run_files import read_run

    files = read_run(run_dir)
    sources: list[Any] = [files.manifest or {}]
    for model in ("capacity", "traffic"):
        priors = files.model_attrs(model).get("priors")
        if isinstance(priors, str):
            try:
                priors = json.loads(priors)
            except json.JSONDecodeError:
                priors = {}
        sources.append(priors or {})
        sources.append(files.model_options(model))
    chosen = files.model_attrs("traffic").get("fourier_order")
    if chosen is not None:
        sources.append({"fourier_order_chosen": int(chosen)})
    return sources


def check_run_report(run_dir: str | Path) -> list[str]:
    """Render the report of ``run_dir`` in memory and return the numbers that do not trace back to its files."""
    from bayescap.report.builder import render_pages
    from bayescap.report.run_files import read_run

    files = read_run(run_dir)
    figs, _ = render_pages(files)
    return unverified_numbers(figs, files.summary, config_sources=config_sources_of(run_dir))


__all__ = [
    "CHART",
    "CONFIG",
    "FORMULA",
    "STATED",
    "STRUCTURAL",
    "TICK",
    "check_run_report",
    "numbers_in",
    "page_texts",
    "unverified_numbers",
]
