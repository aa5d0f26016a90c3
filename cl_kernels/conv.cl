/* Convolution lowering: im2col and its adjoint col2im over NHWC images, for a GEMM with
 * CLBlast in between. The columns of one chunk are rows r0 .. r0+rows-1 of the matrix
 * whose row (n, oy, ox) holds the receptive field of output pixel (oy, ox) of image n in
 * (ky, kx, c) order, so that column kk = (ky*k_w + kx)*in_c + c meets row kk of the
 * (k_h, k_w, in_c, out_c) kernel. Coordinates are computed in long: stride and dilation
 * products of int geometry may exceed int. */

/* col[r, kk] = x[n, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, c], or 0 outside the image.
 * 2-D launch over (kk, r): adjacent items write adjacent columns and read adjacent
 * channels. The geometry arguments are lt_col2im's (k_h is implied by kcols here). */
__kernel void lt_im2col(__global const float *x, ulong xoff, __global float *col, ulong r0,
                        ulong rows, ulong kcols, int in_h, int in_w, int in_c, int out_h,
                        int out_w, int k_h, int k_w, int sh, int sw, int dh, int dw, int pt, int pl)
{
    ulong kk = get_global_id(0), r = get_global_id(1);
    if (kk >= kcols || r >= rows) return;
    ulong gr = r0 + r;
    ulong t = gr / (ulong)out_w;
    long ox = (long)(gr - t * (ulong)out_w);
    ulong n = t / (ulong)out_h;
    long oy = (long)(t - n * (ulong)out_h);
    ulong kt = kk / (ulong)in_c;
    int c = (int)(kk - kt * (ulong)in_c);
    long ky = (long)(kt / (ulong)k_w), kx = (long)kt - ky * k_w;
    long iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
    float v = 0.0f;
    if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w)
        v = x[xoff + ((n * (ulong)in_h + (ulong)iy) * (ulong)in_w + (ulong)ix) * (ulong)in_c + (ulong)c];
    col[r * kcols + kk] = v;
}

/* The adjoint of lt_im2col in gather form: each input cell (n, iy, ix, c) of images
 * n0 .. n0+nimg-1, rows iy0 .. iy0+ih-1, sums the column entries of the chunk's rows
 * [r0, r0+rows) that read it, in a fixed (ky, kx) order; no two items write the same
 * cell, so no atomics and the result is deterministic. accumulate == 0 overwrites dx
 * (cells nothing reads get 0), else adds to it (chunks that split one image). */
__kernel void lt_col2im(__global const float *col, ulong r0, ulong rows, ulong kcols,
                        ulong n0, ulong nimg, int iy0, int ih, int in_h, int in_w, int in_c,
                        int out_h, int out_w, int k_h, int k_w, int sh, int sw, int dh, int dw,
                        int pt, int pl, int accumulate, __global float *dx, ulong dxoff)
{
    ulong cells = nimg * (ulong)ih * (ulong)in_w * (ulong)in_c;
    LT_FOR_EACH(i, cells) {
        ulong t = i / (ulong)in_c;
        int c = (int)(i - t * (ulong)in_c);
        ulong u = t / (ulong)in_w;
        long ix = (long)(t - u * (ulong)in_w);
        ulong v = u / (ulong)ih;
        long iy = iy0 + (long)(u - v * (ulong)ih);
        ulong n = n0 + v;
        float acc = 0.0f;
        for (int ky = 0; ky < k_h; ky++) {
            long ty = iy + pt - (long)ky * dh; /* = oy*sh for the output row reading iy */
            if (ty < 0) break;                 /* only falls as ky grows */
            long oy = ty / sh;
            if (ty != oy * sh) continue;
            if (oy >= out_h) continue;
            for (int kx = 0; kx < k_w; kx++) {
                long tx = ix + pl - (long)kx * dw;
                if (tx < 0) break;
                long ox = tx / sw;
                if (tx != ox * sw) continue;
                if (ox >= out_w) continue;
                ulong r = (n * (ulong)out_h + (ulong)oy) * (ulong)out_w + (ulong)ox;
                if (r < r0 || r - r0 >= rows) continue;
                acc += col[(r - r0) * kcols + ((ulong)ky * (ulong)k_w + (ulong)kx) * (ulong)in_c + (ulong)c];
            }
        }
        ulong o = dxoff + ((n * (ulong)in_h + (ulong)iy) * (ulong)in_w + (ulong)ix) * (ulong)in_c + (ulong)c;
        dx[o] = accumulate ? dx[o] + acc : acc;
    }
}
