/* Convolution, max-pooling and up-sampling ops (lib/backend/backend.h, NHWC) of every
 * available backend (the CPU fallback, and each OpenCL device when built with OpenCL) against
 * naive double-precision references written here from backend.h's formulas, on random
 * inputs over many geometries, at nonzero buffer offsets with guard cells around every
 * output. The convolution gradients are also checked by the adjoint identity
 * <conv(x,w), dy> = <x, backward_data(dy,w)> = <w, backward_filter(x,dy)>, and the
 * up-sampling backward by <up(x), dy> = <x, up^T(dy)>. Bad geometry must be rejected
 * with LT_ERR_ARG and a message.
 *
 * Prints one line per failure and a final tally; exits 0 only when everything passed.
 * `--bench [--threads N]` instead prints milliseconds per call of the conv-ae layers
 * (28x28x1 -> 26x26x16 -> 24x24x16, 3x3 kernels) at batch 32 and 256. */
#include <limits.h>
#include "harness.h"

/* ------------------------------------------------------------------ convolution references */

/* Describes a convolution geometry. */
static void conv_name(const lt_conv_geom *g, char *s, size_t len)
{
    snprintf(s, len, "[b%d %dx%dx%d -> %dx%dx%d k%dx%d s%d,%d d%d,%d p%d,%d]", g->batch, g->in_h, g->in_w,
             g->in_c, g->out_h, g->out_w, g->out_c, g->k_h, g->k_w, g->stride_h, g->stride_w, g->dil_h, g->dil_w,
             g->pad_top, g->pad_left);
}

/* Calls fn(ctx, x index, w index, y index) for every term of the convolution sum:
 * y[n,oy,ox,f] += x[n, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, c] * w[ky,kx,c,f] over
 * image cells only (x is 0 elsewhere). */
typedef void (*term_fn)(void *ctx, size_t xi, size_t wi, size_t yi);
/* Walks the terms of g's convolution sum (see term_fn). */
static void conv_terms(const lt_conv_geom *g, term_fn fn, void *ctx)
{
    for (int n = 0; n < g->batch; n++)
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++)
                for (int ky = 0; ky < g->k_h; ky++) {
                    long iy = (long)oy * g->stride_h - g->pad_top + (long)ky * g->dil_h;
                    if (iy < 0 || iy >= g->in_h) continue;
                    for (int kx = 0; kx < g->k_w; kx++) {
                        long ix = (long)ox * g->stride_w - g->pad_left + (long)kx * g->dil_w;
                        if (ix < 0 || ix >= g->in_w) continue;
                        for (int c = 0; c < g->in_c; c++)
                            for (int f = 0; f < g->out_c; f++) {
                                size_t xi = (((size_t)n * g->in_h + (size_t)iy) * g->in_w + (size_t)ix) * g->in_c + c;
                                size_t wi = (((size_t)ky * g->k_w + kx) * g->in_c + c) * g->out_c + f;
                                size_t yi = (((size_t)n * g->out_h + oy) * g->out_w + ox) * g->out_c + f;
                                fn(ctx, xi, wi, yi);
                            }
                    }
                }
}

/* Reference results of one convolution, with the magnitude sums behind each value. */
typedef struct conv_ref {
    const float *x, *w, *dy;
    double *y, *ymag, *dx, *dxmag, *dw, *dwmag;
} conv_ref;

/* Adds one term to each of the three references. */
static void ref_term(void *ctx, size_t xi, size_t wi, size_t yi)
{
    conv_ref *r = ctx;
    double xw = (double)r->x[xi] * r->w[wi], dyw = (double)r->dy[yi] * r->w[wi], xdy = (double)r->x[xi] * r->dy[yi];
    r->y[yi] += xw;
    r->ymag[yi] += fabs(xw);
    r->dx[xi] += dyw;
    r->dxmag[xi] += fabs(dyw);
    r->dw[wi] += xdy;
    r->dwmag[wi] += fabs(xdy);
}

/* Element counts of a geometry (all fields assumed sane). */
static void conv_sizes(const lt_conv_geom *g, size_t *nx, size_t *ny, size_t *nw)
{
    *nx = (size_t)g->batch * g->in_h * g->in_w * g->in_c;
    *ny = (size_t)g->batch * g->out_h * g->out_w * g->out_c;
    *nw = (size_t)g->k_h * g->k_w * g->in_c * g->out_c;
}

/* The three convolution ops of t->be on x, w, dy at the given offsets; results into
 * y, dx, dw. 0 when one failed (recorded). */
static int run_conv_ops(tester *t, const lt_conv_geom *g, const char *geo, const float *x, const float *w,
                        const float *dy, const size_t off[6], float *y, float *dx, float *dw)
{
    lt_backend *be = t->be;
    size_t nx, ny, nw;
    conv_sizes(g, &nx, &ny, &nw);
    lt_buf *bx = make_buf(t, "conv x", off[0], x, nx), *bw = make_buf(t, "conv w", off[1], w, nw);
    lt_buf *bdy = make_buf(t, "conv dy", off[2], dy, ny), *by = make_buf(t, "conv y", off[3], NULL, ny);
    lt_buf *bdx = make_buf(t, "conv dx", off[4], NULL, nx), *bdw = make_buf(t, "conv dw", off[5], NULL, nw);
    int ok = bx && bw && bdy && by && bdx && bdw;
    if (ok) {
        lt_status st = lt_be_conv2d_forward(be, g, bx, off[0], bw, off[1], by, off[3]);
        ok &= check(t, st == LT_OK, "conv2d_forward %s: status %d: %s", geo, (int)st, be->error);
        st = lt_be_conv2d_backward_data(be, g, bdy, off[2], bw, off[1], bdx, off[4]);
        ok &= check(t, st == LT_OK, "conv2d_backward_data %s: status %d: %s", geo, (int)st, be->error);
        st = lt_be_conv2d_backward_filter(be, g, bx, off[0], bdy, off[2], bdw, off[5]);
        ok &= check(t, st == LT_OK, "conv2d_backward_filter %s: status %d: %s", geo, (int)st, be->error);
    }
    if (ok) ok = fetch(t, "conv2d_forward", geo, by, off[3], y, ny);
    if (ok) ok = fetch(t, "conv2d_backward_data", geo, bdx, off[4], dx, nx);
    if (ok) ok = fetch(t, "conv2d_backward_filter", geo, bdw, off[5], dw, nw);
    FREE_BUFS(t, bx, bw, bdy, by, bdx, bdw);
    return ok;
}

/* One convolution geometry: the three ops against the references and the adjoint
 * identity. */
