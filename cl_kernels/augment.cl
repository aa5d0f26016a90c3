/* Augmentation kernels (affine_resample). The arithmetic matches cpu_fallback/cpu_augment.c
 * operation for operation (FP contraction is off for the whole program), so both
 * backends give the same bits. */

/* A source coordinate clamped to [0, hi] (NaN to 0) and split into taps: lerp
 * (1-f)*v[i0] + f*v[i1], with i1 == i0 when f == 0 (an exact coordinate reads one pixel). */
void lt_aug_taps(float s, float hi, long *i0, long *i1, float *f)
{
    if (!(s >= 0.0f)) s = 0.0f;
    else if (s > hi) s = hi;
    long i = (long)s; /* s >= 0: truncation is floor */
    *i0 = i;
    *f = s - (float)i;
    *i1 = *f > 0.0f ? i + 1 : i;
}

/* y = x resampled through per-image 2x3 maps: output pixel (r, c) of image n reads input
 * coordinate (m0*r + m1*c + m2, m3*r + m4*c + m5), clamped, bilinearly. One output pixel
 * (all its channels) per item; n_pix = images*h*w. */
__kernel void lt_affine_resample(ulong n_pix, __global const float *mats, ulong moff,
                                 __global const float *x, ulong xoff, __global float *y, ulong yoff,
                                 int h, int w, int ch)
{
    ulong plane = (ulong)h * (ulong)w, ld = (ulong)w * (ulong)ch;
    float hi_r = (float)(h - 1), hi_c = (float)(w - 1);
    LT_FOR_EACH(p, n_pix) {
        ulong img = p / plane, own = p - img * plane, row = own / (ulong)w;
        float fr = (float)row, fc = (float)(own - row * (ulong)w);
        __global const float *m = mats + moff + 6 * img;
        long r0, r1, c0, c1;
        float fy, fx;
        lt_aug_taps(m[0] * fr + m[1] * fc + m[2], hi_r, &r0, &r1, &fy);
        lt_aug_taps(m[3] * fr + m[4] * fc + m[5], hi_c, &c0, &c1, &fx);
        __global const float *src = x + xoff + img * plane * (ulong)ch;
        __global const float *a0 = src + (ulong)r0 * ld + (ulong)c0 * (ulong)ch;
        __global const float *a1 = src + (ulong)r0 * ld + (ulong)c1 * (ulong)ch;
        __global const float *b0 = src + (ulong)r1 * ld + (ulong)c0 * (ulong)ch;
        __global const float *b1 = src + (ulong)r1 * ld + (ulong)c1 * (ulong)ch;
        __global float *o = y + yoff + p * (ulong)ch;
        for (int k = 0; k < ch; k++) {
            float top = (1.0f - fx) * a0[k] + fx * a1[k];
            float bot = (1.0f - fx) * b0[k] + fx * b1[k];
            o[k] = (1.0f - fy) * top + fy * bot;
        }
    }
}
