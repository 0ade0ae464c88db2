"""The PDF report: figures and pages built from a saved run directory's files only.

Never imports PyMC or ``bayescap.models``: a report can be rebuilt on any machine that has
the run directory (``bayescap report RUN_DIR``).

>>> from bayescap.report import build_report
>>> build_report("reports/baseline-20261126-101500")   # doctest: +SKIP
PosixPath('reports/baseline-20261126-101500/report.pdf')
"""

from bayescap.report.builder import build_report, render_pages, timestamped_report_path

__all__ = ["build_report", "render_pages", "timestamped_report_path"]
