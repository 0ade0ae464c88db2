"""Page layout: a top-to-bottom flow of headings, wrapped paragraphs, tables and charts.

Why measure instead of guess: long tables and statements must wrap or continue on the next
page, never overlap. Text is wrapped by measuring it with the same font machinery that
draws it, and each block asks for its height before it is placed; a block that does not
fit starts a continuation page with the same title.

Every text artist carries a ``gid`` that says what it is: ``"stated"`` (a statement of the
report, checked against ``summary.json``), ``"config"`` (an input or prior, checked against
``manifest.json`` / the posterior's attrs), ``"structural"`` (headers, footers, page
numbers, banners) or ``"formula"``. ``bayescap.report.verify`` reads these tags back.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from bayescap.report import style

STATED = "stated"
CONFIG = "config"
STRUCTURAL = "structural"
FORMULA = "formula"

LINE_SPACING = 1.32
FOOTER_IN = 0.55
BANNER_IN = 0.32
COMPACT_LINE_SPACING = 1.2
"""Line spacing of a section set again, tighter, because its last page held only a few lines (:meth:`Doc.section`)."""
TABLE_PAD_IN, COMPACT_TABLE_PAD_IN = 0.05, 0.035
SHORT_LAST_PAGE = 0.3
"""A section whose last page is filled less than this is set again, tighter, if that saves the page."""
_compact = contextvars.ContextVar("compact", default=False)


@contextlib.contextmanager
def compact() -> Iterator[None]:
    """Tighter line spacing and table padding for the text and tables drawn inside the block."""
    token = _compact.set(True)
    try:
        yield
    finally:
        _compact.reset(token)


@functools.lru_cache(maxsize=1)
def _renderer() -> RendererAgg:
    return RendererAgg(100, 100, 72)  # 72 dpi: one pixel per point


@functools.lru_cache(maxsize=16384)
def measured_width_pt(text: str, size: float, weight: str = "normal", family: str = "DejaVu Sans") -> float:
    """Width of ``text`` in points, measured by matplotlib's Agg renderer (about 2 ms for a line of 80 characters)."""
    prop = FontProperties(family=family, size=size, weight=weight)
    w, _, _ = _renderer().get_text_width_height_descent(text, prop, ismath=False)
    return float(w)


@functools.lru_cache(maxsize=64)
def space_width_pt(size: float, weight: str = "normal", family: str = "DejaVu Sans") -> float:
    """What one space adds between two words, in points."""
    return measured_width_pt("x x", size, weight, family) - 2.0 * measured_width_pt("x", size, weight, family)


def text_width_pt(text: str, size: float, weight: str = "normal", family: str = "DejaVu Sans") -> float:
    """Width of a single line of text in points: its words as measured by :func:`measured_width_pt`, plus the spaces.

    Agg's widths add up over words and spaces (the report's own lines agree with a measurement of the whole line to
    0.01 pt: tests/test_report.py), and a word is measured once however many candidate lines the word wrap
    tries it in: measuring every candidate line whole took 5 of the report's 20 seconds.
    """
    words = text.split(" ")
    return sum(measured_width_pt(w, size, weight, family) for w in words) + (len(words) - 1) * space_width_pt(
        size, weight, family)


def text_height_in(t) -> float:
    """Height of a drawn Text artist (mathtext included) in inches, measured at 72 dpi."""
    return float(t.get_window_extent(renderer=_renderer()).height) / 72.0


def wrap(text: str, width_in: float, size: float, weight: str = "normal", family: str = "DejaVu Sans") -> list[str]:
    """Greedy word wrap of ``text`` (explicit newlines kept) to ``width_in`` inches."""
    limit = width_in * 72.0
    lines: list[str] = []
    for para in str(text).split("\n"):
        words = para.split(" ")
        line = ""
        for word in words:
            candidate = word if not line else f"{line} {word}"
            if text_width_pt(candidate, size, weight, family) <= limit or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
            while text_width_pt(line, size, weight, family) > limit and len(line) > 1:
                # a single word wider than the column: break after a dash (an interval "a–b") if that fits,
                # else anywhere (a hash, a path)
                dash = line.find("\u2013")
                if 0 < dash < len(line) - 1 and text_width_pt(line[: dash + 1], size, weight, family) <= limit:
                    lines.append(line[: dash + 1])
                    line = line[dash + 1 :]
                    continue
                cut = len(line)
                while cut > 1 and text_width_pt(line[:cut], size, weight, family) > limit:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


def line_height_in(size: float) -> float:
    return size * (COMPACT_LINE_SPACING if _compact.get() else LINE_SPACING) / 72.0


