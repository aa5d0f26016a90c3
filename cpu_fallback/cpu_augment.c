/* Augmentation for the CPU fallback: affine_resample of lib/backend/backend.h.
 *
 * Each output pixel computes its source coordinate in float, in the same order of
 * operations as cl_kernels/augment.cl ((m0*r + m1*c) + m2, no contraction), clamps it
 * to the image (NaN to 0), and interpolates bilinearly, so both backends give the same
 * bits. Output rows (image, row) are split over threads; each pixel is one thread's, so
 * results do not depend on the thread count. */
#include <stdint.h>
#include "cpu_internal.h"

/* A source coordinate clamped to [0, hi] (NaN to 0) and split into taps: lerp
 * (1-f)*v[i0] + f*v[i1], with i1 == i0 when f == 0 so that an exact coordinate reads
 * one pixel only. */
static inline void taps(float s, float hi, int *i0, int *i1, float *f)
{
    if (!(s >= 0.0f)) s = 0.0f;
    else if (s > hi) s = hi;
    int i = (int)s; /* s >= 0: truncation is floor */
    *i0 = i;
    *f = s - (float)i;
    *i1 = *f > 0.0f ? i + 1 : i;
}

/* Output row r (w*ch floats at dst) of the image img (h x w x ch) resampled through m. */
static void resample_row(const float *m, const float *img, int h, int w, int ch, int r, float *dst)
{
    const float fr = (float)r, hi_r = (float)(h - 1), hi_c = (float)(w - 1);
    const size_t ld = (size_t)w * (size_t)ch;
    for (int c = 0; c < w; c++) {
        const float fc = (float)c;
        int r0, r1, c0, c1;
        float fy, fx;
        taps(m[0] * fr + m[1] * fc + m[2], hi_r, &r0, &r1, &fy);
        taps(m[3] * fr + m[4] * fc + m[5], hi_c, &c0, &c1, &fx);
        const float *a0 = img + (size_t)r0 * ld + (size_t)c0 * (size_t)ch;
        const float *a1 = img + (size_t)r0 * ld + (size_t)c1 * (size_t)ch;
        const float *b0 = img + (size_t)r1 * ld + (size_t)c0 * (size_t)ch;
        const float *b1 = img + (size_t)r1 * ld + (size_t)c1 * (size_t)ch;
        float *o = dst + (size_t)c * (size_t)ch;
        for (int k = 0; k < ch; k++) {
            float top = (1.0f - fx) * a0[k] + fx * a1[k];
            float bot = (1.0f - fx) * b0[k] + fx * b1[k];
            o[k] = (1.0f - fy) * top + fy * bot;
        }
    }
}

/* y = x resampled through per-image affine maps (bilinear, edges replicated). */
lt_status lt_cpu_affine_resample(lt_backend *be, size_t n, int h, int w, int ch, const lt_buf *mats, size_t moff,
                                 const lt_buf *x, size_t xoff, lt_buf *y, size_t yoff)
{
    size_t total = n * (size_t)h * (size_t)w * (size_t)ch;
    if (n == 0) return LT_OK;
    const size_t img = total / n;
    const float *pm = lt_cpu_fp(mats, moff), *px = lt_cpu_fp(x, xoff);
    float *py = lt_cpu_fp(y, yoff);
    const size_t rows = n * (size_t)h, ld = (size_t)w * (size_t)ch;
    int nt = lt_cpu_team(be, total * 8); /* ~8 operations per output float */
    LT_PAR_FOR(nt)
    for (size_t q = 0; q < rows; q++) { /* output row (image q / h, row q % h) */
        size_t i = q / (size_t)h;
        resample_row(pm + 6 * i, px + i * img, h, w, ch, (int)(q % (size_t)h), py + q * ld);
    }
    return LT_OK;
}