static void test_conv_case(tester *t, const lt_conv_geom *g)
{
    char geo[160];
    conv_name(g, geo, sizeof geo);
    size_t nx, ny, nw;
    conv_sizes(g, &nx, &ny, &nw);
    float *x = rand_floats(t, nx, -1, 1), *w = rand_floats(t, nw, -1, 1), *dy = rand_floats(t, ny, -1, 1);
    conv_ref r = {x, w, dy, dzeros(ny), dzeros(ny), dzeros(nx), dzeros(nx), dzeros(nw), dzeros(nw)};
    conv_terms(g, ref_term, &r);
    float *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw);
    size_t off[6];
    for (int i = 0; i < 6; i++) off[i] = (size_t)irand(t, 0, 9);
    if (run_conv_ops(t, g, geo, x, w, dy, off, y, dx, dw)) {
        size_t kf = (size_t)g->k_h * g->k_w * g->in_c, kd = (size_t)g->k_h * g->k_w * g->out_c;
        size_t kw = (size_t)g->batch * g->out_h * g->out_w;
        expect_close(t, y, NULL, r.y, r.ymag, ny, tol_k(kf), "conv2d_forward %s", geo);
        expect_close(t, dx, NULL, r.dx, r.dxmag, nx, tol_k(kd), "conv2d_backward_data %s", geo);
        expect_close(t, dw, NULL, r.dw, r.dwmag, nw, tol_k(kw), "conv2d_backward_filter %s", geo);
        /* adjoint identity: all three inner products are the same triple sum */
        double a = dot(y, dy, ny), b = dot(x, dx, nx), c = dot(w, dw, nw), mag = 0;
        for (size_t i = 0; i < ny; i++) mag += fabs((double)dy[i]) * r.ymag[i];
        double tol = tol_k(kf + kd + kw) * (mag > 1e-30 ? mag : 1e-30);
        check(t, fabs(a - b) <= tol && fabs(a - c) <= tol,
              "conv adjoint %s: <conv(x,w),dy> %.9g, <x,bd(dy,w)> %.9g, <w,bf(x,dy)> %.9g (tol %.3g)", geo, a, b, c,
              tol);
    }
    FREE_ALL(x, w, dy, y, dx, dw);
    FREE_ALL(r.y, r.ymag, r.dx, r.dxmag, r.dw, r.dwmag);
}

/* Keras padding modes for one axis. */
typedef enum { PAD_VALID, PAD_SAME, PAD_FULL, PAD_HUGE } pad_mode;

/* out and pad_before for one axis of size in, kernel k, stride s, dilation d; 0 when
 * the mode gives no output. PAD_FULL pads by the kernel extent - 1 on both sides (the
 * geometry of a 'valid' Conv2DTranspose); PAD_HUGE pads beyond the kernel, so that
 * some windows read only padding. */
static int axis(pad_mode m, int in, int k, int s, int d, int *out, int *pad)
{
    int ext = (k - 1) * d + 1;
    if (m == PAD_VALID) {
        if (in < ext) return 0;
        *out = (in - ext) / s + 1;
        *pad = 0;
    } else if (m == PAD_SAME) {
        *out = (in + s - 1) / s;
        int total = (*out - 1) * s + ext - in;
        *pad = total > 0 ? total / 2 : 0;
    } else {
        *pad = m == PAD_FULL ? ext - 1 : ext + 1;
        *out = (in + 2 * *pad - ext) / s + 1;
    }
    return *out >= 1;
}

/* A geometry from its parts; 0 when the padding mode gives no output. */
static int make_conv(lt_conv_geom *g, int batch, int ih, int iw, int ic, int oc, int kh, int kw, int sh, int sw,
                     int dh, int dw, pad_mode m)
{
    memset(g, 0, sizeof *g);
    g->batch = batch; g->in_h = ih; g->in_w = iw; g->in_c = ic; g->out_c = oc;
    g->k_h = kh; g->k_w = kw; g->stride_h = sh; g->stride_w = sw; g->dil_h = dh; g->dil_w = dw;
    return axis(m, ih, kh, sh, dh, &g->out_h, &g->pad_top) && axis(m, iw, kw, sw, dw, &g->out_w, &g->pad_left);
}

/* The convolution geometries: listed ones (conv-ae, 1x1, odd sizes), then random ones. */
static void test_convs(tester *t)
{
    /* batch, in h w c, out c, kernel h w, stride h w, dilation h w, padding, out_h (0:
     * as the padding gives) */
    static const int listed[][13] = {
        /* the conv-ae layers, 'valid' and 'same' */
        {2, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1, PAD_VALID, 0},
        {2, 26, 26, 16, 16, 3, 3, 1, 1, 1, 1, PAD_VALID, 0},
        {1, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1, PAD_SAME, 0},
        {3, 26, 26, 16, 8, 3, 3, 2, 2, 1, 1, PAD_SAME, 0},
        /* 1x1: the direct GEMM path, and its strided / padded neighbours that are not */
        {3, 5, 7, 4, 3, 1, 1, 1, 1, 1, 1, PAD_VALID, 0},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, PAD_VALID, 0},
        {2, 5, 7, 3, 2, 1, 1, 2, 3, 1, 1, PAD_SAME, 0},
        {2, 5, 7, 3, 2, 1, 1, 1, 1, 2, 2, PAD_HUGE, 0},
        /* 1x1 image with a 5x5 'same' kernel: every tap but the centre is padding */
        {2, 1, 1, 3, 4, 5, 5, 1, 1, 1, 1, PAD_SAME, 0},
        {1, 13, 11, 5, 5, 5, 5, 3, 2, 2, 1, PAD_FULL, 0},
        {3, 13, 11, 2, 3, 2, 3, 2, 3, 1, 2, PAD_SAME, 0},
        /* out_h smaller than the geometry allows: the bottom rows are never read */
        {2, 7, 5, 2, 3, 3, 3, 1, 1, 1, 1, PAD_VALID, 2},
        /* stride larger than the kernel: input cells between windows get 0 in dx */
        {2, 13, 11, 3, 2, 2, 2, 3, 3, 1, 1, PAD_VALID, 0},
        /* many channels: im2col runs wider than 64 floats */
        {2, 9, 8, 40, 7, 3, 3, 1, 1, 1, 1, PAD_SAME, 0},
        /* narrow column matrices (k_h*k_w*in_c < 16, which the CPU reduces in slabs of
         * 512 rows and groups of 64 slabs): output channels not a multiple of 16, and a
         * batch of 33800 rows (67 slabs, two groups) */
        {3, 28, 28, 1, 20, 2, 3, 1, 1, 1, 1, PAD_SAME, 0},
        {2, 13, 11, 3, 37, 2, 2, 1, 2, 2, 1, PAD_VALID, 0},
        {50, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1, PAD_VALID, 0},
        /* big enough for the CPU's column buffer to be cut into chunks mid-row and
         * mid-image (kk = 1600: 655 rows per 4 MiB chunk, 143 rows per image) */
        {6, 13, 11, 64, 5, 5, 5, 1, 1, 1, 1, PAD_SAME, 0},
        {5, 13, 11, 64, 3, 5, 5, 2, 1, 1, 2, PAD_SAME, 0},
    };
    lt_conv_geom g;
    for (size_t i = 0; i < sizeof listed / sizeof listed[0]; i++) {
        const int *c = listed[i];
        make_conv(&g, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], (pad_mode)c[11]);
        if (c[12]) g.out_h = c[12];
        test_conv_case(t, &g);
    }

    static const int sizes[] = {1, 2, 5, 7, 11, 13};
    static const int kernels[][2] = {{1, 1}, {2, 3}, {3, 3}, {5, 5}, {3, 2}, {1, 3}};
    int ran = 0;
    for (int i = 0; i < 400 && ran < 160; i++) {
        int kidx = irand(t, 0, 5);
        pad_mode m = (pad_mode)irand(t, 0, 3);
        if (make_conv(&g, irand(t, 1, 3), sizes[irand(t, 0, 5)], sizes[irand(t, 0, 5)], irand(t, 1, 5),
                      irand(t, 1, 5), kernels[kidx][0], kernels[kidx][1], irand(t, 1, 3), irand(t, 1, 3),
                      irand(t, 1, 2), irand(t, 1, 2), m)) {
            test_conv_case(t, &g);
            ran++;
        }
    }
}

