"""Default priors and options of the traffic model, documented in one place (see docs/traffic_model.md).

All scales are on the log-count scale unless stated otherwise. A user overrides any key through the
scenario file's ``[priors] traffic = {...}`` table or ``fit_traffic(priors=...)``; the merged priors are
saved in the posterior's ``attrs["priors"]``.
"""

from __future__ import annotations

import math

import numpy as np

from bayescap.errors import ModelError
from bayescap.models.traffic_after import AFTER_DAYS_MAX

DEFAULT_PRIORS: dict[str, float] = {
    # level: a Gaussian random walk on knots every `knot_spacing` days, linearly interpolated between knots
    "level_sd": 1.0,  # level at the first knot ~ Normal(median log count, level_sd)
    # drift ~ Normal(0, .) in log units per year (1.0: x0.37 to x2.7 a year at 1 sd; 0.5 held a start-up's x3 a year
    # to about x1.8: docs/traffic_model.md, "Priors")
    "drift_per_year_sd": 1.0,
    "rw_sd_per_knot": 0.1,  # prior median of the innovation sd per knot step (rw_sd^2 ~ InverseGamma(2, .), zero-avoiding)
    # seasonality
    "weekday_sd": 0.5,  # day-of-week effects ~ ZeroSumNormal(.)
    "weekday_yearly_sd": 0.2,  # weekday x yearly Fourier interaction coefficients ~ Normal(0, .)
    "yearly_sd": 0.3,  # Fourier coefficients ~ Normal(0, .)
    # events: log-lift of occurrence e of type j = mu_j + tau_j * z_e
    "lift_mean_mu": 0.3,  # mu_j ~ Normal(lift_mean_mu, lift_mean_sd): a mild lift a priori (exp(0.3) = 1.35x)
    "lift_mean_sd": 1.5,  # wide: from a 5% dip to a 30x spike within 2 sd
    "lift_sd_scale": 0.5,  # tau_j ~ HalfNormal(.): spread of occurrences of one type
    "competitor_effect_scale": 0.5,  # competitor-day drop ~ HalfNormal(.) (log units, subtracted)
    # noise: Student-t innovations with nu >= nu_min, separate scales for normal and event days
    "sigma_normal_scale": 0.3,  # HalfNormal scale
    "sigma_event_scale": 0.5,  # sigma_event = sigma_normal + HalfNormal(.) excess (event days diverge more)
    "nu_min": 5.0,  # lower bound of the Student-t degrees of freedom (bounded tails)
    "nu_excess_mean": 20.0,  # nu - nu_min ~ Exponential(mean = .)
    "ar_logit_mean": 0.0,  # AR(1) coefficient of the log residual: logit(phi) ~ Normal(ar_logit_mean, ar_logit_sd)
    "ar_logit_sd": 1.5,  # (phi between 0 and 1: persistence, never explosive)
    # intraday peak factor (see traffic_peak.py): x = log(bucket peak factor - 1) per day ~ Normal(m_r, s_r)
    "peak_m0": 0.0,  # prior mean of m_r: bucket peak factor 2 (busiest bucket twice the day's mean)
    "peak_kappa0": 1.0,  # prior pseudo-days behind peak_m0
    "peak_a0": 3.0,  # s_r^2 ~ InvGamma(peak_a0, peak_b0): prior median s ~ 0.33
    "peak_b0": 0.4,
    "peak_event_shift_mean": 0.3,  # event-day m minus normal-day m, when no event day has intraday data
    "peak_event_shift_sd": 0.3,
    "burst_sd": 0.1,  # log-sd of the burst factor (busiest second / busiest bucket's mean second)
    "burst_hourly_median": 1.25,  # burst factor median for hourly buckets (log-interpolated to 1.0 at 1 s)
}

# the random walk's innovation variance rw_sd^2 ~ InverseGamma(RW_SHAPE, RW_MEDIAN_GAMMA * rw_sd_per_knot^2), so that
# the prior median of rw_sd is rw_sd_per_knot (RW_MEDIAN_GAMMA = median of Gamma(RW_SHAPE, 1)); 90% prior interval
# for rw_sd_per_knot = 0.1: 0.06 .. 0.22
RW_SHAPE = 2.0
RW_MEDIAN_GAMMA = 1.6783469900166608

