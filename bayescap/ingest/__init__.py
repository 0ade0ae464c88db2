"""Turn what users already have into bayescap's input CSVs (no PyMC here).

* :func:`aggregate_access_logs` — nginx/Apache access logs -> daily traffic
  (with peak second), hourly and per-minute counts, logged-in split;
* :func:`read_tool_output` — k6, Locust, wrk, JMeter outputs -> (n, throughput) points;
  :func:`points_to_rows` / :func:`write_loadtest` -> the load-test CSV (merged, atomic);
* :func:`run_levels` — drive wrk, k6 or a Python generator against one URL;
* :func:`prophet_to_traffic` — Prophet ``ds``,``y`` + holidays -> the traffic CSV;
* :func:`write_synthetic_access_log` — a realistic log with known truth.

Submodules are imported lazily so that ``import bayescap.ingest`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "aggregate_access_logs": "accesslog",
    "LogTraffic": "accesslog",
    "logged_in_rule": "accesslog",
    "traffic_csv_frame": "accesslog",
    "timestamp_csv_frame": "accesslog",
    "read_tool_output": "tools",
    "detect_tool": "tools",
    "n_from_name": "tools",
    "points_to_rows": "loadtest_csv",
    "merge_rows": "loadtest_csv",
    "write_loadtest": "loadtest_csv",
    "rows_from_files": "loadtest_csv",
    "run_levels": "loadgen",
    "prophet_to_traffic": "prophet",
    "event_columns": "prophet",
    "write_synthetic_access_log": "synthetic",
    "SyntheticLog": "synthetic",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bayescap.ingest' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bayescap.ingest.{module}"), name)
