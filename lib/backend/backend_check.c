/* Operand checks of every backend op (see lib/backend/backend.h), run once by the front
 * door (dispatch.c), so the CPU fallback and OpenCL refuse exactly the same calls with
 * the same messages. */
#include <stdint.h>
#include <string.h>
#include "backend_check.h"

/* Checks that every element of an n0 x n1 x cols block (none empty) with strides s0, s1
 * from r's offset lies inside r's buffer; *hull (when not NULL) becomes the contiguous
 * range that spans the block, for overlap checks. */
static lt_status check_strided_block(lt_backend *be, const char *op, const lt_buf_range *r, size_t n0, size_t n1,
                                     size_t cols, ptrdiff_t s0, ptrdiff_t s1, lt_buf_range *hull)
{
    const char *name = r->name;
    size_t buf_n = r->buf_n;
    if (!r->mem) return lt_backend_set_error(be, LT_ERR_ARG, "%s: buffer %s is NULL", op, name);
    if (n0 > (size_t)PTRDIFF_MAX / 2 || n1 > (size_t)PTRDIFF_MAX / 2 || cols > (size_t)PTRDIFF_MAX / 2)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %s sizes overflow", op, name);
    /* the lowest and highest elements are at corners; doubles hold every reach a
     * buffer could have exactly enough to compare (2^53 elements) */
    double lo = (double)r->off, hi = (double)r->off + (double)cols - 1.0;
    double e0 = (double)(n0 - 1) * (double)s0, e1 = (double)(n1 - 1) * (double)s1;
    lo += (e0 < 0 ? e0 : 0) + (e1 < 0 ? e1 : 0);
    hi += (e0 > 0 ? e0 : 0) + (e1 > 0 ? e1 : 0);
    if (lo < 0 || hi >= (double)buf_n)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %s block reaches [%.0f, %.0f], outside its buffer of %zu elements",
                                    op, name, lo, hi, buf_n);
    if (hull) {
        *hull = *r;
        hull->off = (size_t)lo;
        hull->n = (size_t)(hi - lo) + 1;
    }
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

/* *out = a * b; 0 on overflow. */
static int mul_sz(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b) return 0;
    *out = a * b;
    return 1;
}

/* Checks a recurrent sequence's geometry; sets U and the gate, record and dz widths G,
 * S, D in elements per row. */
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
    size_t all;
    if (g->steps == 0 || g->steps > ((size_t)1 << 31) || !mul_sz(g->steps + 1, g->batch * w->s, &all))
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %zu steps of %zu rows out of range", op, g->steps, g->batch);
    return LT_OK;
}

/* A sequence operand (lib/backend/backend.h, lt_rnn_seq): its steps and width, then its block
 * within the buffer; *hull spans it. */
static lt_status check_rnn_seq(lt_backend *be, const char *op, const lt_rnn_geom *g, const lt_rnn_widths *w,
                               lt_buf_range r, const lt_rnn_seq *seq, int state_width, lt_buf_range *hull)
{
    int lstm_state = state_width && g->cell == LT_CELL_LSTM;
    if (seq->steps != g->steps && seq->steps != 1)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %s has %zu steps, not %zu or 1", op, r.name, seq->steps,
                                    g->steps);
    if (seq->width != w->u && !(lstm_state && seq->width == 2 * w->u))
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %s is %zu wide, not %zu%s", op, r.name, seq->width, w->u,
                                    lstm_state ? " or 2U" : "");
    return check_strided_block(be, op, &r, g->batch, seq->steps, seq->width, seq->s_row, seq->s_step, hull);
}

