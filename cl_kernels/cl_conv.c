/* The OpenCL backend's image ops (conv.cl, pool.cl, augment.cl): convolutions lowered to
 * im2col (or col2im) and CLBlast GEMMs in chunks that bound the column buffer, max
 * pooling, up-sampling and the affine resampling of augmentation. */
#include <stdint.h>
#include "cl_launch.h"
#include "conv_chunks.h"

/* ------------------------------------------------------------------ convolutions */

/* A convolution about to run: its sizes and, unless pointwise (x is then its own
 * im2col), how its im2col rows are chunked and the column buffer that holds a chunk. */
typedef struct conv_plan {
    lt_conv_sizes s;  /* element counts                                        */
    size_t f;         /* out_c: columns of y and dy                            */
    lt_conv_chunks c; /* whole images while they fit, else parts of one image  */
    lt_buf col;       /* the column buffer as an operand of lt_cl_gemm         */
} conv_plan;

/* Plans g for op: chunks within the column budget (64 MiB, or the device's largest
 * buffer if smaller; one row always fits, however wide) and a column buffer that holds
 * one, grown if need be. */
static lt_status plan_conv(cl_backend *b, const lt_conv_geom *g, const char *op, conv_plan *p)
{
    p->s = lt_conv_sizes_of(g);
    p->f = (size_t)g->out_c;
    if (p->s.pointwise) return LT_OK;
    size_t cap = LT_CL_CONV_COL_BYTES;
    if ((cl_ulong)cap > b->lim.max_alloc) cap = (size_t)b->lim.max_alloc;
    p->c = lt_conv_chunks_by_image(g, &p->s, cap);
    lt_status st = lt_cl_grow_scratch(b, &b->conv_col, p->c.chunk * p->s.kcols * 4, op, "the column buffer");
    p->col.mem = b->conv_col.mem;
    p->col.n = b->conv_col.bytes / 4;
    return st;
}

/* Sets the geometry arguments shared by the im2col and col2im kernels. */
static void conv_args(kargs *a, const lt_conv_geom *g)
{
    const int v[] = {g->in_h, g->in_w, g->in_c, g->out_h, g->out_w, g->k_h, g->k_w,
                     g->stride_h, g->stride_w, g->dil_h, g->dil_w, g->pad_top, g->pad_left};
    arg_ints(a, v, sizeof v / sizeof v[0]);
}

/* Enqueues im2col of x for rows [r0, r0+len) into the column buffer. */
static lt_status im2col(cl_backend *b, const char *op, const lt_conv_geom *g, const conv_plan *p, const lt_buf *x,
                        size_t xoff, size_t r0, size_t len)
{
    kargs a = args_of(b, K_IM2COL);
    arg_at(&a, x, xoff);
    arg_cl(&a, p->col.mem);
    arg_u64(&a, r0);
    arg_u64(&a, len);
    arg_u64(&a, p->s.kcols);
    conv_args(&a, g);
    return lt_cl_launch_2d(b, &a, p->s.kcols, len, op);
}

/* y = conv(x, w): per chunk, im2col then y rows = columns * w (CLBlast). */
lt_status lt_cl_conv2d_forward(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff, const lt_buf *w,
                               size_t woff, lt_buf *y, size_t yoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "conv2d_forward";
    conv_plan p;
    lt_status st = plan_conv(b, g, op, &p);
    size_t f = p.f, kc = p.s.kcols;
    if (p.s.pointwise) return lt_cl_gemm(be, 0, 0, p.s.rows, f, kc, 1.0f, x, xoff, kc, w, woff, f, 0.0f, y, yoff, f);
    for (size_t r0 = 0, len; st == LT_OK && r0 < p.c.rows; r0 += len) {
        len = lt_conv_chunk_len(&p.c, r0);
        st = im2col(b, op, g, &p, x, xoff, r0, len);
        if (st == LT_OK)
            st = lt_cl_gemm(be, 0, 0, len, f, kc, 1.0f, &p.col, 0, kc, w, woff, f, 0.0f, y, yoff + r0 * f, f);
    }
    return st;
}

/* Enqueues col2im of the chunk of rows [r0, r0+len) in the column buffer into dx: input
 * rows iy0 .. iy1 of the chunk's images (all of one image's rows unless it splits one);
 * a split image's chunks add to dx, whole images overwrite theirs. */
