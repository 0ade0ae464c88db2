"""Run every benchmark: `python -m bench [name ...]` (names: simulate, ingest, capacity, traffic)."""

from __future__ import annotations

import importlib
import sys
import time

ORDER = ("simulate", "ingest", "capacity", "traffic")


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")] or list(ORDER)  # flags (e.g. --quick) reach the modules via sys.argv
    failed = []
    for name in names:
        t0 = time.perf_counter()
        print(f"# bench {name}", flush=True)
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception as exc:  # keep going: one failing benchmark must not hide the others
            failed.append(name)
            print(f"# bench {name} FAILED: {type(exc).__name__}: {exc}", flush=True)
        print(f"BENCH bench_{name}_wall_seconds {time.perf_counter() - t0:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
