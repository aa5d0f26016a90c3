/* The swiss roll, as scikit-learn's make_swiss_roll draws it, from Philox streams so
 * that a seed gives the same points on every machine and in every build. */
#include <math.h>
#include <stdint.h>
#include "internal.h"
#include "backend/philox.h"

#define SWISS_MAX_N 100000000u

/* Counter regions of the seed's Philox stream, 2^40 blocks apart: far more than the
 * 3 * SWISS_MAX_N / 4 blocks the largest fill uses, so the three never overlap. */
#define SWISS_CTR_POSITION 0ull                /* u: position along the roll */
#define SWISS_CTR_HEIGHT (1ull << 40)          /* v: height                  */
#define SWISS_CTR_NOISE (2ull << 40)           /* 3 normals per point        */

/* Point i: t = 1.5*pi*(1 + 2u), (t cos t, 21 v, t sin t) plus noise; value t. */
lt_status lt_dataset_swiss_roll(lt_ctx *ctx, size_t n, float noise, uint64_t seed, lt_dataset **out)
{
    if (!out) return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_swiss_roll: out is NULL");
    *out = NULL;
    if (n < 1 || n > SWISS_MAX_N)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_swiss_roll: n = %zu points (must be 1..%u)", n,
                            SWISS_MAX_N);
    if (!isfinite(noise) || noise < 0.0f)
        return lt_set_error(ctx, LT_ERR_ARG, "lt_dataset_swiss_roll: noise = %g (must be finite and >= 0)",
                            (double)noise);
    lt_dataset *ds;
    lt_status st = lt_dataset_alloc(ctx, n, 3, 0, 1, &ds);
    if (st != LT_OK) return st;
    const double pi = 3.14159265358979323846;
    for (size_t i = 0; i < n; i++) {
        double u = lt_philox_uniform(seed, SWISS_CTR_POSITION, i, 0.0f, 1.0f);
        double v = lt_philox_uniform(seed, SWISS_CTR_HEIGHT, i, 0.0f, 1.0f);
        double t = 1.5 * pi * (1.0 + 2.0 * u);
        double p[3] = {t * cos(t), 21.0 * v, t * sin(t)};
        for (int k = 0; k < 3; k++) {
            if (noise > 0.0f) p[k] += (double)noise * lt_philox_normal(seed, SWISS_CTR_NOISE, 3 * (uint64_t)i + k);
            ds->x[3 * i + k] = (float)p[k];
        }
        ds->values[i] = (float)t;
    }
    *out = ds;
    return LT_OK;
}