static lt_status col2im(cl_backend *b, const char *op, const lt_conv_geom *g, const conv_plan *p, size_t r0,
                        size_t len, const lt_buf *dx, size_t dxoff)
{
    int split = lt_conv_chunks_split(&p->c);
    size_t n0 = r0 / p->c.per_img, nimg = split ? 1 : len / p->c.per_img;
    long long iy0 = 0, iy1 = g->in_h - 1;
    if (split) { /* only the input rows that this chunk's output rows read */
        long long oy0 = (long long)((r0 - n0 * p->c.per_img) / (size_t)g->out_w);
        long long oy1 = (long long)((r0 + len - 1 - n0 * p->c.per_img) / (size_t)g->out_w);
        long long lo = oy0 * g->stride_h - g->pad_top;
        long long hi = oy1 * g->stride_h - g->pad_top + (long long)(g->k_h - 1) * g->dil_h;
        if (lo > iy0) iy0 = lo;
        if (hi < iy1) iy1 = hi;
    }
    if (iy0 > iy1) return LT_OK; /* a chunk of rows that read only padding */
    kargs a = args_of(b, K_COL2IM);
    arg_cl(&a, p->col.mem);
    arg_u64(&a, r0);
    arg_u64(&a, len);
    arg_u64(&a, p->s.kcols);
    arg_u64(&a, n0);
    arg_u64(&a, nimg);
    arg_i32(&a, (cl_int)iy0);
    arg_i32(&a, (cl_int)(iy1 - iy0 + 1));
    conv_args(&a, g);
    arg_i32(&a, split);
    arg_at(&a, dx, dxoff);
    return lt_cl_launch_1d(b, &a, nimg * (size_t)(iy1 - iy0 + 1) * (size_t)g->in_w * (size_t)g->in_c, op);
}

/* dx = transposed convolution of dy: per chunk, columns = dy rows * w^T (CLBlast), then
 * col2im gathers them into dx. Whole-image chunks overwrite their images; chunks that
 * split an image add to a dx zeroed first. */
lt_status lt_cl_conv2d_backward_data(lt_backend *be, const lt_conv_geom *g, const lt_buf *dy, size_t dyoff,
                                     const lt_buf *w, size_t woff, lt_buf *dx, size_t dxoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "conv2d_backward_data";
    conv_plan p;
    lt_status st = plan_conv(b, g, op, &p);
    size_t f = p.f, kc = p.s.kcols;
    if (p.s.pointwise)
        return lt_cl_gemm(be, 0, 1, p.s.rows, kc, f, 1.0f, dy, dyoff, f, w, woff, f, 0.0f, dx, dxoff, kc);
    if (st == LT_OK && lt_conv_chunks_split(&p.c)) st = lt_cl_fill(be, dx, dxoff, p.s.nx, 0.0f);
    for (size_t r0 = 0, len; st == LT_OK && r0 < p.c.rows; r0 += len) {
        len = lt_conv_chunk_len(&p.c, r0);
        st = lt_cl_gemm(be, 0, 1, len, kc, f, 1.0f, dy, dyoff + r0 * f, f, w, woff, f, 0.0f, &p.col, 0, kc);
        if (st == LT_OK) st = col2im(b, op, g, &p, r0, len, dx, dxoff);
    }
    return st;
}

/* dw = columns^T * dy, summed over the chunks in order (the first overwrites dw). */
lt_status lt_cl_conv2d_backward_filter(lt_backend *be, const lt_conv_geom *g, const lt_buf *x, size_t xoff,
                                       const lt_buf *dy, size_t dyoff, lt_buf *dw, size_t dwoff)
{
    cl_backend *b = (cl_backend *)be;
    const char *op = "conv2d_backward_filter";
    conv_plan p;
    lt_status st = plan_conv(b, g, op, &p);
    size_t f = p.f, kc = p.s.kcols;
    if (p.s.pointwise)
        return lt_cl_gemm(be, 1, 0, kc, f, p.s.rows, 1.0f, x, xoff, kc, dy, dyoff, f, 0.0f, dw, dwoff, f);
    for (size_t r0 = 0, len; st == LT_OK && r0 < p.c.rows; r0 += len) {
        len = lt_conv_chunk_len(&p.c, r0);
        st = im2col(b, op, g, &p, x, xoff, r0, len);
        if (st == LT_OK)
            st = lt_cl_gemm(be, 1, 0, kc, f, len, 1.0f, &p.col, 0, kc, dy, dyoff + r0 * f, f, r0 ? 1.0f : 0.0f, dw,
                            dwoff, f);
    }
    return st;
}

/* ------------------------------------------------------------------ pooling, up-sampling */

/* Shared body of the max-pooling ops: kernel kid over n items, with its three operands
 * (forward: x, y, argmax; backward: dy, argmax, dx) and then the geometry. */
