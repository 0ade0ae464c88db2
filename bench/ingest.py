"""Access-log ingestion speed: a generated nginx log of more than a million lines, plain and gzip.

``python -m bench.ingest`` (or ``main()``) prints ``BENCH <name> <value> <unit>`` lines:

* ``ingest_lines_per_second`` — lines parsed and aggregated per second (plain file);
* ``ingest_1m_lines_seconds`` — seconds per million lines (goal: <= 10 s on 2 cores);
* ``ingest_1m_lines_cpu_seconds`` — CPU seconds per million lines (steadier on a shared machine);
* ``ingest_1m_lines_gz_seconds`` — the same for gzip-compressed rotated logs;
* ``ingest_1m_lines_cookie_split_seconds`` — with the logged-in cookie rule;
* ``..._cpu_seconds`` variants — CPU time of the same runs;
* ``ingest_count_errors`` — days whose count or peak second differs from the generator's truth (must be 0).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bayescap.ingest.accesslog import aggregate_access_logs
from bayescap.ingest.synthetic import write_synthetic_access_log

SEED = 20261126


def _timed(paths, **kwargs):
    """(result, wall seconds, CPU seconds) of one ingest."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = aggregate_access_logs(paths, **kwargs)
    return result, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bayescap-bench-ingest-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        plain = write_synthetic_access_log(
            root / "plain" / "access.log", days=28, mean_daily_requests=36_000, files=1, seed=SEED
        )
        print(f"# generated {plain.lines} lines in {time.perf_counter() - t0:.1f} s", flush=True)
        result, secs, cpu = _timed(list(plain.paths))
        print(f"BENCH ingest_lines_per_second {result.lines / secs:.0f} lines/s", flush=True)
        print(f"BENCH ingest_1m_lines_seconds {secs * 1e6 / result.lines:.2f} s", flush=True)
        # CPU time is the steadier figure on a shared machine (wall time includes waiting for a core)
        print(f"BENCH ingest_1m_lines_cpu_seconds {cpu * 1e6 / result.lines:.2f} s", flush=True)
        errors = int(
            np.sum(result.daily["count"].to_numpy() != plain.truth["count"].to_numpy())
            + np.sum(result.daily["peak_rps"].to_numpy() != plain.truth["peak_rps"].to_numpy())
        )

        _, secs_cookie, cpu_cookie = _timed(list(plain.paths), logged_in_cookie="session")
        print(f"BENCH ingest_1m_lines_cookie_split_seconds {secs_cookie * 1e6 / result.lines:.2f} s", flush=True)
        print(f"BENCH ingest_1m_lines_cookie_split_cpu_seconds {cpu_cookie * 1e6 / result.lines:.2f} s", flush=True)

        rotated = write_synthetic_access_log(
            root / "gz" / "access.log", days=28, mean_daily_requests=36_000, files=4, gzip_rotated=True, seed=SEED
        )
        gz_result, secs_gz, cpu_gz = _timed([str(root / "gz" / "access.log*")])
        print(f"BENCH ingest_1m_lines_gz_seconds {secs_gz * 1e6 / gz_result.lines:.2f} s", flush=True)
        print(f"BENCH ingest_1m_lines_gz_cpu_seconds {cpu_gz * 1e6 / gz_result.lines:.2f} s", flush=True)
        errors += int(np.sum(gz_result.daily["count"].to_numpy() != rotated.truth["count"].to_numpy()))
        print(f"BENCH ingest_count_errors {errors} days", flush=True)


if __name__ == "__main__":
    main()
