/* Branch-free float math for the CPU fallback's hot loops: exp, expm1, log, log1p,
 * tanh and sigmoid that vectorize (libm's calls do not), accurate to a few ulp. Shared
 * by cpu_backend.c and cpu_rnn.c. Private to cpu_fallback/. */
#ifndef LT_CPU_MATH_H
#define LT_CPU_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Float bits and back, without aliasing violations (compiles to a register move). */
static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* c ? a : b on the bits. Written this way because, under the default -ftrapping-math,
 * GCC sinks a float computation used only by one arm of a ?: into a branch and then
 * refuses to speculate it back, which leaves the loop unvectorized. */
static inline float sel(int c, float a, float b)
{
    uint32_t mask = 0u - (uint32_t)(c != 0);
    return u2f((f2u(a) & mask) | (f2u(b) & ~mask));
}

/* e^x = 2^k (1 + q) for x clamped to [-87.3, 88] (NaN computed as 0): returns
 * q = expm1(r), r = x - k*ln2 in [-ln2/2, ln2/2], and sets *scale = 2^k. */
static inline float exp_reduce(float x, float *scale)
{
    float xc = sel(x > 88.0f, 88.0f, sel(x < -87.3f, -87.3f, x));
    xc = sel(xc == xc, xc, 0.0f);
    /* k by the 1.5*2^23 rounding trick (no contraction in this file, so the add
     * rounds); ln2 in two parts so that k*ln2_hi is exact */
    float kf = xc * 1.44269504f + 12582912.0f;
    kf -= 12582912.0f;
    float r = xc - kf * 0.693145752f;
    r = r - kf * 1.42860677e-6f;
    *scale = u2f((uint32_t)((int32_t)kf + 127) << 23); /* k in [-126, 127] */
    /* expm1(r) by its Taylor series to r^8 (remainder < 3e-10 relative) */
    float q = 2.48015873e-5f;
    q = q * r + 1.98412698e-4f;
    q = q * r + 1.38888889e-3f;
    q = q * r + 8.33333333e-3f;
    q = q * r + 4.16666667e-2f;
    q = q * r + 1.66666667e-1f;
    q = q * r + 0.5f;
    q = q * r + 1.0f;
    return q * r;
}

/* e^x within ~2 ulp for x <= 88 (callers never pass more: larger x saturates at
 * e^88); x < -87.3 flushes to 0 rather than going subnormal; NaN propagates. */
static inline float v_exp(float x)
{
    float scale, q = exp_reduce(x, &scale);
    float y = sel(x < -87.3f, 0.0f, scale * q + scale);
    return sel(x == x, y, x);
}

/* e^x - 1 within ~2 ulp for x <= 88, accurate near 0 (where k = 0 and it is q). */
static inline float v_expm1(float x)
{
    float scale, q = exp_reduce(x, &scale);
    return sel(x == x, scale * q + (scale - 1.0f), x);
}

/* Natural log for positive normal x (and NaN, which propagates): x = 2^e * m with m in
 * [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m-1)/(m+1), by its series to s^11. */
static inline float v_log(float x)
{
    uint32_t u = f2u(x);
    int e = (int)((u >> 23) & 0xffu) - 127;
    float m = u2f((u & 0x007fffffu) | 0x3f800000u);
    int big = m > 1.41421356f;
    m = sel(big, m * 0.5f, m);
    e += big;
    float f = m - 1.0f;
    float s = f / (m + 1.0f), s2 = s * s;
    float q = 0.0909090909f;
    q = q * s2 + 0.111111111f;
    q = q * s2 + 0.142857143f;
    q = q * s2 + 0.2f;
    q = q * s2 + 0.333333333f;
    float logm = f - s * (f - 2.0f * q * s2); /* = 2s + 2s^3 q, with 2s = f - s*f */
    float ef = (float)e;
    float r = ef * 0.693145752f + (logm + ef * 1.42860677e-6f);
    return sel(x == x, r, x);
}

/* log(1 + x) for x >= 0, accurate for tiny x: log(w) * x / (w - 1) with w = 1 + x
 * corrects the rounding of w (Goldberg's trick). */
static inline float v_log1p(float x)
{
    float w = 1.0f + x;
    float d = w - 1.0f;
    return sel(d == 0.0f, x, v_log(w) * (x / d));
}

/* tanh(x) = e / (e + 2), e = expm1(2|x|), sign restored; |x| >= 9 gives +-1 exactly. */
static inline float v_tanh(float x)
{
    float a = fabsf(x);
    a = sel(a > 9.0f, 9.0f, a);
    float e = v_expm1(2.0f * a);
    float t = e / (e + 2.0f);
    return sel(x < 0.0f, -t, t);
}

/* 1 / (1 + e^-x), from e^-|x| so that neither side overflows. */
static inline float v_sigmoid(float x)
{
    float e = v_exp(-fabsf(x));
    float inv = 1.0f / (1.0f + e);
    return sel(x >= 0.0f, inv, e * inv);
}

#endif