/* ------------------------------------------------------------------ max pooling */

/* Describes a pooling / up-sampling geometry. */
static void pool_name(const lt_pool_geom *g, char *s, size_t len)
{
    snprintf(s, len, "[b%d %dx%dx%d -> %dx%d k%dx%d s%d,%d p%d,%d]", g->batch, g->in_h, g->in_w, g->c, g->out_h,
             g->out_w, g->k_h, g->k_w, g->stride_h, g->stride_w, g->pad_top, g->pad_left);
}

/* A max-pooling geometry with Keras's 'valid' (same = 0) or 'same' padding. */
static void make_pool(lt_pool_geom *g, int batch, int ih, int iw, int c, int kh, int kw, int sh, int sw, int same)
{
    memset(g, 0, sizeof *g);
    g->batch = batch; g->in_h = ih; g->in_w = iw; g->c = c;
    g->k_h = kh; g->k_w = kw; g->stride_h = sh; g->stride_w = sw;
    if (same) {
        g->out_h = (ih + sh - 1) / sh;
        g->out_w = (iw + sw - 1) / sw;
        int th = (g->out_h - 1) * sh + kh - ih, tw = (g->out_w - 1) * sw + kw - iw;
        g->pad_top = th > 0 ? th / 2 : 0;
        g->pad_left = tw > 0 ? tw / 2 : 0;
    } else {
        g->out_h = (ih - kh) / sh + 1;
        g->out_w = (iw - kw) / sw + 1;
    }
}

/* Max pooling forward (values and first-max argmax, exactly) and backward (the scatter
 * of dy through the backend's own argmax) against the reference. Inputs are small
 * integers so that windows have ties. */
static void test_pool_case(tester *t, const lt_pool_geom *g)
{
    lt_backend *be = t->be;
    char geo[160];
    pool_name(g, geo, sizeof geo);
    size_t img = (size_t)g->in_h * g->in_w * g->c, nx = img * g->batch;
    size_t per = (size_t)g->out_h * g->out_w * g->c, ny = per * g->batch;
    float *x = malloc(nx * sizeof *x), *dy = rand_floats(t, ny, -1, 1), *y = malloc(ny * sizeof *y);
    float *dx = malloc(nx * sizeof *dx);
    uint32_t *am = malloc(ny * sizeof *am), *want_am = malloc(ny * sizeof *am);
    double *want_y = dzeros(ny), *want_dx = dzeros(nx), *mag = dzeros(nx);
    for (size_t i = 0; i < nx; i++) x[i] = (float)irand(t, -3, 3);
    /* reference: image cells of each window in increasing index; strictly greater wins */
    for (int n = 0; n < g->batch; n++)
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++)
                for (int c = 0; c < g->c; c++) {
                    size_t yi = n * per + ((size_t)oy * g->out_w + ox) * g->c + c;
                    int found = 0;
                    for (int ky = 0; ky < g->k_h; ky++)
                        for (int kx = 0; kx < g->k_w; kx++) {
                            int iy = oy * g->stride_h - g->pad_top + ky, ix = ox * g->stride_w - g->pad_left + kx;
                            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
                            size_t idx = ((size_t)iy * g->in_w + ix) * g->c + c;
                            float v = x[n * img + idx];
                            if (!found || v > want_y[yi]) {
                                want_y[yi] = v;
                                want_am[yi] = (uint32_t)idx;
                                found = 1;
                            }
                        }
                    want_dx[n * img + want_am[yi]] += dy[yi];
                    mag[n * img + want_am[yi]] += fabs((double)dy[yi]);
                }
    size_t ox = (size_t)irand(t, 0, 9), oy = (size_t)irand(t, 0, 9), oa = (size_t)irand(t, 0, 9);
    size_t ody = (size_t)irand(t, 0, 9), odx = (size_t)irand(t, 0, 9);
    lt_buf *bx = make_buf(t, "maxpool x", ox, x, nx), *by = make_buf(t, "maxpool y", oy, NULL, ny);
    lt_buf *ba = make_buf(t, "maxpool argmax", oa, NULL, ny), *bdy = make_buf(t, "maxpool dy", ody, dy, ny);
    lt_buf *bdx = make_buf(t, "maxpool dx", odx, NULL, nx);
    if (bx && by && ba && bdy && bdx) {
        lt_status st = lt_be_maxpool_forward(be, g, bx, ox, by, oy, ba, oa);
        if (check(t, st == LT_OK, "maxpool_forward %s: status %d: %s", geo, (int)st, be->error) &&
            fetch(t, "maxpool_forward y", geo, by, oy, y, ny) && fetch(t, "maxpool_forward argmax", geo, ba, oa, am, ny)) {
            size_t bad = 0, first = 0;
            for (size_t i = 0; i < ny; i++)
                if (y[i] != (float)want_y[i] || am[i] != want_am[i]) {
                    if (!bad) first = i;
                    bad++;
                }
            check(t, bad == 0, "maxpool_forward %s: %zu of %zu outputs wrong; first at %zu: %g @%u, want %g @%u", geo,
                  bad, ny, first, bad ? (double)y[first] : 0.0, bad ? am[first] : 0, bad ? want_y[first] : 0.0,
                  bad ? want_am[first] : 0);
            st = lt_be_maxpool_backward(be, g, bdy, ody, ba, oa, bdx, odx);
            if (check(t, st == LT_OK, "maxpool_backward %s: status %d: %s", geo, (int)st, be->error) &&
                fetch(t, "maxpool_backward", geo, bdx, odx, dx, nx)) {
                for (size_t i = 0; i < nx; i++) mag[i] = mag[i] > 0 ? mag[i] : 1.0;
                expect_close(t, dx, NULL, want_dx, mag, nx, tol_k((size_t)g->k_h * g->k_w), "maxpool_backward %s", geo);
            }
        }
    }
    FREE_BUFS(t, bx, by, ba, bdy, bdx);
    FREE_ALL(x, dy, y, dx, am, want_am);
    FREE_ALL(want_y, want_dx, mag);
}

