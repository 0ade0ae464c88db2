"""How numbers are written in the report.

Why three significant figures: the numbers are Monte Carlo summaries of posterior draws, so
more digits would state a precision the draws do not have. Every number the PDF states
goes through one of these functions, which keeps the report consistent and lets
``bayescap.report.verify`` check each printed number against ``summary.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MINUS = "\u2212"
EN_DASH = "\u2013"
NA = "n/a"

PROBABILITY_UNITS = {"probability", "share", "fraction", "prob"}


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def fmt_sig(x: Any, sig: int = 3) -> str:
    """``x`` to ``sig`` significant figures, thousands separated; trailing zeros dropped at up to 3 figures."""
    v = _num(x)
    if v is None:
        return NA
    if v == 0:
        return "0"
    if abs(v) >= 1e6:  # 169,000,000 reads (and fits) better as 169M
        return (MINUS if v < 0 else "") + fmt_sig(abs(v) / 1e6, sig) + "M"
    decimals = sig - 1 - math.floor(math.log10(abs(v)))
    if decimals <= 0:
        rounded = round(v, decimals)
        text = f"{abs(int(rounded)):,}"
    else:
        decimals = min(decimals, 4)
        text = f"{abs(v):,.{decimals}f}"
        if sig <= 3:  # more figures are asked for where they matter (range_sig): keep them, zeros included
            text = text.rstrip("0").rstrip(".")
        if text in ("0", ""):
            text = "0"
    return (MINUS if v < 0 and text != "0" else "") + text


def fmt_int(x: Any) -> str:
    """A count (servers, divergences): exact, thousands separated."""
    v = _num(x)
    if v is None:
        return NA
    return (MINUS if v < 0 else "") + f"{abs(int(round(v))):,}"


def fmt_usd(x: Any, sig: int = 3) -> str:
    """Dollars: ``$3,100``, ``$1.23M`` from a million on."""
    v = _num(x)
    if v is None:
        return NA
    sign = MINUS if v < 0 else ""
    return f"{sign}${fmt_sig(abs(v), sig)}"


def fmt_pct(p: Any) -> str:
    """A probability as a percentage with two significant figures of the nearer bound (0% or 100%)."""
    v = _num(p)
    if v is None:
        return NA
    pct = 100.0 * v
    if pct <= 0:
        return "0%"
    if pct >= 100:
        return "100%"
    closest = min(pct, 100.0 - pct)
    decimals = max(0, min(2, 1 - math.floor(math.log10(closest))))
    text = f"{pct:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


def fmt_r_hat(x: Any) -> str:
    v = _num(x)
    return NA if v is None else f"{v:.3f}"


def fmt_value(x: Any, unit: str | None, sig: int = 3) -> str:
    """A value in its unit's style (the unit itself goes in the table header or the sentence)."""
    unit = (unit or "").strip()
    if unit.upper().startswith("USD"):
        return fmt_usd(x, sig)
    if unit.lower() in PROBABILITY_UNITS:
        return fmt_pct(x)
    if unit == "%":
        v = _num(x)
        return NA if v is None else fmt_sig(v, sig) + "%"
    if unit.lower() in {"servers", "nodes", "count", "days"}:
        v = _num(x)
        if v is not None and float(v).is_integer():
            return fmt_int(v)
    return fmt_sig(x, sig)


def range_sig(lo: Any, hi: Any, unit: str | None, sig: int = 3) -> int:
    """Significant figures that keep an interval's different ends apart: ``sig``, or up to two more."""
    a, b = _num(lo), _num(hi)
    if a is None or b is None or a == b:
        return sig
    for s in (sig, sig + 1, sig + 2):
        if fmt_value(a, unit, s) != fmt_value(b, unit, s):
            return s
    return sig


def fmt_range(lo: Any, hi: Any, unit: str | None, *, compact: bool = False, sig: int = 3) -> str:
    """An interval ``a–b`` (or ``a to b`` when a bound is negative, so the dash cannot read as a minus).

    ``compact`` drops the dollar signs, for table cells whose row already names the unit.
    """
    a, b = fmt_value(lo, unit, sig), fmt_value(hi, unit, sig)
    if compact:
        a, b = a.replace("$", ""), b.replace("$", "")
    if NA in (a, b):
        return NA
    sep = " to " if (a.startswith(MINUS) or b.startswith(MINUS)) else EN_DASH
    return f"{a}{sep}{b}"


def median_range(metric: Mapping[str, Any], unit: str | None) -> tuple[str, str]:
    """``(median, 90% interval)`` text of a metric, both with one precision (see ``range_sig``)."""
    sig = range_sig(metric.get("q05"), metric.get("q95"), unit)
    return fmt_value(metric.get("median"), unit, sig), fmt_range(metric.get("q05"), metric.get("q95"), unit, sig=sig)


def median_with_range(metric: Mapping[str, Any], unit: str | None, sep: str = " ") -> str:
    """``'14.9 (14.8–15.1)'``: the median, then its 90% interval in brackets."""
    med, rng = median_range(metric, unit)
    return f"{med}{sep}({rng})"


def unit_label(unit: str | None) -> str:
    """The unit as a reader would write it (``USD/month`` -> ``$ per month``)."""
    unit = (unit or "").strip()
    if not unit:
        return ""
    if unit.lower() in PROBABILITY_UNITS:
        return "chance"
    if unit.upper().startswith("USD"):
        rest = unit[3:].lstrip("/ ")
        return f"$ per {rest}" if rest else "$"
    return unit


def interval_cells(metric: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(median, 80% interval, 95% interval)`` text of one summary.json metric (intervals compact).

    All three share one precision: three significant figures, or more where the 80% interval's
    ends would otherwise print as the same number (a runway of "14.9, 80%: 14.9–14.9").
    """
    unit = metric.get("unit")
    sig = range_sig(metric.get("q10"), metric.get("q90"), unit)
    return (
        fmt_value(metric.get("median"), unit, sig),
        fmt_range(metric.get("q10"), metric.get("q90"), unit, compact=True, sig=sig),
        fmt_range(metric.get("q025"), metric.get("q975"), unit, compact=True, sig=sig),
    )
