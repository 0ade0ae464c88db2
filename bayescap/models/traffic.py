"""Traffic model: daily visits with normal-day and event-day regimes, and the intraday peak factor.

Public functions (contracts in docs/architecture.md, formulas in docs/traffic_model.md):

- :func:`fit_traffic` history -> DataTree (posterior, sample_stats, observed_data, constant_data,
  posterior_predictive)
- :func:`forecast_traffic` posterior + future event calendar -> Dataset (draw, date) of visits and peak factor
- :func:`summarise_traffic` posterior -> dict for summary.json
- :func:`diagnostics` posterior -> divergences, max r-hat, min bulk ESS

Sampling uses nutpie directly (the same sampler ``pm.sample`` picks) so that one compiled model is
re-used for every history of the same shape; see :mod:`bayescap.models.traffic_model`.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special
from threadpoolctl import threadpool_limits

from bayescap import dims
from bayescap.errors import InputError, ModelError
from bayescap.models.traffic_design import (
    DAYS_PER_YEAR,
    TrafficDesign,
    event_types_of,
    fourier_features,
    noncentred_walk,
    occurrence_runs,
    weekday_yearly_features,
)
from bayescap.models.nutpie_glue import c_model_or_none
from bayescap.models.traffic_after import calendar_with_after_events, is_after_type
from bayescap.models.traffic_density import nutpie_model
from bayescap.models.traffic_model import compiled_model
from bayescap.models.traffic_news import NewsTail, news_tail, with_news_days
from bayescap.models.traffic_order import choose_fourier_order, design_for_order, scores_json
from bayescap.models.traffic_peak import daily_bucket_factors, peak_factor_draws, peak_posterior
from bayescap.models.traffic_whiten import LinearBlock, whiten
from bayescap.models.traffic_priors import (
    DEFAULT_OPTIONS,
    DEFAULT_PRIORS,
    merge_options,
    merge_priors,
)

__all__ = [
    "DEFAULT_OPTIONS",
    "DEFAULT_PRIORS",
    "diagnostics",
    "fit_traffic",
    "forecast_traffic",
    "summarise_traffic",
]

KNOT = "knot"
WEEKDAY = "day_of_week"
FOURIER = "fourier"
WEEKDAY_YEARLY = "weekday_x_fourier"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LIFT_FLOOR = 0.01  # an intensity-scaled lift never takes a day below 1% of its normal traffic
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0


# BLAS threads: the whitening's matrices are small (a few hundred columns), and OpenBLAS's threads spin against each
# other and the sampler's chains on a small machine -- a 214 x 214 solve took 28 ms with a busy second core instead of
# 0.5 ms single-threaded
@threadpool_limits.wrap(limits=1, user_api="blas")
def fit_traffic(
    history_df: pd.DataFrame,
    *,
    intraday: pd.DataFrame | None = None,
    options: dict | None = None,
    priors: dict | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int,
) -> xr.DataTree:
    """Fit the traffic model to a daily history (and an intraday series for the peak factor).

    Parameters
    ----------
    history_df : the ``read_traffic`` contract: ``date``, ``count``, ``event_<type>`` 0/1 columns,
        optionally ``competitor_event``; ``attrs["event_types"]``. Missing days are left out, not filled.
    intraday : ``timestamp``, ``count`` (hourly or finer) for the peak factor; ``None`` uses its prior.
    options : overrides of :data:`DEFAULT_OPTIONS` (``competitor_events="effect"|"exclude"``, ...).
    priors : overrides of :data:`DEFAULT_PRIORS`; the merged priors are saved in ``attrs["priors"]``.
    draws, tune, chains : per-chain posterior draws, tuning steps, chains (run in parallel).
    seed : seeds the sampler and the peak-factor draws; same seed and data give the same posterior.

    Returns
    -------
    DataTree with groups ``posterior`` (chain, draw, ...), ``sample_stats``, ``observed_data`` and
    ``constant_data`` (dim ``date``) and ``posterior_predictive`` (one-step-ahead replicated counts).
    """
    import nutpie

    if draws < 1 or tune < 1 or chains < 1:
        raise ModelError("draws, tune and chains must all be >= 1")
    pri = merge_priors(priors)
    opt = merge_options(options)
    t_order = time.perf_counter()
    order, order_scores = opt["fourier_order"], {}
    if order == "auto":  # chosen from the training history only (traffic_order.py); recorded in attrs
        # on the history's own event days: the yearly shape is chosen as without after-days (traffic_after.py), so
        # the option adds their lifts and does not move the order choice
        order, order_scores = choose_fourier_order(history_df, pri, {**opt, "event_after_days": 0})
    t_order = time.perf_counter() - t_order
    design = design_for_order(history_df, opt, int(order))
    t0 = time.perf_counter()
    noncentred = noncentred_walk(str(opt["level_param"]))
    block = whiten(design, pri, ar1=bool(opt["ar1"]), noncentred=noncentred)
    backend, compiled = str(opt["sampler_backend"]), None
    if backend == "c":
        compiled = c_model_or_none(lambda: nutpie_model(design, pri, block, ar1=bool(opt["ar1"]), noncentred=noncentred),
                                   model="traffic", compile_seconds="10-15 s")
    if compiled is None:  # asked for, or no C compiler: the same model through its PyMC graph (other draws)
        backend = "pymc"
        compiled = compiled_model(design, pri, block, ar1=bool(opt["ar1"]), noncentred=noncentred)
    t1 = time.perf_counter()
    thin = int(opt["thin"])
    raw = nutpie.sample(
        compiled,
        draws=int(draws) * thin,
        tune=int(tune),
        chains=int(chains),
        cores=int(chains),
        seed=int(seed),
        adaptation=str(opt["adaptation"]),
        target_accept=float(opt["target_accept"]),
        progress_bar=False,
        save_warmup=False,
        **({"mass_matrix_eigval_cutoff": float(opt["eigval_cutoff"])} if opt["adaptation"] == "low_rank" else {}),
    )
    t2 = time.perf_counter()
    raw_posterior, stats, n_divergent = _thinned(raw, thin)

    rng = np.random.default_rng([int(seed), 1])
    event_dates = set(design.dates[design.data["is_event"] > 0])
    table = None
    if intraday is not None:
        table = daily_bucket_factors(intraday, event_dates, span=(design.dates[0], design.dates[-1]))
    posterior = _posterior_dataset(raw_posterior, design, block, pri, opt, table, rng)
    posterior["new_event_lift"] = new_event_lift(posterior, int(seed))
    post = _post_arrays(posterior)
    mu_hist = _log_mean(post, design)  # mean log count per draw and history day: news days and the one-step terms
    if float(opt["news_tail_share"]) > 0:  # derived, for summary.json and the report; the forecast recomputes it
        p_news = _news_tail(post, design, opt, float(opt["news_tail_share"]), design.data["y"][None, :] - mu_hist).p
        shape = (posterior.sizes[dims.CHAIN], posterior.sizes[dims.DRAW])
        posterior["news_day_prob"] = ((dims.CHAIN, dims.DRAW), p_news.reshape(shape))
        posterior["news_day_prob"].attrs["description"] = "probability that a forecast normal day is a news day"
    step = _one_step(post, design, opt, mu_hist)
    idata = xr.DataTree.from_dict(
        {
            "posterior": posterior,
            "sample_stats": stats,
            "observed_data": _observed(design),
            "constant_data": _constant(design),
            "posterior_predictive": _replicated(posterior, design, step, rng),
            "log_likelihood": _log_likelihood(posterior, design, step),
        }
    )
    idata.attrs.update(
        {
            "model": "bayescap.traffic",
            "priors": json.dumps(pri, sort_keys=True),
            "options": json.dumps(opt, sort_keys=True),
            "event_types": json.dumps(list(design.event_types)),
            "seed": int(seed),
            "first_date": str(design.dates[0].date()),
            "last_date": str(design.dates[-1].date()),
            "compile_seconds": t1 - t0,
            "sampling_seconds": t2 - t1,
            "thin": thin,
            "sampler_backend": backend,  # "c", or "pymc" (asked for, or no C compiler)
            "divergences": n_divergent,  # over every post-warmup iteration, kept or not
            "level_param": "noncentred" if noncentred else "centred",
            "fourier_order": int(order),  # the order the design was built with (forecast_traffic rebuilds it)
            "fourier_order_scores": scores_json(order_scores),  # "auto": held-out log density per candidate
            "fourier_order_seconds": t_order,
            "peak_factor_source": "prior" if table is None or table.empty else f"intraday ({len(table)} days)",
        }
    )
    return idata


def _thinned(raw: xr.DataTree, thin: int) -> tuple[xr.Dataset, xr.Dataset, int]:
    """Every thin-th draw of the sampler's posterior and stats, and the divergences over *every* iteration.

    With the scale-adaptive walk coordinates the slowest quantities (an event lift, a knot, phi) have bulk ESS of about
    half an iteration each, so every second iteration carries nearly all the ESS while the derived arrays stay half
    as large (docs/traffic_model.md, "Sampling"). A kept draw's
    ``diverging`` flag says whether any iteration of its block diverged; ``n_steps`` is the block's mean.
    """
    keep = {dims.DRAW: slice(thin - 1, None, thin)}
    renumber = {dims.DRAW: np.arange(raw.posterior.sizes[dims.DRAW] // thin)}
    posterior = raw.posterior.to_dataset().isel(keep).assign_coords(renumber)
    full = raw.sample_stats.to_dataset()
    stats = full.isel(keep)
    for name, reduce in (("diverging", "max"), ("n_steps", "mean")):
        if name in full:
            blocks = getattr(full[name].coarsen({dims.DRAW: thin}), reduce)()
            stats[name] = ((dims.CHAIN, dims.DRAW), blocks.transpose(dims.CHAIN, dims.DRAW).values)
    divergences = int(full["diverging"].sum()) if "diverging" in full else 0
    return posterior, stats.assign_coords(renumber), divergences


def _flat(da: xr.DataArray) -> np.ndarray:
    """(chain, draw, ...) values as (chain*draw, ...)."""
    v = da.transpose(dims.CHAIN, dims.DRAW, ...).values
    return v.reshape((v.shape[0] * v.shape[1],) + v.shape[2:])


def _posterior_dataset(
    raw: xr.DataTree | xr.Dataset,
    design: TrafficDesign,
    block: LinearBlock,
    pri: dict[str, float],
    opt: dict,
    table: pd.DataFrame | None,
    rng: np.random.Generator,
) -> xr.Dataset:
    """Named, derived posterior quantities (knots, weekday effects, lifts) from the sampler's raw draws."""
    raw = raw.to_dataset() if isinstance(raw, xr.DataTree) else raw
    n_chain, n_draw = raw.sizes[dims.CHAIN], raw.sizes[dims.DRAW]
    shape = (n_chain, n_draw)
    g = {name: _flat(raw[name]) for name in raw.data_vars}
    for name, value in block.split(g.pop("z_lin"), g["rw_var"]).items():
        g[name] = value[:, 0] if name in ("drift_raw", "level0_raw") else value
    S = n_chain * n_draw
    drift = pri["drift_per_year_sd"] * g["drift_raw"]
    step = drift * design.knot_spacing / DAYS_PER_YEAR
    rw_sd = np.sqrt(g["rw_var"])
    if "z_rw" in g:  # non-centred walk
        start = float(design.data["y_center"]) + pri["level_sd"] * g["level0_raw"]
        walk = np.cumsum(step[:, None] + rw_sd[:, None] * g["z_rw"], axis=1)
        knots = start[:, None] + np.concatenate([np.zeros((S, 1)), walk], axis=1)
    else:
        knots = float(design.data["y_center"]) + g["knots_dev"]
    level0 = knots[:, 0]
    w6 = pri["weekday_sd"] * g["weekday_raw"]
    weekday = np.concatenate([w6, -w6.sum(axis=1, keepdims=True)], axis=1)
    yearly = pri["yearly_sd"] * g["yearly_raw"] if design.fourier_order > 0 else np.zeros((S, 0))
    if design.weekday_yearly_order > 0:
        weekday_yearly = pri["weekday_yearly_sd"] * g["weekday_yearly_raw"]
    else:
        weekday_yearly = np.zeros((S, 0))
    n_types = len(design.event_types)
    lift_mean = g["lift_mean"][:, :n_types]
    lift_sd = g["lift_sd"][:, :n_types]
    slot_type = design.data["slot_type"][: design.n_occ]
    free = design.data["slot_free"][: design.n_occ]
    occ = g["lift_mean"][:, slot_type] + g["lift_sd"][:, slot_type] * g["z_occ"][:, : design.n_occ] * free
    # a type none of whose occurrences has its own lift has no occurrence spread beyond the event-day noise
    has_free = np.array([bool(np.any(free[slot_type == j])) for j in range(n_types)], dtype=bool)
    lift_sd = np.where(has_free[None, :], lift_sd, 0.0)
    sigma_normal = g["sigma_normal"]
    sigma_event = sigma_normal + g["sigma_event_excess"]
    nu = pri["nu_min"] + g["nu_excess"]

    def da(values, extra_dims=(), coords=None):
        values = np.asarray(values).reshape(shape + np.asarray(values).shape[1:])
        return xr.DataArray(values, dims=(dims.CHAIN, dims.DRAW, *extra_dims), coords=coords)

    types = list(design.event_types)
    occ_types = [types[j] for j in design.occ_type]
    data_vars = {
        "level0": da(level0),
        "drift": da(drift),
        "rw_sd": da(rw_sd),
        "knots": da(knots, (KNOT,)),
        "weekday": da(weekday, (WEEKDAY,)),
        "yearly": da(yearly, (FOURIER,)),
        "weekday_yearly": da(weekday_yearly, (WEEKDAY_YEARLY,)),
        "lift_mean": da(lift_mean, (dims.EVENT_TYPE,)),
        "lift_sd": da(lift_sd, (dims.EVENT_TYPE,)),
        "event_lift": da(occ, (dims.EVENT,)),
        "sigma_normal": da(sigma_normal),
        "sigma_event": da(sigma_event),
        "nu": da(nu),
    }
    if opt["ar1"]:
        phi = 1.0 / (1.0 + np.exp(-(pri["ar_logit_mean"] + pri["ar_logit_sd"] * g["phi_raw"])))
        data_vars["phi"] = da(phi)
    if design.competitor_effect:
        data_vars["competitor_effect"] = da(g["competitor_effect"])
    peak = peak_posterior(table, pri, S, rng)
    data_vars["peak_m"] = da(peak["peak_m"], (dims.REGIME,))
    data_vars["peak_s"] = da(peak["peak_s"], (dims.REGIME,))
    data_vars["burst_factor"] = da(peak["burst_factor"])
    # the per-second peak factor of a typical (median) day of each regime
    data_vars["peak_factor"] = da((1.0 + np.exp(peak["peak_m"])) * peak["burst_factor"][:, None], (dims.REGIME,))
    coords = {
        dims.CHAIN: np.arange(n_chain),
        dims.DRAW: np.arange(n_draw),
        KNOT: np.arange(design.n_knots),
        WEEKDAY: list(WEEKDAY_NAMES),
        FOURIER: np.arange(2 * design.fourier_order),
        WEEKDAY_YEARLY: np.arange(12 * design.weekday_yearly_order),
        dims.EVENT_TYPE: types,
        dims.EVENT: np.arange(design.n_occ),
        dims.REGIME: list(dims.REGIMES),
    }
    ds = xr.Dataset(data_vars, coords=coords)
    ds = ds.assign_coords(
        event_type_of_event=((dims.EVENT,), np.asarray(occ_types, dtype=str)),
        event_date=((dims.EVENT,), np.asarray(design.occ_first_date, dtype="datetime64[ns]")),
    )
    ds.attrs["peak_bucket_seconds"] = float(peak["bucket_seconds"])
    ds.attrs["peak_days_normal"] = int(peak["n_days"][0])
    ds.attrs["peak_days_event"] = int(peak["n_days"][1])
    ds.attrs["peak_days_outside"] = 0 if table is None else int(table.attrs.get("days_outside", 0))
    return ds


