/* The traffic model's log density and its gradient, as nutpie's C callbacks: the PyMC graph's fast twin.
 *
 * Compiled on first use by the system C compiler (bayescap/models/c_build.py) and cached on disk; the Python side
 * (bayescap/models/traffic_density.py) builds the arrays and the table of their addresses, and documents the model
 * and the parameter layout. tests/test_traffic_density.py checks this density and its gradient against PyMC's
 * (Jacobians included) for every variant of the model.
 *
 * Both callbacks read their arrays through one table of (address, rows, cols) triples, in the order of
 * traffic_density.INPUTS followed by "logged". Nothing here allocates except one scratch block per call.
 */
#include "density_common.h"

#define N_TABLE 33 /* arrays in the table: 32 inputs and "logged" */

/* log density of exp(u) ~ HalfNormal(scale), with the log transform's Jacobian; its derivative in u into *d */
static double half_normal(double u, double scale, double *d)
{
    double r = exp(u) / scale;
    *d = 1.0 - r * r;
    return LOG_2 - HALF_LOG_2PI - log(scale) - 0.5 * r * r + u;
}

/* out = A @ v, A rows x cols, C order: plain loops over full rows, which the compiler vectorises */
static void mv(const double *restrict A, int64_t rows, int64_t cols, const double *restrict v, double *restrict out)
{
    for (int64_t i = 0; i < rows; i++) {
        const double *a = A + i * cols;
        double acc = 0.0;
        for (int64_t j = 0; j < cols; j++)
            acc += a[j] * v[j];
        out[i] = acc;
    }
}

/* out = g @ A */
static void vm(const double *restrict g, const double *restrict A, int64_t rows, int64_t cols, double *restrict out)
{
    for (int64_t j = 0; j < cols; j++)
        out[j] = 0.0;
    for (int64_t i = 0; i < rows; i++) {
        const double *a = A + i * cols;
        double gi = g[i];
        for (int64_t j = 0; j < cols; j++)
            out[j] += gi * a[j];
    }
}

typedef struct {
    const double *data;
    const int64_t *ind, *ptr;
    int64_t rows;
} Csr;

static Csr csr_at(const int64_t *table, int k)
{
    Csr m = {ADDR(k), ADDR(k + 1), ADDR(k + 2), ROWS(k + 2) - 1};
    return m;
}

/* out = shift + A @ v (shift may be NULL: zero) */
static void csr_affine(Csr A, const double *v, const double *shift, double *out)
{
    for (int64_t i = 0; i < A.rows; i++) {
        double acc = shift ? shift[i] : 0.0;
        for (int64_t k = A.ptr[i]; k < A.ptr[i + 1]; k++)
            acc += A.data[k] * v[A.ind[k]];
        out[i] = acc;
    }
}

/* out += scale * (g @ A) */
static void csr_vm_add(Csr A, const double *g, double *out, double scale)
{
    for (int64_t i = 0; i < A.rows; i++) {
        double gi = scale * g[i];
        if (gi != 0.0)
            for (int64_t k = A.ptr[i]; k < A.ptr[i + 1]; k++)
                out[A.ind[k]] += gi * A.data[k];
    }
}

/* Log density at x; its gradient into grad. The arrays, the flags and the constants are those of
 * traffic_density.density_inputs; see logp_and_grad there for the maths. Returns 0, 3 (non-finite gradient),
 * 4 (non-finite density) or 5 (out of memory): nutpie treats a non-zero code as a divergent step. */