static lt_status maxpool(cl_backend *b, int kid, const char *op, const lt_pool_geom *g, size_t n, const lt_buf *p,
                         size_t poff, const lt_buf *q, size_t qoff, const lt_buf *r, size_t roff)
{
    kargs a = args_of(b, kid);
    arg_u64(&a, n);
    arg_at(&a, p, poff);
    arg_at(&a, q, qoff);
    arg_at(&a, r, roff);
    const int v[] = {g->in_h, g->in_w, g->c, g->out_h, g->out_w, g->k_h, g->k_w,
                     g->stride_h, g->stride_w, g->pad_top, g->pad_left};
    arg_ints(&a, v, sizeof v / sizeof v[0]);
    return lt_cl_launch_1d(b, &a, n, op);
}

/* y = window maxima, argmax = in-image index of each first maximum. */
lt_status lt_cl_maxpool_forward(lt_backend *be, const lt_pool_geom *g, const lt_buf *x, size_t xoff, lt_buf *y,
                                    size_t yoff, lt_buf *argmax, size_t aoff)
{
    return maxpool((cl_backend *)be, K_MAXPOOL_FORWARD, "maxpool_forward", g, lt_pool_sizes_of(g).ny, x, xoff, y,
                   yoff, argmax, aoff);
}

/* dx = scatter-add of dy at argmax, computed as a gather per input cell. */
lt_status lt_cl_maxpool_backward(lt_backend *be, const lt_pool_geom *g, const lt_buf *dy, size_t dyoff,
                                     const lt_buf *argmax, size_t aoff, lt_buf *dx, size_t dxoff)
{
    return maxpool((cl_backend *)be, K_MAXPOOL_BACKWARD, "maxpool_backward", g, lt_pool_sizes_of(g).nx, dy, dyoff,
                   argmax, aoff, dx, dxoff);
}

/* Shared body of the up-sampling ops: kernel kid over the n items of dst, from src. */
static lt_status upsample(cl_backend *b, int kid, const char *op, const lt_pool_geom *g, lt_backend_interp mode,
                          const lt_buf *src, size_t soff, lt_buf *dst, size_t doff, size_t n)
{
    kargs a = args_of(b, kid);
    arg_u64(&a, n);
    arg_i32(&a, mode == LT_INTERP_NEAREST ? 0 : 1);
    arg_at(&a, src, soff);
    arg_at(&a, dst, doff);
    const int v[] = {g->in_h, g->in_w, g->c, g->k_h, g->k_w};
    arg_ints(&a, v, sizeof v / sizeof v[0]);
    return lt_cl_launch_1d(b, &a, n, op);
}

/* y = x up-sampled by (k_h, k_w), nearest or bilinear. */
lt_status lt_cl_upsample_forward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode, const lt_buf *x,
                                     size_t xoff, lt_buf *y, size_t yoff)
{
    return upsample((cl_backend *)be, K_UPSAMPLE_FORWARD, "upsample_forward", g, mode, x, xoff, y, yoff,
                    lt_pool_sizes_of(g).ny);
}

/* dx = the adjoint of up-sampling applied to dy (a gather per input cell). */
lt_status lt_cl_upsample_backward(lt_backend *be, const lt_pool_geom *g, lt_backend_interp mode,
                                      const lt_buf *dy, size_t dyoff, lt_buf *dx, size_t dxoff)
{
    return upsample((cl_backend *)be, K_UPSAMPLE_BACKWARD, "upsample_backward", g, mode, dy, dyoff, dx, dxoff,
                    lt_pool_sizes_of(g).nx);
}

/* ------------------------------------------------------------------ augmentation */

/* y = x resampled through per-image affine maps (bilinear, edges replicated); one item
 * per output pixel. */
lt_status lt_cl_affine_resample(lt_backend *be, size_t n, int h, int w, int ch, const lt_buf *mats, size_t moff,
                                    const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    cl_backend *b = (cl_backend *)be;
    if (n == 0) return LT_OK;
    size_t pix = n * (size_t)h * (size_t)w; /* output pixels, one item each */
    kargs a = args_of(b, K_AFFINE_RESAMPLE);
    arg_u64(&a, pix);
    arg_at(&a, mats, moff);
    arg_at(&a, x, xoff);
    arg_at(&a, y, yoff);
    arg_i32(&a, h);
    arg_i32(&a, w);
    arg_i32(&a, ch);
    return lt_cl_launch_1d(b, &a, pix, "affine_resample");
}