def _post_arrays(posterior: xr.Dataset) -> dict[str, np.ndarray]:
    return {name: _flat(posterior[name]) for name in posterior.data_vars}


def _log_mean(post: dict[str, np.ndarray], design: TrafficDesign) -> np.ndarray:
    """Mean log count (draws, days) on the history calendar (the numpy twin of the compiled graph)."""
    d = design.data
    ki, w = d["knot_index"], d["knot_weight"]
    mu = post["knots"][:, ki] * (1.0 - w) + post["knots"][:, ki + 1] * w
    mu = mu + post["weekday"][:, d["weekday_index"]]
    mu = mu + post["yearly"] @ d["fourier"].T
    if design.weekday_yearly_order > 0:
        mu = mu + post["weekday_yearly"] @ d["weekday_yearly"].T
    if design.n_occ:
        occ = np.concatenate([post["event_lift"], np.zeros((post["event_lift"].shape[0], design.n_slots + 1 - design.n_occ))], axis=1)
        mu = mu + occ[:, d["occ_idx"]].sum(axis=2)
    if design.competitor_effect:
        mu = mu - post["competitor_effect"][:, None] * d["competitor"][None, :]
    return mu


def _news_tail(post: dict[str, np.ndarray], design: TrafficDesign, opt: dict, q: float, resid: np.ndarray) -> NewsTail:
    """Each draw's news days (traffic_news.py) from its residuals on the history (``resid``, draws x days)."""
    return news_tail(resid, post["phi"] if opt["ar1"] else None, post["sigma_normal"], post["nu"],
                     normal=design.data["is_event"] == 0, mask=design.data["mask"], prev_mask=design.data["prev_mask"], q=q)