@dataclass
class Page:
    """One A4 page being filled from the top; ``y`` is the cursor in inches from the top edge."""

    fig: Figure
    title: str
    y: float
    bottom: float
    content_top: float = 0.0  # the cursor below the title and rule: where the page's content starts

    def room(self) -> float:
        return self.bottom - self.y

    def filled(self) -> float:
        """The share of the page's content height in use (0 = nothing below the title)."""
        return (self.y - self.content_top) / max(self.bottom - self.content_top, 1e-9)


@dataclass
class Doc:
    """The pages of one report, in order, and what every page must carry (the DRAFT banner)."""

    run_label: str
    draft: bool
    pages: list[Page] = field(default_factory=list)

    def new_page(self, title: str, subtitle: str | None = None) -> Page:
        fig = Figure(figsize=style.PAGE_SIZE_IN, dpi=72)  # the PDF backend draws at 72 dpi: same ticks everywhere
        top = style.MARGIN_IN + (BANNER_IN + 0.08 if self.draft else 0.0)
        page = Page(fig=fig, title=title, y=top, bottom=style.PAGE_SIZE_IN[1] - FOOTER_IN - 0.15)
        self.pages.append(page)
        put_text(page, style.MARGIN_IN, page.y, title, size=style.FONT_HEADING, weight="bold", gid=STRUCTURAL)
        page.y += line_height_in(style.FONT_HEADING)
        if subtitle:
            for line in wrap(subtitle, style.CONTENT_WIDTH_IN, style.FONT_SMALL):
                put_text(page, style.MARGIN_IN, page.y, line, size=style.FONT_SMALL, color=style.MUTED, gid=STATED)
                page.y += line_height_in(style.FONT_SMALL)
        rule(page)
        page.content_top = page.y
        return page

    def section(self, draw: Callable[[], Page | None]) -> None:
        """Draw one section (``draw`` adds its pages to this document); when its last page is nearly empty, draw it
        again with tighter line spacing and keep that version if it takes fewer pages.

        Why: a section that spills a few lines onto one more page (the executive summary's last bullets, a table's
        last row) leaves the reader a page that looks like something is missing.
        """
        start = len(self.pages)
        draw()
        first = self.pages[start:]
        if len(first) < 2 or first[-1].filled() >= SHORT_LAST_PAGE:
            return
        del self.pages[start:]
        with compact():
            draw()
        if len(self.pages) - start < len(first):
            return
        del self.pages[start:]
        self.pages.extend(first)

    def ensure(self, page: Page, height_in: float) -> Page:
        """``page`` if ``height_in`` still fits on it, else a new continuation page."""
        if page.room() >= height_in:
            return page
        title = page.title if page.title.endswith("(continued)") else f"{page.title} (continued)"
        return self.new_page(title)

    def finish(self, draft_text: str) -> list[Figure]:
        """Add footers (page i of n) and, for a draft, the banner on every page."""
        n = len(self.pages)
        w, h = style.PAGE_SIZE_IN
        for i, page in enumerate(self.pages, start=1):
            fig = page.fig
            y = h - FOOTER_IN + 0.1
            fig.add_artist(
                Line2D(
                    [style.MARGIN_IN / w, 1 - style.MARGIN_IN / w], [1 - (y - 0.08) / h] * 2, color=style.RULE, lw=0.6
                )
            )
            fig.text(
                style.MARGIN_IN / w,
                1 - y / h,
                f"bayescap report · {self.run_label}",
                fontsize=style.FONT_TINY,
                color=style.MUTED,
                va="top",
                gid=STRUCTURAL,
            )
            fig.text(
                1 - style.MARGIN_IN / w,
                1 - y / h,
                f"page {i} of {n}",
                fontsize=style.FONT_TINY,
                color=style.MUTED,
                va="top",
                ha="right",
                gid=STRUCTURAL,
            )
            if self.draft:
                fig.patches.append(
                    Rectangle(
                        (0, 1 - (style.MARGIN_IN - 0.12 + BANNER_IN) / h),
                        1,
                        BANNER_IN / h,
                        transform=fig.transFigure,
                        color=style.DRAFT_RED,
                        zorder=10,
                    )
                )
                fig.text(
                    0.5,
                    1 - (style.MARGIN_IN - 0.12 + BANNER_IN / 2) / h,
                    draft_text,
                    ha="center",
                    va="center",
                    color="white",
                    fontsize=style.FONT_SUBHEADING,
                    weight="bold",
                    zorder=11,
                    gid=STRUCTURAL,
                )
        return [p.fig for p in self.pages]


