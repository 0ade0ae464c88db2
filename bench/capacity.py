"""Capacity-model benchmarks: published fits, speed, and parameter recovery.

``python -m bench.capacity`` (or ``main()``) prints ``BENCH <name> <value> <unit>``
lines.  The converters below turn the real files in ``data/real/scaling/`` (their
own column names) into the load-test contract ``tier, config, n, throughput``;
they live here, not in the package, because they only serve these checks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SCALING_DIR = Path(__file__).resolve().parents[1] / "data" / "real" / "scaling"

# Published least-squares fits (data/real/PROVENANCE.md, sections A1, A2, A4).
PUBLISHED = {
    "specsdm91": {"sigma": 0.0277285, "kappa": 0.0001044, "lam": 89.9952384},
    "raytracer": {"sigma": 0.057771, "kappa": 0.0, "lam": 21.848843},
    "cisco": {"sigma": 0.02671591, "kappa": 7.690945e-4, "lam": 995.6486},
}


def usl_benchmarks_frame(scaling_dir: Path = SCALING_DIR) -> pd.DataFrame:
    """specsdm91, raytracer and cisco as one load-test frame, one tier (and one config) each."""
    files = {
        "specsdm91": ("usl_specsdm91.csv", "load_users", "throughput_scripts_per_hour"),
        "raytracer": ("usl_raytracer.csv", "processors", "throughput_ops_per_sec"),
        "cisco": ("usl_cisco_schwartz.csv", "concurrency", "throughput"),
    }
    parts = []
    for name, (fname, n_col, y_col) in files.items():
        raw = pd.read_csv(scaling_dir / fname)
        parts.append(pd.DataFrame({"tier": name, "config": name, "n": raw[n_col].astype(float), "throughput": raw[y_col].astype(float)}))
    return pd.concat(parts, ignore_index=True)


def nginx_frame(scaling_dir: Path = SCALING_DIR, protocol: str = "http") -> pd.DataFrame:
    """The NGINX keep-alive requests/s table: one tier, one config per response size."""
    raw = pd.read_csv(scaling_dir / "nginx_webserver_rps_vs_cpus.csv")
    raw = raw[(raw["protocol"] == protocol) & (raw["metric"] == "requests_per_sec")]
    return pd.DataFrame(
        {
            "tier": f"nginx-{protocol}",
            "config": [f"nginx-{protocol}-{int(kb)}kb" for kb in raw["response_size_kb"]],
            "n": raw["cpus"].astype(float).to_numpy(),
            "throughput": raw["value"].astype(float).to_numpy(),
        }
    )


def _fit_real(frame: pd.DataFrame, *, likelihood: str, priors: dict | None, draws: int, tune: int, seed: int):
    from bayescap.models import capacity as cap

    return cap.fit_capacity(frame, likelihood=likelihood, priors=priors, draws=draws, tune=tune, seed=seed)


def real_frame() -> pd.DataFrame:
    """specsdm91 + raytracer + cisco + NGINX HTTP (plateau past its first point dropped), four tiers."""
    from bayescap.models.capacity_data import detect_ceiling, exclude_ceiling_points

    ng = nginx_frame()
    return pd.concat([usl_benchmarks_frame(), exclude_ceiling_points(ng, detect_ceiling(ng))], ignore_index=True)


NOISE_MODELS = {
    "student_t": ("student_t", None),
    "normal": ("normal", None),
    "lognormal": ("lognormal", None),
    "student_t_sqrt": ("student_t", {"noise_power": 0.5}),
}


def noise_comparison(*, draws: int = 1000, tune: int = 1000, seed: int = 20261126, figure_dir: Path | None = None) -> pd.DataFrame:
    """Fit the real benchmarks under each noise model; LOO per dataset, PPC coverage, published-fit checks.

    Returns one row per (model, dataset): ``elpd_loo``, ``se``, ``p_loo``,
    ``k_bad`` (Pareto k > 0.7), ``ppc90`` (share of points inside the 90%
    posterior predictive interval), ``published_inside`` (how many of the
    published sigma, kappa, lam lie inside the 90% interval, out of 3) and
    ``lam_median``.  With ``figure_dir``, writes capacity_model_ppc.png.
    """
    import warnings

    from arviz_stats import loo

    from bayescap.models import capacity as cap

    frame = real_frame()
    rows, fits, pointwise = [], {}, {}
    for name, (lik, pri) in NOISE_MODELS.items():
        tree = _fit_real(frame, likelihood=lik, priors=pri, draws=draws, tune=tune, seed=seed)
        fits[name] = tree
        summ = cap.summarise_capacity(tree)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = loo(tree, pointwise=True)
        obs_tier = tree["observed_data"]["obs_tier"].values
        elpd_i = np.asarray(res.elpd_i).ravel()
        pointwise[name] = elpd_i
        k_i = np.asarray(res.pareto_k).ravel()
        rep = tree["posterior_predictive"]["throughput"].stack(s=("chain", "draw")).values
        y = tree["observed_data"]["throughput"].values
        lo, hi = np.quantile(rep, [0.05, 0.95], axis=1)
        inside = (y >= lo) & (y <= hi)
        for tier in dict.fromkeys(obs_tier):
            sel = obs_tier == tier
            e = elpd_i[sel]
            pub = PUBLISHED.get(tier)
            rows.append(
                {
                    "model": name,
                    "dataset": tier,
                    "elpd_loo": float(e.sum()),
                    "se": float(np.sqrt(sel.sum() * np.var(e))),
                    "k_bad": int((k_i[sel] > 0.7).sum()),
                    "ppc90": float(inside[sel].mean()),
                    "published_inside": (
                        sum(summ[tier][k]["q05"] <= v <= summ[tier][k]["q95"] for k, v in pub.items()) if pub else np.nan
                    ),
                    "lam_median": summ[tier]["lam"]["median"] if tier in summ else np.nan,
                    "divergences": cap.diagnostics(tree)["divergences"],
                }
            )
    table = pd.DataFrame(rows)
    # paired differences against the first model: the SE of a difference is far smaller than either SE
    ref_name = next(iter(NOISE_MODELS))
    diffs, ses = [], []
    for _, row in table.iterrows():
        tiers = fits[row["model"]]["observed_data"]["obs_tier"].values
        d = pointwise[row["model"]][tiers == row["dataset"]] - pointwise[ref_name][tiers == row["dataset"]]
        diffs.append(float(d.sum()))
        ses.append(float(np.sqrt(d.size * np.var(d))))
    table[f"elpd_diff_vs_{ref_name}"] = diffs
    table["se_diff"] = ses
    if figure_dir is not None:
        _ppc_figure(fits, Path(figure_dir) / "capacity_model_ppc.png")
        _curve_figure(fits[ref_name], Path(figure_dir) / "capacity_model_curves.png")
    return table


def _curve_figure(tree, path: Path) -> None:
    """Measured points, posterior median with 50%/90% bands, linear extrapolation, N* (the report's figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayescap.models.capacity import capacity_curve

    configs = ["specsdm91", "raytracer", "cisco", "nginx-http-10kb"]
    fig, axes = plt.subplots(1, len(configs), figsize=(4 * len(configs), 3.2))
    for ax, config in zip(axes, configs):
        c = capacity_curve(tree, config)
        ax.fill_between(c["n"], c["q05"], c["q95"], alpha=0.2, color="C0", label="90%")
        ax.fill_between(c["n"], c["q25"], c["q75"], alpha=0.4, color="C0", label="50%")
        ax.plot(c["n"], c["median"], color="C0", label="posterior median")
        ax.plot(c["n"], c["linear"], "--", color="C3", label="linear N*X(1)")
        ax.plot(c["points_n"], c["points_y"], "k.", label="measured")
        if c["n_star"] is not None and c["n_star"] < max(c["n"]):
            ax.axvline(c["n_star"], color="grey", ls=":", label="N* (median)")
        ax.set_ylim(0, 1.3 * max(c["q95"]))
        ax.set_title(config, fontsize=9)
        ax.set_xlabel("N")
    axes[0].set_ylabel("throughput")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _ppc_figure(fits: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = ["specsdm91", "raytracer", "cisco", "nginx-http-1kb"]
    fig, axes = plt.subplots(len(fits), len(configs), figsize=(4 * len(configs), 2.8 * len(fits)), squeeze=False)
    for r, (name, tree) in enumerate(fits.items()):
        obs = tree["observed_data"]
        rep = tree["posterior_predictive"]["throughput"].stack(s=("chain", "draw")).values
        n = tree["constant_data"]["n"].values
        for c, config in enumerate(configs):
            ax = axes[r, c]
            sel = obs["obs_config"].values == config
            lo, med, hi = np.quantile(rep[sel], [0.05, 0.5, 0.95], axis=1)
            ax.fill_between(n[sel], lo, hi, alpha=0.3, label="90% predictive")
            ax.plot(n[sel], med, "-", lw=1, label="median")
            ax.plot(n[sel], obs["throughput"].values[sel], "k.", label="measured")
            ax.set_title(f"{name}: {config}", fontsize=9)
            if c == 0:
                ax.set_ylabel("throughput")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# --- parameter recovery on data simulated from the prior -------------------------------------

RECOVERY_GRIDS = (
    (1, 2, 4, 8, 12, 16, 24, 32),
    (1, 2, 4, 8, 16, 32, 48, 64),
    (1, 8, 32),  # a thin config that must borrow strength from its siblings
)


def simulate_from_prior(rng: np.random.Generator, priors: dict, *, base_scale: float = 1000.0) -> tuple[pd.DataFrame, dict]:
    """One dataset (one tier, three configs) with parameters drawn from the model's prior.

    The throughput unit is arbitrary (``base_scale``): the model's priors are
    unit-free.  Returns the frame and the true ``{config: {sigma, kappa, lam}}``.
    """
    p = priors
    loglam_mu = rng.normal(0.0, p["loglam_mu_sd"])
    shape = p["tau_shape"]
    loglam_tau = rng.gamma(shape, p["loglam_tau_mean"] / shape)
    s_mu = rng.normal(p["sigma_logit_mu"], p["sigma_logit_mu_sd"])
    s_tau = rng.gamma(shape, p["sigma_logit_tau_mean"] / shape)
    k_mu = rng.normal(p["kappa_scaled_mu"], p["kappa_scaled_mu_sd"])
    k_tau = rng.gamma(shape, p["kappa_scaled_tau_mean"] / shape)
    nu = rng.gamma(p["nu_alpha"], 1.0 / p["nu_beta"])
    rows, truth = [], {}
    for j, grid in enumerate(RECOVERY_GRIDS):
        n = np.asarray(grid, float)
        lam = base_scale * np.exp(rng.normal(loglam_mu, loglam_tau))
        sigma = 1.0 / (1.0 + np.exp(-rng.normal(s_mu, s_tau)))
        kappa = max(rng.normal(k_mu, k_tau), 0.0) / n.max() ** 2
        mu = lam * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))
        eps = abs(rng.normal(0.0, p["noise_rel_sd"]))
        ref = mu.mean()  # the model uses the measured mean; the simulation the true one
        y = mu + eps * ref * (mu / ref) ** p["noise_power"] * rng.standard_t(nu, size=n.size)
        y = np.maximum(y, 1e-3 * mu.mean())  # a load test never reports <= 0 req/s
        config = f"c{j}"
        truth[config] = {"sigma": sigma, "kappa": kappa, "lam": lam}
        rows.append(pd.DataFrame({"tier": "sim", "config": config, "n": n, "throughput": y}))
    return pd.concat(rows, ignore_index=True), truth


