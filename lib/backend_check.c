/* Argument checks shared by both backends' data-movement, recurrent-cell, clipping and
 * latent-space ops (see lib/backend.h), so the CPU fallback and OpenCL refuse exactly
 * the same calls with the same messages. */
#include <stdint.h>
#include "backend.h"

/* The most operands one op has. */

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

/* Checks each of the count operands against its buffer, in order, then that no output
 * (r[first_out] on) overlaps an operand listed before it. */
static lt_status check_operand_list(lt_backend *be, const char *op, const lt_buf_range *r, int count, int first_out)
{
    lt_status st = LT_OK;
    for (int i = 0; st == LT_OK && i < count; i++) st = check_in_buffer(be, op, &r[i]);
    for (int o = first_out; st == LT_OK && o < count; o++)
        for (int i = 0; st == LT_OK && i < o; i++) st = check_apart(be, op, &r[o], &r[i]);
    return st;
}

/* n elements when the operand was given, none when it is an absent optional one. */
static size_t if_given(const lt_buf_range *r, size_t n) { return r->mem ? n : 0; }

/* The VAE ops' sizes: d >= 1 and rows x 2d elements without overflow; *n = rows * d. */
static lt_status check_vae_sizes(lt_backend *be, const char *op, size_t rows, size_t d, size_t *n)
{
    *n = 0;
    if (d == 0) return lt_backend_set_error(be, LT_ERR_ARG, "%s: latent width d is 0", op);
    if (d > SIZE_MAX / 2 || rows > SIZE_MAX / (2 * d))
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %zu rows of 2 x %zu elements overflow size_t", op, rows, d);
    *n = rows * d;
    return LT_OK;
}

lt_status lt_check_vae_sample_forward(lt_backend *be, size_t rows, size_t d, lt_buf_range x, lt_buf_range eps,
                                      lt_buf_range y, size_t *n)
{
    const char *op = "vae_sample_forward";
    lt_status st = check_vae_sizes(be, op, rows, d, n);
    if (st != LT_OK) return st;
    x.n = 2 * *n;
    eps.n = if_given(&eps, *n);
    y.n = *n;
    lt_buf_range r[] = {x, eps, y};
    return check_operand_list(be, op, r, 3, 2);
}

lt_status lt_check_vae_sample_backward(lt_backend *be, size_t rows, size_t d, lt_buf_range x, lt_buf_range eps,
                                       lt_buf_range dy, lt_buf_range dx, size_t *n)
{
    const char *op = "vae_sample_backward";
    lt_status st = check_vae_sizes(be, op, rows, d, n);
    if (st != LT_OK) return st;
    x.n = 2 * *n;
    eps.n = if_given(&eps, *n);
    dy.n = *n;
    dx.n = 2 * *n;
    lt_buf_range r[] = {x, eps, dy, dx};
    return check_operand_list(be, op, r, 4, 3);
}

lt_status lt_check_kl_normal(lt_backend *be, size_t rows, size_t d, lt_buf_range x, lt_buf_range out, size_t *n)
{
    const char *op = "kl_normal";
    lt_status st = check_vae_sizes(be, op, rows, d, n);
    if (st != LT_OK) return st;
    x.n = 2 * *n;
    out.n = 1;
    lt_buf_range r[] = {x, out};
    return check_operand_list(be, op, r, 2, 1);
}

lt_status lt_check_sparsity_kl(lt_backend *be, size_t rows, size_t cols, float rho, lt_buf_range colsum,
                               lt_buf_range out, lt_buf_range grad)
{
    const char *op = "sparsity_kl";
    if (rows == 0)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: rows is 0 (the mean activation of no rows is undefined)", op);
    if (!(rho > 0.0f && rho < 1.0f))
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: target rho %g is outside (0, 1)", op, (double)rho);
    colsum.n = cols;
    out.n = 1;
    grad.n = if_given(&grad, cols);
    lt_buf_range r[] = {colsum, out, grad};
    return check_operand_list(be, op, r, 3, 1);
}

