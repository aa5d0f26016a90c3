/* Max pooling and up-sampling over NHWC images. The backward kernels are gathers: each
 * input cell sums, in a fixed order, what the output cells that read it pass back, so
 * they need no atomics and give the same bits on every run. */

/* Up-sampling interpolation codes; the host maps lt_backend_interp onto these. */
#define LT_UP_NEAREST 0
#define LT_UP_BILINEAR 1

/* Splits element i of NHWC images of h x w x c into its channel *ch, column *x and row
 * *y; returns its image. */
ulong lt_nhwc_split(ulong i, ulong c, ulong w, ulong h, ulong *ch, long *x, long *y)
{
    ulong t = i / c, u = t / w, v = u / h;
    *ch = i - t * c;
    *x = (long)(t - u * w);
    *y = (long)(u - v * h);
    return v;
}

/* y = max over the window, argmax = flat in-image index (iy*in_w + ix)*c + ch of the first
 * maximum in (ky, kx) order; cells in the padding are skipped (the host guarantees every
 * window holds at least one in-image cell). */
__kernel void lt_maxpool_forward(ulong n_out, __global const float *x, ulong xoff,
                                 __global float *y, ulong yoff, __global uint *argmax, ulong aoff,
                                 int in_h, int in_w, int c, int out_h, int out_w, int k_h,
                                 int k_w, int sh, int sw, int pt, int pl)
{
    LT_FOR_EACH(i, n_out) {
        ulong ch;
        long ox, oy;
        ulong n = lt_nhwc_split(i, (ulong)c, (ulong)out_w, (ulong)out_h, &ch, &ox, &oy);
        ulong base = xoff + n * (ulong)in_h * (ulong)in_w * (ulong)c;
        float best = 0.0f;
        uint arg = 0;
        int found = 0;
        for (int ky = 0; ky < k_h; ky++) {
            long iy = oy * sh - pt + ky;
            if (iy < 0 || iy >= in_h) continue;
            for (int kx = 0; kx < k_w; kx++) {
                long ix = ox * sw - pl + kx;
                if (ix < 0 || ix >= in_w) continue;
                uint idx = (uint)(((ulong)iy * (ulong)in_w + (ulong)ix) * (ulong)c + ch);
                float v = x[base + idx];
                if (!found || v > best) { /* strict: the first maximum stays */
                    best = v;
                    arg = idx;
                    found = 1;
                }
            }
        }
        y[yoff + i] = best;
        argmax[aoff + i] = arg;
    }
}

/* dx[cell] = sum of dy over the output cells of the same image and channel whose window
 * covers the cell and whose argmax names it, in (oy, ox) order: the scatter-add
 * dx[argmax] += dy written as a gather. Indices are the caller's to get right (a device
 * op cannot check them without waiting): one past the image makes the cells of its
 * window NaN, as gather_rows does, instead of writing out of bounds; one inside the
 * image but outside its window adds to nothing. */
__kernel void lt_maxpool_backward(ulong n_in, __global const float *dy, ulong dyoff,
                                  __global const uint *argmax, ulong aoff, __global float *dx,
                                  ulong dxoff, int in_h, int in_w, int c, int out_h, int out_w,
                                  int k_h, int k_w, int sh, int sw, int pt, int pl)
{
    LT_FOR_EACH(i, n_in) {
        ulong plane = (ulong)in_h * (ulong)in_w * (ulong)c;
        ulong n = i / plane;
        uint own = (uint)(i - n * plane), oc = own / (uint)c, ow = oc / (uint)in_w;
        int ch = (int)(own - oc * (uint)c);
        long ix = (long)(oc - ow * (uint)in_w);
        long iy = (long)ow;
        /* windows oy*sh - pt .. oy*sh - pt + k_h - 1 that contain iy */
        long ty = iy + pt, tx = ix + pl;
        long oy0 = ty - k_h + 1 <= 0 ? 0 : (ty - k_h + 1 + sh - 1) / sh;
        long oy1 = min(ty / sh, (long)out_h - 1);
        long ox0 = tx - k_w + 1 <= 0 ? 0 : (tx - k_w + 1 + sw - 1) / sw;
        long ox1 = min(tx / sw, (long)out_w - 1);
        float acc = 0.0f;
        for (long oy = oy0; oy <= oy1; oy++)
            for (long ox = ox0; ox <= ox1; ox++) {
                ulong o = ((n * (ulong)out_h + (ulong)oy) * (ulong)out_w + (ulong)ox) * (ulong)c + (ulong)ch;
                uint a = argmax[aoff + o];
                if (a == own) acc += dy[dyoff + o];
                else if ((ulong)a >= plane) acc = NAN;
            }
        dx[dxoff + i] = acc;
    }
}

/* Source of output coordinate o for bilinear up-sampling by k over in cells: the lower
 * neighbour *i0, the upper *i1 and the weight *f of the upper one. s = (o + 0.5)/k - 0.5
 * = q + (2r + 1 - k)/(2k) for o = q*k + r, so the integer part is exact and only the
 * fraction is a division; s is clamped to [0, in-1]. */