lt_status lt_check_rnn_forward(lt_backend *be, const lt_rnn_geom *g, lt_buf_range xw, lt_buf_range bias,
                               lt_buf_range r, lt_buf_range rbias, lt_buf_range rec, lt_buf_range out_buf,
                               const lt_rnn_seq *out, lt_rnn_widths *w)
{
    const char *op = "rnn_forward";
    lt_status st = check_rnn_geom(be, op, g, w);
    if (st != LT_OK || g->batch == 0) return st;
    size_t slot = g->batch * w->s;
    rbias.n = g->cell == LT_CELL_GRU ? w->g : 0; /* only GRU's reset_after has a recurrent bias */
    bias.n = if_given(&bias, w->g);
    xw.n = g->steps * g->batch * w->g;
    r.n = w->u * w->g;
    lt_buf_range rec0 = rec; /* slot 0 is read (or written with zero_state), slots 1.. written */
    rec0.name = "rec[0]";
    rec0.n = slot;
    rec.off += slot;
    rec.n = g->steps * slot;
    lt_buf_range o = {"out", NULL, 0, 0, 0};
    if (out && (st = check_rnn_seq(be, op, g, w, out_buf, out, 1, &o)) != LT_OK) return st;
    lt_buf_range list[] = {rbias, bias, xw, r, rec0, rec, o};
    return check_operand_list(be, op, list, 7, g->zero_state ? 4 : 5);
}

lt_status lt_check_rnn_backward(lt_backend *be, const lt_rnn_geom *g, lt_buf_range dh_buf, const lt_rnn_seq *dh,
                                lt_buf_range r, lt_buf_range rec, lt_buf_range carry, lt_buf_range dz,
                                lt_rnn_widths *w)
{
    const char *op = "rnn_backward";
    lt_status st = check_rnn_geom(be, op, g, w);
    if (st != LT_OK || g->batch == 0) return st;
    size_t b = g->batch;
    lt_buf_range d = {"dh", NULL, 0, 0, 0};
    if (dh && (st = check_rnn_seq(be, op, g, w, dh_buf, dh, 0, &d)) != LT_OK) return st;
    r.n = w->u * w->g;
    rec.n = (g->steps + 1) * b * w->s;
    carry.n = b * 2 * w->u;
    dz.n = g->steps * b * w->d;
    lt_buf_range list[] = {d, r, rec, carry, dz};
    return check_operand_list(be, op, list, 5, 3);
}

/* ------------------------------------------------------------------ sizes */


/* *out = a * b * c * d of ints >= 0; 0 on overflow. */
static int prod4(int a, int b, int c, int d, size_t *out)
{
    size_t p = (size_t)a;
    return mul_sz(p, (size_t)b, &p) && mul_sz(p, (size_t)c, &p) && mul_sz(p, (size_t)d, out);
}

/* *n = rows * cols, failing on overflow. */
static lt_status check_product(lt_backend *be, const char *op, size_t rows, size_t cols, size_t *n)
{
    *n = 0;
    if (!mul_sz(rows, cols, n))
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %zu x %zu elements overflow size_t", op, rows, cols);
    return LT_OK;
}

/* ------------------------------------------------------------------ data movement */

/* buf n elements and, unless n == 0, the host pointer of an upload or download. */
static lt_status check_host_copy(lt_backend *be, const char *op, size_t n, lt_buf_range buf, const void *host,
                                 const char *host_name)
{
    buf.n = n;
    lt_status st = check_in_buffer(be, op, &buf);
    if (st == LT_OK && n && !host) return lt_backend_set_error(be, LT_ERR_ARG, "%s: %s is NULL", op, host_name);
    return st;
}

lt_status lt_check_upload(lt_backend *be, size_t n, lt_buf_range buf, const void *src)
{
    return check_host_copy(be, "upload", n, buf, src, "src");
}

lt_status lt_check_download(lt_backend *be, size_t n, lt_buf_range buf, const void *dst)
{
    return check_host_copy(be, "download", n, buf, dst, "dst");
}

lt_status lt_check_copy_strided(lt_backend *be, size_t n0, size_t n1, size_t cols, lt_buf_range x, ptrdiff_t xs0,
                                ptrdiff_t xs1, float beta, lt_buf_range y, ptrdiff_t ys0, ptrdiff_t ys1, size_t *rows)
{
    const char *op = "copy_strided";
    *rows = 0;
    if (n0 == 0 || n1 == 0 || cols == 0) return LT_OK;
    if (beta != 0.0f && beta != 1.0f)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: beta %g is not 0 or 1", op, (double)beta);
    lt_status st = check_strided_block(be, op, &x, n0, n1, cols, xs0, xs1, NULL);
    if (st == LT_OK) st = check_strided_block(be, op, &y, n0, n1, cols, ys0, ys1, NULL);
    return st == LT_OK ? check_product(be, op, n0, n1, rows) : st;
}

