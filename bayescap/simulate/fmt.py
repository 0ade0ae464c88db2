"""Numbers for reading: 2-3 significant figures, thousands separators, plain units.

Statements keep the exact value in their ``values`` and show a rounded one in the
text. One-sided bounds ("stays below X") are rounded *outwards* (up for an upper
bound), so the rounded sentence is never less cautious than the exact one;
intervals and medians are rounded to the nearest.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SIG = 3


def round_sig(x: float, sig: int = SIG, mode: str = "nearest") -> float:
    """Round ``x`` to ``sig`` significant figures (``mode``: nearest, up, down)."""
    if x is None or not math.isfinite(x) or x == 0:
        return x
    exp = math.floor(math.log10(abs(x))) - sig + 1
    scale = 10.0**exp
    q = x / scale
    # guard against 14200.000000001 / 100 -> 142.00000000001 rounding up to 143
    q_r = round(q, 9)
    # half-up (not Python's half-to-even), the same rule the report's formatting uses: 2.45% -> 2.5%
    r = {"nearest": math.floor(q_r + 0.5), "up": math.ceil(q_r), "down": math.floor(q_r)}[mode]
    out = r * scale
    return float(round(out, max(0, -exp)))


def fmt_num(x: float, sig: int = SIG, mode: str = "nearest") -> str:
    """``14213.7 -> '14,200'``, ``12.47 -> '12.5'``, ``3.1e6 -> '3.1 million'``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    r = round_sig(float(x), sig, mode)
    if abs(r) >= 1e9:
        return f"{_trim(round_sig(r / 1e9, sig), sig)} billion"
    if abs(r) >= 1e6:
        return f"{_trim(round_sig(r / 1e6, sig), sig)} million"
    return _trim(r, sig)


def _trim(r: float, sig: int = SIG) -> str:
    """Trailing zeros dropped at up to ``SIG`` figures; with more (asked for by ``range_sig``) they are kept."""
    if sig > SIG and r != 0:
        decimals = sig - 1 - math.floor(math.log10(abs(r)))
        if decimals > 0:
            return f"{r:,.{decimals}f}"
    if r == int(r):
        return f"{int(r):,}"
    text = f"{r:,.6f}".rstrip("0").rstrip(".")
    return text


def fmt_usd(x: float, sig: int = SIG, mode: str = "nearest") -> str:
    """``3127 -> '$3,130'``; negatives as ``'-$1,200'``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    text = fmt_num(abs(x), sig, mode)
    return ("-" if x < 0 else "") + "$" + text


def fmt_signed(x: float, sig: int = SIG) -> str:
    """``-1.53 -> '-1.5'`` with an explicit ``+`` for positives."""
    if x is None or not math.isfinite(x):
        return "n/a"
    text = fmt_num(x, sig)
    return text if text.startswith("-") or text == "0" else "+" + text


def fmt_pct(p: float) -> str:
    """A probability as a percentage: ``0.05 -> '5%'``, ``0.032 -> '3.2%'``, tiny -> ``'<0.1%'``."""
    if p is None or not math.isfinite(p):
        return "n/a"
    if p <= 0:
        return "0%"
    if p >= 1:
        return "100%"
    if p < 0.001:
        return "<0.1%"
    if p > 0.999:
        return ">99.9%"
    pct = 100.0 * p
    return f"{_trim(round_sig(pct, 2 if pct < 10 else 3))}%"


def range_sig(lo: float, hi: float, kind: str = "num", sig: int = SIG) -> int:
    """Significant figures that keep an interval's two ends apart: ``sig``, or up to two more.

    A median stated next to the interval is written with the same figures, so that it never
    reads as lying outside it ("14.9 (90%: 14.925–14.93)").
    """
    f = fmt_usd if kind == "usd" else fmt_num
    for s in (sig, sig + 1, sig + 2):
        if f(lo, s) != f(hi, s):
            return s
    return sig


def fmt_range(lo: float, hi: float, kind: str = "num", sig: int = SIG) -> str:
    """``'3,100–4,800'``, ``'$2.4–3.3 million'`` (en dash).

    ``kind`` is ``"num"`` or ``"usd"``. When both ends round to the same text, up to
    two more significant figures are used so that an interval never collapses to
    one number unless the ends really are equal.
    """
    f = fmt_usd if kind == "usd" else fmt_num
    sig = range_sig(lo, hi, kind, sig)
    a, b = f(lo, sig), f(hi, sig)
    if a == b:
        return a
    for suffix in (" million", " billion"):
        if a.endswith(suffix) and b.endswith(suffix):
            a = a[: -len(suffix)]
            if kind == "usd" and b.startswith("$"):
                b = b[1:]
    return f"{a}–{b}"


def fmt_month(date) -> str:
    """``'March 2028'`` (``'n/a'`` for NaT)."""
    if date is None or (isinstance(date, float) and math.isnan(date)):
        return "n/a"
    ts = pd.Timestamp(np.datetime64(date, "ns")) if not isinstance(date, pd.Timestamp) else date
    if pd.isna(ts):
        return "n/a"
    return f"{ts:%B %Y}"


def plural(n: float, word: str, words: str | None = None) -> str:
    return word if n == 1 else (words or word + "s")


def and_list(items) -> str:
    """``a``, ``a and b``, ``a, b and c``: each item once, in order."""
    names = list(dict.fromkeys(items))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