def _observed(design: TrafficDesign) -> xr.Dataset:
    y = np.where(design.data["mask"] > 0, np.exp(design.data["y"]), np.nan)
    return xr.Dataset({"count": ((dims.DATE,), y)}, coords={dims.DATE: design.dates})


def _constant(design: TrafficDesign) -> xr.Dataset:
    occ_idx = design.data["occ_idx"]
    types = list(design.event_types)
    labels = []
    for t in range(len(design.dates)):
        labels.append("+".join(types[j] for j in range(len(types)) if occ_idx[t, j] < design.n_slots))
    return xr.Dataset(
        {
            "is_event": ((dims.DATE,), design.data["is_event"] > 0),
            "in_likelihood": ((dims.DATE,), design.data["mask"] > 0),
            "competitor_event": ((dims.DATE,), design.data["competitor"] > 0),
        },
        coords={dims.DATE: design.dates, "event_type": ((dims.DATE,), np.asarray(labels, dtype=str))},
    )


OneStep = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _one_step(post: dict[str, np.ndarray], design: TrafficDesign, opt: dict, mu: np.ndarray | None = None) -> OneStep:
    """Per draw and history day: the one-step-ahead location of the log count (mean plus the AR(1) carry-over of
    the previous day's residual), the noise scale, whether the day is an event day (Gaussian noise; Student-t
    on normal days), as in the likelihood; and per draw the Student-t degrees of freedom. ``mu``: the draws' mean log
    counts on the history (:func:`_log_mean`), where the caller has them."""
    if mu is None:
        mu = _log_mean(post, design)
    if opt["ar1"]:
        resid = design.data["y"][None, :] - mu
        prev = np.concatenate([np.zeros((mu.shape[0], 1)), resid[:, :-1]], axis=1) * design.data["prev_mask"][None, :]
        mu = mu + post["phi"][:, None] * prev
    event = design.data["is_event"][None, :] > 0
    scale = np.where(event, post["sigma_event"][:, None], post["sigma_normal"][:, None])
    return mu, scale, event, post["nu"][:, None]