/* An argmax naming a cell of the image outside its window (backend.h: refused with
 * LT_ERR_ARG, or ignored): either the error, or dx without that output's term. */
static void test_pool_foreign_index(tester *t)
{
    lt_backend *be = t->be;
    lt_pool_geom g;
    make_pool(&g, 2, 5, 7, 3, 2, 2, 2, 2, 0); /* 2x3 outputs, windows rows 0-3, cols 0-5 */
    size_t img = 5 * 7 * 3, per = 2 * 3 * 3, nx = 2 * img, ny = 2 * per;
    float *x = rand_floats(t, nx, -1, 1), *dy = rand_floats(t, ny, -1, 1), *dx = malloc(nx * sizeof *dx);
    uint32_t *am = malloc(ny * sizeof *am);
    double *want = dzeros(nx), *mag = dzeros(nx);
    lt_buf *bx = make_buf(t, "foreign x", 0, x, nx), *by = make_buf(t, "foreign y", 0, NULL, ny);
    lt_buf *ba = make_buf(t, "foreign argmax", 0, NULL, ny), *bdy = make_buf(t, "foreign dy", 0, dy, ny);
    lt_buf *bdx = make_buf(t, "foreign dx", 2, NULL, nx);
    const char *geo = "[argmax outside its window]";
    if (bx && by && ba && bdy && bdx) {
        lt_status st = lt_be_maxpool_forward(be, &g, bx, 0, by, 0, ba, 0);
        if (check(t, st == LT_OK, "maxpool_forward %s: %s", geo, be->error) &&
            fetch(t, "maxpool_forward argmax", geo, ba, 0, am, ny)) {
            /* output 0 of image 1, channel 1, now names the last column of row 4 (no window
             * reaches row 4 or column 6) */
            am[per + 1] = (uint32_t)((4 * 7 + 6) * 3 + 1);
            for (size_t i = 0; i < ny; i++)
                if (i != per + 1) {
                    want[i / per * img + am[i]] += dy[i];
                    mag[i / per * img + am[i]] += fabs((double)dy[i]);
                }
            for (size_t i = 0; i < nx; i++) mag[i] = mag[i] > 0 ? mag[i] : 1.0;
            st = lt_be_upload(be, ba, 0, am, ny);
            if (st == LT_OK) st = lt_be_maxpool_backward(be, &g, bdy, 0, ba, 0, bdx, 2);
            if (st == LT_ERR_ARG) {
                check(t, be->error[0] != 0, "maxpool_backward %s: refused without a message", geo);
                be->error[0] = 0;
            } else if (check(t, st == LT_OK, "maxpool_backward %s: status %d: %s", geo, (int)st, be->error) &&
                       fetch(t, "maxpool_backward", geo, bdx, 2, dx, nx)) {
                expect_close(t, dx, NULL, want, mag, nx, tol_k(4), "maxpool_backward (the foreign index ignored) %s",
                             geo);
            }
        }
    }
    FREE_BUFS(t, bx, by, ba, bdy, bdx);
    FREE_ALL(x, dy, dx, am, want, mag);
}

/* Pooling geometries: Keras 'valid' and 'same' over odd and even sizes. */
static void test_pools(tester *t)
{
    lt_pool_geom g;
    make_pool(&g, 2, 24, 24, 16, 2, 2, 2, 2, 0); test_pool_case(t, &g);
    make_pool(&g, 1, 1, 1, 3, 1, 1, 1, 1, 0); test_pool_case(t, &g);
    make_pool(&g, 3, 1, 1, 2, 2, 2, 2, 2, 1); test_pool_case(t, &g);
    make_pool(&g, 2, 5, 7, 3, 2, 2, 2, 2, 0); test_pool_case(t, &g);
    make_pool(&g, 2, 5, 7, 3, 2, 2, 2, 2, 1); test_pool_case(t, &g);
    make_pool(&g, 3, 13, 11, 4, 3, 3, 2, 2, 1); test_pool_case(t, &g);
    make_pool(&g, 1, 13, 11, 5, 3, 3, 1, 1, 1); test_pool_case(t, &g);
    make_pool(&g, 2, 13, 11, 2, 2, 3, 1, 2, 1); test_pool_case(t, &g);
    make_pool(&g, 2, 13, 11, 1, 2, 3, 3, 1, 0); test_pool_case(t, &g);
    make_pool(&g, 1, 7, 5, 3, 5, 5, 3, 3, 1); test_pool_case(t, &g);
    make_pool(&g, 2, 9, 7, 37, 3, 2, 2, 1, 1); test_pool_case(t, &g); /* channels: 16 + 16 + 5 */
    make_pool(&g, 2, 6, 6, 32, 2, 2, 2, 2, 0); test_pool_case(t, &g);
    test_pool_foreign_index(t);
    for (int i = 0; i < 40; i++) {
        int ih = irand(t, 1, 13), iw = irand(t, 1, 13), kh = irand(t, 1, 4), kw = irand(t, 1, 4);
        int same = irand(t, 0, 1) || ih < kh || iw < kw;
        make_pool(&g, irand(t, 1, 3), ih, iw, irand(t, 1, 5), kh, kw, irand(t, 1, 3), irand(t, 1, 3), same);
        test_pool_case(t, &g);
    }
}

/* ------------------------------------------------------------------ up-sampling */

/* Calls fn(ctx, x index, y index, weight) for every term of the up-sampling:
 * nearest y[oy,ox] = x[oy/k_h, ox/k_w]; bilinear lerps between the floor and ceil of
 * s = (o + 0.5)/k - 0.5 clamped to [0, in-1], per axis. */
