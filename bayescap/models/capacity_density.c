/* The capacity model's log density and its gradient, as nutpie's C callbacks: the PyMC graph's fast twin.
 *
 * Compiled on first use by the system C compiler (bayescap/models/c_build.py) and cached on disk; the Python side
 * (bayescap/models/capacity_density.py) builds the arrays and documents the model, the parameter layout and the rows
 * of each array. tests/test_capacity_density.py checks this density and its gradient against PyMC's (Jacobians
 * included) for each likelihood, with pooled and lone configs, cluster rows and a tier without them.
 *
 * The table (address, rows, cols) holds: lik (a 1-vector: 0 Student-t, 1 normal, 2 lognormal), obs_f (4 x points),
 * obs_i (3 x points), cfg_f (8 x configs), cfg_i (configs), tier_f (3 x tiers), pri.
 */
#include "density_common.h"

/* KinkStretch (kink_math.py): k(u), dk/du, log dk/du and its derivative in u */
static double kink(double u, double c, double e, double *jac, double *log_jac, double *dlog_jac)
{
    double a = 0.5 * (1.0 + c), b = 0.5 * (1.0 - c), r = sqrt(u * u + e * e);
    *jac = a + b * u / r;
    *log_jac = log(*jac);
    *dlog_jac = b * e * e / (r * r * r) / *jac;
    return a * u + b * (r - e);
}

static double invlogit(double x) { return 1.0 / (1.0 + exp(-x)); }

/* -z^2 / 2 of a Normal with a fixed sd (its constant is in log_density_constant) and d/dx */
static double sq_normal(double x, double mean, double inv_sd, double *d)
{
    double z = (x - mean) * inv_sd;
    *d = -z * inv_sd;
    return -0.5 * z * z;
}

/* log Normal(x | mean, exp(log_tau)) less its -log(2 pi)/2, and its derivatives in x and in log_tau */
static double pooled_normal(double x, double mean, double log_tau, double *d, double *d_log_tau)
{
    double inv = exp(-log_tau), z = (x - mean) * inv;
    *d = -z * inv;
    *d_log_tau = z * z - 1.0;
    return -log_tau - 0.5 * z * z;
}

/* exp(u) ~ HalfNormal: the log density less its constant, with the log transform's Jacobian; d/du; and exp(u) */
static double half_normal_log(double u, double inv_sd, double *d, double *e)
{
    *e = exp(u);
    double r = *e * inv_sd;
    *d = 1.0 - r * r;
    return u - 0.5 * r * r;
}

/* Log density at x (capacity_density.parameter_layout order), its gradient into grad. Returns 0, 3 / 4 (non-finite
 * gradient / density) or 5 (out of memory). */