def recovery(*, n_datasets: int = 100, draws: int = 500, tune: int = 1000, seed: int = 20261126) -> dict:
    """Coverage of the 90% intervals over ``n_datasets`` prior-simulated datasets (one compile, data swapped).

    Returns ``{"coverage": {param: share}, "n_intervals": int, "fit_seconds": [...],
    "divergent_fits": int, "retried_fits": int, "rhat_above_1_05_fits": int}``; ``retried_fits`` counts the fits
    sampled again at target_accept 0.98 after a divergence at 0.9 (``divergent_fits`` counts those still divergent).
    """
    from bayescap.models import capacity as cap
    from bayescap.models.capacity_data import build_design
    from bayescap.models.capacity_priors import merge_priors

    priors = merge_priors()
    rng = np.random.default_rng(seed)
    hits = {k: [] for k in ("sigma", "kappa", "lam")}
    seconds, divergent, bad_rhat, retried = [], 0, 0, 0
    for i in range(n_datasets):
        frame, truth = simulate_from_prior(rng, priors)
        design = build_design(frame, priors)
        t0 = time.perf_counter()
        tree = cap.fit_design(design, priors, draws=draws, tune=tune, seed=seed + i)
        seconds.append(time.perf_counter() - t0)
        diag = cap.diagnostics(tree)
        divergent += int(diag["divergences"] > 0)
        retried += int(tree.attrs.get("divergences_before_retry") is not None)
        bad_rhat += int(diag["max_r_hat"] > 1.05)
        post = tree["posterior"]
        for config, true in truth.items():
            for k, v in true.items():
                q05, q95 = np.quantile(post[k].sel(config=config).values, [0.05, 0.95])
                hits[k].append(bool(q05 <= v <= q95))
    return {
        "coverage": {k: float(np.mean(v)) for k, v in hits.items()},
        "n_intervals": len(hits["lam"]),
        "fit_seconds": seconds,
        "divergent_fits": divergent,
        "retried_fits": retried,
        "rhat_above_1_05_fits": bad_rhat,
    }