def put_text(
    page: Page,
    x_in: float,
    y_in: float,
    text: str,
    *,
    size: float = style.FONT_BODY,
    weight: str = "normal",
    color: str = style.INK,
    gid: str = STATED,
    ha: str = "left",
    family: str = "DejaVu Sans",
    style_: str = "normal",
):
    """Draw one line at (x, y) inches from the top-left corner of the page."""
    w, h = style.PAGE_SIZE_IN
    text = text.replace("$", r"\$")  # a literal dollar, never the start of mathtext
    return page.fig.text(
        x_in / w,
        1 - y_in / h,
        text,
        fontsize=size,
        weight=weight,
        color=color,
        va="top",
        ha=ha,
        gid=gid,
        family=family,
        fontstyle=style_,
    )


def rule(page: Page, gap_in: float = 0.08) -> None:
    w, h = style.PAGE_SIZE_IN
    y = page.y + gap_in
    page.fig.add_artist(
        Line2D([style.MARGIN_IN / w, 1 - style.MARGIN_IN / w], [1 - y / h] * 2, color=style.RULE, lw=0.7)
    )
    page.y = y + gap_in + 0.04


def heading(doc: Doc, page: Page, text: str, *, min_after_in: float = 0.6) -> Page:
    """A sub-heading; it moves to the next page together with at least ``min_after_in`` of content."""
    page = doc.ensure(page, line_height_in(style.FONT_SUBHEADING) + min_after_in)
    page.y += 0.06
    put_text(page, style.MARGIN_IN, page.y, text, size=style.FONT_SUBHEADING, weight="bold", gid=STRUCTURAL)
    page.y += line_height_in(style.FONT_SUBHEADING) + 0.02
    return page


def paragraph_height(
    text: str, *, size: float = style.FONT_BODY, weight: str = "normal", bullet: bool = False,
    width_in: float | None = None, indent_in: float = 0.0, after_in: float = 0.05,
) -> float:
    """The height :func:`paragraph` gives ``text`` with the same arguments (on one page)."""
    width = (width_in or style.CONTENT_WIDTH_IN) - indent_in - (0.15 if bullet else 0.0)
    return len(wrap(text, width, size, weight)) * line_height_in(size) + after_in


def heading_height() -> float:
    """The height :func:`heading` takes."""
    return 0.06 + line_height_in(style.FONT_SUBHEADING) + 0.02


def paragraph(
    doc: Doc,
    page: Page,
    text: str,
    *,
    size: float = style.FONT_BODY,
    gid: str = STATED,
    color: str = style.INK,
    weight: str = "normal",
    indent_in: float = 0.0,
    bullet: str | None = None,
    width_in: float | None = None,
    style_: str = "normal",
    after_in: float = 0.05,
    keep_with_in: float = 0.0,
) -> Page:
    """Wrapped text; continues on a new page if it runs past the bottom. A short paragraph moves to the next page
    together with ``keep_with_in`` inches of what follows it (a table's header and first row)."""
    width = (width_in or style.CONTENT_WIDTH_IN) - indent_in - (0.15 if bullet else 0.0)
    lh = line_height_in(size)
    lines = wrap(text, width, size, weight)
    if len(lines) * lh < 3.0:  # short paragraphs move to the next page whole, never leave a stray line
        page = doc.ensure(page, len(lines) * lh + (after_in + keep_with_in if keep_with_in else 0.0))
    for i, line in enumerate(lines):
        page = doc.ensure(page, lh)
        x = style.MARGIN_IN + indent_in
        if bullet and i == 0:
            put_text(page, x, page.y, bullet, size=size, color=color, gid=STRUCTURAL)
        put_text(
            page,
            x + (0.15 if bullet else 0.0),
            page.y,
            line,
            size=size,
            weight=weight,
            color=color,
            gid=gid,
            style_=style_,
        )
        page.y += lh
    page.y += after_in
    return page


@dataclass(frozen=True)
class Column:
    header: str
    width: float  # fraction of the table width
    align: str = "left"  # "left" | "right"
    mono: bool = False


