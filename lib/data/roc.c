/* Area under the ROC curve by ranks: the Mann-Whitney U statistic of the positives'
 * scores, tied scores sharing their average rank (a tie counts half). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "internal.h"

/* A score and whether it belongs to a positive. */
typedef struct roc_item {
    float score;
    int positive;
} roc_item;

/* qsort order: ascending score (no NaN gets here). */
static int by_score(const void *a, const void *b)
{
    float x = ((const roc_item *)a)->score, y = ((const roc_item *)b)->score;
    return (x > y) - (x < y);
}

/* AUC = (sum of the positives' ranks - P (P + 1) / 2) / (P N), ranks 1-based and
 * averaged over ties. */
lt_status lt_roc_auc(lt_ctx *ctx, const float *scores, const int32_t *positive, size_t n, double *auc)
{
    const char *fn = "lt_roc_auc";
    if (!auc) return lt_set_error(ctx, LT_ERR_ARG, "%s: auc is NULL", fn);
    *auc = NAN;
    if (n > 0 && (!scores || !positive))
        return lt_set_error(ctx, LT_ERR_ARG, "%s: %s is NULL for %zu samples", fn, !scores ? "scores" : "positive", n);
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(scores[i])) /* infinities still order; NaN does not */
            return lt_set_error(ctx, LT_ERR_NONFINITE, "%s: scores[%zu] is NaN", fn, i);
        npos += positive[i] != 0;
    }
    if (npos == 0 || npos == n)
        return lt_set_error(ctx, LT_ERR_ARG, "%s: %zu samples, %zu positive and %zu negative: both classes are "
                            "needed", fn, n, npos, n - npos);
    if (n > SIZE_MAX / sizeof(roc_item))
        return lt_set_error(ctx, LT_ERR_NOMEM, "%s: %zu samples overflow", fn, n);
    roc_item *it = malloc(n * sizeof *it);
    if (!it) return lt_set_error(ctx, LT_ERR_NOMEM, "%s: out of memory for %zu samples", fn, n);
    for (size_t i = 0; i < n; i++) {
        it[i].score = scores[i];
        it[i].positive = positive[i] != 0;
    }
    qsort(it, n, sizeof *it, by_score);
    double rank_sum = 0.0;
    for (size_t a = 0; a < n;) {
        size_t b = a, pos = 0;
        while (b < n && it[b].score == it[a].score) pos += (size_t)it[b++].positive;
        /* ranks a+1..b share their mean (a + 1 + b) / 2 */
        rank_sum += (double)pos * ((double)a + 1.0 + (double)b) / 2.0;
        a = b;
    }
    free(it);
    double p = (double)npos, q = (double)(n - npos);
    *auc = (rank_sum - p * (p + 1.0) / 2.0) / (p * q);
    return LT_OK;
}