void lt_bilinear_src(long o, int k, int in, long *i0, long *i1, float *f)
{
    long q = o / k, t = 2 * (o - q * k) + 1 - k;
    long lo = t < 0 ? q - 1 : q;
    float fr = (float)(t < 0 ? t + 2 * k : t) / (float)(2 * k);
    if (lo < 0) { lo = 0; fr = 0.0f; }
    if (lo >= in - 1) { lo = in - 1; fr = 0.0f; }
    *i0 = lo;
    *i1 = lo + 1 < in ? lo + 1 : lo;
    *f = fr;
}

/* Weight of input coordinate i in output coordinate o (bilinear, see lt_bilinear_src);
 * both neighbours count when they coincide at a clamped edge. */
float lt_bilinear_weight(long o, int k, int in, long i)
{
    long i0, i1;
    float f;
    lt_bilinear_src(o, k, in, &i0, &i1, &f);
    return (i0 == i ? 1.0f - f : 0.0f) + (i1 == i ? f : 0.0f);
}

/* Up-sampling by (k_h, k_w), nearest or bilinear (TF's half-pixel centres); one output
 * cell per item. */
__kernel void lt_upsample_forward(ulong n_out, int mode, __global const float *x, ulong xoff,
                                  __global float *y, ulong yoff, int in_h, int in_w, int c,
                                  int k_h, int k_w)
{
    ulong out_w = (ulong)in_w * (ulong)k_w, out_h = (ulong)in_h * (ulong)k_h;
    LT_FOR_EACH(i, n_out) {
        ulong ch;
        long ox, oy;
        ulong n = lt_nhwc_split(i, (ulong)c, out_w, out_h, &ch, &ox, &oy);
        ulong img = xoff + n * (ulong)in_h * (ulong)in_w * (ulong)c + ch;
        if (mode == LT_UP_NEAREST) {
            y[yoff + i] = x[img + ((ulong)(oy / k_h) * (ulong)in_w + (ulong)(ox / k_w)) * (ulong)c];
        } else {
            long y0, y1, x0, x1;
            float fy, fx;
            lt_bilinear_src(oy, k_h, in_h, &y0, &y1, &fy);
            lt_bilinear_src(ox, k_w, in_w, &x0, &x1, &fx);
            ulong r0 = img + (ulong)y0 * (ulong)in_w * (ulong)c, r1 = img + (ulong)y1 * (ulong)in_w * (ulong)c;
            float top = (1.0f - fx) * x[r0 + (ulong)x0 * (ulong)c] + fx * x[r0 + (ulong)x1 * (ulong)c];
            float bot = (1.0f - fx) * x[r1 + (ulong)x0 * (ulong)c] + fx * x[r1 + (ulong)x1 * (ulong)c];
            y[yoff + i] = (1.0f - fy) * top + fy * bot;
        }
    }
}

/* The adjoint of lt_upsample_forward as a gather: each input cell sums the dy of the
 * output cells that read it, times the weight they read it with, in (oy, ox) order.
 * Nearest: the k_h x k_w block it was copied to. Bilinear: the output rows and columns
 * whose two neighbours include it, all within source cells i-1 .. i+1. */
__kernel void lt_upsample_backward(ulong n_in, int mode, __global const float *dy, ulong dyoff,
                                   __global float *dx, ulong dxoff, int in_h, int in_w, int c,
                                   int k_h, int k_w)
{
    ulong out_w = (ulong)in_w * (ulong)k_w, out_h = (ulong)in_h * (ulong)k_h;
    LT_FOR_EACH(i, n_in) {
        ulong ch;
        long ix, iy;
        ulong n = lt_nhwc_split(i, (ulong)c, (ulong)in_w, (ulong)in_h, &ch, &ix, &iy);
        ulong img = dyoff + n * out_h * out_w * (ulong)c + ch;
        float acc = 0.0f;
        if (mode == LT_UP_NEAREST) {
            for (long oy = iy * k_h; oy < (iy + 1) * k_h; oy++)
                for (long ox = ix * k_w; ox < (ix + 1) * k_w; ox++)
                    acc += dy[img + ((ulong)oy * out_w + (ulong)ox) * (ulong)c];
        } else {
            long oy0 = max((iy - 1) * k_h, 0L), oy1 = min((iy + 2) * k_h, (long)out_h);
            long ox0 = max((ix - 1) * k_w, 0L), ox1 = min((ix + 2) * k_w, (long)out_w);
            for (long oy = oy0; oy < oy1; oy++) {
                float wy = lt_bilinear_weight(oy, k_h, in_h, iy);
                if (wy == 0.0f) continue;
                for (long ox = ox0; ox < ox1; ox++) {
                    float wx = lt_bilinear_weight(ox, k_w, in_w, ix);
                    if (wx != 0.0f) acc += wy * wx * dy[img + ((ulong)oy * out_w + (ulong)ox) * (ulong)c];
                }
            }
        }
        dx[dxoff + i] = acc;
    }
}