typedef void (*up_fn)(void *ctx, size_t xi, size_t yi, double wgt);
/* Walks the terms of g's up-sampling in mode (see up_fn). */
static void up_terms(const lt_pool_geom *g, lt_backend_interp mode, up_fn fn, void *ctx)
{
    for (int n = 0; n < g->batch; n++)
        for (int oy = 0; oy < g->out_h; oy++)
            for (int ox = 0; ox < g->out_w; ox++) {
                int ry[2], rx[2];
                double wy[2], wx[2];
                if (mode == LT_INTERP_NEAREST) {
                    ry[0] = ry[1] = oy / g->k_h; rx[0] = rx[1] = ox / g->k_w;
                    wy[0] = wx[0] = 1; wy[1] = wx[1] = 0;
                } else {
                    double sy = (oy + 0.5) / g->k_h - 0.5, sx = (ox + 0.5) / g->k_w - 0.5;
                    sy = fmin(fmax(sy, 0), g->in_h - 1);
                    sx = fmin(fmax(sx, 0), g->in_w - 1);
                    ry[0] = (int)floor(sy); ry[1] = (int)ceil(sy); wy[1] = sy - ry[0]; wy[0] = 1 - wy[1];
                    rx[0] = (int)floor(sx); rx[1] = (int)ceil(sx); wx[1] = sx - rx[0]; wx[0] = 1 - wx[1];
                }
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        for (int c = 0; c < g->c; c++) {
                            size_t xi = (((size_t)n * g->in_h + ry[a]) * g->in_w + rx[b]) * g->c + c;
                            size_t yi = (((size_t)n * g->out_h + oy) * g->out_w + ox) * g->c + c;
                            fn(ctx, xi, yi, wy[a] * wx[b]);
                        }
            }
}

/* Reference up-sampling forward and backward with magnitudes. */
typedef struct up_ref {
    const float *x, *dy;
    double *y, *ymag, *dx, *dxmag;
} up_ref;

/* Adds one weighted term to both references. */
static void up_term(void *ctx, size_t xi, size_t yi, double wgt)
{
    up_ref *r = ctx;
    r->y[yi] += wgt * r->x[xi];
    r->ymag[yi] += fabs(wgt * r->x[xi]);
    r->dx[xi] += wgt * r->dy[yi];
    r->dxmag[xi] += fabs(wgt * r->dy[yi]);
}

/* One up-sampling geometry and mode: forward and backward against the references, and
 * the adjoint identity. */
static void test_up_case(tester *t, const lt_pool_geom *g, lt_backend_interp mode)
{
    lt_backend *be = t->be;
    char geo[200];
    pool_name(g, geo, sizeof geo - 12);
    strcat(geo, mode == LT_INTERP_NEAREST ? " nearest" : " bilinear");
    size_t nx = (size_t)g->batch * g->in_h * g->in_w * g->c, ny = (size_t)g->batch * g->out_h * g->out_w * g->c;
    float *x = rand_floats(t, nx, -1, 1), *dy = rand_floats(t, ny, -1, 1);
    float *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx);
    up_ref r = {x, dy, dzeros(ny), dzeros(ny), dzeros(nx), dzeros(nx)};
    up_terms(g, mode, up_term, &r);
    size_t o[4];
    for (int i = 0; i < 4; i++) o[i] = (size_t)irand(t, 0, 9);
    lt_buf *bx = make_buf(t, "upsample x", o[0], x, nx), *by = make_buf(t, "upsample y", o[1], NULL, ny);
    lt_buf *bdy = make_buf(t, "upsample dy", o[2], dy, ny), *bdx = make_buf(t, "upsample dx", o[3], NULL, nx);
    if (bx && by && bdy && bdx) {
        lt_status st = lt_be_upsample_forward(be, g, mode, bx, o[0], by, o[1]);
        int ok = check(t, st == LT_OK, "upsample_forward %s: status %d: %s", geo, (int)st, be->error) &&
                 fetch(t, "upsample_forward", geo, by, o[1], y, ny);
        if (ok) expect_close(t, y, NULL, r.y, r.ymag, ny, tol_k(4), "upsample_forward %s", geo);
        st = lt_be_upsample_backward(be, g, mode, bdy, o[2], bdx, o[3]);
        int ok2 = check(t, st == LT_OK, "upsample_backward %s: status %d: %s", geo, (int)st, be->error) &&
                  fetch(t, "upsample_backward", geo, bdx, o[3], dx, nx);
        size_t k = (size_t)(2 * g->k_h + 1) * (2 * g->k_w + 1);
        if (ok2) expect_close(t, dx, NULL, r.dx, r.dxmag, nx, tol_k(k), "upsample_backward %s", geo);
        if (ok && ok2) {
            double a = dot(y, dy, ny), b = dot(x, dx, nx), mag = 0;
            for (size_t i = 0; i < ny; i++) mag += fabs((double)dy[i]) * r.ymag[i];
            double tol = tol_k(k) * (mag > 1e-30 ? mag : 1e-30);
            check(t, fabs(a - b) <= tol, "upsample adjoint %s: <up(x),dy> %.9g, <x,up^T(dy)> %.9g (tol %.3g)", geo, a,
                  b, tol);
        }
    }
    FREE_BUFS(t, bx, by, bdy, bdx);
    FREE_ALL(x, dy, y, dx);
    FREE_ALL(r.y, r.ymag, r.dx, r.dxmag);
}

/* An up-sampling geometry (strides and pads unused: 1 and 0). */
static void make_up(lt_pool_geom *g, int batch, int ih, int iw, int c, int kh, int kw)
{
    memset(g, 0, sizeof *g);
    g->batch = batch; g->in_h = ih; g->in_w = iw; g->c = c; g->k_h = kh; g->k_w = kw;
    g->out_h = ih * kh; g->out_w = iw * kw; g->stride_h = g->stride_w = 1;
}

/* Up-sampling geometries, both modes. */
static void test_ups(tester *t)
{
    static const int dims[][6] = {
        {2, 7, 7, 16, 2, 2}, {1, 1, 1, 1, 1, 1}, {2, 1, 1, 3, 3, 2}, {3, 5, 7, 2, 2, 3},
        {1, 13, 11, 5, 3, 1}, {2, 13, 11, 4, 4, 4}, {1, 5, 7, 3, 1, 1}, {2, 1, 7, 2, 2, 5},
        {1, 14, 14, 8, 2, 2},
    };
    lt_pool_geom g;
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        for (int m = 0; m < 2; m++) {
            make_up(&g, dims[i][0], dims[i][1], dims[i][2], dims[i][3], dims[i][4], dims[i][5]);
            test_up_case(t, &g, (lt_backend_interp)m);
        }
    for (int i = 0; i < 30; i++) {
        make_up(&g, irand(t, 1, 3), irand(t, 1, 13), irand(t, 1, 13), irand(t, 1, 5), irand(t, 1, 4), irand(t, 1, 4));
        test_up_case(t, &g, (lt_backend_interp)irand(t, 0, 1));
    }
}

/* ------------------------------------------------------------------ bad arguments */

/* A convolution geometry mutated one field at a time must be rejected by all three ops. */
static void expect_conv_arg(tester *t, const lt_conv_geom *g, lt_buf *const b[6], const char *what)
{
    lt_backend *be = t->be;
    be->error[0] = 0;
    expect_refused(t, lt_be_conv2d_forward(be, g, b[0], 0, b[1], 0, b[2], 0), NULL, "conv2d_forward %s", what);
    expect_refused(t, lt_be_conv2d_backward_data(be, g, b[2], 0, b[1], 0, b[0], 0), NULL,
                   "conv2d_backward_data %s", what);
    expect_refused(t, lt_be_conv2d_backward_filter(be, g, b[0], 0, b[2], 0, b[1], 0), NULL,
                   "conv2d_backward_filter %s", what);
}