lt_status lt_check_copy(lt_backend *be, size_t n, lt_buf_range src, lt_buf_range dst)
{
    src.n = dst.n = n;
    lt_buf_range r[] = {src, dst};
    return check_operand_list(be, "copy", r, 2, 1);
}

lt_status lt_check_fill(lt_backend *be, const char *op, size_t n, lt_buf_range buf)
{
    buf.n = n;
    return check_in_buffer(be, op, &buf);
}

lt_status lt_check_dropout_mask(lt_backend *be, size_t n, float rate, lt_buf_range mask)
{
    if (!(rate >= 0.0f && rate < 1.0f))
        return lt_backend_set_error(be, LT_ERR_ARG, "dropout_mask: rate %g is outside [0, 1)", (double)rate);
    return lt_check_fill(be, "dropout_mask", n, mask);
}

/* ------------------------------------------------------------------ linear algebra */

/* Sizes r to a rows x cols matrix with leading dimension ld >= cols and checks it
 * against its buffer (an empty matrix may be absent). */
static lt_status check_matrix(lt_backend *be, const char *op, lt_buf_range *r, size_t rows, size_t cols, size_t ld)
{
    if (ld < cols)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: leading dimension of %s (%zu) < %zu", op, r->name, ld, cols);
    r->n = 0;
    if (rows == 0 || cols == 0) return LT_OK;
    size_t extent;
    if (!mul_sz(rows - 1, ld, &extent) || extent > SIZE_MAX - cols)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: matrix %s is too large", op, r->name);
    r->n = extent + cols;
    return check_in_buffer(be, op, r);
}

lt_status lt_check_gemm(lt_backend *be, int trans_a, int trans_b, size_t m, size_t n, size_t k, lt_buf_range a,
                        size_t lda, lt_buf_range b, size_t ldb, lt_buf_range c, size_t ldc)
{
    const char *op = "gemm";
    lt_status st = check_matrix(be, op, &c, m, n, ldc);
    if (st != LT_OK || m == 0 || n == 0 || k == 0) return st; /* with k == 0, A and B are empty */
    st = check_matrix(be, op, &a, trans_a ? k : m, trans_a ? m : k, lda);
    return st == LT_OK ? check_matrix(be, op, &b, trans_b ? n : k, trans_b ? k : n, ldb) : st;
}

lt_status lt_check_axpby(lt_backend *be, size_t n, lt_buf_range x, lt_buf_range y)
{
    x.n = y.n = n;
    lt_buf_range r[] = {x, y};
    return check_operand_list(be, "axpby", r, 2, 2); /* elementwise: y may be x */
}

lt_status lt_check_mul(lt_backend *be, size_t n, lt_buf_range x, lt_buf_range y, lt_buf_range z)
{
    x.n = y.n = z.n = n;
    lt_buf_range r[] = {x, y, z};
    return check_operand_list(be, "mul", r, 3, 3); /* z may alias x or y */
}

lt_status lt_check_reduce(lt_backend *be, const char *op, size_t n, lt_buf_range x, lt_buf_range out)
{
    x.n = n;
    out.n = 1; /* written even when n == 0 */
    lt_buf_range r[] = {x, out};
    return check_operand_list(be, op, r, 2, 2);
}

/* ------------------------------------------------------------------ layers, losses, optimizers */

/* An activation op's sizes: a known act and rows x cols elements; *n = rows * cols. */
static lt_status check_act_sizes(lt_backend *be, const char *op, lt_backend_act act, size_t rows, size_t cols,
                                 size_t *n)
{
    *n = 0;
    if ((unsigned)act > LT_BACT_SOFTMAX)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: unknown activation %d", op, (int)act);
    return check_product(be, op, rows, cols, n);
}

