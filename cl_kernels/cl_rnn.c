/* The OpenCL backend's data movement and recurrent ops (rnn.cl): strided copies of row
 * blocks, and a whole recurrent sequence forward or backward in one launch, one
 * work-group per batch row. */
#include "cl_launch.h"

/* y = x (+ y) over a strided n0 x n1 block of rows; one item per element. */
lt_status lt_cl_copy_strided(lt_backend *be, size_t n0, size_t n1, size_t cols, const lt_buf *x, size_t xoff,
                                 ptrdiff_t xs0, ptrdiff_t xs1, float beta, lt_buf *y, size_t yoff, ptrdiff_t ys0,
                                 ptrdiff_t ys1)
{
    cl_backend *b = (cl_backend *)be;
    if (n0 == 0 || n1 == 0 || cols == 0) return LT_OK;
    kargs a = args_of(b, K_COPY_STRIDED);
    arg_u64(&a, n0);
    arg_u64(&a, n1);
    arg_u64(&a, cols);
    arg_at(&a, x, xoff);
    arg_i64(&a, xs0);
    arg_i64(&a, xs1);
    arg_f32(&a, beta);
    arg_at(&a, y, yoff);
    arg_i64(&a, ys0);
    arg_i64(&a, ys1);
    return lt_cl_launch_2d(b, &a, cols, n0 * n1, "copy_strided");
}

/* Kernel code of a cell (rnn.cl's LT_CELL_*). */
static int cell_code(lt_backend_cell c) { return c == LT_CELL_LSTM ? 1 : c == LT_CELL_GRU ? 2 : 0; }

/* Starts a sequence kernel's arguments with the geometry both share. */
static kargs rnn_args(cl_backend *b, int kid, const lt_rnn_geom *g)
{
    kargs a = args_of(b, kid);
    arg_u64(&a, g->steps);
    arg_u64(&a, g->batch);
    arg_u64(&a, g->units);
    arg_i32(&a, cell_code(g->cell));
    arg_i32(&a, lt_cl_act_code(g->act));
    arg_f32(&a, g->alpha);
    return a;
}

/* Launches a sequence kernel: one work-group per batch row, its items sharing the units. */
static lt_status launch_rnn(cl_backend *b, const kargs *a, const lt_rnn_geom *g, const char *op)
{
    return lt_cl_launch_groups(b, a, g->batch, lt_cl_pow2_ceil_cap(g->units, b->wg[a->kid]), op);
}

/* Next six arguments: a sequence operand (backend.h, lt_rnn_seq) of a T-step recurrence,
 * or its absence: flag, buffer, offset, row and step strides, every-step flag. */
static void arg_seq(kargs *a, const lt_rnn_seq *seq, size_t T, cl_mem fallback)
{
    arg_i32(a, seq != NULL);
    arg_at_or(a, seq ? seq->buf : NULL, seq ? seq->off : 0, fallback);
    arg_i64(a, seq ? seq->s_row : 0);
    arg_i64(a, seq ? seq->s_step : 0);
    arg_i32(a, seq && seq->steps == T && T > 1);
}

/* g->steps steps of a recurrent cell over g->batch rows, in one launch. */
lt_status lt_cl_rnn_forward(lt_backend *be, const lt_rnn_geom *g, const lt_buf *xw, size_t xwoff,
                                const lt_buf *bias, size_t boff, const lt_buf *r, size_t roff, const lt_buf *rbias,
                                size_t rboff, lt_buf *rec, size_t recoff, const lt_rnn_seq *out)
{
    cl_backend *b = (cl_backend *)be;
    if (g->batch == 0) return LT_OK;
    kargs a = rnn_args(b, K_RNN_FORWARD, g);
    arg_i32(&a, g->zero_state != 0);
    arg_at(&a, xw, xwoff);
    arg_opt(&a, bias, boff, b->scratch);
    arg_at(&a, r, roff);
    arg_opt(&a, g->cell == LT_CELL_GRU ? rbias : NULL, rboff, b->scratch);
    arg_at(&a, rec, recoff);
    arg_seq(&a, out, g->steps, b->scratch);
    arg_u64(&a, out ? out->width : 0);
    return launch_rnn(b, &a, g, "rnn_forward");
}

/* Backpropagation through rnn_forward's steps, last to first, in one launch. */
lt_status lt_cl_rnn_backward(lt_backend *be, const lt_rnn_geom *g, const lt_rnn_seq *dh, const lt_buf *r,
                                 size_t roff, const lt_buf *rec, size_t recoff, lt_buf *carry, size_t coff, lt_buf *dz,
                                 size_t dzoff)
{
    cl_backend *b = (cl_backend *)be;
    if (g->batch == 0) return LT_OK;
    kargs a = rnn_args(b, K_RNN_BACKWARD, g);
    arg_i32(&a, g->zero_carry != 0);
    arg_seq(&a, dh, g->steps, b->scratch);
    arg_at(&a, r, roff);
    arg_at(&a, rec, recoff);
    arg_at(&a, carry, coff);
    arg_at(&a, dz, dzoff);
    return launch_rnn(b, &a, g, "rnn_backward");
}
