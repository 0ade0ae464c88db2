"""Typography and colours of the report, applied through a context manager.

Why a context manager: matplotlib's ``rcParams`` are process-global, and a library that
changes them behind the caller's back changes the caller's own plots (ArviZ's users complained
about exactly that). ``report_style()`` sets the report's look only for the code inside the
``with`` block and restores everything afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import matplotlib as mpl

PAGE_SIZE_IN = (8.27, 11.69)  # A4 portrait
MARGIN_IN = 0.6
CONTENT_WIDTH_IN = PAGE_SIZE_IN[0] - 2 * MARGIN_IN

FONT_BODY = 9.0
FONT_SMALL = 7.5
FONT_TINY = 6.5
FONT_HEADING = 15.0
FONT_SUBHEADING = 11.0

INK = "#1b1b1b"
MUTED = "#5f6368"
RULE = "#c8ccd0"
DRAFT_RED = "#b3261e"
OK_GREEN = "#1e7b34"
FAN = "#1f5fa8"  # forecast fan colour (bands are this colour at decreasing alpha)
HISTORY = "#333333"
EVENT = "#d9822b"
LINEAR = "#8a8a8a"
SCENARIO_COLOURS = ("#1f5fa8", "#d9822b", "#2e8b57", "#8e44ad", "#b3261e", "#00838f", "#6d4c41", "#546e7a")
BAND_ALPHAS = {0.95: 0.15, 0.80: 0.28, 0.50: 0.45}
"""Fan-chart bands: central probability -> alpha (wider band = lighter)."""

REPORT_RC = {
    "font.family": "DejaVu Sans",
    "font.size": FONT_BODY,
    "axes.titlesize": FONT_BODY + 1,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": FONT_SMALL + 0.5,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e8ea",
    "grid.linewidth": 0.6,
    "xtick.labelsize": FONT_SMALL,
    "ytick.labelsize": FONT_SMALL,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "legend.fontsize": FONT_SMALL,
    "legend.frameon": False,
    "lines.linewidth": 1.4,
    "text.color": INK,
    "pdf.fonttype": 42,  # embed TrueType: text stays selectable and extractable (pdftotext)
    "axes.formatter.use_mathtext": False,
    "axes.unicode_minus": True,
    "figure.dpi": 100,
    "savefig.dpi": 100,
}


@contextlib.contextmanager
def report_style() -> Iterator[None]:
    """Apply the report's rcParams for the duration of the block only."""
    with mpl.rc_context(REPORT_RC):
        yield


def scenario_colour(i: int) -> str:
    """Colour of the i-th scenario, the same on every page."""
    return SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]