lt_status lt_check_bias_act_forward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, lt_buf_range x,
                                    lt_buf_range bias, lt_buf_range y, size_t *n)
{
    const char *op = "bias_act_forward";
    lt_status st = check_act_sizes(be, op, act, rows, cols, n);
    if (st != LT_OK) return st;
    x.n = y.n = *n;
    bias.n = if_given(&bias, cols);
    lt_buf_range r[] = {x, y, bias};
    return check_operand_list(be, op, r, 3, 3); /* y may alias x */
}

lt_status lt_check_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, lt_buf_range y,
                                lt_buf_range dy, lt_buf_range dx, size_t *n)
{
    const char *op = "act_backward";
    lt_status st = check_act_sizes(be, op, act, rows, cols, n);
    if (st != LT_OK) return st;
    y.n = dy.n = dx.n = *n;
    lt_buf_range r[] = {y, dy, dx};
    return check_operand_list(be, op, r, 3, 3); /* dx may alias dy */
}

lt_status lt_check_bias_act_backward(lt_backend *be, size_t rows, size_t cols, lt_backend_act act, lt_buf_range y,
                                     lt_buf_range dy, lt_buf_range dz, lt_buf_range db, size_t *n)
{
    const char *op = "bias_act_backward";
    lt_status st = check_act_sizes(be, op, act, rows, cols, n);
    if (st != LT_OK) return st;
    if (act == LT_BACT_SOFTMAX) return lt_backend_set_error(be, LT_ERR_ARG, "%s: softmax is not pointwise", op);
    int linear = act == LT_BACT_LINEAR;
    if (linear && (y.mem || dz.mem)) return lt_backend_set_error(be, LT_ERR_ARG, "%s: y and dz must be NULL when linear", op);
    if (!linear && (!y.mem || !dz.mem))
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: activation %d needs y and dz", op, (int)act);
    y.n = dy.n = dz.n = *n;
    if (linear) y.n = dz.n = 0;
    db.n = cols;
    lt_buf_range r[] = {y, dy, dz, db};
    st = check_operand_list(be, op, r, 4, 3); /* each inside its buffer; db apart from all */
    if (st == LT_OK && dz.n && !(dz.mem == dy.mem && dz.off == dy.off)) st = check_operand_list(be, op, r, 3, 2);
    else if (st == LT_OK && dz.n) st = check_apart(be, op, &dz, &y);
    return st;
}

lt_status lt_check_gather_rows(lt_backend *be, size_t rows, size_t cols, lt_buf_range src, lt_buf_range idx,
                               lt_buf_range dst, size_t *n)
{
    const char *op = "gather_rows";
    lt_status st = check_product(be, op, rows, cols, n);
    if (st != LT_OK) return st;
    idx.n = rows;
    dst.n = *n;
    src.n = *n ? cols : 0; /* at least one row; the indices are the caller's (backend.h) */
    lt_buf_range r[] = {idx, dst, src};
    return check_operand_list(be, op, r, 3, 3);
}

lt_status lt_check_loss(lt_backend *be, lt_backend_loss kind, size_t rows, size_t cols, lt_buf_range pred,
                        lt_buf_range target, lt_buf_range out, lt_buf_range grad, size_t *n)
{
    const char *op = "loss";
    *n = 0;
    if ((unsigned)kind > LT_BLOSS_CCE_PROBS)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: unknown loss kind %d", op, (int)kind);
    lt_status st = check_product(be, op, rows, cols, n);
    if (st != LT_OK) return st;
    pred.n = target.n = *n;
    out.n = 1; /* written even when n == 0 */
    grad.n = if_given(&grad, *n);
    lt_buf_range r[] = {pred, target, grad, out};
    st = check_operand_list(be, op, r, 4, 4); /* grad may alias pred */
    /* OpenCL may write out while other work-items still read and write the rest */
    for (int i = 0; st == LT_OK && i < 3; i++) st = check_apart(be, op, &r[3], &r[i]);
    return st;
}