int64_t bayescap_traffic_logp(uint64_t dim, const double *x, double *grad, double *logp_out, const int64_t *table)
{
    const int64_t *flags = ADDR(0);
    const double *consts = ADDR(1), *y = ADDR(2), *mask = ADDR(3), *prev_mask = ADDR(4), *is_event = ADDR(5);
    const double *competitor = ADDR(6), *slot_type = ADDR(7), *slot_free = ADDR(8), *chol = ADDR(9);
    const double *mean_shift = ADDR(10), *x_dense = ADDR(11), *prior_shift = ADDR(15), *prior_prec = ADDR(16);
    const double *walk_shift = ADDR(17), *rw_shift = ADDR(21), *occ_shift = ADDR(25);
    const double *walk_a = ADDR(29), *walk_k = ADDR(30), *walk_h = ADDR(31);
    Csr X = csr_at(table, 12), D = csr_at(table, 18), W = csr_at(table, 22), O = csr_at(table, 26);
    const int64_t p = flags[0], n_types = flags[1], ar1 = flags[2], noncentred = flags[3];
    const int64_t occ_start = flags[4], dense_start = flags[5];
    const double lift_scale = consts[0], comp_scale = consts[1], sn_scale = consts[2], se_scale = consts[3];
    const double nu_min = consts[4], nu_mean = consts[5], ar_mean = consts[6], ar_sd = consts[7];
    const double rw_b = consts[8], rw_shape = consts[9], comp_weight = consts[10], n_steps = consts[11];
    const double lam_hat = consts[12];
    const int64_t n = ROWS(2), n_slots = ROWS(8), type_cols = COLS(7), n_dense = COLS(11), n_walk = D.rows;

    double *scratch = malloc(sizeof(double) * (size_t)(n_types + 6 * p + n_walk + 5 * n + 2 * n_dense + 3 * n_slots + 1));
    if (!scratch)
        return 5;
    double *lift_sd = scratch, *w = lift_sd + n_types, *w_scale = w + p, *w_dx = w_scale + p, *u = w_dx + p;
    double *g_u = u + p, *g_w = g_u + p, *steps = g_w + p, *mu = steps + n_walk, *mu_dense = mu + n;
    double *rw_dev = mu_dense + n, *g_e = rw_dev + n, *g_mu = g_e + n, *u_dense = g_mu + n;
    double *g_dense = u_dense + n_dense, *w_slot = g_dense + n_dense, *occ_val = w_slot + n_slots;
    double *g_occ = occ_val + n_slots;

    for (uint64_t k = 0; k < dim; k++)
        grad[k] = 0.0;
    double lp = 0.0, d;
    int64_t i = p;
    /* positive scales: HalfNormal priors on the log scale (Jacobian included) */
    for (int64_t j = 0; j < n_types; j++) {
        lift_sd[j] = exp(x[i + j]);
        lp += half_normal(x[i + j], lift_scale, &d);
        grad[i + j] = d;
    }
    const int64_t i_lift = i;
    i += n_types;
    const double comp = exp(x[i]);
    lp += half_normal(x[i], comp_scale, &d);
    grad[i] = d;
    const int64_t i_comp = i;
    const double sigma_n = exp(x[i + 1]);
    lp += half_normal(x[i + 1], sn_scale, &d);
    grad[i + 1] = d;
    const double sigma_e = exp(x[i + 2]);
    lp += half_normal(x[i + 2], se_scale, &d);
    grad[i + 2] = d;
    const int64_t i_sig = i + 1;
    /* nu - nu_min ~ Exponential(mean nu_mean) */
    const double nu_ex = exp(x[i + 3]);
    lp += -log(nu_mean) - nu_ex / nu_mean + x[i + 3];
    grad[i + 3] = 1.0 - nu_ex / nu_mean;
    const int64_t i_nu = i + 3;
    const double nu = nu_min + nu_ex;
    i += 4;
    double phi = 0.0;
    int64_t i_phi = -1;
    if (ar1) {
        i_phi = i;
        lp += -HALF_LOG_2PI - 0.5 * x[i] * x[i];
        grad[i] = -x[i];
        phi = 1.0 / (1.0 + exp(-(ar_mean + ar_sd * x[i])));
        i += 1;
    }
    /* the walk's innovation variance rw_var ~ InverseGamma(rw_shape, rw_b) */
    const int64_t i_rw = i;
    const double rw_var = exp(x[i]);
    lp += rw_shape * log(rw_b) - log_gamma(rw_shape) - rw_shape * x[i] - rw_b / rw_var;
    grad[i] = -rw_shape + rw_b / rw_var;
    const double rw_sd = sqrt(rw_var), lam = 1.0 / rw_var;

    /* w = walk_h (lam_hat - lam) / q + z / sqrt(q), q = walk_a + walk_k lam; Jacobian -1/2 sum log q */
    double jac = 0.0;
    const double pull = lam_hat - lam;
    for (int64_t k = 0; k < p; k++) {
        double q = walk_a[k] + walk_k[k] * lam, sc = 1.0 / sqrt(q);
        w[k] = walk_h[k] * pull / q + x[k] * sc;
        w_scale[k] = sc;
        w_dx[k] = walk_h[k] * lam * (q + pull * walk_k[k]) / (q * q) + x[k] * 0.5 * walk_k[k] * lam * sc / q;
        lp -= 0.5 * log(q);
        jac += walk_k[k] / q;
    }
    grad[i_rw] += 0.5 * lam * jac;

    mv(chol, p, p, w, u);
    /* Gaussian priors of the linear block */
    for (int64_t k = 0; k < p; k++) {
        double b0 = prior_shift[k] + u[k];
        lp -= 0.5 * prior_prec[k] * b0 * b0;
        g_u[k] = -prior_prec[k] * b0;
    }
    if (!noncentred) { /* the walk's steps ~ Normal(0, rw_var) */
        csr_affine(D, u, walk_shift, steps);
        double ss = 0.0;
        for (int64_t k = 0; k < n_walk; k++)
            ss += steps[k] * steps[k];
        lp += -0.5 * n_steps * x[i_rw] - 0.5 * lam * ss;
        grad[i_rw] += -0.5 * n_steps + 0.5 * lam * ss;
        csr_vm_add(D, steps, g_u, -lam);
    }

    /* mean log count */
    csr_affine(X, u, mean_shift, mu);
    for (int64_t k = 0; k < n_dense; k++)
        u_dense[k] = u[dense_start + k];
    mv(x_dense, n, n_dense, u_dense, mu_dense);
    for (int64_t t = 0; t < n; t++)
        mu[t] += mu_dense[t];
    if (noncentred) {
        csr_affine(W, u, rw_shift, rw_dev);
        for (int64_t t = 0; t < n; t++)
            mu[t] += rw_sd * rw_dev[t];
    }
    for (int64_t k = 0; k < n_slots; k++) {
        double acc = 0.0;
        for (int64_t j = 0; j < n_types; j++)
            acc += slot_type[k * type_cols + j] * lift_sd[j];
        w_slot[k] = acc * slot_free[k];
        occ_val[k] = w_slot[k] * (occ_shift[k] + u[occ_start + k]);
    }
    csr_affine(O, occ_val, NULL, mu_dense); /* occurrence lifts per day (mu_dense reused) */
    for (int64_t t = 0; t < n; t++)
        mu[t] += mu_dense[t] - comp * competitor[t] * comp_weight;

    /* likelihood of the AR(1) innovations: Student-t on normal days, Gaussian with its own scale on event days */
    const double half = 0.5 * (nu + 1.0);
    const double cst = log_gamma(half) - log_gamma(0.5 * nu) - 0.5 * log(nu * PI);
    const double dconst = 0.5 * (digamma(half) - digamma(0.5 * nu)) - 0.5 / nu;
    double g_nu = 0.0, g_sn = 0.0, g_se = 0.0, g_phi = 0.0, r_prev = 0.0;
    for (int64_t t = 0; t < n; t++) {
        double r = y[t] - mu[t], prev = r_prev * prev_mask[t], e = r - phi * prev;
        r_prev = r;
        g_e[t] = 0.0;
        if (mask[t] == 0.0)
            continue;
        if (is_event[t] > 0.0) { /* event days: Gaussian noise with their own scale */
            double sig = sigma_n + sigma_e;
            lp += mask[t] * (-HALF_LOG_2PI - log(sig) - 0.5 * e * e / (sig * sig));
            g_e[t] = -mask[t] * e / (sig * sig);
            double gs = mask[t] * (-1.0 / sig + e * e / (sig * sig * sig));
            g_sn += gs;
            g_se += gs;
        } else { /* normal days: Student-t noise */
            double sig = sigma_n, q = e * e / (nu * sig * sig), lq = log1p(q);
            lp += mask[t] * (cst - log(sig) - half * lq);
            g_e[t] = -mask[t] * (nu + 1.0) * e / (nu * sig * sig + e * e);
            g_sn += mask[t] * (-1.0 / sig + (nu + 1.0) * q / (sig * (1.0 + q)));
            g_nu += mask[t] * (dconst - 0.5 * lq + half * q / (nu * (1.0 + q)));
        }
        g_phi -= g_e[t] * prev;
    }
    /* d/dmu_t = -(d/dr_t); r_t enters e_t and (through prev) e_{t+1} */
    for (int64_t t = 0; t < n; t++) {
        double g = g_e[t];
        if (t + 1 < n)
            g -= phi * prev_mask[t + 1] * g_e[t + 1];
        g_mu[t] = -g;
    }

    csr_vm_add(X, g_mu, g_u, 1.0);
    vm(g_mu, x_dense, n, n_dense, g_dense);
    for (int64_t k = 0; k < n_dense; k++)
        g_u[dense_start + k] += g_dense[k];
    for (int64_t k = 0; k < n_slots; k++)
        g_occ[k] = 0.0;
    csr_vm_add(O, g_mu, g_occ, 1.0);
    for (int64_t k = 0; k < n_slots; k++) {
        g_u[occ_start + k] += g_occ[k] * w_slot[k];
        double gw = g_occ[k] * (occ_shift[k] + u[occ_start + k]) * slot_free[k];
        for (int64_t j = 0; j < n_types; j++)
            grad[i_lift + j] += gw * slot_type[k * type_cols + j] * lift_sd[j];
    }
    double g_comp = 0.0;
    for (int64_t t = 0; t < n; t++)
        g_comp -= g_mu[t] * competitor[t] * comp_weight;
    grad[i_comp] += g_comp * comp;
    if (noncentred) {
        csr_vm_add(W, g_mu, g_u, rw_sd);
        double g_rw = 0.0; /* d rw_sd / d log rw_var = rw_sd / 2 */
        for (int64_t t = 0; t < n; t++)
            g_rw += g_mu[t] * rw_dev[t];
        grad[i_rw] += g_rw * 0.5 * rw_sd;
    }
    grad[i_sig] += g_sn * sigma_n;
    grad[i_sig + 1] += g_se * sigma_e;
    grad[i_nu] += g_nu * nu_ex;
    if (ar1)
        grad[i_phi] += g_phi * phi * (1.0 - phi) * ar_sd;
    vm(g_u, chol, p, p, g_w);
    double g_rw = 0.0;
    for (int64_t k = 0; k < p; k++) {
        grad[k] += g_w[k] * w_scale[k];
        g_rw += g_w[k] * w_dx[k];
    }
    grad[i_rw] += g_rw;
    free(scratch);
    return report_logp(lp, grad, dim, logp_out);
}

/* nutpie's expand callback: the model's variables from x (exp of the log-transformed ones) */
int64_t bayescap_traffic_expand(uint64_t dim, uint64_t n_expanded, const double *x, double *out, const int64_t *table)
{
    const double *logged = ADDR(N_TABLE - 1);
    (void)n_expanded;
    for (uint64_t k = 0; k < dim; k++)
        out[k] = logged[k] > 0.0 ? exp(x[k]) : x[k];
    return 0;
}