lt_status lt_check_l1_penalty(lt_backend *be, size_t n, lt_buf_range x, lt_buf_range out, lt_buf_range dy,
                              lt_buf_range dx)
{
    const char *op = "l1_penalty";
    x.n = n;
    out.n = 1;
    dx.n = if_given(&dx, n);
    dy.n = dx.n ? if_given(&dy, n) : 0; /* dy is read only when dx is written */
    lt_buf_range r[] = {x, dy, out, dx};
    lt_status st = check_operand_list(be, op, r, 4, 4); /* each inside its buffer */
    if (st == LT_OK && dy.n && dx.mem == dy.mem && dx.off == dy.off) r[1].n = 0; /* dx may be dy exactly */
    return st == LT_OK ? check_operand_list(be, op, r, 4, 2) : st;
}

/* Checks a recurrent step's geometry; sets U and the gate, record and dz widths G, S,
 * D in elements per row. */
static lt_status check_rnn_geom(lt_backend *be, const char *op, const lt_rnn_geom *g, lt_rnn_widths *w)
{
    if (!g) return lt_backend_set_error(be, LT_ERR_ARG, "%s: geometry is NULL", op);
    if ((unsigned)g->cell > LT_CELL_GRU) return lt_backend_set_error(be, LT_ERR_ARG, "%s: unknown cell %d", op, (int)g->cell);
    if ((unsigned)g->act >= LT_BACT_SOFTMAX)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: activation %d is not pointwise", op, (int)g->act);
    if (g->units == 0 || g->units > ((size_t)1 << 24) || g->batch > ((size_t)1 << 31) / g->units)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %zu rows of %zu units out of range", op, g->batch, g->units);
    w->u = g->units;
    w->g = lt_cell_gates(g->cell) * g->units;
    w->s = lt_cell_record(g->cell) * g->units;
    w->d = lt_cell_dz(g->cell) * g->units;
    return LT_OK;
}

lt_status lt_check_rnn_step_forward(lt_backend *be, const lt_rnn_geom *g, lt_buf_range xw, lt_buf_range r,
                                    lt_buf_range rbias, lt_buf_range prev, lt_buf_range rec, lt_rnn_widths *w)
{
    const char *op = "rnn_step_forward";
    lt_status st = check_rnn_geom(be, op, g, w);
    if (st != LT_OK || g->batch == 0) return st;
    size_t b = g->batch;
    rbias.n = g->cell == LT_CELL_GRU ? w->g : 0; /* only GRU's reset_after has a recurrent bias */
    xw.n = b * w->g;
    r.n = w->u * w->g;
    prev.n = b * w->s;
    rec.n = b * w->s;
    lt_buf_range list[] = {rbias, xw, r, prev, rec};
    return check_operand_list(be, op, list, 5, 4);
}

lt_status lt_check_rnn_step_backward(lt_backend *be, const lt_rnn_geom *g, lt_buf_range dh, lt_buf_range dz_next,
                                     lt_buf_range r, lt_buf_range prev, lt_buf_range rec, lt_buf_range carry,
                                     lt_buf_range dz, lt_rnn_widths *w)
{
    const char *op = "rnn_step_backward";
    lt_status st = check_rnn_geom(be, op, g, w);
    if (st != LT_OK || g->batch == 0) return st;
    size_t b = g->batch;
    dh.n = if_given(&dh, b * w->u);
    dz_next.n = if_given(&dz_next, b * w->d);
    r.n = w->u * w->g;
    prev.n = b * w->s;
    rec.n = b * w->s;
    carry.n = b * 2 * w->u;
    dz.n = b * w->d;
    lt_buf_range list[] = {dh, dz_next, r, prev, rec, carry, dz};
    return check_operand_list(be, op, list, 7, 5);
}