int64_t bayescap_capacity_logp(uint64_t dim, const double *x, double *grad, double *logp_out, const int64_t *table)
{
    const int64_t lik = ((const int64_t *)ADDR(0))[0];
    const double *obs_f = ADDR(1), *cfg_f = ADDR(3), *tier_f = ADDR(5), *pri = ADDR(6);
    const int64_t *obs_i = ADDR(2), *cfg_i = ADDR(4);
    const int64_t n_obs = COLS(1), n_c = COLS(3), n_t = COLS(5);
#define OBS_F(r, i) obs_f[(r) * n_obs + (i)]
#define OBS_I(r, i) obs_i[(r) * n_obs + (i)]
#define CFG(r, j) cfg_f[(r) * n_c + (j)]
#define TIER(r, t) tier_f[(r) * n_t + (t)]
#define CLUS(r, t) clus[(r) * n_t + (t)]
#define NODE(r, j) node[(r) * n_c + (j)]
    const int64_t o_lcfg = n_t, o_smu = n_t + n_c, o_sz = 2 * n_t + n_c, o_kmu = 2 * n_t + 2 * n_c;
    const int64_t o_scl = o_kmu + n_t, o_llc = o_kmu + 2 * n_t, o_ltau = o_kmu + 3 * n_t, o_stau = o_kmu + 4 * n_t;
    const int64_t o_ktau = o_kmu + 5 * n_t, o_kcfg = o_kmu + 6 * n_t, o_kcl = o_kcfg + n_c, o_noise = o_kcl + n_t;
    const int64_t o_ncl = o_noise + n_c, o_nu = o_ncl + n_t;
    for (uint64_t k = 0; k < dim; k++)
        grad[k] = 0.0;
    const double shape = pri[8], width = pri[18], inv_noise_sd = 1.0 / pri[9];
    double lp = pri[19], v, d, d_log_tau;
    /* rows: lam, sigma, kappa, eps, log eps, d kappa / d u, the sigma logit's scale (d logit / d its coordinate), then
     * d logp / d (lam, sigma, kappa, eps) summed over the points; per tier (its cluster level) and per config; a
     * config's rows 11-13: d w / d u of the sigma shear, d (log lam's prior) / d log lam, and D(n_ref) */
    double *clus = calloc((size_t)(11 * n_t + 14 * n_c + 1), sizeof(double));
    if (!clus)
        return 5;
    double *node = clus + 11 * n_t;

    for (int64_t t = 0; t < n_t; t++) {
        lp += sq_normal(x[t], 0.0, 1.0 / pri[0], &d);
        grad[t] += d;
        const int64_t offsets[3] = {o_ltau, o_stau, o_ktau};
        const double means[3] = {pri[1], pri[4], pri[7]};
        for (int q = 0; q < 3; q++) {
            double e = exp(x[offsets[q] + t]);
            lp += shape * x[offsets[q] + t] - shape / means[q] * e;
            grad[offsets[q] + t] += shape - shape / means[q] * e;
        }
        lp += sq_normal(x[o_smu + t], pri[2], 1.0 / pri[3], &d);
        grad[o_smu + t] += d;
        lp += sq_normal(x[o_kmu + t], pri[5], 1.0 / pri[6], &d);
        grad[o_kmu + t] += d;
        lp += sq_normal(x[o_scl + t], pri[13], 1.0 / pri[14], &d);
        grad[o_scl + t] += d;
        double jac, log_jac, dlog_jac;
        double k = kink(x[o_kcl + t], TIER(2, t), width, &jac, &log_jac, &dlog_jac);
        lp += sq_normal(k, pri[15], 1.0 / pri[16], &d) + log_jac;
        grad[o_kcl + t] += d * jac + dlog_jac;
        lp += sq_normal(x[o_llc + t], 0.0, 1.0 / pri[17], &d);
        grad[o_llc + t] += d;
        double log_eps = x[o_ncl + t], eps;
        lp += half_normal_log(log_eps, inv_noise_sd, &d, &eps);
        grad[o_ncl + t] += d;
        double ref2 = TIER(0, t) * TIER(0, t);
        CLUS(0, t) = exp(TIER(1, t) + x[o_llc + t]);
        CLUS(1, t) = invlogit(x[o_scl + t]);
        CLUS(2, t) = k > 0.0 ? k / ref2 : 0.0;
        CLUS(3, t) = eps;
        CLUS(4, t) = log_eps;
        CLUS(5, t) = k > 0.0 ? jac / ref2 : 0.0;
    }

    for (int64_t j = 0; j < n_c; j++) {
        const int64_t t = cfg_i[j];
        const int pooled = CFG(0, j) > 0.0;
        /* k, centred, in KinkStretch coordinates */
        double jac, log_jac, dlog_jac;
        double k = kink(x[o_kcfg + j], CFG(3, j), width, &jac, &log_jac, &dlog_jac);
        if (pooled) {
            v = pooled_normal(k, x[o_kmu + t], x[o_ktau + t], &d, &d_log_tau);
            grad[o_kmu + t] -= d;
            grad[o_ktau + t] += d_log_tau;
        } else {
            v = sq_normal(k, pri[5], 1.0 / pri[6], &d);
        }
        lp += v + log_jac;
        grad[o_kcfg + j] += d * jac + dlog_jac;
        /* logit sigma = mean + scale z, z ~ N(0, 1): z is sampled (non-centred), or for a lone config v
         * (usl_coordinates) with w = v + v_0 - gamma max(k, 0), logit sigma = log c + log softplus(w), and log dz/dv added */
        double logit;
        NODE(11, j) = 0.0;
        if (CFG(7, j) == 0.0) { /* z itself (pooled configs, and lone ones with too few levels for v) */
            double z = x[o_sz + j];
            lp -= 0.5 * z * z;
            grad[o_sz + j] -= z;
            if (pooled) {
                NODE(6, j) = exp(x[o_stau + t]);
                logit = x[o_smu + t] + NODE(6, j) * z;
            } else {
                NODE(6, j) = pri[3];
                logit = pri[2] + pri[3] * z;
            }
        } else {
            double gamma = CFG(4, j);
            double w = x[o_sz + j] + CFG(6, j) - (k > 0.0 ? gamma * k : 0.0);
            double dw_du = k > 0.0 ? -gamma * jac : 0.0;
            double sp_pos = w > 0.0 ? w + log1p(exp(-w)) : log1p(exp(w)); /* softplus(w) */
            double sp_neg = sp_pos - w;                                    /* softplus(-w) */
            double sg = exp(-sp_neg);                                      /* sigmoid(w) */
            logit = pri[20] + log(sp_pos);
            double z = (logit - pri[2]) / pri[3];
            lp += -0.5 * z * z - sp_neg - log(sp_pos);
            double g_w = -z * sg / (sp_pos * pri[3]) + (1.0 - sg) - sg / sp_pos;
            grad[o_sz + j] += g_w;
            grad[o_kcfg + j] += g_w * dw_du;
            NODE(6, j) = sg / sp_pos; /* d logit / d v */
            NODE(11, j) = dw_du;
        }
        /* log lam, centred; sampled as log lam - log D(n_ref) where n_ref > 0 (log of X(n_ref) / n_ref) */
        double sig_j = invlogit(logit);
        double kap_j = k > 0.0 ? k / (CFG(2, j) * CFG(2, j)) : 0.0;
        double n_ref = CFG(5, j), log_lam = x[o_lcfg + j];
        NODE(13, j) = 0.0;
        if (n_ref > 0.0) {
            double d_ref = 1.0 + sig_j * (n_ref - 1.0) + kap_j * n_ref * (n_ref - 1.0);
            log_lam += log(d_ref);
            NODE(13, j) = d_ref;
        }
        if (pooled) {
            v = pooled_normal(log_lam, x[t], x[o_ltau + t], &d, &d_log_tau);
            grad[t] -= d;
            grad[o_ltau + t] += d_log_tau;
        } else {
            v = sq_normal(log_lam, 0.0, 1.0 / pri[0], &d);
        }
        lp += v;
        NODE(12, j) = d;
        double log_eps = x[o_noise + j], eps;
        lp += half_normal_log(log_eps, inv_noise_sd, &d, &eps);
        grad[o_noise + j] += d;
        double nmax2 = CFG(2, j) * CFG(2, j);
        NODE(0, j) = exp(CFG(1, j) + log_lam);
        NODE(1, j) = sig_j;
        NODE(2, j) = kap_j;
        NODE(3, j) = eps;
        NODE(4, j) = log_eps;
        NODE(5, j) = k > 0.0 ? jac / nmax2 : 0.0;
    }

    double nu = 1.0, cst = 0.0, dconst = 0.0;
    if (lik == 0) {
        nu = exp(x[o_nu]);
        lp += pri[11] * x[o_nu] - pri[12] * nu;
        grad[o_nu] += pri[11] - pri[12] * nu;
        cst = log_gamma(0.5 * (nu + 1.0)) - log_gamma(0.5 * nu) - 0.5 * log(PI * nu);
        dconst = 0.5 * (digamma(0.5 * (nu + 1.0)) - digamma(0.5 * nu)) - 0.5 / nu;
    }

    /* the load-test points */
    double g_nu = 0.0;
    const double power = pri[10];
    for (int64_t i = 0; i < n_obs; i++) {
        double y = OBS_F(0, i), n = OBS_F(1, i), ref = OBS_F(2, i), log_ref = OBS_F(3, i);
        const int is_cluster = OBS_I(2, i) != 0;
        const int64_t m = is_cluster ? OBS_I(1, i) : OBS_I(0, i);
        double *work = is_cluster ? clus : node;
        const int64_t stride = is_cluster ? n_t : n_c;
#define WORK(r) work[(r) * stride + m]
        double lam = WORK(0), sig = WORK(1), kap = WORK(2), eps = WORK(3), log_eps = WORK(4);
        double den = 1.0 + sig * (n - 1.0) + kap * n * (n - 1.0), mu = lam * n / den, g_mu, g_eps;
        if (lik == 2) {
            double r = (log(y) - log(mu)) / eps;
            lp += -log_eps - 0.5 * r * r;
            g_mu = r / (eps * mu);
            g_eps = (r * r - 1.0) / eps;
        } else {
            double scale, log_scale, g_direct, g_scale;
            if (power == 0.0) {
                scale = eps * ref;
                log_scale = log_eps + log_ref;
            } else {
                log_scale = log_eps + log_ref + power * (log(mu) - log_ref);
                scale = exp(log_scale);
            }
            double r = (y - mu) / scale;
            if (lik == 1) {
                lp += -log_scale - 0.5 * r * r;
                g_direct = r / scale;
                g_scale = (r * r - 1.0) / scale;
            } else {
                double q = nu + r * r, log_term = log1p(r * r / nu);
                lp += cst - log_scale - 0.5 * (nu + 1.0) * log_term;
                double w = (nu + 1.0) * r / q;
                g_direct = w / scale;
                g_scale = (w * r - 1.0) / scale;
                g_nu += dconst - 0.5 * log_term + 0.5 * w * r / nu;
            }
            g_mu = g_direct + g_scale * power * scale / mu;
            g_eps = g_scale * scale / eps;
        }
        double g_den = g_mu * mu / den;
        WORK(7) += g_mu * n / den;
        WORK(8) -= g_den * (n - 1.0);
        WORK(9) -= g_den * n * (n - 1.0);
        WORK(10) += g_eps;
#undef WORK
    }

    /* chain rule back to the sampler's coordinates */
    for (int64_t t = 0; t < n_t; t++) {
        grad[o_llc + t] += CLUS(7, t) * CLUS(0, t);
        grad[o_scl + t] += CLUS(8, t) * CLUS(1, t) * (1.0 - CLUS(1, t));
        grad[o_kcl + t] += CLUS(9, t) * CLUS(5, t);
        grad[o_ncl + t] += CLUS(10, t) * CLUS(3, t);
    }
    for (int64_t j = 0; j < n_c; j++) {
        const int64_t t = cfg_i[j];
        double g_loglam = NODE(12, j) + NODE(7, j) * NODE(0, j);
        grad[o_lcfg + j] += g_loglam;
        double n_ref = CFG(5, j);
        if (n_ref > 0.0) {
            NODE(8, j) += g_loglam * (n_ref - 1.0) / NODE(13, j);
            NODE(9, j) += g_loglam * n_ref * (n_ref - 1.0) / NODE(13, j);
        }
        double g_logit = NODE(8, j) * NODE(1, j) * (1.0 - NODE(1, j));
        grad[o_sz + j] += g_logit * NODE(6, j);
        grad[o_kcfg + j] += g_logit * NODE(6, j) * NODE(11, j);
        if (CFG(0, j) > 0.0) {
            grad[o_smu + t] += g_logit;
            grad[o_stau + t] += g_logit * x[o_sz + j] * NODE(6, j);
        }
        grad[o_kcfg + j] += NODE(9, j) * NODE(5, j);
        grad[o_noise + j] += NODE(10, j) * NODE(3, j);
    }
    if (lik == 0)
        grad[o_nu] += g_nu * nu;
    free(clus);
    return report_logp(lp, grad, dim, logp_out);
}

/* nutpie's expand callback: the sampler's coordinates as they are (posterior_dataset turns them into the model's
 * variables afterwards) */
int64_t bayescap_capacity_expand(uint64_t dim, uint64_t n_expanded, const double *x, double *out, const int64_t *table)
{
    (void)n_expanded;
    (void)table;
    for (uint64_t k = 0; k < dim; k++)
        out[k] = x[k];
    return 0;
}
