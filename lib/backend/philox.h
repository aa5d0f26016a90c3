/* Philox4x32-10 counter-based RNG (Salmon et al., "Parallel random numbers: as easy
 * as 1, 2, 3", SC'11) and the float transforms built on it.
 *
 * This one file is compiled both as C11 (by the library and the CPU fallback) and as
 * OpenCL C (prepended to the kernel source), so one seed gives bit-identical streams
 * on every backend. For that reason the float transforms use only +, -, * and bit
 * operations, which IEEE 754 rounds identically everywhere once contraction into FMA
 * is switched off (C11 ISO mode does not contract; the OpenCL source sets
 * FP_CONTRACT OFF). No libm call, no division, no sqrt: those may differ by an ulp
 * between OpenCL implementations.
 *
 * Stream layout: element i of a fill with (seed, counter) is word i%4 of
 * philox(key = seed, ctr = {counter + i/4 (64-bit), 0, 0}). Normals use the same
 * blocks: elements 4j..4j+3 come from block counter + j by two Box-Muller pairs. */
#ifndef LT_PHILOX_H
#define LT_PHILOX_H

#if defined(__OPENCL_VERSION__) || defined(__OPENCL_C_VERSION__)
typedef uint lt_u32;
typedef ulong lt_u64;
#define LT_INLINE inline
#define LT_MULHI(a, b) mul_hi((uint)(a), (uint)(b))
#define LT_AS_FLOAT(u) as_float((uint)(u))
#define LT_AS_UINT(f) as_uint((float)(f))
#else
#include <stdint.h>
#include <string.h>
typedef uint32_t lt_u32;
typedef uint64_t lt_u64;
#define LT_INLINE static inline
#define LT_MULHI(a, b) ((lt_u32)(((lt_u64)(a) * (lt_u64)(b)) >> 32))
static inline float lt_philox_as_float_(lt_u32 u) { float f; memcpy(&f, &u, 4); return f; }
static inline lt_u32 lt_philox_as_uint_(float f) { lt_u32 u; memcpy(&u, &f, 4); return u; }
#define LT_AS_FLOAT(u) lt_philox_as_float_(u)
#define LT_AS_UINT(f) lt_philox_as_uint_(f)
#endif

/* Four 32-bit outputs of one Philox4x32-10 block. */
typedef struct { lt_u32 v[4]; } lt_philox_block;

