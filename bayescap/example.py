"""The default example: a synthetic e-commerce start-up with a sale every Thursday.

Everything is generated from documented "true" parameters with a fixed seed, so
tests can check that the models recover them. ``python -m bayescap.example DIR``
rewrites the files in ``DIR`` (the committed copy lives in ``data/example/``).

The example is synthetic on purpose: the real datasets in ``data/real/`` (Wikipedia
page views, an AWS load balancer, published USL benchmarks) are used by the tests and
benchmarks, but none of them is one company's traffic *and* load tests together.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayescap import usl

EXAMPLE_SEED = 20261126


@dataclass(frozen=True)
class TrafficTruth:
    start: str = "2024-09-01"
    end: str = "2026-10-31"
    visits_at_start: float = 180_000.0
    growth_per_year: float = 0.35  # +35% a year
    level_rw_sd: float = 0.006  # daily random-walk step of the log level
    weekday_effect: tuple[float, ...] = (0.05, 0.02, 0.0, 0.0, -0.04, -0.14, -0.09)  # Mon..Sun, log scale
    yearly_amplitude: float = 0.12  # log-scale bump peaking in late November
    sales_start: str = "2025-01-02"  # first Thursday sale
    sale_log_lift_mean: float = float(np.log(3.0))  # a sale day brings ~3x the visits
    sale_log_lift_sd: float = 0.20  # spread between sales
    normal_noise_sd: float = 0.06
    event_noise_sd: float = 0.14  # sale days diverge more
    competitor_days: int = 12
    competitor_log_effect: float = -0.25
    missing_days: int = 4
    hourly_weeks: int = 8
    normal_peak_factor: float = 1.9  # busiest hour / mean hour on a normal day
    event_peak_factor: float = 3.0  # sale launch at noon


@dataclass(frozen=True)
class ConfigTruth:
    tier: str
    config: str
    level: str
    sigma: float
    kappa: float
    lam: float
    n: tuple[int, ...]
    repeats: int = 2
    noise_cv: float = 0.025


@dataclass(frozen=True)
class LoadTestTruth:
    configs: tuple[ConfigTruth, ...] = field(
        default_factory=lambda: (
            ConfigTruth("static", "c6i.xlarge", "node", 0.04, 0.0008, 1400.0, (1, 2, 3, 4)),
            ConfigTruth("static", "c6i.2xlarge", "node", 0.05, 0.0010, 1350.0, (1, 2, 4, 6, 8)),
            ConfigTruth("app", "c6i.2xlarge", "node", 0.06, 0.0025, 40.0, (1, 2, 4, 6, 8)),
            ConfigTruth("app", "c6i.4xlarge", "node", 0.07, 0.0022, 38.0, (1, 2, 4, 8, 12, 16)),
            # scale-out: nodes of c6i.2xlarge behind the load balancer, sharing one database
            ConfigTruth("app", "c6i.2xlarge", "cluster", 0.03, 0.0005, 0.0, (1, 2, 3, 4, 6)),
        )
    )


def _yearly(dates: pd.DatetimeIndex, amplitude: float) -> np.ndarray:
    # a smooth bump centred on 25 November (Black Friday season), a small dip in summer
    day = dates.day_of_year.to_numpy()
    phase = 2 * np.pi * (day - 329) / 365.25
    return amplitude * (np.exp(2.0 * (np.cos(phase) - 1.0)) - 0.25)


def generate_traffic(truth: TrafficTruth = TrafficTruth(), seed: int = EXAMPLE_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily history (date,count,event_sale,competitor_event) and hourly counts for the last weeks."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(truth.start, truth.end, freq="D")
    n = len(dates)
    t_years = np.arange(n) / 365.25
    level = np.log(truth.visits_at_start) + np.log1p(truth.growth_per_year) * t_years
    level = level + np.cumsum(rng.normal(0.0, truth.level_rw_sd, n))
    weekday = np.asarray(truth.weekday_effect)[dates.day_of_week]
    sale = ((dates.day_of_week == 3) & (dates >= pd.Timestamp(truth.sales_start))).astype(int)
    lifts = rng.normal(truth.sale_log_lift_mean, truth.sale_log_lift_sd, n) * sale
    candidates = np.flatnonzero(sale == 0)
    competitor = np.zeros(n, dtype=int)
    competitor[rng.choice(candidates[candidates > 30], truth.competitor_days, replace=False)] = 1
    noise_sd = np.where(sale == 1, truth.event_noise_sd, truth.normal_noise_sd)
    log_mu = level + weekday + _yearly(dates, truth.yearly_amplitude) + lifts + truth.competitor_log_effect * competitor
    counts = np.round(np.exp(log_mu + rng.normal(0.0, 1.0, n) * noise_sd)).astype(np.int64)
    daily = pd.DataFrame(
        {"date": dates.strftime("%Y-%m-%d"), "count": counts, "event_sale": sale, "competitor_event": competitor}
    )
    # a few missing days (an exporter outage): left out, never filled
    missing = rng.choice(np.arange(40, n - 120), truth.missing_days, replace=False)
    daily = daily.drop(index=missing).reset_index(drop=True)

    # hourly counts for the last weeks: diurnal shape, sale days peak at the noon launch
    last = daily.tail(7 * truth.hourly_weeks)
    hours = np.arange(24)
    normal_shape = np.exp(-0.5 * ((hours - 20.5) / 3.2) ** 2) + 0.18
    event_shape = normal_shape + 1.4 * np.exp(-0.5 * ((hours - 12.5) / 1.3) ** 2)

    def scaled(shape: np.ndarray, peak: float) -> np.ndarray:
        # choose the floor so that max/mean equals the documented peak factor
        s = shape - shape.min()
        lo, hi = 0.0, 50.0
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            pf = (s + mid).max() / (s + mid).mean()
            lo, hi = (lo, mid) if pf < peak else (mid, hi)
        w = s + 0.5 * (lo + hi)
        return w / w.sum()

    shapes = {0: scaled(normal_shape, truth.normal_peak_factor), 1: scaled(event_shape, truth.event_peak_factor)}
    rows = []
    for date, count, ev in zip(last["date"], last["count"], last["event_sale"]):
        expected = count * shapes[int(ev)]
        hourly = rng.poisson(expected)
        for h, c in zip(hours, hourly):
            rows.append((f"{date} {h:02d}:00:00", int(c)))
    hourly_df = pd.DataFrame(rows, columns=["timestamp", "count"])
    return daily, hourly_df


def generate_loadtest(truth: LoadTestTruth = LoadTestTruth(), seed: int = EXAMPLE_SEED) -> pd.DataFrame:
    """Load-test points (tier,config,level,n,throughput,repeat) drawn from USL truths with noise.

    Cluster rows measure whole nodes: their throughput is the node's own X(vcpus) scaled by
    the scale-out USL, so ``lam`` of a cluster truth is ignored.
    """
    rng = np.random.default_rng(seed + 1)
    node_truth = {(c.tier, c.config): c for c in truth.configs if c.level == "node"}
    vcpus = {"c6i.xlarge": 4, "c6i.2xlarge": 8, "c6i.4xlarge": 16}
    rows = []
    for c in truth.configs:
        for n in c.n:
            for r in range(c.repeats):
                if c.level == "node":
                    mean = usl.throughput(n, c.sigma, c.kappa, c.lam)
                else:
                    node = node_truth[(c.tier, c.config)]
                    per_node = usl.throughput(vcpus[c.config], node.sigma, node.kappa, node.lam)
                    mean = usl.throughput(n, c.sigma, c.kappa, per_node)
                value = mean * (1.0 + rng.normal(0.0, c.noise_cv))
                rows.append((c.tier, c.config, c.level, n, round(float(value), 2), r))
    return pd.DataFrame(rows, columns=["tier", "config", "level", "n", "throughput", "repeat"])


def truths_as_dict() -> dict:
    """The documented truths, for tests and the README."""
    return {"traffic": asdict(TrafficTruth()), "loadtest": [asdict(c) for c in LoadTestTruth().configs]}


def write_example(out_dir: str | Path, seed: int = EXAMPLE_SEED) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    daily, hourly = generate_traffic(seed=seed)
    load = generate_loadtest(seed=seed)
    paths = [out / "traffic.csv", out / "traffic_hourly.csv", out / "loadtest.csv"]
    daily.to_csv(paths[0], index=False, lineterminator="\n")
    hourly.to_csv(paths[1], index=False, lineterminator="\n")
    load.to_csv(paths[2], index=False, lineterminator="\n")
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write the synthetic example inputs (traffic, hourly traffic, load tests).")
    p.add_argument("out_dir", type=Path)
    p.add_argument("--seed", type=int, default=EXAMPLE_SEED)
    args = p.parse_args(argv)
    for path in write_example(args.out_dir, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