FOURIER_ORDER_MAX_AUTO = 10  # largest candidate of fourier_order="auto" (bayescap.models.traffic_order.CANDIDATES)

DEFAULT_OPTIONS: dict[str, object] = {
    "competitor_events": "effect",  # "effect" | "exclude"
    "knot_spacing": 7,  # days between random-walk knots
    # yearly Fourier pairs: "auto" (chosen per fit from its own history, see traffic_order.py) or an integer >= 1
    "fourier_order": "auto",
    "weekday_yearly_order": 3,  # Fourier pairs modulating the weekday effects over the year (0 = off)
    # random-walk parameterisation: "centred" (the knots in the scale-adaptive coordinates of traffic_whiten.py) |
    # "noncentred" (steps = rw_sd * z: slower, and divergences where the level barely moves; docs/traffic_model.md)
    "level_param": "centred",
    # single-day occurrences: "noise" (lift = lift_mean, spread = the Gaussian event-day noise: the two cannot be told
    # apart on one day) | "pooled" (own lifts) | "auto" ("noise" when a type has more than 20 single-day occurrences)
    "single_day_lifts": "noise",
    "ar1": True,  # AR(1) on the log residual (day-to-day persistence of news bursts)
    # days after each event occurrence that get lifts of their own (derived types after<k>:<type>, traffic_after.py;
    # Prophet's holiday upper_window): 0 = off (the default: docs/traffic_model.md, "Event after-days") | "auto" (two
    # for each type seen at most once a month, none for frequent ones such as a weekly sale) | a number for every type
    "event_after_days": 0,
    # forecast only: the upper tail share q of the normal-day Student-t beyond which the history's innovations are news
    # (traffic_news.py); 0 = off
    "news_tail_share": 0.025,
    "adaptation": "diag",  # nutpie mass-matrix adaptation: "diag" (the linear block is whitened, see traffic_whiten.py) | "low_rank"
    "target_accept": 0.9,
    # log density: "c" (hand-written twin of the PyMC graph in C, compiled once per machine by the system's C compiler,
    # see traffic_density.py; the PyMC graph where no C compiler works) | "pymc" (the PyMC graph itself, compiled by
    # nutpie in every new process)
    "sampler_backend": "c",
    "thin": 2,  # the sampler runs draws * thin iterations per chain and keeps every thin-th
    "eigval_cutoff": 2.0,  # nutpie low-rank adaptation: eigenvalues within [1/c, c] of 1 are ignored (larger = cheaper)
}


def merge_priors(priors: dict | None) -> dict[str, float]:
    """Defaults overridden by ``priors``; unknown keys are an error that lists the valid ones."""
    merged = dict(DEFAULT_PRIORS)
    for key, value in (priors or {}).items():
        if key not in DEFAULT_PRIORS:
            raise ModelError(f"unknown traffic prior {key!r}; valid keys: {', '.join(sorted(DEFAULT_PRIORS))}")
        value = float(value)
        if not math.isfinite(value):
            raise ModelError(f"traffic prior {key!r} must be a finite number, got {value}")
        merged[key] = value
    for key in ("level_sd", "drift_per_year_sd", "rw_sd_per_knot", "weekday_sd", "weekday_yearly_sd", "yearly_sd", "lift_mean_sd",
                "lift_sd_scale", "competitor_effect_scale", "sigma_normal_scale", "sigma_event_scale",
                "nu_excess_mean", "ar_logit_sd", "peak_kappa0", "peak_a0", "peak_b0",
                "peak_event_shift_sd", "burst_sd", "burst_hourly_median"):
        if merged[key] <= 0:
            raise ModelError(f"traffic prior {key!r} must be positive, got {merged[key]}")
    if merged["nu_min"] < 2.5:
        raise ModelError("traffic prior 'nu_min' must be >= 2.5 so that predictive draws have a finite variance")
    return merged


