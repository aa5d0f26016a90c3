/* Random fills: each element calls the very lib/backend/philox.h function the C code
 * calls, so the streams are bit-identical (the host computes anything needing a
 * division). */

/* buf[off + i] = lt_philox_uniform(seed, counter, first + i, lo, hi). */
__kernel void lt_random_uniform(ulong n, __global float *buf, ulong off, float lo, float hi,
                                ulong seed, ulong counter, ulong first)
{
    LT_FOR_EACH(i, n) buf[off + i] = lt_philox_uniform(seed, counter, first + i, lo, hi);
}

/* buf[off + i] = mean + stddev * lt_philox_normal(seed, counter, first + i). */
__kernel void lt_random_normal(ulong n, __global float *buf, ulong off, float mean, float stddev,
                               ulong seed, ulong counter, ulong first)
{
    LT_FOR_EACH(i, n) buf[off + i] = mean + stddev * lt_philox_normal(seed, counter, first + i);
}

/* mask[off + i] = uniform_(first+i) >= rate ? scale : 0, scale = 1/(1-rate) from the host. */
__kernel void lt_dropout_mask(ulong n, __global float *mask, ulong off, float rate, float scale,
                              ulong seed, ulong counter, ulong first)
{
    LT_FOR_EACH(i, n)
        mask[off + i] = lt_philox_uniform(seed, counter, first + i, 0.0f, 1.0f) >= rate ? scale : 0.0f;
}
