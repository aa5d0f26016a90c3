/* Argument checks shared by both backends' data-movement, recurrent-cell and clipping
 * ops (see lib/backend.h), so the CPU fallback and OpenCL refuse exactly the same calls. */
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

/* Checks that r lies inside its buffer (an empty range always does). */
static lt_status check_in_buffer(lt_backend *be, const char *op, const lt_buf_range *r)
{
    if (r->n == 0) return LT_OK;
    if (!r->mem) return lt_backend_set_error(be, LT_ERR_ARG, "%s: buffer %s is NULL", op, r->name);
    if (r->off > r->buf_n || r->n > r->buf_n - r->off)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %s range [%zu, %zu + %zu) exceeds its buffer of %zu elements", op,
                                    r->name, r->off, r->off, r->n, r->buf_n);
    return LT_OK;
}

/* Fails when output range out shares memory with input range in (empty ranges never do). */
static lt_status check_apart(lt_backend *be, const char *op, const lt_buf_range *out, const lt_buf_range *in)
{
    if (out->n && in->n && out->mem == in->mem && out->off < in->off + in->n && in->off < out->off + out->n)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %s overlaps %s", op, out->name, in->name);
    return LT_OK;
}

lt_status lt_check_segment_operands(lt_backend *be, const char *op, size_t count, lt_buf_range x, lt_buf_range starts,
                                    lt_buf_range v, int out_is_x)
{
    if (count > ((size_t)1 << 31)) return lt_backend_set_error(be, LT_ERR_ARG, "%s: %zu segments are too many", op, count);
    if (!starts.mem && count > 1 && x.n > 0)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %zu segments need a starts buffer (NULL stands for one segment)",
                                    op, count);
    starts.n = starts.mem && x.n ? count : 0;
    v.n = count;
    lt_status st = check_in_buffer(be, op, &x);
    if (st == LT_OK) st = check_in_buffer(be, op, &starts);
    if (st == LT_OK) st = check_in_buffer(be, op, &v);
    const lt_buf_range *out = out_is_x ? &x : &v, *in = out_is_x ? &v : &x;
    if (st == LT_OK) st = check_apart(be, op, out, in);
    if (st == LT_OK) st = check_apart(be, op, out, &starts);
    return st;
}