def _draw_date_dataset(name: str, values: np.ndarray, posterior: xr.Dataset, dates) -> xr.Dataset:
    c, dr = posterior.sizes[dims.CHAIN], posterior.sizes[dims.DRAW]
    return xr.Dataset(
        {name: ((dims.CHAIN, dims.DRAW, dims.DATE), values.reshape(c, dr, len(dates)))},
        coords={dims.CHAIN: posterior[dims.CHAIN].values, dims.DRAW: posterior[dims.DRAW].values, dims.DATE: dates},
    )


def _replicated(posterior: xr.Dataset, design: TrafficDesign, step: OneStep, rng: np.random.Generator) -> xr.Dataset:
    """One-step-ahead replicated counts for each history day (posterior predictive check)."""
    loc, scale, event, nu = step
    S, n = loc.shape
    noise = np.where(event, rng.standard_normal((S, n)), rng.standard_t(nu, size=(S, n))) * scale
    return _draw_date_dataset("count", np.exp(loc + noise).astype(np.float32), posterior, design.dates)


def _log_likelihood(posterior: xr.Dataset, design: TrafficDesign, step: OneStep) -> xr.Dataset:
    """Pointwise log-likelihood of each day in the likelihood, per draw, for LOO (``bayescap compare``).

    The density of the day's count given the days before it (the AR(1) makes the days dependent, so this is
    the one-step-ahead conditional, the usual pointwise term for time series), on the count scale: the log
    count's density minus the log count. Days left out of the likelihood (missing, or competitor days with
    ``competitor_events="exclude"``) are left out here too.
    """
    loc, scale, event, nu = step
    y = design.data["y"][None, :]
    z2 = np.square((y - loc) / scale)
    # the two densities written out (scipy.stats' generic logpdf took 0.19 s for 730 days x 2,000 draws)
    t_const = special.gammaln((nu + 1.0) / 2.0) - special.gammaln(nu / 2.0) - 0.5 * np.log(nu * np.pi)
    log_t = t_const - (nu + 1.0) / 2.0 * np.log1p(z2 / nu)
    log_n = -0.5 * np.log(2.0 * np.pi) - 0.5 * z2
    ll = np.where(event, log_n, log_t) - np.log(scale) - y
    keep = design.data["mask"] > 0
    # float32 like the replicated counts (730 days x 2,000 draws: 5.8 MB in posteriors.nc, 12 in float64)
    return _draw_date_dataset("count", ll[:, keep].astype(np.float32), posterior, design.dates[keep])


