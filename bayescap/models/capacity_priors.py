"""Default priors of the capacity model, in one place, as data.

Every prior is unit-free, so the same defaults work for a raytracer doing 20
operations/s and a web server doing three million requests/s:

* ``lam`` (throughput of one unit at N = 1) is modelled as ``log(lam / s_t)``
  where ``s_t`` is a *reference scale* of the tier taken from the design of the
  data: the geometric mean, over the tier's configurations, of the best observed
  throughput per unit ``max_i y_i / n_i``.  ``y/n`` never exceeds ``lam`` for a
  noise-free USL curve, so ``lam / s_t`` is of order one (1 to 2 in practice).
* ``kappa`` is modelled as ``kappa_scaled = kappa * n_max**2`` where ``n_max`` is
  the largest N tested for that configuration.  ``kappa_scaled`` is the
  coherency term's share of the USL denominator at the top of the tested range:
  the curve peaks inside the tested range exactly when ``kappa_scaled > 1 - sigma``.
  It is *rectified*: ``kappa = max(k, 0) / n_max**2`` with a Normal ``k``, so the
  prior (and the posterior) puts real probability on ``kappa = 0`` (a pure
  contention / Amdahl system such as the raytracer) without pushing a log-scale
  parameter towards minus infinity, which is what causes divergences.
* ``sigma`` lives on the logit scale.
* Noise scales are relative to the mean measured throughput of the group.
* Spreads between the configs of a tier (``*_tau_mean``) have boundary-avoiding
  Gamma(tau_shape, tau_shape/mean) priors, shape 4 (Chung et al. 2013 use 2): a tier
  has two to five configs, far too few to tell a spread of 0 from a small one, and
  a spread near 0 is the neck of a funnel where NUTS diverges. A HalfNormal spread
  fell into it in most prior-simulated datasets; with shape 2 the example's fit still
  reached it about once in 4,000-8,000 draws (docs/capacity_model.md, "Mixing").

Override any key with a dict (``fit_capacity(df, priors={"noise_rel_sd": 0.2})``
or ``[priors] capacity = {...}`` in the scenario file); the merged dict is saved
as JSON in ``idata.attrs["priors"]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from bayescap.errors import ModelError

DEFAULT_PRIORS: dict[str, float] = {
    # --- lam: log(lam_j / s_t) ~ Normal(loglam_mu_t, loglam_tau_t) (centred)
    "loglam_mu_sd": 1.0,  # Normal(0, .) tier mean of log(lam / s_t)
    "loglam_tau_mean": 0.5,  # Gamma(tau_shape, tau_shape/mean) spread of log lam between configs of a tier
    # --- sigma (contention): logit(sigma_j) = sigma_mu_t + sigma_tau_t * z_j
    "sigma_logit_mu": -3.5,  # tier mean centre: logit(0.03)
    "sigma_logit_mu_sd": 1.5,  # => marginal 90% prior range of sigma about [0.002, 0.3]
    "sigma_logit_tau_mean": 0.75,  # Gamma(tau_shape, tau_shape/mean) spread between configs
    # --- kappa (coherency): k_j ~ Normal(kappa_mu_t, kappa_tau_t) (centred); kappa_j = max(k_j, 0) / n_max_j^2
    "kappa_scaled_mu": 1.0,  # tier mean centre of k (1 = peak at the edge of the tested range)
    "kappa_scaled_mu_sd": 2.0,  # => prior P(kappa = 0) about 0.3
    "kappa_scaled_tau_mean": 1.0,  # Gamma(tau_shape, tau_shape/mean) spread between configs
    # --- the spreads' shape: 90% of the prior within 0.34-1.94 times the stated mean (shape 2: 0.18-2.37)
    "tau_shape": 4.0,
    # --- observation noise
    "noise_rel_sd": 0.1,  # HalfNormal(.) noise sd as a fraction of the group's mean throughput
    "noise_power": 0.0,  # sd_i = eps * ybar * (mu_i / ybar)**noise_power (0 = additive, homoscedastic)
    "nu_alpha": 2.0,  # Student-t degrees of freedom ~ Gamma(alpha, beta) (Juarez & Steel 2010)
    "nu_beta": 0.1,
    # --- cluster level (nodes behind a load balancer), per tier
    "sigma_cluster_logit_mu": -3.9,  # logit(0.02): small contention by default
    "sigma_cluster_logit_sd": 1.0,  # => 90% prior range of sigma' about [0.004, 0.1]
    "kappa_cluster_scaled_mu": 0.0,  # k' ~ Normal(mu, sd); kappa' = max(k', 0) / nodes_ref^2
    "kappa_cluster_scaled_sd": 0.5,  # => prior P(kappa' = 0) = 0.5, q95 of kappa' = 0.82 / nodes_ref^2
    "cluster_nodes_ref": 16.0,  # nodes_ref when a tier has no cluster rows (else its largest tested node count)
    "loglam_cluster_sd": 1.0,  # Normal(0, .) of log(lam_cluster / s_cluster)
}

_POSITIVE = {k for k in DEFAULT_PRIORS if k.endswith(("_sd", "_mean", "_alpha", "_beta", "_shape")) or k == "cluster_nodes_ref"}


def merge_priors(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Return ``DEFAULT_PRIORS | overrides`` after checking names and values.

    Unknown keys are an error (a typo would otherwise silently keep the default).
    """
    merged = dict(DEFAULT_PRIORS)
    for key, value in dict(overrides or {}).items():
        if key not in DEFAULT_PRIORS:
            known = ", ".join(sorted(DEFAULT_PRIORS))
            raise ModelError(f"unknown capacity prior {key!r}; known priors: {known}")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ModelError(f"capacity prior {key!r} must be a number, got {value!r}") from None
        if not math.isfinite(value):
            raise ModelError(f"capacity prior {key!r} must be finite, got {value!r}")
        if key in _POSITIVE and value <= 0:
            raise ModelError(f"capacity prior {key!r} must be > 0, got {value!r}")
        if key == "noise_power" and not 0.0 <= value <= 1.0:
            raise ModelError(f"capacity prior 'noise_power' must be in [0, 1], got {value!r}")
        merged[key] = value
    return merged