lt_status lt_check_optim_step(lt_backend *be, lt_backend_optim kind, const lt_backend_optim_hyper *h, size_t n,
                              lt_buf_range params, lt_buf_range grads, lt_buf_range state, size_t *moments)
{
    const char *op = "optim_step";
    *moments = 0;
    if ((unsigned)kind > LT_BOPT_ADAM)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: unknown optimizer %d", op, (int)kind);
    if (!h) return lt_backend_set_error(be, LT_ERR_ARG, "%s: hyper-parameters are NULL", op);
    size_t m = lt_optim_step_moments(kind, h);
    lt_status st = check_product(be, op, m, n, &state.n);
    if (st != LT_OK) return st;
    params.n = grads.n = n;
    lt_buf_range r[] = {params, grads, state};
    st = check_operand_list(be, op, r, 3, 3);
    if (st == LT_OK) *moments = m;
    return st;
}

/* ------------------------------------------------------------------ convolutions, pooling */

/* The operands of an op with inputs a and b and output o, of na, nb and no elements:
 * each inside its buffer, o apart from both (the kernels read inputs while writing). */
static lt_status check_two_in_one_out(lt_backend *be, const char *op, lt_buf_range a, size_t na, lt_buf_range b,
                                      size_t nb, lt_buf_range o, size_t no)
{
    a.n = na;
    b.n = nb;
    o.n = no;
    lt_buf_range r[] = {a, b, o};
    return check_operand_list(be, op, r, 3, 2);
}

/* Fails naming the first of count ints that is below 1. */
static lt_status check_positive(lt_backend *be, const char *op, const int *v, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (v[i] < 1) return lt_backend_set_error(be, LT_ERR_ARG, "%s: %s = %d, must be >= 1", op, names[i], v[i]);
    return LT_OK;
}

/* Fails when a pad is negative. */
static lt_status check_pads(lt_backend *be, const char *op, int top, int left)
{
    if (top < 0 || left < 0)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: pads (%d, %d) must be >= 0", op, top, left);
    return LT_OK;
}

/* Checks a convolution geometry: every size >= 1, pads >= 0, element counts that fit
 * size_t and an im2col row whose bytes do. Any out_h/out_w is then safe: cells outside
 * the image read as 0 and are never addressed (coordinates are computed in 64 bits). */
static lt_status check_conv_geom(lt_backend *be, const char *op, const lt_conv_geom *g, lt_conv_sizes *s)
{
    memset(s, 0, sizeof *s);
    if (!g) return lt_backend_set_error(be, LT_ERR_ARG, "%s: geometry is NULL", op);
    const int v[] = {g->batch, g->in_h, g->in_w, g->in_c, g->out_h, g->out_w, g->out_c,
                     g->k_h, g->k_w, g->stride_h, g->stride_w, g->dil_h, g->dil_w};
    static const char *const names[] = {"batch", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c",
                                        "k_h", "k_w", "stride_h", "stride_w", "dil_h", "dil_w"};
    lt_status st = check_positive(be, op, v, names, sizeof v / sizeof v[0]);
    if (st == LT_OK) st = check_pads(be, op, g->pad_top, g->pad_left);
    if (st != LT_OK) return st;
    if (!prod4(g->batch, g->in_h, g->in_w, g->in_c, &s->nx) || !prod4(g->batch, g->out_h, g->out_w, g->out_c, &s->ny) ||
        !prod4(g->k_h, g->k_w, g->in_c, g->out_c, &s->nw) || !prod4(g->k_h, g->k_w, g->in_c, 1, &s->kcols) ||
        !prod4(g->batch, g->out_h, g->out_w, 1, &s->rows) || s->kcols > SIZE_MAX / 4)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: element counts overflow size_t", op);
    s->pointwise = g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_top == 0 &&
                   g->pad_left == 0 && g->out_h == g->in_h && g->out_w == g->in_w;
    return LT_OK;
}

