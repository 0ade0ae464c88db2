"""Assemble the report's pages and write the PDF atomically.

Why atomic: a reader must never open a half-written PDF, and an earlier report must never be
damaged by a failed rebuild. The PDF is written to a temporary file in the same folder and
moved into place with ``os.replace`` only once complete.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from bayescap.errors import OutputError
from bayescap.report import style
from bayescap.report.layout import Doc
from bayescap.report.pages_fleet import overload_cost_page, runway_page, servers_page
from bayescap.report.pages_method import all_metrics_pages, appendix_pages, method_page
from bayescap.report.pages_models import capacity_page, traffic_page
from bayescap.report.pages_summary import check_status, scenario_names, summary_page
from bayescap.report.pages_sweep import sweep_page
from bayescap.report.run_files import RunFiles, read_run

SECTIONS = (
    "Capacity and cost forecast: executive summary",
    "Traffic: history and forecast",
    "Capacity: how throughput grows with cores",
    "Servers and overload risk",
    "Overload risk and monthly cost",
    "Runway",
    "How aggressive can the sales be?",
    "Method and assumptions",
    "Appendix: model checks and reproducibility",
    "Appendix: all metrics per scenario",
)
"""Section titles, in page order (a section may continue on further pages; the last appears when summary.json
has metrics beyond the key ones of page 1)."""


def render_pages(files: RunFiles) -> tuple[list[Figure], dict]:
    """Draw every page of the report from a loaded run; returns the figures and the check status.

    The figures are not saved; ``build_report`` writes them. Exposed so tests and
    ``bayescap.report.verify`` can read back every string drawn on every page.
    """
    status = check_status(files)
    names = scenario_names(files.summary)
    base = names[0] if names else ""
    with style.report_style():
        doc = Doc(run_label=(files.manifest or {}).get('run_name', files.run_dir.name), draft=not status["ok"])
        doc.section(lambda: summary_page(doc, files, status))
        doc.section(lambda: traffic_page(doc, files, base))
        doc.section(lambda: capacity_page(doc, files))
        doc.section(lambda: servers_page(doc, files))
        doc.section(lambda: overload_cost_page(doc, files))
        doc.section(lambda: runway_page(doc, files))
        doc.section(lambda: sweep_page(doc, files))
        doc.section(lambda: method_page(doc, files))
        doc.section(lambda: appendix_pages(doc, files, status))
        doc.section(lambda: all_metrics_pages(doc, files))
        figs = doc.finish("DRAFT \u2014 model checks failed (see page 1)")
    return figs, status


def build_report(run_dir: str | Path, *, out: str | Path | None = None) -> Path:
    """Build the PDF report of a saved run, from its files only (no refitting, no PyMC).

    Parameters
    ----------
    run_dir
        A run directory with ``summary.json`` (required), ``posteriors.nc``, ``simulation.nc`` and
        ``manifest.json`` (see docs/architecture.md).
    out
        Where to write the PDF; default ``run_dir/report.pdf``. Written to a temporary file and
        moved into place atomically.

    Returns
    -------
    Path
        The written PDF.
    """
    files = read_run(run_dir)
    target = Path(out) if out is not None else files.run_dir / "report.pdf"
    figs, _ = render_pages(files)
    write_pdf(figs, target, title=f"bayescap report {(files.manifest or {}).get('run_name', files.run_dir.name)}")
    return target


def write_pdf(figs: list[Figure], target: Path, *, title: str) -> None:
    """Write ``figs`` as a multi-page PDF at ``target`` via a temp file + ``os.replace``."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-report-", suffix=".pdf", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"{target.parent}: cannot write the report here ({exc.strerror or exc})") from None
    try:
        meta = {"Title": title, "Creator": "bayescap", "CreationDate": None}
        with style.report_style(), PdfPages(tmp, metadata=meta) as pdf:
            for fig in figs:
                pdf.savefig(fig)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{target}: could not write the report ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def timestamped_report_path(run_dir: str | Path, *, now: dt.datetime | None = None) -> Path:
    """``run_dir/report-<YYYYMMDD-HHMMSS>.pdf``, with a counter if that name is taken (never overwrite)."""
    run = Path(run_dir)
    stamp = f"{(now or dt.datetime.now()):%Y%m%d-%H%M%S}"
    for i in range(1000):
        p = run / (f"report-{stamp}.pdf" if i == 0 else f"report-{stamp}-{i}.pdf")
        if not p.exists():
            return p
    raise OutputError(f"{run}: too many reports named report-{stamp}*.pdf")