FRESH_PROCESS_FIT = """
import json, time
t0 = time.perf_counter()
from bench.capacity import usl_benchmarks_frame
from bayescap.models.capacity import fit_capacity
frame = usl_benchmarks_frame()
t1 = time.perf_counter()
fit_capacity(frame, seed={seed})
t2 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "fit": t2 - t1}}))
"""


def fresh_process_fit(cache: str, *, seed: int) -> dict[str, float]:
    """The first fit of the three USL benchmarks in a new process whose compiled-density cache is ``cache``."""
    env = {**os.environ, "BAYESCAP_CACHE_DIR": cache}
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS_FIT.format(seed=seed)], env=env, cwd=root,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def speed(*, seed: int = 20261126) -> dict:
    """Seconds for a first fit on a new machine (empty cache: compiles the C density), in a new process (loads
    it), and for refits on new data in the same process (the three USL benchmarks, default draws)."""
    from bayescap.models import capacity as cap

    with tempfile.TemporaryDirectory() as cache:
        cold = fresh_process_fit(cache, seed=seed)
        warm = fresh_process_fit(cache, seed=seed)
    frame = usl_benchmarks_frame()
    cap.fit_capacity(frame, seed=seed)  # loads the density in this process
    rng = np.random.default_rng(seed)
    refits, diags = [], []
    for i in range(3):
        noisy = frame.assign(throughput=frame["throughput"] * rng.lognormal(0.0, 0.02, len(frame)))
        t0 = time.perf_counter()
        tree = cap.fit_capacity(noisy, seed=seed + i)
        refits.append(time.perf_counter() - t0)
        diags.append(cap.diagnostics(tree))
    return {"first_fit_new_machine_seconds": cold["fit"], "first_fit_seconds": warm["fit"],
            "refit_seconds": float(np.median(refits)),
            "refit_max_r_hat": max(d["max_r_hat"] for d in diags),
            "refit_min_ess_bulk": min(d["min_ess_bulk"] for d in diags),
            "refit_divergences": sum(d["divergences"] for d in diags)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--datasets", type=int, default=100, help="recovery datasets (default 100)")
    parser.add_argument("--skip-recovery", action="store_true")
    parser.add_argument("--noise", action="store_true", help="also run the noise-model comparison (4 compiles)")
    parser.add_argument("--figures", type=Path, default=None, help="directory for the comparison figure")
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)  # via `python -m bench capacity ...` too

    sp = speed()
    print(f"BENCH capacity_first_fit_new_machine_seconds {sp['first_fit_new_machine_seconds']:.2f} s "
          "(new process, empty cache: compiles the C density)", flush=True)
    print(f"BENCH capacity_first_fit_seconds {sp['first_fit_seconds']:.2f} s (new process, density from the cache)", flush=True)
    print(f"BENCH capacity_refit_seconds {sp['refit_seconds']:.2f} s", flush=True)
    print(f"BENCH capacity_refit_max_r_hat {sp['refit_max_r_hat']:.4f} (3 refits, 2 chains x 1,000 draws)", flush=True)
    print(f"BENCH capacity_refit_min_ess_bulk {sp['refit_min_ess_bulk']:.0f} draws", flush=True)
    print(f"BENCH capacity_refit_divergences {sp['refit_divergences']} count", flush=True)
    if args.noise:
        table = noise_comparison(figure_dir=args.figures)
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(table.to_string(index=False))
        for name, g in table.groupby("model", sort=False):
            print(f"BENCH capacity_elpd_loo_{name} {g['elpd_loo'].sum():.1f} elpd")
            print(f"BENCH capacity_divergences_{name} {int(g['divergences'].iloc[0])} count")
    if not args.skip_recovery:
        rec = recovery(n_datasets=args.datasets)
        for k, v in rec["coverage"].items():
            print(f"BENCH capacity_coverage90_{k} {v:.3f} fraction")
        print(f"BENCH capacity_recovery_intervals {rec['n_intervals']} count")
        print(f"BENCH capacity_recovery_divergent_fits {rec['divergent_fits']} count")
        print(f"BENCH capacity_recovery_retried_fits {rec['retried_fits']} count (a divergence at target_accept 0.9)")
        print(f"BENCH capacity_recovery_rhat_above_1_05_fits {rec['rhat_above_1_05_fits']} count")
        print(f"BENCH capacity_recovery_fit_seconds_median {np.median(rec['fit_seconds']):.2f} s")


if __name__ == "__main__":
    main()