lt_status lt_check_conv2d_forward(lt_backend *be, const lt_conv_geom *g, lt_buf_range x, lt_buf_range w,
                                  lt_buf_range y, lt_conv_sizes *s)
{
    lt_status st = check_conv_geom(be, "conv2d_forward", g, s);
    return st == LT_OK ? check_two_in_one_out(be, "conv2d_forward", x, s->nx, w, s->nw, y, s->ny) : st;
}

lt_status lt_check_conv2d_backward_data(lt_backend *be, const lt_conv_geom *g, lt_buf_range dy, lt_buf_range w,
                                        lt_buf_range dx, lt_conv_sizes *s)
{
    lt_status st = check_conv_geom(be, "conv2d_backward_data", g, s);
    return st == LT_OK ? check_two_in_one_out(be, "conv2d_backward_data", dy, s->ny, w, s->nw, dx, s->nx) : st;
}

lt_status lt_check_conv2d_backward_filter(lt_backend *be, const lt_conv_geom *g, lt_buf_range x, lt_buf_range dy,
                                          lt_buf_range dw, lt_conv_sizes *s)
{
    lt_status st = check_conv_geom(be, "conv2d_backward_filter", g, s);
    return st == LT_OK ? check_two_in_one_out(be, "conv2d_backward_filter", x, s->nx, dy, s->ny, dw, s->nw) : st;
}

/* Checks the sizes every pooling/up-sampling geometry needs (batch, images, channels,
 * window or factors >= 1) and the element counts. */
static lt_status check_pool_sizes(lt_backend *be, const char *op, const lt_pool_geom *g, lt_pool_sizes *s)
{
    memset(s, 0, sizeof *s);
    if (!g) return lt_backend_set_error(be, LT_ERR_ARG, "%s: geometry is NULL", op);
    const int v[] = {g->batch, g->in_h, g->in_w, g->c, g->out_h, g->out_w, g->k_h, g->k_w};
    static const char *const names[] = {"batch", "in_h", "in_w", "c", "out_h", "out_w", "k_h", "k_w"};
    lt_status st = check_positive(be, op, v, names, sizeof v / sizeof v[0]);
    if (st != LT_OK) return st;
    if (!prod4(g->batch, g->in_h, g->in_w, g->c, &s->nx) || !prod4(g->batch, g->out_h, g->out_w, g->c, &s->ny) ||
        !prod4(1, g->in_h, g->in_w, g->c, &s->img))
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: element counts overflow size_t", op);
    return LT_OK;
}

/* Checks a max-pooling geometry: strides >= 1, pads >= 0, every window holding at least
 * one image cell (a window wholly in the padding has no maximum), and image indices
 * that fit the uint32 argmax. */
static lt_status check_maxpool_geom(lt_backend *be, const char *op, const lt_pool_geom *g, lt_pool_sizes *s)
{
    lt_status st = check_pool_sizes(be, op, g, s);
    if (st != LT_OK) return st;
    const int strides[] = {g->stride_h, g->stride_w};
    static const char *const names[] = {"stride_h", "stride_w"};
    st = check_positive(be, op, strides, names, 2);
    if (st == LT_OK) st = check_pads(be, op, g->pad_top, g->pad_left);
    if (st != LT_OK) return st;
    /* windows start at o*stride - pad, monotonically: check the first and the last */
    if (g->pad_top >= g->k_h || g->pad_left >= g->k_w ||
        (int64_t)(g->out_h - 1) * g->stride_h - g->pad_top > g->in_h - 1 ||
        (int64_t)(g->out_w - 1) * g->stride_w - g->pad_left > g->in_w - 1)
        return lt_backend_set_error(be, LT_ERR_ARG,
                                    "%s: a %dx%d window (stride %dx%d, pads %d, %d) of the %dx%d output lies wholly "
                                    "outside the %dx%d input",
                                    op, g->k_h, g->k_w, g->stride_h, g->stride_w, g->pad_top, g->pad_left, g->out_h,
                                    g->out_w, g->in_h, g->in_w);
    if ((uint64_t)s->img - 1 > UINT32_MAX) /* the last index, img - 1, must fit */
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: an image of %zu elements has indices beyond argmax's uint32",
                                    op, s->img);
    return LT_OK;
}