/* Bad geometry, short buffers, bad modes and argmax indices: LT_ERR_ARG with a message,
 * and the backend still works afterwards. */
static void test_errors(tester *t)
{
    lt_backend *be = t->be;
    enum { N = 4096 };
    lt_buf *b[6] = {0};
    for (int i = 0; i < 6; i++) {
        if (lt_be_buf_alloc(be, N, &b[i]) != LT_OK || lt_be_fill(be, b[i], 0, N, 0.5f) != LT_OK) {
            check(t, 0, "errors: buffers: %s", be->error);
            for (int j = 0; j <= i; j++) lt_be_buf_free(be, b[j]);
            return;
        }
    }
    lt_conv_geom ok, g;
    make_conv(&ok, 2, 5, 7, 3, 4, 3, 3, 1, 1, 1, 1, PAD_SAME); /* fits the buffers */
    expect_conv_arg(t, NULL, b, "NULL geometry");
#define MUTATE(field, value)                                                   \
    do {                                                                       \
        g = ok;                                                                \
        g.field = value;                                                       \
        expect_conv_arg(t, &g, b, #field " = " #value);                        \
    } while (0)
    MUTATE(batch, 0);
    MUTATE(in_h, 0);
    MUTATE(in_w, -3);
    MUTATE(in_c, 0);
    MUTATE(out_h, 0);
    MUTATE(out_w, -1);
    MUTATE(out_c, 0);
    MUTATE(k_h, 0);
    MUTATE(k_w, -2);
    MUTATE(stride_h, 0);
    MUTATE(stride_w, -1);
    MUTATE(dil_h, 0);
    MUTATE(dil_w, -1);
    MUTATE(pad_top, -1);
    MUTATE(pad_left, INT_MIN);
    MUTATE(batch, 100);        /* x, y past the buffers */
    MUTATE(out_h, 1000);       /* y past its buffer */
    MUTATE(k_w, 400);          /* w past its buffer */
    MUTATE(batch, INT_MAX);    /* element counts near or past SIZE_MAX */
#undef MUTATE
    g = ok;
    g.batch = g.in_h = g.in_w = g.in_c = INT_MAX;
    expect_conv_arg(t, &g, b, "all sizes INT_MAX");
    be->error[0] = 0;
    expect_refused(t, lt_be_conv2d_forward(be, &ok, b[0], N - 10, b[1], 0, b[2], 0), NULL, "conv2d_forward x offset past the end");
    expect_refused(t, lt_be_conv2d_forward(be, &ok, NULL, 0, b[1], 0, b[2], 0), NULL, "conv2d_forward x NULL");
    /* outputs may not alias inputs, with the same words on every backend (lib/backend/backend_check.c) */
    expect_msg(t, lt_be_conv2d_forward(be, &ok, b[0], 0, b[1], 0, b[0], 100), "conv2d_forward: y overlaps x");
    expect_msg(t, lt_be_conv2d_backward_filter(be, &ok, b[0], 0, b[2], 0, b[2], 10),
               "conv2d_backward_filter: dw overlaps dy");
    expect_msg(t, lt_be_conv2d_backward_data(be, NULL, b[2], 0, b[1], 0, b[0], 0),
               "conv2d_backward_data: geometry is NULL");
    g = ok;
    g.dil_w = 0;
    expect_msg(t, lt_be_conv2d_forward(be, &g, b[0], 0, b[1], 0, b[2], 0), "conv2d_forward: dil_w = 0, must be >= 1");

    lt_pool_geom pg, pok;
    make_pool(&pok, 2, 5, 7, 3, 3, 3, 2, 2, 1);
    const char *pool_bad[] = {"pad_top = k_h (first window all padding)", "out_h one too many (last window all padding)",
                              "stride_w = 0", "k_w = 0", "c = 0", "pad_left = -1", "batch = INT_MAX", "NULL geometry"};
    for (int i = 0; i < 8; i++) {
        pg = pok;
        switch (i) {
        case 0: pg.pad_top = pg.k_h; break;
        case 1: pg.out_h = (pg.in_h + pg.pad_top) / pg.stride_h + 2; break;
        case 2: pg.stride_w = 0; break;
        case 3: pg.k_w = 0; break;
        case 4: pg.c = 0; break;
        case 5: pg.pad_left = -1; break;
        case 6: pg.batch = INT_MAX; break;
        default: break;
        }
        const lt_pool_geom *gp = i == 7 ? NULL : &pg;
        expect_refused(t, lt_be_maxpool_forward(be, gp, b[0], 0, b[1], 0, b[2], 0), NULL,
                       "maxpool_forward %s", pool_bad[i]);
        expect_refused(t, lt_be_maxpool_backward(be, gp, b[1], 0, b[2], 0, b[0], 0), NULL,
                       "maxpool_backward %s", pool_bad[i]);
    }
    expect_msg(t, lt_be_maxpool_forward(be, &pok, b[0], 0, b[1], 0, b[1], 10), "maxpool_forward: argmax overlaps y");
    pg = pok;
    pg.stride_h = 0;
    expect_msg(t, lt_be_maxpool_backward(be, &pg, b[1], 0, b[2], 0, b[0], 0),
               "maxpool_backward: stride_h = 0, must be >= 1");
    /* argmax holds indices within an image: one of 2^32 elements fits (here it is then
     * refused only for x, past its buffer), one larger does not */
    if (SIZE_MAX > UINT32_MAX) { /* the counts fit size_t */
        make_pool(&pg, 1, 65536, 65536, 1, 1, 1, 1, 1, 0);
        expect_msg(t, lt_be_maxpool_forward(be, &pg, b[0], 0, b[1], 0, b[2], 0),
                   "maxpool_forward: x range [0, 0 + 4294967296) exceeds its buffer of 4096 elements");
        make_pool(&pg, 1, 65536, 65537, 1, 1, 1, 1, 1, 0);
        expect_msg(t, lt_be_maxpool_forward(be, &pg, b[0], 0, b[1], 0, b[2], 0),
                   "maxpool_forward: an image of 4295032832 elements has indices beyond argmax's uint32");
    }
    /* argmax past the image: the backward must not write out of bounds */
    {
        uint32_t idx[2] = {0, (uint32_t)(pok.in_h * pok.in_w * pok.c)};
        size_t na = (size_t)pok.batch * pok.out_h * pok.out_w * pok.c;
        lt_status st = lt_be_fill(be, b[2], 0, na, 0.0f); /* 0.0f is index 0 */
        if (st == LT_OK) st = lt_be_upload(be, b[2], 0, idx, 2);
        if (check(t, st == LT_OK, "argmax upload: %s", be->error))
        {
            /* A device op cannot read argmax back without waiting, so backend.h allows
             * either a refusal or ignoring the bad index; never an out-of-bounds write
             * (the sanitizer build watches the CPU side). */
            lt_status bst = lt_be_maxpool_backward(be, &pok, b[1], 0, b[2], 0, b[0], 0);
            check(t, bst == LT_OK || bst == LT_ERR_ARG, "maxpool_backward argmax past the image: status %d", (int)bst);
        }
    }

    lt_pool_geom uok;
    make_up(&uok, 2, 5, 7, 3, 2, 3);
    for (int m = 0; m < 2; m++) {
        const char *mode = m ? "bilinear" : "nearest";
        pg = uok;
        pg.out_h++;
        expect_refused(t, lt_be_upsample_forward(be, &pg, (lt_backend_interp)m, b[0], 0, b[1], 0), NULL,
                       "upsample_forward %s out_h != in_h*k_h", mode);
        expect_refused(t, lt_be_upsample_backward(be, &pg, (lt_backend_interp)m, b[1], 0, b[0], 0), NULL,
                       "upsample_backward %s out_h != in_h*k_h", mode);
        pg = uok;
        pg.k_w = 0;
        pg.out_w = 0;
        expect_refused(t, lt_be_upsample_forward(be, &pg, (lt_backend_interp)m, b[0], 0, b[1], 0), NULL,
                       "upsample_forward %s k_w = 0", mode);
        pg = uok;
        pg.batch = 200; /* y past its buffer */
        expect_refused(t, lt_be_upsample_forward(be, &pg, (lt_backend_interp)m, b[0], 0, b[1], 0), NULL,
                       "upsample_forward %s batch 200", mode);
        expect_refused(t, lt_be_upsample_backward(be, NULL, (lt_backend_interp)m, b[1], 0, b[0], 0), NULL,
                       "upsample_backward %s NULL geometry", mode);
    }
    expect_msg(t, lt_be_upsample_forward(be, &uok, (lt_backend_interp)7, b[0], 0, b[1], 0),
               "upsample_forward: unknown interpolation 7");
    expect_msg(t, lt_be_upsample_backward(be, &uok, LT_INTERP_BILINEAR, b[1], 0, b[1], 100),
               "upsample_backward: dx overlaps dy");
    expect_refused(t, lt_be_upsample_backward(be, &uok, (lt_backend_interp)-1, b[1], 0, b[0], 0), NULL,
                   "upsample_backward mode -1");

    /* still usable */
    float h[4] = {0};
    lt_status st = LT_OK;
    for (int i = 0; i < 3 && st == LT_OK; i++) st = lt_be_fill(be, b[i], 0, N, 0.5f);
    if (st == LT_OK) st = lt_be_conv2d_forward(be, &ok, b[0], 0, b[1], 0, b[2], 0);
    if (st == LT_OK) st = lt_be_download(be, b[2], 0, h, 4);
    /* all inputs 0.5: a corner output of the 'same' 3x3 conv sums 2*2*3 taps of 0.25 */
    check(t, st == LT_OK && h[0] == 3.0f, "backend works after the errors: status %d, y[0] = %g (want 3): %s", (int)st,
          (double)h[0], be->error);
    for (int i = 0; i < 6; i++) lt_be_buf_free(be, b[i]);
}

/* ------------------------------------------------------------------ thread independence */

/* Runs every op on one set of inputs with a CPU backend of `threads` threads; returns
 * the concatenated outputs (malloc'd) and their count, or NULL. */
static float *cpu_run_all(tester *t, int threads, const lt_conv_geom *g, const lt_pool_geom *pg,
                          const lt_pool_geom *ug, const float *x, const float *w, const float *dy, size_t *count)
{
    lt_backend *be = open_cpu(t, threads);
    if (!be) return NULL;
    size_t nx, ny, nw;
    conv_sizes(g, &nx, &ny, &nw);
    size_t npy = (size_t)pg->batch * pg->out_h * pg->out_w * pg->c;
    size_t nuy = (size_t)ug->batch * ug->out_h * ug->out_w * ug->c;
    /* y, dx, dw, pooled y, argmax, pool dx (y's shape), up-sampled y, its adjoint */
    size_t total = ny + nx + nw + 2 * npy + ny + nuy + ny;
    float *out = malloc(total * sizeof *out);
    lt_buf *bx = NULL, *bw = NULL, *bdy = NULL, *bo = NULL;
    lt_status st = lt_be_buf_alloc(be, nx, &bx);
    if (st == LT_OK) st = lt_be_buf_alloc(be, nw, &bw);
    if (st == LT_OK) st = lt_be_buf_alloc(be, ny, &bdy);
    if (st == LT_OK) st = lt_be_buf_alloc(be, total, &bo);
    if (st == LT_OK) st = lt_be_upload(be, bx, 0, x, nx);
    if (st == LT_OK) st = lt_be_upload(be, bw, 0, w, nw);
    if (st == LT_OK) st = lt_be_upload(be, bdy, 0, dy, ny);
    size_t o = 0;
    if (st == LT_OK) st = lt_be_conv2d_forward(be, g, bx, 0, bw, 0, bo, o);
    o += ny;
    if (st == LT_OK) st = lt_be_conv2d_backward_data(be, g, bdy, 0, bw, 0, bo, o);
    o += nx;
    if (st == LT_OK) st = lt_be_conv2d_backward_filter(be, g, bx, 0, bdy, 0, bo, o);
    o += nw;
    /* pooling and up-sampling read the conv output y (at 0), shaped as their input */
    if (st == LT_OK) st = lt_be_maxpool_forward(be, pg, bo, 0, bo, o, bo, o + npy);
    if (st == LT_OK) st = lt_be_maxpool_backward(be, pg, bo, o, bo, o + npy, bo, o + 2 * npy);
    o += 2 * npy + ny;
    if (st == LT_OK) st = lt_be_upsample_forward(be, ug, LT_INTERP_BILINEAR, bo, 0, bo, o);
    if (st == LT_OK) st = lt_be_upsample_backward(be, ug, LT_INTERP_BILINEAR, bo, o, bo, o + nuy);
    if (st == LT_OK) st = lt_be_download(be, bo, 0, out, total);
    lt_be_buf_free(be, bx);
    lt_be_buf_free(be, bw);
    lt_be_buf_free(be, bdy);
    lt_be_buf_free(be, bo);
    lt_be_destroy(be);
    if (st != LT_OK) {
        free(out);
        return NULL;
    }
    *count = total;
    return out;
}

/* Every op's results with 2, 3 and 7 threads against 1 thread, bitwise, on geometry
 * g (pooling and up-sampling applied to its output). */
static void test_threads_on(tester *t, const lt_conv_geom *gp)
{
    lt_conv_geom g = *gp;
    lt_pool_geom pg, ug;
    make_pool(&pg, g.batch, g.out_h, g.out_w, g.out_c, 3, 3, 2, 2, 1);
    make_up(&ug, g.batch, g.out_h, g.out_w, g.out_c, 2, 2);
    size_t nx, ny, nw;
    conv_sizes(&g, &nx, &ny, &nw);
    float *x = rand_floats(t, nx, -1, 1), *w = rand_floats(t, nw, -1, 1), *dy = rand_floats(t, ny, -1, 1);
    size_t n1 = 0, n2 = 0;
    float *ref = cpu_run_all(t, 1, &g, &pg, &ug, x, w, dy, &n1);
    check(t, ref != NULL, "threads: the 1-thread run failed");
    static const int teams[] = {2, 3, 7};
    for (int i = 0; ref && i < 3; i++) {
        float *got = cpu_run_all(t, teams[i], &g, &pg, &ug, x, w, dy, &n2);
        size_t bad = 0;
        for (size_t j = 0; got && j < n1; j++) bad += memcmp(&got[j], &ref[j], sizeof(float)) != 0;
        check(t, got && n2 == n1 && bad == 0, "threads: %d threads differ from 1 thread in %zu of %zu results%s",
              teams[i], bad, n1, got ? "" : " (run failed)");
        free(got);
    }
    FREE_ALL(ref, x, w, dy);
}

/* The CPU backend's results are bitwise the same for 1, 2, 3 and 7 threads: on a
 * geometry whose column matrix spans several chunks, and on a narrow one reduced in
 * several groups of slabs. */
static void test_threads(tester *t)
{
    lt_conv_geom g;
    make_conv(&g, 12, 26, 26, 16, 16, 3, 3, 1, 1, 1, 1, PAD_VALID); /* 2.7 M-float column matrix */
    test_threads_on(t, &g);
    make_conv(&g, 50, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1, PAD_VALID); /* kk = 9, 67 slabs */
    test_threads_on(t, &g);
}

/* ------------------------------------------------------------------ driver */

/* Sorts doubles ascending (qsort comparator). */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Milliseconds per call of op `which` (0 forward, 1 backward data, 2 backward filter):
 * two warm-up calls, then 7 rounds of calls lasting >= 50 ms each (waiting for the
 * queue at the end of a round); the median round into *med and the fastest into *best
 * (the fastest is what a busy machine disturbs least). 0 when a call failed. */
static int time_op(lt_backend *be, int which, const lt_conv_geom *g, lt_buf *const b[6], double *med, double *best)
{
    /* inputs x, w, dy stay fixed (outputs go to y, dx, dw), so values cannot drift
     * into denormals or infinities over the repetitions */
    lt_buf *x = b[0], *w = b[1], *dy = b[2], *y = b[3], *dx = b[4], *dw = b[5];
    enum { ROUNDS = 7 };
    double per[ROUNDS];
    for (int r = -1; r < ROUNDS; r++) {
        int calls = 0, target = r < 0 ? 2 : 1 << 30;
        double t0 = now(), el = 0;
        while (calls < target) {
            lt_status st = which == 0   ? lt_be_conv2d_forward(be, g, x, 0, w, 0, y, 0)
                           : which == 1 ? lt_be_conv2d_backward_data(be, g, dy, 0, w, 0, dx, 0)
                                        : lt_be_conv2d_backward_filter(be, g, x, 0, dy, 0, dw, 0);
            if (st != LT_OK || lt_be_finish(be) != LT_OK) return 0;
            calls++;
            el = now() - t0;
            if (el >= 0.05) break;
        }
        if (r >= 0) per[r] = el * 1e3 / calls;
    }
    qsort(per, ROUNDS, sizeof per[0], cmp_double);
    *med = per[ROUNDS / 2];
    *best = per[0];
    return 1;
}

/* --bench: ms per call of the conv-ae layers at batch 32 and 256 on backend be. */
static int bench(lt_backend *be, const char *tag)
{
    static const int batches[] = {32, 256};
    int failed = 0;
    for (int bi = 0; bi < 2; bi++)
        for (int layer = 0; layer < 2; layer++) {
            lt_conv_geom g;
            if (layer == 0) make_conv(&g, batches[bi], 28, 28, 1, 16, 3, 3, 1, 1, 1, 1, PAD_VALID);
            else make_conv(&g, batches[bi], 26, 26, 16, 16, 3, 3, 1, 1, 1, 1, PAD_VALID);
            size_t nx, ny, nw;
            conv_sizes(&g, &nx, &ny, &nw);
            lt_buf *b[6] = {0}; /* x, w, dy, y, dx, dw */
            const size_t n[6] = {nx, nw, ny, ny, nx, nw};
            lt_status st = LT_OK;
            for (int i = 0; i < 6 && st == LT_OK; i++) st = lt_be_buf_alloc(be, n[i], &b[i]);
            for (int i = 0; i < 3 && st == LT_OK; i++)
                st = lt_be_random_uniform(be, b[i], 0, n[i], -1, 1, (uint64_t)i + 1, 0, 0);
            double med[3], best[3];
            int ok = st == LT_OK;
            for (int op = 0; ok && op < 3; op++) ok = time_op(be, op, &g, b, &med[op], &best[op]);
            char geo[160];
            conv_name(&g, geo, sizeof geo);
            if (!ok) {
                printf("FAIL [%s] bench %s: %s\n", tag, geo, be->error);
                failed = 1;
            } else {
                printf("bench [%s] conv%d %s ms/call, median (min): forward %.3f (%.3f), backward_data %.3f (%.3f), "
                       "backward_filter %.3f (%.3f)\n",
                       tag, layer + 1, geo, med[0], best[0], med[1], best[1], med[2], best[2]);
            }
            fflush(stdout);
            for (int i = 0; i < 6; i++) lt_be_buf_free(be, b[i]);
        }
    return failed;
}

/* Each backend's checks, or its benchmark when *(int *)do_bench. */
static void backend_checks_conv(tester *t, void *do_bench)
{
    if (*(int *)do_bench) {
        t->fail += bench(t->be, t->tag);
        return;
    }
    test_convs(t);
    test_pools(t);
    test_ups(t);
    test_errors(t);
    if (t->is_cpu) test_threads(t);
}

/* Runs the checks on every backend, or with --bench the benchmark. */
int main(int argc, char **argv)
{
    int do_bench = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bench") == 0) do_bench = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--bench [--threads N]]\n", argv[0]);
            return 2;
        }
    }
    run_backends(&(backend_run){
        .checks = backend_checks_conv, .ctx = &do_bench, .seed = 20240611, .cpu_threads = do_bench ? threads : 0});
    return DONE();
}