/* One block: key = 64-bit seed, counter = 64-bit block index (upper counter words 0). */
LT_INLINE lt_philox_block lt_philox4x32_10(lt_u64 seed, lt_u64 block)
{
    lt_u32 c0 = (lt_u32)block, c1 = (lt_u32)(block >> 32), c2 = 0, c3 = 0;
    lt_u32 k0 = (lt_u32)seed, k1 = (lt_u32)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        lt_u32 hi0 = LT_MULHI(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        lt_u32 hi1 = LT_MULHI(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        lt_u32 n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    lt_philox_block b;
    b.v[0] = c0; b.v[1] = c1; b.v[2] = c2; b.v[3] = c3;
    return b;
}

/* 32-bit word i of the stream (seed, counter). */
LT_INLINE lt_u32 lt_philox_u32(lt_u64 seed, lt_u64 counter, lt_u64 i)
{
    lt_philox_block b = lt_philox4x32_10(seed, counter + (i >> 2));
    return b.v[i & 3];
}

/* Uniform float in (0, 1]: the top 24 bits, plus one, times 2^-24 (exact). */
LT_INLINE float lt_philox_bits_to_unit(lt_u32 x)
{
    return (float)((x >> 8) + 1u) * 5.9604644775390625e-8f;
}

/* Natural log for x in (0, 1], from + - * and exponent bits only (|error| < 2e-7). */
LT_INLINE float lt_philox_log_unit(float x)
{
    lt_u32 u = LT_AS_UINT(x);
    int e = (int)((u >> 23) & 0xffu) - 127;
    float m = LT_AS_FLOAT((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
    if (m > 1.41421356f) { m = m * 0.5f; e += 1; }            /* [0.707, 1.414) */
    float t = m - 1.0f;                                        /* [-0.293, 0.414) */
    /* log(1+t) by its Taylor series in Horner form, 24 terms (remainder < 0.414^25/25);
     * coefficients (-1)^(k+1)/k as literals so no division runs on the device */
    const float lt_log_coef_[24] = {
        -4.166666667e-02f, 4.347826087e-02f, -4.545454545e-02f, 4.761904762e-02f,
        -5.000000000e-02f, 5.263157895e-02f, -5.555555556e-02f, 5.882352941e-02f,
        -6.250000000e-02f, 6.666666667e-02f, -7.142857143e-02f, 7.692307692e-02f,
        -8.333333333e-02f, 9.090909091e-02f, -1.000000000e-01f, 1.111111111e-01f,
        -1.250000000e-01f, 1.428571429e-01f, -1.666666667e-01f, 2.000000000e-01f,
        -2.500000000e-01f, 3.333333333e-01f, -5.000000000e-01f, 1.000000000e+00f,
    };
    float p = 0.0f;
    for (int k = 0; k < 24; k++) p = p * t + lt_log_coef_[k];
    return p * t + (float)e * 0.69314718055994531f;
}

/* sin and cos of 2*pi*f for f in [0, 1), from + - * only. */
LT_INLINE void lt_philox_sincos_turn(float f, float *s, float *c)
{
    /* quadrant q and remainder r in [-1/8, 1/8] turns, computed exactly */
    float q4 = f * 4.0f;
    int q = (int)(q4 + 0.5f);
    float r = (q4 - (float)q) * 0.25f;
    float x = r * 6.28318530717958648f;
    float x2 = x * x;
    float sn = x * (1.0f + x2 * (-1.666666716e-1f + x2 * (8.333333768e-3f + x2 * (-1.984127011e-4f + x2 * 2.755731884e-6f))));
    float cs = 1.0f + x2 * (-0.5f + x2 * (4.166666791e-2f + x2 * (-1.388888923e-3f + x2 * 2.480158764e-5f)));
    /* (s, c) = (sn, cs), (cs, -sn), (-sn, -cs), (-cs, sn) for q & 3 = 0, 1, 2, 3, chosen by
     * bit operations: a switch (or an if-chain, which LLVM folds into one) on q & 3 becomes
     * `switch i2` in LLVM IR, which Oclgrind 21.10 mis-executes (tests/oclgrind/switch.cl) */
    lt_u32 swap = 0u - (lt_u32)(q & 1); /* all ones in quadrants 1 and 3 */
    lt_u32 us = LT_AS_UINT(sn), uc = LT_AS_UINT(cs);
    lt_u32 a = (uc & swap) | (us & ~swap), b = (us & swap) | (uc & ~swap);
    *s = LT_AS_FLOAT(a ^ ((lt_u32)(q & 2) << 30));       /* sign flipped in quadrants 2, 3 */
    *c = LT_AS_FLOAT(b ^ ((lt_u32)((q + 1) & 2) << 30)); /* sign flipped in quadrants 1, 2 */
}

/* sqrt for x >= 0 by Newton on 1/sqrt from a bit-level guess, + - * only (rel. error ~1e-7). */
LT_INLINE float lt_philox_sqrt(float x)
{
    if (x <= 0.0f) return 0.0f;
    float y = LT_AS_FLOAT(0x5f3759dfu - (LT_AS_UINT(x) >> 1));
    for (int k = 0; k < 4; k++) y = y * (1.5f - 0.5f * x * y * y);
    return x * y;
}

/* Element i of the uniform stream in [lo, hi). */
LT_INLINE float lt_philox_uniform(lt_u64 seed, lt_u64 counter, lt_u64 i, float lo, float hi)
{
    float u = lt_philox_bits_to_unit(lt_philox_u32(seed, counter, i)); /* (0, 1] */
    return lo + (hi - lo) * (1.0f - u);                                 /* [lo, hi) */
}

/* Element i of the standard-normal stream: Box-Muller on words (2*(i/2), 2*(i/2)+1),
 * element i even takes the cosine branch, odd the sine branch. */
LT_INLINE float lt_philox_normal(lt_u64 seed, lt_u64 counter, lt_u64 i)
{
    lt_u64 pair = i >> 1;
    lt_philox_block b = lt_philox4x32_10(seed, counter + (pair >> 1));
    lt_u32 w0 = (pair & 1) ? b.v[2] : b.v[0];
    lt_u32 w1 = (pair & 1) ? b.v[3] : b.v[1];
    float u1 = lt_philox_bits_to_unit(w0);
    float f = (float)(w1 >> 8) * 5.9604644775390625e-8f; /* [0, 1) */
    float r = lt_philox_sqrt(-2.0f * lt_philox_log_unit(u1));
    float s, c;
    lt_philox_sincos_turn(f, &s, &c);
    return r * ((i & 1) ? s : c);
}

#endif