def merge_options(options: dict | None) -> dict[str, object]:
    """Defaults overridden by ``options``; unknown keys are an error."""
    merged = dict(DEFAULT_OPTIONS)
    for key, value in (options or {}).items():
        if key not in DEFAULT_OPTIONS:
            raise ModelError(f"unknown traffic option {key!r}; valid keys: {', '.join(sorted(DEFAULT_OPTIONS))}")
        merged[key] = value
    if merged["competitor_events"] not in ("effect", "exclude"):
        raise ModelError(f"option competitor_events must be 'effect' or 'exclude', got {merged['competitor_events']!r}")
    merged["fourier_order"] = _fourier_order(merged["fourier_order"])
    top = FOURIER_ORDER_MAX_AUTO if merged["fourier_order"] == "auto" else merged["fourier_order"]
    if int(merged["weekday_yearly_order"]) < 0 or int(merged["weekday_yearly_order"]) > top:
        raise ModelError(f"option weekday_yearly_order must be between 0 and fourier_order (at most {top})")
    after = merged["event_after_days"]
    if after != "auto":
        whole = not isinstance(after, bool) and isinstance(after, (int, float)) and after == int(after)
        if not whole or not 0 <= after <= AFTER_DAYS_MAX:
            raise ModelError(f"option event_after_days must be 'auto' or a whole number of days from 0 to "
                             f"{AFTER_DAYS_MAX}, got {after!r}")
        merged["event_after_days"] = int(after)
    if merged["single_day_lifts"] not in ("auto", "noise", "pooled"):
        raise ModelError(f"option single_day_lifts must be 'auto', 'noise' or 'pooled', got {merged['single_day_lifts']!r}")
    if merged["level_param"] not in ("centred", "noncentred"):
        raise ModelError(f"option level_param must be 'centred' or 'noncentred', got {merged['level_param']!r}")
    if merged["sampler_backend"] not in ("c", "pymc"):
        raise ModelError(f"option sampler_backend must be 'c' or 'pymc', got {merged['sampler_backend']!r}")
    if int(merged["thin"]) < 1:
        raise ModelError(f"option thin must be >= 1, got {merged['thin']!r}")
    if int(merged["knot_spacing"]) < 1:
        raise ModelError("option knot_spacing must be >= 1")
    if not isinstance(merged["ar1"], bool | np.bool_):
        raise ModelError(f"option ar1 must be true or false, got {merged['ar1']!r}")
    if merged["adaptation"] not in ("diag", "low_rank"):
        raise ModelError(f"option adaptation must be 'diag' or 'low_rank', got {merged['adaptation']!r}")
    if not 0 < float(merged["target_accept"]) < 1:
        raise ModelError(f"option target_accept must be between 0 and 1, got {merged['target_accept']!r}")
    q = merged["news_tail_share"]
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not (q == 0 or 0 < q < 0.5):
        raise ModelError(f"option news_tail_share must be 0 (off) or a share between 0 and 0.5, got {q!r}")
    if not float(merged["eigval_cutoff"]) > 1:
        raise ModelError(f"option eigval_cutoff must be above 1, got {merged['eigval_cutoff']!r}")
    return merged


WORD_OR_NUMBER = {"event_after_days"}  # "auto" or a number: merge_options checks them


def check_option(key: str, value: object) -> object:
    """One option as a user wrote it (scenario file, command line): a known key, a value of the default's type
    (true/false, a whole number, a number, a word) and within its bounds; a ModelError says which and why."""
    if key not in DEFAULT_OPTIONS:
        raise ModelError(f"unknown traffic option {key!r}; valid keys: {', '.join(sorted(DEFAULT_OPTIONS))}")
    default = DEFAULT_OPTIONS[key]
    if isinstance(default, bool) and not isinstance(value, bool):
        raise ModelError(f"option {key} must be true or false, got {value!r}")
    if type(default) is int and key not in WORD_OR_NUMBER and (isinstance(value, bool) or not isinstance(value, int)):
        raise ModelError(f"option {key} must be a whole number, got {value!r}")
    if type(default) is float and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ModelError(f"option {key} must be a number, got {value!r}")
    merge_options({key: value})
    return value


def _fourier_order(value: object) -> int | str:
    """``"auto"`` or a whole number >= 1 (as an int); anything else is a ModelError."""
    if value == "auto":
        return "auto"
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) != int(value) or int(value) < 1:
        raise ModelError(f"option fourier_order must be 'auto' or a whole number >= 1, got {value!r}")
    return int(value)
