/* Argument checks shared by both backends' data-movement and recurrent-cell ops (see
 * lib/backend.h), so the CPU fallback and OpenCL refuse exactly the same calls. */
#include <stdint.h>
#include "backend.h"

lt_status lt_check_strided_block(lt_backend *be, const char *op, const char *name, const lt_buf *buf, size_t buf_n,
                                 size_t off, size_t n0, size_t n1, size_t cols, ptrdiff_t s0, ptrdiff_t s1)
{
    if (!buf) return lt_backend_set_error(be, LT_ERR_ARG, "%s: buffer %s is NULL", op, name);
    if (n0 > (size_t)PTRDIFF_MAX / 2 || n1 > (size_t)PTRDIFF_MAX / 2 || cols > (size_t)PTRDIFF_MAX / 2)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %s sizes overflow", op, name);
    /* the lowest and highest elements are at corners; doubles hold every reach a
     * buffer could have exactly enough to compare (2^53 elements) */
    double lo = (double)off, hi = (double)off + (double)cols - 1.0;
    double e0 = (double)(n0 - 1) * (double)s0, e1 = (double)(n1 - 1) * (double)s1;
    lo += (e0 < 0 ? e0 : 0) + (e1 < 0 ? e1 : 0);
    hi += (e0 > 0 ? e0 : 0) + (e1 > 0 ? e1 : 0);
    if (lo < 0 || hi >= (double)buf_n)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %s block reaches [%.0f, %.0f], outside its buffer of %zu elements",
                                    op, name, lo, hi, buf_n);
    return LT_OK;
}

lt_status lt_check_rnn_geom(lt_backend *be, const char *op, const lt_rnn_geom *g, size_t *u, size_t *gw, size_t *s,
                            size_t *d)
{
    if ((unsigned)g->cell > LT_CELL_GRU) return lt_backend_set_error(be, LT_ERR_ARG, "%s: unknown cell %d", op, (int)g->cell);
    if ((unsigned)g->act >= LT_BACT_SOFTMAX)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: activation %d is not pointwise", op, (int)g->act);
    if (g->units == 0 || g->units > ((size_t)1 << 24) || g->batch > ((size_t)1 << 31) / g->units)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %zu rows of %zu units out of range", op, g->batch, g->units);
    *u = g->units;
    *gw = lt_cell_gates(g->cell) * g->units;
    *s = lt_cell_record(g->cell) * g->units;
    *d = lt_cell_dz(g->cell) * g->units;
    return LT_OK;
}