def _design_for(idata: xr.DataTree, history_df: pd.DataFrame) -> tuple[TrafficDesign, dict, dict]:
    pri = json.loads(idata.attrs["priors"])
    opt = json.loads(idata.attrs["options"])
    design = design_for_order(history_df, opt, int(idata.attrs.get("fourier_order", opt["fourier_order"])))  # "auto" resolved at the fit
    if str(design.dates[0].date()) != idata.attrs["first_date"] or str(design.dates[-1].date()) != idata.attrs["last_date"]:
        raise ModelError(
            f"history_df covers {design.dates[0].date()}..{design.dates[-1].date()} but the posterior was fitted to "
            f"{idata.attrs['first_date']}..{idata.attrs['last_date']}; pass the history the model was fitted on"
        )
    return design, pri, opt


def forecast_traffic(
    idata: xr.DataTree,
    history_df: pd.DataFrame,
    calendar_df: pd.DataFrame,
    *,
    growth_pct_per_month: float | None = None,
    news_tail_share: float | None = None,
    seed: int,
) -> xr.Dataset:
    """Posterior predictive daily visits and peak factors over the future calendar.

    Parameters
    ----------
    idata : from :func:`fit_traffic`.
    history_df : the history the model was fitted on (its last residual starts the AR(1) path).
    calendar_df : one row per forecast date (after the history): ``date``, ``event_<type>`` 0/1,
        ``intensity_<type>`` (default 1); optionally ``competitor_event``. A run of consecutive flagged
        days of one type is one new occurrence, whose log-lift is drawn from its type's population
        Normal(lift_mean, lift_sd); intensity scales the extra visitors: lift' = 1 + intensity*(lift-1).
    growth_pct_per_month : replaces the fitted drift of the level after the history (e.g. 5.0 = +5%/month).
    news_tail_share : replaces the fit's option ``news_tail_share`` (news days, :mod:`bayescap.models.traffic_news`;
        0 = the Student-t noise alone). Forecast-only: no refit is needed to change it.
    seed : same seed => same draws; scenarios with different calendars share the random numbers
        (level path, daily noise, occurrence draws are indexed by day), so per-draw differences are meaningful.

    Returns
    -------
    Dataset with dims (draw, date): ``visits``, ``peak_factor``; coords on date ``is_event`` (bool)
    and ``event_type`` ("" on normal days, types joined by "+").
    """
    design, pri, opt = _design_for(idata, history_df)
    posterior = idata["posterior"].to_dataset()
    post = _post_arrays(posterior)
    types = list(design.event_types)
    cal = calendar_df.copy()
    if "date" not in cal.columns:
        raise InputError(None, "calendar column 'date'", "a future calendar with a date column")
    cal["date"] = pd.to_datetime(cal["date"]).dt.normalize()
    cal = cal.sort_values("date").reset_index(drop=True)
    if cal["date"].duplicated().any():
        raise InputError(None, "calendar column 'date'", "unique forecast dates")
    derived = [t for t in types if is_after_type(t)]
    cal = calendar_with_after_events(history_df, cal, [t for t in types if not is_after_type(t)], derived,
                                     opt.get("event_after_days", 0))
    last = design.dates[-1]
    if len(cal) == 0 or cal["date"].iloc[0] <= last:
        raise InputError(None, "calendar column 'date'", f"forecast dates after the last history date {last.date()}")
    unknown = [t for t in event_types_of(cal) if t not in types and cal[f"event_{t}"].astype(float).gt(0).any()]
    if unknown:
        raise InputError(None, f"calendar column 'event_{unknown[0]}'", f"an event type of the history ({', '.join(types) or 'none'})")

    S = post["knots"].shape[0]
    H = int((cal["date"].iloc[-1] - last).days)
    future = pd.date_range(last + pd.Timedelta(days=1), periods=H, freq="D")
    rng = np.random.default_rng(int(seed))
    # random numbers drawn in a fixed order and shape (depending only on S, H, number of types) -> common random numbers
    z_knot = rng.standard_normal((S, H // design.knot_spacing + 3))
    u_noise = rng.standard_normal((S, H))
    nu = post["nu"][:, None]
    chi_nu = rng.gamma(np.broadcast_to(nu / 2.0, (S, H)), 2.0)  # chi-square(nu) per draw, for Student-t draws
    z_lift = rng.standard_normal((S, H, max(len(types), 1)))
    z_peak = rng.standard_normal((S, H))

    # level: continue the random walk past the last knot
    n = len(design.dates)
    t_all = np.arange(n, n + H)
    last_knot = design.n_knots - 1
    need = int(t_all[-1] // design.knot_spacing + 2)
    extra = max(need - design.n_knots, 0)
    if growth_pct_per_month is not None and np.isfinite(growth_pct_per_month):
        if growth_pct_per_month <= -100:
            raise ModelError("growth_pct_per_month must be > -100")
        step = np.full(S, np.log1p(growth_pct_per_month / 100.0) * design.knot_spacing / DAYS_PER_MONTH)
    else:
        step = post["drift"] * design.knot_spacing / DAYS_PER_YEAR
    steps = step[:, None] + post["rw_sd"][:, None] * z_knot[:, :extra]
    knots = np.concatenate([post["knots"], post["knots"][:, last_knot : last_knot + 1] + np.cumsum(steps, axis=1)], axis=1)
    ki = t_all // design.knot_spacing
    w = (t_all % design.knot_spacing) / design.knot_spacing
    mu = knots[:, ki] * (1.0 - w) + knots[:, ki + 1] * w
    mu = mu + post["weekday"][:, future.day_of_week.to_numpy()]
    mu = mu + post["yearly"] @ fourier_features(future, design.fourier_order).T
    if design.weekday_yearly_order > 0:
        mu = mu + post["weekday_yearly"] @ weekday_yearly_features(future, design.weekday_yearly_order).T

    # events on the calendar (days not on the calendar are normal days)
    pos = future.get_indexer(cal["date"])
    is_event = np.zeros(H, dtype=bool)
    labels = np.full(H, "", dtype=object)
    for j, typ in enumerate(types):
        col = f"event_{typ}"
        flags = np.zeros(H, dtype=bool)
        intensity = np.ones(H)
        if col in cal.columns:
            flags[pos] = cal[col].fillna(0).astype(float).to_numpy() > 0
        icol = f"intensity_{typ}"
        if icol in cal.columns:
            intensity[pos] = cal[icol].fillna(1.0).astype(float).to_numpy()
        if not flags.any():
            continue
        if not is_after_type(typ):  # after-days keep the noise of normal days (traffic_after.py)
            is_event |= flags
        for first, last_day in occurrence_runs(flags):
            loglift = post["lift_mean"][:, j] + post["lift_sd"][:, j] * z_lift[:, first, j]
            for day in range(first, last_day + 1):
                scaled = 1.0 + intensity[day] * np.expm1(loglift)
                mu[:, day] += np.log(np.maximum(scaled, LIFT_FLOOR))
                labels[day] = typ if not labels[day] else f"{labels[day]}+{typ}"
    if design.competitor_effect and "competitor_event" in cal.columns:
        comp = np.zeros(H)
        comp[pos] = cal["competitor_event"].fillna(0).astype(float).to_numpy()
        mu = mu - post["competitor_effect"][:, None] * comp[None, :]

    # noise: Student-t (nu >= nu_min) on normal days, Gaussian on event days (as in the likelihood), each with its
    # regime's scale; AR(1) from the last history residual
    t_draws = np.where(is_event[None, :], u_noise, u_noise / np.sqrt(chi_nu / nu))
    # posteriors saved before the option existed forecast without news days, as they did then
    q_news = opt.get("news_tail_share", 0.0) if news_tail_share is None else news_tail_share
    q_news = float(merge_options({"news_tail_share": q_news})["news_tail_share"])  # checked: 0 or a share in (0, 0.5)
    # the history's residuals per draw: the news days' innovations and the AR(1)'s starting point
    resid_hist = design.data["y"][None, :] - _log_mean(post, design) if q_news > 0 or opt["ar1"] else None
    if q_news > 0:
        # news days (traffic_news.py): random numbers drawn after all the others, so that every other draw is unchanged
        v_news, w_news = rng.random((S, H)), rng.random((S, H))
        t_draws = with_news_days(t_draws, ~is_event, _news_tail(post, design, opt, q_news, resid_hist), v_news, w_news)
    scale = np.where(is_event[None, :], post["sigma_event"][:, None], post["sigma_normal"][:, None])
    eps = t_draws * scale
    if opt["ar1"]:
        observed = np.flatnonzero(design.data["mask"] > 0)
        last_obs = observed[-1]
        r = resid_hist[:, last_obs] * post["phi"] ** (n - 1 - last_obs)
        path = np.empty_like(eps)
        for h in range(H):
            r = post["phi"] * r + eps[:, h]
            path[:, h] = r
        eps = path
    visits = np.exp(mu + eps)

    regime = is_event.astype(int)
    pf = peak_factor_draws(post["peak_m"][:, regime], post["peak_s"][:, regime], post["burst_factor"][:, None], z_peak)

    ds = xr.Dataset(
        {
            "visits": ((dims.DRAW, dims.DATE), visits[:, pos]),
            "peak_factor": ((dims.DRAW, dims.DATE), pf[:, pos]),
        },
        coords={
            dims.DRAW: np.arange(S),
            dims.DATE: future[pos],
            "is_event": ((dims.DATE,), is_event[pos]),
            "event_type": ((dims.DATE,), np.asarray(labels[pos], dtype=str)),
        },
    )
    ds["visits"].attrs.update(units="visits/day", description="posterior predictive daily visits")
    ds["peak_factor"].attrs.update(description="busiest second / mean second of the day")
    ds.attrs.update(seed=int(seed), growth_pct_per_month=float("nan") if growth_pct_per_month is None else float(growth_pct_per_month))
    return ds


def _quantiles(x: np.ndarray) -> dict[str, float]:
    q05, q50, q95 = np.quantile(np.asarray(x, dtype=float).ravel(), [0.05, 0.5, 0.95])
    return {"median": float(q50), "q05": float(q05), "q95": float(q95)}


def new_event_lift(posterior: xr.Dataset, seed: int) -> xr.DataArray:
    """Lift of a *new* occurrence of each event type (chain, draw, event_type), as a ratio to a normal day.

    exp(lift_mean + lift_sd * z), z ~ Normal(0, 1) once per draw: the partially pooled lift a forecast gives a
    future event of the type (seeded, so one seed gives the same draws)."""
    if posterior.sizes.get(dims.EVENT_TYPE, 0) == 0:
        return xr.zeros_like(posterior["lift_mean"])
    rng = np.random.default_rng(int(seed) + 7)
    out = []
    for typ in posterior[dims.EVENT_TYPE].values.tolist():
        m = posterior["lift_mean"].sel({dims.EVENT_TYPE: typ})
        s = posterior["lift_sd"].sel({dims.EVENT_TYPE: typ})
        z = rng.standard_normal(m.size).reshape(m.shape)
        out.append(np.exp(m + s * z))
    return xr.concat(out, dim=dims.EVENT_TYPE).transpose(dims.CHAIN, dims.DRAW, dims.EVENT_TYPE)


def summarise_traffic(idata: xr.DataTree) -> dict:
    """Headline posterior numbers for summary.json (every one a quantile over posterior draws).

    ``event_lift[type]``: multiplicative lift of a *new* occurrence of the type (posterior predictive
    exp(lift_mean + lift_sd*z), what a forecast uses; :func:`new_event_lift`); ``typical_event_lift[type]``:
    exp(lift_mean); ``event_noise_sd`` / ``normal_noise_sd``: the log-scale noise scales of the two regimes;
    ``peak_factor[regime]``: busiest second / mean second on a typical day of the regime; ``news_day_share``: the
    probability that a forecast normal day is a news day (traffic_news.py; absent when news days are off).
    """
    post = idata["posterior"].to_dataset()
    lift_new = post["new_event_lift"] if "new_event_lift" in post else new_event_lift(post, int(idata.attrs.get("seed", 0)))
    out: dict = {"event_lift": {}, "typical_event_lift": {}}
    for typ in post[dims.EVENT_TYPE].values.tolist():
        out["event_lift"][typ] = _quantiles(_flat(lift_new.sel({dims.EVENT_TYPE: typ})))
        out["typical_event_lift"][typ] = _quantiles(np.exp(_flat(post["lift_mean"].sel({dims.EVENT_TYPE: typ}))))
    out["event_noise_sd"] = _quantiles(_flat(post["sigma_event"]))
    out["normal_noise_sd"] = _quantiles(_flat(post["sigma_normal"]))
    out["nu"] = _quantiles(_flat(post["nu"]))
    if "phi" in post:
        out["ar1_phi"] = _quantiles(_flat(post["phi"]))
    if "competitor_effect" in post:
        out["competitor_drop"] = _quantiles(1.0 - np.exp(-_flat(post["competitor_effect"])))
    out["growth_pct_per_month"] = _quantiles(np.expm1(_flat(post["drift"]) / 12.0) * 100.0)
    out["peak_factor"] = {
        regime: _quantiles(_flat(post["peak_factor"].sel({dims.REGIME: regime}))) for regime in dims.REGIMES
    }
    if "news_day_prob" in post:
        out["news_day_share"] = _quantiles(_flat(post["news_day_prob"]))
    out["peak_factor_source"] = idata.attrs.get("peak_factor_source", "")
    return out


SAMPLED_VARS = ("level0", "drift", "rw_sd", "knots", "weekday", "yearly", "weekday_yearly", "lift_mean", "lift_sd", "event_lift",
                "sigma_normal", "sigma_event", "nu", "phi", "competitor_effect")


def diagnostics(idata: xr.DataTree) -> dict:
    """Sampler health: ``divergences`` (count), ``max_r_hat`` (rank-normalised), ``min_ess_bulk``, over the
    sampled quantities (the exact conjugate peak-factor draws are left out)."""
    import arviz_stats

    post = idata["posterior"].to_dataset()
    names = [v for v in SAMPLED_VARS if v in post and post[v].size > 0]
    sub = post[names]
    import warnings

    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # constant quantities (a lift_sd fixed at 0) give nan with a RuntimeWarning; nan is skipped below
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = arviz_stats.rhat(sub)
        ess = arviz_stats.ess(sub, method="bulk")
    div = idata["sample_stats"]["diverging"] if "diverging" in idata["sample_stats"] else None
    return {
        "divergences": int(idata.attrs.get("divergences", div.sum() if div is not None else 0)),
        # constant quantities (e.g. a lift_sd fixed at 0) have no r-hat: nan is skipped
        "max_r_hat": float(np.nanmax([float(rhat[v].max(skipna=True)) for v in rhat.data_vars])),
        "min_ess_bulk": float(np.nanmin([float(ess[v].min(skipna=True)) for v in ess.data_vars])),
        "mean_tree_steps": float(idata["sample_stats"]["n_steps"].mean()) if "n_steps" in idata["sample_stats"] else float("nan"),
    }
