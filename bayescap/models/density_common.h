/* Shared by the hand-written log densities (traffic_density.c, capacity_density.c): constants, special functions and
 * the table through which nutpie's callbacks read their arrays. c_build.py hashes this header with each source. */
#ifndef BAYESCAP_DENSITY_COMMON_H
#define BAYESCAP_DENSITY_COMMON_H

#define _DEFAULT_SOURCE /* lgamma_r (glibc) */
#define _REENTRANT      /* lgamma_r (macOS) */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define HALF_LOG_2PI 0.91893853320467274178
#define LOG_2 0.69314718055994530942
#define PI 3.14159265358979323846

/* the table holds (address, rows, cols) of each array, in the order the Python side documents (cols 1 for vectors) */
#define ADDR(k) ((const void *)(intptr_t)table[3 * (k)])
#define ROWS(k) (table[3 * (k) + 1])
#define COLS(k) (table[3 * (k) + 2])

/* psi(x) for x > 0: recurrence up to x >= 6, then the asymptotic series (error < 1e-12) */
static double digamma(double x)
{
    double acc = 0.0;
    while (x < 6.0) {
        acc -= 1.0 / x;
        x += 1.0;
    }
    double inv = 1.0 / x, inv2 = inv * inv;
    double series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132)))));
    return acc + log(x) - 0.5 * inv - series;
}

/* log Gamma(x), thread-safe (lgamma writes a global sign) */
static double log_gamma(double x)
{
    int sign;
    return lgamma_r(x, &sign);
}

/* the callback's return code: 0, or 3 / 4 for a non-finite gradient / density (nutpie then treats the step as
 * divergent instead of moving to a NaN) */
static int64_t report_logp(double lp, const double *grad, uint64_t dim, double *logp_out)
{
    *logp_out = lp;
    for (uint64_t k = 0; k < dim; k++)
        if (!isfinite(grad[k]))
            return 3;
    return isfinite(lp) ? 0 : 4;
}

#endif