def table(
    doc: Doc,
    page: Page,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    size: float = style.FONT_SMALL,
    gid: str | Sequence[str] = STATED,
    width_in: float | None = None,
    zebra: bool = True,
) -> Page:
    """A table whose cells wrap within their column; rows that do not fit continue on a new page
    under a repeated header. ``gid`` may be one tag or one per column."""
    width = width_in or style.CONTENT_WIDTH_IN
    gids = [gid] * len(columns) if isinstance(gid, str) else list(gid)
    pad = COMPACT_TABLE_PAD_IN if _compact.get() else TABLE_PAD_IN
    lh = line_height_in(size)
    col_w = [c.width * width for c in columns]
    xs = [style.MARGIN_IN + sum(col_w[:i]) for i in range(len(columns))]

    def cell_lines(text: str, j: int, weight: str = "normal") -> list[str]:
        fam = "DejaVu Sans Mono" if columns[j].mono else "DejaVu Sans"
        return wrap(str(text), col_w[j] - 2 * pad, size, weight, fam)

    def draw_row(pg: Page, cells: list[list[str]], *, header: bool, shade: bool) -> None:
        n = max(len(c) for c in cells)
        height = n * lh + 2 * pad
        w, h = style.PAGE_SIZE_IN
        if shade or header:
            pg.fig.patches.append(
                Rectangle(
                    (style.MARGIN_IN / w, 1 - (pg.y + height) / h),
                    width / w,
                    height / h,
                    transform=pg.fig.transFigure,
                    color="#e9edf2" if header else "#f6f7f9",
                    zorder=0,
                    lw=0,
                )
            )
        for j, lines in enumerate(cells):
            fam = "DejaVu Sans Mono" if columns[j].mono and not header else "DejaVu Sans"
            for k, line in enumerate(lines):
                right = columns[j].align == "right"
                x = xs[j] + (col_w[j] - pad if right else pad)
                put_text(
                    pg,
                    x,
                    pg.y + pad + k * lh,
                    line,
                    size=size,
                    weight="bold" if header else "normal",
                    gid=STRUCTURAL if header else gids[j],
                    ha="right" if right else "left",
                    family=fam,
                )
        pg.y += height

    header_cells = [cell_lines(c.header, j, "bold") for j, c in enumerate(columns)]
    header_h = max(len(c) for c in header_cells) * lh + 2 * pad
    body = [[cell_lines(v, j) for j, v in enumerate(row)] for row in rows]
    heights = [max(len(c) for c in cells) * lh + 2 * pad for cells in body]
    page = doc.ensure(page, header_h + (heights[0] if heights else lh + 2 * pad))  # never a header alone at the foot
    draw_row(page, header_cells, header=True, shade=False)
    for i, (cells, height) in enumerate(zip(body, heights, strict=True)):
        if page.room() < height:
            page = doc.ensure(page, header_h + height)
            draw_row(page, header_cells, header=True, shade=False)
        draw_row(page, cells, header=False, shade=zebra and i % 2 == 1)
    page.y += 0.1
    return page


def axes_block(
    doc: Doc,
    page: Page,
    height_in: float,
    *,
    ncols: int = 1,
    left_in: float = 0.75,
    bottom_pad_in: float = 0.45,
    top_pad_in: float = 0.3,
    wspace_in: float = 0.75,
    right_in: float = 0.15,
) -> tuple[Page, list]:
    """Reserve ``height_in`` of the page for a row of ``ncols`` charts and return their axes.

    The pads leave room for titles, tick labels and axis labels inside the reserved block, so
    a chart never runs into the text above or below it.
    """
    page = doc.ensure(page, height_in)
    w, h = style.PAGE_SIZE_IN
    total = style.CONTENT_WIDTH_IN - left_in - right_in - (ncols - 1) * wspace_in
    aw = total / ncols
    axes = []
    for i in range(ncols):
        x0 = style.MARGIN_IN + left_in + i * (aw + wspace_in)
        y_top = page.y + top_pad_in
        ah = height_in - top_pad_in - bottom_pad_in
        axes.append(page.fig.add_axes((x0 / w, 1 - (y_top + ah) / h, aw / w, ah / h)))
    page.y += height_in
    return page, axes


def takeaway(doc: Doc, page: Page, text: str) -> Page:
    """The one-line (wrapped if need be) message of the chart above it."""
    return paragraph(doc, page, text, size=style.FONT_BODY, weight="bold", color=style.INK, after_in=0.12)


TABLE_START_IN = 0.75
"""Room for a table's header and first row: what a note that introduces the table keeps with it."""


def note(doc: Doc, page: Page, text: str, *, keep_with_in: float = 0.0) -> Page:
    """A small, muted paragraph: how to read a figure or table, a caveat. ``keep_with_in``: see :func:`paragraph`."""
    return paragraph(doc, page, text, size=style.FONT_SMALL, color=style.MUTED, keep_with_in=keep_with_in)


def missing_note(doc: Doc, page: Page, what: str) -> Page:
    """Say plainly what could not be shown, instead of failing the whole report."""
    return paragraph(doc, page, f"Not shown: {what}", color=style.MUTED, style_="italic", gid=STRUCTURAL)


PageFn = Callable[..., Page]