lt_status lt_check_maxpool_forward(lt_backend *be, const lt_pool_geom *g, lt_buf_range x, lt_buf_range y,
                                   lt_buf_range argmax, lt_pool_sizes *s)
{
    const char *op = "maxpool_forward";
    lt_status st = check_maxpool_geom(be, op, g, s);
    if (st != LT_OK) return st;
    x.n = s->nx;
    y.n = argmax.n = s->ny;
    lt_buf_range r[] = {x, y, argmax};
    return check_operand_list(be, op, r, 3, 1);
}

lt_status lt_check_maxpool_backward(lt_backend *be, const lt_pool_geom *g, lt_buf_range dy, lt_buf_range argmax,
                                    lt_buf_range dx, lt_pool_sizes *s)
{
    lt_status st = check_maxpool_geom(be, "maxpool_backward", g, s);
    return st == LT_OK ? check_two_in_one_out(be, "maxpool_backward", dy, s->ny, argmax, s->ny, dx, s->nx) : st;
}

/* An up-sampling op from src to dst (x to y forward, dy to dx backward): a known mode,
 * out = in * k exactly (strides and pads unused), dst apart from src. */
static lt_status check_upsample(lt_backend *be, const char *op, int forward, const lt_pool_geom *g,
                                lt_backend_interp mode, lt_buf_range src, lt_buf_range dst, lt_pool_sizes *s)
{
    memset(s, 0, sizeof *s);
    if ((unsigned)mode > LT_INTERP_BILINEAR)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: unknown interpolation %d", op, (int)mode);
    lt_status st = check_pool_sizes(be, op, g, s);
    if (st != LT_OK) return st;
    if ((int64_t)g->in_h * g->k_h != g->out_h || (int64_t)g->in_w * g->k_w != g->out_w)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: output %dx%d is not the input %dx%d times %dx%d", op,
                                    g->out_h, g->out_w, g->in_h, g->in_w, g->k_h, g->k_w);
    src.n = forward ? s->nx : s->ny;
    dst.n = forward ? s->ny : s->nx;
    lt_buf_range r[] = {src, dst};
    return check_operand_list(be, op, r, 2, 1);
}

lt_status lt_check_upsample_forward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, lt_buf_range x,
                                    lt_buf_range y, lt_pool_sizes *s)
{
    return check_upsample(be, "upsample_forward", 1, g, mode, x, y, s);
}

lt_status lt_check_upsample_backward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, lt_buf_range dy,
                                     lt_buf_range dx, lt_pool_sizes *s)
{
    return check_upsample(be, "upsample_backward", 0, g, mode, dy, dx, s);
}

/* ------------------------------------------------------------------ augmentation */

/* Largest image side of affine_resample: float coordinates address every pixel exactly
 * up to 2^24, and beyond that (float)(h-1) may round past the last row. */
#define LT_AFFINE_MAX_SIDE (1 << 24)

lt_status lt_check_affine_resample(lt_backend *be, size_t n, int h, int w, int ch, lt_buf_range mats, lt_buf_range x,
                                   lt_buf_range y, size_t *total)
{
    const char *op = "affine_resample";
    *total = 0;
    if (h < 1 || w < 1 || ch < 1)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: image %dx%dx%d: sizes must be >= 1", op, h, w, ch);
    if (h > LT_AFFINE_MAX_SIDE || w > LT_AFFINE_MAX_SIDE)
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: image %dx%d: sides past %d are not addressable by float "
                                    "coordinates", op, h, w, LT_AFFINE_MAX_SIDE);
    if (n == 0) return LT_OK;
    size_t img, all;
    if (!prod4(h, w, ch, 1, &img) || !mul_sz(n, img, &all) || !mul_sz(n, 6, &mats.n))
        return lt_backend_set_error(be, LT_ERR_ARG, "%s: %zu images of %dx%dx%d overflow size_t", op, n, h, w, ch);
    x.n = y.n = *total = all;
    lt_buf_range r[] = {mats, x, y};
    return check_operand_list(be, op, r, 3, 2);
}
